#pragma once
// The "fast" W4A16 kernel: tensor cores (mma.sync m16n8k16) with the 4-bit weight as the A operand, so the
// token count m fills the n8 side of the instruction and a decode step (m = 1..8) wastes no weight
// bandwidth; the weights stream global -> shared (cp.async, several stages in flight) -> registers, where
// they are expanded to fp16/bf16 by bit tricks and never touch shared memory again.
//
// Data layout (kernels/cpu/w4_layouts.h, "fast"): the weight is stored as mma A fragments, 512 bytes per
// (16 rows x 64 k) tile, one 16-byte load per lane giving the four k16 steps of that tile; unit-major
// (128 k of every tile, then the next 128 k) so that concurrent warps read neighbouring memory.
//   qweight uint32 [k/128][n/16][2][32 lanes][4]   scales uint32 [k/group][n/16][8]   zeros uint8 [k/group][n/16][8]
// Block: 4 warps, BN = 64 * WN rows (warp w owns tiles w*WN .. w*WN+WN-1), 8*NT tokens, a K slice of
// `chunks_per_split` chunks of 64. Shared memory per stage:
//   W  BN/16 tiles * 512 B       (lane l's 16 bytes at (tile*32 + l)*16: conflict-free LDS.128)
//   X  8*NT tokens * 128 B       (64 k of each token; 16-byte piece p of token r stored at p ^ (r & 7) so
//                                 ldmatrix's 8 rows of one piece hit 8 different bank groups)
//   S  BN/16 tiles * 2 groups * 32 B of scale words; Z  BN/16 * 2 * 8 B of zero bytes (asymmetric only)
// Bytes a launch must move from DRAM: n*k/2 (weights) + n*k/group*2 (scales) [+ n*k/group/2 (zeros)]
// + m*k*2 (x, once per n-block; served by L2 after the first) + m*n*2 (y). Split-K: the K slices of one
// output tile form a thread-block cluster and add their partial sums in distributed shared memory.
//
// Dequantization of one 32-bit word w (8 values, see layout): fp16 puts nibble pairs into 1024 + q by
// OR-ing 0x6400 after masking with 0x000f000f (rows r0) or 0x00f000f0 (rows r1: 1024 + 16q; those rows'
// results are scaled by 1/16 at the end, exactly); bf16 has only 7 mantissa bits, so it shifts instead
// (128 + q). Then one sub of the zero magic (exact small integers). The scale is applied
//   NT <= 2 (memory-bound): to the fp32 accumulator once per group part (4*NT FMAs), which is exact and
//                            saves the per-pair multiply;
//   NT >= 4: per value pair in fp16/bf16 (one HMUL2), so accumulators need no per-group copy.
#include <type_traits>

#include "w4a16_device.cuh"
#include "w4a16_internal.h"

namespace awq::cuda {

constexpr int kFastWarps = 4;
constexpr int kFastThreads = 32 * kFastWarps;

struct FastParams {
    const uint4* qweight;
    const uint32_t* scales;
    const uint8_t* zeros;
    const void* x;
    void* y;
    int m, n, k, group;
    int splits, chunks_per_split;
    int units_per_warp;  // warp-split decode kernel: 128-k units of each warp's K range
    int x_gated;         // warp-split decode kernel: x rows are [gate | up] (2k wide), the input is silu(gate) * up
    // Warp-split decode kernel, m = 1: residual add + RMSNorm fold (w4a16.h, awq_w4_options).
    void* residual;           // output side: residual[n] += y (rounded), in place
    float* sumsq_out;         // output side: per 16-row tile, sum of squares of the new residual
    const float* sumsq_in;    // input side: x is a residual h with these k/16 tile sums; the input is its RMSNorm
    const void* norm_weight;  // input side: [k]
    float norm_eps;
    int norm_on_output;       // input side: stage dtype(norm_weight * h), scale y by the rsqrt instead
    // Warp-specialized wgmma kernel, stream-K (w4a16_fast_wgmma_ws.cuh): shares of partial tiles, and per tile
    // and consumer a counter (zero at rest). NULL: one tile per block.
    float* sk_partials;
    int* sk_counters;
    int sk_early;  // stream-K: 1 = each consumer counts itself in when it starts a partial tile (early arrival)
    int x_multicast;  // warp-specialized wgmma kernel: 2 = clusters of two row blocks share x (TMA multicast)
    int ws_persistent;  // warp-specialized wgmma kernel: 1 = gridDim.x blocks each walk a contiguous run of whole tiles
};

template <int NT, int WN>
struct FastTile {
    static constexpr int kTiles = kFastWarps * WN;  // 16-row tiles per block
    static constexpr int kTok = 8 * NT;
    static constexpr int kW = kTiles * 512;
    static constexpr int kX = kTok * 128;
    static constexpr int kS = kTiles * 2 * 32;
    static constexpr int kZ = kTiles * 2 * 8;
    static constexpr int kStage = kW + kX + kS + kZ;
};

// Per lane, per tile, per group: zero magics and scales for its two rows r0 = l/4 and r1 = r0 + 8.
template <class T, bool kScaleAfter>
struct FastMeta {
    uint32_t z0, z1;  // T2 bit patterns of (magic + zero) for rows r0, r1
    uint32_t s0, s1;  // scale-before: T2 scale pairs
    float f0, f1;     // scale-after: fp32 scales (r1 already divided by 16 for fp16)
};

template <class T, bool kZeros, bool kScaleAfter>
__device__ __forceinline__ FastMeta<T, kScaleAfter> fast_meta(uint32_t scale_word, uint32_t zero_byte, uint32_t magic) {
    using E = Elt<T>;
    constexpr bool kHalf = std::is_same_v<T, half>;
    FastMeta<T, kScaleAfter> m;
    if constexpr (kZeros) {
        const uint32_t x = zero_byte * 0x00010001u;  // the byte (z0 | z1 << 4) in both halves
        m.z0 = and_or<0x000F000Fu>(x, magic);
        m.z1 = kHalf ? and_or<0x00F000F0u>(x, magic) : and_or<0x000F000Fu>(x >> 4, magic);
    } else {
        m.z0 = E::kMagic | 0x00080008u;
        m.z1 = kHalf ? (E::kMagic | 0x00800080u) : (E::kMagic | 0x00080008u);
    }
    const half h0 = __ushort_as_half((unsigned short)(scale_word & 0xFFFF));
    const half h1 = __ushort_as_half((unsigned short)(scale_word >> 16));
    if constexpr (kScaleAfter) {
        m.f0 = __half2float(h0);
        m.f1 = __half2float(h1) * (kHalf ? 0.0625f : 1.f);
        m.s0 = m.s1 = 0;
    } else {
        m.s0 = as_u32(E::scale_from_fp16(h0));
        m.s1 = as_u32(E::scale_from_fp16(h1));
        m.f0 = m.f1 = 0.f;
    }
    return m;
}

// Word j (0..3) of a lane's 16-byte piece: the k16 step j of its 64-k chunk.
__device__ __forceinline__ uint32_t piece_word(const uint4& p, int j) {
    return j == 0 ? p.x : j == 1 ? p.y : j == 2 ? p.z : p.w;
}

// One word -> the four A registers of one m16n8k16 step as magic-biased integers: fp16 1024 + q (rows r0) and
// 1024 + 16 q (rows r1), bf16 128 + q; one LOP3 per register (plus one shift per word). `magic` holds
// Elt<T>::kMagic in a register.
template <class T>
__device__ __forceinline__ void magic_unpack(uint32_t w, uint32_t magic, uint32_t (&v)[4]) {
    if constexpr (std::is_same_v<T, half>) {
        const uint32_t w8 = w >> 8;
        v[0] = and_or<0x000F000Fu>(w, magic);
        v[1] = and_or<0x00F000F0u>(w, magic);
        v[2] = and_or<0x000F000Fu>(w8, magic);
        v[3] = and_or<0x00F000F0u>(w8, magic);
    } else {
        v[0] = and_or<0x000F000Fu>(w, magic);
        v[1] = and_or<0x000F000Fu>(w >> 4, magic);
        v[2] = and_or<0x000F000Fu>(w >> 8, magic);
        v[3] = and_or<0x000F000Fu>(w >> 12, magic);
    }
}

// One word -> the four A registers of one m16n8k16 step, zero subtracted (and scaled unless kScaleAfter).
template <class T, bool kScaleAfter>
__device__ __forceinline__ void fast_dequant(uint32_t w, const FastMeta<T, kScaleAfter>& mt, uint32_t (&a)[4],
                                             uint32_t magic) {
    using E = Elt<T>;
    using T2 = typename E::T2;
    uint32_t v[4];
    magic_unpack<T>(w, magic, v);
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        T2 d = __hsub2(from_u32<T2>(v[i]), from_u32<T2>((i & 1) ? mt.z1 : mt.z0));
        if constexpr (!kScaleAfter) d = __hmul2(d, from_u32<T2>((i & 1) ? mt.s1 : mt.s0));
        a[i] = as_u32(d);
    }
}

template <class T, int NT, int WN, bool kZeros, int STAGES>
__global__ void __launch_bounds__(kFastThreads) w4a16_fast_kernel(const FastParams p) {
    using E = Elt<T>;
    using L = FastTile<NT, WN>;
    constexpr bool kScaleAfter = NT <= 2;
    constexpr bool kHalf = std::is_same_v<T, half>;
    using Meta = FastMeta<T, kScaleAfter>;
    extern __shared__ __align__(128) uint8_t smem[];

    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int tb = blockIdx.x, split = blockIdx.y, nb = blockIdx.z;
    const int tok0 = tb * L::kTok;
    uint32_t magic = E::kMagic;
    asm volatile("" : "+r"(magic));  // keep the magic constant in a register for the LOP3s
    pdl_wait();  // x comes from the previous kernel; the pipeline loads x and weights together
    const int tv = min(L::kTok, p.m - tok0);  // tokens of this block that exist
    const int kchunks = p.k >> 6;
    const int c_begin = split * p.chunks_per_split;
    const int nch = max(0, min(kchunks, c_begin + p.chunks_per_split) - c_begin);
    const int tile0 = nb * L::kTiles;
    const bool g32 = p.group == 32;  // two groups per chunk of 64 (else a chunk lies in one group)
    const int gpc = g32 ? 2 : 1;

    // Token rows past m stay zero in every stage; the copies only fill rows < tv.
    for (int i = tid; i < STAGES * (L::kTok - tv) * 8; i += kFastThreads) {
        const int per_stage = (L::kTok - tv) * 8, s = i / per_stage, r = i % per_stage;
        *reinterpret_cast<uint4*>(smem + s * L::kStage + L::kW + (tv + (r >> 3)) * 128 + (r & 7) * 16) =
            make_uint4(0, 0, 0, 0);
    }

    // Copy roles of this thread, fixed for the whole K loop (a stage only adds its chunk offset): WN weight
    // pieces, up to kXP activation pieces, one scale piece and one zero piece.
    constexpr int kXP = (L::kTok * 8 + kFastThreads - 1) / kFastThreads;
    const int cpg_shift = g32 ? 0 : __ffs(p.group >> 6) - 1;  // group = 64 << cpg_shift (power of two)
    // Unit-major weights (chunk c of tile t at (((c >> 1) * tiles + t) * 2 + (c & 1)) * 32 + lane) and
    // group-major meta (group g of tile t at (g * tiles + t) * 8).
    const int tiles = p.n >> 4;
    const uint4* wsrc[WN];
#pragma unroll
    for (int r = 0; r < WN; ++r) {
        const int i = tid + kFastThreads * r;
        wsrc[r] = p.qweight + (size_t)(tile0 + (i >> 5)) * 64 + (i & 31);
    }
    const T* xsrc[kXP];
    uint32_t xdst[kXP];
    bool xok[kXP];
#pragma unroll
    for (int r = 0; r < kXP; ++r) {
        const int i = tid + kFastThreads * r, row = i >> 3, pc = i & 7;
        xok[r] = row < tv;
        xsrc[r] = static_cast<const T*>(p.x) + (size_t)(tok0 + (xok[r] ? row : 0)) * p.k + (size_t)c_begin * 64 + pc * 8;
        xdst[r] = L::kW + row * 128 + ((pc ^ (row & 7)) << 4);
    }
    const bool s_ok = tid < L::kTiles * gpc * 2, z_ok = kZeros && tid < L::kTiles * gpc;
    const uint32_t* ssrc = p.scales;
    uint32_t sdst = 0;
    if (s_ok) {
        const int t = tid / (gpc * 2), gl = (tid >> 1) % gpc, h = tid & 1;
        ssrc = p.scales + ((size_t)gl * tiles + tile0 + t) * 8 + h * 4;
        sdst = L::kW + L::kX + (t * 2 + gl) * 32 + h * 16;
    }
    const uint8_t* zsrc = p.zeros;
    uint32_t zdst = 0;
    if (z_ok) {
        const int t = tid / gpc, gl = tid % gpc;
        zsrc = p.zeros + ((size_t)gl * tiles + tile0 + t) * 8;
        zdst = L::kW + L::kX + L::kS + (t * 2 + gl) * 8;
    }
    auto load_stage = [&](int s, int dc) {  // dc: chunk index within this block's K slice
        uint8_t* st = smem + s * L::kStage;
        const int c = c_begin + dc;
        const size_t coff = (size_t)(c >> 1) * tiles * 64 + (c & 1) * 32;
#pragma unroll
        for (int r = 0; r < WN; ++r) cp_async16(st + (tid + kFastThreads * r) * 16, wsrc[r] + coff);
#pragma unroll
        for (int r = 0; r < kXP; ++r)
            if (xok[r]) cp_async16(st + xdst[r], xsrc[r] + dc * 64);
        const int g0 = g32 ? 2 * c : c >> cpg_shift;
        if (s_ok) cp_async16(st + sdst, ssrc + (size_t)g0 * tiles * 8);
        if constexpr (kZeros) {
            if (z_ok) cp_async8(st + zdst, zsrc + (size_t)g0 * tiles * 8);
        }
    };

    float acc[WN][NT][4];
#pragma unroll
    for (int a = 0; a < WN; ++a)
#pragma unroll
        for (int b = 0; b < NT; ++b)
#pragma unroll
            for (int e = 0; e < 4; ++e) acc[a][b][e] = 0.f;

#pragma unroll
    for (int s = 0; s < STAGES - 1; ++s) {
        if (s < nch) load_stage(s, s);
        cp_async_commit();
    }

    for (int it = 0; it < nch; ++it) {
        cp_async_wait<STAGES - 2>();
        __syncthreads();
        {
            const int nxt = it + STAGES - 1;
            if (nxt < nch) load_stage(nxt % STAGES, nxt);
            cp_async_commit();
        }
        const uint8_t* st = smem + (it % STAGES) * L::kStage;
        const uint8_t* sx = st + L::kW;

        uint4 wq[WN];
        Meta m0[WN], m1[WN];
#pragma unroll
        for (int wi = 0; wi < WN; ++wi) {
            const int t = warp * WN + wi;
            wq[wi] = *reinterpret_cast<const uint4*>(st + (t * 32 + lane) * 16);
            const uint32_t* sw = reinterpret_cast<const uint32_t*>(st + L::kW + L::kX + t * 64);
            const uint8_t* zb = st + L::kW + L::kX + L::kS + t * 16;
            m0[wi] = fast_meta<T, kZeros, kScaleAfter>(sw[lane >> 2], kZeros ? zb[lane >> 2] : 0u, magic);
            m1[wi] = g32 ? fast_meta<T, kZeros, kScaleAfter>(sw[8 + (lane >> 2)], kZeros ? zb[8 + (lane >> 2)] : 0u,
                                                             magic)
                         : m0[wi];
        }

        float part[WN][NT][4];  // scale-after: this group part's unscaled sums
        if constexpr (kScaleAfter) {
#pragma unroll
            for (int a = 0; a < WN; ++a)
#pragma unroll
                for (int b = 0; b < NT; ++b)
#pragma unroll
                    for (int e = 0; e < 4; ++e) part[a][b][e] = 0.f;
        }

        uint32_t bx[4];  // NT == 1: one ldmatrix.x4 covers two k16 steps
#pragma unroll
        for (int j = 0; j < 4; ++j) {
            uint32_t b[NT][2];
            if constexpr (NT == 1) {
                if ((j & 1) == 0) {
                    const int r = lane & 7, pc = 2 * j + (lane >> 3);
                    ldmatrix_x4(bx, sx + r * 128 + ((pc ^ r) << 4));
                }
                b[0][0] = bx[(j & 1) * 2];
                b[0][1] = bx[(j & 1) * 2 + 1];
            } else {
#pragma unroll
                for (int pr = 0; pr < NT / 2; ++pr) {
                    const int mi = lane >> 3;
                    const int r = 8 * (2 * pr + (mi >> 1)) + (lane & 7), pc = 2 * j + (mi & 1);
                    uint32_t q[4];
                    ldmatrix_x4(q, sx + r * 128 + ((pc ^ (r & 7)) << 4));
                    b[2 * pr][0] = q[0];
                    b[2 * pr][1] = q[1];
                    b[2 * pr + 1][0] = q[2];
                    b[2 * pr + 1][1] = q[3];
                }
            }
#pragma unroll
            for (int wi = 0; wi < WN; ++wi) {
                const uint32_t word = piece_word(wq[wi], j);
                uint32_t a[4];
                fast_dequant<T, kScaleAfter>(word, j < 2 ? m0[wi] : m1[wi], a, magic);
#pragma unroll
                for (int nt = 0; nt < NT; ++nt) {
                    if constexpr (kScaleAfter)
                        mma16816<T>(part[wi][nt], a, b[nt][0], b[nt][1]);
                    else
                        mma16816<T>(acc[wi][nt], a, b[nt][0], b[nt][1]);
                }
            }
            if constexpr (kScaleAfter) {
                if (j == 3 || (j == 1 && g32)) {
#pragma unroll
                    for (int wi = 0; wi < WN; ++wi) {
                        const Meta& mt = j == 1 ? m0[wi] : m1[wi];
#pragma unroll
                        for (int nt = 0; nt < NT; ++nt) {
                            acc[wi][nt][0] += mt.f0 * part[wi][nt][0];
                            acc[wi][nt][1] += mt.f0 * part[wi][nt][1];
                            acc[wi][nt][2] += mt.f1 * part[wi][nt][2];
                            acc[wi][nt][3] += mt.f1 * part[wi][nt][3];
#pragma unroll
                            for (int e = 0; e < 4; ++e) part[wi][nt][e] = 0.f;
                        }
                    }
                }
            }
        }
    }
    cp_async_wait<0>();
    pdl_trigger();  // (not earlier: a dependent launched early would take this kernel's SM slots)

    // Epilogue. Accumulator element e of tile (wi, nt): row r0 (+8 for e >= 2), token 2*(lane%4) + (e & 1).
    // The K slices of this tile (a cluster along y) meet in shared memory; rank 0 writes y.
    constexpr float kR1 = (kHalf && !kScaleAfter) ? 0.0625f : 1.f;
    float v[WN * NT * 4];
#pragma unroll
    for (int wi = 0; wi < WN; ++wi)
#pragma unroll
        for (int nt = 0; nt < NT; ++nt)
#pragma unroll
            for (int e = 0; e < 4; ++e) v[(wi * NT + nt) * 4 + e] = acc[wi][nt][e] * (e >= 2 ? kR1 : 1.f);
    __syncthreads();  // every warp is done with the pipeline's shared memory; reuse it as reduce scratch
    if (!cluster_reduce<WN * NT * 4>(v, reinterpret_cast<float*>(smem))) return;
    T* y = static_cast<T*>(p.y);
#pragma unroll
    for (int wi = 0; wi < WN; ++wi)
#pragma unroll
        for (int nt = 0; nt < NT; ++nt)
#pragma unroll
            for (int e = 0; e < 4; ++e) {
                const int row = (tile0 + warp * WN + wi) * 16 + (lane >> 2) + (e >= 2 ? 8 : 0);
                const int tok = tok0 + nt * 8 + 2 * (lane & 3) + (e & 1);
                if (tok < p.m) y[(size_t)tok * p.n + row] = E::from_float(v[(wi * NT + nt) * 4 + e]);
            }
}

// Launches one of the fast layout's kernels: the K slices along grid.y form one thread-block cluster (their partial
// sums meet in distributed shared memory), and with `pdl` the launch may begin while the stream's previous kernel
// finishes (the kernel waits for it before reading x).
// `extra`: kernel arguments after the parameters (the warp-specialized kernel's tensor map).
template <class Kernel, class... Extra>
cudaError_t launch_fast_kernel(Kernel kernel, const FastParams& p, dim3 grid, int threads, size_t smem, bool pdl,
                               cudaStream_t stream, const Extra&... extra) {
    cudaLaunchConfig_t cfg = {};
    cfg.gridDim = grid;
    cfg.blockDim = dim3(threads);
    cfg.dynamicSmemBytes = smem;
    cfg.stream = stream;
    cudaLaunchAttribute attrs[2];
    int na = 0;
    if (grid.y > 1 || p.x_multicast == 2) {  // K slices of one tile, or a pair of row blocks sharing x
        attrs[na].id = cudaLaunchAttributeClusterDimension;
        attrs[na].val.clusterDim.x = 1;
        attrs[na].val.clusterDim.y = grid.y;
        attrs[na].val.clusterDim.z = p.x_multicast == 2 ? 2 : 1;
        ++na;
    }
    if (pdl) {
        attrs[na].id = cudaLaunchAttributeProgrammaticStreamSerialization;
        attrs[na].val.programmaticStreamSerializationAllowed = 1;
        ++na;
    }
    cfg.attrs = attrs;
    cfg.numAttrs = na;
    return cudaLaunchKernelEx(&cfg, kernel, p, extra...);
}

template <class T, int NT, int WN, bool kZeros, int STAGES>
cudaError_t fast_launch_one(const FastParams& p, dim3 grid, bool pdl, cudaStream_t stream, int* occupancy) {
    constexpr int kSmem = STAGES * FastTile<NT, WN>::kStage;
    static_assert(kSmem >= WN * NT * 4 * kFastThreads * 4, "pipeline memory must hold the reduce scratch");
    auto kernel = w4a16_fast_kernel<T, NT, WN, kZeros, STAGES>;
    static const cudaError_t attr =
        cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, kSmem);
    if (attr != cudaSuccess) return attr;
    if (occupancy) return cudaOccupancyMaxActiveBlocksPerMultiprocessor(occupancy, kernel, kFastThreads, kSmem);
    return launch_fast_kernel(kernel, p, grid, kFastThreads, kSmem, pdl, stream);
}

// Instantiated per element type in w4a16_fast_f16.cu / w4a16_fast_bf16.cu. Tokens 8 and 16 use the
// register-streaming kernel of w4a16_fast_small.cuh instead.
template <class T>
cudaError_t fast_dispatch(const FastParams& p, const FastConfig& cfg, bool zeros, dim3 grid, cudaStream_t stream,
                          int* occupancy) {
#define AWQ_FAST_CASE(NT, WN, ST)                                                                            \
    if (cfg.tokens == 8 * NT && cfg.wn == WN && cfg.stages == ST)                                            \
        return zeros ? fast_launch_one<T, NT, WN, true, ST>(p, grid, cfg.pdl, stream, occupancy)              \
                     : fast_launch_one<T, NT, WN, false, ST>(p, grid, cfg.pdl, stream, occupancy);
    AWQ_FAST_CASE(4, 1, 3)
    AWQ_FAST_CASE(4, 1, 4)
    AWQ_FAST_CASE(8, 1, 3)
    AWQ_FAST_CASE(8, 1, 4)
    AWQ_FAST_CASE(8, 2, 3)
    AWQ_FAST_CASE(8, 2, 4)
#undef AWQ_FAST_CASE
    return cudaErrorInvalidConfiguration;
}

}  // namespace awq::cuda
