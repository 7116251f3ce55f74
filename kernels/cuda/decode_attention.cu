// Attention of one new token per sequence over its KV cache (decode_ops.h: awq_decode_attention), and the
// same with the new token's rotary embedding and K/V cache write folded in (awq_decode_rope_attention).
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
// Arithmetic that two instances must round alike (the bit-identity of the rope variant) is written with explicit
// fmaf / __fmul_rn: left to the compiler, a multiply and a later add may be contracted in one instance only.
// Bytes: K and V of the valid slots once per q head (query heads that share a kv head re-read it from L2).
// At batch 1 the kernel leaves DRAM mostly idle (a few MB in ~4 us), so it can carry an L2 prefetch of the next
// matmul's weights (awq_l2_prefetch), issued before the PDL wait: that matmul then streams from L2.
//
// Rotary folded in (kRope): q, k and v are the projection's raw rows (column ranges of the merged QKV output).
// Every warp rotates its head's q itself (the rotation pairs element i with i + head_dim/2, which sits in lane
// ^ 16: one shuffle). The new token's slot is not read from the cache: the warp whose slots end at the position
// rotates k itself, takes v from the projection, and uses both from registers. The block of the first q head
// of each kv group, in the split holding the position, also stores them into the cache for later steps; the
// other q heads of the group never read that slot in this step, so no block waits for another. Each value is
// rounded to the dtype exactly where the separate rotary kernel stores it, so the result is bit-identical to
// awq_rope_kv_write followed by awq_decode_attention, one launch (one kernel-to-kernel gap per layer) less.
#include <cfloat>
#include <string>

#include "decode_common.cuh"

namespace awq::cuda::decode {
namespace {

constexpr int kSplit = 256;
constexpr int kWarps = 16;
constexpr int kSlotsPerWarp = kSplit / kWarps;
constexpr int kUnroll = 8;  // K/V rows in flight per warp
constexpr float kLog2e = 1.4426950408889634f;

// E consecutive elements of a row as the registers one access loads (kept packed until used, so that 8 K and 8 V
// rows in flight cost 2 * 8 * E/2 registers, not 2 * 8 * E), unpacked to fp32 and packed back.
template <int E> struct RawOf;
template <> struct RawOf<2> { using type = uint32_t; };
template <> struct RawOf<4> { using type = uint2; };
template <int E> using Raw = typename RawOf<E>::type;

template <class T, int E> __device__ __forceinline__ Raw<E> load_raw(const T* p) {
    return *reinterpret_cast<const Raw<E>*>(p);
}
template <class T, int E> __device__ __forceinline__ void unpack(const Raw<E>& raw, float (&f)[E]) {
    const T* e = reinterpret_cast<const T*>(&raw);
#pragma unroll
    for (int i = 0; i < E; ++i) f[i] = Elt<T>::to_float(e[i]);
}
template <class T, int E> __device__ __forceinline__ Raw<E> pack(const float (&f)[E]) {
    Raw<E> raw;
    T* e = reinterpret_cast<T*>(&raw);
#pragma unroll
    for (int i = 0; i < E; ++i) e[i] = Elt<T>::from_float(f[i]);
    return raw;
}

template <class T> struct AttentionArgs {
    const T* q;  // rope: raw q rows, row stride q_stride; else rotated q [batch][q_heads][HD]
    int q_stride;
    const T *k_new, *v_new;  // rope only: the new token's raw k and v rows (strides k_stride, v_stride)
    int k_stride, v_stride;
    const T *cos_table, *sin_table;  // rope only: [capacity][HD]
    T *k_cache, *v_cache;            // written only by the rope variant, at the position
    const int64_t* position;
    T* out;
    float* scratch;
    int q_heads, kv_heads, capacity;
    float scale_log2;
    awq_l2_prefetch prefetch;  // zeroed when none
};

// rope(x) for one lane's E elements x of a row, c and s of the cos/sin table rows, rounded as the rotary kernel
// stores it: dtype(dtype(x * cos) + dtype(rotate_half(x) * sin)); x's rotation partner is in lane ^ 16 (all 32
// lanes must call this).
template <class T, int E>
__device__ __forceinline__ void rope_lane(const Raw<E>& xr, const Raw<E>& cr, const Raw<E>& sr, int lane, float (&out)[E]) {
    float x[E], c[E], s[E];
    unpack<T, E>(xr, x);
    unpack<T, E>(cr, c);
    unpack<T, E>(sr, s);
    const bool low = lane < 16;  // low half: x * cos - partner * sin; high half: x * cos + partner * sin
#pragma unroll
    for (int e = 0; e < E; ++e) {
        const float partner = __shfl_xor_sync(0xffffffffu, x[e], 16);
        out[e] = round_to<T>(round_to<T>(x[e] * c[e]) + round_to<T>((low ? -partner : partner) * s[e]));
    }
}

template <class T, int HD, bool kRope>
__global__ void __launch_bounds__(kWarps * 32) decode_attention_kernel(const AttentionArgs<T> a) {
    constexpr int E = HD / 32;
    // The L2 prefetch does not depend on the previous kernel (static weights): issued before the wait.
    l2_prefetch_ranges(a.prefetch);
    pdl_wait();
    const int split = blockIdx.x, h = blockIdx.y, b = blockIdx.z;
    const int nsplit = gridDim.x, q_heads = a.q_heads, capacity = a.capacity;
    const int64_t position = *a.position;
    const int len = valid_length(position, capacity);
    const int start = split * kSplit;
    if (start >= len) return;
    pdl_trigger();
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int group = q_heads / a.kv_heads, g = h / group;
    const size_t head_base = ((size_t)b * a.kv_heads + g) * capacity * HD;
    const T* kp = a.k_cache + head_base + lane * E;
    const T* vp = a.v_cache + head_base + lane * E;
    const int w0 = start + warp * kSlotsPerWarp;
    const int w1 = min(w0 + kSlotsPerWarp, len);

    // Rope: the new token's slot is taken from registers, never from the cache. The owner warp (its slots end
    // at the position) rotates the new k; its cache rows are stored after the loop, so that no K/V load of the
    // loop has to wait behind the store (the compiler cannot tell that they never alias).
    const int fresh = kRope && position >= 0 && position < capacity ? (int)position : -1;
    const bool owner = kRope && fresh >= w0 && fresh < w1;  // warp-uniform
    // q (k, v) and the table rows are loaded here but used inside the loop, after its first K/V loads are
    // issued, so those loads do not wait behind these.
    const Raw<E> zero{};
    Raw<E> q_raw = zero, c_raw = zero, s_raw = zero, k_raw = zero, v_new = zero, k_new = zero;
    if constexpr (kRope) {
        const int row = (int)min(max(position, (int64_t)0), (int64_t)capacity - 1);
        c_raw = load_raw<T, E>(a.cos_table + (size_t)row * HD + lane * E);
        s_raw = load_raw<T, E>(a.sin_table + (size_t)row * HD + lane * E);
        q_raw = load_raw<T, E>(a.q + (size_t)b * a.q_stride + (size_t)h * HD + lane * E);
        if (owner) {
            k_raw = load_raw<T, E>(a.k_new + (size_t)b * a.k_stride + (size_t)g * HD + lane * E);
            v_new = load_raw<T, E>(a.v_new + (size_t)b * a.v_stride + (size_t)g * HD + lane * E);
        }
    } else {
        q_raw = load_raw<T, E>(a.q + ((size_t)b * q_heads + h) * HD + lane * E);
    }

    float m = -FLT_MAX, l = 0.f, acc[E];
#pragma unroll
    for (int e = 0; e < E; ++e) acc[e] = 0.f;
    for (int t0 = w0; t0 < w1; t0 += kUnroll) {
        Raw<E> kr[kUnroll], vr[kUnroll];
        float s[kUnroll];
#pragma unroll
        for (int u = 0; u < kUnroll; ++u) {
            const int t = min(t0 + u, w1 - 1);  // clamped rows are loaded but weigh nothing
            if (!(kRope && t == fresh)) {
                kr[u] = load_raw<T, E>(kp + (size_t)t * HD);
                vr[u] = load_raw<T, E>(vp + (size_t)t * HD);
            }
        }
        // After the loads are issued: q in log2 units (softmax via exp2), rotated first with rope (and the new
        // k, which then fills the new slot).
        float qf[E];
        if constexpr (kRope) {
            rope_lane<T, E>(q_raw, c_raw, s_raw, lane, qf);
            if (owner) {
                float kn[E];
                rope_lane<T, E>(k_raw, c_raw, s_raw, lane, kn);
                k_new = pack<T, E>(kn);  // exact: kn is already rounded to the dtype
            }
#pragma unroll
            for (int u = 0; u < kUnroll; ++u)
                if (min(t0 + u, w1 - 1) == fresh) kr[u] = k_new, vr[u] = v_new;
        } else {
            unpack<T, E>(q_raw, qf);
        }
#pragma unroll
        for (int e = 0; e < E; ++e) qf[e] = __fmul_rn(qf[e], a.scale_log2);
#pragma unroll
        for (int u = 0; u < kUnroll; ++u) {
            float kf[E];
            unpack<T, E>(kr[u], kf);
            float d = 0.f;
#pragma unroll
            for (int e = 0; e < E; ++e) d = fmaf(qf[e], kf[e], d);
#pragma unroll
            for (int o = 16; o > 0; o >>= 1) d += __shfl_xor_sync(0xffffffffu, d, o);
            s[u] = t0 + u < w1 ? d : -FLT_MAX;
        }
        float mx = m;
#pragma unroll
        for (int u = 0; u < kUnroll; ++u) mx = fmaxf(mx, s[u]);
        const float corr = exp2f(m - mx);
        l = __fmul_rn(l, corr);
#pragma unroll
        for (int e = 0; e < E; ++e) acc[e] = __fmul_rn(acc[e], corr);
#pragma unroll
        for (int u = 0; u < kUnroll; ++u) {
            const float p = t0 + u < w1 ? exp2f(s[u] - mx) : 0.f;
            l += p;
            float vf[E];
            unpack<T, E>(vr[u], vf);
#pragma unroll
            for (int e = 0; e < E; ++e) acc[e] = fmaf(p, vf[e], acc[e]);
        }
        m = mx;
    }

    if (owner && h % group == 0) {  // the first q head of the kv group stores the new token's k and v
        const size_t at = head_base + (size_t)fresh * HD + lane * E;
        *reinterpret_cast<Raw<E>*>(a.k_cache + at) = k_new;
        *reinterpret_cast<Raw<E>*>(a.v_cache + at) = v_new;
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
        L = fmaf(sm_l[w], wgt[w], L);
    }
    const bool direct = len <= kSplit;  // only this split holds valid slots
    float* part = a.scratch + (((size_t)b * q_heads + h) * nsplit + split) * (HD + 2);
    for (int d = threadIdx.x; d < HD; d += kWarps * 32) {
        float o = 0.f;
#pragma unroll
        for (int w = 0; w < kWarps; ++w) o = fmaf(sm_acc[w][d], wgt[w], o);
        if (direct) a.out[((size_t)b * q_heads + h) * HD + d] = Elt<T>::from_float(o / L);
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
        L = fmaf(p[HD + 1], w, L);
        o = fmaf(p[d], w, o);
    }
    out[((size_t)b * q_heads + h) * HD + d] = Elt<T>::from_float(o / L);
}

int num_splits(int capacity) { return (capacity + kSplit - 1) / kSplit; }

template <class T, int HD, bool kRope>
int run(const AttentionArgs<T>& a, int batch, bool pdl, cudaStream_t stream) {
    const int nsplit = num_splits(a.capacity);
    cudaError_t e = launch(decode_attention_kernel<T, HD, kRope>, dim3(nsplit, a.q_heads, batch), dim3(kWarps * 32),
                           pdl, stream, a);
    if (e != cudaSuccess) return fail_cuda(kRope ? "decode_rope_attention" : "decode_attention", e);
    if (nsplit == 1) return 0;
    e = launch(decode_attention_combine<T, HD>, dim3(a.q_heads, batch), dim3(HD), pdl, stream, a.position,
               static_cast<const float*>(a.scratch), a.out, a.q_heads, a.capacity, nsplit);
    return e == cudaSuccess ? 0 : fail_cuda("decode_attention_combine", e);
}

template <class T, bool kRope> int by_head_dim(const AttentionArgs<T>& a, int head_dim, int batch, bool pdl, cudaStream_t stream) {
    return head_dim == 64 ? run<T, 64, kRope>(a, batch, pdl, stream) : run<T, 128, kRope>(a, batch, pdl, stream);
}

// The checks both entry points share; "" when the call may go ahead.
std::string shape_problem(const char* what, int batch, int q_heads, int kv_heads, int head_dim, int capacity,
                          const float* scratch) {
    const std::string w = what;
    if (head_dim != 64 && head_dim != 128)
        return w + ": head_dim " + std::to_string(head_dim) + " is not supported (64 or 128)";
    if (q_heads <= 0 || kv_heads <= 0 || q_heads % kv_heads != 0)
        return w + ": query heads must be a positive multiple of the kv heads";
    if (capacity <= 0 || batch < 0) return w + ": capacity must be positive";
    if (num_splits(capacity) > 1 && !scratch)
        return w + ": a capacity above 256 needs scratch (awq_decode_attention_scratch_floats)";
    return "";
}

template <class T, bool kRope> int dispatch(const AttentionArgs<T>& a, int batch, int head_dim, bool pdl, cudaStream_t stream) {
    return batch == 0 ? 0 : by_head_dim<T, kRope>(a, head_dim, batch, pdl, stream);
}

template <class T>
AttentionArgs<T> args(const void* q, int q_stride, const void* k, int k_stride, const void* v, int v_stride,
                      const void* cos_table, const void* sin_table, void* k_cache, void* v_cache, const int64_t* position,
                      void* out, float* scratch, int q_heads, int kv_heads, int capacity, float scale,
                      const awq_l2_prefetch* prefetch) {
    return {static_cast<const T*>(q), q_stride, static_cast<const T*>(k), static_cast<const T*>(v), k_stride, v_stride,
            static_cast<const T*>(cos_table), static_cast<const T*>(sin_table), static_cast<T*>(k_cache),
            static_cast<T*>(v_cache), position, static_cast<T*>(out), scratch, q_heads, kv_heads, capacity,
            scale * kLog2e, prefetch ? *prefetch : awq_l2_prefetch{}};
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
                                    const awq_l2_prefetch* prefetch, cudaStream_t stream) {
    using namespace awq::cuda::decode;
    if (std::string p = shape_problem("decode_attention", batch, q_heads, kv_heads, head_dim, capacity, scratch); !p.empty())
        return fail(p);
    if (!q || !k_cache || !v_cache || !position || !out) return fail("decode_attention: null pointer");
    // The plain kernel never writes the caches; the const is cast away only to share the argument block.
    void* kc = const_cast<void*>(k_cache);
    void* vc = const_cast<void*>(v_cache);
    if (dtype == AWQ_DTYPE_F16)
        return dispatch<half, false>(args<half>(q, q_heads * head_dim, nullptr, 0, nullptr, 0, nullptr, nullptr, kc, vc,
                                                position, out, scratch, q_heads, kv_heads, capacity, scale, prefetch),
                                     batch, head_dim, pdl, stream);
    return dispatch<__nv_bfloat16, false>(args<__nv_bfloat16>(q, q_heads * head_dim, nullptr, 0, nullptr, 0, nullptr,
                                                              nullptr, kc, vc, position, out, scratch, q_heads,
                                                              kv_heads, capacity, scale, prefetch),
                                          batch, head_dim, pdl, stream);
}

extern "C" int awq_decode_rope_attention(awq_dtype dtype, const void* q, int q_stride, const void* k, int k_stride,
                                         const void* v, int v_stride, const void* cos_table, const void* sin_table,
                                         const int64_t* position, void* k_cache, void* v_cache, void* out,
                                         float* scratch, int batch, int q_heads, int kv_heads, int head_dim,
                                         int capacity, float scale, int pdl, const awq_l2_prefetch* prefetch,
                                         cudaStream_t stream) {
    using namespace awq::cuda::decode;
    if (std::string p = shape_problem("decode_rope_attention", batch, q_heads, kv_heads, head_dim, capacity, scratch);
        !p.empty())
        return fail(p);
    if (q_stride < q_heads * head_dim || k_stride < kv_heads * head_dim || v_stride < kv_heads * head_dim)
        return fail("decode_rope_attention: a row stride is shorter than its heads");
    // A lane loads head_dim / 32 consecutive elements at once (4 or 8 bytes).
    const size_t lane_bytes = (size_t)head_dim / 32 * 2;
    for (const void* p : {q, k, v, cos_table, sin_table, (const void*)k_cache, (const void*)v_cache, (const void*)out})
        if (!p) return fail("decode_rope_attention: null pointer");
    for (const void* p : {q, k, v})
        if (reinterpret_cast<uintptr_t>(p) % lane_bytes) return fail("decode_rope_attention: q/k/v not aligned to a lane's elements");
    if (((size_t)q_stride * 2) % lane_bytes || ((size_t)k_stride * 2) % lane_bytes || ((size_t)v_stride * 2) % lane_bytes)
        return fail("decode_rope_attention: row strides not multiples of head_dim / 32 elements");
    if (!position) return fail("decode_rope_attention: null pointer");
    if (dtype == AWQ_DTYPE_F16)
        return dispatch<half, true>(args<half>(q, q_stride, k, k_stride, v, v_stride, cos_table, sin_table, k_cache,
                                               v_cache, position, out, scratch, q_heads, kv_heads, capacity, scale, prefetch),
                                    batch, head_dim, pdl, stream);
    return dispatch<__nv_bfloat16, true>(args<__nv_bfloat16>(q, q_stride, k, k_stride, v, v_stride, cos_table,
                                                             sin_table, k_cache, v_cache, position, out, scratch,
                                                             q_heads, kv_heads, capacity, scale, prefetch),
                                         batch, head_dim, pdl, stream);
}
