#pragma once
// Folding AWQ's per-input-channel scales s into the model: the scaled linears' input columns are multiplied
// by s and the operation that produces their input is divided by s (an RMSNorm weight, or the rows and bias
// of the previous linear). The float model computes the same function afterwards, up to rounding.
#include <vector>

#include <ATen/core/Tensor.h>

#include "model/linear.h"

namespace awq {

void fold_scales_into_norm(at::Tensor& norm_weight, const std::vector<DenseLinear*>& scaled, const at::Tensor& s);
void fold_scales_into_linear(DenseLinear& previous, const std::vector<DenseLinear*>& scaled, const at::Tensor& s);

}  // namespace awq
