#pragma once
// Normalizers of tokenizer.json ("normalizer"): string rewrites applied to the text between added
// tokens before pre-tokenization. Only the ones Llama/Mistral-style tokenizers use (Prepend, Replace) and
// the canonical Unicode forms (NFC for Qwen2, NFD) are supported.
#include <memory>
#include <string>
#include <vector>

#include "tokenizer/pcre2_regex.h"

namespace awq {

class Normalizer {
public:
    virtual ~Normalizer() = default;
    virtual void normalize(std::string& text) const = 0;
};

// Prepends a string to non-empty text (Llama 2: "▁").
class PrependNormalizer : public Normalizer {
public:
    explicit PrependNormalizer(std::string prefix) : prefix_(std::move(prefix)) {}
    void normalize(std::string& text) const override;

private:
    std::string prefix_;
};

// Replaces every non-overlapping occurrence of a literal string or a regex by `content`.
class ReplaceNormalizer : public Normalizer {
public:
    static std::unique_ptr<ReplaceNormalizer> literal(std::string pattern, std::string content);
    static std::unique_ptr<ReplaceNormalizer> regex(const std::string& pattern, std::string content,
                                                    const std::string& where);
    void normalize(std::string& text) const override;
    // The same rewrite applied to one string (the Replace decoder shares it).
    std::string apply(const std::string& text) const;

private:
    ReplaceNormalizer() = default;
    std::string literal_;
    std::unique_ptr<Pcre2Regex> regex_;
    std::string content_;
};

// Unicode canonical normalization: NFC (composed) or NFD (decomposed). Tables: unicode_nfc_tables.inc.
class UnicodeNormalizer : public Normalizer {
public:
    enum class Form { NFC, NFD };
    explicit UnicodeNormalizer(Form form) : form_(form) {}
    void normalize(std::string& text) const override;

private:
    Form form_;
};

class SequenceNormalizer : public Normalizer {
public:
    explicit SequenceNormalizer(std::vector<std::unique_ptr<Normalizer>> steps) : steps_(std::move(steps)) {}
    void normalize(std::string& text) const override;

private:
    std::vector<std::unique_ptr<Normalizer>> steps_;
};

}  // namespace awq
