// Merged q/k/v and gate/up projections (Linear::merge_outputs, DecoderBlock::merge_projections), on the CPU:
// a merged 4-bit linear is exactly the packing of the stacked weights in every layout, and merging changes
// neither a model's outputs nor what its per-slot accessors report. (On the GPU, decode_kernels_test runs
// merged models through the fused decode step.)
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include "core/error.h"
#include "model/linear.h"
#include "model/llama_model.h"
#include "quant/awq_linear.h"
#include "quant/pseudo_quantize.h"
#include "tiny_llama_test_support.h"

namespace awq {
namespace {

QuantizedWeight random_q(int64_t out, int64_t in, bool zero_point, bool bias) {
    QuantSpec spec;
    spec.group = 64;
    spec.zero_point = zero_point;
    return quantize_weight(at::randn({out, in}), spec, bias ? at::randn({out}) : at::Tensor());
}

TEST(MergedProjections, AwqMergeIsThePackingOfTheStackedWeights) {
    at::manual_seed(21);
    for (AwqLayout layout : {AwqLayout::Gemm, AwqLayout::Gemv, AwqLayout::Fast})
        for (bool zp : {true, false}) {
            const std::string what = std::string(awq_layout_name(layout)) + (zp ? " asymmetric" : " symmetric");
            // q (with bias), k and v (without): a missing bias merges as zeros.
            std::vector<QuantizedWeight> parts = {random_q(256, 192, zp, true), random_q(128, 192, zp, false),
                                                  random_q(64, 192, zp, false)};
            std::vector<std::unique_ptr<AwqLinear>> lin;
            for (auto& p : parts) lin.push_back(std::make_unique<AwqLinear>(p, layout, at::kFloat, at::kCPU));
            std::unique_ptr<Linear> merged = lin[0]->merge_outputs({lin[1].get(), lin[2].get()});
            ASSERT_TRUE(merged) << what;
            auto* m = dynamic_cast<AwqLinear*>(merged.get());
            ASSERT_NE(m, nullptr) << what;

            QuantizedWeight stacked = parts[0];
            stacked.q = at::cat({parts[0].q, parts[1].q, parts[2].q});
            stacked.scales = at::cat({parts[0].scales, parts[1].scales, parts[2].scales});
            stacked.zeros = at::cat({parts[0].zeros, parts[1].zeros, parts[2].zeros});
            stacked.bias = at::cat({parts[0].bias, at::zeros({192}, parts[0].bias.options())});
            const AwqLinear want(stacked, layout, at::kFloat, at::kCPU);
            EXPECT_EQ(m->out_features(), 448) << what;
            EXPECT_TRUE(at::equal(m->packed().qweight, want.packed().qweight)) << what << ": qweight";
            EXPECT_TRUE(at::equal(m->packed().scales, want.packed().scales)) << what << ": scales";
            EXPECT_EQ(m->packed().qzeros.defined(), want.packed().qzeros.defined()) << what;
            if (want.packed().qzeros.defined())
                EXPECT_TRUE(at::equal(m->packed().qzeros, want.packed().qzeros)) << what << ": qzeros";
            EXPECT_TRUE(at::equal(m->bias(), want.bias().to(at::kFloat))) << what << ": bias";
            EXPECT_TRUE(at::equal(m->dense_weight(), want.dense_weight())) << what << ": dequantized";
        }
}

TEST(MergedProjections, RefusesWhatCannotShareOneKernel) {
    at::manual_seed(22);
    const AwqLinear a(random_q(128, 192, true, false), AwqLayout::Gemm, at::kFloat, at::kCPU);
    const AwqLinear other_layout(random_q(128, 192, true, false), AwqLayout::Gemv, at::kFloat, at::kCPU);
    const AwqLinear other_in(random_q(128, 256, true, false), AwqLayout::Gemm, at::kFloat, at::kCPU);
    const DenseLinear dense(at::randn({128, 192}), at::Tensor());
    EXPECT_EQ(a.merge_outputs({&other_layout}), nullptr);
    EXPECT_EQ(a.merge_outputs({&other_in}), nullptr);
    EXPECT_EQ(a.merge_outputs({&dense}), nullptr);
    EXPECT_EQ(dense.merge_outputs({&a}), nullptr);
    const DenseLinear dense_other_in(at::randn({128, 64}), at::Tensor());
    EXPECT_EQ(dense.merge_outputs({&dense_other_in}), nullptr);
}

// Logits of a prompt and of cached decode steps, before and after merging, for dense and 4-bit models.
TEST(MergedProjections, ModelOutputsAndAccessorsUnchanged) {
    c10::InferenceMode guard;
    for (int variant = 0; variant < 2; ++variant) {
        auto model = tiny_model("cpu", "float32");
        if (variant == 1) quantize_linears(*model, AwqLayout::Gemm);
        const std::string what = variant ? "4-bit gemm" : "dense";
        const at::Tensor prompt = ids_tensor(prompts(2, 9));
        auto run = [&] {
            KVCache cache = model->make_cache(2, 16);
            std::vector<at::Tensor> out{model->forward(prompt, &cache, true)};
            for (int s = 0; s < 4; ++s)
                out.push_back(model->forward(out.back().select(1, 0).argmax(-1).unsqueeze(1), &cache, true));
            return out;
        };
        const std::vector<at::Tensor> before = run();
        const int64_t bytes = model->weight_bytes();
        const at::Tensor k_weight = model->block(1).linear(LinearSlot::K).dense_weight().clone();
        const at::Tensor q_bias = model->block(1).linear(LinearSlot::Q).bias().clone();
        const std::string kind = model->block(1).linear(LinearSlot::Up).kind();
        EXPECT_EQ(model->merge_projections(), model->num_blocks()) << what;
        EXPECT_TRUE(model->block(0).projections_merged());
        const std::vector<at::Tensor> after = run();
        for (size_t i = 0; i < before.size(); ++i)
            EXPECT_TRUE(at::allclose(after[i], before[i], 1e-5, 1e-5)) << what << " step " << i;
        EXPECT_EQ(model->weight_bytes(), bytes) << what << ": merged weights counted once";
        EXPECT_TRUE(at::equal(model->block(1).linear(LinearSlot::K).dense_weight(), k_weight)) << what;
        EXPECT_TRUE(at::equal(model->block(1).linear(LinearSlot::Q).bias(), q_bias)) << what;
        EXPECT_EQ(model->block(1).linear(LinearSlot::Up).kind(), kind) << what;
        // A slice still computes its own rows when called alone.
        const at::Tensor x = at::randn({3, model->config().hidden_size});
        EXPECT_TRUE(at::allclose(model->block(1).linear(LinearSlot::K).forward(x),
                                 at::linear(x, k_weight, model->block(1).linear(LinearSlot::K).bias()), 1e-5, 1e-5));
        // Replacing a merged slot un-merges that group and the block calls each slot again.
        model->block(2).set_linear(LinearSlot::Q, std::make_unique<DenseLinear>(
                                                      model->block(2).linear(LinearSlot::Q).dense_weight().clone(),
                                                      model->block(2).linear(LinearSlot::Q).bias().clone()));
        const std::vector<at::Tensor> replaced = run();
        EXPECT_TRUE(at::allclose(replaced.front(), before.front(), 1e-4, 1e-4)) << what << " after set_linear";
    }
}

}  // namespace
}  // namespace awq
