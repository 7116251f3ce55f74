#pragma once
// Added tokens (tokenizer.json "added_tokens", GGUF control/user-defined tokens): they are cut out of the
// text before normalization and pre-tokenization, matched leftmost-longest, honouring the single_word,
// lstrip, rstrip and normalized flags the way Hugging Face `tokenizers` does.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace awq {

class Normalizer;

struct AddedToken {
    int32_t id = -1;
    std::string content;
    bool single_word = false;
    bool lstrip = false;
    bool rstrip = false;
    bool normalized = true;  // matched against normalized text (and by its normalized form)
    bool special = false;    // skipped by decode(skip_special)
};

class AddedTokens {
public:
    // A later token with the same id or content replaces the earlier one.
    void add(AddedToken token);
    // Call once all tokens are in: normalized tokens are matched (and decoded) by their normalized form.
    void finalize(const Normalizer* normalizer);

    // A stretch of the input: either plain text [begin, end) or an added token (id >= 0) that covers it.
    struct Segment {
        size_t begin, end;
        int32_t id;  // -1 for text
    };
    // Cuts `text` at the non-normalized tokens (normalized=false) or at the normalized ones.
    void split(std::string_view text, bool normalized_tokens, std::vector<Segment>& out) const;

    const AddedToken* find(int32_t id) const;
    std::optional<int32_t> find(std::string_view content) const;
    // The string decode() feeds to the decoder for this added token (its normalized form when it has one).
    const std::string* decode_form(int32_t id) const;
    bool is_special_content(const std::string& s) const { return special_contents_.count(s) != 0; }
    const std::vector<AddedToken>& tokens() const { return tokens_; }
    bool empty() const { return tokens_.empty(); }

private:
    struct Matcher {
        // Patterns bucketed by first byte, longest first, so that a scan finds the leftmost-longest match.
        std::vector<std::vector<std::pair<std::string, size_t>>> by_first_byte;  // (pattern, token index)
        bool empty = true;
    };
    void build(Matcher& m, bool normalized) const;
    void find_matches(std::string_view text, const Matcher& m, std::vector<Segment>& out) const;

    std::vector<AddedToken> tokens_;
    std::vector<std::string> match_forms_;  // per token: the text it is matched as
    std::unordered_map<int32_t, size_t> by_id_;
    std::unordered_map<std::string, size_t> by_content_;
    std::unordered_set<std::string> special_contents_;
    Matcher raw_, normalized_;
};

}  // namespace awq
