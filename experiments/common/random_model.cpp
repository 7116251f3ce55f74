#include "random_model.h"

#include <map>
#include <utility>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "quant/awq_linear.h"

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

std::unique_ptr<LlamaModel> random_model(const std::string& shape, const ModelOptions& opt, const LinearFactory& linears) {
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
    return std::make_unique<LlamaModel>(cfg, src, opt, Progress{}, linears);
}

namespace {

// Random bytes with the shape and dtype of `like`, on `device`.
at::Tensor random_bits(const at::Tensor& like, at::Device device) {
    const int64_t bytes = like.numel() * like.element_size();
    at::Tensor b = at::randint(0, 256, {bytes}, at::TensorOptions().device(device).dtype(at::kByte));
    return b.view(like.scalar_type()).view(like.sizes());
}

// fp16 values in [lo, hi] reinterpreted as `like` (fp16, or int32 words holding two fp16 each).
at::Tensor random_fp16_bits(const at::Tensor& like, at::Device device, double lo, double hi) {
    const int64_t bytes = like.numel() * like.element_size();
    at::Tensor h = at::empty({bytes / 2}, at::TensorOptions().device(device).dtype(at::kHalf)).uniform_(lo, hi);
    return h.view(like.scalar_type()).view(like.sizes());
}

}  // namespace

LinearFactory random_awq_linears(const ModelConfig& cfg, AwqLayout layout, int64_t group) {
    // Packed shapes per (out, in); a shared map because LlamaModel copies the factory.
    struct Template {
        PackedW4 packed;   // all q = 1, so a zero word is layout padding (which loaders require to stay zero)
        bool padded = false;
    };
    auto templates = std::make_shared<std::map<std::pair<int64_t, int64_t>, Template>>();
    const int64_t h = cfg.hidden_size, kv = cfg.num_key_value_heads * cfg.head_dim, f = cfg.intermediate_size;
    return [templates, layout, group, h, kv, f](const std::string& name, at::Device device,
                                                at::ScalarType dtype) -> std::unique_ptr<Linear> {
        auto has = [&](const char* s) { return name.find(s) != std::string::npos; };
        int64_t out = 0, in = 0;
        if (has("q_proj") || has("o_proj")) out = h, in = h;
        else if (has("k_proj") || has("v_proj")) out = kv, in = h;
        else if (has("gate_proj") || has("up_proj")) out = f, in = h;
        else if (has("down_proj")) out = h, in = f;
        else return nullptr;
        auto it = templates->find({out, in});
        if (it == templates->end()) {
            W4Canonical c;
            c.n = (int)out;
            c.k = (int)in;
            c.group = (int)group;
            c.q.assign((size_t)(out * in), 1);
            c.zeros.assign((size_t)(out * (in / group)), 0);  // not 8: keeps the zero-point tensors
            c.scales.assign((size_t)(out * (in / group)), 0x3c00);
            Template t{pack_w4(c, layout, name)};
            t.padded = (t.packed.qweight == 0).any().item<bool>();
            it = templates->emplace(std::make_pair(out, in), std::move(t)).first;
        }
        const PackedW4& t = it->second.packed;
        PackedW4 p = t;
        p.qweight = random_bits(t.qweight, device);
        if (it->second.padded) p.qweight = at::where(t.qweight.to(device) != 0, p.qweight, at::zeros_like(p.qweight));
        if (t.qzeros.defined()) p.qzeros = random_bits(t.qzeros, device);
        p.scales = random_fp16_bits(t.scales, device, 1e-3, 1e-2);
        return std::make_unique<AwqLinear>(std::move(p), /*zero_point=*/true, at::Tensor(), dtype, device, name);
    };
}

}  // namespace awq::bench
