#pragma once
// GGUF vocabularies (tokenizer.ggml.*) as tokenizers. The normalizer/pre-tokenizer/decoder/post-processor
// of a vocabulary are described once, as tokenizer.json JSON, so that the tokenizer built here and the
// tokenizer.json exported for Hugging Face are the same pipeline by construction.
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "tokenizer/bpe_model.h"
#include "tokenizer/gguf_vocab.h"

namespace awq {

// Checks array lengths, special ids and the model name; throws awq::Error(source, ...).
void validate_gguf_vocab(const GgufVocab& vocab, const std::string& source);

// tokenizer.json without model.vocab / model.merges: added_tokens, normalizer, pre_tokenizer,
// post_processor, decoder and the BPE options under "model".
nlohmann::json gguf_pipeline_json(const GgufVocab& vocab, const std::string& source);

// The BPE model itself: by merges for "gpt2", by scores for "llama".
std::unique_ptr<BpeModel> gguf_bpe_model(const GgufVocab& vocab, const std::string& source);

// The control (and unknown) tokens as special added tokens, user-defined ones as plain added tokens.
nlohmann::json gguf_added_tokens_json(const GgufVocab& vocab);

// TemplateProcessing for add_bos/add_eos (defaults: true/false for "llama", false/false for "gpt2"),
// or null when nothing is added.
nlohmann::json gguf_post_processor_json(const GgufVocab& vocab);
bool gguf_adds_bos(const GgufVocab& vocab);
bool gguf_adds_eos(const GgufVocab& vocab);

// (token, id) pairs of the vocabulary.
std::vector<std::pair<std::string, int32_t>> gguf_vocab_pairs(const GgufVocab& vocab);

}  // namespace awq
