#pragma once
// One Llama-family decoder block: h = x + attn(input_norm(x)); out = h + mlp(post_norm(h)).
// Its pieces are public because AWQ runs them separately (attention alone, MLP alone) and folds scales
// into the norms and linears; the seven projections sit behind the swappable Linear interface.
#include <array>
#include <functional>
#include <memory>
#include <string>

#include <ATen/core/Tensor.h>

#include "core/model_config.h"
#include "model/decode_kernels.h"
#include "model/linear.h"

namespace awq {

enum class LinearSlot { Q = 0, K, V, O, Gate, Up, Down };
constexpr int kNumLinearSlots = 7;
const char* linear_slot_name(LinearSlot s);  // "self_attn.q_proj", ... (the Hugging Face suffix)

// Called with the input of every linear as the block runs (AWQ calibration captures them).
using LinearInputHook = std::function<void(LinearSlot slot, const at::Tensor& input)>;

struct AttentionContext {
    at::Tensor cos, sin;      // [T, head_dim], activation dtype
    at::Tensor mask;          // undefined, or bool [T, past+T] (true = attend)
    bool causal = true;       // with no mask: causal over the T new tokens (past is fully visible)
    at::Tensor* k_cache = nullptr;  // [B, n_kv, capacity, hd] or null
    at::Tensor* v_cache = nullptr;
    int64_t past = 0;         // tokens already in the cache
    // Defined: a static-shape decode step (what a CUDA graph captures; T == 1), int64 [1] on the device holding
    // the cache slot of the new token. K/V are written there on the device and the whole cache capacity is
    // attended under `mask` ([1, capacity], true up to the position), so no shape depends on the position.
    at::Tensor position;
};

// What one fused static decode step needs besides the hidden state: the full rotary tables [capacity, hd] and
// the device-side position (the cache slot of the new token).
struct StaticDecodeInputs {
    at::Tensor cos_table, sin_table, position;
    DecodeKernelOptions kernels;
};

class DecoderBlock {
public:
    DecoderBlock(const ModelConfig& cfg, at::Tensor input_norm, at::Tensor post_norm,
                 std::array<std::unique_ptr<Linear>, kNumLinearSlots> linears);

    at::Tensor forward(const at::Tensor& x, const AttentionContext& ctx) const;
    // The same block for one decode token through the fused kernels (decode_kernels.h). The residual stream is
    // carried as `residual` [B, 1, H], updated in place by `pending` (the previous block's MLP output, not yet
    // added; undefined for the first block) and this block's attention output; returns this block's MLP output,
    // the next `pending`. Equals forward() up to attention's accumulation order (see the fused-decode tests).
    // With the residual + RMSNorm fold (DecodeKernelOptions::norm_into_matmul, one token, 4-bit fast layers) the
    // output projections add into `residual` themselves: `sumsq`, when defined on entry, holds the sums of squares
    // per 16 values of `residual` that the previous block's down projection left (pending is then undefined), and
    // on return it holds this block's, with an undefined result; otherwise it is undefined on return.
    at::Tensor decode_fused(at::Tensor& residual, const at::Tensor& pending, at::Tensor& sumsq,
                            const StaticDecodeInputs& in, at::Tensor& k_cache, at::Tensor& v_cache) const;
    at::Tensor attention(const at::Tensor& x_normed, const AttentionContext& ctx) const;
    at::Tensor mlp(const at::Tensor& x_normed) const;
    at::Tensor input_norm(const at::Tensor& x) const;
    at::Tensor post_norm(const at::Tensor& x) const;

    // Stacks q/k/v into one linear and gate/up into another (Linear::merge_outputs) that the block then calls
    // instead of the separate ones: one kernel launch instead of three and two, and larger matrices that the
    // 4-bit kernels stream closer to bandwidth. The slots become OutputSlice views, so per-slot accessors keep
    // working; set_linear on a merged slot undoes that merge. Returns false when the kinds cannot merge.
    // For inference (not with input hooks: calibration needs the separate inputs anyway).
    bool merge_projections();
    bool projections_merged() const { return qkv_ != nullptr || gate_up_ != nullptr; }
    void set_programmatic_launch(bool enabled);  // on every linear of the block (Linear::set_programmatic_launch)

    Linear& linear(LinearSlot s) { return *linears_[(int)s]; }
    const Linear& linear(LinearSlot s) const { return *linears_[(int)s]; }
    void set_linear(LinearSlot s, std::unique_ptr<Linear> l);
    at::Tensor& input_norm_weight() { return input_norm_w_; }
    at::Tensor& post_norm_weight() { return post_norm_w_; }

    void set_input_hook(LinearInputHook hook) { hook_ = std::move(hook); }
    bool has_input_hook() const { return static_cast<bool>(hook_); }
    void to(at::Device device);
    int64_t weight_bytes() const;

private:
    // q, k, v [.., heads * head_dim] and gate, up [.., intermediate] of x: column ranges of the merged
    // projection's output when merged (views with row strides), else each slot's own output.
    std::array<at::Tensor, 3> project_qkv(const at::Tensor& x) const;
    std::array<at::Tensor, 2> project_gate_up(const at::Tensor& x) const;

    const ModelConfig* cfg_;
    at::Tensor input_norm_w_, post_norm_w_;
    std::array<std::unique_ptr<Linear>, kNumLinearSlots> linears_;
    std::shared_ptr<Linear> qkv_, gate_up_;  // merged projections, or null
    LinearInputHook hook_;
};

at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps);

}  // namespace awq
