// Quantize/dequantize math against an independent float64 reference, for every bit width, group size and
// zero-point setting; and scale folding leaves the float model's function unchanged.
#include <gtest/gtest.h>

#include <cmath>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include "engine_test_support.h"
#include "model/model_loader.h"
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
