// GGUF -> Hugging Face conversion. Tiny models written by make_gguf_golden.py the way llama.cpp writes
// them (q/k permuted for llama, biases and no permutation for qwen2) must convert back to the known
// Hugging Face tensors; the default model must match the gguf package (and llama.cpp's logits, through
// check_gguf_conversion.py); errors and cancels leave no folder behind.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>

#include "convert/gguf_tensor_names.h"
#include "convert/gguf_to_hf.h"
#include "core/half.h"
#include "core/model_config.h"
#include "gguf_test_support.h"
#include "io/safetensors_reader.h"

namespace awq {
namespace {

using test::error_of;
namespace fs = std::filesystem;

bool only_entry_is(const fs::path& dir, const std::string& name) {
    int n = 0;
    for (const auto& e : fs::directory_iterator(dir)) {
        ++n;
        if (e.path().filename() != name) return false;
    }
    return n == 1;
}

uint32_t bits_of(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
}

// Converts tiny_<arch>.gguf at `dtype` and compares every tensor with the expected Hugging Face tensors.
void expect_tiny_conversion(const std::string& arch, const std::string& dtype) {
    const fs::path dir = test::gguf_scratch_dir();
    const fs::path out = dir / "hf";
    convert_gguf_to_hf((test::gguf_data_dir() / ("tiny_" + arch + ".gguf")).string(), out.string(), dtype);
    EXPECT_TRUE(only_entry_is(dir, "hf")) << "temporary folders left behind";
    for (const char* f : {"model.safetensors", "config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json"})
        EXPECT_TRUE(fs::exists(out / f)) << f;

    SafetensorsReader expected((test::gguf_data_dir() / ("tiny_" + arch + ".expected.safetensors")).string());
    SafetensorsReader got((out / "model.safetensors").string());
    EXPECT_EQ(got.metadata().at("format"), "pt");
    ASSERT_EQ(got.tensors().size(), expected.tensors().size());
    const DType want_dtype = dtype == "float32" ? DType::F32 : dtype == "float16" ? DType::F16 : DType::BF16;
    for (const TensorView& e : expected.tensors()) {
        SCOPED_TRACE(e.name);
        const TensorView* g = got.find(e.name);
        ASSERT_NE(g, nullptr);
        EXPECT_EQ(g->shape, e.shape);
        EXPECT_EQ(g->dtype, want_dtype);
        const std::vector<float> ev = to_float(e), gv = to_float(*g);
        ASSERT_EQ(ev.size(), gv.size());
        size_t differ = 0;
        for (size_t i = 0; i < ev.size(); ++i) {
            // float16 / bfloat16 output is the round-to-nearest-even of the exact float32 result
            const float want = dtype == "float32" ? ev[i]
                               : dtype == "float16" ? fp16_to_float(float_to_fp16(ev[i]))
                                                    : bf16_to_float(float_to_bf16(ev[i]));
            differ += bits_of(want) != bits_of(gv[i]);
        }
        EXPECT_EQ(differ, 0u);
    }

    const ModelConfig c = ModelConfig::from_file((out / "config.json").string());
    EXPECT_EQ(c.architecture, arch == "llama" ? "LlamaForCausalLM" : "Qwen2ForCausalLM");
    EXPECT_EQ(c.torch_dtype, dtype);
    EXPECT_EQ(c.num_hidden_layers, 2);
    EXPECT_EQ(c.num_attention_heads, 2);
    EXPECT_EQ(c.num_key_value_heads, 1);
    EXPECT_EQ(c.tie_word_embeddings, arch == "qwen2");
    EXPECT_EQ(c.attention_bias, arch == "qwen2");
    EXPECT_DOUBLE_EQ(c.rope_theta, 50000.0);
    EXPECT_EQ(c.max_position_embeddings, 256);
    const nlohmann::json gen = test::read_json_file(out / "generation_config.json");
    EXPECT_EQ(gen["bos_token_id"], 1);
    EXPECT_EQ(gen["eos_token_id"], 2);
}

TEST(GgufToHf, TinyLlamaFloat32IsExact) { expect_tiny_conversion("llama", "float32"); }
TEST(GgufToHf, TinyLlamaFloat16) { expect_tiny_conversion("llama", "float16"); }
TEST(GgufToHf, TinyLlamaBfloat16) { expect_tiny_conversion("llama", "bfloat16"); }
TEST(GgufToHf, TinyQwen2Float32IsExact) { expect_tiny_conversion("qwen2", "float32"); }

TEST(GgufToHf, TensorNames) {
    EXPECT_EQ(hf_tensor_name("token_embd.weight"), "model.embed_tokens.weight");
    EXPECT_EQ(hf_tensor_name("output_norm.weight"), "model.norm.weight");
    EXPECT_EQ(hf_tensor_name("output.weight"), "lm_head.weight");
    EXPECT_EQ(hf_tensor_name("blk.12.attn_q.weight"), "model.layers.12.self_attn.q_proj.weight");
    EXPECT_EQ(hf_tensor_name("blk.0.attn_k.bias"), "model.layers.0.self_attn.k_proj.bias");
    EXPECT_EQ(hf_tensor_name("blk.3.attn_v.weight"), "model.layers.3.self_attn.v_proj.weight");
    EXPECT_EQ(hf_tensor_name("blk.3.attn_output.weight"), "model.layers.3.self_attn.o_proj.weight");
    EXPECT_EQ(hf_tensor_name("blk.7.ffn_gate.weight"), "model.layers.7.mlp.gate_proj.weight");
    EXPECT_EQ(hf_tensor_name("blk.7.ffn_up.weight"), "model.layers.7.mlp.up_proj.weight");
    EXPECT_EQ(hf_tensor_name("blk.7.ffn_down.weight"), "model.layers.7.mlp.down_proj.weight");
    EXPECT_EQ(hf_tensor_name("blk.29.attn_norm.weight"), "model.layers.29.input_layernorm.weight");
    EXPECT_EQ(hf_tensor_name("blk.29.ffn_norm.weight"), "model.layers.29.post_attention_layernorm.weight");
    EXPECT_EQ(hf_tensor_name("rope_freqs.weight"), std::nullopt);
    EXPECT_EQ(hf_tensor_name("blk.x.attn_q.weight"), std::nullopt);
    EXPECT_EQ(hf_tensor_name("blk.01.attn_q.weight"), std::nullopt);
    EXPECT_EQ(hf_tensor_name("blk.1.attn_q"), std::nullopt);
}

// ---- errors leave nothing behind ----------------------------------------------------------------------

class GgufToHfErrors : public ::testing::Test {
protected:
    void SetUp() override { dir_ = test::gguf_scratch_dir(); }
    // A copy of tiny_llama.gguf rebuilt with one change, via the builder (metadata subset + F32 tensors).
    std::string tiny_llama() const { return (test::gguf_data_dir() / "tiny_llama.gguf").string(); }
    void expect_nothing_written() const {
        for (const auto& e : fs::directory_iterator(dir_))
            EXPECT_EQ(e.path().extension(), ".gguf") << "left behind: " << e.path();
    }
    fs::path dir_;
};

TEST_F(GgufToHfErrors, UnsupportedArchitecture) {
    test::GgufBuilder b;
    b.kv_string("general.architecture", "gpt2");
    b.tensor("token_embd.weight", {4, 32}, 0, 0);
    b.data.assign(512, '\0');
    const std::string p = b.write(dir_ / "gpt2.gguf");
    EXPECT_EQ(error_of([&] { convert_gguf_to_hf(p, (dir_ / "out").string(), "float16"); }),
              p + ": unsupported architecture 'gpt2' (supported: llama, qwen2)");
    expect_nothing_written();
}

TEST_F(GgufToHfErrors, MissingMetadataAndBadDtype) {
    test::GgufBuilder b;
    b.kv_string("general.architecture", "llama");
    b.kv_u32("llama.block_count", 1);
    const std::string p = b.write(dir_ / "nometa.gguf");
    EXPECT_EQ(error_of([&] { convert_gguf_to_hf(p, (dir_ / "out").string(), "float16"); }),
              p + ": missing metadata key 'llama.embedding_length'");
    EXPECT_EQ(error_of([&] { convert_gguf_to_hf(tiny_llama(), (dir_ / "out").string(), "int8"); }),
              "dtype: unsupported dtype 'int8' (supported: float16, bfloat16, float32)");
    expect_nothing_written();
}

TEST_F(GgufToHfErrors, ExistingOutputFolderIsNotTouched) {
    fs::create_directories(dir_ / "out");
    test::write_file_bytes(dir_ / "out" / "keep.txt", "mine");
    EXPECT_EQ(error_of([&] { convert_gguf_to_hf(tiny_llama(), (dir_ / "out").string(), "float16"); }),
              (dir_ / "out").string() + ": output folder already exists and is not empty");
    EXPECT_EQ(test::read_file_bytes(dir_ / "out" / "keep.txt"), "mine");
    EXPECT_TRUE(only_entry_is(dir_, "out"));
    // An existing empty folder is fine: it is replaced.
    fs::create_directories(dir_ / "empty");
    convert_gguf_to_hf(tiny_llama(), (dir_ / "empty").string(), "float16");
    EXPECT_TRUE(fs::exists(dir_ / "empty" / "model.safetensors"));
}

TEST_F(GgufToHfErrors, CancelLeavesNothing) {
    std::atomic<bool> cancel{false};
    Progress progress;
    progress.cancel = &cancel;
    int reports = 0;
    progress.on_progress = [&](const ProgressEvent& e) {
        if (e.phase == "write model.safetensors" && ++reports == 5) cancel = true;
    };
    EXPECT_THROW(convert_gguf_to_hf(tiny_llama(), (dir_ / "out").string(), "float16", progress), Cancelled);
    EXPECT_EQ(reports, 5);
    EXPECT_TRUE(fs::is_empty(dir_));
}

TEST_F(GgufToHfErrors, TensorProblemsAreFoundBeforeWriting) {
    auto base = [] {
        test::GgufBuilder b;
        b.kv_string("general.architecture", "llama");
        b.kv_u32("llama.block_count", 1);
        b.kv_u32("llama.embedding_length", 32);
        b.kv_u32("llama.feed_forward_length", 64);
        b.kv_u32("llama.attention.head_count", 2);
        b.kv_f32("llama.attention.layer_norm_rms_epsilon", 1e-6f);
        b.kv_string("tokenizer.ggml.model", "gpt2");
        b.kv_string_array("tokenizer.ggml.tokens", {"a", "b", "c", "d"});
        return b;
    };
    {
        test::GgufBuilder b = base();
        b.tensor("token_embd.weight", {4, 32}, 0, 0);
        b.tensor("mystery.weight", {32}, 0, 512);
        b.data.assign(640, '\0');
        const std::string p = b.write(dir_ / "unknown.gguf");
        EXPECT_EQ(error_of([&] { convert_gguf_to_hf(p, (dir_ / "out").string(), "float16"); }),
                  p + ": tensor 'mystery.weight' has no Hugging Face counterpart; cannot convert");
    }
    {
        test::GgufBuilder b = base();
        b.tensor("token_embd.weight", {5, 32}, 0, 0);
        b.data.assign(640, '\0');
        const std::string p = b.write(dir_ / "shape.gguf");
        EXPECT_EQ(error_of([&] { convert_gguf_to_hf(p, (dir_ / "out").string(), "float16"); }),
                  p + ": tensor 'token_embd.weight' has shape [5, 32], expected [4, 32] from the model metadata");
    }
    {
        test::GgufBuilder b = base();
        b.tensor("token_embd.weight", {4, 32}, 0, 0);
        b.data.assign(512, '\0');
        const std::string p = b.write(dir_ / "missing.gguf");
        EXPECT_HAS(error_of([&] { convert_gguf_to_hf(p, (dir_ / "out").string(), "float16"); }),
                   p + ": missing tensor for 'model.");
    }
    {
        test::GgufBuilder b = base();
        b.tensor("token_embd.weight", {4, 256}, 13, 0);  // Q5_K: readable, not convertible
        b.data.assign(1024, '\0');
        const std::string p = b.write(dir_ / "q5k.gguf");
        EXPECT_HAS(error_of([&] { convert_gguf_to_hf(p, (dir_ / "out").string(), "float16"); }),
                   p + ": tensor 'token_embd.weight' has type Q5_K, which cannot be dequantized");
    }
    expect_nothing_written();
}

// ---- the default model -----------------------------------------------------------------------------

TEST(GgufToHfDefaultModel, ConvertsAndMatchesReference) {
    if (!fs::exists(test::default_gguf()))
        GTEST_SKIP() << "default model " << test::default_gguf() << " absent (run scripts/setup.sh)";
    const nlohmann::json ref = test::read_json_file(test::gguf_data_dir() / "smollm2_reference.json");
    const fs::path dir = test::gguf_scratch_dir();
    const fs::path out = dir / "SmolLM2-135M-Instruct";
    int64_t last_done = -1, total = 0;
    Progress progress;
    progress.on_progress = [&](const ProgressEvent& e) {
        if (e.phase == "write model.safetensors") last_done = e.done, total = e.total;
    };
    convert_gguf_to_hf(test::default_gguf().string(), out.string(), "float16", progress);
    EXPECT_EQ(total, 272);
    EXPECT_EQ(last_done, 272);
    EXPECT_TRUE(only_entry_is(dir, "SmolLM2-135M-Instruct"));

    const ModelConfig c = ModelConfig::from_file((out / "config.json").string());
    EXPECT_EQ(c.num_hidden_layers, ref["metadata"]["llama.block_count"].get<int64_t>());
    EXPECT_EQ(c.torch_dtype, "float16");
    EXPECT_TRUE(c.tie_word_embeddings);

    SafetensorsReader st((out / "model.safetensors").string());
    ASSERT_EQ(st.tensors().size(), ref["tensors"].size());
    EXPECT_FALSE(st.contains("lm_head.weight"));
    for (const auto& rt : ref["tensors"]) {
        const std::string name = rt["hf_name"];
        SCOPED_TRACE(name);
        const TensorView* t = st.find(name);
        ASSERT_NE(t, nullptr);
        EXPECT_EQ(t->dtype, DType::F16);
        EXPECT_EQ(t->shape, rt["shape"].get<std::vector<int64_t>>());
        for (const auto& s : rt["samples"]) {
            uint16_t h;
            std::memcpy(&h, t->data + 2 * s["index"].get<size_t>(), 2);
            EXPECT_EQ(h, s["f16_bits"].get<uint16_t>()) << "at " << s["index"];  // numpy's astype(float16)
        }
    }

    if (!test::python_available()) GTEST_SKIP() << "no Python at " << test::python() << ": skipping the full check";
    // Every tensor bit for bit against the gguf package, and logits against llama.cpp itself.
    const std::string cmd = test::python() + " " + (test::source_dir() / "tests/reference/check_gguf_conversion.py").string() +
                            " " + test::default_gguf().string() + " " + out.string() + " --logits";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
}

}  // namespace
}  // namespace awq
