#include "quant/quant_config.h"

#include "core/error.h"

namespace awq {

namespace {

std::string num(double v) {
    std::string s = std::to_string(v);
    while (s.size() > 1 && s.back() == '0') s.pop_back();
    if (!s.empty() && s.back() == '.') s.pop_back();
    return s;
}

}  // namespace

void QuantConfig::validate() const {
    if (w_bit < 2 || w_bit > 8) throw Error("--w-bit", "must be between 2 and 8, got " + std::to_string(w_bit));
    if (group_size != -1 && group_size != 32 && group_size != 64 && group_size != 128 && group_size != 256)
        throw Error("--group-size", "must be -1 (per output channel), 32, 64, 128 or 256, got " + std::to_string(group_size));
    if (method != "awq" && method != "rtn") throw Error("--method", "must be awq or rtn, got '" + method + "'");
    if (version != "gemm" && version != "gemv" && version != "fast")
        throw Error("--version", "must be gemm, gemv or fast, got '" + version + "'");
    if (n_grid <= 0) throw Error("--n-grid", "must be positive, got " + std::to_string(n_grid));
    if (clip_grid <= 0) throw Error("--clip-grid", "must be positive, got " + std::to_string(clip_grid));
    // The clip search shrinks max |w| by up to this fraction: 0 would search nothing, 1 would allow clipping to 0.
    if (!(clip_max_shrink > 0.0 && clip_max_shrink < 1.0))
        throw Error("--clip-max-shrink", "must be between 0 and 1 (exclusive), got " + num(clip_max_shrink));
    if (clip_sample_tokens <= 0)
        throw Error("--clip-sample-tokens", "must be positive, got " + std::to_string(clip_sample_tokens));
    if (clip_precision != "float32" && clip_precision != "model")
        throw Error("--clip-precision", "must be float32 or model, got '" + clip_precision + "'");
    for (const auto& m : modules_to_not_convert)
        if (m.empty()) throw Error("--modules-to-not-convert", "contains an empty name (it would match every layer)");
}

}  // namespace awq
