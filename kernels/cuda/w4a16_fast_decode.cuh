#pragma once
// The "fast" W4A16 kernel for decode-sized m (1..16 tokens), warp-split version: one block per 16-row tile,
// its W warps split the tile's K between them, and everything a warp needs is its own.
//
// Why this shape (the cluster-split kernel of w4a16_fast_small.cuh stayed ~1.7x above the read floor, see
// experiments/kernels/NOTES.md v3-v7): a decode matmul is a race to have as many bytes of weights in flight
// as the memory system can take, from the first cycle on. Here nothing stands between a warp's start and
// its loads: it issues the first D units of its K range, then stages only its own slice of x (no block
// barrier, no precomputed sums), so the x latency hides behind the weights already in flight. The zero
// points are folded out of the per-weight path as before (A = magic-biased q, an exact small integer), and
// the sum of x they need per group comes from a second mma with an all-ones A operand (the tensor pipe is
// idle at this m anyway) instead of a pass over shared memory. The K split ends in one block barrier and a
// shared-memory sum (fixed order: deterministic); no clusters, no global workspace.
//
// Data layout (kernels/cpu/w4_layouts.h, "fast"): qweight uint32 [ceil(k/128)][n/16][2][32 lanes][4] (mma A
// fragments, unit-major: unit u of tile t is 1 KB at ((u * tiles + t) * 2 + h) * 32 + lane in 16-byte
// pieces), scales uint32 [k/group][n/16][8] (fp16 pair: rows r0 = lane/4, r1 = r0 + 8), zeros uint8
// [k/group][n/16][8] (z0 | z1 << 4). Grid (n/16 tiles, ceil(m / (8*NT)) token blocks), block 32*W threads.
// Warp w owns units [w*per, (w+1)*per) of the tile (per = p.units_per_warp); its x slice (tv tokens x
// per*128 halves) lives in its own shared memory with the 16-byte pieces of row r at piece ^ (r & 7), so
// ldmatrix's 8 rows hit 8 bank groups; token rows past m read a 16-byte zero block instead.
// Per unit of 128 k a lane issues 2 LDG.128 (weights), GM LDG.32 (scale words) [+ GM LDG.U8 (zeros)],
// 4*NT LDSM, 8 x (1 shift + 4 LOP3) dequantization (fp16), 16*NT HMMA (weights and ones), and per group
// 4*NT FFMA for zero and scale.
// Bytes moved: n*k/2 + n*k/group*2 [+ n*k/group/2] from DRAM once; x once per block from L2; y once.
#include "w4a16_fast.cuh"
#include "w4a16_fast_small.cuh"  // SmallMeta: per-group scale and zero bias

namespace awq::cuda {

constexpr int kDecodeMaxSmem = 200 * 1024;

// Shared memory of one block: per warp an x slice (tokens_valid rows of units_per_warp * 256 bytes) and a
// 128-byte zero block, then the cross-warp reduce scratch.
__host__ __device__ inline size_t fast_decode_warp_bytes(int tokens_valid, int units_per_warp) {
    return (size_t)tokens_valid * units_per_warp * 256 + 128;
}
inline size_t fast_decode_smem(int nt, int warps, int tokens_valid, int units_per_warp) {
    return (size_t)warps * fast_decode_warp_bytes(tokens_valid, units_per_warp) + (size_t)warps * 4 * nt * 32 * 4;
}

// NT: token tiles of 8 (1 or 2); GM: groups per unit of 128 k (1 for group >= 128, 2 for 64, 4 for 32);
// D: units in flight per lane.
template <class T, int NT, bool kZeros, int GM, int D>
__global__ void __launch_bounds__(kDecodeWarpsMax * 32) w4a16_fast_decode_kernel(const FastParams p) {
    using E = Elt<T>;
    constexpr int kSPG = 8 / GM;  // k16 steps per group (per flush)
    extern __shared__ __align__(128) uint8_t smem[];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    const int tile = blockIdx.x, tiles = p.n >> 4;
    const int tok0 = blockIdx.y * 8 * NT;
    const int tv = min(8 * NT, p.m - tok0);
    const int kchunks = p.k >> 6, kunits = (kchunks + 1) >> 1;
    const int per = p.units_per_warp;
    const int u0 = min(kunits, warp * per), u1 = min(kunits, u0 + per);
    const int nunits = u1 - u0;
    const int nch = min(kchunks, 2 * u1) - 2 * u0;  // 64-k chunks of this warp (the last unit may be half)
    const int rowbytes = per * 256;
    uint8_t* xs = smem + (size_t)warp * fast_decode_warp_bytes(tv, per);
    uint8_t* zero16 = xs + (size_t)tv * rowbytes;
    float* red = reinterpret_cast<float*>(smem + (size_t)warps * fast_decode_warp_bytes(tv, per));
    uint32_t magic = E::kMagic;
    asm volatile("" : "+r"(magic));

    const uint4* wp = p.qweight + ((size_t)u0 * tiles + tile) * 64 + lane;
    const size_t wstride = (size_t)tiles * 64;  // 16-byte pieces per unit
    const uint32_t* sp = p.scales + (size_t)tile * 8 + (lane >> 2);
    const uint8_t* zp = kZeros ? p.zeros + (size_t)tile * 8 + (lane >> 2) : nullptr;
    const size_t gstride = (size_t)tiles * 8;  // per group
    const int ushift = GM == 1 ? __ffs(p.group >> 7) - 1 : 0;  // group = 128 << ushift

    uint4 ring[D][2];
    uint32_t sring[D][GM];
    uint32_t zring[D];
    auto prefetch = [&](int slot, int unit) {  // unit: index within this warp's range
        const bool two = 2 * unit + 1 < nch;
        ring[slot][0] = __ldcs(wp + unit * wstride);
        ring[slot][1] = two ? __ldcs(wp + unit * wstride + 32) : make_uint4(0, 0, 0, 0);
        const int gu = u0 + unit;
        const int g = GM == 1 ? gu >> ushift : gu * GM;
        uint32_t zb = 0;
#pragma unroll
        for (int i = 0; i < GM; ++i) {
            if (GM == 1 || i < GM / 2 || two) {  // half a unit at the end of k spans only half the groups
                sring[slot][i] = __ldg(sp + (size_t)(g + i) * gstride);
                if constexpr (kZeros) zb |= (uint32_t)__ldg(zp + (size_t)(g + i) * gstride) << (8 * i);
            } else {
                sring[slot][i] = 0;
            }
        }
        zring[slot] = zb;
    };
    // The weights do not depend on the previous kernel: they start streaming before the wait for it.
#pragma unroll
    for (int u = 0; u < D; ++u)
        if (u < nunits) prefetch(u, u);
    pdl_trigger();
    pdl_wait();

    // This warp's slice of x (only this warp reads it: a warp-level sync suffices).
    if (lane < 8) reinterpret_cast<uint4*>(zero16)[lane] = make_uint4(0, 0, 0, 0);
    {
        const T* xg = static_cast<const T*>(p.x) + (size_t)tok0 * p.k + (size_t)u0 * 128;
        const int pieces = nch * 8;
        for (int i = lane; i < tv * pieces; i += 32) {
            const int r = i / pieces, pc = i - r * pieces;
            cp_async16(xs + (size_t)r * rowbytes + ((pc ^ (r & 7)) << 4), xg + (size_t)r * p.k + pc * 8);
        }
        cp_async_commit();
        cp_async_wait<0>();
        __syncwarp();
    }
    const int mi = lane >> 3;
    const int xrow = NT == 1 ? (lane & 7) : 8 * (mi >> 1) + (lane & 7);
    const bool xvalid = xrow < tv;
    const uint8_t* xbase = xvalid ? xs + (size_t)xrow * rowbytes : zero16;
    const int xstride = xvalid ? 128 : 0;
    uint32_t xoff[4];
#pragma unroll
    for (int q = 0; q < 4; ++q) {
        const int pc = NT == 1 ? 2 * q + mi : 2 * q + (mi & 1);
        xoff[q] = xvalid ? ((pc ^ (xrow & 7)) & 7) << 4 : 0;
    }
    // All-ones A operand: the mma with it yields sum(x) over the k16 step for the lane's tokens.
    const uint32_t one2 = std::is_same_v<T, half> ? 0x3C003C00u : 0x3F803F80u;
    const uint32_t ones[4] = {one2, one2, one2, one2};

    float acc[NT][4];
#pragma unroll
    for (int b = 0; b < NT; ++b)
#pragma unroll
        for (int e = 0; e < 4; ++e) acc[b][e] = 0.f;

    for (int base = 0; base < nunits; base += D) {
#pragma unroll
        for (int slot = 0; slot < D; ++slot) {
            const int unit = base + slot;
            if (unit >= nunits) break;
            const bool two = 2 * unit + 1 < nch;
            float part[NT][4], xsum[NT][4];
#pragma unroll
            for (int b = 0; b < NT; ++b)
#pragma unroll
                for (int e = 0; e < 4; ++e) part[b][e] = xsum[b][e] = 0.f;
            uint32_t bx[4];
#pragma unroll
            for (int s = 0; s < 8; ++s) {
                if (s == 4 && !two) break;
                const int q = s & 3, ci = 2 * unit + (s >> 2);
                uint32_t b[NT][2];
                if constexpr (NT == 1) {
                    if ((s & 1) == 0) ldmatrix_x4(bx, xbase + ci * xstride + xoff[q]);
                    b[0][0] = bx[(s & 1) * 2];
                    b[0][1] = bx[(s & 1) * 2 + 1];
                } else {
                    ldmatrix_x4(bx, xbase + ci * xstride + xoff[q]);
                    b[0][0] = bx[0];
                    b[0][1] = bx[1];
                    b[1][0] = bx[2];
                    b[1][1] = bx[3];
                }
                const uint4& w4 = ring[slot][s >> 2];
                const uint32_t w = q == 0 ? w4.x : q == 1 ? w4.y : q == 2 ? w4.z : w4.w;
                uint32_t a[4];
                if constexpr (std::is_same_v<T, half>) {
                    const uint32_t w8 = w >> 8;
                    a[0] = and_or<0x000F000Fu>(w, magic);
                    a[1] = and_or<0x00F000F0u>(w, magic);
                    a[2] = and_or<0x000F000Fu>(w8, magic);
                    a[3] = and_or<0x00F000F0u>(w8, magic);
                } else {
                    a[0] = and_or<0x000F000Fu>(w, magic);
                    a[1] = and_or<0x000F000Fu>(w >> 4, magic);
                    a[2] = and_or<0x000F000Fu>(w >> 8, magic);
                    a[3] = and_or<0x000F000Fu>(w >> 12, magic);
                }
#pragma unroll
                for (int nt = 0; nt < NT; ++nt) {
                    mma16816<T>(part[nt], a, b[nt][0], b[nt][1]);
                    mma16816<T>(xsum[nt], ones, b[nt][0], b[nt][1]);
                }
                if ((s + 1) % kSPG == 0 || (s == 3 && !two)) {
                    const int gi = s / kSPG;
                    const SmallMeta m =
                        small_meta<T, kZeros>(sring[slot][gi], kZeros ? (zring[slot] >> (8 * gi)) & 0xFF : 0u);
#pragma unroll
                    for (int nt = 0; nt < NT; ++nt) {
                        acc[nt][0] += m.f0 * fmaf(-m.b0, xsum[nt][0], part[nt][0]);
                        acc[nt][1] += m.f0 * fmaf(-m.b0, xsum[nt][1], part[nt][1]);
                        acc[nt][2] += m.f1 * fmaf(-m.b1, xsum[nt][0], part[nt][2]);
                        acc[nt][3] += m.f1 * fmaf(-m.b1, xsum[nt][1], part[nt][3]);
#pragma unroll
                        for (int e = 0; e < 4; ++e) part[nt][e] = xsum[nt][e] = 0.f;
                    }
                }
            }
            if (unit + D < nunits) prefetch(slot, unit + D);
        }
    }

    // Sum the warps' K slices in warp order (deterministic); warp 0 writes y.
#pragma unroll
    for (int nt = 0; nt < NT; ++nt)
#pragma unroll
        for (int e = 0; e < 4; ++e) red[((warp * NT + nt) * 4 + e) * 32 + lane] = acc[nt][e];
    __syncthreads();
    if (warp != 0) return;
    T* y = static_cast<T*>(p.y);
#pragma unroll
    for (int nt = 0; nt < NT; ++nt)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
            float v = 0.f;
            for (int w = 0; w < warps; ++w) v += red[((w * NT + nt) * 4 + e) * 32 + lane];
            const int row = tile * 16 + (lane >> 2) + (e >= 2 ? 8 : 0);
            const int tok = tok0 + nt * 8 + 2 * (lane & 3) + (e & 1);
            if (tok < p.m) y[(size_t)tok * p.n + row] = E::from_float(v);
        }
}

template <class T, int NT, bool kZeros, int GM, int D>
cudaError_t fast_decode_launch_one(const FastParams& p, dim3 grid, int warps, size_t smem, bool pdl,
                                   cudaStream_t stream, int* occupancy) {
    auto kernel = w4a16_fast_decode_kernel<T, NT, kZeros, GM, D>;
    static const cudaError_t attr =
        cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, kDecodeMaxSmem);
    if (attr != cudaSuccess) return attr;
    if (occupancy) return cudaOccupancyMaxActiveBlocksPerMultiprocessor(occupancy, kernel, warps * 32, smem);
    cudaLaunchConfig_t cfg = {};
    cfg.gridDim = grid;
    cfg.blockDim = dim3(warps * 32);
    cfg.dynamicSmemBytes = smem;
    cfg.stream = stream;
    cudaLaunchAttribute attr_pdl;
    attr_pdl.id = cudaLaunchAttributeProgrammaticStreamSerialization;
    attr_pdl.val.programmaticStreamSerializationAllowed = 1;
    cfg.attrs = pdl ? &attr_pdl : nullptr;
    cfg.numAttrs = pdl ? 1 : 0;
    return cudaLaunchKernelEx(&cfg, kernel, p);
}

// Instantiated per element type in w4a16_fast_f16.cu / w4a16_fast_bf16.cu.
template <class T>
cudaError_t fast_decode_dispatch(const FastParams& p, const FastConfig& cfg, bool zeros, dim3 grid, size_t smem,
                                 cudaStream_t stream, int* occupancy) {
    if (cfg.warps < 1 || cfg.warps > kDecodeWarpsMax || (cfg.stages != 4 && cfg.stages != 8))
        return cudaErrorInvalidConfiguration;
    const int gm = p.group >= 128 ? 1 : p.group == 64 ? 2 : 4;
#define AWQ_DECODE_CASE(NT, Z, GM, D)                                                                        \
    if (cfg.tokens == 8 * NT && zeros == Z && gm == GM && cfg.stages == D)                                    \
        return fast_decode_launch_one<T, NT, Z, GM, D>(p, grid, cfg.warps, smem, cfg.pdl, stream, occupancy);
#define AWQ_DECODE_CASES(NT, Z)                                                                              \
    AWQ_DECODE_CASE(NT, Z, 1, 4) AWQ_DECODE_CASE(NT, Z, 2, 4) AWQ_DECODE_CASE(NT, Z, 4, 4)                    \
    AWQ_DECODE_CASE(NT, Z, 1, 8) AWQ_DECODE_CASE(NT, Z, 2, 8) AWQ_DECODE_CASE(NT, Z, 4, 8)
    AWQ_DECODE_CASES(1, true)
    AWQ_DECODE_CASES(1, false)
    AWQ_DECODE_CASES(2, true)
    AWQ_DECODE_CASES(2, false)
#undef AWQ_DECODE_CASES
#undef AWQ_DECODE_CASE
    return cudaErrorInvalidConfiguration;
}

}  // namespace awq::cuda
