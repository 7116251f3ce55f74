// AutoAWQ "gemv" layout read as is, on CUDA cores; meant for small m (decode).
//
// Data layout (kernels/cpu/w4_layouts.h): qweight int32 [n][k/8] (8 consecutive k per word, plain order);
// qzeros int32 [n][zw] (8 groups per word); scales fp16 [n][zw*8].
// Block: 128 threads = 32 rows (lane = row, so every activation read is a shared-memory broadcast) x
// 4 warps taking turns over the block's K slice in steps of 64 k: per step a lane loads the 32 contiguous
// bytes of its row (one full sector; two 16-byte loads), two steps in flight.
// Bytes moved: n*k/2 (qweight) + n*zw*4 + n*zw*16 (zeros, scales incl. padding) + m*k*2 per n-block (x,
// from L2 after the first) + m*n*2 (y). Exact fp32 dequantization as in w4a16_gemm.cu.
#include "w4a16_device.cuh"
#include "w4a16_internal.h"

namespace awq::cuda {
namespace {

constexpr int kThreads = 128;

struct GemvParams {
    const int32_t* qweight;
    const int32_t* qzeros;
    const half* scales;
    const void* x;
    void* y;
    float* partials;
    int* counters;
    int m, n, k, group, zw, splits, slice;
};

template <class T, int MT>
__global__ void __launch_bounds__(kThreads) w4a16_gemv_kernel(const GemvParams p) {
    using E = Elt<T>;
    __shared__ __align__(16) float xs[MT][kCudaCoreMaxSliceK];
    __shared__ float red[4][MT][32];
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int tb = blockIdx.x, split = blockIdx.y, nb = blockIdx.z;
    const int row = nb * 32 + lane;  // n % 32 == 0 (checked by the dispatcher)
    const int tok0 = tb * MT;
    const int k0 = split * p.slice, k1 = min(p.k, k0 + p.slice);

    const T* x = static_cast<const T*>(p.x);
    for (int i = tid; i < MT * p.slice; i += kThreads) {
        const int t = i / p.slice, kk = i % p.slice;
        xs[t][kk] = (tok0 + t < p.m && k0 + kk < k1) ? E::to_float(x[(size_t)(tok0 + t) * p.k + k0 + kk]) : 0.f;
    }
    __syncthreads();

    float acc[MT];
#pragma unroll
    for (int t = 0; t < MT; ++t) acc[t] = 0.f;

    const uint4* wrow = reinterpret_cast<const uint4*>(p.qweight + (size_t)row * (p.k / 8));
    const uint32_t* zrow = reinterpret_cast<const uint32_t*>(p.qzeros + (size_t)row * p.zw);
    const half* srow = p.scales + (size_t)row * p.zw * 8;
    for (int kb = k0 + 64 * warp; kb < k1; kb += 2 * 256) {
        // Two steps of 64 k (this one and the one 256 later), four 16-byte loads in flight.
        uint4 q[2][2];
        const bool second = kb + 256 < k1;
#pragma unroll
        for (int s = 0; s < 2; ++s)
#pragma unroll
            for (int h = 0; h < 2; ++h)
                q[s][h] = (s == 0 || second) ? __ldcs(wrow + (kb + 256 * s) / 32 + h) : make_uint4(0, 0, 0, 0);
#pragma unroll
        for (int s = 0; s < 2; ++s) {
            if (s == 1 && !second) break;
            const int ks = kb + 256 * s;
#pragma unroll
            for (int h = 0; h < 2; ++h) {  // 32 k each, always inside one group (group % 32 == 0)
                const int g = (ks + 32 * h) / p.group;
                const float zf = __int_as_float(0x4B000000 | ((__ldg(zrow + g / 8) >> (4 * (g % 8))) & 0xF));
                const float sf = __half2float(__ldg(srow + g));
                const uint32_t words[4] = {q[s][h].x, q[s][h].y, q[s][h].z, q[s][h].w};
                const float* xk = &xs[0][ks + 32 * h - k0];
#pragma unroll
                for (int wd = 0; wd < 4; ++wd)
#pragma unroll
                    for (int j = 0; j < 8; ++j) {
                        const float wv = (__int_as_float(0x4B000000 | ((words[wd] >> (4 * j)) & 0xF)) - zf) * sf;
#pragma unroll
                        for (int t = 0; t < MT; ++t)
                            acc[t] = fmaf(xk[t * kCudaCoreMaxSliceK + wd * 8 + j], wv, acc[t]);
                    }
            }
        }
    }

#pragma unroll
    for (int t = 0; t < MT; ++t) red[warp][t][lane] = acc[t];
    __syncthreads();
    if (warp != 0) return;
    float out[MT];
#pragma unroll
    for (int t = 0; t < MT; ++t) out[t] = red[0][t][lane] + red[1][t][lane] + red[2][t][lane] + red[3][t][lane];
    // From here on only warp 0 works; the split-K finish needs every thread of the block, so it uses
    // a warp-level version: warp 0 is the whole group of writers.
    T* y = static_cast<T*>(p.y);
    if (p.splits == 1) {
#pragma unroll
        for (int t = 0; t < MT; ++t)
            if (tok0 + t < p.m) y[(size_t)(tok0 + t) * p.n + row] = E::from_float(out[t]);
        return;
    }
#pragma unroll
    for (int t = 0; t < MT; ++t)
        if (tok0 + t < p.m) p.partials[((size_t)split * p.m + tok0 + t) * p.n + row] = out[t];
    __threadfence();
    __syncwarp();
    int last = 0;
    if (lane == 0) {
        int* counter = p.counters + (size_t)nb * gridDim.x + tb;
        last = atomicAdd(counter, 1) == p.splits - 1;
        if (last) *counter = 0;
    }
    last = __shfl_sync(0xffffffffu, last, 0);
    if (!last) return;
    __threadfence();
#pragma unroll
    for (int t = 0; t < MT; ++t)
        if (tok0 + t < p.m) {
            float s = 0.f;
            for (int sp = 0; sp < p.splits; ++sp) s += __ldcg(p.partials + ((size_t)sp * p.m + tok0 + t) * p.n + row);
            y[(size_t)(tok0 + t) * p.n + row] = E::from_float(s);
        }
}

template <class T, int MT>
cudaError_t launch(const GemvParams& p, cudaStream_t stream) {
    const dim3 grid((p.m + MT - 1) / MT, p.splits, p.n / 32);
    w4a16_gemv_kernel<T, MT><<<grid, kThreads, 0, stream>>>(p);
    return cudaGetLastError();
}

template <class T>
cudaError_t launch_t(const GemvParams& p, cudaStream_t stream) {
    if (p.m <= 1) return launch<T, 1>(p, stream);
    if (p.m <= 2) return launch<T, 2>(p, stream);
    if (p.m <= 4) return launch<T, 4>(p, stream);
    return launch<T, 8>(p, stream);
}

}  // namespace

cudaError_t gemv_direct(const awq_w4_weight& w, const void* x, int m, awq_dtype dtype, void* y, int splits,
                        const SplitScratch& scratch, cudaStream_t stream) {
    GemvParams p;
    p.qweight = static_cast<const int32_t*>(w.qweight);
    p.qzeros = static_cast<const int32_t*>(w.qzeros);
    p.scales = static_cast<const half*>(w.scales);
    p.x = x;
    p.y = y;
    p.partials = scratch.partials;
    p.counters = scratch.counters;
    p.m = m;
    p.n = w.n;
    p.k = w.k;
    p.group = w.group;
    p.zw = w.zeros_width;
    const int steps = w.k / 64;
    splits = max(splits, (w.k + kCudaCoreMaxSliceK - 1) / kCudaCoreMaxSliceK);
    const int per = (steps + splits - 1) / splits;
    p.slice = per * 64;
    p.splits = (steps + per - 1) / per;
    return dtype == AWQ_DTYPE_F16 ? launch_t<half>(p, stream) : launch_t<__nv_bfloat16>(p, stream);
}

}  // namespace awq::cuda
