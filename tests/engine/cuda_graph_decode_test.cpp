// CUDA-graph decode against the eager decode it replaces. The reference is the eager path (KV cache, one
// forward per token), itself tested against transformers in generation_test / model_exactness_test.
// - CPU (runs in CI): the static-shape decode step the graph captures (device position, K/V written with
//   index_copy_, attention over the whole capacity under a mask) gives the eager step's logits and cache, and
//   asking for a graph on the CPU changes nothing.
// - CUDA (skipped without a GPU): greedy tokens through generate_ids are identical with and without the graph
//   in fp32 (batch 1 and 3, GQA); in fp16/bf16 the graph's logits follow the eager ones step by step (teacher
//   forced) within the dtype's rounding, with the same argmax wherever the eager top-2 gap exceeds that
//   rounding; with the 4-bit kernels installed, the same for every packed layout.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <nlohmann/json.hpp>

#include "core/model_config.h"
#include "generate/cuda_graph_decoder.h"
#include "generate/generator.h"
#include "model/llama_model.h"
#include "quant/awq_linear.h"
#include "quant/pseudo_quantize.h"
#include "tiny_llama_test_support.h"

#if __has_include("quant/awq_cuda_kernels.h")
#include "quant/awq_cuda_kernels.h"
#define AWQ_TEST_HAS_KERNEL_HOOK 1
#endif

namespace awq {
namespace {

TEST(StaticDecodeStep, EqualsEagerCachedDecodeOnCpu) {
    c10::InferenceMode guard;
    auto model = tiny_model("cpu", "float32");
    const int64_t B = 2, T = 5, steps = 6, capacity = 13;  // capacity not a multiple of anything on purpose
    KVCache eager = model->make_cache(B, capacity), stat = model->make_cache(B, capacity);
    at::Tensor prompt = ids_tensor(prompts(B, T));
    at::Tensor le = model->forward(prompt, &eager, true);
    at::Tensor ls = model->forward(prompt, &stat, true);
    auto [cos, sin] = model->rope_tables(capacity);
    for (int64_t s = 0; s < steps; ++s) {
        at::Tensor next = le.select(1, 0).argmax(-1).unsqueeze(1);  // [B, 1]
        at::Tensor pos = at::full({1}, stat.length, at::kLong);
        le = model->forward(next, &eager, true);
        ls = model->decode_step_static(next, pos, stat, cos, sin);
        stat.length += 1;
        ASSERT_EQ(ls.sizes(), le.sizes());
        EXPECT_LT((ls - le).abs().max().item<double>(), 1e-4 * le.abs().max().item<double>()) << "step " << s;
    }
    EXPECT_EQ(stat.length, eager.length);
    for (int64_t i = 0; i < model->num_blocks(); ++i) {
        EXPECT_LT((stat.k[i].narrow(2, 0, eager.length) - eager.k[i].narrow(2, 0, eager.length)).abs().max().item<double>(), 1e-5);
        EXPECT_LT((stat.v[i].narrow(2, 0, eager.length) - eager.v[i].narrow(2, 0, eager.length)).abs().max().item<double>(), 1e-5);
        // Slots past the last token were never written.
        EXPECT_EQ(stat.k[i].narrow(2, eager.length, capacity - eager.length).abs().max().item<double>(), 0.0);
    }
}

TEST(StaticDecodeStep, RejectsMismatchedCacheAndShapes) {
    c10::InferenceMode guard;
    auto model = tiny_model("cpu", "float32");
    KVCache cache = model->make_cache(2, 8);
    auto [cos, sin] = model->rope_tables(8);
    at::Tensor pos = at::zeros({1}, at::kLong);
    EXPECT_THROW(model->decode_step_static(at::zeros({3, 1}, at::kLong), pos, cache, cos, sin), Error);
    EXPECT_THROW(model->decode_step_static(at::zeros({2, 2}, at::kLong), pos, cache, cos, sin), Error);
    auto [cos4, sin4] = model->rope_tables(4);
    EXPECT_THROW(model->decode_step_static(at::zeros({2, 1}, at::kLong), pos, cache, cos4, sin4), Error);
}

TEST(CudaGraphDecode, CpuModelIgnoresTheGraphFlag) {
    auto model = tiny_model("cpu", "float32");
    GenerationConfig g;
    g.max_new_tokens = 8;
    g.cuda_graph = false;
    GenerationStats se, sg;
    auto eager = generate_ids(*model, prompts(2, 6), g, &se);
    g.cuda_graph = true;
    auto graph = generate_ids(*model, prompts(2, 6), g, &sg);
    EXPECT_EQ(graph, eager);
    EXPECT_FALSE(sg.cuda_graph);
    EXPECT_TRUE(sg.graph_fallback.empty()) << sg.graph_fallback;
}

#define SKIP_WITHOUT_CUDA()                                                                                     \
    do {                                                                                                       \
        if (!at::hasCUDA()) GTEST_SKIP() << "no CUDA device: the CUDA-graph decode runs on the GPU machine";   \
        if (!CudaGraphDecoder::supported(*tiny_model("cuda", "float32")))                                      \
            GTEST_SKIP() << "this build has no CUDA support (AWQ_HAVE_CUDA off): CUDA graphs unavailable";      \
    } while (0)

TEST(CudaGraphDecode, GreedyTokensEqualEagerFp32) {
    SKIP_WITHOUT_CUDA();
    auto model = tiny_model("cuda", "float32");
    for (int64_t batch : {1, 3}) {
        GenerationConfig g;
        g.max_new_tokens = 40;
        g.cuda_graph = false;
        GenerationStats se, sg;
        auto eager = generate_ids(*model, prompts(batch, 9), g, &se);
        g.cuda_graph = true;
        auto graph = generate_ids(*model, prompts(batch, 9), g, &sg);
        EXPECT_FALSE(se.cuda_graph);
        EXPECT_TRUE(sg.cuda_graph) << "graph not used: " << sg.graph_fallback;
        EXPECT_EQ(sg.decode_steps, 39);
        EXPECT_EQ(graph, eager) << "batch " << batch;
    }
}

// Teacher-forced: both paths get the eager path's greedy token each step; logits compared step by step.
// Returns the number of compared steps where the argmax was decisive (eager top-2 gap > 2 * tolerance).
int64_t expect_graph_follows_eager(LlamaModel& model, int64_t batch, int64_t steps, double rel_tol, const std::string& what) {
    c10::InferenceMode guard;
    const int64_t T = 11;
    KVCache eager = model.make_cache(batch, T + steps + 1);
    KVCache stat = model.make_cache(batch, CudaGraphDecoder::padded_capacity(T + steps + 1));
    at::Tensor prompt = ids_tensor(prompts(batch, T));
    at::Tensor le = model.forward(prompt, &eager, true);
    model.forward(prompt, &stat, true);
    CudaGraphDecoder graph(model, stat);
    int64_t decisive = 0;
    for (int64_t s = 0; s < steps; ++s) {
        at::Tensor next = le.select(1, 0).argmax(-1).unsqueeze(1).to(at::kCPU);
        le = model.forward(next, &eager, true);
        at::Tensor lg = graph.step(next).clone();
        at::Tensor e = le.select(1, 0).to(at::kFloat).cpu(), g = lg.select(1, 0).to(at::kFloat).cpu();
        const double scale = e.abs().max().item<double>(), tol = rel_tol * scale;
        EXPECT_TRUE(at::isfinite(g).all().item<bool>()) << what << " step " << s;
        EXPECT_LE((g - e).abs().max().item<double>(), tol) << what << " step " << s;
        auto top2 = e.topk(2, -1);
        for (int64_t b = 0; b < batch; ++b) {
            const double gap = (std::get<0>(top2)[b][0] - std::get<0>(top2)[b][1]).item<double>();
            if (gap > 2 * tol) {
                ++decisive;
                EXPECT_EQ(g[b].argmax().item<int64_t>(), std::get<1>(top2)[b][0].item<int64_t>()) << what << " step " << s;
            }
        }
    }
    EXPECT_EQ(stat.length, eager.length);
    return decisive;
}

TEST(CudaGraphDecode, LogitsFollowEagerInHalfPrecision) {
    SKIP_WITHOUT_CUDA();
    for (const char* dtype : {"float16", "bfloat16"}) {
        auto model = tiny_model("cuda", dtype);
        const double tol = std::string(dtype) == "float16" ? 1e-2 : 3e-2;
        int64_t decisive = expect_graph_follows_eager(*model, 4, 30, tol, dtype);
        EXPECT_GE(decisive, 20) << "too few decisive steps (of 120) to compare the argmax in " << dtype;
    }
}

TEST(CudaGraphDecode, FourBitLayersFollowEager) {
    SKIP_WITHOUT_CUDA();
#ifndef AWQ_TEST_HAS_KERNEL_HOOK
    GTEST_SKIP() << "quant/awq_cuda_kernels.h absent: 4-bit CUDA kernels not hooked into AwqLinear";
#else
    if (!cuda_kernels_available()) GTEST_SKIP() << "this build has no 4-bit CUDA kernels";
    install_cuda_kernels();
    for (AwqLayout layout : {AwqLayout::Gemm, AwqLayout::Gemv, AwqLayout::Fast}) {
        auto model = tiny_model("cuda", "float16");
        quantize_linears(*model, layout);
        const std::string what = std::string("4-bit ") + awq_layout_name(layout);
        expect_graph_follows_eager(*model, 2, 20, 1e-2, what);
        GenerationConfig g;
        g.max_new_tokens = 12;
        GenerationStats sg;
        generate_ids(*model, prompts(1, 7), g, &sg);
        EXPECT_TRUE(sg.cuda_graph) << what << ": graph not used: " << sg.graph_fallback;
    }
#endif
}

}  // namespace
}  // namespace awq
