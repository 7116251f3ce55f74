#include "quant/pseudo_quantize.h"

#include <ATen/ATen.h>

#include "core/error.h"

namespace awq {

namespace {

struct Grouped {
    at::Tensor q;       // float, integer values (offset form), [rows, group]
    at::Tensor scales;  // float (fp16-representable), [rows, 1]
    at::Tensor zeros;   // float, [rows, 1]
};

Grouped quantize_groups(const at::Tensor& w2d, const QuantSpec& s) {
    const double levels = (double)((1 << s.bits) - 1);
    // fp32 arithmetic for fp16/bf16/fp32 weights; float64 stays float64 (the reference tests use it).
    const at::ScalarType compute = w2d.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
    at::Tensor w = w2d.to(compute);
    Grouped g;
    if (s.zero_point) {
        at::Tensor mx = w.amax(1, true), mn = w.amin(1, true);
        g.scales = ((mx - mn).clamp_min(1e-5) / levels).to(at::kHalf).to(compute);
        g.zeros = (-at::round(mn / g.scales)).clamp(0, levels);
        g.q = (at::round(w / g.scales) + g.zeros).clamp(0, levels);
    } else {
        const double qmax = (double)((1 << (s.bits - 1)) - 1), qmin = -(double)(1 << (s.bits - 1));
        at::Tensor mx = w.abs().amax(1, true).clamp_min(1e-5);
        g.scales = (mx / qmax).to(at::kHalf).to(compute);
        g.zeros = at::full_like(g.scales, -qmin);
        g.q = at::round(w / g.scales).clamp(qmin, qmax) - qmin;
    }
    return g;
}

void check(const at::Tensor& w, const QuantSpec& s) {
    if (s.bits < 2 || s.bits > 8) throw Error("quantize", "bit width must be 2..8, got " + std::to_string(s.bits));
    if (s.group <= 0 || w.size(-1) % s.group != 0)
        throw Error("quantize", "group size " + std::to_string(s.group) + " does not divide the input width " +
                                    std::to_string(w.size(-1)));
}

}  // namespace

at::Tensor pseudo_quantize(const at::Tensor& w, const QuantSpec& spec) {
    check(w, spec);
    Grouped g = quantize_groups(w.reshape({-1, spec.group}), spec);
    return ((g.q - g.zeros) * g.scales).reshape(w.sizes()).to(w.scalar_type());
}

QuantizedWeight quantize_weight(const at::Tensor& w, const QuantSpec& spec, const at::Tensor& bias) {
    check(w, spec);
    const int64_t out = w.size(0), in = w.size(1), groups = in / spec.group;
    Grouped g = quantize_groups(w.reshape({-1, spec.group}), spec);
    QuantizedWeight r;
    r.bits = spec.bits;
    r.group_size = spec.group;
    r.zero_point = spec.zero_point;
    r.q = g.q.reshape({out, in}).to(at::kByte);  // exact: integral values in 0..255
    r.scales = g.scales.reshape({out, groups}).to(at::kHalf);
    r.zeros = g.zeros.reshape({out, groups}).to(at::kByte);
    if (bias.defined()) r.bias = bias;
    return r;
}

}  // namespace awq
