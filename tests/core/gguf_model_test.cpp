// The default model (SmolLM2-135M-Instruct Q4_1 GGUF): metadata, config, vocabulary and every tensor
// against tests/data/gguf/smollm2_reference.json, which make_gguf_golden.py computes with the gguf package
// (dequantization) and numpy (inverse of llama.cpp's q/k permutation).
#include <gtest/gtest.h>

#include <cmath>

#include "convert/rope_permutation.h"
#include "gguf_test_support.h"
#include "io/gguf_model_config.h"
#include "io/gguf_reader.h"
#include "io/gguf_vocab_reader.h"

namespace awq {
namespace {

class DefaultGguf : public ::testing::Test {
protected:
    void SetUp() override {
        if (!std::filesystem::exists(test::default_gguf()))
            GTEST_SKIP() << "default model " << test::default_gguf() << " absent (run scripts/setup.sh)";
        ref_ = test::read_json_file(test::gguf_data_dir() / "smollm2_reference.json");
        gguf_ = std::make_unique<GgufReader>(test::default_gguf().string());
    }
    nlohmann::json ref_;
    std::unique_ptr<GgufReader> gguf_;
};

TEST_F(DefaultGguf, ConfigFromMetadata) {
    const auto& m = ref_["metadata"];
    const ModelConfig c = model_config_from_gguf(*gguf_);
    EXPECT_EQ(m["general.architecture"], "llama");
    EXPECT_EQ(c.architecture, "LlamaForCausalLM");
    EXPECT_EQ(c.model_type, "llama");
    EXPECT_EQ(c.num_hidden_layers, m["llama.block_count"].get<int64_t>());
    EXPECT_EQ(c.hidden_size, m["llama.embedding_length"].get<int64_t>());
    EXPECT_EQ(c.intermediate_size, m["llama.feed_forward_length"].get<int64_t>());
    EXPECT_EQ(c.num_attention_heads, m["llama.attention.head_count"].get<int64_t>());
    EXPECT_EQ(c.num_key_value_heads, m["llama.attention.head_count_kv"].get<int64_t>());
    EXPECT_EQ(c.head_dim, c.hidden_size / c.num_attention_heads);
    EXPECT_EQ(c.vocab_size, m["llama.vocab_size"].get<int64_t>());
    EXPECT_EQ(c.max_position_embeddings, m["llama.context_length"].get<int64_t>());
    EXPECT_DOUBLE_EQ(c.rope_theta, m["llama.rope.freq_base"].get<double>());
    EXPECT_DOUBLE_EQ(c.rms_norm_eps, m["llama.attention.layer_norm_rms_epsilon"].get<double>());
    EXPECT_EQ(c.tie_word_embeddings, !ref_["has_output_weight"].get<bool>());
    EXPECT_FALSE(c.attention_bias);
    EXPECT_EQ(c.bos_token_id, m["tokenizer.ggml.bos_token_id"].get<int64_t>());
    EXPECT_EQ(c.eos_token_ids, (std::vector<int64_t>{m["tokenizer.ggml.eos_token_id"].get<int64_t>()}));
    EXPECT_EQ(c.pad_token_id, m["tokenizer.ggml.padding_token_id"].get<int64_t>());
    EXPECT_TRUE(c.rope_scaling.type.empty());
    // The numbers the project documents for its default model, as read above.
    EXPECT_EQ(c.num_hidden_layers, 30);
    EXPECT_EQ(c.hidden_size, 576);
    EXPECT_EQ(c.num_attention_heads, 9);
    EXPECT_EQ(c.num_key_value_heads, 3);
    EXPECT_EQ(c.vocab_size, 49152);
    EXPECT_TRUE(c.tie_word_embeddings);
    // config.json round trip: what the converter writes is what from_json reads back.
    const ModelConfig again = ModelConfig::from_json(c.to_json(), "config.json");
    EXPECT_EQ(again.num_key_value_heads, c.num_key_value_heads);
    EXPECT_EQ(again.tie_word_embeddings, c.tie_word_embeddings);
}

TEST_F(DefaultGguf, VocabularyFromMetadata) {
    const auto& m = ref_["metadata"];
    const auto& rv = ref_["vocab"];
    const GgufVocab v = read_gguf_vocab(*gguf_);
    EXPECT_EQ(v.model, m["tokenizer.ggml.model"].get<std::string>());
    EXPECT_EQ(v.pre, m["tokenizer.ggml.pre"].get<std::string>());
    ASSERT_EQ(v.tokens.size(), rv["n_tokens"].get<size_t>());
    for (size_t i = 0; i < rv["first_tokens"].size(); ++i) EXPECT_EQ(v.tokens[i], rv["first_tokens"][i].get<std::string>());
    EXPECT_EQ(v.tokens.back(), rv["last_token"].get<std::string>());
    ASSERT_EQ(v.merges.size(), rv["n_merges"].get<size_t>());
    for (size_t i = 0; i < rv["first_merges"].size(); ++i) EXPECT_EQ(v.merges[i], rv["first_merges"][i].get<std::string>());
    ASSERT_EQ(v.token_types.size(), v.tokens.size());
    std::map<std::string, int64_t> counts;
    for (int32_t t : v.token_types) ++counts[std::to_string(t)];
    EXPECT_EQ(nlohmann::json(counts), rv["token_type_counts"]);
    EXPECT_TRUE(v.scores.empty());
    EXPECT_EQ(v.bos_id, m["tokenizer.ggml.bos_token_id"].get<int64_t>());
    EXPECT_EQ(v.eos_id, m["tokenizer.ggml.eos_token_id"].get<int64_t>());
    EXPECT_EQ(v.unk_id, m["tokenizer.ggml.unknown_token_id"].get<int64_t>());
    EXPECT_EQ(v.pad_id, m["tokenizer.ggml.padding_token_id"].get<int64_t>());
    EXPECT_EQ(v.add_bos, m["tokenizer.ggml.add_bos_token"].get<bool>());
    EXPECT_EQ(v.add_eos, std::nullopt);
    EXPECT_EQ(v.chat_template, m["tokenizer.chat_template"].get<std::string>());
}

// Every tensor dequantizes to finite values equal to the gguf package's, in the Hugging Face layout.
TEST_F(DefaultGguf, EveryTensorMatchesReference) {
    const ModelConfig c = model_config_from_gguf(*gguf_);
    const auto& tensors = ref_["tensors"];
    ASSERT_EQ(gguf_->tensors().size(), tensors.size());
    size_t samples = 0;
    for (const auto& rt : tensors) {
        const std::string name = rt["gguf_name"];
        SCOPED_TRACE(name);
        const GgufTensorInfo& t = gguf_->tensor(name);
        EXPECT_EQ(ggml_type_name(t.type), rt["type"].get<std::string>());
        EXPECT_EQ(t.shape, rt["shape"].get<std::vector<int64_t>>());
        std::vector<float> x = gguf_->dequantize(t);
        const int64_t rows = t.shape[0], cols = static_cast<int64_t>(x.size()) / rows;
        if (name.find(".attn_q.") != std::string::npos) unpermute_rope_rows(x.data(), rows, cols, c.num_attention_heads);
        if (name.find(".attn_k.") != std::string::npos) unpermute_rope_rows(x.data(), rows, cols, c.num_key_value_heads);
        double sum = 0, abs_sum = 0, weighted = 0;
        bool finite = true;
        for (int64_t r = 0; r < rows; ++r) {
            double row = 0;
            for (int64_t k = 0; k < cols; ++k) {
                const float v = x[r * cols + k];
                finite = finite && std::isfinite(v);
                row += v;
                abs_sum += std::abs(static_cast<double>(v));
            }
            sum += row;
            weighted += row * static_cast<double>(r + 1);
        }
        EXPECT_TRUE(finite);
        EXPECT_EQ(finite, rt["all_finite"].get<bool>());
        const double scale = rt["abs_sum"].get<double>();
        EXPECT_NEAR(abs_sum, scale, 1e-9 * scale);
        EXPECT_NEAR(sum, rt["sum"].get<double>(), 1e-9 * scale);
        EXPECT_NEAR(weighted, rt["row_weighted_sum"].get<double>(), 1e-9 * scale * static_cast<double>(rows));
        for (const auto& s : rt["samples"]) {
            uint32_t bits;
            std::memcpy(&bits, &x[s["index"].get<size_t>()], 4);
            EXPECT_EQ(bits, s["f32_bits"].get<uint32_t>()) << "at " << s["index"];
            ++samples;
        }
    }
    EXPECT_GT(samples, 272u * 3);
}

}  // namespace
}  // namespace awq
