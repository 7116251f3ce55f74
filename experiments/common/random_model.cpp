#include "random_model.h"

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace awq::bench {

ModelConfig shape_config(const std::string& name) {
    nlohmann::json j;
    if (name == "llama2-7b") {
        j = {{"architectures", {"LlamaForCausalLM"}}, {"model_type", "llama"}, {"vocab_size", 32000},
             {"hidden_size", 4096}, {"intermediate_size", 11008}, {"num_hidden_layers", 32},
             {"num_attention_heads", 32}, {"num_key_value_heads", 32}, {"max_position_embeddings", 4096},
             {"rms_norm_eps", 1e-5}, {"rope_theta", 10000.0}, {"tie_word_embeddings", false}};
    } else if (name == "smollm2-135m") {
        j = {{"architectures", {"LlamaForCausalLM"}}, {"model_type", "llama"}, {"vocab_size", 49152},
             {"hidden_size", 576}, {"intermediate_size", 1536}, {"num_hidden_layers", 30},
             {"num_attention_heads", 9}, {"num_key_value_heads", 3}, {"max_position_embeddings", 8192},
             {"rms_norm_eps", 1e-5}, {"rope_theta", 100000.0}, {"tie_word_embeddings", true}};
    } else {
        throw Error("--shape", "unknown shape '" + name + "' (llama2-7b, smollm2-135m)");
    }
    return ModelConfig::from_json(j, "--shape " + name);
}

std::unique_ptr<LlamaModel> random_model(const std::string& shape, const ModelOptions& opt) {
    const ModelConfig cfg = shape_config(shape);
    const at::Device dev = opt.offload ? at::Device(at::kCPU) : parse_compute_device(opt.device);
    const at::ScalarType dt = parse_compute_dtype(opt.dtype);
    const int64_t h = cfg.hidden_size, kv = cfg.num_key_value_heads * cfg.head_dim;
    TensorSource src = [&](const std::string& name) -> at::Tensor {
        auto opts = at::TensorOptions().device(dev).dtype(dt);
        auto has = [&](const char* s) { return name.find(s) != std::string::npos; };
        std::vector<int64_t> s;
        if (has("norm")) return at::ones({h}, opts);
        if (name == "model.embed_tokens.weight" || name == "lm_head.weight") s = {cfg.vocab_size, h};
        else if (has("q_proj") || has("o_proj")) s = {h, h};
        else if (has("k_proj") || has("v_proj")) s = {kv, h};
        else if (has("gate_proj") || has("up_proj")) s = {cfg.intermediate_size, h};
        else if (has("down_proj")) s = {h, cfg.intermediate_size};
        else return at::Tensor();
        return at::randn(s, opts) * 0.02;
    };
    return std::make_unique<LlamaModel>(cfg, src, opt);
}

}  // namespace awq::bench
