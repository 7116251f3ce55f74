#pragma once
// What a one-token decode matmul may fold into itself (Linear::forward_fused), so that a decode step needs fewer
// kernels: SwiGLU's SiLU on its input, the RMSNorm of its input, the residual add of its output. Only the 4-bit
// fast layout's one-token CUDA kernel does these (kernels/cuda/w4a16.h, awq_w4_options); every other layer says
// no (an undefined result) and the caller runs the separate kernels.
#include <ATen/core/Tensor.h>

namespace awq {

struct DecodeFusion {
    // x is [gate | up] (2 * in_features wide); the matmul's input is silu(gate) * up.
    bool silu_gated = false;
    // Input side: x is a residual h; the matmul's input is RMSNorm(h) * norm_weight, computed from sumsq_in
    // (float [copies * in_features / 16], the sums of squares per 16 values that a residual-output matmul wrote,
    // in copies: decode_sumsq_floats).
    at::Tensor sumsq_in, norm_weight;
    double norm_eps = 0;
    // The rsqrt applied to the output instead: the input is dtype(norm_weight * h) and y is scaled (w4a16.h,
    // awq_w4_options::norm_on_output). Rounded at another place than LlamaRMSNorm, equally close to exact.
    bool norm_on_output = false;
    // Output side: residual (dtype, in_features of the next layer = out_features) += y in place, and sumsq_out
    // (float [decode_sumsq_floats(out_features)]) receives the new residual's sums of squares per 16 values.
    at::Tensor residual, sumsq_out;
};

// Floats of a sums-of-squares buffer for `features` values: the kernels keep 8 copies (kernels/cuda/w4a16.h,
// AWQ_W4_SUMSQ_COPIES) so that their many readers do not queue on a few cache lines.
inline int64_t decode_sumsq_floats(int64_t features) { return 8 * (features / 16); }

}  // namespace awq
