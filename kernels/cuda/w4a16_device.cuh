#pragma once
// Device helpers shared by the W4A16 kernels: 4-bit -> fp16/bf16 conversion by bit tricks, async copies,
// tensor-core fragments, and the split-K finish. Only .cu files of kernels/cuda include this.
#include <cooperative_groups.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <stdint.h>

namespace awq::cuda {

// ---- element types -------------------------------------------------------------------------------------
template <class T> struct Elt;
template <> struct Elt<half> {
    using T2 = half2;
    // nibble | 0x6400 is the fp16 number 1024 + nibble (the nibble lands in the low mantissa bits); a
    // nibble at bits 4..7 gives 1024 + 16 * nibble, still exact (ulp in [1024, 2048) is 1).
    static constexpr uint32_t kMagic = 0x64006400u;
    static constexpr uint16_t kMagic1 = 0x6400;
    __device__ static float to_float(half v) { return __half2float(v); }
    __device__ static half from_float(float v) { return __float2half_rn(v); }
    __device__ static half2 from_float2(float a, float b) { return __floats2half2_rn(a, b); }
    __device__ static half2 scale_from_fp16(half s) { return __half2half2(s); }
};
template <> struct Elt<__nv_bfloat16> {
    using T2 = __nv_bfloat162;
    // nibble | 0x4300 is the bf16 number 128 + nibble (7 mantissa bits: only bits 0..6 are free).
    static constexpr uint32_t kMagic = 0x43004300u;
    static constexpr uint16_t kMagic1 = 0x4300;
    __device__ static float to_float(__nv_bfloat16 v) { return __bfloat162float(v); }
    __device__ static __nv_bfloat16 from_float(float v) { return __float2bfloat16_rn(v); }
    __device__ static __nv_bfloat162 from_float2(float a, float b) { return __floats2bfloat162_rn(a, b); }
    __device__ static __nv_bfloat162 scale_from_fp16(half s) {
        return __bfloat162bfloat162(__float2bfloat16_rn(__half2float(s)));
    }
};

template <class V> __device__ __forceinline__ uint32_t as_u32(V v) { return *reinterpret_cast<uint32_t*>(&v); }
template <class V> __device__ __forceinline__ V from_u32(uint32_t u) { return *reinterpret_cast<V*>(&u); }

// (a & mask) | c in one LOP3 (the compiler otherwise splits it into an AND and an OR when both constants
// are immediates); `c` is passed in a register so the mask can be the instruction's immediate.
template <uint32_t kMask> __device__ __forceinline__ uint32_t and_or(uint32_t a, uint32_t c) {
    uint32_t d;
    asm("lop3.b32 %0, %1, %2, %3, 0xEA;\n" : "=r"(d) : "r"(a), "n"(kMask), "r"(c));
    return d;
}

// SwiGLU's elementwise step rounded as transformers does it: silu in fp32 stored in T, times up stored in T.
// Shared by the SiLU kernel (decode_silu_mul.cu) and the decode matmul's gated input (w4a16_fast_decode.cuh)
// so that the fused and the separate paths produce the same bits.
template <class T> __device__ __forceinline__ T silu_mul(float gate, float up) {
    const float s = Elt<T>::to_float(Elt<T>::from_float(gate / (1.f + __expf(-gate))));
    return Elt<T>::from_float(s * up);
}

// ---- memory -------------------------------------------------------------------------------------------
__device__ __forceinline__ uint32_t smem_addr(const void* p) {
    return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}
// 16 bytes global -> shared, bypassing L1 (weights are read once).
__device__ __forceinline__ void cp_async16(void* dst, const void* src) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(smem_addr(dst)), "l"(src));
}
__device__ __forceinline__ void cp_async8(void* dst, const void* src) {
    asm volatile("cp.async.ca.shared.global [%0], [%1], 8;\n" ::"r"(smem_addr(dst)), "l"(src));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N> __device__ __forceinline__ void cp_async_wait() {
    asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
}

// ---- tensor cores -------------------------------------------------------------------------------------
__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], const void* p) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(smem_addr(p)));
}

// c += a * b for one m16n8k16 tile, fp32 accumulators.
template <class T> __device__ __forceinline__ void mma16816(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1);
template <> __device__ __forceinline__ void mma16816<half>(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}
template <> __device__ __forceinline__ void mma16816<__nv_bfloat16>(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// ---- split-K finish ----------------------------------------------------------------------------------
// Blocks that share one output tile each store their fp32 partial sums to partials[split][m][n], then
// count themselves in; the last one to arrive sums the partials in split order (deterministic) and
// writes y, then returns the counter to zero for the next launch. Every thread of the block calls this.
// Returns true in the block that must write the sums.
__device__ __forceinline__ bool splitk_arrive(int* counter, int splits) {
    __shared__ int last;
    __threadfence();  // make this block's partial stores visible before counting in
    __syncthreads();
    if (threadIdx.x == 0) {
        const int prev = atomicAdd(counter, 1);
        last = (prev == splits - 1);
        if (last) *counter = 0;  // nobody else touches it in this launch any more
    }
    __syncthreads();
    if (last) __threadfence();  // acquire side: see the other blocks' partials
    return last;
}

// ---- split-K across a thread-block cluster -------------------------------------------------------------
// The S blocks of one output tile form a cluster (dims 1 x S x 1); each parks its V partial sums per thread
// in its own shared memory, and rank 0 adds the others' through distributed shared memory, in rank order
// (deterministic), with no global memory, atomics or fences. Returns true in the block holding the sums.
// Threads tid = 0 .. nt-1 hold sums (`scratch` holds V * nt floats). Every thread of every block of the cluster
// must reach the two cluster barriers: threads that hold no sums (a producer warpgroup) call
// cluster_reduce_bystander instead.
template <int V>
__device__ __forceinline__ bool cluster_reduce(float (&vals)[V], float* scratch, int tid, int nt) {
    namespace cg = cooperative_groups;
    cg::cluster_group cluster = cg::this_cluster();
    const int n = cluster.num_blocks();
    if (n == 1) return true;
#pragma unroll
    for (int v = 0; v < V; ++v) scratch[v * nt + tid] = vals[v];
    cluster.sync();
    const bool root = cluster.block_rank() == 0;
    if (root) {
        for (int r = 1; r < n; ++r) {
            const float* remote = cluster.map_shared_rank(scratch, r);
#pragma unroll
            for (int v = 0; v < V; ++v) vals[v] += remote[v * nt + tid];
        }
    }
    cluster.sync();  // keep every block's shared memory alive until rank 0 has read it
    return root;
}
__device__ __forceinline__ void cluster_reduce_bystander() {
    namespace cg = cooperative_groups;
    cg::cluster_group cluster = cg::this_cluster();
    if (cluster.num_blocks() == 1) return;
    cluster.sync();
    cluster.sync();
}
template <int V>
__device__ __forceinline__ bool cluster_reduce(float (&vals)[V], float* scratch) {
    return cluster_reduce<V>(vals, scratch, threadIdx.x, blockDim.x);
}

// Programmatic dependent launch: work before pdl_wait() (streaming weights) may overlap the previous
// kernel in the stream; everything that reads its outputs or writes ours comes after.
__device__ __forceinline__ void pdl_wait() { asm volatile("griddepcontrol.wait;\n" ::: "memory"); }
__device__ __forceinline__ void pdl_trigger() { asm volatile("griddepcontrol.launch_dependents;\n" ::: "memory"); }

}  // namespace awq::cuda
