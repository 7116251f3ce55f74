#include "io/gguf_model_config.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "core/error.h"

namespace awq {

namespace {

struct ArchMapping {
    const char* gguf;          // general.architecture
    const char* hf;            // config.json "architectures"
    bool attention_bias_always;  // Qwen2 has q/k/v biases whatever the metadata says
};

constexpr ArchMapping kArchitectures[] = {
    {"llama", "LlamaForCausalLM", false},
    {"qwen2", "Qwen2ForCausalLM", true},
};

const ArchMapping& arch_mapping(const GgufReader& g) {
    const std::string arch = g.get_string("general.architecture");
    for (const ArchMapping& a : kArchitectures)
        if (arch == a.gguf) return a;
    throw Error(g.path(), "unsupported architecture '" + arch + "' (supported: llama, qwen2)");
}

int64_t positive(const GgufReader& g, const std::string& key) {
    const int64_t v = g.get_int(key);
    if (v <= 0) throw Error(g.path(), "metadata key '" + key + "' must be positive, got " + std::to_string(v));
    return v;
}

// llama.cpp stores Llama 3.1-style rope scaling not as parameters but as a per-frequency divisor table
// (rope_freqs.weight). The parameters are recovered by recomputing that table for the published Llama 3
// settings and accepting them only if every entry matches; anything else is refused rather than guessed.
RopeScaling llama3_scaling_from_rope_freqs(const GgufReader& g, const GgufTensorInfo& t, double theta, int64_t head_dim) {
    const std::vector<float> table = g.dequantize(t);
    if (static_cast<int64_t>(table.size()) != head_dim / 2)
        throw Error(g.path(), "rope_freqs.weight has " + std::to_string(table.size()) + " entries, expected " +
                                  std::to_string(head_dim / 2));
    RopeScaling rs;
    rs.type = "llama3";
    rs.factor = *std::max_element(table.begin(), table.end());
    rs.low_freq_factor = 1.0;
    rs.high_freq_factor = 4.0;
    rs.original_max_position_embeddings = 8192;
    const double low_wavelen = rs.original_max_position_embeddings / rs.low_freq_factor;
    const double high_wavelen = rs.original_max_position_embeddings / rs.high_freq_factor;
    for (int64_t i = 0; i < head_dim / 2; ++i) {
        const double freq = 1.0 / std::pow(theta, 2.0 * static_cast<double>(i) / static_cast<double>(head_dim));
        const double wavelen = 2.0 * std::numbers::pi / freq;
        double expect;
        if (wavelen < high_wavelen) expect = 1.0;
        else if (wavelen > low_wavelen) expect = rs.factor;
        else {
            const double smooth = (rs.original_max_position_embeddings / wavelen - rs.low_freq_factor) /
                                  (rs.high_freq_factor - rs.low_freq_factor);
            expect = 1.0 / ((1.0 - smooth) / rs.factor + smooth);
        }
        if (std::abs(expect - table[i]) > 1e-4 * std::max(1.0, expect))
            throw Error(g.path(), "rope_freqs.weight does not match Llama 3 rope scaling (factor " +
                                      std::to_string(rs.factor) + ", low 1, high 4, original context 8192); "
                                      "this rope scaling is not supported");
    }
    return rs;
}

}  // namespace

std::string gguf_architecture(const GgufReader& g) { return arch_mapping(g).gguf; }

ModelConfig model_config_from_gguf(const GgufReader& g) {
    const ArchMapping& a = arch_mapping(g);
    const std::string p = std::string(a.gguf) + ".";
    nlohmann::json j;
    j["architectures"] = {a.hf};
    j["model_type"] = a.gguf;
    j["hidden_act"] = "silu";
    const int64_t hidden = positive(g, p + "embedding_length");
    const int64_t heads = positive(g, p + "attention.head_count");
    j["hidden_size"] = hidden;
    j["intermediate_size"] = positive(g, p + "feed_forward_length");
    j["num_hidden_layers"] = positive(g, p + "block_count");
    j["num_attention_heads"] = heads;
    j["num_key_value_heads"] = g.has(p + "attention.head_count_kv") ? positive(g, p + "attention.head_count_kv") : heads;
    int64_t head_dim = hidden / heads;
    if (g.has(p + "attention.key_length")) {
        head_dim = positive(g, p + "attention.key_length");
        j["head_dim"] = head_dim;
        if (g.has(p + "attention.value_length") && g.get_int(p + "attention.value_length") != head_dim)
            throw Error(g.path(), "attention.key_length and attention.value_length differ; not supported");
    }
    if (g.has(p + "rope.dimension_count") && g.get_int(p + "rope.dimension_count") != head_dim)
        throw Error(g.path(), "partial rotary embedding (" + p + "rope.dimension_count " +
                                  std::to_string(g.get_int(p + "rope.dimension_count")) + " != head dim " +
                                  std::to_string(head_dim) + ") is not supported");

    int64_t vocab = 0;
    if (g.has(p + "vocab_size")) vocab = positive(g, p + "vocab_size");
    else if (const GgufValue* toks = g.find("tokenizer.ggml.tokens"); toks && toks->type == GgufValueType::ARRAY)
        vocab = static_cast<int64_t>(toks->array.size());
    else if (const GgufTensorInfo* e = g.find_tensor("token_embd.weight"); e && !e->shape.empty())
        vocab = e->shape[0];
    if (vocab <= 0) throw Error(g.path(), "cannot tell the vocabulary size (no " + p + "vocab_size, tokens or token_embd.weight)");
    j["vocab_size"] = vocab;

    if (g.has(p + "context_length")) j["max_position_embeddings"] = positive(g, p + "context_length");
    j["rms_norm_eps"] = g.get_float(p + "attention.layer_norm_rms_epsilon");
    const double theta = g.get_float_opt(p + "rope.freq_base").value_or(10000.0);
    j["rope_theta"] = theta;

    const std::string scaling = g.get_string_opt(p + "rope.scaling.type").value_or("none");
    if (scaling == "linear") {
        j["rope_scaling"] = {{"rope_type", "linear"}, {"factor", g.get_float(p + "rope.scaling.factor")}};
    } else if (scaling != "none") {
        throw Error(g.path(), "unsupported rope scaling type '" + scaling + "' (supported: none, linear, llama3)");
    }
    if (const GgufTensorInfo* rf = g.find_tensor("rope_freqs.weight")) {
        if (scaling != "none") throw Error(g.path(), "both " + p + "rope.scaling.type and rope_freqs.weight are present");
        RopeScaling rs = llama3_scaling_from_rope_freqs(g, *rf, theta, head_dim);
        j["rope_scaling"] = {{"rope_type", rs.type},
                             {"factor", rs.factor},
                             {"low_freq_factor", rs.low_freq_factor},
                             {"high_freq_factor", rs.high_freq_factor},
                             {"original_max_position_embeddings", rs.original_max_position_embeddings}};
    }

    j["tie_word_embeddings"] = g.find_tensor("output.weight") == nullptr;
    if (!a.attention_bias_always) j["attention_bias"] = g.find_tensor("blk.0.attn_q.bias") != nullptr;
    j["mlp_bias"] = g.find_tensor("blk.0.ffn_up.bias") != nullptr;

    auto token = [&](const char* key, const char* hf_key) {
        if (auto id = g.get_int_opt(key)) j[hf_key] = *id;
    };
    token("tokenizer.ggml.bos_token_id", "bos_token_id");
    token("tokenizer.ggml.eos_token_id", "eos_token_id");
    token("tokenizer.ggml.padding_token_id", "pad_token_id");
    return ModelConfig::from_json(j, g.path());
}

}  // namespace awq
