#pragma once
// Shared by the decode kernels (decode_*.cu): error reporting, the launch helper with optional programmatic
// dependent launch, and 8-element vector access. Only .cu files of kernels/cuda include this.
#include <string>

#include <cuda_runtime.h>

#include "decode_ops.h"
#include "w4a16_device.cuh"

namespace awq::cuda::decode {

int fail(const std::string& msg);  // records "decode: msg" for awq_decode_last_error(), returns 1
int fail_cuda(const char* kernel, cudaError_t e);

template <class T> struct DtypeOf;
template <> struct DtypeOf<half> { static constexpr awq_dtype value = AWQ_DTYPE_F16; };
template <> struct DtypeOf<__nv_bfloat16> { static constexpr awq_dtype value = AWQ_DTYPE_BF16; };

// With pdl the kernel may be scheduled before its predecessor in the stream finishes; every decode kernel
// calls pdl_wait() before its first memory access, in every block, so this is always safe.
template <class... KArgs, class... Args>
cudaError_t launch(void (*kernel)(KArgs...), dim3 grid, dim3 block, bool pdl, cudaStream_t stream, Args... args) {
    cudaLaunchConfig_t cfg = {};
    cfg.gridDim = grid;
    cfg.blockDim = block;
    cfg.stream = stream;
    cudaLaunchAttribute attr;
    if (pdl) {
        attr.id = cudaLaunchAttributeProgrammaticStreamSerialization;
        attr.val.programmaticStreamSerializationAllowed = 1;
        cfg.attrs = &attr;
        cfg.numAttrs = 1;
    }
    if (cudaError_t e = cudaLaunchKernelEx(&cfg, kernel, static_cast<KArgs>(args)...); e != cudaSuccess) return e;
    return cudaGetLastError();
}

// Eight consecutive elements (16 bytes) converted to fp32 and back.
template <class T> struct Vec8 {
    float v[8];
    __device__ __forceinline__ void load(const T* p) {
        const uint4 raw = *reinterpret_cast<const uint4*>(p);
        const T* e = reinterpret_cast<const T*>(&raw);
#pragma unroll
        for (int i = 0; i < 8; ++i) v[i] = Elt<T>::to_float(e[i]);
    }
    __device__ __forceinline__ void store(T* p) const {
        uint4 raw;
        T* e = reinterpret_cast<T*>(&raw);
#pragma unroll
        for (int i = 0; i < 8; ++i) e[i] = Elt<T>::from_float(v[i]);
        *reinterpret_cast<uint4*>(p) = raw;
    }
};

// Cache slots 0 .. position hold valid keys: the attended length, clamped to the cache.
__device__ __forceinline__ int valid_length(int64_t position, int capacity) {
    return (int)(position < 0 ? 0 : (position >= capacity ? capacity : position + 1));
}

// The grid's share of an awq_l2_prefetch, as bulk L2 prefetches (sm_90's cp.async.bulk.prefetch.L2; older GPUs
// skip the hint) of up to 16 KB each: piece i of a range goes to block i % blocks, so that every SM's copy engine
// takes a few, not one block all of them. Moves nothing into registers or shared memory.
__device__ __forceinline__ void l2_prefetch_ranges(const awq_l2_prefetch& pf) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    constexpr uintptr_t kPiece = 16384;
    const unsigned blocks = gridDim.x * gridDim.y * gridDim.z;
    const unsigned block = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
#pragma unroll
    for (int r = 0; r < 4; ++r) {
        const uintptr_t base = reinterpret_cast<uintptr_t>(pf.ptr[r]);
        const uintptr_t lo = (base + 15) & ~uintptr_t(15), hi = (base + pf.bytes[r]) & ~uintptr_t(15);
        if (!base || hi <= lo) continue;
        const uintptr_t pieces = (hi - lo + kPiece - 1) / kPiece;
        for (uintptr_t i = block + (uintptr_t)threadIdx.x * blocks; i < pieces; i += (uintptr_t)blocks * blockDim.x) {
            const uintptr_t at = lo + i * kPiece;
            const uint32_t n = (uint32_t)(hi - at < kPiece ? hi - at : kPiece);
            asm volatile("cp.async.bulk.prefetch.L2.global [%0], %1;" ::"l"(at), "r"(n));
        }
    }
#endif
}

inline bool misaligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 != 0; }

// fp32 -> dtype -> fp32: what storing an intermediate ATen tensor in fp16/bf16 does to a value.
template <class T> __device__ __forceinline__ float round_to(float x) { return Elt<T>::to_float(Elt<T>::from_float(x)); }

}  // namespace awq::cuda::decode
