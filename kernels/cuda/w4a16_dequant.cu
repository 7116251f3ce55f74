// Expand a packed 4-bit weight to W [n, k] in fp16/bf16 (row-major, nn.Linear layout), for the
// dequantize + cuBLAS path at large m. Each value is (q - zero) * scale computed exactly in fp32 and
// rounded once to the element type, so this path's only other error is cuBLAS's accumulation.
// A call expands rows [row0, row0 + rows) into out's rows 0 .. rows - 1 (row0 and rows multiples of 64), so
// the path can expand W a slice at a time into a buffer its GEMM reads back from L2 (w4a16_launch.cu).
// Bytes moved: the packed slice once (rows*k/2 + scales + zeros) and rows*k*2 written.
#include "w4a16_device.cuh"
#include "w4a16_internal.h"

namespace awq::cuda {
namespace {

__device__ __forceinline__ float dq(uint32_t q, uint32_t z, float s) { return ((float)q - (float)z) * s; }

template <class T>
__device__ __forceinline__ void store16(T* dst, const float (&v)[16]) {
    using T2 = typename Elt<T>::T2;
    uint4 out[2];
    T2* o = reinterpret_cast<T2*>(out);
#pragma unroll
    for (int i = 0; i < 8; ++i) o[i] = Elt<T>::from_float2(v[2 * i], v[2 * i + 1]);
    reinterpret_cast<uint4*>(dst)[0] = out[0];
    reinterpret_cast<uint4*>(dst)[1] = out[1];
}

// gemm layout: block = 32 word columns (256 rows of W) x 64 k. Threads read 8 words down one column
// (coalesced across the warp), expand them into a shared tile [256 rows][64 k] and the block then writes
// each row's 128 contiguous bytes. The tile's 16-byte pieces are XOR-swizzled by (row / 8) % 8 so that the
// transposing stores (8 lanes -> 8 rows 8 apart) land in different banks.
template <class T>
__global__ void __launch_bounds__(256) dequant_gemm_kernel(const int32_t* __restrict__ qweight,
                                                          const int32_t* __restrict__ qzeros,
                                                          const half* __restrict__ scales, T* __restrict__ out,
                                                          int n, int k, int group, int row0, int rows) {
    __shared__ __align__(16) T tile[256 * 64];
    const int nw = n / 8, lane = threadIdx.x & 31, ky = threadIdx.x >> 5;  // ky: 8 rows of k each
    const int word = row0 / 8 + blockIdx.x * 32 + lane, k0 = blockIdx.y * 64;
    const int word_end = (row0 + rows) / 8;
    constexpr int kUnpack[8] = {0, 4, 1, 5, 2, 6, 3, 7};
    if (word < word_end && k0 + ky * 8 < k) {
        const int kk = k0 + ky * 8, g = kk / group;  // 8 rows never straddle a group (group % 32 == 0)
        const uint32_t zw = qzeros[(size_t)g * nw + word];
        const uint4 s4 = *reinterpret_cast<const uint4*>(scales + (size_t)g * n + 8 * word);
        const half* sh = reinterpret_cast<const half*>(&s4);
        uint32_t q[8];
#pragma unroll
        for (int r = 0; r < 8; ++r) q[r] = qweight[(size_t)(kk + r) * nw + word];
#pragma unroll
        for (int c = 0; c < 8; ++c) {
            const uint32_t z = (zw >> (4 * kUnpack[c])) & 0xF;
            const float sc = __half2float(sh[c]);
            float v[8];
#pragma unroll
            for (int r = 0; r < 8; ++r) v[r] = dq((q[r] >> (4 * kUnpack[c])) & 0xF, z, sc);
            using T2 = typename Elt<T>::T2;
            uint4 packed;
            T2* o = reinterpret_cast<T2*>(&packed);
#pragma unroll
            for (int i = 0; i < 4; ++i) o[i] = Elt<T>::from_float2(v[2 * i], v[2 * i + 1]);
            const int row = lane * 8 + c;  // row of the tile (output row 8 * word + c)
            reinterpret_cast<uint4*>(tile)[row * 8 + (ky ^ (lane & 7))] = packed;
        }
    }
    __syncthreads();
    // 256 rows x 8 pieces of 16 bytes; consecutive threads take consecutive pieces of a row.
    for (int i = threadIdx.x; i < 256 * 8; i += 256) {
        const int row = i >> 3, pc = i & 7;
        const int orow = blockIdx.x * 256 + row, ok = k0 + pc * 8;  // row of out (row0 + orow of W)
        if (orow < rows && ok < k)
            *reinterpret_cast<uint4*>(out + (size_t)orow * k + ok) =
                reinterpret_cast<const uint4*>(tile)[row * 8 + (pc ^ ((row >> 3) & 7))];
    }
}

// gemv layout: thread = two words of one row = 16 consecutive k -> 32 contiguous bytes.
template <class T>
__global__ void __launch_bounds__(256) dequant_gemv_kernel(const int32_t* __restrict__ qweight,
                                                          const int32_t* __restrict__ qzeros,
                                                          const half* __restrict__ scales, T* __restrict__ out,
                                                          int k, int group, int zw, int row0, int rows) {
    const size_t i = (size_t)blockIdx.x * 256 + threadIdx.x;  // index of a 16-k piece of out
    const size_t pieces_per_row = (size_t)k / 16;
    if (i >= (size_t)rows * pieces_per_row) return;
    const int orow = (int)(i / pieces_per_row), row = row0 + orow, k0 = (int)(i % pieces_per_row) * 16;
    const int g = k0 / group;
    const uint32_t z = ((uint32_t)qzeros[(size_t)row * zw + g / 8] >> (4 * (g % 8))) & 0xF;
    const float s = __half2float(scales[(size_t)row * zw * 8 + g]);
    const uint2 w = *reinterpret_cast<const uint2*>(qweight + (size_t)row * (k / 8) + k0 / 8);
    float v[16];
#pragma unroll
    for (int j = 0; j < 8; ++j) {
        v[j] = dq((w.x >> (4 * j)) & 0xF, z, s);
        v[8 + j] = dq((w.y >> (4 * j)) & 0xF, z, s);
    }
    store16(out + (size_t)orow * k + k0, v);
}

// fast layout: block = one 16-row tile x 4 chunks (256 k), warp = one chunk, lane = its fragment. Values
// go to a shared tile [16][256 + 8] (the 8-element pad makes the pair stores of a warp conflict-free), then
// the block writes each row's 512 contiguous bytes.
template <class T>
__global__ void __launch_bounds__(128) dequant_fast_kernel(const uint4* __restrict__ qweight,
                                                          const uint32_t* __restrict__ scales,
                                                          const uint8_t* __restrict__ zeros, T* __restrict__ out,
                                                          int n, int k, int group, int row0) {
    using T2 = typename Elt<T>::T2;
    constexpr int kPitch = 256 + 8;
    __shared__ __align__(16) T tile[16 * kPitch];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int kchunks = k / 64, tiles = n / 16;
    const int t = row0 / 16 + blockIdx.y, c = blockIdx.x * 4 + warp;  // t: tile of W; blockIdx.y: tile of out
    if (c < kchunks) {
        const uint4 wq = qweight[(((size_t)(c >> 1) * tiles + t) * 2 + (c & 1)) * 32 + lane];
        const uint32_t words[4] = {wq.x, wq.y, wq.z, wq.w};
#pragma unroll
        for (int j = 0; j < 4; ++j) {
            const int col = 64 * c + 16 * j + 2 * (lane % 4);  // absolute k of the pair
            const int g = col / group;
            const uint32_t sw = scales[((size_t)g * tiles + t) * 8 + lane / 4];
            const uint32_t zb = zeros ? zeros[((size_t)g * tiles + t) * 8 + lane / 4] : 0x88u;
            const float s[2] = {__half2float(__ushort_as_half((unsigned short)(sw & 0xFFFF))),
                                __half2float(__ushort_as_half((unsigned short)(sw >> 16)))};
            const uint32_t z[2] = {zb & 0xF, zb >> 4};
#pragma unroll
            for (int reg = 0; reg < 4; ++reg) {
                const int hi = reg & 1;  // row r0 + 8
                const uint32_t pair = (words[j] >> (4 * reg)) & 0x000F000Fu;
                const T2 v = Elt<T>::from_float2(dq(pair & 0xF, z[hi], s[hi]), dq(pair >> 16, z[hi], s[hi]));
                const int row = lane / 4 + 8 * hi, tcol = 64 * warp + 16 * j + 2 * (lane % 4) + (reg >= 2 ? 8 : 0);
                *reinterpret_cast<T2*>(tile + row * kPitch + tcol) = v;
            }
        }
    }
    __syncthreads();
    const int valid_cols = min(256, k - blockIdx.x * 256);
    for (int i = threadIdx.x; i < 16 * 32; i += 128) {  // 16 rows x 32 pieces of 16 bytes
        const int row = i >> 5, pc = i & 31;
        if (pc * 8 < valid_cols)
            *reinterpret_cast<uint4*>(out + (size_t)(16 * blockIdx.y + row) * k + blockIdx.x * 256 + pc * 8) =
                *reinterpret_cast<const uint4*>(tile + row * kPitch + pc * 8);
    }
}

template <class T>
cudaError_t run(const awq_w4_weight& w, T* out, int row0, int rows, cudaStream_t stream) {
    switch (w.layout) {
        case AWQ_W4_GEMM: {
            const dim3 grid((rows / 8 + 31) / 32, (w.k + 63) / 64);
            dequant_gemm_kernel<T><<<grid, 256, 0, stream>>>(static_cast<const int32_t*>(w.qweight),
                                                             static_cast<const int32_t*>(w.qzeros),
                                                             static_cast<const half*>(w.scales), out, w.n, w.k,
                                                             w.group, row0, rows);
            break;
        }
        case AWQ_W4_GEMV: {
            const size_t pieces = (size_t)rows * (w.k / 16);
            dequant_gemv_kernel<T><<<(unsigned)((pieces + 255) / 256), 256, 0, stream>>>(
                static_cast<const int32_t*>(w.qweight), static_cast<const int32_t*>(w.qzeros),
                static_cast<const half*>(w.scales), out, w.k, w.group, w.zeros_width, row0, rows);
            break;
        }
        case AWQ_W4_FAST: {
            const dim3 grid((w.k / 64 + 3) / 4, rows / 16);
            dequant_fast_kernel<T><<<grid, 128, 0, stream>>>(
                static_cast<const uint4*>(w.qweight), static_cast<const uint32_t*>(w.scales),
                static_cast<const uint8_t*>(w.qzeros), out, w.n, w.k, w.group, row0);
            break;
        }
    }
    return cudaGetLastError();
}

}  // namespace

cudaError_t dequantize(const awq_w4_weight& w, awq_dtype dtype, void* out, cudaStream_t stream, int row0, int rows) {
    if (rows < 0) rows = w.n - row0;
    return dtype == AWQ_DTYPE_F16 ? run(w, static_cast<half*>(out), row0, rows, stream)
                                  : run(w, static_cast<__nv_bfloat16*>(out), row0, rows, stream);
}

}  // namespace awq::cuda
