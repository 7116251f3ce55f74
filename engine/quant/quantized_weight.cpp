#include "quant/quantized_weight.h"

#include <ATen/ATen.h>

namespace awq {

at::Tensor QuantizedWeight::dequantize(at::ScalarType dtype) const {
    const int64_t out = q.size(0), in = q.size(1), groups = in / group_size;
    at::Tensor qf = q.to(at::kFloat).view({out, groups, group_size});
    at::Tensor z = zeros.to(at::kFloat).view({out, groups, 1});
    at::Tensor s = scales.to(at::kFloat).view({out, groups, 1});
    return ((qf - z) * s).view({out, in}).to(dtype);
}

}  // namespace awq
