#include "tokenizer/byte_level_bpe_tokenizer.h"

#include "core/error.h"
#include "tokenizer/gguf_tokenizer_loader.h"
#include "tokenizer/pretokenizer.h"

namespace awq {
namespace {

using nlohmann::json;

// The split regexes of the Llama 3 and Qwen2 tokenizer.json files (llama.cpp's "llama-bpe" and "qwen2").
constexpr const char* kLlama3Split =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kQwen2Split =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

json byte_level_json(bool use_regex) {
    return {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", use_regex}};
}

json split_then_bytes(const char* regex) {
    return {{"type", "Sequence"},
            {"pretokenizers",
             json::array({{{"type", "Split"},
                           {"pattern", {{"Regex", regex}}},
                           {"behavior", "Isolated"},
                           {"invert", false}},
                          byte_level_json(false)})}};
}

// Llama 3's tokenizer.json (and llama.cpp for these names) takes a word that is a vocabulary entry whole.
bool ignores_merges(const std::string& pre) {
    return pre == "llama-bpe" || pre == "llama3" || pre == "llama-v3";
}

}  // namespace

json byte_level_pre_tokenizer_json(const std::string& pre, const std::string& source) {
    // SmolLM's tokenizer.json: digits one by one, then GPT-2's ByteLevel regex (llama.cpp: "\p{N}" + GPT-2).
    if (pre == "smollm")
        return {{"type", "Sequence"},
                {"pretokenizers",
                 json::array({{{"type", "Digits"}, {"individual_digits", true}}, byte_level_json(true)})}};
    if (pre == "gpt2" || pre == "default" || pre.empty()) return byte_level_json(true);
    if (pre == "llama-bpe" || pre == "llama3" || pre == "llama-v3" || pre == "falcon3" || pre == "smaug-bpe" ||
        pre == "dbrx")
        return split_then_bytes(kLlama3Split);
    if (pre == "qwen2" || pre == "deepseek-r1-qwen") return split_then_bytes(kQwen2Split);
    throw Error(source, "tokenizer.ggml.pre '" + pre +
                            "' is not supported (supported: smollm, gpt2, default, llama-bpe, llama3, llama-v3, "
                            "falcon3, smaug-bpe, dbrx, qwen2, deepseek-r1-qwen)");
}

json byte_level_bpe_pipeline_json(const GgufVocab& vocab, const std::string& source) {
    json j;
    j["version"] = "1.0";
    j["truncation"] = nullptr;
    j["padding"] = nullptr;
    j["added_tokens"] = gguf_added_tokens_json(vocab);
    j["normalizer"] = nullptr;
    j["pre_tokenizer"] = byte_level_pre_tokenizer_json(vocab.pre, source);
    json post = gguf_post_processor_json(vocab);
    j["post_processor"] = post.is_null() ? json{{"type", "ByteLevel"},
                                                {"add_prefix_space", true},
                                                {"trim_offsets", false},
                                                {"use_regex", true}}
                                         : post;
    j["decoder"] = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}};
    j["model"] = {{"type", "BPE"},
                  {"dropout", nullptr},
                  {"unk_token", nullptr},
                  {"continuing_subword_prefix", nullptr},
                  {"end_of_word_suffix", nullptr},
                  {"fuse_unk", false},
                  {"byte_fallback", false},
                  {"ignore_merges", ignores_merges(vocab.pre)}};
    return j;
}

std::vector<std::pair<std::string, std::string>> split_gguf_merges(const GgufVocab& vocab, const std::string& source) {
    std::vector<std::pair<std::string, std::string>> merges;
    merges.reserve(vocab.merges.size());
    for (size_t i = 0; i < vocab.merges.size(); ++i) {
        const std::string& m = vocab.merges[i];
        const size_t sp = m.find(' ');
        if (sp == std::string::npos || sp == 0 || sp + 1 == m.size() || m.find(' ', sp + 1) != std::string::npos)
            throw Error(source, "tokenizer.ggml.merges[" + std::to_string(i) + "] '" + m +
                                    "' is not two tokens separated by one space");
        merges.emplace_back(m.substr(0, sp), m.substr(sp + 1));
    }
    return merges;
}

std::unique_ptr<BpeModel> byte_level_bpe_model(const GgufVocab& vocab, const std::string& source) {
    BpeOptions opt;
    opt.ignore_merges = ignores_merges(vocab.pre);
    return BpeModel::from_merges(gguf_vocab_pairs(vocab), split_gguf_merges(vocab, source), opt,
                                 source + ": tokenizer.ggml.merges");
}

}  // namespace awq
