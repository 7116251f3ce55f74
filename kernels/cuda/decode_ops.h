#pragma once
// Fused kernels for one decode step of a Llama-family block (one new token per sequence). Unfused, the
// step between the matmuls is a few dozen small ATen kernels per layer (RMSNorm alone is five, rotary
// five per tensor); at batch 1 their launch gaps cost more than the matmuls' reading of 4-bit weights.
// These replace them with four kinds of kernel, each one launch:
//   add + RMSNorm      h += delta; out = norm(h) * w            (residual add folded into the next norm)
//   rotary + KV write  q' = rope(q); cache_k[pos] = rope(k); cache_v[pos] = v
//   decode attention   softmax(q' K^T * scale) V over cache slots 0..pos (the valid length only)
//                      (also with the rotary + KV write folded in: awq_decode_rope_attention)
//   SiLU * up          out = silu(gate) * up
// The position is read from device memory, so the launches are the same every step (CUDA-graph safe).
//
// Numerics follow transformers' Llama in fp16/bf16 (see each function); attention accumulates in fp32
// like the fused SDPA kernels do. A plain C interface over raw device pointers (no LibTorch), like w4a16.h.
// Every function returns 0 on success; otherwise nonzero, nothing launched, and awq_decode_last_error() says
// why. With pdl = 1 the kernel is launched with programmatic dependent launch: it waits for the previous
// kernel in the stream before touching memory, and lets the next one start launching early.
#include <cuda_runtime.h>
#include <stdint.h>

#include "w4a16.h"  // awq_dtype

#ifdef __cplusplus
extern "C" {
#endif

// rows x hidden, row-major. residual [rows][hidden] is updated in place when delta is non-NULL:
// residual = dtype(residual + delta); then out = dtype(weight * dtype(r * rsqrt(mean(r^2) + eps))) with the
// statistics in fp32 (LlamaRMSNorm). hidden must be a multiple of 8; pointers 16-byte aligned.
// Bytes moved: rows * hidden * 2 * (3 with delta, 2 without) + hidden * 2 (weight).
int awq_add_rms_norm(awq_dtype dtype, void* residual, const void* delta, const void* weight, void* out, int rows,
                     int hidden, float eps, int pdl, cudaStream_t stream);

// Rotary embedding of the new token and its K/V write into the cache.
// q: [batch][q_heads * head_dim] with row stride q_stride (elements), k and v likewise with kv_heads
// (strides let q, k and v be column ranges of one fused projection output). cos/sin: [capacity][head_dim]
// tables in dtype; position: int64 on the device, the cache slot of the new token. A position outside
// [0, capacity) writes nothing at all (a guard against corrupting memory; the engine never passes one).
// q_out: [batch][q_heads][head_dim]; k_cache, v_cache: [batch][kv_heads][capacity][head_dim].
// Rotation as transformers: out = dtype(dtype(x * cos) + dtype(rotate_half(x) * sin)).
// head_dim even and <= 256. Bytes moved: batch * (q_heads + 2 kv_heads) * head_dim * 2 * 2 + tables' row.
int awq_rope_kv_write(awq_dtype dtype, const void* q, int q_stride, const void* k, int k_stride, const void* v,
                      int v_stride, const void* cos_table, const void* sin_table, const int64_t* position,
                      void* q_out, void* k_cache, void* v_cache, int batch, int q_heads, int kv_heads, int head_dim,
                      int capacity, int pdl, cudaStream_t stream);

// Device memory a latency-bound decode kernel asks the L2 cache to fetch while it runs (e.g. the next matmul's
// weights, which attention leaves DRAM idle long enough to bring in). Up to 4 ranges; a range's start is rounded
// up and its end down to 16 bytes; NULL pointers and zero sizes are skipped. It must stay valid and unwritten
// until the kernel ends (weights are: they change only between steps). A hint: it moves no results.
typedef struct {
    const void* ptr[4];
    size_t bytes[4];
} awq_l2_prefetch;

// Scratch floats awq_decode_attention needs for this shape (0 when the cache fits one split).
size_t awq_decode_attention_scratch_floats(int batch, int q_heads, int head_dim, int capacity);
// out[b][h * head_dim + d] = sum_t softmax_t(scale * q_b,h . k_b,g,t) v_b,g,t,d over t = 0 .. position
// (g = h / (q_heads / kv_heads): grouped-query attention). q: [batch][q_heads][head_dim] (awq_rope_kv_write's
// q_out); caches as above; fp32 scores, softmax and accumulation, output rounded to dtype once.
// Flash-decoding: the valid length is cut into splits of 256 slots, each a thread block (slots past the
// position cost an early exit); with more than one split a second kernel combines them through `scratch`
// (awq_decode_attention_scratch_floats floats, device). head_dim 64 or 128.
// Bytes moved: batch * kv_heads * (position + 1) * head_dim * 2 * 2 (K and V once per kv head when the
// query heads of a group hit L2) + q and out; plus `prefetch` (may be NULL) from DRAM into L2, issued by the
// blocks before they wait for the previous kernel.
int awq_decode_attention(awq_dtype dtype, const void* q, const void* k_cache, const void* v_cache,
                         const int64_t* position, void* out, float* scratch, int batch, int q_heads, int kv_heads,
                         int head_dim, int capacity, float scale, int pdl, const awq_l2_prefetch* prefetch,
                         cudaStream_t stream);

// awq_rope_kv_write followed by awq_decode_attention in one launch, bit-identical to the two: q, k, v are the
// projection's rows as awq_rope_kv_write takes them (strides in elements, multiples of head_dim / 32, rows
// aligned likewise); the new token's rotated k and its v are written into slot `position` of the caches and
// used from registers (the slot is not read before it is written). A position outside [0, capacity) writes
// nothing. Scratch as awq_decode_attention. Bytes moved: awq_decode_attention's plus q, k, v and the tables'
// row read, the two cache rows written; `prefetch` as awq_decode_attention.
int awq_decode_rope_attention(awq_dtype dtype, const void* q, int q_stride, const void* k, int k_stride, const void* v,
                              int v_stride, const void* cos_table, const void* sin_table, const int64_t* position,
                              void* k_cache, void* v_cache, void* out, float* scratch, int batch, int q_heads,
                              int kv_heads, int head_dim, int capacity, float scale, int pdl,
                              const awq_l2_prefetch* prefetch, cudaStream_t stream);

// out[r][c] = dtype(dtype(silu(gate[r][c])) * up[r][c]) (silu in fp32, as at::silu then a dtype multiply).
// gate/up rows have strides gate_stride/up_stride (elements); out is [rows][cols] dense. cols multiple of 8,
// strides multiples of 8, pointers 16-byte aligned. Bytes moved: rows * cols * 2 * 3.
int awq_silu_mul(awq_dtype dtype, const void* gate, int gate_stride, const void* up, int up_stride, void* out,
                 int rows, int cols, int pdl, cudaStream_t stream);

const char* awq_decode_last_error(void);

#ifdef __cplusplus
}
#endif
