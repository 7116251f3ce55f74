#include "model/rope.h"

#include <cmath>

#include <ATen/ATen.h>

namespace awq {

namespace {

at::Tensor llama3_scaled(const at::Tensor& inv_freq, const RopeScaling& s) {
    const double low_wavelen = (double)s.original_max_position_embeddings / s.low_freq_factor;
    const double high_wavelen = (double)s.original_max_position_embeddings / s.high_freq_factor;
    at::Tensor wavelen = 2.0 * M_PI / inv_freq;
    at::Tensor scaled = at::where(wavelen > low_wavelen, inv_freq / s.factor, inv_freq);
    at::Tensor smooth = ((double)s.original_max_position_embeddings / wavelen - s.low_freq_factor) /
                        (s.high_freq_factor - s.low_freq_factor);
    at::Tensor smoothed = (1 - smooth) * scaled / s.factor + smooth * scaled;
    at::Tensor medium = at::logical_not(wavelen < high_wavelen).logical_and(at::logical_not(wavelen > low_wavelen));
    return at::where(medium, smoothed, scaled);
}

}  // namespace

Rope::Rope(const ModelConfig& cfg, at::Device device) {
    const int64_t d = cfg.head_dim;
    // Same expression as transformers: int64 arange -> float, divided by dim, base ** that, reciprocal.
    at::Tensor exponents = at::arange(0, d, 2, at::TensorOptions().dtype(at::kLong)).to(at::kFloat) / (double)d;
    at::Tensor inv_freq = 1.0 / at::pow(cfg.rope_theta, exponents);
    if (cfg.rope_scaling.type == "llama3") inv_freq = llama3_scaled(inv_freq, cfg.rope_scaling);
    else if (cfg.rope_scaling.type == "linear") inv_freq = inv_freq / cfg.rope_scaling.factor;
    inv_freq_ = inv_freq.to(device);
}

void Rope::to(at::Device device) { inv_freq_ = inv_freq_.to(device); }

std::pair<at::Tensor, at::Tensor> Rope::tables(int64_t start, int64_t length, at::ScalarType dtype) const {
    at::Tensor pos = at::arange(start, start + length, inv_freq_.options().dtype(at::kFloat));
    at::Tensor freqs = at::outer(pos, inv_freq_);  // [T, d/2], fp32
    at::Tensor emb = at::cat({freqs, freqs}, -1);
    return {emb.cos().to(dtype), emb.sin().to(dtype)};
}

at::Tensor apply_rope(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
    const int64_t half = x.size(-1) / 2;
    at::Tensor x1 = x.narrow(-1, 0, half);
    at::Tensor x2 = x.narrow(-1, half, half);
    at::Tensor rotated = at::cat({-x2, x1}, -1);
    return x * cos + rotated * sin;
}

}  // namespace awq
