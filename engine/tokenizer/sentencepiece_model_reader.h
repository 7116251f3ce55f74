#pragma once
// Reads a SentencePiece `tokenizer.model` (a serialized sentencepiece ModelProto: pieces with scores and
// types, trainer and normalizer specs) into the same vocabulary description a GGUF "llama" tokenizer uses,
// so Llama 2 / Mistral folders that ship only tokenizer.model load through the SentencePiece-BPE tokenizer.
#include <string>

#include "tokenizer/gguf_vocab.h"

namespace awq {

// Only BPE models (model_type BPE) are accepted; errors name the file (truncated or malformed protobuf,
// unigram models, no pieces).
GgufVocab read_sentencepiece_model(const std::string& path);

}  // namespace awq
