#pragma once
// A Llama-family causal LM (Llama 2/3, Mistral, Qwen2, SmolLM2) on LibTorch, runnable as a whole or one
// decoder block at a time. With `offload`, block weights stay on the CPU and visit the compute device only
// while they run, so models larger than GPU memory can be evaluated and quantized block by block.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "core/model_config.h"
#include "core/progress.h"
#include "model/decoder_block.h"
#include "model/kv_cache.h"
#include "model/rope.h"

namespace awq {

struct ModelOptions {
    std::string device = "cpu";     // "cpu", "cuda", "cuda:1"
    std::string dtype = "float32";  // "float32", "bfloat16", "float16" (aliases fp32, bf16, fp16)
    bool offload = false;           // keep block weights on the CPU between uses
};

at::ScalarType parse_compute_dtype(const std::string& name);  // throws awq::Error("--dtype", ...)
at::Device parse_compute_device(const std::string& name);     // throws awq::Error("--device", ...), also when CUDA is absent
std::string compute_dtype_name(at::ScalarType t);

// Gives the checkpoint tensor `name` on the CPU in any float dtype, or an undefined tensor when absent.
using TensorSource = std::function<at::Tensor(const std::string& name)>;
// Builds the linear `name` (e.g. "model.layers.3.mlp.up_proj") for a checkpoint whose linears are not plain
// dense weights (AWQ-packed, ...), on `device` computing in `dtype`; returns null to use the dense weight
// from the TensorSource.
using LinearFactory = std::function<std::unique_ptr<Linear>(const std::string& name, at::Device device, at::ScalarType dtype)>;

class LlamaModel {
public:
    LlamaModel(ModelConfig cfg, const TensorSource& source, const ModelOptions& options, const Progress& progress = {},
               const LinearFactory& linear_factory = {});

    const ModelConfig& config() const { return cfg_; }
    at::Device device() const { return device_; }
    at::ScalarType dtype() const { return dtype_; }
    bool offload() const { return offload_; }
    int64_t num_blocks() const { return (int64_t)blocks_.size(); }
    DecoderBlock& block(int64_t i) { return *blocks_[i]; }
    const DecoderBlock& block(int64_t i) const { return *blocks_[i]; }
    Linear& lm_head() { return *lm_head_; }
    bool lm_head_tied() const { return lm_head_->dense_weight().is_same(embed_tokens_); }
    const at::Tensor& embed_weight() const { return embed_tokens_; }  // [V, H]
    at::Tensor& final_norm_weight() { return norm_w_; }

    // Block-by-block API. Token ids [B, T] (int64) -> hidden states [B, T, H] on the compute device.
    at::Tensor embed(const at::Tensor& ids) const;
    // Attention context for T new tokens after `past` cached ones (rotary tables + mask).
    AttentionContext context(int64_t past, int64_t T) const;
    // Runs block i; moves its weights to the compute device and back when offloading.
    at::Tensor run_block(int64_t i, const at::Tensor& hidden, const AttentionContext& ctx);
    at::Tensor final_norm(const at::Tensor& hidden) const;
    at::Tensor logits(const at::Tensor& normed_hidden) const;  // [.., V] in the model dtype

    // Whole model: ids [B, T] -> logits [B, T, V] (or [B, 1, V] with last_only). With a cache, the new
    // tokens are appended after the cached ones.
    at::Tensor forward(const at::Tensor& ids, KVCache* cache = nullptr, bool last_only = false);
    KVCache make_cache(int64_t batch, int64_t capacity) const;

    // Static-shape decode (what a CUDA graph captures): every tensor's shape is fixed by the batch and the
    // cache capacity, and the position lives on the device. ids [B, 1] int64 and `position` int64 [1] (the
    // cache slot of the new tokens, i.e. cache.length) on the compute device; cos/sin from rope_tables(capacity).
    // Writes K/V at `position`, attends over the whole capacity under a mask made on the device, returns logits
    // [B, 1, V]. Leaves cache.length alone (the caller owns the host-side count). Not with offload.
    at::Tensor decode_step_static(const at::Tensor& ids, const at::Tensor& position, KVCache& cache,
                                  const at::Tensor& cos_table, const at::Tensor& sin_table);
    // Whether decode_step_static runs the fused decode kernels (decode_kernels.h) where they can run (default on;
    // off keeps the ATen reference path, e.g. to measure what the fusion buys). kernels.pdl also switches
    // programmatic dependent launch on for every linear that has its own kernels (the 4-bit ones).
    void set_fused_decode(bool enabled, DecodeKernelOptions kernels = {});
    // Inference only: each block computes q/k/v and gate/up as one merged linear each
    // (DecoderBlock::merge_projections); returns the number of blocks merged. Not with offload.
    int64_t merge_projections();
    // "" when decode_step_static will use the fused kernels, else why not (disabled, CPU, float32, ...).
    std::string fused_decode_problem() const;
    // Rotary tables [length, head_dim] for positions 0 .. length-1, row p equal to context(p, 1)'s.
    std::pair<at::Tensor, at::Tensor> rope_tables(int64_t length) const;

    int64_t weight_bytes() const;

private:
    ModelConfig cfg_;
    at::Device device_;
    at::ScalarType dtype_;
    bool offload_;
    at::Tensor embed_tokens_;  // [V, H]
    at::Tensor norm_w_;
    std::unique_ptr<Linear> lm_head_;
    std::vector<std::unique_ptr<DecoderBlock>> blocks_;
    Rope rope_;
    bool fused_decode_ = true;
    DecodeKernelOptions decode_kernels_;
};

}  // namespace awq
