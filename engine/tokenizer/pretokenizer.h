#pragma once
// Pre-tokenizers of tokenizer.json ("pre_tokenizer"): they cut normalized text into the pieces ("words")
// that BPE then encodes one by one, with the exact split semantics of Hugging Face `tokenizers`.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tokenizer/pcre2_regex.h"

namespace awq {

struct PreToken {
    std::string text;
    bool at_origin = false;  // starts at byte 0 of the text given to encode() (Metaspace "first" needs it)
};

// How the delimiters a pattern finds are kept (tokenizers' SplitDelimiterBehavior).
enum class SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

class PreTokenizer {
public:
    virtual ~PreTokenizer() = default;
    // Replaces every piece by the pieces it splits into (empty pieces are dropped).
    virtual void pre_tokenize(std::vector<PreToken>& pieces) const = 0;
};

// Split: a regex or literal pattern, one of the five behaviors, optionally inverted.
class SplitPreTokenizer : public PreTokenizer {
public:
    // `where` names the file/construct for errors in the pattern.
    static std::unique_ptr<SplitPreTokenizer> regex(const std::string& pattern, SplitBehavior behavior, bool invert,
                                                    const std::string& where);
    static std::unique_ptr<SplitPreTokenizer> literal(std::string pattern, SplitBehavior behavior, bool invert);
    void pre_tokenize(std::vector<PreToken>& pieces) const override;

private:
    SplitPreTokenizer() = default;
    std::unique_ptr<Pcre2Regex> regex_;
    std::string literal_;
    SplitBehavior behavior_ = SplitBehavior::Isolated;
    bool invert_ = false;
};

// ByteLevel: optional leading space, optional GPT-2 regex split, then bytes -> GPT-2 characters.
class ByteLevelPreTokenizer : public PreTokenizer {
public:
    ByteLevelPreTokenizer(bool add_prefix_space, bool use_regex)
        : add_prefix_space_(add_prefix_space), use_regex_(use_regex) {}
    void pre_tokenize(std::vector<PreToken>& pieces) const override;

private:
    bool add_prefix_space_;
    bool use_regex_;
};

// Digits: numeric characters (Unicode N*) isolated one by one, or kept together in runs.
class DigitsPreTokenizer : public PreTokenizer {
public:
    explicit DigitsPreTokenizer(bool individual_digits) : individual_(individual_digits) {}
    void pre_tokenize(std::vector<PreToken>& pieces) const override;

private:
    bool individual_;
};

enum class PrependScheme { Always, First, Never };

// Metaspace: spaces become the replacement character ("▁"), which is prepended per the scheme; with
// `split` the text is cut before each replacement character.
class MetaspacePreTokenizer : public PreTokenizer {
public:
    MetaspacePreTokenizer(std::string replacement, PrependScheme scheme, bool split)
        : replacement_(std::move(replacement)), scheme_(scheme), split_(split) {}
    void pre_tokenize(std::vector<PreToken>& pieces) const override;

private:
    std::string replacement_;  // one character, UTF-8
    PrependScheme scheme_;
    bool split_;
};

class SequencePreTokenizer : public PreTokenizer {
public:
    explicit SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> steps) : steps_(std::move(steps)) {}
    void pre_tokenize(std::vector<PreToken>& pieces) const override;

private:
    std::vector<std::unique_ptr<PreTokenizer>> steps_;
};

// The regex GPT-2's ByteLevel pre-tokenizer splits with.
extern const char* const kGpt2SplitRegex;

}  // namespace awq
