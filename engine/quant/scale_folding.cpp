#include "quant/scale_folding.h"

#include <ATen/ATen.h>

namespace awq {

namespace {

void scale_columns(const std::vector<DenseLinear*>& scaled, const at::Tensor& s) {
    for (DenseLinear* l : scaled) l->weight().mul_(s.to(l->weight().scalar_type()).view({1, -1}));
}

}  // namespace

void fold_scales_into_norm(at::Tensor& norm_weight, const std::vector<DenseLinear*>& scaled, const at::Tensor& s) {
    norm_weight.div_(s.to(norm_weight.scalar_type()));
    scale_columns(scaled, s);
}

void fold_scales_into_linear(DenseLinear& previous, const std::vector<DenseLinear*>& scaled, const at::Tensor& s) {
    // Only the last s.size(0) output rows feed the scaled linears (all of them for v -> o and up -> down).
    at::Tensor rows = previous.weight().narrow(0, previous.weight().size(0) - s.size(0), s.size(0));
    rows.div_(s.to(rows.scalar_type()).view({-1, 1}));
    if (previous.mutable_bias().defined()) {
        at::Tensor b = previous.mutable_bias().narrow(0, previous.mutable_bias().size(0) - s.size(0), s.size(0));
        b.div_(s.to(b.scalar_type()));
    }
    scale_columns(scaled, s);
}

}  // namespace awq
