#include "tokenizer/tokenizer_json_export.h"

#include "tokenizer/byte_level_bpe_tokenizer.h"
#include "tokenizer/gguf_tokenizer_loader.h"
#include "tokenizer/sentencepiece_bpe_tokenizer.h"

namespace awq {

using nlohmann::json;

namespace {
const std::string kSource = "GGUF vocabulary";
}

json tokenizer_json_from_gguf_vocab(const GgufVocab& v) {
    json j = gguf_pipeline_json(v, kSource);
    json vocab = json::object();
    for (size_t i = 0; i < v.tokens.size(); ++i) vocab[v.tokens[i]] = static_cast<int64_t>(i);
    json merges = json::array();
    const auto pairs = v.model == "gpt2" ? split_gguf_merges(v, kSource) : sentencepiece_merges(v);
    for (const auto& [a, b] : pairs) merges.push_back(json::array({a, b}));
    j["model"]["vocab"] = std::move(vocab);
    j["model"]["merges"] = std::move(merges);
    return j;
}

json tokenizer_config_from_gguf_vocab(const GgufVocab& v) {
    validate_gguf_vocab(v, kSource);
    auto name = [&](const std::optional<int64_t>& id) -> json {
        return id ? json(v.tokens[static_cast<size_t>(*id)]) : json(nullptr);
    };
    json added = json::object();
    for (const auto& t : gguf_added_tokens_json(v)) {
        json entry = t;
        entry.erase("id");
        added[std::to_string(t["id"].get<int64_t>())] = entry;
    }
    json c;
    c["tokenizer_class"] = "PreTrainedTokenizerFast";
    c["add_bos_token"] = gguf_adds_bos(v);
    c["add_eos_token"] = gguf_adds_eos(v);
    c["bos_token"] = name(v.bos_id);
    c["eos_token"] = name(v.eos_id);
    c["unk_token"] = name(v.unk_id);
    c["pad_token"] = name(v.pad_id);
    c["added_tokens_decoder"] = std::move(added);
    c["clean_up_tokenization_spaces"] = false;
    // GgufVocab does not carry <arch>.context_length; the converter overwrites this with it. Until then,
    // transformers' own "no limit" value.
    c["model_max_length"] = 1e30;
    if (!v.chat_template.empty()) c["chat_template"] = v.chat_template;
    return c;
}

}  // namespace awq
