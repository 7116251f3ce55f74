#pragma once
// The BPE model of Hugging Face `tokenizers`: a word is cut into characters (vocabulary entries, or
// <0xXX> byte tokens with byte_fallback, or the unknown token), then adjacent pairs are merged, always
// the best-ranked pair first (leftmost among equals), with a heap over a linked list of symbols.
// The pair ranking comes either from a merges list (tokenizer.json, GGUF "gpt2") or from token scores
// (GGUF "llama" SentencePiece vocabularies: the pair whose merged token has the highest score first).
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace awq {

struct BpeOptions {
    std::optional<std::string> unk_token;
    bool fuse_unk = false;
    bool byte_fallback = false;
    bool ignore_merges = false;          // a word that is a vocabulary entry is taken whole
    std::string continuing_subword_prefix;  // prepended to every non-first character of a word
    std::string end_of_word_suffix;         // appended to the last character of a word
};

class BpeModel {
public:
    // vocab: (token, id) pairs; ids need not be contiguous. `where` names the source for errors.
    // Throws awq::Error(where, ...) for a merge whose parts or result are not in the vocabulary.
    static std::unique_ptr<BpeModel> from_merges(const std::vector<std::pair<std::string, int32_t>>& vocab,
                                const std::vector<std::pair<std::string, std::string>>& merges, BpeOptions options,
                                const std::string& where);
    // Every split of a token into two vocabulary entries is a merge, ranked by the token's score.
    static std::unique_ptr<BpeModel> from_scores(const std::vector<std::pair<std::string, int32_t>>& vocab,
                                const std::vector<float>& scores_by_id, BpeOptions options, const std::string& where);

    BpeModel(const BpeModel&) = delete;
    BpeModel& operator=(const BpeModel&) = delete;

    // Appends the ids of one pre-tokenized word.
    void tokenize(std::string_view word, std::vector<int32_t>& out) const;

    std::optional<int32_t> token_to_id(std::string_view token) const;
    const std::string* id_to_token(int32_t id) const;  // nullptr when no token has this id
    int64_t size() const { return static_cast<int64_t>(id_to_token_.size()); }  // largest id + 1
    const BpeOptions& options() const { return options_; }

private:
    BpeModel() = default;
    void build_vocab(const std::vector<std::pair<std::string, int32_t>>& vocab, const std::string& where);
    void merge_word(std::string_view word, std::vector<int32_t>& out) const;

    struct Merge {
        int32_t rank;
        int32_t new_id;
    };
    static uint64_t pair_key(int32_t a, int32_t b) {
        return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
    }

    // Lets the maps be searched with a string_view without building a std::string.
    struct StringHash {
        using is_transparent = void;
        size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };
    template <class V>
    using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

    std::string where_;
    BpeOptions options_;
    StringMap<int32_t> vocab_;
    std::vector<std::string> id_to_token_;
    std::vector<bool> has_id_;
    std::unordered_map<uint64_t, Merge> merges_;
    std::optional<int32_t> unk_id_;  // absent also when options_.unk_token names no vocabulary entry
    int32_t byte_ids_[256];  // <0xXX> tokens, -1 where absent

    // Words repeat a lot in running text; remembering their ids makes long inputs several times faster.
    mutable std::mutex cache_mutex_;
    mutable StringMap<std::vector<int32_t>> cache_;
};

}  // namespace awq
