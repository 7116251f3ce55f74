#include "model/llama_model.h"

#include <ATen/ATen.h>
#include <ATen/Context.h>

#include "core/error.h"

namespace awq {

at::ScalarType parse_compute_dtype(const std::string& n) {
    if (n == "float32" || n == "fp32" || n == "float") return at::kFloat;
    if (n == "bfloat16" || n == "bf16") return at::kBFloat16;
    if (n == "float16" || n == "fp16" || n == "half") return at::kHalf;
    throw Error("--dtype", "unknown dtype '" + n + "' (use float32, bfloat16 or float16)");
}

std::string compute_dtype_name(at::ScalarType t) {
    switch (t) {
        case at::kFloat: return "float32";
        case at::kBFloat16: return "bfloat16";
        case at::kHalf: return "float16";
        default: return c10::toString(t);
    }
}

at::Device parse_compute_device(const std::string& n) {
    if (n == "cpu") return at::Device(at::kCPU);
    if (n.rfind("cuda", 0) == 0) {
        if (!at::hasCUDA()) throw Error("--device", "'" + n + "' requested but no CUDA device is available");
        try {
            return at::Device(n);
        } catch (const std::exception&) {
        }
    }
    throw Error("--device", "unknown device '" + n + "' (use cpu or cuda[:N])");
}

namespace {

at::Tensor take(const TensorSource& src, const std::string& name, bool required) {
    at::Tensor t = src(name);
    if (!t.defined() && required) throw Error(name, "missing tensor in checkpoint");
    return t;
}

}  // namespace

LlamaModel::LlamaModel(ModelConfig cfg, const TensorSource& src, const ModelOptions& opt, const Progress& progress,
                       const LinearFactory& linear_factory)
    : cfg_(std::move(cfg)),
      device_(parse_compute_device(opt.device)),
      dtype_(parse_compute_dtype(opt.dtype)),
      offload_(opt.offload && device_.is_cuda()),
      rope_(cfg_, device_) {
    // The source hands out tensors it owns (copied out of the checkpoint, or made on the fly), so a
    // conversion that happens to be a no-op may keep the very same storage.
    auto load = [&](const std::string& name, bool required, bool to_device) {
        at::Tensor t = take(src, name, required);
        if (!t.defined()) return t;
        return t.to(to_device ? device_ : at::Device(at::kCPU), dtype_);
    };
    const int64_t n = cfg_.num_hidden_layers;
    embed_tokens_ = load("model.embed_tokens.weight", true, true);
    norm_w_ = load("model.norm.weight", true, true);
    at::Tensor head = cfg_.tie_word_embeddings ? at::Tensor() : load("lm_head.weight", false, true);
    if (!head.defined()) head = embed_tokens_;  // tied (or absent lm_head: transformers ties too)
    lm_head_ = std::make_unique<DenseLinear>(head, at::Tensor());

    for (int64_t i = 0; i < n; ++i) {
        progress.check_cancel();
        progress.report("loading weights", i, n);
        const std::string p = "model.layers." + std::to_string(i) + ".";
        std::array<std::unique_ptr<Linear>, kNumLinearSlots> lin;
        for (int s = 0; s < kNumLinearSlots; ++s) {
            auto slot = (LinearSlot)s;
            const std::string base = p + linear_slot_name(slot);
            bool has_bias = false;
            if (slot == LinearSlot::Q || slot == LinearSlot::K || slot == LinearSlot::V) has_bias = cfg_.attention_bias;
            else if (slot == LinearSlot::O) has_bias = cfg_.o_proj_bias;
            else has_bias = cfg_.mlp_bias;
            if (linear_factory) lin[s] = linear_factory(base, offload_ ? at::Device(at::kCPU) : device_, dtype_);
            if (!lin[s])
                lin[s] = std::make_unique<DenseLinear>(load(base + ".weight", true, !offload_),
                                                       has_bias ? load(base + ".bias", true, !offload_) : at::Tensor());
        }
        blocks_.push_back(std::make_unique<DecoderBlock>(cfg_, load(p + "input_layernorm.weight", true, !offload_),
                                                         load(p + "post_attention_layernorm.weight", true, !offload_),
                                                         std::move(lin)));
    }
    progress.report("loading weights", n, n);
}

at::Tensor LlamaModel::embed(const at::Tensor& ids) const {
    return at::embedding(embed_tokens_, ids.to(device_, at::kLong));
}

AttentionContext LlamaModel::context(int64_t past, int64_t T) const {
    AttentionContext ctx;
    std::tie(ctx.cos, ctx.sin) = rope_.tables(past, T, dtype_);
    ctx.past = past;
    if (past > 0 && T > 1) {
        // New token i (absolute position past+i) may attend to keys 0..past+i.
        at::Tensor rows = at::arange(T, at::TensorOptions().device(device_).dtype(at::kLong)).unsqueeze(1) + past;
        at::Tensor cols = at::arange(past + T, at::TensorOptions().device(device_).dtype(at::kLong)).unsqueeze(0);
        ctx.mask = cols <= rows;
    }
    return ctx;
}

at::Tensor LlamaModel::run_block(int64_t i, const at::Tensor& hidden, const AttentionContext& ctx) {
    DecoderBlock& b = *blocks_[i];
    if (!offload_) return b.forward(hidden, ctx);
    b.to(device_);
    at::Tensor out = b.forward(hidden, ctx);
    b.to(at::kCPU);
    return out;
}

at::Tensor LlamaModel::final_norm(const at::Tensor& h) const { return rms_norm(h, norm_w_, cfg_.rms_norm_eps); }

at::Tensor LlamaModel::logits(const at::Tensor& normed) const { return lm_head_->forward(normed); }

at::Tensor LlamaModel::forward(const at::Tensor& ids, KVCache* cache, bool last_only) {
    if (ids.dim() != 2) throw Error("forward", "token ids must be [batch, tokens]");
    const int64_t T = ids.size(1);
    if (T == 0) throw Error("forward", "empty input: at least one token is needed");
    const int64_t past = cache ? cache->length : 0;
    if (cache && past + T > cache->capacity)
        throw Error("forward", "KV cache full: " + std::to_string(past + T) + " tokens > capacity " +
                                   std::to_string(cache->capacity));
    at::Tensor h = embed(ids);
    AttentionContext ctx = context(past, T);
    for (int64_t i = 0; i < num_blocks(); ++i) {
        if (cache) {
            ctx.k_cache = &cache->k[i];
            ctx.v_cache = &cache->v[i];
        }
        h = run_block(i, h, ctx);
    }
    if (cache) cache->length += T;
    if (last_only) h = h.narrow(1, T - 1, 1);
    return logits(final_norm(h));
}

std::pair<at::Tensor, at::Tensor> LlamaModel::rope_tables(int64_t length) const { return rope_.tables(0, length, dtype_); }

at::Tensor LlamaModel::decode_step_static(const at::Tensor& ids, const at::Tensor& position, KVCache& cache,
                                          const at::Tensor& cos_table, const at::Tensor& sin_table) {
    if (offload_) throw Error("decode", "static-shape decode needs the weights on the compute device (no offload)");
    if (ids.dim() != 2 || ids.size(1) != 1) throw Error("decode", "static-shape decode takes token ids [batch, 1]");
    if (cache.k.size() != blocks_.size() || cache.k.empty() || cache.k[0].size(0) != ids.size(0))
        throw Error("decode", "KV cache does not match the model or the batch");
    if (cos_table.size(0) != cache.capacity) throw Error("decode", "rotary tables do not cover the cache capacity");
    // Only device-side ops below (no host reads of `position`), so the step can be captured and replayed.
    at::Tensor h = embed(ids);
    if (fused_decode_problem().empty()) {
        StaticDecodeInputs in{cos_table, sin_table, position, decode_kernels_};
        at::Tensor pending, sumsq;
        for (int64_t i = 0; i < num_blocks(); ++i)
            pending = blocks_[i]->decode_fused(h, pending, sumsq, in, cache.k[i], cache.v[i]);
        return logits(fused_add_rms_norm(h, pending, norm_w_, cfg_.rms_norm_eps, decode_kernels_));
    }
    AttentionContext ctx;
    ctx.cos = cos_table.index_select(0, position);
    ctx.sin = sin_table.index_select(0, position);
    ctx.position = position;
    ctx.mask = at::arange(cache.capacity, position.options()).unsqueeze(0) <= position;
    for (int64_t i = 0; i < num_blocks(); ++i) {
        ctx.k_cache = &cache.k[i];
        ctx.v_cache = &cache.v[i];
        h = blocks_[i]->forward(h, ctx);
    }
    return logits(final_norm(h));
}

void LlamaModel::set_fused_decode(bool enabled, DecodeKernelOptions kernels) {
    fused_decode_ = enabled;
    decode_kernels_ = kernels;
    for (auto& b : blocks_) b->set_programmatic_launch(enabled && kernels.pdl);
}

int64_t LlamaModel::merge_projections() {
    if (offload_) throw Error("merge projections", "not with offloaded weights (blocks move between devices)");
    int64_t merged = 0;
    for (auto& b : blocks_) merged += b->merge_projections() ? 1 : 0;
    return merged;
}

std::string LlamaModel::fused_decode_problem() const {
    if (!fused_decode_) return "fused decode is switched off";
    if (offload_) return "offloaded weights";
    for (const auto& b : blocks_)
        if (b->has_input_hook()) return "a block has an input hook (calibration)";
    return awq::fused_decode_problem(cfg_, device_, dtype_);
}

KVCache LlamaModel::make_cache(int64_t batch, int64_t capacity) const {
    KVCache c;
    c.capacity = capacity;
    auto opts = at::TensorOptions().device(device_).dtype(dtype_);
    for (int64_t i = 0; i < num_blocks(); ++i) {
        c.k.push_back(at::zeros({batch, cfg_.num_key_value_heads, capacity, cfg_.head_dim}, opts));
        c.v.push_back(at::zeros({batch, cfg_.num_key_value_heads, capacity, cfg_.head_dim}, opts));
    }
    return c;
}

int64_t LlamaModel::weight_bytes() const {
    int64_t n = embed_tokens_.numel() * embed_tokens_.element_size() + norm_w_.numel() * norm_w_.element_size();
    if (!lm_head_tied()) n += lm_head_->weight_bytes();
    for (auto& b : blocks_) n += b->weight_bytes();
    return n;
}

}  // namespace awq
