#pragma once
// AWQ's weight clipping search for one linear (after scales are folded): for each output row and
// quantization group try max |w| * (1 - i / clip_grid) for i < clip_max_shrink * clip_grid, clamp, quantize,
// and keep the threshold with the smallest mean squared error of that group's partial dot products over a
// strided sample of the calibration inputs. Skipped for q/k (attention scores make per-channel error misleading).
#include <ATen/core/Tensor.h>

#include "quant/pseudo_quantize.h"
#include "quant/quant_config.h"

namespace awq {

struct ClipResult {
    at::Tensor max_val;  // float [out, groups]
    at::Tensor shrink;   // uint8 [out, groups]: chosen i
};

ClipResult search_clip(const at::Tensor& w, const at::Tensor& x, const QuantSpec& spec, const QuantConfig& cfg);

// w <- clamp(w, -max_val, max_val) group-wise, in place.
void apply_clip(at::Tensor& w, const at::Tensor& max_val, int64_t group);

}  // namespace awq
