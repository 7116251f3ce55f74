// GGUF metadata -> ModelConfig / GgufVocab: Llama 3.1 rope scaling recovered from rope_freqs.weight (made by
// make_gguf_golden.py with llama.cpp's formula), qwen2 mapping, and clear errors for metadata we refuse.
#include <gtest/gtest.h>

#include "gguf_test_support.h"
#include "io/gguf_model_config.h"
#include "io/gguf_reader.h"
#include "io/gguf_vocab_reader.h"

namespace awq {
namespace {

using test::error_of;
using test::GgufBuilder;

TEST(GgufModelConfig, Llama3RopeScalingFromRopeFreqs) {
    const nlohmann::json want = test::read_json_file(test::gguf_data_dir() / "llama3_rope.json");
    GgufReader g((test::gguf_data_dir() / "llama3_rope.gguf").string());
    const ModelConfig c = model_config_from_gguf(g);
    const auto& s = want["rope_scaling"];
    EXPECT_EQ(c.rope_scaling.type, s["rope_type"].get<std::string>());
    EXPECT_DOUBLE_EQ(c.rope_scaling.factor, s["factor"].get<double>());
    EXPECT_DOUBLE_EQ(c.rope_scaling.low_freq_factor, s["low_freq_factor"].get<double>());
    EXPECT_DOUBLE_EQ(c.rope_scaling.high_freq_factor, s["high_freq_factor"].get<double>());
    EXPECT_EQ(c.rope_scaling.original_max_position_embeddings, s["original_max_position_embeddings"].get<int64_t>());
    EXPECT_DOUBLE_EQ(c.rope_theta, want["rope_theta"].get<double>());
    EXPECT_EQ(c.to_json()["rope_scaling"]["rope_type"], "llama3");

    const std::string bad = (test::gguf_data_dir() / "llama3_rope_bad.gguf").string();
    GgufReader b(bad);
    EXPECT_HAS(error_of([&] { model_config_from_gguf(b); }), bad + ": rope_freqs.weight does not match Llama 3 rope scaling");
}

TEST(GgufModelConfig, Qwen2MapsToQwen2ForCausalLM) {
    GgufReader g((test::gguf_data_dir() / "tiny_qwen2.gguf").string());
    const ModelConfig c = model_config_from_gguf(g);
    EXPECT_EQ(c.architecture, "Qwen2ForCausalLM");
    EXPECT_EQ(c.model_type, "qwen2");
    EXPECT_TRUE(c.attention_bias);
    EXPECT_FALSE(c.o_proj_bias);
    EXPECT_TRUE(c.tie_word_embeddings);  // no output.weight in the file
    EXPECT_EQ(c.vocab_size, 40);         // no qwen2.vocab_size: counted from the tokens
    EXPECT_EQ(gguf_architecture(g), "qwen2");
}

class GgufMetadataErrors : public ::testing::Test {
protected:
    void SetUp() override { dir_ = test::gguf_scratch_dir(); }
    static GgufBuilder llama() {
        GgufBuilder b;
        b.kv_string("general.architecture", "llama");
        b.kv_u32("llama.block_count", 1);
        b.kv_u32("llama.embedding_length", 64);
        b.kv_u32("llama.feed_forward_length", 128);
        b.kv_u32("llama.attention.head_count", 4);
        b.kv_f32("llama.attention.layer_norm_rms_epsilon", 1e-5f);
        b.kv_u32("llama.vocab_size", 3);
        return b;
    }
    std::string write(const std::string& name, const GgufBuilder& b) { return b.write(dir_ / name); }
    std::filesystem::path dir_;
};

TEST_F(GgufMetadataErrors, Architecture) {
    GgufBuilder b;
    b.kv_string("general.architecture", "falcon");
    const std::string p = write("falcon.gguf", b);
    GgufReader g(p);
    EXPECT_EQ(error_of([&] { model_config_from_gguf(g); }), p + ": unsupported architecture 'falcon' (supported: llama, qwen2)");
    GgufBuilder none;
    const std::string pn = write("none.gguf", none);
    GgufReader gn(pn);
    EXPECT_EQ(error_of([&] { model_config_from_gguf(gn); }), pn + ": missing metadata key 'general.architecture'");
}

TEST_F(GgufMetadataErrors, ShapesAndRope) {
    GgufBuilder partial = llama();
    partial.kv_u32("llama.rope.dimension_count", 8);
    const std::string p = write("partial.gguf", partial);
    GgufReader g(p);
    EXPECT_EQ(error_of([&] { model_config_from_gguf(g); }),
              p + ": partial rotary embedding (llama.rope.dimension_count 8 != head dim 16) is not supported");
    GgufBuilder yarn = llama();
    yarn.kv_string("llama.rope.scaling.type", "yarn");
    const std::string py = write("yarn.gguf", yarn);
    GgufReader gy(py);
    EXPECT_EQ(error_of([&] { model_config_from_gguf(gy); }),
              py + ": unsupported rope scaling type 'yarn' (supported: none, linear, llama3)");
    GgufBuilder zero = llama();
    zero.kv_u32("llama.attention.head_count_kv", 0);
    const std::string pz = write("zero.gguf", zero);
    GgufReader gz(pz);
    EXPECT_EQ(error_of([&] { model_config_from_gguf(gz); }),
              pz + ": metadata key 'llama.attention.head_count_kv' must be positive, got 0");
    GgufBuilder kv = llama();
    kv.kv_u32("llama.attention.head_count_kv", 3);
    const std::string pk = write("kv3.gguf", kv);
    GgufReader gk(pk);
    EXPECT_EQ(error_of([&] { model_config_from_gguf(gk); }),
              pk + ": num_attention_heads 4 is not a multiple of num_key_value_heads 3");
    GgufBuilder linear = llama();
    linear.kv_string("llama.rope.scaling.type", "linear");
    linear.kv_f32("llama.rope.scaling.factor", 4.0f);
    const std::string pl = write("linear.gguf", linear);
    GgufReader gl(pl);
    const ModelConfig c = model_config_from_gguf(gl);
    EXPECT_EQ(c.rope_scaling.type, "linear");
    EXPECT_DOUBLE_EQ(c.rope_scaling.factor, 4.0);
}

TEST_F(GgufMetadataErrors, Vocabulary) {
    GgufBuilder b = llama();
    b.kv_string("tokenizer.ggml.model", "gpt2");
    b.kv_string_array("tokenizer.ggml.tokens", {"a", "b", "c"});
    b.kv_u32("tokenizer.ggml.eos_token_id", 3);
    const std::string p = write("eos.gguf", b);
    GgufReader g(p);
    EXPECT_EQ(error_of([&] { read_gguf_vocab(g); }),
              p + ": metadata key 'tokenizer.ggml.eos_token_id' = 3 is not a token id (vocabulary has 3 tokens)");

    GgufBuilder s = llama();
    s.kv_string("tokenizer.ggml.model", "llama");
    s.kv_string_array("tokenizer.ggml.tokens", {"a", "b", "c"});
    std::string scores;
    GgufBuilder::put<uint32_t>(scores, 6);
    GgufBuilder::put<uint64_t>(scores, 2);
    GgufBuilder::put<float>(scores, 0.5f);
    GgufBuilder::put<float>(scores, -1.0f);
    s.kv_raw("tokenizer.ggml.scores", 9, scores);
    const std::string ps = write("scores.gguf", s);
    GgufReader gs(ps);
    EXPECT_EQ(error_of([&] { read_gguf_vocab(gs); }), ps + ": tokenizer.ggml.scores has 2 entries but there are 3 tokens");

    GgufBuilder t = llama();
    t.kv_string("tokenizer.ggml.model", "gpt2");
    t.kv_string("tokenizer.ggml.tokens", "not an array");
    const std::string pt = write("tokens.gguf", t);
    GgufReader gt(pt);
    EXPECT_EQ(error_of([&] { read_gguf_vocab(gt); }),
              pt + ": metadata key 'tokenizer.ggml.tokens' is STRING, expected ARRAY of STRING");
}

}  // namespace
}  // namespace awq
