// CUDA-graph decode against the eager decode it replaces. The reference is the eager path (KV cache, one
// forward per token), itself tested against transformers in generation_test / model_exactness_test.
// - CPU (runs in CI): the static-shape decode step the graph captures (device position, K/V written with
//   index_copy_, attention over the whole capacity under a mask) gives the eager step's logits and cache, and
//   asking for a graph on the CPU changes nothing.
// - CUDA (skipped without a GPU): greedy tokens picked on the device (steps queued ahead) are the host
//   sampler's, EOS included, for generate_ids and generate; the queue of unread steps is bounded.
// - CUDA: greedy tokens through generate_ids are identical with and without the graph
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

#include "core/error.h"
#include "core/model_config.h"
#include "generate/cuda_graph_decoder.h"
#include "generate/generator.h"
#include "model/llama_model.h"
#include "quant/awq_linear.h"
#include "quant/pseudo_quantize.h"
#include "test_paths.h"
#include "tiny_llama_test_support.h"
#include "tokenizer/tokenizer.h"

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

TEST(CudaGraphDecode, DeviceGreedyGivesTheHostSamplersTokens) {
    SKIP_WITHOUT_CUDA();
    auto model = tiny_model("cuda", "float16");
    for (int64_t batch : {1, 3}) {
        const std::string what = "batch " + std::to_string(batch);
        GenerationConfig g;
        g.max_new_tokens = 40;
        GenerationStats sh, sd;
        g.device_greedy = false;
        const auto host = generate_ids(*model, prompts(batch, 9), g, &sh);
        g.device_greedy = true;
        const auto dev = generate_ids(*model, prompts(batch, 9), g, &sd);
        EXPECT_TRUE(sh.cuda_graph && sd.cuda_graph) << what << ": " << sh.graph_fallback << sd.graph_fallback;
        EXPECT_FALSE(sh.device_greedy) << what;
        EXPECT_TRUE(sd.device_greedy) << what;
        EXPECT_EQ(sd.decode_steps, 39) << what;
        EXPECT_EQ(dev, host) << what;
        // An EOS that row 0 produces part-way: the step queued past it must change nothing.
        g.eos_ids = {host[0][12]};
        g.device_greedy = false;
        const auto host_eos = generate_ids(*model, prompts(batch, 9), g, &sh);
        g.device_greedy = true;
        const auto dev_eos = generate_ids(*model, prompts(batch, 9), g, &sd);
        EXPECT_LE(host_eos[0].size(), 12u) << what;
        EXPECT_EQ(dev_eos, host_eos) << what;
        EXPECT_EQ(sd.decode_steps, sh.decode_steps) << what;
    }
    // Sampling with a temperature stays on the host.
    GenerationConfig t;
    t.max_new_tokens = 10;
    t.sampling.temperature = 0.8f;
    GenerationStats st;
    generate_ids(*model, prompts(1, 9), t, &st);
    EXPECT_TRUE(st.cuda_graph);
    EXPECT_FALSE(st.device_greedy);
    // Streamed text generation takes the same path.
    const auto tok = Tokenizer::from_tokenizer_json((test::data_dir() / "tokenizer" / "bpe_gpt2.tokenizer.json").string());
    GenerationConfig g;
    g.max_new_tokens = 30;
    g.device_greedy = false;
    const GenerationResult rh = generate(*model, *tok, prompts(1, 9)[0], g);
    g.device_greedy = true;
    const GenerationResult rd = generate(*model, *tok, prompts(1, 9)[0], g);
    EXPECT_TRUE(rd.stats.device_greedy);
    EXPECT_EQ(rd.tokens, rh.tokens);
    EXPECT_EQ(rd.text, rh.text);
    EXPECT_EQ(rd.tokens.size(), 30u);
}

TEST(CudaGraphDecode, DeviceGreedyQueueIsReadInOrderAndBounded) {
    SKIP_WITHOUT_CUDA();
    c10::InferenceMode guard;
    auto model = tiny_model("cuda", "float16");
    const int64_t T = 9, cap = CudaGraphDecoder::padded_capacity(T + 8);
    KVCache cache = model->make_cache(1, cap), ref = model->make_cache(1, cap);
    const at::Tensor prompt = ids_tensor(prompts(1, T));
    const at::Tensor logits = model->forward(prompt, &cache, true);
    model->forward(prompt, &ref, true);
    const int32_t first = (int32_t)logits.select(1, 0).argmax(-1).item<int64_t>();
    CudaGraphDecoder greedy(*model, cache, /*device_greedy=*/true);
    std::vector<int64_t> tickets = {greedy.queue_greedy_step({first})};
    for (int i = 1; i < CudaGraphDecoder::kGreedyInFlight; ++i) tickets.push_back(greedy.queue_greedy_step());
    EXPECT_THROW(greedy.queue_greedy_step(), Error);  // a fifth unread step
    EXPECT_THROW(greedy.greedy_tokens(tickets[1]), Error);  // out of order
    EXPECT_EQ(cache.length, T + CudaGraphDecoder::kGreedyInFlight);
    // The chained steps give what host-driven steps of a plain graph give.
    CudaGraphDecoder plain(*model, ref);
    int32_t want = first;
    for (int64_t t : tickets) {
        want = (int32_t)plain.step(at::full({1, 1}, want, at::kLong)).select(1, 0).argmax(-1).item<int64_t>();
        EXPECT_EQ(greedy.greedy_tokens(t), std::vector<int32_t>{want}) << "ticket " << t;
    }
    EXPECT_NO_THROW(greedy.queue_greedy_step());
    greedy.drain();
    EXPECT_THROW(plain.queue_greedy_step(), Error);  // not captured for it
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
