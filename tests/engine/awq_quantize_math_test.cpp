// Quantize/dequantize math against an independent float64 reference, for every bit width, group size and
// zero-point setting; and scale folding leaves the float model's function unchanged.
#include <gtest/gtest.h>

#include <cmath>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include "engine_test_support.h"
#include "model/model_loader.h"
#include "quant/awq_clip_search.h"
#include "quant/pseudo_quantize.h"
#include "quant/scale_folding.h"

namespace awq {
namespace {

using namespace awq::test;

// Reference: the formulas of the AWQ paper / AutoAWQ in double, with the scale rounded to fp16 first
// (what a checkpoint stores) and round-half-to-even.
at::Tensor reference_dequant(const at::Tensor& w, int bits, int64_t group, bool zero_point) {
    at::Tensor wd = w.to(at::kDouble).contiguous();
    const int64_t rows = wd.numel() / group;
    at::Tensor out = at::empty_like(wd);
    const double* src = wd.data_ptr<double>();
    double* dst = out.data_ptr<double>();
    for (int64_t r = 0; r < rows; ++r) {
        const double* g = src + r * group;
        double mx = -1e300, mn = 1e300, amax = 0;
        for (int64_t i = 0; i < group; ++i) mx = std::max(mx, g[i]), mn = std::min(mn, g[i]), amax = std::max(amax, std::abs(g[i]));
        double scale, zero, qmin, qmax;
        if (zero_point) {
            qmin = 0, qmax = (1 << bits) - 1;
            scale = std::max(mx - mn, 1e-5) / qmax;
        } else {
            qmax = (1 << (bits - 1)) - 1, qmin = -(1 << (bits - 1));
            scale = std::max(amax, 1e-5) / qmax;
        }
        scale = at::scalar_tensor(scale, at::kDouble).to(at::kHalf).to(at::kDouble).item<double>();
        zero = zero_point ? std::clamp(-std::nearbyint(mn / scale), qmin, qmax) : 0.0;
        for (int64_t i = 0; i < group; ++i) {
            double q = std::clamp(std::nearbyint(g[i] / scale) + zero, qmin, qmax);
            dst[r * group + i] = (q - zero) * scale;
        }
    }
    return out;
}

TEST(QuantizeMath, MatchesFloat64ReferenceForEverySetting) {
    at::manual_seed(0);
    const int64_t out = 48, in = 512;
    at::Tensor w = at::randn({out, in}) * 0.05;
    w.index_put_({3, 7}, 0.9);  // an outlier, as real weights have
    int cases = 0;
    for (int bits = 2; bits <= 8; ++bits)
        for (int64_t group : {int64_t(-1), int64_t(32), int64_t(64), int64_t(128), int64_t(256)})
            for (bool zp : {true, false}) {
                const int64_t g = group == -1 ? in : group;
                QuantSpec spec{bits, g, zp};
                at::Tensor ref = reference_dequant(w, bits, g, zp);
                // In float64 the engine's tensor code and the scalar reference agree exactly.
                EXPECT_LT((pseudo_quantize(w.to(at::kDouble), spec) - ref).abs().max().item<double>(), 1e-12)
                    << "bits " << bits << " group " << g << " zp " << zp;
                // In float32 a rounding tie (of q, a zero point, or a scale's fp16 rounding) may fall the other
                // way for a few elements or whole groups; the values stay within one quantization step.
                at::Tensor diff = (pseudo_quantize(w, spec).to(at::kDouble) - ref).abs();
                const double mismatched = (diff > 1e-7).to(at::kDouble).mean().item<double>();
                EXPECT_LT(mismatched, 0.05) << "bits " << bits << " group " << g << " zp " << zp;
                QuantizedWeight qw = quantize_weight(w, spec);
                EXPECT_LT((qw.dequantize(at::kDouble) - ref).abs().max().item<double>(),
                          qw.scales.to(at::kDouble).max().item<double>() + 1e-9);
                EXPECT_TRUE(at::equal(qw.dequantize(at::kFloat), pseudo_quantize(w, spec)));
                EXPECT_LE(qw.q.max().item<int>(), (1 << bits) - 1);
                EXPECT_EQ(qw.scales.sizes(), (std::vector<int64_t>{out, in / g}));
                if (!zp) EXPECT_TRUE((qw.zeros == (1 << (bits - 1))).all().item<bool>());
                ++cases;
            }
    EXPECT_EQ(cases, 7 * 5 * 2);
}

TEST(QuantizeMath, ErrorShrinksWithMoreBitsAndSmallerGroups) {
    at::manual_seed(1);
    at::Tensor w = at::randn({64, 256});
    auto err = [&](int bits, int64_t g) { return (pseudo_quantize(w, {bits, g, true}) - w).pow(2).mean().item<double>(); };
    for (int b = 2; b < 8; ++b) EXPECT_GT(err(b, 128), err(b + 1, 128) * 2);
    EXPECT_GT(err(4, 256), err(4, 32));
}

TEST(QuantizeMath, RejectsImpossibleSpecs) {
    at::Tensor w = at::randn({8, 100});
    EXPECT_THROW(pseudo_quantize(w, {4, 64, true}), Error);  // 64 does not divide 100
    EXPECT_THROW(pseudo_quantize(w, {9, 100, true}), Error);
    EXPECT_THROW(pseudo_quantize(w, {1, 100, true}), Error);
}

// The clip search against a brute force in float64: for every (row, group) the shrink step with the smallest
// mean squared partial-sum error over the sampled tokens, quantizing with the float64 reference above.
TEST(ClipSearch, PicksTheFloat64BestShrinkPerGroup) {
    at::manual_seed(3);
    const int64_t out = 24, in = 128, group = 32, G = in / group, tokens = 300;
    at::Tensor w = at::randn({out, in}) * 0.05;
    w.index_put_({5, 9}, 0.8);  // outliers make clipping pay off for their groups
    w.index_put_({17, 70}, -0.6);
    at::Tensor x = at::randn({1, tokens, in}) * (at::rand({in}) * 3 + 0.1);
    QuantConfig cfg;
    cfg.clip_precision = "float32";
    cfg.clip_sample_tokens = 100;  // stride 3: tokens 0, 3, 6, ...
    const QuantSpec spec{3, group, true};
    ClipResult r = search_clip(w, x, spec, cfg);

    at::Tensor xs = x.view({tokens, in}).slice(0, 0, tokens, 3).to(at::kDouble);
    at::Tensor wd = w.to(at::kDouble);
    const int steps = (int)(cfg.clip_max_shrink * cfg.clip_grid);
    int agree = 0, clipped = 0;
    for (int64_t o = 0; o < out; ++o)
        for (int64_t g = 0; g < G; ++g) {
            at::Tensor wg = wd[o].narrow(0, g * group, group), xg = xs.narrow(1, g * group, group);
            at::Tensor ref = at::mv(xg, wg);
            const double mx = wg.abs().max().item<double>();
            double best = INFINITY;
            int best_i = 0;
            for (int i = 0; i < steps; ++i) {
                const double mv = mx * (1.0 - (double)i / cfg.clip_grid);
                at::Tensor q = reference_dequant(wg.clamp(-mv, mv).view({1, group}), spec.bits, group, true).view({group});
                const double err = (at::mv(xg, q) - ref).pow(2).mean().item<double>();
                if (err < best) best = err, best_i = i;
            }
            agree += r.shrink[o][g].item<int>() == best_i;
            clipped += best_i > 0;
            EXPECT_NEAR(r.max_val[o][g].item<double>(), mx * (1.0 - (double)r.shrink[o][g].item<int>() / cfg.clip_grid), 1e-6 * mx);
        }
    // fp32 vs float64 arithmetic may flip a near tie; everything else must agree, and clipping must happen.
    EXPECT_GE(agree, out * G - 2) << agree << " of " << out * G;
    EXPECT_GT(clipped, out * G / 4);

    // apply_clip clamps each group to +-max_val.
    at::Tensor wc = w.clone();
    apply_clip(wc, r.max_val, group);
    at::Tensor lim = r.max_val.repeat_interleave(group, 1);
    EXPECT_TRUE((wc.abs() <= lim + 1e-7).all().item<bool>());
    EXPECT_TRUE(at::equal(wc, at::max(at::min(w, lim), -lim)));

    // AutoAWQ's fp16 arithmetic ("model" precision) on fp16 weights: mostly the same steps, never a worse float64
    // error by more than fp16 noise allows.
    QuantConfig half = cfg;
    half.clip_precision = "model";
    ClipResult h = search_clip(w.to(at::kHalf), x.to(at::kHalf), spec, half);
    ClipResult f = search_clip(w.to(at::kHalf), x.to(at::kHalf), spec, cfg);
    const double same = (h.shrink == f.shrink).to(at::kDouble).mean().item<double>();
    EXPECT_GT(same, 0.7);
    EXPECT_EQ(h.max_val.sizes(), f.max_val.sizes());
    QuantConfig bad = cfg;
    bad.clip_precision = "fp8";
    EXPECT_THROW(bad.validate(), Error);
}

// Folding scales into RMSNorms and preceding linears must not change the float model's output.
TEST(ScaleFolding, LeavesFloatModelUnchanged) {
    AWQ_REQUIRE_PYTHON();
    for (const std::string arch : {"qwen2", "llama", "llama3"}) {
        auto lm = load_model(tiny_model(arch).string(), ModelOptions{});
        c10::InferenceMode guard;
        LlamaModel& m = *lm->model;
        at::Tensor ids = at::tensor(std::vector<int64_t>{3, 1, 4, 1, 5, 9, 2, 6, 5, 3}).unsqueeze(0);
        at::Tensor before = m.forward(ids).to(at::kDouble);
        at::manual_seed(2);
        for (int64_t i = 0; i < m.num_blocks(); ++i) {
            DecoderBlock& b = m.block(i);
            auto d = [&](LinearSlot s) { return dynamic_cast<DenseLinear*>(&b.linear(s)); };
            auto rnd = [&](int64_t n) { return at::rand({n}) * 3 + 0.25; };
            const int64_t H = m.config().hidden_size, I = m.config().intermediate_size;
            fold_scales_into_norm(b.input_norm_weight(), {d(LinearSlot::Q), d(LinearSlot::K), d(LinearSlot::V)}, rnd(H));
            fold_scales_into_norm(b.post_norm_weight(), {d(LinearSlot::Gate), d(LinearSlot::Up)}, rnd(H));
            fold_scales_into_linear(*d(LinearSlot::Up), {d(LinearSlot::Down)}, rnd(I));
            // v -> o needs matching widths: with grouped-query attention v has fewer outputs than o has inputs.
            if (d(LinearSlot::V)->out_features() == d(LinearSlot::O)->in_features())
                fold_scales_into_linear(*d(LinearSlot::V), {d(LinearSlot::O)}, rnd(d(LinearSlot::O)->in_features()));
        }
        at::Tensor after = m.forward(ids).to(at::kDouble);
        const double rel = (after - before).norm().item<double>() / before.norm().item<double>();
        EXPECT_LT(rel, 1e-5) << arch;
        std::printf("%s: relative change of logits after folding random scales = %.2e\n", arch.c_str(), rel);
    }
}

}  // namespace
}  // namespace awq
