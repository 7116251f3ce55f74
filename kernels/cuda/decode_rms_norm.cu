// Residual add folded into RMSNorm (decode_ops.h: awq_add_rms_norm).
// Layout: residual, delta, out [rows][hidden] row-major, weight [hidden]; one thread block per row, each
// thread owning 8-element (16-byte) vectors. Bytes: the row and delta read once, residual and out written
// once, the weight read once per row (from L2 after the first). At batch 1 the kernel is latency-bound (one
// block), which is why it keeps the row in registers and triggers the dependent launch after its reduction.
#include "decode_common.cuh"

namespace awq::cuda::decode {
namespace {

constexpr int kThreads = 256;

// Rows up to kThreads * 8 * kRegVecs elements keep their values in registers between the two phases (one
// global round trip fewer, and the weight is loaded before the reduction); longer rows re-read them.
constexpr int kRegVecs = 4;

template <class T>
__global__ void __launch_bounds__(kThreads)
add_rms_norm_kernel(T* residual, const T* delta, const T* weight, T* out, int hidden, float eps) {
    pdl_wait();
    const size_t row = blockIdx.x;
    T* r = residual + row * hidden;
    const T* d = delta ? delta + row * hidden : nullptr;
    T* o = out + row * hidden;
    const int nvec = hidden / 8;
    const bool in_registers = nvec <= kThreads * kRegVecs;

    Vec8<T> keep[kRegVecs], w_keep[kRegVecs];
    float ss = 0.f;
    if (in_registers) {
#pragma unroll
        for (int j = 0; j < kRegVecs; ++j) {
            const int i = threadIdx.x + j * kThreads;
            if (i >= nvec) {  // (no break: the loop must unroll so that keep[] stays in registers)
                for (int e = 0; e < 8; ++e) keep[j].v[e] = 0.f;
                continue;
            }
            keep[j].load(r + 8 * i);
            w_keep[j].load(weight + 8 * i);
            if (d) {
                Vec8<T> y;
                y.load(d + 8 * i);
#pragma unroll
                for (int e = 0; e < 8; ++e) keep[j].v[e] = round_to<T>(keep[j].v[e] + y.v[e]);  // h = x + attn
                keep[j].store(r + 8 * i);
            }
#pragma unroll
            for (int e = 0; e < 8; ++e) ss += keep[j].v[e] * keep[j].v[e];
        }
    } else {
        for (int i = threadIdx.x; i < nvec; i += kThreads) {
            Vec8<T> x;
            x.load(r + 8 * i);
            if (d) {
                Vec8<T> y;
                y.load(d + 8 * i);
#pragma unroll
                for (int e = 0; e < 8; ++e) x.v[e] = round_to<T>(x.v[e] + y.v[e]);
                x.store(r + 8 * i);
            }
#pragma unroll
            for (int e = 0; e < 8; ++e) ss += x.v[e] * x.v[e];
        }
    }
    __shared__ float warp_sums[kThreads / 32];
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) ss += __shfl_xor_sync(0xffffffffu, ss, off);
    if ((threadIdx.x & 31) == 0) warp_sums[threadIdx.x / 32] = ss;
    __syncthreads();
    float total = 0.f;
#pragma unroll
    for (int w = 0; w < kThreads / 32; ++w) total += warp_sums[w];
    pdl_trigger();
    const float inv = rsqrtf(total / (float)hidden + eps);

    if (in_registers) {
#pragma unroll
        for (int j = 0; j < kRegVecs; ++j) {
            const int i = threadIdx.x + j * kThreads;
            if (i >= nvec) continue;
#pragma unroll
            for (int e = 0; e < 8; ++e) keep[j].v[e] = w_keep[j].v[e] * round_to<T>(keep[j].v[e] * inv);
            keep[j].store(o + 8 * i);
        }
    } else {
        for (int i = threadIdx.x; i < nvec; i += kThreads) {
            Vec8<T> x, w;
            x.load(r + 8 * i);  // this thread's own values (written above when there was a delta)
            w.load(weight + 8 * i);
#pragma unroll
            for (int e = 0; e < 8; ++e) x.v[e] = w.v[e] * round_to<T>(x.v[e] * inv);  // weight * normed.to(dtype)
            x.store(o + 8 * i);
        }
    }
}

template <class T>
int run(void* residual, const void* delta, const void* weight, void* out, int rows, int hidden, float eps, bool pdl,
        cudaStream_t stream) {
    const cudaError_t e = launch(add_rms_norm_kernel<T>, dim3(rows), dim3(kThreads), pdl, stream,
                                 static_cast<T*>(residual), static_cast<const T*>(delta),
                                 static_cast<const T*>(weight), static_cast<T*>(out), hidden, eps);
    return e == cudaSuccess ? 0 : fail_cuda("add_rms_norm", e);
}

}  // namespace
}  // namespace awq::cuda::decode

extern "C" int awq_add_rms_norm(awq_dtype dtype, void* residual, const void* delta, const void* weight, void* out,
                                int rows, int hidden, float eps, int pdl, cudaStream_t stream) {
    using namespace awq::cuda::decode;
    if (rows < 0 || hidden <= 0 || hidden % 8 != 0)
        return fail("add_rms_norm: hidden size " + std::to_string(hidden) + " is not a positive multiple of 8");
    if (!residual || !weight || !out) return fail("add_rms_norm: null pointer");
    if (misaligned16(residual) || misaligned16(delta) || misaligned16(weight) || misaligned16(out))
        return fail("add_rms_norm: pointers must be 16-byte aligned");
    if (rows == 0) return 0;
    return dtype == AWQ_DTYPE_F16 ? run<half>(residual, delta, weight, out, rows, hidden, eps, pdl, stream)
                                  : run<__nv_bfloat16>(residual, delta, weight, out, rows, hidden, eps, pdl, stream);
}
