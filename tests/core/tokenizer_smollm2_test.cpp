// SmolLM2 (the default model) from its GGUF vocabulary, against HF tokenizers/transformers goldens.
#include <gtest/gtest.h>

#include <chrono>

#include "io/gguf_reader.h"
#include "io/gguf_vocab_reader.h"
#include "tokenizer/pipeline_tokenizer.h"
#include "tokenizer/tokenizer_json_export.h"
#include "tokenizer/tokenizer_json_loader.h"
#include "tokenizer_golden.h"

namespace awq::test {
namespace {

class SmolLM2Tokenizer : public ::testing::Test {
protected:
    void SetUp() override {
        if (!std::filesystem::exists(default_gguf()))
            GTEST_SKIP() << default_gguf() << " is missing (made by scripts/setup.sh)";
        vocab_ = read_gguf_vocab(GgufReader(default_gguf().string()));
    }
    GgufVocab vocab_;
};

// Our GGUF path: tokenizer.ggml.pre = "smollm" is SmolLM2's own pre-tokenizer (digits one by one).
TEST_F(SmolLM2Tokenizer, GgufVocabularyMatchesSmolLM2TokenizerJson) {
    ASSERT_EQ(vocab_.model, "gpt2");
    ASSERT_EQ(vocab_.pre, "smollm");
    auto tok = Tokenizer::from_gguf_vocab(vocab_, default_gguf().string());
    EXPECT_EQ(tok->vocab_size(), 49152);
    EXPECT_EQ(tok->bos_id(), 1);
    EXPECT_EQ(tok->eos_id(), 2);
    EXPECT_TRUE(tok->is_special(0));
    EXPECT_EQ(tok->token_to_id("<|im_end|>"), 2);
    EXPECT_EQ(tok->id_to_token(2), "<|im_end|>");
    expect_matches_golden(*tok, load_golden("smollm2_golden.json"));
}

// The tokenizer.json of SmolLM2 (pipeline committed, vocabulary from the GGUF) through our JSON loader.
TEST_F(SmolLM2Tokenizer, TokenizerJsonMatchesTokenizers) {
    const auto j = with_vocab(read_json(tokenizer_data_dir() / "smollm2_pipeline.json"), vocab_.tokens, vocab_.merges);
    PipelineTokenizer tok(tokenizer_parts_from_json(j, "smollm2 tokenizer.json"));
    expect_matches_golden(tok, load_golden("smollm2_golden.json"));
}

// Exactly the tokenizer.json transformers builds from this GGUF (GPT-2 ByteLevel regex, no Digits split)
// must also come out identical through our loader.
TEST_F(SmolLM2Tokenizer, TransformersGgufTokenizerJsonMatchesTransformers) {
    const auto j = with_vocab(read_json(tokenizer_data_dir() / "smollm2_transformers_gguf_pipeline.json"),
                              vocab_.tokens, vocab_.merges);
    PipelineTokenizer tok(tokenizer_parts_from_json(j, "transformers GGUF tokenizer.json"));
    expect_matches_golden(tok, load_golden("smollm2_transformers_gguf_golden.json"));
}

// Our exported tokenizer.json loads back into the same tokenizer as the GGUF path.
TEST_F(SmolLM2Tokenizer, ExportedTokenizerJsonRoundTrips) {
    const nlohmann::json j = tokenizer_json_from_gguf_vocab(vocab_);
    const nlohmann::json smol = read_json(tokenizer_data_dir() / "smollm2_pipeline.json");
    EXPECT_EQ(j["pre_tokenizer"], smol["pre_tokenizer"]);
    EXPECT_EQ(j["decoder"], smol["decoder"]);
    EXPECT_EQ(j["normalizer"], smol["normalizer"]);
    EXPECT_EQ(j["added_tokens"], smol["added_tokens"]);
    EXPECT_EQ(j["model"]["merges"].size(), vocab_.merges.size());
    // Through a serialized string, as it would be written to disk.
    PipelineTokenizer tok(tokenizer_parts_from_json(nlohmann::json::parse(j.dump()), "exported tokenizer.json"));
    expect_matches_golden(tok, load_golden("smollm2_golden.json"));

    const nlohmann::json c = tokenizer_config_from_gguf_vocab(vocab_);
    EXPECT_EQ(c["bos_token"], "<|im_start|>");
    EXPECT_EQ(c["eos_token"], "<|im_end|>");
    EXPECT_EQ(c["unk_token"], "<|endoftext|>");
    EXPECT_EQ(c["pad_token"], "<|im_end|>");
    EXPECT_EQ(c["add_bos_token"], false);
    EXPECT_EQ(c["tokenizer_class"], "PreTrainedTokenizerFast");
    EXPECT_EQ(c["chat_template"], vocab_.chat_template);
}

}  // namespace
}  // namespace awq::test
