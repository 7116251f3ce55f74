#pragma once
// The fused decode kernels (kernels/cuda/decode_ops.h) on ATen tensors, for one static-shape decode step
// (LlamaModel::decode_step_static, what the CUDA graph captures). Each replaces a chain of small ATen kernels
// whose launch gaps dominated batch-1 decode of 4-bit models. All tensors on one CUDA device, in the model's
// fp16/bf16 dtype, on the current stream; failures are awq::Error("decode", ...).
// The unfused ATen path (decoder_block.cpp) stays the reference: CPU, float32, offload and prefill use it.
#include <string>

#include <ATen/core/Tensor.h>

#include "core/model_config.h"

namespace awq {

struct DecodeKernelOptions {
    bool pdl = false;  // programmatic dependent launch for the fused kernels (see decode_ops.h)
    // With merged gate/up: let the down projection take [gate | up] and fuse the SiLU into its input load where
    // its kernel can (Linear::forward_fused: 4-bit fast layout, one token); off runs the SiLU kernel.
    bool silu_into_down = true;
    // Rotary embedding and the K/V cache write done inside the attention kernel (fused_rope_attention), one
    // launch per layer less; off runs the rotary kernel, then the attention kernel.
    bool rope_into_attention = true;
    // One token with 4-bit fast layers: the residual add + RMSNorm between the matmuls folded into them (the o and
    // down projections add into the residual and leave sums of squares; the merged q/k/v and gate/up matmuls
    // normalize their input from those; Linear::forward_fused). Off, or where a layer cannot, the add+RMSNorm
    // kernel runs.
    bool norm_into_matmul = true;
    // With the fold: the RMSNorm's rsqrt applied to the matmul's output (DecodeFusion::norm_on_output), so the
    // kernel does not wait for the sums of squares before it starts; off normalizes the input as LlamaRMSNorm
    // rounds it.
    bool norm_on_output = true;
    // The attention kernel asks the L2 cache for the o projection's weights (Linear::read_tensors) while it runs:
    // at batch 1 it leaves DRAM mostly idle, and the o projection then streams from L2. Only when they fit in half
    // the L2 (a 4-bit 7B o projection does, an fp16 one does not).
    bool prefetch_o_proj = true;
};

// Why the fused kernels cannot run decode steps of this model here ("" when they can): a build without CUDA
// kernels, a non-CUDA device, a float32 model, head_dim other than 64/128, sizes not multiples of 8.
std::string fused_decode_problem(const ModelConfig& cfg, at::Device device, at::ScalarType dtype);

// residual [.., H] += delta (when defined), in place; returns rms_norm(residual) * weight, a new tensor.
at::Tensor fused_add_rms_norm(at::Tensor& residual, const at::Tensor& delta, const at::Tensor& weight, double eps,
                              const DecodeKernelOptions& opt);

// q [B, 1, q_heads * hd], k and v [B, 1, kv_heads * hd] (row-contiguous views allowed); cos/sin [capacity, hd];
// position int64 [1] on the device. Writes rope(k) and v into slot `position` of the caches
// [B, kv_heads, capacity, hd]; returns rope(q) as [B, q_heads, hd].
at::Tensor fused_rope_kv_write(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& cos_table,
                               const at::Tensor& sin_table, const at::Tensor& position, at::Tensor& k_cache,
                               at::Tensor& v_cache, const DecodeKernelOptions& opt);

// Attention of q [B, q_heads, hd] over cache slots 0 .. position; returns [B, 1, q_heads * hd].
// `prefetch`: tensors (on q's device) the kernel asks the L2 cache for while it runs (the next matmul's
// Linear::read_tensors; undefined ones are skipped): all of them, when they are at most 4 and fit in half the L2,
// else none.
at::Tensor fused_decode_attention(const at::Tensor& q, const at::Tensor& k_cache, const at::Tensor& v_cache,
                                  const at::Tensor& position, double scale, const DecodeKernelOptions& opt,
                                  const std::vector<at::Tensor>& prefetch = {});

// fused_rope_kv_write then fused_decode_attention in one kernel, bit-identical to the two: takes q, k, v as
// fused_rope_kv_write does, writes the caches likewise, returns the attention output [B, 1, q_heads * hd].
at::Tensor fused_rope_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& cos_table,
                                const at::Tensor& sin_table, const at::Tensor& position, at::Tensor& k_cache,
                                at::Tensor& v_cache, double scale, const DecodeKernelOptions& opt,
                                const std::vector<at::Tensor>& prefetch = {});

// silu(gate) * up for gate/up [.., I] (row-contiguous views allowed).
at::Tensor fused_silu_mul(const at::Tensor& gate, const at::Tensor& up, const DecodeKernelOptions& opt);

}  // namespace awq
