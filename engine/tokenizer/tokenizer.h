#pragma once
// Text <-> token ids, equal to Hugging Face `tokenizers` for the supported families:
// byte-level BPE from tokenizer.json (GPT-2, Llama 3, Qwen2, SmolLM pre-tokenizers) and SentencePiece-style
// BPE (Llama 2 / Mistral tokenizer.json or GGUF "llama" vocabularies with byte fallback).
// All const methods may be called from several threads at once. Errors are awq::Error naming the source
// (file) and the problem: unsupported tokenizer.json constructs, invalid UTF-8 text, unknown ids.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/gguf_vocab.h"

namespace awq {

class Tokenizer {
public:
    virtual ~Tokenizer() = default;

    // add_special: add BOS/EOS the way the tokenizer's post-processor does (tokenizer.json "post_processor",
    // or GGUF add_bos/add_eos). Special/added tokens written in the text are recognised as such.
    virtual std::vector<int32_t> encode(std::string_view text, bool add_special = true) const = 0;
    virtual std::string decode(const std::vector<int32_t>& ids, bool skip_special = false) const = 0;

    virtual int64_t vocab_size() const = 0;
    virtual std::optional<int32_t> bos_id() const = 0;
    virtual std::optional<int32_t> eos_id() const = 0;
    virtual bool is_special(int32_t id) const = 0;
    virtual std::optional<int32_t> token_to_id(std::string_view token) const = 0;
    virtual std::string id_to_token(int32_t id) const = 0;  // the raw vocabulary entry

    // Loads <dir>/tokenizer.json (plus tokenizer_config.json for bos/eos names), errors name the file.
    // Like transformers, a config stating add_bos_token/add_eos_token decides what encode() adds.
    static std::unique_ptr<Tokenizer> from_hf_folder(const std::string& dir);
    // tokenizer.json alone: bos/eos are the tokens its post-processor template puts around the text.
    static std::unique_ptr<Tokenizer> from_tokenizer_json(const std::string& path);
    // GGUF tokenizer.ggml.*: "gpt2" (pre: smollm, gpt2, default, llama-bpe, qwen2, ...) or "llama".
    static std::unique_ptr<Tokenizer> from_gguf_vocab(const GgufVocab& vocab, const std::string& source);
};

// Streaming detokenization for generation: feed ids one at a time, get back only complete UTF-8 text
// (a multi-byte character split over tokens is held until it is complete).
class StreamDecoder {
public:
    explicit StreamDecoder(const Tokenizer& tok, bool skip_special = true) : tok_(tok), skip_special_(skip_special) {}
    std::string push(int32_t id);
    std::string flush();

private:
    const Tokenizer& tok_;
    bool skip_special_;
    std::vector<int32_t> ids_;
    size_t emitted_ = 0;  // bytes of decode(ids_) already returned
};

}  // namespace awq
