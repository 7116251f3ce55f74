#pragma once
// The one Tokenizer implementation: Hugging Face `tokenizers`' pipeline with a BPE model
// (added tokens -> normalizer -> pre-tokenizer -> BPE -> post-processor; decoder for the way back).
// The loaders (tokenizer.json, GGUF vocabularies) only differ in how they fill TokenizerParts.
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>

#include "tokenizer/added_tokens.h"
#include "tokenizer/bpe_model.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/post_processor.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/token_decoder.h"
#include "tokenizer/tokenizer.h"

namespace awq {

struct TokenizerParts {
    std::string source;  // file or description, for error messages
    std::unique_ptr<BpeModel> model;
    AddedTokens added;  // need not be finalized
    std::unique_ptr<Normalizer> normalizer;       // may be null
    std::unique_ptr<PreTokenizer> pre_tokenizer;  // may be null
    PostProcessor post_processor;
    std::unique_ptr<TokenDecoder> decoder;  // null: tokens joined with spaces, as tokenizers does
    std::optional<int32_t> bos_id, eos_id;
};

class PipelineTokenizer : public Tokenizer {
public:
    explicit PipelineTokenizer(TokenizerParts parts);

    std::vector<int32_t> encode(std::string_view text, bool add_special = true) const override;
    std::string decode(const std::vector<int32_t>& ids, bool skip_special = false) const override;
    int64_t vocab_size() const override { return vocab_size_; }
    std::optional<int32_t> bos_id() const override { return p_.bos_id; }
    std::optional<int32_t> eos_id() const override { return p_.eos_id; }
    bool is_special(int32_t id) const override;
    std::optional<int32_t> token_to_id(std::string_view token) const override;
    std::string id_to_token(int32_t id) const override;

    const TokenizerParts& parts() const { return p_; }

private:
    void encode_text(std::string_view text, bool at_origin, std::vector<int32_t>& ids) const;

    TokenizerParts p_;
    int64_t vocab_size_ = 0;
};

}  // namespace awq
