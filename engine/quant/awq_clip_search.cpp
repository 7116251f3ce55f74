#include "quant/awq_clip_search.h"

#include <algorithm>
#include <cmath>

#include <ATen/ATen.h>

namespace awq {

namespace {

// The same search with AutoAWQ's arithmetic: each product x * w rounded to the model dtype, the group's partial sum
// accumulated in fp32 and rounded, the difference and its square in the model dtype, the mean over tokens rounded.
// Small errors then collapse (squares below fp16's normal range lose precision, ties resolve to the lighter clip);
// this mode exists to show how much of a perplexity difference that arithmetic makes.
ClipResult search_clip_model_precision(const at::Tensor& w, const at::Tensor& xs, int64_t gs, const QuantSpec& spec,
                                       const QuantConfig& cfg) {
    const int64_t out = w.size(0), in = w.size(1), G = in / gs, tok = xs.size(0);
    at::Tensor x4 = xs.to(w.scalar_type()).view({1, tok, G, gs});
    const int steps = (int)(cfg.clip_max_shrink * cfg.clip_grid);
    // [rows, tok, G, gs] products are materialized: rows chosen to keep them near 128 MB.
    const int64_t rows = std::clamp<int64_t>((int64_t)(64 << 20) / std::max<int64_t>(1, tok * in), 1, out);
    ClipResult r;
    r.max_val = at::empty({out, G}, w.options().dtype(at::kFloat));
    r.shrink = at::zeros({out, G}, w.options().dtype(at::kByte));
    for (int64_t o0 = 0; o0 < out; o0 += rows) {
        const int64_t oc = std::min(rows, out - o0);
        at::Tensor wg = w.narrow(0, o0, oc).reshape({oc, 1, G, gs});
        at::Tensor org_max = wg.abs().amax(-1, true);  // [oc, 1, G, 1], model dtype
        at::Tensor org_out = (x4 * wg).sum(-1);        // [oc, tok, G]
        at::Tensor best = org_max.clone();
        at::Tensor best_i = at::zeros({oc, 1, G, 1}, r.shrink.options());
        at::Tensor min_err = at::full({oc, 1, G, 1}, INFINITY, org_max.options());
        for (int i = 0; i < steps; ++i) {
            at::Tensor mv = org_max * (1.0 - (double)i / cfg.clip_grid);
            at::Tensor cur = at::max(at::min(wg, mv), -mv);
            at::Tensor q = pseudo_quantize(cur.view({oc, in}), spec).view({oc, 1, G, gs});
            at::Tensor err = ((x4 * q).sum(-1) - org_out).pow(2).mean(1).view({oc, 1, G, 1});
            at::Tensor better = err < min_err;
            min_err = at::where(better, err, min_err);
            best = at::where(better, mv, best);
            best_i.masked_fill_(better, i);
        }
        r.max_val.narrow(0, o0, oc).copy_(best.view({oc, G}));
        r.shrink.narrow(0, o0, oc).copy_(best_i.view({oc, G}));
    }
    return r;
}

}  // namespace

ClipResult search_clip(const at::Tensor& w, const at::Tensor& x, const QuantSpec& spec, const QuantConfig& cfg) {
    const int64_t out = w.size(0), in = w.size(1), gs = spec.group, G = in / gs;
    at::Tensor x2 = x.reshape({-1, in});
    const int64_t step = std::max<int64_t>(1, x2.size(0) / cfg.clip_sample_tokens);
    if (cfg.clip_precision == "model" && w.scalar_type() != at::kFloat && w.scalar_type() != at::kDouble)
        return search_clip_model_precision(w, x2.slice(0, 0, x2.size(0), step), gs, spec, cfg);
    at::Tensor xs = x2.slice(0, 0, x2.size(0), step).to(at::kFloat);
    const int64_t tok = xs.size(0);
    at::Tensor xg = xs.view({tok, G, gs}).permute({1, 0, 2}).contiguous();  // [G, tok, gs]
    const int steps = (int)(cfg.clip_max_shrink * cfg.clip_grid);

    // Rows per chunk so that the [G, tok, rows] products stay around 64 MB each.
    const int64_t rows = std::clamp<int64_t>((int64_t)(16 << 20) / std::max<int64_t>(1, G * tok), 16, out);
    ClipResult r;
    r.max_val = at::empty({out, G}, w.options().dtype(at::kFloat));
    r.shrink = at::zeros({out, G}, w.options().dtype(at::kByte));
    for (int64_t o0 = 0; o0 < out; o0 += rows) {
        const int64_t oc = std::min(rows, out - o0);
        at::Tensor wc = w.narrow(0, o0, oc).to(at::kFloat);        // [oc, in]
        at::Tensor wg = wc.view({oc, G, gs});
        at::Tensor org_max = wg.abs().amax(-1);                     // [oc, G]
        at::Tensor org_out = at::bmm(xg, wg.permute({1, 2, 0}));   // [G, tok, oc]
        at::Tensor best = org_max.clone();
        at::Tensor best_i = at::zeros({oc, G}, r.shrink.options());
        at::Tensor min_err = at::full({oc, G}, 1e30, org_max.options());
        for (int i = 0; i < steps; ++i) {
            at::Tensor mv = org_max * (1.0 - (double)i / cfg.clip_grid);
            at::Tensor cur = at::max(at::min(wg, mv.unsqueeze(-1)), -mv.unsqueeze(-1));
            at::Tensor q = pseudo_quantize(cur.view({oc, in}), spec).view({oc, G, gs});
            at::Tensor err = (at::bmm(xg, q.permute({1, 2, 0})) - org_out).pow(2).mean(1).t();  // [oc, G]
            at::Tensor better = err < min_err;
            min_err = at::where(better, err, min_err);
            best = at::where(better, mv, best);
            best_i.masked_fill_(better, i);
        }
        r.max_val.narrow(0, o0, oc).copy_(best);
        r.shrink.narrow(0, o0, oc).copy_(best_i);
    }
    return r;
}

void apply_clip(at::Tensor& w, const at::Tensor& max_val, int64_t group) {
    const int64_t out = w.size(0), in = w.size(1);
    at::Tensor mv = max_val.to(w.scalar_type()).unsqueeze(-1);  // [out, G, 1]
    at::Tensor g = w.view({out, in / group, group});
    g.copy_(at::max(at::min(g, mv), -mv));
}

}  // namespace awq
