#pragma once
// GGUF "llama" vocabularies (SentencePiece BPE, Llama 2 / Mistral style): '▁' for spaces and a '▁' in
// front of the text, BPE by token scores, <0xXX> byte fallback for characters outside the vocabulary.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "tokenizer/bpe_model.h"
#include "tokenizer/gguf_vocab.h"

namespace awq {

nlohmann::json sentencepiece_bpe_pipeline_json(const GgufVocab& vocab, const std::string& source);
std::unique_ptr<BpeModel> sentencepiece_bpe_model(const GgufVocab& vocab, const std::string& source);

// The merges list equivalent to scoring (for tokenizer.json export), ordered the way transformers
// derives it from a SentencePiece vocabulary: by the merged token's score, best first.
std::vector<std::pair<std::string, std::string>> sentencepiece_merges(const GgufVocab& vocab);

}  // namespace awq
