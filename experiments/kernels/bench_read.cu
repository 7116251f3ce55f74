// Reference kernels for the benchmark's floor: the time to stream the same number of bytes with plain
// 16-byte loads (what any weight-streaming kernel of that size can at best do in this harness), and an
// empty kernel (the launch cost inside a CUDA graph). Test harness only.
#include <cuda_runtime.h>
#include <stdint.h>

namespace {
__global__ void __launch_bounds__(256) stream_read(const uint4* __restrict__ p, size_t n16, unsigned* out) {
    unsigned acc = 0;
    const size_t stride = (size_t)gridDim.x * blockDim.x;
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    for (; i + 3 * stride < n16; i += 4 * stride) {
        uint4 v[4];
#pragma unroll
        for (int u = 0; u < 4; ++u) v[u] = __ldcs(p + i + u * stride);
#pragma unroll
        for (int u = 0; u < 4; ++u) acc ^= v[u].x ^ v[u].y ^ v[u].z ^ v[u].w;
    }
    for (; i < n16; i += stride) {
        const uint4 v = __ldcs(p + i);
        acc ^= v.x ^ v.y ^ v.z ^ v.w;
    }
    if (acc == 0x12345678u) out[blockIdx.x] = acc;  // keeps the loads alive; practically never stores
}
__global__ void empty_kernel() {}

// The decode kernel's memory access pattern without its arithmetic: block = `warps` warps over TPW 16-row
// tiles of the fast layout, warp w streams units [w*per, (w+1)*per) with a D-deep register ring of
// 2 x 16 bytes per lane, tile and unit, plus the scale word of the unit's group (group 128). Separates
// "the access pattern and occupancy cannot go faster" from "the arithmetic between the loads is the limit".
template <int D, int TPW>
__global__ void __launch_bounds__(256) pattern_read(const uint4* __restrict__ w, const uint32_t* __restrict__ scales,
                                                    int tiles, int kunits, int per, unsigned* out) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int tile0 = blockIdx.x * TPW;
    const int u0 = min(kunits, warp * per), u1 = min(kunits, u0 + per), n = u1 - u0;
    const uint4* p = w + ((size_t)u0 * tiles + tile0) * 64 + lane;
    const size_t stride = (size_t)tiles * 64;
    const uint32_t* sp = scales + (size_t)tile0 * 8 + (lane >> 2);
    uint4 ring[D][TPW][2];
    uint32_t sring[D][TPW];
    unsigned acc = 0;
    int next = 0;
    auto load = [&](int slot) {
#pragma unroll
        for (int t = 0; t < TPW; ++t) {
            ring[slot][t][0] = __ldcs(p + t * 64);
            ring[slot][t][1] = __ldcs(p + t * 64 + 32);
            sring[slot][t] = __ldg(sp + (size_t)(u0 + next) * tiles * 8 + t * 8);
        }
        p += stride;
        ++next;
    };
#pragma unroll
    for (int s = 0; s < D; ++s)
        if (s < n) load(s);
    for (int base = 0; base < n; base += D) {
#pragma unroll
        for (int s = 0; s < D; ++s) {
            if (base + s >= n) break;
#pragma unroll
            for (int t = 0; t < TPW; ++t)
                acc ^= ring[s][t][0].x ^ ring[s][t][0].w ^ ring[s][t][1].y ^ ring[s][t][1].z ^ sring[s][t];
            if (base + s + D < n) load(s);
        }
    }
    if (acc == 0x12345678u) out[blockIdx.x] = acc;
}
}  // namespace

// Same pattern as the decode kernel with `warps` warps, `tpw` tiles per warp and ring depth `depth`
// (2, 4 or 8; tpw 1 or 2) over a fast-layout weight of n x k (group 128).
extern "C" int bench_pattern_read(const void* w, const void* scales, int n, int k, int warps, int tpw, int depth,
                                  void* out, cudaStream_t s) {
    const int tiles = n / 16, kunits = (k / 64 + 1) / 2, per = (kunits + warps - 1) / warps;
    const dim3 grid(tiles / tpw), block(32 * warps);
    const uint4* wp = static_cast<const uint4*>(w);
    const uint32_t* sp = static_cast<const uint32_t*>(scales);
    unsigned* o = static_cast<unsigned*>(out);
#define AWQ_PATTERN(DD, TT) \
    if (depth == DD && tpw == TT) pattern_read<DD, TT><<<grid, block, 0, s>>>(wp, sp, tiles, kunits, per, o);
    AWQ_PATTERN(2, 1) AWQ_PATTERN(4, 1) AWQ_PATTERN(8, 1) AWQ_PATTERN(2, 2) AWQ_PATTERN(4, 2) AWQ_PATTERN(8, 2)
#undef AWQ_PATTERN
    return (int)cudaGetLastError();
}

extern "C" int bench_stream_read(const void* p, size_t bytes, void* out, cudaStream_t s) {
    int dev = 0, sms = 0;
    cudaGetDevice(&dev);
    cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev);
    stream_read<<<sms * 8, 256, 0, s>>>(static_cast<const uint4*>(p), bytes / 16, static_cast<unsigned*>(out));
    return (int)cudaGetLastError();
}

extern "C" int bench_empty(cudaStream_t s) {
    empty_kernel<<<1, 32, 0, s>>>();
    return (int)cudaGetLastError();
}
