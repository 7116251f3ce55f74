#pragma once
// AWQ's search for per-input-channel scales of one group of linears that share an input x:
// for ratio r = k / n_grid, s = x_mean^r (duo scaling: x_mean^r / (w_mean^(1-r) + 1e-4)), clamped to
// >= 1e-4 and normalised by sqrt(max(s) * min(s)); each linear's weight becomes Q(W * s) / s, the
// inspected module (attention, MLP or the linear itself) runs on x, and the loss is the mean squared error
// against its float output. The ratio with the smallest loss wins.
#include <functional>
#include <vector>

#include <ATen/core/Tensor.h>

#include "model/linear.h"
#include "quant/pseudo_quantize.h"
#include "quant/quant_config.h"

namespace awq {

struct ScaleSearchResult {
    at::Tensor scales;           // [in], x's dtype; ones when the search is off
    std::vector<double> losses;  // one per grid point
    double best_ratio = -1;
};

// Mean |x| per input channel over all tokens, accumulated in fp32.
at::Tensor channel_mean_abs(const at::Tensor& x);

// `inspect(x_chunk)` runs the module with the linears' current weights on rows [b0, b1) of x's first dim.
using InspectFn = std::function<at::Tensor(int64_t b0, int64_t b1)>;

ScaleSearchResult search_scales(const std::vector<DenseLinear*>& linears, const at::Tensor& x_mean,
                                int64_t batch, int64_t chunk, const InspectFn& inspect, const QuantSpec& spec,
                                const QuantConfig& cfg);

}  // namespace awq
