#pragma once
// The tokenizer as GGUF metadata describes it (tokenizer.ggml.*). Filled by the GGUF reader, consumed by
// the tokenizer loader and by the converter that writes tokenizer.json.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace awq {

struct GgufVocab {
    std::string model;                 // tokenizer.ggml.model: "gpt2" (byte-level BPE) or "llama" (SentencePiece BPE)
    std::string pre;                   // tokenizer.ggml.pre: pre-tokenizer name, e.g. "smollm", "llama-bpe", "qwen2", "default"
    std::vector<std::string> tokens;   // tokenizer.ggml.tokens
    std::vector<float> scores;         // tokenizer.ggml.scores (may be empty)
    std::vector<int32_t> token_types;  // tokenizer.ggml.token_type: 1 normal, 2 unknown, 3 control, 4 user defined, 5 unused, 6 byte
    std::vector<std::string> merges;   // tokenizer.ggml.merges ("a b"), byte-level BPE only
    std::optional<int64_t> bos_id, eos_id, unk_id, pad_id;
    std::optional<bool> add_bos, add_eos;
    std::string chat_template;         // tokenizer.chat_template
};

}  // namespace awq
