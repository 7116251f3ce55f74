#include "tokenizer/sentencepiece_bpe_tokenizer.h"

#include <algorithm>
#include <unordered_map>

#include "core/error.h"
#include "tokenizer/gguf_tokenizer_loader.h"
#include "tokenizer/utf8.h"

namespace awq {
namespace {

using nlohmann::json;

constexpr const char* kSpace = "\xE2\x96\x81";  // U+2581 '▁', SentencePiece's visible space

std::optional<std::string> unk_token(const GgufVocab& v) {
    if (v.unk_id) return v.tokens[static_cast<size_t>(*v.unk_id)];
    for (size_t i = 0; i < v.token_types.size(); ++i)
        if (v.token_types[i] == 2) return v.tokens[i];
    return std::nullopt;
}

size_t code_point_count(const std::string& s) {
    size_t n = 0;
    for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    return n;
}

}  // namespace

json sentencepiece_bpe_pipeline_json(const GgufVocab& vocab, const std::string&) {
    json j;
    j["version"] = "1.0";
    j["truncation"] = nullptr;
    j["padding"] = nullptr;
    j["added_tokens"] = gguf_added_tokens_json(vocab);
    // Llama 2's tokenizer.json ("legacy" Llama converter): '▁' in front of every stretch of text between
    // special tokens, spaces as '▁' -- what SentencePiece's add_dummy_prefix and llama.cpp do.
    j["normalizer"] = {{"type", "Sequence"},
                       {"normalizers",
                        json::array({{{"type", "Prepend"}, {"prepend", kSpace}},
                                     {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", kSpace}}})}};
    j["pre_tokenizer"] = nullptr;
    j["post_processor"] = gguf_post_processor_json(vocab);
    j["decoder"] = {{"type", "Sequence"},
                    {"decoders",
                     json::array({{{"type", "Replace"}, {"pattern", {{"String", kSpace}}}, {"content", " "}},
                                  {{"type", "ByteFallback"}},
                                  {{"type", "Fuse"}},
                                  {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}})}};
    auto unk = unk_token(vocab);
    j["model"] = {{"type", "BPE"},
                  {"dropout", nullptr},
                  {"unk_token", unk ? json(*unk) : json(nullptr)},
                  {"continuing_subword_prefix", nullptr},
                  {"end_of_word_suffix", nullptr},
                  {"fuse_unk", true},
                  {"byte_fallback", true},
                  {"ignore_merges", false}};
    return j;
}

std::unique_ptr<BpeModel> sentencepiece_bpe_model(const GgufVocab& vocab, const std::string& source) {
    if (vocab.scores.size() != vocab.tokens.size())
        throw Error(source, "tokenizer.ggml.scores is missing; a SentencePiece (\"llama\") vocabulary needs scores");
    BpeOptions opt;
    opt.unk_token = unk_token(vocab);
    opt.fuse_unk = true;
    opt.byte_fallback = true;
    return BpeModel::from_scores(gguf_vocab_pairs(vocab), vocab.scores, opt, source);
}

std::vector<std::pair<std::string, std::string>> sentencepiece_merges(const GgufVocab& vocab) {
    // transformers' generate_merges: vocab maps a spelling to its last id; candidates are all two-way
    // splits into vocabulary entries, grouped per token in id order, sorted within a token by the ids
    // of the parts, then stably by (score, length of left part, length of right part), largest first.
    std::unordered_map<std::string, int32_t> id_of;
    std::vector<size_t> first_seen;
    for (size_t i = 0; i < vocab.tokens.size(); ++i) {
        auto [it, inserted] = id_of.insert_or_assign(vocab.tokens[i], static_cast<int32_t>(i));
        (void)it;
        if (inserted) first_seen.push_back(i);
    }
    struct Candidate {
        int32_t left, right;
        float score;
        size_t left_len, right_len;
    };
    std::vector<Candidate> all;
    std::vector<Candidate> local;
    for (size_t first : first_seen) {
        const std::string& tok = vocab.tokens[first];
        const int32_t id = id_of[tok];
        const float score = static_cast<size_t>(id) < vocab.scores.size() ? vocab.scores[id] : 0.0f;
        local.clear();
        size_t k = tok.empty() ? 0 : utf8::sequence_length(static_cast<unsigned char>(tok[0]));
        while (k < tok.size()) {
            auto l = id_of.find(tok.substr(0, k));
            auto r = id_of.find(tok.substr(k));
            if (l != id_of.end() && r != id_of.end())
                local.push_back({l->second, r->second, score, code_point_count(l->first), code_point_count(r->first)});
            k += utf8::sequence_length(static_cast<unsigned char>(tok[k]));
        }
        std::stable_sort(local.begin(), local.end(), [](const Candidate& a, const Candidate& b) {
            return a.left != b.left ? a.left < b.left : a.right < b.right;
        });
        all.insert(all.end(), local.begin(), local.end());
    }
    std::stable_sort(all.begin(), all.end(), [](const Candidate& a, const Candidate& b) {
        if (a.score != b.score) return a.score > b.score;
        if (a.left_len != b.left_len) return a.left_len > b.left_len;
        return a.right_len > b.right_len;
    });
    std::vector<std::pair<std::string, std::string>> merges;
    merges.reserve(all.size());
    for (const auto& c : all) merges.emplace_back(vocab.tokens[c.left], vocab.tokens[c.right]);
    return merges;
}

}  // namespace awq
