#pragma once
// A small random Llama shared by the decode tests (cuda_graph_decode_test, decode_kernels_test): grouped-query
// attention, q/k/v/o biases, head_dim 64, every size a multiple of 64 so the 4-bit kernels accept each linear.
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "core/model_config.h"
#include "model/llama_model.h"
#include "quant/awq_linear.h"
#include "quant/pseudo_quantize.h"

namespace awq {
namespace {

// Small Llama with grouped-query attention (4 query heads over 2 KV heads) and q/k/v/o biases, so every
// branch of the attention runs. Dimensions are multiples of 64 so the 4-bit kernels accept every linear.
ModelConfig tiny_config() {
    nlohmann::json j = {{"architectures", {"LlamaForCausalLM"}}, {"model_type", "llama"}, {"vocab_size", 640},
                        {"hidden_size", 256}, {"intermediate_size", 512}, {"num_hidden_layers", 3},
                        {"num_attention_heads", 4}, {"num_key_value_heads", 2}, {"max_position_embeddings", 512},
                        {"rms_norm_eps", 1e-5}, {"rope_theta", 10000.0}, {"tie_word_embeddings", false},
                        {"attention_bias", true}};
    return ModelConfig::from_json(j, "tiny_llama_test_support");
}

// Seeded random weights made on the CPU (identical for every device and dtype), scaled like a trained model's
// so that activations stay O(1) through the blocks.
std::unique_ptr<LlamaModel> tiny_model(const std::string& device, const std::string& dtype) {
    const ModelConfig cfg = tiny_config();
    at::manual_seed(1234);
    TensorSource src = [&](const std::string& name) -> at::Tensor {
        auto has = [&](const char* s) { return name.find(s) != std::string::npos; };
        const int64_t h = cfg.hidden_size, kv = cfg.num_key_value_heads * cfg.head_dim, f = cfg.intermediate_size;
        if (has("norm")) return 1.0 + 0.1 * at::randn({h});
        if (has(".bias")) return 0.1 * at::randn({has("k_proj") || has("v_proj") ? kv : h});
        std::vector<int64_t> s;
        if (name == "model.embed_tokens.weight" || name == "lm_head.weight") s = {cfg.vocab_size, h};
        else if (has("q_proj") || has("o_proj")) s = {h, h};
        else if (has("k_proj") || has("v_proj")) s = {kv, h};
        else if (has("gate_proj") || has("up_proj")) s = {f, h};
        else if (has("down_proj")) s = {h, f};
        else return at::Tensor();
        return at::randn(s) / std::sqrt((double)s[1]) * (has("embed") ? std::sqrt((double)s[1]) : 1.0);
    };
    ModelOptions opt;
    opt.device = device;
    opt.dtype = dtype;
    return std::make_unique<LlamaModel>(cfg, src, opt);
}

std::vector<std::vector<int32_t>> prompts(int64_t batch, int64_t len) {
    std::vector<std::vector<int32_t>> p(batch, std::vector<int32_t>(len));
    for (int64_t b = 0; b < batch; ++b)
        for (int64_t i = 0; i < len; ++i) p[b][i] = (int32_t)((i * 131 + b * 977 + 5) % 640);
    return p;
}

at::Tensor ids_tensor(const std::vector<std::vector<int32_t>>& rows) {
    at::Tensor t = at::empty({(int64_t)rows.size(), (int64_t)rows[0].size()}, at::kLong);
    for (size_t b = 0; b < rows.size(); ++b)
        for (size_t i = 0; i < rows[b].size(); ++i) t[b][i] = rows[b][i];
    return t;
}

// Every block linear replaced by its round-to-nearest 4-bit form (group 64, zero points) in `layout`.
void quantize_linears(LlamaModel& model, AwqLayout layout) {
    QuantSpec spec;
    spec.group = 64;
    for (int64_t i = 0; i < model.num_blocks(); ++i)
        for (int s = 0; s < kNumLinearSlots; ++s) {
            auto slot = (LinearSlot)s;
            const Linear& dense = model.block(i).linear(slot);
            QuantizedWeight q = quantize_weight(dense.dense_weight().to(at::kCPU, at::kFloat), spec,
                                                dense.bias().defined() ? dense.bias().to(at::kCPU) : at::Tensor());
            model.block(i).set_linear(slot, std::make_unique<AwqLinear>(q, layout, model.dtype(), model.device(),
                                                                        linear_slot_name(slot)));
        }
}

}  // namespace
}  // namespace awq
