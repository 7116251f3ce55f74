// The fused decode kernels (kernels/cuda/decode_ops.h, through engine/model/decode_kernels.h) against the ATen
// ops they replace, which stay the reference path (and are themselves tested against transformers):
// - CPU (CI): the model reports why the fused path cannot run there and keeps the reference path.
// - CUDA (skipped without a GPU): each kernel against its reference on random inputs in fp16 and bf16, with
//   cache slots that must not be touched or read poisoned with NaN; then a whole static decode step, fused
//   against unfused, teacher-forced over a context that crosses the attention's 256-slot split.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include "core/error.h"
#include "generate/cuda_graph_decoder.h"
#include "generate/generator.h"
#include "model/decode_kernels.h"
#include "model/decoder_block.h"
#include "model/llama_model.h"
#include "model/rope.h"
#include "tiny_llama_test_support.h"

#ifdef AWQ_HAVE_CUDA
#include "cuda/w4a16.h"
#endif
#if __has_include("quant/awq_cuda_kernels.h")
#include "quant/awq_cuda_kernels.h"
#define AWQ_TEST_HAS_KERNEL_HOOK 1
#endif

namespace awq {
namespace {

TEST(FusedDecode, CpuModelKeepsTheReferencePath) {
    auto model = tiny_model("cpu", "float32");
    EXPECT_FALSE(model->fused_decode_problem().empty());
    model->set_fused_decode(false);
    EXPECT_EQ(model->fused_decode_problem(), "fused decode is switched off");
    // A float32 model on any device is refused by the kernels' own check too.
    EXPECT_FALSE(fused_decode_problem(model->config(), at::Device(at::kCUDA, 0), at::kFloat).empty());
}

#define SKIP_WITHOUT_FUSED_KERNELS()                                                                             \
    do {                                                                                                        \
        if (!at::hasCUDA()) GTEST_SKIP() << "no CUDA device: the fused decode kernels run on the GPU machine";  \
        if (!fused_decode_problem(tiny_config(), at::Device(at::kCUDA, 0), at::kHalf).empty())                  \
            GTEST_SKIP() << "this build has no CUDA kernels (AWQ_HAVE_CUDA off)";                                \
    } while (0)

double unit_roundoff(at::ScalarType t) { return t == at::kHalf ? std::ldexp(1.0, -11) : std::ldexp(1.0, -8); }

// Largest |got - want| in units of one rounding step of the dtype at |want| (so 1.0 = one ulp-ish).
double max_ulps(const at::Tensor& got, const at::Tensor& want, at::ScalarType dtype) {
    at::Tensor g = got.to(at::kDouble).cpu(), w = want.to(at::kDouble).cpu();
    at::Tensor ulp = 2 * unit_roundoff(dtype) * w.abs().clamp_min(1e-3);
    return ((g - w).abs() / ulp).max().item<double>();
}

at::TensorOptions cuda(at::ScalarType t) { return at::TensorOptions().device(at::kCUDA).dtype(t); }

TEST(FusedDecodeKernels, AddRmsNormMatchesLlamaRmsNorm) {
    SKIP_WITHOUT_FUSED_KERNELS();
    c10::InferenceMode guard;
    at::manual_seed(7);
    for (at::ScalarType dt : {at::kHalf, at::kBFloat16})
        for (int64_t hidden : {576, 4096}) {
            const std::string what = std::string(c10::toString(dt)) + " hidden " + std::to_string(hidden);
            at::Tensor x = (3 * at::randn({3, 1, hidden})).to(cuda(dt)), d = at::randn({3, 1, hidden}).to(cuda(dt));
            at::Tensor w = (1 + 0.1 * at::randn({hidden})).to(cuda(dt));
            const at::Tensor ref_h = x + d, ref = rms_norm(ref_h, w, 1e-5);
            at::Tensor r = x.clone();
            const at::Tensor out = fused_add_rms_norm(r, d, w, 1e-5, {});
            EXPECT_TRUE(at::equal(r, ref_h)) << what << ": residual add";
            EXPECT_LE(max_ulps(out, ref, dt), 1.01) << what;
            // Without a delta the residual is left alone.
            at::Tensor r2 = x.clone();
            EXPECT_LE(max_ulps(fused_add_rms_norm(r2, at::Tensor(), w, 1e-5, {}), rms_norm(x, w, 1e-5), dt), 1.01) << what;
            EXPECT_TRUE(at::equal(r2, x)) << what;
        }
}

TEST(FusedDecodeKernels, RopeWritesOnlyTheSlotOfThePosition) {
    SKIP_WITHOUT_FUSED_KERNELS();
    c10::InferenceMode guard;
    at::manual_seed(11);
    const int64_t B = 2, nh = 8, nkv = 2, cap = 300;
    for (at::ScalarType dt : {at::kHalf, at::kBFloat16})
        for (int64_t hd : {64, 128}) {
            const std::string what = std::string(c10::toString(dt)) + " head_dim " + std::to_string(hd);
            // Real Llama tables for this head_dim.
            const ModelConfig cfg = ModelConfig::from_json(
                {{"architectures", {"LlamaForCausalLM"}}, {"model_type", "llama"}, {"vocab_size", 64},
                 {"hidden_size", nh * hd}, {"intermediate_size", 64}, {"num_hidden_layers", 1},
                 {"num_attention_heads", nh}, {"num_key_value_heads", nkv}, {"max_position_embeddings", cap},
                 {"rms_norm_eps", 1e-5}, {"rope_theta", 10000.0}},
                "rope test");
            const auto [cos, sin] = Rope(cfg, at::Device(at::kCUDA)).tables(0, cap, dt);
            // q, k, v as column ranges of one fused projection output, as a merged QKV linear would give.
            at::Tensor qkv = at::randn({B, 1, (nh + 2 * nkv) * hd}).to(cuda(dt));
            at::Tensor q = qkv.narrow(-1, 0, nh * hd), k = qkv.narrow(-1, nh * hd, nkv * hd),
                       v = qkv.narrow(-1, (nh + nkv) * hd, nkv * hd);
            at::Tensor kc = at::full({B, nkv, cap, hd}, NAN, cuda(dt)), vc = kc.clone();
            const int64_t pos = 137;
            const at::Tensor position = at::full({1}, pos, cuda(at::kLong));
            const at::Tensor q_rot = fused_rope_kv_write(q, k, v, cos, sin, position, kc, vc, {});
            const at::Tensor c1 = cos.narrow(0, pos, 1), s1 = sin.narrow(0, pos, 1);
            const at::Tensor q_ref = apply_rope(q.reshape({B, 1, nh, hd}).transpose(1, 2), c1, s1).squeeze(2);
            const at::Tensor k_ref = apply_rope(k.reshape({B, 1, nkv, hd}).transpose(1, 2), c1, s1).squeeze(2);
            EXPECT_TRUE(at::equal(q_rot, q_ref)) << what << ": rotated q";
            EXPECT_TRUE(at::equal(kc.select(2, pos), k_ref)) << what << ": rotated k in the cache";
            EXPECT_TRUE(at::equal(vc.select(2, pos), v.reshape({B, nkv, hd}))) << what << ": v in the cache";
            EXPECT_EQ(at::isnan(kc).sum().item<int64_t>(), B * nkv * (cap - 1) * hd) << what << ": other K slots";
            EXPECT_EQ(at::isnan(vc).sum().item<int64_t>(), B * nkv * (cap - 1) * hd) << what << ": other V slots";
            // A position outside the cache writes nothing.
            at::Tensor kc2 = at::full({B, nkv, cap, hd}, NAN, cuda(dt)), vc2 = kc2.clone();
            fused_rope_kv_write(q, k, v, cos, sin, at::full({1}, cap, cuda(at::kLong)), kc2, vc2, {});
            EXPECT_EQ(at::isnan(kc2).sum().item<int64_t>(), kc2.numel()) << what << ": out-of-range position";
            EXPECT_EQ(at::isnan(vc2).sum().item<int64_t>(), vc2.numel()) << what << ": out-of-range position";
        }
}

// softmax(q k^T * scale) v in float64 over slots 0 .. pos, grouped-query heads mapped as transformers does.
at::Tensor attention_float64(const at::Tensor& q, const at::Tensor& kc, const at::Tensor& vc, int64_t pos, double scale) {
    const int64_t nh = q.size(1), nkv = kc.size(1);
    at::Tensor k = kc.narrow(2, 0, pos + 1).to(at::kDouble).repeat_interleave(nh / nkv, 1);  // [B, nh, L, hd]
    at::Tensor v = vc.narrow(2, 0, pos + 1).to(at::kDouble).repeat_interleave(nh / nkv, 1);
    at::Tensor s = at::matmul(q.to(at::kDouble).unsqueeze(2), k.transpose(-1, -2)) * scale;  // [B, nh, 1, L]
    return at::matmul(at::softmax(s, -1), v).squeeze(2).flatten(1);  // [B, nh * hd]
}

TEST(FusedDecodeKernels, AttentionMatchesFloat64AndReadsOnlyValidSlots) {
    SKIP_WITHOUT_FUSED_KERNELS();
    c10::InferenceMode guard;
    at::manual_seed(3);
    const int64_t B = 2, nh = 8, nkv = 2;
    struct Case { int64_t cap, pos; };
    // One split (capacity <= 256), the split edge, several splits with the tail split partly valid.
    const std::vector<Case> cases = {{200, 0}, {200, 199}, {700, 255}, {700, 256}, {700, 699}, {1000, 513}};
    for (at::ScalarType dt : {at::kHalf, at::kBFloat16})
        for (int64_t hd : {64, 128})
            for (const Case& c : cases) {
                const std::string what = std::string(c10::toString(dt)) + " hd " + std::to_string(hd) + " cap " +
                                         std::to_string(c.cap) + " pos " + std::to_string(c.pos);
                at::Tensor kc = (2 * at::randn({B, nkv, c.cap, hd})).to(cuda(dt)), vc = at::randn({B, nkv, c.cap, hd}).to(cuda(dt));
                if (c.pos + 1 < c.cap) {  // slots after the position must not be read
                    kc.narrow(2, c.pos + 1, c.cap - c.pos - 1).fill_(NAN);
                    vc.narrow(2, c.pos + 1, c.cap - c.pos - 1).fill_(NAN);
                }
                const at::Tensor q = at::randn({B, nh, hd}).to(cuda(dt));
                const double scale = 1.0 / std::sqrt((double)hd);
                const at::Tensor out = fused_decode_attention(q, kc, vc, at::full({1}, c.pos, cuda(at::kLong)), scale, {});
                ASSERT_EQ(out.sizes(), (std::vector<int64_t>{B, 1, nh * hd})) << what;
                const at::Tensor ref = attention_float64(q, kc, vc, c.pos, scale);
                EXPECT_TRUE(at::isfinite(out).all().item<bool>()) << what;
                // Rounded once to the dtype at the end; fp32 accumulation adds far less than that.
                const double err = (out.flatten(1).to(at::kDouble).cpu() - ref.cpu()).abs().max().item<double>();
                EXPECT_LE(err, unit_roundoff(dt) * ref.abs().max().item<double>() + 1e-4) << what;
            }
    // Unsupported head sizes are refused with the reason.
    at::Tensor kc = at::zeros({1, 1, 16, 96}, cuda(at::kHalf));
    try {
        fused_decode_attention(at::zeros({1, 1, 96}, cuda(at::kHalf)), kc, kc, at::zeros({1}, cuda(at::kLong)), 0.1, {});
        ADD_FAILURE() << "head_dim 96 accepted";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("head_dim 96"), std::string::npos) << e.what();
    }
}

// NaN-aware bitwise equality (poisoned slots must stay NaN in both).
bool same_bits(const at::Tensor& a, const at::Tensor& b) {
    return at::equal(at::isnan(a), at::isnan(b)) && at::equal(at::nan_to_num(a, 0.0), at::nan_to_num(b, 0.0));
}

// The rotary embedding and K/V write folded into the attention kernel must give exactly the rotary kernel
// followed by the attention kernel: same output bits, same cache bits, and the new slot never read from the
// cache (it is NaN before the fused kernel runs). Grouped-query heads (4 per kv head, only one of them writes),
// batch 2, q/k/v as column ranges of one merged output, one split and several.
TEST(FusedDecodeKernels, RopeAttentionIsRopeThenAttentionBitForBit) {
    SKIP_WITHOUT_FUSED_KERNELS();
    c10::InferenceMode guard;
    at::manual_seed(5);
    const int64_t B = 2, nh = 8, nkv = 2;
    struct Case { int64_t cap, pos; };
    const std::vector<Case> cases = {{200, 0}, {200, 17}, {200, 199}, {700, 255}, {700, 256}, {700, 531}, {1000, 999}};
    for (at::ScalarType dt : {at::kHalf, at::kBFloat16})
        for (int64_t hd : {64, 128}) {
            const int64_t cap_max = 1000;
            const ModelConfig cfg = ModelConfig::from_json(
                {{"architectures", {"LlamaForCausalLM"}}, {"model_type", "llama"}, {"vocab_size", 64},
                 {"hidden_size", nh * hd}, {"intermediate_size", 64}, {"num_hidden_layers", 1},
                 {"num_attention_heads", nh}, {"num_key_value_heads", nkv}, {"max_position_embeddings", cap_max},
                 {"rms_norm_eps", 1e-5}, {"rope_theta", 10000.0}},
                "rope attention test");
            for (const Case& c : cases) {
                const std::string what = std::string(c10::toString(dt)) + " hd " + std::to_string(hd) + " cap " +
                                         std::to_string(c.cap) + " pos " + std::to_string(c.pos);
                const auto [cos, sin] = Rope(cfg, at::Device(at::kCUDA)).tables(0, c.cap, dt);
                const at::Tensor qkv = at::randn({B, 1, (nh + 2 * nkv) * hd}).to(cuda(dt));
                const at::Tensor q = qkv.narrow(-1, 0, nh * hd), k = qkv.narrow(-1, nh * hd, nkv * hd),
                                 v = qkv.narrow(-1, (nh + nkv) * hd, nkv * hd);
                at::Tensor kc = (2 * at::randn({B, nkv, c.cap, hd})).to(cuda(dt)), vc = at::randn({B, nkv, c.cap, hd}).to(cuda(dt));
                kc.narrow(2, c.pos, c.cap - c.pos).fill_(NAN);  // the new slot and everything after it
                vc.narrow(2, c.pos, c.cap - c.pos).fill_(NAN);
                at::Tensor kc_sep = kc.clone(), vc_sep = vc.clone();
                const at::Tensor position = at::full({1}, c.pos, cuda(at::kLong));
                const double scale = 1.0 / std::sqrt((double)hd);
                const at::Tensor q_rot = fused_rope_kv_write(q, k, v, cos, sin, position, kc_sep, vc_sep, {});
                const at::Tensor want = fused_decode_attention(q_rot, kc_sep, vc_sep, position, scale, {});
                const at::Tensor got = fused_rope_attention(q, k, v, cos, sin, position, kc, vc, scale, {});
                ASSERT_EQ(got.sizes(), want.sizes()) << what;
                EXPECT_TRUE(at::isfinite(got).all().item<bool>()) << what;
                EXPECT_TRUE(at::equal(got, want)) << what << ": max diff "
                                                  << (got.to(at::kFloat) - want.to(at::kFloat)).abs().max().item<double>();
                EXPECT_TRUE(same_bits(kc, kc_sep)) << what << ": K cache";
                EXPECT_TRUE(same_bits(vc, vc_sep)) << what << ": V cache";
                // And against float64 attention over the caches the separate kernels wrote.
                const at::Tensor ref = attention_float64(q_rot, kc_sep, vc_sep, c.pos, scale);
                const double err = (got.flatten(1).to(at::kDouble).cpu() - ref.cpu()).abs().max().item<double>();
                EXPECT_LE(err, unit_roundoff(dt) * ref.abs().max().item<double>() + 1e-4) << what;
            }
        }
    // A position outside the cache writes nothing.
    const auto [cos, sin] = Rope(tiny_config(), at::Device(at::kCUDA)).tables(0, 64, at::kHalf);
    const int64_t hd = tiny_config().head_dim, th = tiny_config().num_attention_heads, tkv = tiny_config().num_key_value_heads;
    at::Tensor kc = at::full({1, tkv, 64, hd}, NAN, cuda(at::kHalf)), vc = kc.clone();
    const at::Tensor qkv = at::randn({1, 1, (th + 2 * tkv) * hd}).to(cuda(at::kHalf));
    fused_rope_attention(qkv.narrow(-1, 0, th * hd), qkv.narrow(-1, th * hd, tkv * hd),
                         qkv.narrow(-1, (th + tkv) * hd, tkv * hd), cos, sin, at::full({1}, 64, cuda(at::kLong)), kc, vc,
                         0.1, {});
    EXPECT_EQ(at::isnan(kc).sum().item<int64_t>(), kc.numel());
    EXPECT_EQ(at::isnan(vc).sum().item<int64_t>(), vc.numel());
}

TEST(FusedDecodeKernels, SiluMulOnGateUpColumnRanges) {
    SKIP_WITHOUT_FUSED_KERNELS();
    c10::InferenceMode guard;
    at::manual_seed(5);
    const int64_t inter = 1408;
    for (at::ScalarType dt : {at::kHalf, at::kBFloat16}) {
        const at::Tensor gu = (3 * at::randn({3, 1, 2 * inter})).to(cuda(dt));
        const at::Tensor g = gu.narrow(-1, 0, inter), u = gu.narrow(-1, inter, inter);
        const at::Tensor out = fused_silu_mul(g, u, {});
        ASSERT_EQ(out.sizes(), g.sizes());
        // The kernel's exp is the fast-math one: at most one rounding step away from at::silu's.
        EXPECT_LE(max_ulps(out, at::silu(g) * u, dt), 2.01) << c10::toString(dt);
    }
}

// Teacher-forced static decode steps of `test` (fused kernels, with whatever merging/launch settings it has)
// against `ref` (the same weights on the unfused ATen step), over a context that crosses the attention's
// 256-slot split; logits and the new cache slots must agree within the dtype's rounding.
void expect_static_steps_follow(LlamaModel& ref_model, LlamaModel& test_model, double tol, const std::string& what,
                                int64_t B = 2) {
    c10::InferenceMode guard;
    ASSERT_EQ(test_model.fused_decode_problem(), "") << what;
    ref_model.set_fused_decode(false);
    const int64_t T = 250, steps = 12;
    const int64_t cap = CudaGraphDecoder::padded_capacity(T + steps);
    KVCache fused = test_model.make_cache(B, cap), ref = ref_model.make_cache(B, cap);
    const at::Tensor prompt = ids_tensor(prompts(B, T));
    at::Tensor lr = ref_model.forward(prompt, &ref, true);
    test_model.forward(prompt, &fused, true);
    const auto [cos, sin] = ref_model.rope_tables(cap);
    for (int64_t s = 0; s < steps; ++s) {
        const at::Tensor next = lr.select(1, 0).argmax(-1).unsqueeze(1).to(ref_model.device());
        const at::Tensor pos = at::full({1}, ref.length, cuda(at::kLong));
        lr = ref_model.decode_step_static(next, pos, ref, cos, sin);
        const at::Tensor lf = test_model.decode_step_static(next, pos, fused, cos, sin);
        ref.length += 1;
        fused.length += 1;
        const at::Tensor e = lr.to(at::kFloat), f = lf.to(at::kFloat);
        EXPECT_TRUE(at::isfinite(f).all().item<bool>()) << what << " step " << s;
        EXPECT_LE((f - e).abs().max().item<double>(), tol * e.abs().max().item<double>()) << what << " step " << s;
    }
    for (int64_t i = 0; i < ref_model.num_blocks(); ++i) {
        const at::Tensor kr = ref.k[i].narrow(2, 0, ref.length).to(at::kFloat), kf = fused.k[i].narrow(2, 0, ref.length).to(at::kFloat);
        EXPECT_LE((kf - kr).abs().max().item<double>(), tol * kr.abs().max().item<double>()) << what << " layer " << i;
    }
}

TEST(FusedDecode, StaticStepFollowsTheReferencePath) {
    SKIP_WITHOUT_FUSED_KERNELS();
    for (const char* dtype : {"float16", "bfloat16"}) {
        auto model = tiny_model("cuda", dtype);
        expect_static_steps_follow(*model, *model, std::string(dtype) == "float16" ? 1e-2 : 3e-2, dtype);
    }
}

// The fastest configuration: merged q/k/v and gate/up, programmatic dependent launch, for dense fp16 and every
// 4-bit layout; then the same through CUDA-graph generation, whose greedy tokens must match eager decoding of
// the reference wherever the reference's top-2 gap is decisive (checked step by step above), so here only that
// the graph ran and produced tokens in range.
TEST(FusedDecode, MergedProjectionsWithProgrammaticLaunchFollowTheReferencePath) {
    SKIP_WITHOUT_FUSED_KERNELS();
#ifdef AWQ_TEST_HAS_KERNEL_HOOK
    install_cuda_kernels();
#endif
    for (int variant = 0; variant < 4; ++variant) {
        auto ref = tiny_model("cuda", "float16");
        auto test = tiny_model("cuda", "float16");
        std::string what = "fp16 dense";
        if (variant > 0) {
#ifndef AWQ_TEST_HAS_KERNEL_HOOK
            continue;
#else
            if (!cuda_kernels_available()) continue;
            const AwqLayout layout = variant == 1 ? AwqLayout::Gemm : variant == 2 ? AwqLayout::Gemv : AwqLayout::Fast;
            quantize_linears(*ref, layout);
            quantize_linears(*test, layout);
            what = std::string("4-bit ") + awq_layout_name(layout);
#endif
        }
        ASSERT_EQ(test->merge_projections(), test->num_blocks()) << what;
        test->set_fused_decode(true, DecodeKernelOptions{true});
        expect_static_steps_follow(*ref, *test, 1e-2, what + " merged+pdl");
        // One sequence: the 4-bit fast layout then runs the one-token decode kernel, with the SiLU in its input.
        expect_static_steps_follow(*ref, *test, 1e-2, what + " merged+pdl batch 1", 1);
        GenerationConfig g;
        g.max_new_tokens = 16;
        GenerationStats sg, se;
        const auto graph = generate_ids(*test, prompts(2, 7), g, &sg);
        EXPECT_TRUE(sg.cuda_graph) << what << ": graph not used: " << sg.graph_fallback;
        g.cuda_graph = false;
        const auto eager = generate_ids(*ref, prompts(2, 7), g, &se);
        ASSERT_EQ(graph.size(), eager.size());
        // The first new token comes from the prefill, which fusion does not touch: it must agree.
        for (size_t b = 0; b < graph.size(); ++b) EXPECT_EQ(graph[b].front(), eager[b].front()) << what;
    }
}

// Teacher-forced static decode steps of `model` after a T-token prompt, with kernel options `two` then `one`, each
// on its own cache; every step feeds `one`'s greedy token to both and calls check(step, logits of one, logits of
// two) right after `one`'s step (so the kernels' last configuration is `one`'s). Returns the two caches.
std::pair<KVCache, KVCache> decode_with_both(
    LlamaModel& model, const DecodeKernelOptions& one, const DecodeKernelOptions& two, int64_t T, int64_t steps,
    const std::function<void(int64_t, const at::Tensor&, const at::Tensor&)>& check) {
    const int64_t cap = CudaGraphDecoder::padded_capacity(T + steps);
    KVCache a = model.make_cache(1, cap), b = model.make_cache(1, cap);
    const at::Tensor prompt = ids_tensor(prompts(1, T));
    at::Tensor la = model.forward(prompt, &a, true);
    model.forward(prompt, &b, true);
    const auto [cos, sin] = model.rope_tables(cap);
    for (int64_t s = 0; s < steps; ++s) {
        const at::Tensor next = la.select(1, 0).argmax(-1).unsqueeze(1).to(model.device());
        const at::Tensor pos = at::full({1}, a.length, cuda(at::kLong));
        model.set_fused_decode(true, two);
        const at::Tensor lb = model.decode_step_static(next, pos, b, cos, sin);
        model.set_fused_decode(true, one);
        la = model.decode_step_static(next, pos, a, cos, sin);
        a.length += 1;
        b.length += 1;
        check(s, la, lb);
    }
    return {std::move(a), std::move(b)};
}

// The same with `one` and `two`: the logits of every step and the caches at the end must be bit-identical.
void expect_same_bits_with(LlamaModel& model, const DecodeKernelOptions& one, const DecodeKernelOptions& two,
                           int64_t T, int64_t steps, const std::string& what) {
    const auto [a, b] = decode_with_both(model, one, two, T, steps, [&](int64_t s, const at::Tensor& la, const at::Tensor& lb) {
        EXPECT_TRUE(at::isfinite(la).all().item<bool>()) << what << " step " << s;
        EXPECT_TRUE(at::equal(la, lb)) << what << " step " << s << ": max diff "
                                       << (la.to(at::kFloat) - lb.to(at::kFloat)).abs().max().item<double>();
    });
    for (int64_t i = 0; i < model.num_blocks(); ++i) {
        EXPECT_TRUE(at::equal(a.k[i].narrow(2, 0, a.length), b.k[i].narrow(2, 0, b.length))) << what << " K " << i;
        EXPECT_TRUE(at::equal(a.v[i].narrow(2, 0, a.length), b.v[i].narrow(2, 0, b.length))) << what << " V " << i;
    }
}

// The SiLU fused into the down projection's input load (4-bit fast layout, one token) must compute exactly what
// the SiLU kernel followed by the same matmul computes: same rounding of silu(gate) * up, same kernel after it.
TEST(FusedDecode, SiluFusedIntoDownProjectionIsBitExact) {
    SKIP_WITHOUT_FUSED_KERNELS();
#ifndef AWQ_TEST_HAS_KERNEL_HOOK
    GTEST_SKIP() << "built without the CUDA W4A16 kernels";
#else
    install_cuda_kernels();
    if (!cuda_kernels_available()) GTEST_SKIP() << "no CUDA W4A16 kernels";
    c10::InferenceMode guard;
    auto model = tiny_model("cuda", "float16");
    quantize_linears(*model, AwqLayout::Fast);
    ASSERT_EQ(model->merge_projections(), model->num_blocks());
    DecodeKernelOptions fused, separate;
    fused.silu_into_down = true;
    separate.silu_into_down = false;
    fused.norm_into_matmul = separate.norm_into_matmul = false;  // (that fold's sums differ in order; tested below)
    expect_same_bits_with(*model, fused, separate, 40, 6, "silu in down");
#endif
}

// The whole step with the rotary folded into attention against the step with the two kernels: bit-identical
// logits and caches over steps that cross the attention's 256-slot split, dense fp16/bf16, merged and separate
// projections (separate q/k/v rows have their own strides).
TEST(FusedDecode, RopeFusedIntoAttentionIsBitExact) {
    SKIP_WITHOUT_FUSED_KERNELS();
    c10::InferenceMode guard;
    for (const char* dtype : {"float16", "bfloat16"})
        for (bool merged : {false, true}) {
            auto model = tiny_model("cuda", dtype);
            if (merged) ASSERT_EQ(model->merge_projections(), model->num_blocks());
            DecodeKernelOptions fused, separate;
            fused.rope_into_attention = true;
            separate.rope_into_attention = false;
            fused.norm_into_matmul = separate.norm_into_matmul = false;
            expect_same_bits_with(*model, fused, separate, 250, 10, std::string(dtype) + (merged ? " merged" : " separate"));
        }
}

// The attention kernel's L2 prefetch of the o projection's weights is a hint: the same bits with it and without,
// for 4-bit fast (tensors of odd sizes: the scales and zeros) and dense layers, rotary in attention or not.
TEST(FusedDecode, OProjectionPrefetchChangesNoBits) {
    SKIP_WITHOUT_FUSED_KERNELS();
    c10::InferenceMode guard;
    for (bool quantized : {true, false})
        for (bool rope_in : {true, false}) {
            auto model = tiny_model("cuda", "float16");
#ifdef AWQ_TEST_HAS_KERNEL_HOOK
            if (quantized) {
                install_cuda_kernels();
                quantize_linears(*model, AwqLayout::Fast);
            }
#else
            if (quantized) continue;
#endif
            ASSERT_EQ(model->merge_projections(), model->num_blocks());
            ASSERT_FALSE(model->block(0).linear(LinearSlot::O).read_tensors().empty());
            DecodeKernelOptions with, without;
            with.prefetch_o_proj = true;
            without.prefetch_o_proj = false;
            with.rope_into_attention = without.rope_into_attention = rope_in;
            with.pdl = without.pdl = true;
            expect_same_bits_with(*model, with, without, 30, 4,
                                  std::string(quantized ? "4-bit fast" : "dense") + (rope_in ? ", rope in attention" : ""));
        }
}

// The residual add + RMSNorm folded into the 4-bit one-token matmuls (the o and down projections add into the
// residual and leave sums of squares; q/k/v and gate/up normalize from them) against the add+RMSNorm kernel:
// the same rounding steps, only the sum of squares adds in another order, so logits agree to a few units of
// the dtype's rounding and the greedy tokens agree wherever the top-2 gap is clear; the same with the rsqrt applied
// to the matmuls' outputs (norm_on_output: other rounding places, equally close). The kernels must also say
// that they folded (the configuration string), with the SiLU in the down projection and without.
TEST(FusedDecode, NormFoldedIntoTheMatmulsFollowsTheNormKernel) {
    SKIP_WITHOUT_FUSED_KERNELS();
#ifndef AWQ_TEST_HAS_KERNEL_HOOK
    GTEST_SKIP() << "built without the CUDA W4A16 kernels";
#else
    install_cuda_kernels();
    if (!cuda_kernels_available()) GTEST_SKIP() << "no CUDA W4A16 kernels";
    c10::InferenceMode guard;
    for (const char* dtype : {"float16", "bfloat16"})
        for (bool silu : {true, false})
        for (bool on_output : {true, false}) {
            const std::string what = std::string(dtype) + (silu ? " silu in down" : " silu kernel") +
                                     (on_output ? ", rsqrt on y" : ", rsqrt on x");
            auto model = tiny_model("cuda", dtype);
            quantize_linears(*model, AwqLayout::Fast);
            ASSERT_EQ(model->merge_projections(), model->num_blocks());
            DecodeKernelOptions folded, kernel;
            folded.norm_on_output = on_output;
            folded.silu_into_down = kernel.silu_into_down = silu;
            folded.pdl = kernel.pdl = true;
            kernel.norm_into_matmul = false;
            const double tol = 8.0 * unit_roundoff(model->dtype());
            decode_with_both(*model, folded, kernel, 30, 8, [&](int64_t s, const at::Tensor& la, const at::Tensor& lb) {
#ifdef AWQ_HAVE_CUDA
                const std::string config = awq_w4a16_last_config();  // the step's last matmul: the down projection
                EXPECT_NE(config.find("residual-out"), std::string::npos) << what << ": " << config;
#endif
                const at::Tensor fa = la.to(at::kFloat), fb = lb.to(at::kFloat);
                const double scale = fb.abs().max().item<double>();
                EXPECT_TRUE(at::isfinite(fa).all().item<bool>()) << what << " step " << s;
                EXPECT_LE((fa - fb).abs().max().item<double>(), tol * scale * 4) << what << " step " << s;
                auto top2 = fb.select(1, 0).topk(2, -1);
                const double gap = (std::get<0>(top2)[0][0] - std::get<0>(top2)[0][1]).item<double>();
                if (gap > 8 * tol * scale)
                    EXPECT_EQ(fa.select(1, 0).argmax(-1).item<int64_t>(), std::get<1>(top2)[0][0].item<int64_t>())
                        << what << " step " << s;
            });
        }
#endif
}

}  // namespace
}  // namespace awq
