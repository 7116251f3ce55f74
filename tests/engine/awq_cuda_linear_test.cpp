// AWQ linears on CUDA through the W4A16 kernels (quant/awq_cuda_kernels.h) and the --kernel load option.
// CPU (runs everywhere): every --kernel choice loads an exported AWQ model into the requested layout and computes
// the very same logits (the dense fallback of identical integers); --kernel on a float model, an unknown kernel or
// a layer the layout cannot hold is a clear error; the fast layout holds in_features % 128 == 64 (a half unit).
// CUDA (skipped without a GPU or without the kernels in the build): AwqLinear's kernel forward against the
// float64 product of the dequantized weight for every layout, group 64 and 128, zero point on and off, fp16 and
// bf16, m in {1, 5, 64, 300}; inputs of any shape and alignment; capture in a CUDA graph after a warm-up step;
// the default model (w4 g64) with each kernel against the dense path and a float32 CPU reference.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <functional>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#ifdef AWQ_HAVE_CUDA
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime.h>
#endif

#include "awq_io_test_support.h"
#include "core/error.h"
#include "quant/awq_cuda_kernels.h"
#include "quant/awq_linear.h"
#include "quant/awq_packing.h"
#include "tokenizer/tokenizer.h"

namespace awq {
namespace {

using namespace awq::test;

// The tiny model fake-quantized with RTN w4 g32 (into fq) and exported in the gemm layout to a fresh folder `name`.
fs::path export_tiny_rtn_g32(const fs::path& tiny, const std::string& name, FakeQuantized& fq) {
    QuantConfig cfg;
    cfg.version = "gemm";
    cfg.group_size = 32;
    cfg.method = "rtn";
    fq = fake_quantize(tiny, cfg);
    const fs::path out = fresh_dir(name);
    export_awq_checkpoint(*fq.lm->model, fq.linears, cfg, tiny.string(), out.string());
    return out;
}

QuantizedWeight random_w4(int64_t out, int64_t in, int64_t group, bool zero_point, uint64_t seed) {
    at::manual_seed(seed);
    return rtn_reference(at::randn({out, in}, at::kDouble) * 0.05, 4, group, zero_point);
}

const AwqLinear& awq_at(LoadedModel& lm, int64_t block, LinearSlot slot) {
    return dynamic_cast<const AwqLinear&>(lm.model->block(block).linear(slot));
}

// The default model quantized w4 g64 (float64 round-to-nearest reference) and exported in AutoAWQ gemm format,
// made once under the scratch folder (the export is atomic: config.json exists only when it is complete).
fs::path default_model_w4g64() {
    const fs::path src = default_hf_model();  // takes the scratch lock itself
    const fs::path out = scratch_dir() / "awq-kernels-smollm2-w4-g64-gemm";
    ScratchLock lock;
    if (!fs::exists(out / "config.json")) {
        QuantConfig cfg;
        cfg.version = "gemm";
        cfg.zero_point = true;
        cfg.group_size = 64;
        cfg.method = "rtn";
        FakeQuantized fq = fake_quantize(src, cfg);
        remove_tree(out);
        export_awq_checkpoint(*fq.lm->model, fq.linears, cfg, src.string(), out.string());
    }
    return out;
}

at::Tensor prompt_ids(const Tokenizer& tok) {
    std::vector<int32_t> p = tok.encode("The capital of France is Paris, and the capital of Italy is");
    return at::tensor(std::vector<int64_t>(p.begin(), p.end())).unsqueeze(0);
}

// ---- CPU ------------------------------------------------------------------------------------------

// in_features 576 = 4.5 units of 128: the fast layout's last unit is half zero padding (SmolLM2's q/k/v/gate/up).
TEST(AwqFastLayout, HoldsAHalfUnitOfInFeatures) {
    c10::InferenceMode guard;
    for (bool zp : {true, false}) {
        QuantizedWeight w = random_w4(64, 576, 64, zp, 11);
        AwqLinear lin(w, AwqLayout::Fast, at::kFloat, at::kCPU, "t.fast");
        EXPECT_EQ(lin.packed().qweight.sizes().vec(), (std::vector<int64_t>{5, 4, 2, 32, 4}));
        EXPECT_EQ(lin.packed().scales.sizes().vec(), (std::vector<int64_t>{9, 4, 8}));
        EXPECT_EQ(lin.packed().qzeros.defined(), zp);
        const QuantizedWeight back = lin.quantized();
        EXPECT_TRUE(at::equal(back.q, w.q) && at::equal(back.zeros, w.zeros) && at::equal(back.scales, w.scales));
        const at::Tensor x = at::randn({3, 576});
        EXPECT_TRUE(at::equal(lin.forward(x), at::linear(x, w.dequantize(at::kFloat))));
    }
}

TEST(AwqLinearKernel, SaysWhyTheKernelsCannotRunALayer) {
    const QuantizedWeight w = random_w4(64, 576, 64, true, 1);
    EXPECT_EQ(AwqLinear(w, AwqLayout::Gemm, at::kHalf, at::kCPU).kernel_problem(), "");
    EXPECT_EQ(AwqLinear(w, AwqLayout::Gemv, at::kBFloat16, at::kCPU).kernel_problem(), "");
    EXPECT_EQ(AwqLinear(w, AwqLayout::Fast, at::kHalf, at::kCPU).kernel_problem(), "");
    EXPECT_EQ(AwqLinear(w, AwqLayout::Gemm, at::kFloat, at::kCPU).kernel_problem(),
              "the W4A16 kernels need a float16 or bfloat16 compute dtype, not Float");
    const QuantizedWeight per_channel = random_w4(64, 576, 576, true, 2);  // group 576 = 9 x 64
    EXPECT_EQ(AwqLinear(per_channel, AwqLayout::Fast, at::kHalf, at::kCPU).kernel_problem(),
              "the fast kernels need a power-of-two group size, not 576 (use gemm or gemv)");
    EXPECT_EQ(AwqLinear(per_channel, AwqLayout::Gemm, at::kHalf, at::kCPU).kernel_problem(), "");
    const QuantizedWeight narrow = random_w4(32, 64, 32, true, 3);
    EXPECT_EQ(AwqLinear(narrow, AwqLayout::Gemm, at::kHalf, at::kCPU).kernel_problem(),
              "the W4A16 kernels need out_features and in_features that are multiples of 64 (got 32 x 64)");
    AwqLinear lin(w, AwqLayout::Gemm, at::kHalf, at::kCPU);
    EXPECT_TRUE(lin.kernel_enabled());
    lin.set_kernel_enabled(false);
    EXPECT_FALSE(lin.kernel_enabled());
}

TEST(AwqCudaKernels, InstallRegistersTheForwardOnlyWithKernels) {
    const AwqLinear::CudaForward saved = AwqLinear::cuda_forward();
    install_cuda_kernels();
    install_cuda_kernels();  // idempotent
    const AwqLinear::CudaForward installed = AwqLinear::cuda_forward();
    AwqLinear::set_cuda_forward(saved);  // other tests expect no kernel registered by default
#ifdef AWQ_HAVE_CUDA
    EXPECT_TRUE(cuda_kernels_available());
    EXPECT_NE(installed, nullptr);
#else
    EXPECT_FALSE(cuda_kernels_available());
    EXPECT_EQ(installed, saved);
#endif
}

TEST(AwqKernelChoice, EveryKernelGivesTheSameLogitsOnTheCpu) {
    AWQ_REQUIRE_DEFAULT_MODEL();
    c10::InferenceMode guard;
    const fs::path dir = default_model_w4g64();
    auto base = load_model(dir.string(), ModelOptions{});
    EXPECT_EQ(base->awq_layout, "gemm");
    EXPECT_EQ(base->kernel, "dense");
    const at::Tensor ids = prompt_ids(*base->tokenizer);
    const at::Tensor expected = logits_of(*base->model, ids);
    base.reset();
    for (const std::string kernel : {"gemm", "gemv", "fast", "dense"}) {
        LoadOptions lo;
        lo.kernel = kernel;
        auto lm = load_model(dir.string(), ModelOptions{}, {}, lo);
        const std::string layout = kernel == "dense" ? "gemm" : kernel;
        EXPECT_EQ(lm->awq_layout, layout);
        EXPECT_EQ(lm->kernel, "dense");  // the CPU has no W4A16 kernel
        for (LinearSlot s : {LinearSlot::Q, LinearSlot::K, LinearSlot::Down}) {
            EXPECT_EQ(awq_at(*lm, 29, s).kind(), "awq-" + layout) << kernel;
            EXPECT_EQ(awq_at(*lm, 29, s).kernel_enabled(), kernel != "dense") << kernel;
        }
        const at::Tensor got = logits_of(*lm->model, ids);
        EXPECT_TRUE(at::equal(got, expected)) << kernel << ": max |diff| = " << (got - expected).abs().max().item<double>();
        std::printf("--kernel %s on the CPU: %s layout, logits identical over %lld values\n", kernel.c_str(),
                    layout.c_str(), (long long)got.numel());
    }
}

TEST(AwqKernelChoice, ErrorsNameTheModelTheLayerAndTheOption) {
    AWQ_REQUIRE_PYTHON();
    c10::InferenceMode guard;
    const fs::path tiny = tiny_model_with_tokenizer("qwen2");
    LoadOptions lo;
    lo.kernel = "gemm";
    EXPECT_EQ(error_of([&] { load_model(tiny.string(), ModelOptions{}, {}, lo); }),
              tiny.string() + ": not an AWQ checkpoint; quantize it first with awqlab-cli quantize (--kernel applies to "
                              "4-bit models)");
    if (fs::exists(default_gguf())) {
        EXPECT_EQ(error_of([&] { load_model(default_gguf().string(), ModelOptions{}, {}, lo); }),
                  default_gguf().string() + ": not an AWQ checkpoint; quantize it first with awqlab-cli quantize "
                                            "(--kernel applies to 4-bit models)");
    }
    lo.kernel = "marlin";
    EXPECT_EQ(error_of([&] { load_model(tiny.string(), ModelOptions{}, {}, lo); }),
              "--kernel: must be gemm, gemv, fast or dense, got 'marlin'");

    // The tiny models' down_proj has in_features 160, which the fast layout (k % 64 == 0) cannot hold.
    FakeQuantized fq;
    const fs::path out = export_tiny_rtn_g32(tiny, "kernels-tiny-qwen2-g32", fq);
    lo.kernel = "fast";
    const std::string e = error_of([&] { load_model(out.string(), ModelOptions{}, {}, lo); });
    EXPECT_NE(e.find("'model.layers.0.mlp.down_proj': w4 fast layout: needs"), std::string::npos) << e;
    EXPECT_NE(e.find("k=160"), std::string::npos) << e;
    // gemv holds it: same logits as the checkpoint's gemm layout and as the fake-quantized model.
    lo.kernel = "gemv";
    auto lm = load_model(out.string(), ModelOptions{}, {}, lo);
    EXPECT_EQ(lm->awq_layout, "gemv");
    EXPECT_TRUE(at::equal(logits_of(*lm->model, probe_ids()), logits_of(*fq.lm->model, probe_ids())));
}

// ---- CUDA -----------------------------------------------------------------------------------------

class AwqCudaLinear : public ::testing::Test {
protected:
    void SetUp() override {
        if (!cuda_kernels_available()) GTEST_SKIP() << "this build has no CUDA W4A16 kernels (AWQ_CUDA off or no nvcc)";
        if (!at::hasCUDA()) GTEST_SKIP() << "no CUDA device";
        install_cuda_kernels();
    }
    // Other tests expect no kernel registered (the process-wide default).
    void TearDown() override { AwqLinear::set_cuda_forward(saved_); }

    const AwqLinear::CudaForward saved_ = AwqLinear::cuda_forward();
    const at::Device cuda_ = at::Device(at::kCUDA, 0);
};

struct Deviation {
    double rel_fro = 0;  // ||y - ref|| / ||ref||
    double worst = 0;    // max |y - ref| / (|x| |W|^T + |b|): in units of what rounding can be proportional to
    bool finite = true;
};

// y against the float64 product of x (as given, in its low precision) and the exactly dequantized weight.
Deviation deviation(const at::Tensor& y, const at::Tensor& x, const AwqLinear& lin, const QuantizedWeight& w) {
    const int64_t n = lin.out_features(), k = lin.in_features();
    const at::Tensor W = w.dequantize(at::kFloat).to(at::kDouble);  // (q - z) * s is exact in fp32
    const at::Tensor xd = x.to(at::kCPU, at::kDouble).reshape({-1, k});
    at::Tensor ref = at::matmul(xd, W.t()), scale = at::matmul(xd.abs(), W.abs().t());
    if (lin.bias().defined()) {
        const at::Tensor b = lin.bias().to(at::kCPU, at::kDouble);
        ref = ref + b;
        scale = scale + b.abs();
    }
    const at::Tensor yd = y.to(at::kCPU, at::kDouble).reshape({-1, n});
    const at::Tensor diff = (yd - ref).abs();
    Deviation d;
    d.finite = at::isfinite(yd).all().item<bool>();
    d.rel_fro = diff.norm().item<double>() / ref.norm().item<double>();
    d.worst = (diff / (scale + 1e-30)).max().item<double>();
    return d;
}

// Unit roundoff of the activation dtype: the weight enters the tensor cores (or cuBLAS) rounded to it and y is
// rounded to it, so errors of a few u relative to |x||W| are expected and anything like a wrong nibble is not.
double unit_roundoff(at::ScalarType t) { return t == at::kHalf ? std::ldexp(1.0, -11) : std::ldexp(1.0, -8); }

TEST_F(AwqCudaLinear, EveryLayoutMatchesTheFloat64Reference) {
    c10::InferenceMode guard;
    struct Shape {
        int64_t n, k, group;
    };
    // k 576: a half 128-k unit (fast padding); k 1152 > 1024: split-K in the CUDA-core kernels.
    const std::vector<Shape> shapes = {{192, 576, 64}, {384, 1152, 64}, {256, 640, 128}, {384, 1152, 128}};
    const std::vector<std::vector<int64_t>> leading = {{1, 1}, {5}, {2, 32}, {3, 100}};  // m = 1, 5, 64, 300
    int cases = 0;
    for (const Shape& s : shapes)
        for (bool zp : {true, false}) {
            QuantizedWeight w = random_w4(s.n, s.k, s.group, zp, 100 + s.n + s.k + s.group + zp);
            if (zp) w.bias = at::randn({s.n});  // with and without bias
            for (AwqLayout layout : {AwqLayout::Gemm, AwqLayout::Gemv, AwqLayout::Fast})
                for (at::ScalarType dt : {at::kHalf, at::kBFloat16}) {
                    AwqLinear lin(w, layout, dt, cuda_, "test.linear");
                    ASSERT_EQ(lin.kernel_problem(), "");
                    const double u = unit_roundoff(dt);
                    double worst_rel = 0, worst_elem = 0;
                    for (const auto& lead : leading) {
                        std::vector<int64_t> shape = lead;
                        shape.push_back(s.k);
                        const at::Tensor x = at::randn(shape, at::TensorOptions().dtype(dt).device(cuda_));
                        const at::Tensor y = lin.forward(x);
                        std::vector<int64_t> want = lead;
                        want.push_back(s.n);
                        const std::string what = std::string(awq_layout_name(layout)) + " n" + std::to_string(s.n) +
                                                 " k" + std::to_string(s.k) + " g" + std::to_string(s.group) +
                                                 (zp ? " zp+bias" : " sym") + " " + c10::toString(dt) + " m" +
                                                 std::to_string(x.numel() / s.k);
                        ASSERT_EQ(y.sizes().vec(), want) << what;
                        ASSERT_EQ(y.scalar_type(), dt) << what;
                        const Deviation d = deviation(y, x, lin, w);
                        EXPECT_TRUE(d.finite) << what;
                        // A CPU emulation of both paths (weight rounded to the dtype, fp32 sums, rounded output
                        // and bias add) lands at 0.55-0.85 u and 0.13-0.45 u on these shapes.
                        EXPECT_LE(d.rel_fro, 2 * u) << what;
                        EXPECT_LE(d.worst, 3 * u) << what;
                        worst_rel = std::max(worst_rel, d.rel_fro);
                        worst_elem = std::max(worst_elem, d.worst);
                        ++cases;
                    }
                    std::printf("%s n%lld k%lld g%lld %s %s: max rel. error %.2e (%.2f u), max element error "
                                "%.2f u of |x||W|+|b|\n",
                                awq_layout_name(layout), (long long)s.n, (long long)s.k, (long long)s.group,
                                zp ? "zp " : "sym", c10::toString(dt), worst_rel, worst_rel / u, worst_elem / u);
                }
        }
    EXPECT_EQ(cases, 4 * 2 * 3 * 2 * 4);
}

TEST_F(AwqCudaLinear, InputsOfAnyShapeLayoutAndAlignment) {
    c10::InferenceMode guard;
    QuantizedWeight w = random_w4(192, 576, 64, true, 5);
    w.bias = at::randn({192});
    const auto opts = at::TensorOptions().dtype(at::kHalf).device(cuda_);
    for (AwqLayout layout : {AwqLayout::Gemm, AwqLayout::Gemv, AwqLayout::Fast}) {
        const std::string what = awq_layout_name(layout);
        AwqLinear lin(w, layout, at::kHalf, cuda_, "t.inputs");
        // Not contiguous (a slice of a wider tensor) and not 16-byte aligned (starting one element in).
        const at::Tensor strided = at::randn({2, 7, 600}, opts).narrow(2, 8, 576);
        const at::Tensor unaligned = at::randn({4 * 576 + 1}, opts).narrow(0, 1, 4 * 576).view({4, 576});
        for (const at::Tensor& x : {strided, unaligned}) {
            const at::Tensor y = lin.forward(x);
            std::vector<int64_t> want = x.sizes().vec();
            want.back() = 192;
            EXPECT_EQ(y.sizes().vec(), want) << what;
            const Deviation d = deviation(y, x, lin, w);
            EXPECT_LE(d.rel_fro, 4 * unit_roundoff(at::kHalf)) << what;
        }
        EXPECT_EQ(lin.forward(at::empty({0, 576}, opts)).sizes().vec(), (std::vector<int64_t>{0, 192})) << what;
        const at::Tensor x = at::randn({3, 576}, opts);
        EXPECT_EQ(error_of([&] { lin.forward(x.to(at::kBFloat16)); }),
                  "t.inputs: input dtype BFloat16 does not match the layer's compute dtype Half")
            << what;
        EXPECT_EQ(error_of([&] { lin.forward(at::randn({3, 512}, opts)); }),
                  "t.inputs: input has shape [3, 512], expected [..., 576]")
            << what;
        // Switched off per layer (--kernel dense): the dense fallback, exactly at::linear of the cached weight.
        lin.set_kernel_enabled(false);
        EXPECT_TRUE(at::equal(lin.forward(x), at::linear(x, lin.dense_weight(), lin.bias()))) << what;
        // float32 compute: the kernels are W4A16, so the registered forward uses the dense fallback too.
        AwqLinear f32(w, layout, at::kFloat, cuda_, "t.f32");
        const at::Tensor x32 = x.to(at::kFloat);
        EXPECT_TRUE(at::equal(f32.forward(x32), at::linear(x32, f32.dense_weight(), f32.bias()))) << what;
    }
}

#ifdef AWQ_HAVE_CUDA
// What the decode-step CUDA graphs rely on: after one eager call (workspace made) the forward can be captured,
// and replays compute what eager calls compute on new inputs (split-K counters return to zero between replays).
TEST_F(AwqCudaLinear, CapturedInACudaGraphAfterAWarmUpStep) {
    c10::InferenceMode guard;
    const QuantizedWeight w = random_w4(384, 1152, 128, true, 9);
    const auto opts = at::TensorOptions().dtype(at::kHalf).device(cuda_);
    for (AwqLayout layout : {AwqLayout::Gemm, AwqLayout::Gemv, AwqLayout::Fast})
        for (int64_t m : {1, 8}) {
            const std::string what = std::string(awq_layout_name(layout)) + " m" + std::to_string(m);
            AwqLinear lin(w, layout, at::kHalf, cuda_, "t.graph");
            at::Tensor x = at::randn({m, 1152}, opts);
            cudaDeviceSynchronize();
            const c10::cuda::CUDAStream stream = c10::cuda::getStreamFromPool(false, cuda_.index());
            const c10::cuda::CUDAStreamGuard on_stream(stream);
            lin.forward(x);  // warm-up
            at::cuda::CUDAGraph graph;
            graph.capture_begin();
            const at::Tensor y = lin.forward(x);
            graph.capture_end();
            for (int rep = 0; rep < 3; ++rep) {
                x.copy_(at::randn({m, 1152}, opts));
                graph.replay();
                const at::Tensor eager = lin.forward(x);
                stream.synchronize();
                EXPECT_LE((y.to(at::kFloat) - eager.to(at::kFloat)).abs().max().item<float>(),
                          4 * unit_roundoff(at::kHalf) * eager.to(at::kFloat).abs().max().item<float>())
                    << what << " replay " << rep;
                EXPECT_LE(deviation(y, x, lin, w).rel_fro, 4 * unit_roundoff(at::kHalf)) << what;
            }
        }
}

// A layer larger than any seen before would need a larger workspace during capture: a clear error, nothing
// captured; the same call outside capture works.
TEST_F(AwqCudaLinear, RefusesToGrowTheWorkspaceDuringCapture) {
    c10::InferenceMode guard;
    const QuantizedWeight w = random_w4(2048, 4096, 128, true, 21);  // larger than every other layer in these tests
    AwqLinear lin(w, AwqLayout::Gemm, at::kHalf, cuda_, "t.big");
    const at::Tensor x = at::randn({2, 4096}, at::TensorOptions().dtype(at::kHalf).device(cuda_));
    cudaDeviceSynchronize();
    const c10::cuda::CUDAStream stream = c10::cuda::getStreamFromPool(false, cuda_.index());
    const c10::cuda::CUDAStreamGuard on_stream(stream);
    ASSERT_EQ(cudaStreamBeginCapture(stream.stream(), cudaStreamCaptureModeRelaxed), cudaSuccess);
    const std::string e = error_of([&] { lin.forward(x); });
    cudaGraph_t g = nullptr;
    EXPECT_EQ(cudaStreamEndCapture(stream.stream(), &g), cudaSuccess);
    if (g) cudaGraphDestroy(g);
    EXPECT_NE(e.find("t.big: the W4A16 kernel workspace of cuda:0 must grow from "), std::string::npos) << e;
    EXPECT_NE(e.find("while the stream is being captured into a CUDA graph"), std::string::npos) << e;
    const at::Tensor y = lin.forward(x);
    EXPECT_LE(deviation(y, x, lin, w).rel_fro, 4 * unit_roundoff(at::kHalf));
}
#endif

// The tiny models' shapes (k/v 32 x 64, gate/up 160 x 64, down 64 x 160) are not multiples of 64: asked for by name,
// the kernel is refused naming the layer; by default those layers keep the dense fallback and q/o use the kernel.
TEST_F(AwqCudaLinear, LayersTheKernelsCannotRunAreNamedOrFallBack) {
    AWQ_REQUIRE_PYTHON();
    c10::InferenceMode guard;
    const fs::path tiny = tiny_model_with_tokenizer("qwen2");
    FakeQuantized fq;
    const fs::path out = export_tiny_rtn_g32(tiny, "kernels-tiny-qwen2-g32-cuda", fq);
    ModelOptions mo;
    mo.device = "cuda";
    mo.dtype = "float16";
    LoadOptions lo;
    lo.kernel = "gemm";
    const std::string e = error_of([&] { load_model(out.string(), mo, {}, lo); });
    EXPECT_NE(e.find("'model.layers.0.self_attn.k_proj': the W4A16 kernels need out_features and in_features that are "
                     "multiples of 64 (got 32 x 64) (--kernel gemm; --kernel dense runs any layer)"),
              std::string::npos)
        << e;
    auto lm = load_model(out.string(), mo);
    EXPECT_EQ(lm->kernel, "gemm (15 of 21 linears dense)");
    EXPECT_TRUE(awq_at(*lm, 0, LinearSlot::Q).kernel_enabled());
    EXPECT_FALSE(awq_at(*lm, 0, LinearSlot::K).kernel_enabled());
    const at::Tensor got = logits_of(*lm->model, probe_ids()).to(at::kCPU, at::kDouble);
    const at::Tensor ref = logits_of(*fq.lm->model, probe_ids()).to(at::kDouble);
    const double rel = (got - ref).norm().item<double>() / ref.norm().item<double>();
    EXPECT_LE(rel, 0.02);
    std::printf("tiny qwen2 g32 on CUDA fp16, 6 of 21 linears on the gemm kernel: rel. error %.2e vs fp32 CPU\n", rel);
}

// The default model (w4 g64 gemm export) on CUDA in float16 with each kernel: the whole prompt (m = 14 tokens) and
// one decode step (m = 1) against a float32 CPU reference, no further from it than the dense float16 path is.
TEST_F(AwqCudaLinear, DefaultModelWithEachKernelMatchesTheDensePath) {
    AWQ_REQUIRE_DEFAULT_MODEL();
    c10::InferenceMode guard;
    const fs::path dir = default_model_w4g64();
    auto ref_lm = load_model(dir.string(), ModelOptions{});
    const at::Tensor ids = prompt_ids(*ref_lm->tokenizer);
    const int64_t T = ids.size(1);
    const at::Tensor ref = logits_of(*ref_lm->model, ids).to(at::kDouble);
    const at::Tensor ref_last = ref.narrow(1, T - 1, 1);
    ref_lm.reset();

    ModelOptions mo;
    mo.device = "cuda";
    mo.dtype = "float16";
    auto rel = [](const at::Tensor& a, const at::Tensor& b) { return (a - b).norm().item<double>() / b.norm().item<double>(); };
    auto agree = [](const at::Tensor& a, const at::Tensor& b) {
        return (a.argmax(-1) == b.argmax(-1)).to(at::kDouble).mean().item<double>();
    };
    struct Run {
        at::Tensor full, step;
        std::string kernel;
    };
    auto run = [&](const std::string& kernel) {
        LoadOptions lo;
        lo.kernel = kernel;
        auto lm = load_model(dir.string(), mo, {}, lo);
        Run r;
        r.kernel = lm->kernel;
        r.full = lm->model->forward(ids).to(at::kCPU, at::kDouble);
        KVCache cache = lm->model->make_cache(1, T);
        lm->model->forward(ids.narrow(1, 0, T - 1), &cache);
        r.step = lm->model->forward(ids.narrow(1, T - 1, 1), &cache).to(at::kCPU, at::kDouble);
        return r;
    };
    const Run dense = run("dense");
    EXPECT_EQ(dense.kernel, "dense");
    const double dense_full = rel(dense.full, ref), dense_step = rel(dense.step, ref_last);
    std::printf("dense fp16 on CUDA vs fp32 CPU: rel. error %.2e (prompt), %.2e (decode step), argmax agreement %.3f\n",
                dense_full, dense_step, agree(dense.full, ref));
    for (const std::string kernel : {"", "gemm", "gemv", "fast"}) {
        const Run r = run(kernel);
        EXPECT_EQ(r.kernel, kernel.empty() ? "gemm" : kernel);
        const double full = rel(r.full, ref), step = rel(r.step, ref_last);
        EXPECT_TRUE(at::isfinite(r.full).all().item<bool>()) << kernel;
        EXPECT_LE(full, 1.5 * dense_full + 0.01) << kernel;
        EXPECT_LE(step, 1.5 * dense_step + 0.01) << kernel;
        EXPECT_GE(agree(r.full, ref), agree(dense.full, ref) - 0.15) << kernel;
        std::printf("--kernel %-5s fp16 on CUDA vs fp32 CPU: rel. error %.2e (prompt), %.2e (decode step), argmax "
                    "agreement %.3f; vs dense fp16 %.2e\n",
                    kernel.empty() ? "(ckpt)" : kernel.c_str(), full, step, agree(r.full, ref), rel(r.full, dense.full));
    }
    LoadOptions lo;
    lo.kernel = "fast";
    mo.dtype = "float32";
    EXPECT_EQ(error_of([&] { load_model(dir.string(), mo, {}, lo); }),
              "--kernel: the W4A16 kernels compute in float16 or bfloat16, not float32; pass --dtype float16 or "
              "bfloat16, or use --kernel dense");
    // Without --kernel, float32 compute keeps the dense fallback.
    auto f32 = load_model(dir.string(), mo);
    EXPECT_EQ(f32->kernel, "dense");
}

}  // namespace
}  // namespace awq
