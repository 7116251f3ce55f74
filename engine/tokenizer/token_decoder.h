#pragma once
// Decoders of tokenizer.json ("decoder"): they turn the vocabulary strings of a token sequence back into
// text. Each stage maps a list of strings to a list of strings; the final list is concatenated.
#include <memory>
#include <string>
#include <vector>

#include "tokenizer/normalizer.h"

namespace awq {

class TokenDecoder {
public:
    virtual ~TokenDecoder() = default;
    virtual void decode_chain(std::vector<std::string>& tokens) const = 0;
    std::string decode(std::vector<std::string> tokens) const;
};

// Byte-level tokens -> bytes -> UTF-8 (invalid sequences become U+FFFD). Yields one string.
class ByteLevelDecoder : public TokenDecoder {
public:
    void decode_chain(std::vector<std::string>& tokens) const override;
};

// Runs of <0xXX> tokens -> the text they spell, or one U+FFFD per byte when that is not valid UTF-8.
class ByteFallbackDecoder : public TokenDecoder {
public:
    void decode_chain(std::vector<std::string>& tokens) const override;
};

// Joins all tokens into one.
class FuseDecoder : public TokenDecoder {
public:
    void decode_chain(std::vector<std::string>& tokens) const override;
};

// Per token: the Replace normalizer's rewrite.
class ReplaceDecoder : public TokenDecoder {
public:
    explicit ReplaceDecoder(std::unique_ptr<ReplaceNormalizer> replace) : replace_(std::move(replace)) {}
    void decode_chain(std::vector<std::string>& tokens) const override;

private:
    std::unique_ptr<ReplaceNormalizer> replace_;
};

// Per token: removes up to `start` leading and `stop` trailing copies of one character.
class StripDecoder : public TokenDecoder {
public:
    StripDecoder(char32_t content, size_t start, size_t stop) : content_(content), start_(start), stop_(stop) {}
    void decode_chain(std::vector<std::string>& tokens) const override;

private:
    char32_t content_;
    size_t start_, stop_;
};

// Metaspace: the replacement character becomes a space, except in the first token (unless the prepend
// scheme is "never"), where it is dropped.
class MetaspaceDecoder : public TokenDecoder {
public:
    MetaspaceDecoder(char32_t replacement, bool prepends) : replacement_(replacement), prepends_(prepends) {}
    void decode_chain(std::vector<std::string>& tokens) const override;

private:
    char32_t replacement_;
    bool prepends_;
};

class SequenceDecoder : public TokenDecoder {
public:
    explicit SequenceDecoder(std::vector<std::unique_ptr<TokenDecoder>> steps) : steps_(std::move(steps)) {}
    void decode_chain(std::vector<std::string>& tokens) const override;

private:
    std::vector<std::unique_ptr<TokenDecoder>> steps_;
};

}  // namespace awq
