#pragma once
// Fills a GgufVocab from `tokenizer.ggml.*` and `tokenizer.chat_template`, checking that the parallel
// arrays agree in length and that special-token ids point into the vocabulary.
#include "io/gguf_reader.h"
#include "tokenizer/gguf_vocab.h"

namespace awq {

GgufVocab read_gguf_vocab(const GgufReader& gguf);

}  // namespace awq
