// Rotary embedding of the new token's q and k, and the K/V cache write (decode_ops.h: awq_rope_kv_write).
// Layout: q/k/v rows [batch][heads * head_dim] with row strides (so they can be column ranges of one fused
// QKV output); caches [batch][kv_heads][capacity][head_dim]; cos/sin tables [capacity][head_dim].
// One thread block per (sequence, head), one thread per rotation pair (i, i + head_dim/2). Bytes: q, k, v
// read once, q_out and the two cache rows written once, one table row read (tiny; latency-bound).
#include "decode_common.cuh"

namespace awq::cuda::decode {
namespace {

template <class T>
__global__ void rope_kv_write_kernel(const T* q, int q_stride, const T* k, int k_stride, const T* v, int v_stride,
                                     const T* cos_table, const T* sin_table, const int64_t* position, T* q_out,
                                     T* k_cache, T* v_cache, int q_heads, int kv_heads, int head_dim, int capacity) {
    pdl_wait();
    const int64_t pos = *position;
    if (pos < 0 || pos >= capacity) return;
    pdl_trigger();
    const int b = blockIdx.x, head = blockIdx.y, half_dim = head_dim / 2, i = threadIdx.x;
    const T* c = cos_table + pos * head_dim;
    const T* s = sin_table + pos * head_dim;
    const T* x;
    T* dst;
    if (head < q_heads) {
        x = q + (size_t)b * q_stride + (size_t)head * head_dim;
        dst = q_out + ((size_t)b * q_heads + head) * head_dim;
    } else {
        const int kh = head - q_heads;
        x = k + (size_t)b * k_stride + (size_t)kh * head_dim;
        const size_t slot = (((size_t)b * kv_heads + kh) * capacity + pos) * head_dim;
        dst = k_cache + slot;
        const T* vs = v + (size_t)b * v_stride + (size_t)kh * head_dim;
        v_cache[slot + i] = vs[i];
        v_cache[slot + i + half_dim] = vs[i + half_dim];
    }
    using E = Elt<T>;
    const float x1 = E::to_float(x[i]), x2 = E::to_float(x[i + half_dim]);
    // transformers: q * cos + rotate_half(q) * sin, each product and the sum stored in the activation dtype.
    const float lo = round_to<T>(x1 * E::to_float(c[i])) + round_to<T>(-x2 * E::to_float(s[i]));
    const float hi = round_to<T>(x2 * E::to_float(c[i + half_dim])) + round_to<T>(x1 * E::to_float(s[i + half_dim]));
    dst[i] = E::from_float(lo);
    dst[i + half_dim] = E::from_float(hi);
}

template <class T>
int run(const void* q, int q_stride, const void* k, int k_stride, const void* v, int v_stride, const void* cos_table,
        const void* sin_table, const int64_t* position, void* q_out, void* k_cache, void* v_cache, int batch,
        int q_heads, int kv_heads, int head_dim, int capacity, bool pdl, cudaStream_t stream) {
    const cudaError_t e = launch(rope_kv_write_kernel<T>, dim3(batch, q_heads + kv_heads), dim3(head_dim / 2), pdl,
                                 stream, static_cast<const T*>(q), q_stride, static_cast<const T*>(k), k_stride,
                                 static_cast<const T*>(v), v_stride, static_cast<const T*>(cos_table),
                                 static_cast<const T*>(sin_table), position, static_cast<T*>(q_out),
                                 static_cast<T*>(k_cache), static_cast<T*>(v_cache), q_heads, kv_heads, head_dim,
                                 capacity);
    return e == cudaSuccess ? 0 : fail_cuda("rope_kv_write", e);
}

}  // namespace
}  // namespace awq::cuda::decode

extern "C" int awq_rope_kv_write(awq_dtype dtype, const void* q, int q_stride, const void* k, int k_stride,
                                 const void* v, int v_stride, const void* cos_table, const void* sin_table,
                                 const int64_t* position, void* q_out, void* k_cache, void* v_cache, int batch,
                                 int q_heads, int kv_heads, int head_dim, int capacity, int pdl, cudaStream_t stream) {
    using namespace awq::cuda::decode;
    if (head_dim <= 0 || head_dim % 2 != 0 || head_dim > 256)
        return fail("rope_kv_write: head_dim " + std::to_string(head_dim) + " must be even and at most 256");
    if (q_heads <= 0 || kv_heads <= 0 || capacity <= 0 || batch < 0)
        return fail("rope_kv_write: heads, capacity and batch must be positive");
    if (q_stride < q_heads * head_dim || k_stride < kv_heads * head_dim || v_stride < kv_heads * head_dim)
        return fail("rope_kv_write: a row stride is shorter than its heads");
    if (!q || !k || !v || !cos_table || !sin_table || !position || !q_out || !k_cache || !v_cache)
        return fail("rope_kv_write: null pointer");
    if (batch == 0) return 0;
    return dtype == AWQ_DTYPE_F16
               ? run<half>(q, q_stride, k, k_stride, v, v_stride, cos_table, sin_table, position, q_out, k_cache,
                           v_cache, batch, q_heads, kv_heads, head_dim, capacity, pdl, stream)
               : run<__nv_bfloat16>(q, q_stride, k, k_stride, v, v_stride, cos_table, sin_table, position, q_out,
                                    k_cache, v_cache, batch, q_heads, kv_heads, head_dim, capacity, pdl, stream);
}
