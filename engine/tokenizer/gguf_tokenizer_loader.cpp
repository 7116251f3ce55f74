#include "tokenizer/gguf_tokenizer_loader.h"

#include "core/error.h"
#include "tokenizer/byte_level_bpe_tokenizer.h"
#include "tokenizer/pipeline_tokenizer.h"
#include "tokenizer/sentencepiece_bpe_tokenizer.h"
#include "tokenizer/tokenizer_json_loader.h"

namespace awq {
namespace {

using nlohmann::json;

// llama.cpp token types (tokenizer.ggml.token_type).
constexpr int32_t kUnknown = 2, kControl = 3, kUserDefined = 4;

// TemplateProcessing's description of one special token, keyed by its text.
json special_token_json(const GgufVocab& v, int64_t id) {
    const std::string& tok = v.tokens[static_cast<size_t>(id)];
    return {{"id", tok}, {"ids", json::array({id})}, {"tokens", json::array({tok})}};
}

}  // namespace

void validate_gguf_vocab(const GgufVocab& v, const std::string& source) {
    if (v.model != "gpt2" && v.model != "llama")
        throw Error(source, "tokenizer.ggml.model '" + v.model + "' is not supported (supported: gpt2, llama)");
    if (v.tokens.empty()) throw Error(source, "tokenizer.ggml.tokens is empty");
    if (v.tokens.size() > static_cast<size_t>(INT32_MAX)) throw Error(source, "tokenizer.ggml.tokens is too large");
    if (!v.token_types.empty() && v.token_types.size() != v.tokens.size())
        throw Error(source, "tokenizer.ggml.token_type has " + std::to_string(v.token_types.size()) +
                                " entries but tokenizer.ggml.tokens has " + std::to_string(v.tokens.size()));
    if (!v.scores.empty() && v.scores.size() != v.tokens.size())
        throw Error(source, "tokenizer.ggml.scores has " + std::to_string(v.scores.size()) +
                                " entries but tokenizer.ggml.tokens has " + std::to_string(v.tokens.size()));
    auto check_id = [&](const std::optional<int64_t>& id, const char* key) {
        if (id && (*id < 0 || *id >= static_cast<int64_t>(v.tokens.size())))
            throw Error(source, std::string(key) + " = " + std::to_string(*id) + " is outside the vocabulary (" +
                                    std::to_string(v.tokens.size()) + " tokens)");
    };
    check_id(v.bos_id, "tokenizer.ggml.bos_token_id");
    check_id(v.eos_id, "tokenizer.ggml.eos_token_id");
    check_id(v.unk_id, "tokenizer.ggml.unknown_token_id");
    check_id(v.pad_id, "tokenizer.ggml.padding_token_id");
    if (v.model == "llama" && v.scores.empty())
        throw Error(source, "tokenizer.ggml.scores is missing; a SentencePiece (\"llama\") vocabulary needs scores");
}

std::vector<std::pair<std::string, int32_t>> gguf_vocab_pairs(const GgufVocab& v) {
    std::vector<std::pair<std::string, int32_t>> pairs;
    pairs.reserve(v.tokens.size());
    for (size_t i = 0; i < v.tokens.size(); ++i) pairs.emplace_back(v.tokens[i], static_cast<int32_t>(i));
    return pairs;
}

json gguf_added_tokens_json(const GgufVocab& v) {
    json list = json::array();
    for (size_t i = 0; i < v.token_types.size(); ++i) {
        const int32_t type = v.token_types[i];
        if (type != kUnknown && type != kControl && type != kUserDefined) continue;
        if (v.tokens[i].empty()) continue;
        list.push_back({{"id", static_cast<int64_t>(i)},
                        {"content", v.tokens[i]},
                        {"single_word", false},
                        {"lstrip", false},
                        {"rstrip", false},
                        {"normalized", false},
                        {"special", type != kUserDefined}});
    }
    return list;
}

bool gguf_adds_bos(const GgufVocab& v) { return v.bos_id && v.add_bos.value_or(v.model == "llama"); }
bool gguf_adds_eos(const GgufVocab& v) { return v.eos_id && v.add_eos.value_or(false); }

json gguf_post_processor_json(const GgufVocab& v) {
    const bool bos = gguf_adds_bos(v), eos = gguf_adds_eos(v);
    if (!bos && !eos) return nullptr;
    json single = json::array(), pair = json::array(), specials = json::object();
    auto special = [&](int64_t id, int type_id) {
        const std::string& tok = v.tokens[static_cast<size_t>(id)];
        specials[tok] = special_token_json(v, id);
        return json{{"SpecialToken", {{"id", tok}, {"type_id", type_id}}}};
    };
    auto sequence = [](const char* name, int type_id) { return json{{"Sequence", {{"id", name}, {"type_id", type_id}}}}; };
    if (bos) single.push_back(special(*v.bos_id, 0));
    single.push_back(sequence("A", 0));
    if (eos) single.push_back(special(*v.eos_id, 0));
    pair = single;
    if (bos) pair.push_back(special(*v.bos_id, 1));
    pair.push_back(sequence("B", 1));
    if (eos) pair.push_back(special(*v.eos_id, 1));
    return {{"type", "TemplateProcessing"}, {"single", single}, {"pair", pair}, {"special_tokens", specials}};
}

json gguf_pipeline_json(const GgufVocab& v, const std::string& source) {
    validate_gguf_vocab(v, source);
    return v.model == "gpt2" ? byte_level_bpe_pipeline_json(v, source) : sentencepiece_bpe_pipeline_json(v, source);
}

std::unique_ptr<BpeModel> gguf_bpe_model(const GgufVocab& v, const std::string& source) {
    validate_gguf_vocab(v, source);
    return v.model == "gpt2" ? byte_level_bpe_model(v, source) : sentencepiece_bpe_model(v, source);
}

std::unique_ptr<Tokenizer> Tokenizer::from_gguf_vocab(const GgufVocab& vocab, const std::string& source) {
    TokenizerParts parts = tokenizer_parts_from_json(gguf_pipeline_json(vocab, source), source,
                                                     gguf_bpe_model(vocab, source));
    parts.bos_id = vocab.bos_id ? std::optional<int32_t>(static_cast<int32_t>(*vocab.bos_id)) : std::nullopt;
    parts.eos_id = vocab.eos_id ? std::optional<int32_t>(static_cast<int32_t>(*vocab.eos_id)) : std::nullopt;
    return std::make_unique<PipelineTokenizer>(std::move(parts));
}

}  // namespace awq
