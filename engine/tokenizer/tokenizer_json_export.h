#pragma once
// tokenizer.json / tokenizer_config.json (Hugging Face `tokenizers` / transformers formats) built from a
// GGUF vocabulary, so a converted GGUF model folder loads with AutoTokenizer.
#include <nlohmann/json.hpp>

#include "tokenizer/gguf_vocab.h"

namespace awq {

nlohmann::json tokenizer_json_from_gguf_vocab(const GgufVocab& vocab);
nlohmann::json tokenizer_config_from_gguf_vocab(const GgufVocab& vocab);

}  // namespace awq
