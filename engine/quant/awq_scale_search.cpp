#include "quant/awq_scale_search.h"

#include <cmath>
#include <limits>

#include <ATen/ATen.h>

#include "core/error.h"

namespace awq {

at::Tensor channel_mean_abs(const at::Tensor& x) {
    at::Tensor flat = x.reshape({-1, x.size(-1)});
    // Chunked so that the fp32 copy of |x| stays small for long calibration batches.
    at::Tensor sum = at::zeros({x.size(-1)}, x.options().dtype(at::kFloat));
    const int64_t rows = flat.size(0), step = std::max<int64_t>(1, (int64_t)(64 << 20) / (4 * x.size(-1)));
    for (int64_t r = 0; r < rows; r += step) sum += flat.narrow(0, r, std::min(step, rows - r)).abs().to(at::kFloat).sum(0);
    return sum / (double)rows;
}

namespace {

// Mean over output rows of |w| / max|w| of its quantization group, for the concatenated weights.
at::Tensor weight_mean(const std::vector<DenseLinear*>& linears, int64_t group) {
    std::vector<at::Tensor> ws;
    for (auto* l : linears) ws.push_back(l->weight());
    at::Tensor w = at::cat(ws, 0);
    const auto shape = w.sizes().vec();
    at::Tensor g = w.reshape({-1, group}).abs().to(at::kFloat);
    g = g / (g.amax(1, true) + 1e-6);
    return g.reshape(shape).mean(0);
}

}  // namespace

ScaleSearchResult search_scales(const std::vector<DenseLinear*>& linears, const at::Tensor& x_mean_in,
                                int64_t batch, int64_t chunk, const InspectFn& inspect, const QuantSpec& spec,
                                const QuantConfig& cfg) {
    ScaleSearchResult r;
    const at::ScalarType dt = linears[0]->weight().scalar_type();
    at::Tensor x_mean = x_mean_in.to(dt);
    if (!cfg.search_scales || cfg.method != "awq") {
        r.scales = at::ones_like(x_mean);
        return r;
    }
    at::Tensor w_mean = weight_mean(linears, spec.group).to(dt);

    // The float output to match, computed once per chunk of the batch.
    std::vector<at::Tensor> reference;
    for (int64_t b = 0; b < batch; b += chunk) reference.push_back(inspect(b, std::min(batch, b + chunk)));
    std::vector<at::Tensor> originals;
    for (auto* l : linears) originals.push_back(l->weight().clone());

    double best = std::numeric_limits<double>::infinity();
    for (int k = 0; k < cfg.n_grid; ++k) {
        const double ratio = (double)k / cfg.n_grid;
        at::Tensor s = cfg.duo_scaling ? (x_mean.pow(ratio) / (w_mean.pow(1 - ratio) + 1e-4)).clamp_min(1e-4)
                                       : x_mean.pow(ratio).clamp_min(1e-4);
        s = s / (s.max() * s.min()).sqrt();
        s = at::where(at::isfinite(s), s, at::ones_like(s));
        at::Tensor sv = s.view({1, -1});
        for (size_t i = 0; i < linears.size(); ++i)
            linears[i]->weight().copy_(pseudo_quantize(originals[i] * sv, spec) / sv);
        double sq = 0;
        int64_t n = 0;
        for (int64_t b = 0, c = 0; b < batch; b += chunk, ++c) {
            at::Tensor out = inspect(b, std::min(batch, b + chunk));
            sq += (reference[c] - out).to(at::kFloat).pow(2).sum().item<double>();
            n += out.numel();
        }
        const double loss = sq / (double)n;
        r.losses.push_back(loss);
        if (loss < best) {
            best = loss;
            r.best_ratio = ratio;
            r.scales = s.clone();
        }
    }
    for (size_t i = 0; i < linears.size(); ++i) linears[i]->weight().copy_(originals[i]);
    if (!r.scales.defined()) throw Error("scale search", "no finite loss on the grid (NaN activations or weights?)");
    return r;
}

}  // namespace awq
