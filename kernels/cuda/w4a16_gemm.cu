// AutoAWQ "gemm" layout read as is, on CUDA cores; meant for small m (decode), where it streams the
// packed weight once. Larger m takes the dequantize + cuBLAS path (w4a16_launch.cu).
//
// Data layout (kernels/cpu/w4_layouts.h): qweight int32 [k][n/8] with nibble j holding column
// 8c + kGemmOrder[j]; qzeros int32 [k/group][n/8] the same way; scales fp16 [k/group][n].
// Block: 256 threads = 32 word columns (lane; 256 output columns) x 8 warps that take turns over the
// block's K slice in runs of 32 rows; each thread keeps 32 independent 4-byte loads in flight (the 32 rows
// of its run), coalesced across the warp (128 contiguous bytes per row).
// Bytes moved: n*k/2 (qweight) + n*k/group*2.5 (scales, zeros) + m*k*2 per n-block (x, from L2 after the
// first) + m*n*2 (y). Values are dequantized exactly in fp32 ((2^23 + q) - (2^23 + z), times the scale),
// so the only rounding is fp32 accumulation.
#include "w4a16_device.cuh"
#include "w4a16_internal.h"

namespace awq::cuda {
namespace {

constexpr int kThreads = 256;
// Column j of a run of 8 sits in nibble (j & 1) * 4 + j / 2 (the inverse of kGemmOrder = {0,2,4,6,1,3,5,7}).
__device__ __forceinline__ constexpr int unpack_pos(int j) { return (j & 1) * 4 + (j >> 1); }

struct GemmParams {
    const int32_t* qweight;
    const int32_t* qzeros;
    const half* scales;
    const void* x;
    void* y;
    float* partials;
    int* counters;
    int m, n, k, group, splits, slice;
};

template <class T, int MT>
__global__ void __launch_bounds__(kThreads) w4a16_gemm_kernel(const GemmParams p) {
    using E = Elt<T>;
    __shared__ __align__(16) float xs[MT][kCudaCoreMaxSliceK];
    __shared__ __align__(16) float red[8][32 * 8];
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int tb = blockIdx.x, split = blockIdx.y, nb = blockIdx.z;
    const int nw = p.n / 8, word = nb * 32 + lane;
    const bool valid = word < nw;
    const int tok0 = tb * MT;
    const int k0 = split * p.slice, k1 = min(p.k, k0 + p.slice);

    const T* x = static_cast<const T*>(p.x);
    for (int i = tid; i < MT * p.slice; i += kThreads) {
        const int t = i / p.slice, kk = i % p.slice;
        xs[t][kk] = (tok0 + t < p.m && k0 + kk < k1) ? E::to_float(x[(size_t)(tok0 + t) * p.k + k0 + kk]) : 0.f;
    }
    __syncthreads();

    float acc[MT][8];
#pragma unroll
    for (int t = 0; t < MT; ++t)
#pragma unroll
        for (int c = 0; c < 8; ++c) acc[t][c] = 0.f;

    int cur_g = -1;
    float zf[8], sf[8];
    if (valid) {
        for (int kb = k0 + 32 * warp; kb < k1; kb += 256) {
            uint32_t q[32];
#pragma unroll
            for (int r = 0; r < 32; ++r) q[r] = __ldcs(reinterpret_cast<const unsigned*>(p.qweight) + (size_t)(kb + r) * nw + word);
            const int g = kb / p.group;  // runs of 32 rows never straddle a group (group % 32 == 0)
            if (g != cur_g) {
                cur_g = g;
                const uint32_t zw = __ldg(reinterpret_cast<const unsigned*>(p.qzeros) + (size_t)g * nw + word);
                const uint4 s4 = __ldg(reinterpret_cast<const uint4*>(p.scales + (size_t)g * p.n + 8 * word));
                const half* sh = reinterpret_cast<const half*>(&s4);
#pragma unroll
                for (int c = 0; c < 8; ++c) {
                    zf[c] = __int_as_float(0x4B000000 | ((zw >> (4 * unpack_pos(c))) & 0xF));
                    sf[c] = __half2float(sh[c]);
                }
            }
#pragma unroll
            for (int r = 0; r < 32; ++r) {
                float xv[MT];
#pragma unroll
                for (int t = 0; t < MT; ++t) xv[t] = xs[t][kb - k0 + r];
#pragma unroll
                for (int c = 0; c < 8; ++c) {
                    const float wv = (__int_as_float(0x4B000000 | ((q[r] >> (4 * unpack_pos(c))) & 0xF)) - zf[c]) * sf[c];
#pragma unroll
                    for (int t = 0; t < MT; ++t) acc[t][c] = fmaf(xv[t], wv, acc[t][c]);
                }
            }
        }
    }

    // Sum the 8 warps' partial sums per token; thread tid then owns column 8 * (tid / 8) + tid % 8 of the block.
    T* y = static_cast<T*>(p.y);
    const int col = nb * 256 + tid;
    const bool col_ok = col < p.n;
    float out[MT];
#pragma unroll
    for (int t = 0; t < MT; ++t) {
#pragma unroll
        for (int c = 0; c < 8; ++c) red[warp][lane * 8 + c] = acc[t][c];
        __syncthreads();
        float s = 0.f;
#pragma unroll
        for (int w = 0; w < 8; ++w) s += red[w][tid];
        out[t] = s;
        __syncthreads();
    }
    if (p.splits == 1) {
#pragma unroll
        for (int t = 0; t < MT; ++t)
            if (col_ok && tok0 + t < p.m) y[(size_t)(tok0 + t) * p.n + col] = E::from_float(out[t]);
        return;
    }
#pragma unroll
    for (int t = 0; t < MT; ++t)
        if (col_ok && tok0 + t < p.m) p.partials[((size_t)split * p.m + tok0 + t) * p.n + col] = out[t];
    if (!splitk_arrive(p.counters + (size_t)nb * gridDim.x + tb, p.splits)) return;
#pragma unroll
    for (int t = 0; t < MT; ++t)
        if (col_ok && tok0 + t < p.m) {
            float s = 0.f;
            for (int sp = 0; sp < p.splits; ++sp) s += __ldcg(p.partials + ((size_t)sp * p.m + tok0 + t) * p.n + col);
            y[(size_t)(tok0 + t) * p.n + col] = E::from_float(s);
        }
}

template <class T, int MT>
cudaError_t launch(const GemmParams& p, cudaStream_t stream) {
    const dim3 grid((p.m + MT - 1) / MT, p.splits, (p.n / 8 + 31) / 32);
    w4a16_gemm_kernel<T, MT><<<grid, kThreads, 0, stream>>>(p);
    return cudaGetLastError();
}

template <class T>
cudaError_t launch_t(const GemmParams& p, cudaStream_t stream) {
    if (p.m <= 1) return launch<T, 1>(p, stream);
    if (p.m <= 2) return launch<T, 2>(p, stream);
    if (p.m <= 4) return launch<T, 4>(p, stream);
    return launch<T, 8>(p, stream);
}

}  // namespace

cudaError_t gemm_direct(const awq_w4_weight& w, const void* x, int m, awq_dtype dtype, void* y, int splits,
                        const SplitScratch& scratch, cudaStream_t stream) {
    GemmParams p;
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
    const int runs = w.k / 32;
    splits = max(splits, (w.k + kCudaCoreMaxSliceK - 1) / kCudaCoreMaxSliceK);  // slice must fit in xs
    const int per = (runs + splits - 1) / splits;
    p.slice = per * 32;
    p.splits = (runs + per - 1) / per;
    return dtype == AWQ_DTYPE_F16 ? launch_t<half>(p, stream) : launch_t<__nv_bfloat16>(p, stream);
}

}  // namespace awq::cuda
