#include "convert/gguf_hf_tensors.h"

#include <optional>
#include <set>

#include "convert/gguf_tensor_names.h"
#include "convert/rope_permutation.h"
#include "core/error.h"
#include "io/gguf_dequant.h"
#include "io/gguf_model_config.h"

namespace awq {

namespace {

std::string shape_text(const std::vector<int64_t>& s) {
    std::string t = "[";
    for (size_t i = 0; i < s.size(); ++i) t += (i ? ", " : "") + std::to_string(s[i]);
    return t + "]";
}

// The shape Hugging Face expects for a parameter under `c`; empty when the name is not a known parameter.
std::vector<int64_t> expected_shape(const std::string& hf, const ModelConfig& c) {
    const int64_t h = c.hidden_size, q = c.num_attention_heads * c.head_dim, kv = c.num_key_value_heads * c.head_dim;
    const bool bias = hf.size() > 5 && hf.compare(hf.size() - 5, 5, ".bias") == 0;
    auto has = [&](const char* s) { return hf.find(s) != std::string::npos; };
    if (hf == "model.embed_tokens.weight" || hf == "lm_head.weight") return {c.vocab_size, h};
    if (hf == "model.norm.weight" || has(".input_layernorm.weight") || has(".post_attention_layernorm.weight")) return {h};
    if (has(".self_attn.q_proj.")) return bias ? std::vector<int64_t>{q} : std::vector<int64_t>{q, h};
    if (has(".self_attn.k_proj.") || has(".self_attn.v_proj.")) return bias ? std::vector<int64_t>{kv} : std::vector<int64_t>{kv, h};
    if (has(".self_attn.o_proj.")) return bias ? std::vector<int64_t>{h} : std::vector<int64_t>{h, q};
    if (has(".mlp.gate_proj.") || has(".mlp.up_proj."))
        return bias ? std::vector<int64_t>{c.intermediate_size} : std::vector<int64_t>{c.intermediate_size, h};
    if (has(".mlp.down_proj.")) return bias ? std::vector<int64_t>{h} : std::vector<int64_t>{h, c.intermediate_size};
    return {};
}

std::set<std::string> required_tensors(const ModelConfig& c) {
    std::set<std::string> r{"model.embed_tokens.weight", "model.norm.weight"};
    if (!c.tie_word_embeddings) r.insert("lm_head.weight");
    for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
        const std::string p = "model.layers." + std::to_string(l) + ".";
        for (const char* s : {"self_attn.q_proj.weight", "self_attn.k_proj.weight", "self_attn.v_proj.weight",
                              "self_attn.o_proj.weight", "mlp.gate_proj.weight", "mlp.up_proj.weight",
                              "mlp.down_proj.weight", "input_layernorm.weight", "post_attention_layernorm.weight"})
            r.insert(p + s);
        if (c.attention_bias)
            for (const char* s : {"self_attn.q_proj.bias", "self_attn.k_proj.bias", "self_attn.v_proj.bias"}) r.insert(p + s);
        if (c.o_proj_bias) r.insert(p + "self_attn.o_proj.bias");
        if (c.mlp_bias)
            for (const char* s : {"mlp.gate_proj.bias", "mlp.up_proj.bias", "mlp.down_proj.bias"}) r.insert(p + s);
    }
    return r;
}

int64_t layer_of(const std::string& hf) {
    const std::string p = "model.layers.";
    if (hf.rfind(p, 0) != 0) return -1;
    return std::stoll(hf.substr(p.size(), hf.find('.', p.size()) - p.size()));
}

}  // namespace

std::vector<GgufHfTensor> plan_gguf_hf_tensors(const GgufReader& g, const ModelConfig& c) {
    // llama.cpp permutes q/k only for its "llama" architecture (interleaved rotary pairs); qwen2 uses the
    // NeoX rotary layout, which matches Hugging Face as stored.
    const bool llama_permuted = gguf_architecture(g) == "llama";
    std::vector<GgufHfTensor> out;
    std::set<std::string> seen;
    for (const GgufTensorInfo& t : g.tensors()) {
        if (t.name == "rope_freqs.weight") continue;  // carried by config.json's rope_scaling
        std::optional<std::string> hf = hf_tensor_name(t.name);
        if (!hf) throw Error(g.path(), "tensor '" + t.name + "' has no Hugging Face counterpart; cannot convert");
        if (!can_dequantize(t.type))
            throw Error(g.path(), "tensor '" + t.name + "' has type " + ggml_type_name(t.type) +
                                      ", which cannot be dequantized (supported: " + dequantizable_type_names() + ")");
        const int64_t layer = layer_of(*hf);
        if (layer >= c.num_hidden_layers)
            throw Error(g.path(), "tensor '" + t.name + "' belongs to layer " + std::to_string(layer) + " but the model has " +
                                      std::to_string(c.num_hidden_layers) + " layers");
        const std::vector<int64_t> want = expected_shape(*hf, c);
        if (want != t.shape)
            throw Error(g.path(), "tensor '" + t.name + "' has shape " + shape_text(t.shape) + ", expected " +
                                      shape_text(want) + " from the model metadata");
        GgufHfTensor p{&t, *hf, 0};
        if (llama_permuted) {
            if (hf->find(".self_attn.q_proj.") != std::string::npos) p.rope_heads = c.num_attention_heads;
            if (hf->find(".self_attn.k_proj.") != std::string::npos) p.rope_heads = c.num_key_value_heads;
        }
        seen.insert(*hf);
        out.push_back(std::move(p));
    }
    const std::set<std::string> required = required_tensors(c);
    for (const std::string& r : required)
        if (!seen.count(r)) throw Error(g.path(), "missing tensor for '" + r + "'");
    for (const std::string& s : seen)
        if (!required.count(s))
            throw Error(g.path(), "tensor for '" + s + "' is not used by the model the metadata describes");
    return out;
}

void read_gguf_hf_tensor(const GgufReader& g, const GgufHfTensor& t, float* out, size_t numel) {
    g.dequantize(*t.gguf, out, numel);
    if (t.rope_heads > 0) {
        const int64_t rows = t.gguf->shape[0];
        unpermute_rope_rows(out, rows, static_cast<int64_t>(numel) / rows, t.rope_heads);
    }
}

}  // namespace awq
