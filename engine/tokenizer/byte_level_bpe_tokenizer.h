#pragma once
// GGUF "gpt2" vocabularies: byte-level BPE with the pre-tokenizer named by tokenizer.ggml.pre.
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "tokenizer/bpe_model.h"
#include "tokenizer/gguf_vocab.h"

namespace awq {

// tokenizer.json "pre_tokenizer" for a tokenizer.ggml.pre name ("smollm", "gpt2", "default", "llama-bpe",
// "qwen2", ...); throws awq::Error(source, ...) naming the supported ones for any other.
nlohmann::json byte_level_pre_tokenizer_json(const std::string& pre, const std::string& source);

// Pipeline JSON (see gguf_pipeline_json) and BPE model of a "gpt2" vocabulary.
nlohmann::json byte_level_bpe_pipeline_json(const GgufVocab& vocab, const std::string& source);
std::unique_ptr<BpeModel> byte_level_bpe_model(const GgufVocab& vocab, const std::string& source);

// "a b" -> (a, b); throws when the entry is not two tokens separated by one space.
std::vector<std::pair<std::string, std::string>> split_gguf_merges(const GgufVocab& vocab, const std::string& source);

}  // namespace awq
