// Hugging Face folders saved by transformers (sharded Llama, single-file Qwen2) and an AutoAWQ-layout
// folder, read by CheckpointFolder and compared with what transformers/torch say they contain; then
// broken copies of them.
#include <gtest/gtest.h>

#include <cmath>

#include "core/half.h"
#include "io/checkpoint_folder.h"
#include "io/llama_weight_layout.h"
#include "safetensors_test_support.h"

namespace awq {
namespace {

using namespace awq::test;

const char* kIndex = "model.safetensors.index.json";

void expect_folder_matches_reference(const std::string& name) {
    const nlohmann::json exp = safetensors_expected().at(name);
    const fs::path dir = safetensors_data_dir() / name;
    CheckpointFolder f(dir);

    const nlohmann::json& c = exp["config"];
    EXPECT_EQ(f.config().architecture, c["architecture"].get<std::string>());
    EXPECT_EQ(f.config().vocab_size, c["vocab_size"].get<int64_t>());
    EXPECT_EQ(f.config().hidden_size, c["hidden_size"].get<int64_t>());
    EXPECT_EQ(f.config().intermediate_size, c["intermediate_size"].get<int64_t>());
    EXPECT_EQ(f.config().num_hidden_layers, c["num_hidden_layers"].get<int64_t>());
    EXPECT_EQ(f.config().num_attention_heads, c["num_attention_heads"].get<int64_t>());
    EXPECT_EQ(f.config().num_key_value_heads, c["num_key_value_heads"].get<int64_t>());
    EXPECT_EQ(f.config().tie_word_embeddings, c["tie_word_embeddings"].get<bool>());

    ASSERT_EQ(f.generation().has_value(), exp.contains("generation"));
    if (f.generation()) {
        const GenerationDefaults& g = *f.generation();
        const nlohmann::json& e = exp["generation"];
        auto same_int = [&](const std::optional<int64_t>& got, const char* key) {
            if (e[key].is_null()) EXPECT_FALSE(got.has_value()) << key;
            else EXPECT_EQ(got, std::optional<int64_t>(e[key].get<int64_t>())) << key;
        };
        auto same_num = [&](const std::optional<double>& got, const char* key) {
            if (e[key].is_null()) EXPECT_FALSE(got.has_value()) << key;
            else EXPECT_EQ(got, std::optional<double>(e[key].get<double>())) << key;
        };
        same_int(g.bos_token_id, "bos_token_id");
        same_int(g.pad_token_id, "pad_token_id");
        same_int(g.top_k, "top_k");
        same_int(g.max_new_tokens, "max_new_tokens");
        same_num(g.temperature, "temperature");
        same_num(g.top_p, "top_p");
        same_num(g.repetition_penalty, "repetition_penalty");
        EXPECT_EQ(g.eos_token_ids, e["eos_token_ids"].get<std::vector<int64_t>>());
        if (e["do_sample"].is_null()) EXPECT_FALSE(g.do_sample.has_value());
        else EXPECT_EQ(g.do_sample, std::optional<bool>(e["do_sample"].get<bool>()));
    }

    EXPECT_EQ(f.tensor_count(), exp["tensors"].size());
    for (auto it = exp["tensors"].begin(); it != exp["tensors"].end(); ++it) {
        SCOPED_TRACE(name + ": " + it.key());
        const nlohmann::json& e = it.value();
        const TensorView& t = f.tensor(it.key());
        EXPECT_EQ(t.file, (dir / e["shard"].get<std::string>()).string());
        EXPECT_STREQ(dtype_name(t.dtype), e["dtype"].get<std::string>().c_str());
        EXPECT_EQ(t.shape, e["shape"].get<std::vector<int64_t>>());
        EXPECT_EQ(fnv1a64_hex(t.data, t.nbytes), e["fnv1a64"].get<std::string>());
        if (e.contains("f32_bits")) {
            const std::vector<float> v = to_float(t);
            const auto bits = e["f32_bits"].get<std::vector<uint32_t>>();
            ASSERT_EQ(v.size(), bits.size());
            for (size_t i = 0; i < v.size(); ++i) EXPECT_EQ(float_to_bits(v[i]), bits[i]) << "element " << i;
        }
    }
    EXPECT_NO_THROW(validate_llama_weights(f));
}

TEST(CheckpointFolder, ShardedLlamaMatchesTransformers) {
    expect_folder_matches_reference("tiny_llama_sharded");
    const fs::path dir = safetensors_data_dir() / "tiny_llama_sharded";
    CheckpointFolder f(dir);
    EXPECT_TRUE(f.is_sharded());
    EXPECT_EQ(f.shards().size(), 2u);
    EXPECT_EQ(f.weights_source(), (dir / kIndex).string());
    EXPECT_FALSE(f.is_awq());
    // Each shard holds only what the index assigns to it, and the union is the whole model.
    size_t total = 0;
    for (const auto& s : f.shards()) total += s->tensors().size();
    EXPECT_EQ(total, f.tensor_count());
    EXPECT_EQ(error_of([&] { f.tensor("model.layers.7.mlp.up_proj.weight"); }),
              (dir / kIndex).string() + ": no tensor named 'model.layers.7.mlp.up_proj.weight'");
}

TEST(CheckpointFolder, SingleFileQwen2MatchesTransformers) {
    expect_folder_matches_reference("tiny_qwen2");
    const fs::path dir = safetensors_data_dir() / "tiny_qwen2";
    CheckpointFolder f(dir);
    EXPECT_FALSE(f.is_sharded());
    EXPECT_EQ(f.weights_source(), (dir / "model.safetensors").string());
    EXPECT_TRUE(f.config().attention_bias);
    EXPECT_FALSE(f.contains("lm_head.weight"));  // tied: transformers does not save it
    const auto need = expected_llama_tensors(f.config(), nullptr, f.config_path());
    bool has_k_bias = false;
    for (const auto& e : need)
        if (e.name == "model.layers.1.self_attn.k_proj.bias") has_k_bias = e.shape == std::vector<int64_t>{4};
    EXPECT_TRUE(has_k_bias);  // 1 kv head x head_dim 4
}

TEST(CheckpointFolder, AwqFolderIsRecognisedAndValidated) {
    expect_folder_matches_reference("tiny_llama_awq");
    const nlohmann::json exp = safetensors_expected().at("tiny_llama_awq")["awq"];
    CheckpointFolder f(safetensors_data_dir() / "tiny_llama_awq");
    ASSERT_TRUE(f.is_awq());
    const AwqQuantConfig& q = *f.awq();
    EXPECT_EQ(q.bits, exp["bits"].get<int>());
    EXPECT_EQ(q.group_size, exp["group_size"].get<int64_t>());
    EXPECT_EQ(q.zero_point, exp["zero_point"].get<bool>());
    EXPECT_EQ(q.version, exp["version"].get<std::string>());
    EXPECT_EQ(q.modules_to_not_convert, exp["modules_to_not_convert"].get<std::vector<std::string>>());
    EXPECT_TRUE(q.keeps_float("model.layers.0.mlp.down_proj"));
    EXPECT_FALSE(q.keeps_float("model.layers.0.mlp.up_proj"));
    // The packed tensors are handed out as stored: int32 qweight [in, out/8].
    const TensorView& qw = f.tensor("model.layers.0.mlp.up_proj.qweight");
    EXPECT_EQ(qw.dtype, DType::I32);
    EXPECT_EQ(qw.shape, (std::vector<int64_t>{16, 4}));
}

// ---- broken copies ----

class BrokenFolder : public ::testing::Test {
protected:
    void TearDown() override {
        if (!scratch.empty()) fs::remove_all(scratch);
    }
    fs::path copy_of(const std::string& name) {
        scratch = fresh_scratch_dir();
        fs::path dst = scratch / name;
        fs::copy(safetensors_data_dir() / name, dst, fs::copy_options::recursive);
        for (const auto& e : fs::directory_iterator(dst))
            fs::permissions(e.path(), fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::add);
        return dst;
    }
    static std::string open_error(const fs::path& dir) {
        return error_of([&] { CheckpointFolder f(dir); });
    }
    static std::string validate_error(const fs::path& dir) {
        CheckpointFolder f(dir);
        return error_of([&] { validate_llama_weights(f); });
    }
    static std::string shard_of(const fs::path& dir, const std::string& tensor) {
        return nlohmann::json::parse(read_bytes(dir / kIndex))["weight_map"][tensor].get<std::string>();
    }
    fs::path scratch;
};

TEST_F(BrokenFolder, MissingShard) {
    fs::path d = copy_of("tiny_llama_sharded");
    const fs::path shard = d / "model-00002-of-00002.safetensors";
    fs::remove(shard);
    EXPECT_CONTAINS(open_error(d), shard.string() + ": missing shard listed in model.safetensors.index.json for tensor '");
}

TEST_F(BrokenFolder, IndexListsTensorTheShardLacks) {
    fs::path d = copy_of("tiny_llama_sharded");
    edit_json_file(d / kIndex, [](nlohmann::json& j) {
        j["weight_map"]["model.layers.0.mlp.extra.weight"] = "model-00001-of-00002.safetensors";
    });
    EXPECT_EQ(open_error(d), (d / "model-00001-of-00002.safetensors").string() +
                                 ": tensor 'model.layers.0.mlp.extra.weight' listed in model.safetensors.index.json "
                                 "is not in this shard");
}

TEST_F(BrokenFolder, ShardHoldsTensorTheIndexOmits) {
    fs::path d = copy_of("tiny_llama_sharded");
    const std::string shard = shard_of(d, "model.norm.weight");
    edit_json_file(d / kIndex, [](nlohmann::json& j) { j["weight_map"].erase("model.norm.weight"); });
    EXPECT_EQ(open_error(d), (d / shard).string() +
                                 ": tensor 'model.norm.weight' is in this shard but not listed in model.safetensors.index.json");
}

TEST_F(BrokenFolder, IndexAssignsTensorToTheWrongShard) {
    fs::path d = copy_of("tiny_llama_sharded");
    const std::string right = shard_of(d, "model.norm.weight");
    const std::string wrong = right == "model-00001-of-00002.safetensors" ? "model-00002-of-00002.safetensors"
                                                                         : "model-00001-of-00002.safetensors";
    edit_json_file(d / kIndex, [&](nlohmann::json& j) { j["weight_map"]["model.norm.weight"] = wrong; });
    EXPECT_EQ(open_error(d), (d / wrong).string() + ": tensor 'model.norm.weight' listed in "
                                                    "model.safetensors.index.json is not in this shard");
}

TEST_F(BrokenFolder, TensorStoredInTwoShards) {
    fs::path d = copy_of("tiny_llama_sharded");
    const std::string a = "model-00001-of-00002.safetensors", b = "model-00002-of-00002.safetensors";
    ASSERT_EQ(shard_of(d, "model.layers.0.input_layernorm.weight"), a);
    ASSERT_EQ(shard_of(d, "model.norm.weight"), b);
    // Shard a also carries a "model.norm.weight" (same shape as the layer norm it replaces); the index
    // still says shard b, so which copy is meant is ambiguous.
    rewrite_header(d / a, d / a, [](nlohmann::json& h) {
        h["model.norm.weight"] = h["model.layers.0.input_layernorm.weight"];
        h.erase("model.layers.0.input_layernorm.weight");
    });
    edit_json_file(d / kIndex, [](nlohmann::json& j) { j["weight_map"].erase("model.layers.0.input_layernorm.weight"); });
    EXPECT_EQ(open_error(d), (d / a).string() + ": tensor 'model.norm.weight' is in this shard but "
                                                "model.safetensors.index.json assigns it to '" + b + "'");
}

TEST_F(BrokenFolder, ShardNameOutsideFolder) {
    fs::path d = copy_of("tiny_llama_sharded");
    edit_json_file(d / kIndex, [](nlohmann::json& j) { j["weight_map"]["model.norm.weight"] = "../model.safetensors"; });
    EXPECT_EQ(open_error(d), (d / kIndex).string() + ": weight_map puts tensor 'model.norm.weight' in "
                                                     "'../model.safetensors', which is not a file name inside the folder");
    edit_json_file(d / kIndex, [](nlohmann::json& j) { j.erase("weight_map"); });
    EXPECT_EQ(open_error(d), (d / kIndex).string() + ": missing 'weight_map' object");
}

TEST_F(BrokenFolder, NoWeights) {
    fs::path d = copy_of("tiny_qwen2");
    fs::remove(d / "model.safetensors");
    EXPECT_EQ(open_error(d), d.string() + ": no model.safetensors or model.safetensors.index.json");
}

TEST_F(BrokenFolder, ConfigMissingKey) {
    fs::path d = copy_of("tiny_qwen2");
    edit_json_file(d / "config.json", [](nlohmann::json& j) { j.erase("hidden_size"); });
    EXPECT_EQ(open_error(d), (d / "config.json").string() + ": missing key 'hidden_size'");
}

TEST_F(BrokenFolder, UnsupportedArchitecture) {
    fs::path d = copy_of("tiny_qwen2");
    edit_json_file(d / "config.json", [](nlohmann::json& j) { j["architectures"] = {"GPT2LMHeadModel"}; });
    EXPECT_CONTAINS(open_error(d), (d / "config.json").string() + ": unsupported architecture 'GPT2LMHeadModel'");
}

TEST_F(BrokenFolder, WrongShapedWeight) {
    fs::path d = copy_of("tiny_llama_sharded");
    const std::string name = "model.layers.1.mlp.up_proj.weight";
    const fs::path shard = d / shard_of(d, name);
    // Transposed: same byte count, so only the architecture check can notice.
    rewrite_header(shard, shard, [&](nlohmann::json& h) { h[name]["shape"] = {16, 32}; });
    EXPECT_EQ(validate_error(d), shard.string() + ": tensor '" + name + "' has shape [16, 32], expected [32, 16]");
}

TEST_F(BrokenFolder, MissingTensor) {
    fs::path d = copy_of("tiny_qwen2");
    const fs::path file = d / "model.safetensors";
    rewrite_header(file, file, [](nlohmann::json& h) {
        h.erase("model.norm.weight");
        h.erase("model.layers.0.self_attn.q_proj.bias");
    });
    // Reported in architecture order; the count tells there is more to fix.
    EXPECT_EQ(validate_error(d),
              file.string() + ": missing tensor 'model.layers.0.self_attn.q_proj.bias' (and 1 more problems)");
}

TEST_F(BrokenFolder, UntiedModelNeedsLmHead) {
    fs::path d = copy_of("tiny_qwen2");
    edit_json_file(d / "config.json", [](nlohmann::json& j) { j["tie_word_embeddings"] = false; });
    EXPECT_EQ(validate_error(d), (d / "model.safetensors").string() + ": missing tensor 'lm_head.weight'");
}

TEST_F(BrokenFolder, NonFloatWeight) {
    fs::path d = copy_of("tiny_llama_sharded");
    const fs::path shard = d / shard_of(d, "model.norm.weight");
    rewrite_header(shard, shard, [](nlohmann::json& h) { h["model.norm.weight"]["dtype"] = "I32"; });
    EXPECT_EQ(validate_error(d),
              shard.string() + ": tensor 'model.norm.weight' has dtype I32, expected a float dtype (F32, F16, BF16)");
}

TEST_F(BrokenFolder, AwqConfigOnUnquantizedWeights) {
    fs::path d = copy_of("tiny_llama_sharded");
    edit_json_file(d / "config.json", [](nlohmann::json& j) {
        j["quantization_config"] = {{"quant_method", "awq"}, {"bits", 4}, {"group_size", 8}, {"version", "GEMM"}};
    });
    EXPECT_EQ(validate_error(d), (d / kIndex).string() +
                                     ": missing tensor 'model.layers.0.self_attn.q_proj.qweight' (found "
                                     "'model.layers.0.self_attn.q_proj.weight': the folder's config says AWQ but this "
                                     "linear is not quantized) (and 41 more problems)");
}

TEST_F(BrokenFolder, AwqWrongPackedShapeAndDtype) {
    fs::path d = copy_of("tiny_llama_awq");
    const fs::path file = d / "model.safetensors";
    rewrite_header(file, file, [](nlohmann::json& h) {
        h["model.layers.0.mlp.gate_proj.qzeros"]["shape"] = {4, 2};  // [in/group, out/8] is [2, 4]
    });
    EXPECT_EQ(validate_error(d), file.string() +
                                     ": tensor 'model.layers.0.mlp.gate_proj.qzeros' has shape [4, 2], expected [2, 4]");
    rewrite_header(file, file, [](nlohmann::json& h) {
        h["model.layers.0.mlp.gate_proj.qzeros"]["shape"] = {2, 4};
        h["model.layers.0.mlp.gate_proj.qweight"]["dtype"] = "F32";
    });
    EXPECT_EQ(validate_error(d),
              file.string() + ": tensor 'model.layers.0.mlp.gate_proj.qweight' has dtype F32, expected I32");
}

TEST_F(BrokenFolder, AwqUnsupportedSettings) {
    fs::path d = copy_of("tiny_llama_awq");
    const std::string cfg = (d / "config.json").string();
    edit_json_file(cfg, [](nlohmann::json& j) { j["quantization_config"]["version"] = "gemv"; });
    EXPECT_EQ(validate_error(d), cfg + ": 'model.layers.0.self_attn.q_proj': w4 gemv layout: AutoAWQ's gemv layout "
                                       "supports group sizes 32, 64 and >= 128, not 8");
    edit_json_file(cfg, [](nlohmann::json& j) {
        j["quantization_config"]["version"] = "gemm";
        j["quantization_config"]["group_size"] = 5;
    });
    EXPECT_EQ(validate_error(d),
              cfg + ": 'model.layers.0.self_attn.q_proj' has 16 input features, not a multiple of AWQ group_size 5");
    edit_json_file(cfg, [](nlohmann::json& j) { j["quantization_config"]["bits"] = 3; });
    EXPECT_EQ(open_error(d), cfg + ": quantization_config.bits 3 is not supported (AWQ packs 4-bit)");
    edit_json_file(cfg, [](nlohmann::json& j) { j["quantization_config"] = {{"quant_method", "gptq"}, {"bits", 4}}; });
    EXPECT_EQ(open_error(d), cfg + ": quantization method 'gptq' is not supported (only awq)");
}

TEST_F(BrokenFolder, BadGenerationConfig) {
    fs::path d = copy_of("tiny_llama_sharded");
    const std::string gen = (d / "generation_config.json").string();
    edit_json_file(gen, [](nlohmann::json& j) { j["temperature"] = "hot"; });
    EXPECT_EQ(open_error(d), gen + ": key 'temperature' must be a number");
    edit_json_file(gen, [](nlohmann::json& j) { j["temperature"] = 0.5; j["top_p"] = 1.5; });
    EXPECT_EQ(open_error(d), gen + ": key 'top_p' must be in [0, 1], got 1.5");
    edit_json_file(gen, [](nlohmann::json& j) { j["top_p"] = nullptr; j["eos_token_id"] = {2, "x"}; });
    EXPECT_EQ(open_error(d), gen + ": key 'eos_token_id' must be a non-negative integer or a list of them");
    write_bytes(gen, "{not json");
    EXPECT_CONTAINS(open_error(d), gen + ": invalid JSON: ");
}

TEST_F(BrokenFolder, BrokenShardNamesItsFile) {
    fs::path d = copy_of("tiny_llama_sharded");
    const fs::path shard = d / "model-00001-of-00002.safetensors";
    const std::string bytes = read_bytes(shard);
    write_bytes(shard, bytes.substr(0, bytes.size() - 100));
    EXPECT_CONTAINS(open_error(d), shard.string() + ": tensor '");
    EXPECT_CONTAINS(open_error(d), "runs past end of file");
}

}  // namespace
}  // namespace awq
