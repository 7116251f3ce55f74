#pragma once
// tokenizer.json (Hugging Face `tokenizers` serialization) -> the pipeline parts, and the parts of
// tokenizer_config.json that transformers applies on top (bos/eos names, add_bos_token/add_eos_token).
// Anything this engine cannot reproduce exactly is rejected with awq::Error(<file>, <construct>).
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "tokenizer/pipeline_tokenizer.h"

namespace awq {

// `source` names the file in error messages. When `model` is given, tokenizer_json["model"] is not read
// (the GGUF loader builds the model straight from the vocabulary and shares only the pipeline JSON).
TokenizerParts tokenizer_parts_from_json(const nlohmann::json& tokenizer_json, const std::string& source,
                                         std::unique_ptr<BpeModel> model = nullptr);

// bos/eos from the config's token names; when the config states add_bos_token or add_eos_token, the
// single-sequence template becomes [bos] $A [eos] accordingly, as transformers rebuilds it.
void apply_tokenizer_config(TokenizerParts& parts, const nlohmann::json& config, const std::string& source);

// Reads and parses a JSON file; errors name the file.
nlohmann::json read_json_file(const std::string& path);

}  // namespace awq
