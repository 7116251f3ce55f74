// Attention of one new token per sequence over its KV cache (decode_ops.h: awq_decode_attention).
//
// Layout: q [batch][q_heads][head_dim]; caches [batch][kv_heads][capacity][head_dim]; out [batch][q_heads *
// head_dim] (what the o_proj reads). Grid (split, q head, sequence); a split is kSplit = 256 cache slots, one
// thread block of 16 warps, 16 slots per warp (two rounds of 8 rows in flight: at batch 1 the kernel is bound
// by the latency of those rounds, not by bandwidth, so more warps with fewer rounds each is faster). A lane holds head_dim / 32 consecutive elements of q, of each K
// row and of the output, so a warp reads one K or V row as one coalesced 128/256-byte line; the q.k dot is a
// 5-step butterfly. Each warp keeps an online softmax (running max, sum, weighted V) in fp32 over its slots,
// the warps merge in shared memory, and a block whose split is the only valid one writes the output directly.
// Otherwise (position >= kSplit) it stores (sum of p*V, max, sum of p) to scratch and decode_attention_combine
// merges the splits. Splits that start past the position exit at once, so the grid can be sized by the
// capacity (fixed for a CUDA graph) while the work follows the valid length.
// Bytes: K and V of the valid slots once per q head (query heads that share a kv head re-read it from L2).
#include <cfloat>

#include "decode_common.cuh"

namespace awq::cuda::decode {
namespace {

constexpr int kSplit = 256;
constexpr int kWarps = 16;
constexpr int kSlotsPerWarp = kSplit / kWarps;
constexpr int kUnroll = 8;  // K/V rows in flight per warp
constexpr float kLog2e = 1.4426950408889634f;

template <class T, int E> struct Lane;  // E consecutive elements of a row, loaded in one access
template <class T> struct Lane<T, 2> {
    static __device__ __forceinline__ void load(const T* p, float (&f)[2]) {
        const uint32_t raw = *reinterpret_cast<const uint32_t*>(p);
        const T* e = reinterpret_cast<const T*>(&raw);
        f[0] = Elt<T>::to_float(e[0]);
        f[1] = Elt<T>::to_float(e[1]);
    }
};
template <class T> struct Lane<T, 4> {
    static __device__ __forceinline__ void load(const T* p, float (&f)[4]) {
        const uint2 raw = *reinterpret_cast<const uint2*>(p);
        const T* e = reinterpret_cast<const T*>(&raw);
#pragma unroll
        for (int i = 0; i < 4; ++i) f[i] = Elt<T>::to_float(e[i]);
    }
};

template <class T, int HD>
__global__ void __launch_bounds__(kWarps * 32)
decode_attention_kernel(const T* q, const T* k_cache, const T* v_cache, const int64_t* position, T* out,
                        float* scratch, int q_heads, int kv_heads, int capacity, float scale_log2) {
    constexpr int E = HD / 32;
    pdl_wait();
    const int split = blockIdx.x, h = blockIdx.y, b = blockIdx.z;
    const int nsplit = gridDim.x;
    const int len = valid_length(*position, capacity);
    const int start = split * kSplit;
    if (start >= len) return;
    pdl_trigger();
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int g = h / (q_heads / kv_heads);
    const size_t head_base = ((size_t)b * kv_heads + g) * capacity * HD;
    const T* kp = k_cache + head_base + lane * E;
    const T* vp = v_cache + head_base + lane * E;

    float qf[E];
    Lane<T, E>::load(q + ((size_t)b * q_heads + h) * HD + lane * E, qf);
#pragma unroll
    for (int e = 0; e < E; ++e) qf[e] *= scale_log2;  // scores in log2 units: softmax via exp2

    float m = -FLT_MAX, l = 0.f, acc[E];
#pragma unroll
    for (int e = 0; e < E; ++e) acc[e] = 0.f;
    const int w0 = start + warp * kSlotsPerWarp;
    const int w1 = min(w0 + kSlotsPerWarp, len);
    for (int t0 = w0; t0 < w1; t0 += kUnroll) {
        float kf[kUnroll][E], vf[kUnroll][E], s[kUnroll];
#pragma unroll
        for (int u = 0; u < kUnroll; ++u) {
            const int t = min(t0 + u, w1 - 1);  // clamped rows are loaded but weigh nothing
            Lane<T, E>::load(kp + (size_t)t * HD, kf[u]);
            Lane<T, E>::load(vp + (size_t)t * HD, vf[u]);
        }
#pragma unroll
        for (int u = 0; u < kUnroll; ++u) {
            float d = 0.f;
#pragma unroll
            for (int e = 0; e < E; ++e) d += qf[e] * kf[u][e];
#pragma unroll
            for (int o = 16; o > 0; o >>= 1) d += __shfl_xor_sync(0xffffffffu, d, o);
            s[u] = t0 + u < w1 ? d : -FLT_MAX;
        }
        float mx = m;
#pragma unroll
        for (int u = 0; u < kUnroll; ++u) mx = fmaxf(mx, s[u]);
        const float corr = exp2f(m - mx);
        l *= corr;
#pragma unroll
        for (int e = 0; e < E; ++e) acc[e] *= corr;
#pragma unroll
        for (int u = 0; u < kUnroll; ++u) {
            const float p = t0 + u < w1 ? exp2f(s[u] - mx) : 0.f;
            l += p;
#pragma unroll
            for (int e = 0; e < E; ++e) acc[e] += p * vf[u][e];
        }
        m = mx;
    }

    // Merge the warps (a warp with no slots has l = 0 and weighs nothing).
    __shared__ float sm_m[kWarps], sm_l[kWarps], sm_acc[kWarps][HD];
    if (lane == 0) {
        sm_m[warp] = m;
        sm_l[warp] = l;
    }
#pragma unroll
    for (int e = 0; e < E; ++e) sm_acc[warp][lane * E + e] = acc[e];
    __syncthreads();
    float M = -FLT_MAX;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) M = fmaxf(M, sm_m[w]);
    float L = 0.f, wgt[kWarps];
#pragma unroll
    for (int w = 0; w < kWarps; ++w) {
        wgt[w] = sm_l[w] > 0.f ? exp2f(sm_m[w] - M) : 0.f;
        L += sm_l[w] * wgt[w];
    }
    const bool direct = len <= kSplit;  // only this split holds valid slots
    float* part = scratch + (((size_t)b * q_heads + h) * nsplit + split) * (HD + 2);
    for (int d = threadIdx.x; d < HD; d += kWarps * 32) {
        float o = 0.f;
#pragma unroll
        for (int w = 0; w < kWarps; ++w) o += sm_acc[w][d] * wgt[w];
        if (direct) out[((size_t)b * q_heads + h) * HD + d] = Elt<T>::from_float(o / L);
        else part[d] = o;
    }
    if (!direct && threadIdx.x == 0) {
        part[HD] = M;
        part[HD + 1] = L;
    }
}

// One block per (q head, sequence), one thread per output element: merges the splits' partial softmaxes.
template <class T, int HD>
__global__ void decode_attention_combine(const int64_t* position, const float* scratch, T* out, int q_heads,
                                         int capacity, int nsplit) {
    pdl_wait();
    const int len = valid_length(*position, capacity);
    if (len <= kSplit) return;  // the attention kernel wrote the output itself
    pdl_trigger();
    const int h = blockIdx.x, b = blockIdx.y, d = threadIdx.x;
    const int used = (len + kSplit - 1) / kSplit;
    const float* part = scratch + ((size_t)b * q_heads + h) * nsplit * (HD + 2);
    float M = -FLT_MAX;
    for (int s = 0; s < used; ++s) M = fmaxf(M, part[s * (HD + 2) + HD]);
    float L = 0.f, o = 0.f;
    for (int s = 0; s < used; ++s) {
        const float* p = part + s * (HD + 2);
        const float w = exp2f(p[HD] - M);
        L += p[HD + 1] * w;
        o += p[d] * w;
    }
    out[((size_t)b * q_heads + h) * HD + d] = Elt<T>::from_float(o / L);
}

int num_splits(int capacity) { return (capacity + kSplit - 1) / kSplit; }

template <class T, int HD>
int run(const void* q, const void* k_cache, const void* v_cache, const int64_t* position, void* out, float* scratch,
        int batch, int q_heads, int kv_heads, int capacity, float scale, bool pdl, cudaStream_t stream) {
    const int nsplit = num_splits(capacity);
    cudaError_t e = launch(decode_attention_kernel<T, HD>, dim3(nsplit, q_heads, batch), dim3(kWarps * 32), pdl,
                           stream, static_cast<const T*>(q), static_cast<const T*>(k_cache),
                           static_cast<const T*>(v_cache), position, static_cast<T*>(out), scratch, q_heads,
                           kv_heads, capacity, scale * kLog2e);
    if (e != cudaSuccess) return fail_cuda("decode_attention", e);
    if (nsplit == 1) return 0;
    e = launch(decode_attention_combine<T, HD>, dim3(q_heads, batch), dim3(HD), pdl, stream, position,
               static_cast<const float*>(scratch), static_cast<T*>(out), q_heads, capacity, nsplit);
    return e == cudaSuccess ? 0 : fail_cuda("decode_attention_combine", e);
}

template <class T>
int by_head_dim(const void* q, const void* k_cache, const void* v_cache, const int64_t* position, void* out,
                float* scratch, int batch, int q_heads, int kv_heads, int head_dim, int capacity, float scale, bool pdl,
                cudaStream_t stream) {
    if (head_dim == 64)
        return run<T, 64>(q, k_cache, v_cache, position, out, scratch, batch, q_heads, kv_heads, capacity, scale, pdl,
                          stream);
    return run<T, 128>(q, k_cache, v_cache, position, out, scratch, batch, q_heads, kv_heads, capacity, scale, pdl,
                       stream);
}

}  // namespace
}  // namespace awq::cuda::decode

extern "C" size_t awq_decode_attention_scratch_floats(int batch, int q_heads, int head_dim, int capacity) {
    const int nsplit = awq::cuda::decode::num_splits(capacity);
    return nsplit <= 1 ? 0 : (size_t)batch * q_heads * nsplit * (head_dim + 2);
}

extern "C" int awq_decode_attention(awq_dtype dtype, const void* q, const void* k_cache, const void* v_cache,
                                    const int64_t* position, void* out, float* scratch, int batch, int q_heads,
                                    int kv_heads, int head_dim, int capacity, float scale, int pdl,
                                    cudaStream_t stream) {
    using namespace awq::cuda::decode;
    if (head_dim != 64 && head_dim != 128)
        return fail("decode_attention: head_dim " + std::to_string(head_dim) + " is not supported (64 or 128)");
    if (q_heads <= 0 || kv_heads <= 0 || q_heads % kv_heads != 0)
        return fail("decode_attention: query heads must be a positive multiple of the kv heads");
    if (capacity <= 0 || batch < 0) return fail("decode_attention: capacity must be positive");
    if (!q || !k_cache || !v_cache || !position || !out) return fail("decode_attention: null pointer");
    if (num_splits(capacity) > 1 && !scratch)
        return fail("decode_attention: a capacity above 256 needs scratch (awq_decode_attention_scratch_floats)");
    if (batch == 0) return 0;
    return dtype == AWQ_DTYPE_F16 ? by_head_dim<half>(q, k_cache, v_cache, position, out, scratch, batch, q_heads,
                                                      kv_heads, head_dim, capacity, scale, pdl, stream)
                                  : by_head_dim<__nv_bfloat16>(q, k_cache, v_cache, position, out, scratch, batch,
                                                               q_heads, kv_heads, head_dim, capacity, scale, pdl,
                                                               stream);
}
