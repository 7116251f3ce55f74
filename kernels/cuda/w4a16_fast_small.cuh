#pragma once
// The "fast" W4A16 kernel for decode-sized m (1..16 tokens): pure weight streaming.
//
// Same weight layout and tensor-core mapping as w4a16_fast.cuh (weights = mma A operand, tokens = n8), but
// the weights go straight from global memory into registers: each lane keeps D units of 128 k (two 16-byte
// loads of its 16-row tile, plus the scale words / zero bytes of the groups they span) in flight in a
// register ring and never touches shared memory or a barrier for them. Working in units of 128 k halves
// the per-load bookkeeping (addresses, group scales, loop control), which is what bounds a streaming
// kernel's issue rate once dequantization is down to 9 instructions per 8 weights. The block's slice of x (its tokens x its K range) is staged in shared memory once, with the 16-byte
// pieces of row r stored at piece ^ (r & 7) so that ldmatrix's 8 rows of one piece hit 8 bank groups;
// token rows past m are not stored at all: their ldmatrix row address points at a 16-byte zero block.
// Per 128 k a lane issues: 2 LDG.128 (weights) + GM LDG.32 (scale words) [+ GM LDG.U8 (zeros)], 4*NT LDSM,
// 8 x (1 shift + 4 LOP3) for dequantization (fp16), 8*NT HMMA, and 8*NT FFMA per group for zero and scale.
// Block: 4 warps, warp w owns TW adjacent 16-row tiles (w*TW .. w*TW+TW-1) of the block's 64*TW rows; grid
// (ceil(m / (8*NT)), splits, n / (64*TW)) with the splits (K slices of whole groups and units of 128 k; the last
// may end in half a unit) forming one thread-block cluster whose partial sums meet in distributed shared memory.
// Bytes moved: n*k/2 + n*k/group*2 [+ n*k/group/2] from DRAM once; x once per block from L2; y once.
// Why TW = 2: each block stages its tokens x K-slice of x from L2, 2 * tokens bytes per k against 32 * TW weight
// bytes per k, so at 16 tokens and TW = 1 the blocks together read as many bytes of x from L2 as of weights from
// DRAM. Two tiles per warp halve that and let one ldmatrix of x feed twice the MMAs, at the price of twice the
// weight registers in flight per lane (so depth 2 or 4 only).
//
// XP (opt-in, options.x_pieces = 1; NOT yet measured on a GPU): x in pieces, sums by MMA. Without it every block
// stages its whole x slice, waits for it, sums it per range and tokens in shared memory and only then issues its
// first MMA: at 16 tokens that is 0.5 bytes of x per weight byte, all of a wave's blocks reading x from L2 at the
// same moment while only D units of weights per lane are in flight. With XP the slice comes in kXPieces
// cp.async groups of growing size (units [0, 1), [1, 3), [3, 7), [7, end)); a warp waits for a piece (one
// __syncthreads) only when it reaches the piece's first unit, so the rest of x arrives under the weight stream.
// The per-range sums of x, which the zero-point correction needs before the first flush, come from the tensor
// cores instead of a block-wide pass: the x fragments a warp already holds, rearranged as an A operand (16 rows
// = the 16 tokens of one k16 step, or for 8 tokens two k16 steps), times a B of ones, give every token's sum in
// fp32 (one HMMA per k16 step at 16 tokens, one per two steps at 8; + 4 or 2 SHFL per flush to move each
// token's sum to the lanes that hold its accumulators). No range-sum array in shared memory, no second barrier.
#include "w4a16_fast.cuh"

namespace awq::cuda {

constexpr int kSmallThreads = 128;
constexpr int kSmallXBytes = 96 * 1024;  // shared memory for the block's x slice (bounds the K slice)
constexpr int kSmallMaxSplits = 8;       // K slices = cluster size (portable maximum)
constexpr int kSmallMaxSmem = 200 * 1024;
constexpr int kXPieces = 4;  // XP: x arrives in this many cp.async groups (see above)

// XP: first 128-k unit of x piece q (q = 0..kXPieces; the last piece runs to the end of the slice).
__device__ __forceinline__ int small_x_piece_start(int q, int nunits) {
    return q >= kXPieces ? nunits : min(nunits, (1 << q) - 1);
}
// XP: wait until this thread's copies of pieces 0..q have landed (cp.async groups are counted from the newest).
__device__ __forceinline__ void small_x_piece_wait(int q) {
    static_assert(kXPieces == 4, "one case per piece");
    if (q == 0) cp_async_wait<3>();
    else if (q == 1) cp_async_wait<2>();
    else if (q == 2) cp_async_wait<1>();
    else cp_async_wait<0>();
}

// Per lane and group: fp32 scales and zero biases of its rows r0 = l/4 and r1 = r0 + 8.
struct SmallMeta {
    float f0, f1;  // scale (r1 / 16 for fp16: those rows carry 16 q)
    float b0, b1;  // magic + zero, in the units of the A values (fp16 r1: 1024 + 16 z)
};

template <class T, bool kZeros>
__device__ __forceinline__ SmallMeta small_meta(uint32_t scale_word, uint32_t zero_byte) {
    constexpr bool kHalf = std::is_same_v<T, half>;
    constexpr float kBias = kHalf ? 1024.f : 128.f;
    const uint32_t z0 = kZeros ? (zero_byte & 0xF) : 8u, z1 = kZeros ? (zero_byte >> 4) : 8u;
    SmallMeta m;
    m.f0 = __half2float(__ushort_as_half((unsigned short)(scale_word & 0xFFFF)));
    m.f1 = __half2float(__ushort_as_half((unsigned short)(scale_word >> 16))) * (kHalf ? 0.0625f : 1.f);
    m.b0 = kBias + (float)z0;
    m.b1 = kBias + (float)(kHalf ? 16 * z1 : z1);
    return m;
}

// NT: token tiles of 8 (1 or 2); GM: groups per unit of 128 k (1 for group >= 128, 2 for 64, 4 for 32);
// D: units in flight per lane (each unit = two 16-byte weight loads + its scale words and zero bytes).
//
// Zero points cost nothing per weight: the A operand is the magic-biased value (1024 + q, or 128 + q for
// bf16: exact small integers) and per flush range R (a group, at most 128 k) the kernel subtracts
// (magic + zero) * sum(x over R) in fp32, sum(x) being precomputed per block from its x slice. With the
// scale applied after the mma too, dequantization is 4 LOP3 + 1 shift per 8 weights (fp16). The products
// are exact and fp32-accumulated; the bias adds at most ~1e-4 relative error (see NOTES.md).
template <class T, int NT, int TW, bool kZeros, int GM, int D, bool XP>
__global__ void __launch_bounds__(kSmallThreads) w4a16_fast_small_kernel(const FastParams p) {
    using E = Elt<T>;
    constexpr int kSPG = 8 / GM;      // k16 steps per group (per flush)
    constexpr int kR = 16 * kSPG;     // k per flush range
    extern __shared__ __align__(128) uint8_t smem[];
    float* red = reinterpret_cast<float*>(smem);                  // [4 * NT * TW][128] cluster-reduce scratch
    uint8_t* zero16 = smem + 4 * NT * TW * kSmallThreads * 4;     // 128 bytes of zeros (rows past m)
    float* xsum = reinterpret_cast<float*>(zero16 + 128);         // [ranges][8 * NT] (not with XP)
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int tb = blockIdx.x, split = blockIdx.y, nb = blockIdx.z;
    const int tok0 = tb * 8 * NT;
    const int tv = min(8 * NT, p.m - tok0);
    const int kchunks = p.k >> 6;
    const int c_begin = split * p.chunks_per_split;  // a multiple of max(2, group / 64) chunks
    const int nch = max(0, min(kchunks, c_begin + p.chunks_per_split) - c_begin);
    const int nunits = (nch + 1) >> 1;
    const int ks = nch * 64;
    const int nranges = (ks + kR - 1) / kR;
    uint8_t* xs = zero16 + 128 + (XP ? 0 : ((nranges * 8 * NT * 4 + 127) & ~127));  // [tv][ks] halves, swizzled
    uint32_t magic = E::kMagic;
    asm volatile("" : "+r"(magic));

    // Unit-major weights: unit u of tile t at ((u * tiles + t) * 2 + h) * 32 + lane (16-byte pieces);
    // group-major meta: group g of tile t at (g * tiles + t) * 8 + lane / 4. A warp's TW tiles are adjacent:
    // tile j's pieces sit 64 uint4 (1 KiB) and its meta 8 words after tile j - 1's.
    const int tile = (nb * 4 + warp) * TW, tiles = p.n >> 4;
    const uint4* wp = p.qweight + ((size_t)(c_begin >> 1) * tiles + tile) * 64 + lane;
    const size_t wstride = (size_t)tiles * 64;  // per unit
    const uint32_t* sp = p.scales + (size_t)tile * 8 + (lane >> 2);
    const uint8_t* zp = kZeros ? p.zeros + (size_t)tile * 8 + (lane >> 2) : nullptr;
    const size_t gstride = (size_t)tiles * 8;  // per group
    const int g_begin = (c_begin * 64) / p.group;
    const int ushift = GM == 1 ? __ffs(p.group >> 7) - 1 : 0;  // group = 128 << ushift

    uint4 ring[D][TW][2];
    uint32_t sring[D][TW][GM];
    uint32_t zring[D][TW];
    auto prefetch = [&](int slot, int unit) {
        const bool two = 2 * unit + 1 < nch;
        const int g = g_begin + (GM == 1 ? unit >> ushift : unit * GM);
#pragma unroll
        for (int j = 0; j < TW; ++j) {
            ring[slot][j][0] = __ldcs(wp + unit * wstride + j * 64);
            ring[slot][j][1] = two ? __ldcs(wp + unit * wstride + j * 64 + 32) : make_uint4(0, 0, 0, 0);
            uint32_t zb = 0;
#pragma unroll
            for (int i = 0; i < GM; ++i) {
                if (GM == 1 || i < GM / 2 || two) {  // half a unit at the end of k spans only half the groups
                    sring[slot][j][i] = __ldg(sp + (g + i) * gstride + j * 8);
                    if constexpr (kZeros) zb |= (uint32_t)__ldg(zp + (g + i) * gstride + j * 8) << (8 * i);
                } else {
                    sring[slot][j][i] = 0;
                }
            }
            zring[slot][j] = zb;
        }
    };
    // The weights do not depend on the previous kernel: start streaming them before waiting for it.
#pragma unroll
    for (int u = 0; u < D; ++u)
        if (u < nunits) prefetch(u, u);
    pdl_trigger();
    pdl_wait();

    // Stage x (chunks [c0, c1) of every valid token row: one cp.async group), then, without XP, wait for it and
    // sum it per range (zero for tokens past m).
    if (tid < 8) reinterpret_cast<uint4*>(zero16)[tid] = make_uint4(0, 0, 0, 0);
    const T* xg = static_cast<const T*>(p.x) + (size_t)tok0 * p.k + (size_t)c_begin * 64;
    auto stage_x = [&](int c0, int c1) {
        const int npc = (c1 - c0) * 8;  // 16-byte pieces per token row
        for (int i = tid; i < tv * npc; i += kSmallThreads) {
            const int r = i / npc, pc = c0 * 8 + (i - r * npc);
            cp_async16(xs + (size_t)r * ks * 2 + ((pc ^ (r & 7)) << 4), xg + (size_t)r * p.k + pc * 8);
        }
        cp_async_commit();
    };
    if constexpr (XP) {
#pragma unroll
        for (int q = 0; q < kXPieces; ++q)
            stage_x(min(nch, 2 * small_x_piece_start(q, nunits)), min(nch, 2 * small_x_piece_start(q + 1, nunits)));
    } else {
        stage_x(0, nch);
        cp_async_wait<0>();
        __syncthreads();
        for (int i = tid; i < nranges * 8 * NT; i += kSmallThreads) {
            const int rg = i / (8 * NT), t = i - rg * 8 * NT;
            float sum = 0.f;
            if (t < tv) {
                const int p0 = rg * kR / 8, p1 = min(ks, (rg + 1) * kR) / 8;
                for (int pc = p0; pc < p1; ++pc) {
                    const uint4 v = *reinterpret_cast<const uint4*>(xs + (size_t)t * ks * 2 + ((pc ^ (t & 7)) << 4));
                    const typename E::T2* h = reinterpret_cast<const typename E::T2*>(&v);
#pragma unroll
                    for (int q = 0; q < 4; ++q) {
                        const float2 f = {E::to_float(h[q].x), E::to_float(h[q].y)};
                        sum += f.x + f.y;
                    }
                }
            }
            xsum[rg * 8 * NT + t] = sum;
        }
        __syncthreads();
    }
    const int mi = lane >> 3;
    const int xrow = NT == 1 ? (lane & 7) : 8 * (mi >> 1) + (lane & 7);
    const bool xvalid = xrow < tv;
    const uint8_t* xbase = xvalid ? xs + (size_t)xrow * ks * 2 : zero16;
    const int xstride = xvalid ? 128 : 0;
    uint32_t xoff[4];
#pragma unroll
    for (int q = 0; q < 4; ++q) {
        const int pc = NT == 1 ? 2 * q + mi : 2 * q + (mi & 1);
        xoff[q] = xvalid ? ((pc ^ (xrow & 7)) & 7) << 4 : 0;
    }
    const float* xsum_lane = xsum + 2 * (lane & 3);  // + range * 8 * NT + nt * 8: tokens t0, t0 + 1
    // XP: the range's sums of x from the tensor cores. A = the x fragments of a k16 step as 16 rows (NT = 2: row
    // t = token t; NT = 1: rows 0-7 the tokens at step s, rows 8-15 the same tokens at step s + 1), B = ones, so
    // xsp[0] (= xsp[1]) is row lane / 4's sum and xsp[2] (= xsp[3]) row lane / 4 + 8's. The flush moves token t's
    // sum from lane 4t (NT = 1: rows t and t + 8 added) to the lanes whose accumulators hold token t.
    float xsp[4] = {0.f, 0.f, 0.f, 0.f};
    const uint32_t ones = std::is_same_v<T, half> ? 0x3C003C00u : 0x3F803F80u;
    const int xsrc = 8 * (lane & 3);  // lane holding token 2 * (lane & 3) (and + 8); + 4: the next token

    float acc[TW][NT][4];
#pragma unroll
    for (int j = 0; j < TW; ++j)
#pragma unroll
        for (int b = 0; b < NT; ++b)
#pragma unroll
            for (int e = 0; e < 4; ++e) acc[j][b][e] = 0.f;

    for (int base = 0; base < nunits; base += D) {
#pragma unroll
        for (int slot = 0; slot < D; ++slot) {
            const int unit = base + slot;
            if (unit >= nunits) break;
            if constexpr (XP) {
                if (unit < 8 && ((unit + 1) & unit) == 0) {  // unit 0, 1, 3 or 7: the first of x piece 0..3
                    small_x_piece_wait(31 - __clz(unit + 1));
                    __syncthreads();
                }
            }
            const bool two = 2 * unit + 1 < nch;
            float part[TW][NT][4];
#pragma unroll
            for (int j = 0; j < TW; ++j)
#pragma unroll
                for (int b = 0; b < NT; ++b)
#pragma unroll
                    for (int e = 0; e < 4; ++e) part[j][b][e] = 0.f;
            uint32_t bx[4];
#pragma unroll
            for (int s = 0; s < 8; ++s) {
                if (s == 4 && !two) break;
                const int q = s & 3, ci = 2 * unit + (s >> 2);
                uint32_t b[NT][2];
                if constexpr (NT == 1) {
                    if ((s & 1) == 0) {
                        ldmatrix_x4(bx, xbase + ci * xstride + xoff[q]);
                        if constexpr (XP) {  // steps s and s + 1 as rows 0-7 and 8-15
                            const uint32_t ax[4] = {bx[0], bx[2], bx[1], bx[3]};
                            mma16816<T>(xsp, ax, ones, ones);
                        }
                    }
                    b[0][0] = bx[(s & 1) * 2];
                    b[0][1] = bx[(s & 1) * 2 + 1];
                } else {
                    ldmatrix_x4(bx, xbase + ci * xstride + xoff[q]);
                    b[0][0] = bx[0];
                    b[0][1] = bx[1];
                    b[1][0] = bx[2];
                    b[1][1] = bx[3];
                    if constexpr (XP) {  // tokens 0-7 and 8-15 as rows 0-7 and 8-15
                        const uint32_t ax[4] = {bx[0], bx[2], bx[1], bx[3]};
                        mma16816<T>(xsp, ax, ones, ones);
                    }
                }
#pragma unroll
                for (int j = 0; j < TW; ++j) {
                    uint32_t a[4];
                    magic_unpack<T>(piece_word(ring[slot][j][s >> 2], q), magic, a);
#pragma unroll
                    for (int nt = 0; nt < NT; ++nt) mma16816<T>(part[j][nt], a, b[nt][0], b[nt][1]);
                }
                if ((s + 1) % kSPG == 0 || (s == 3 && !two)) {
                    const int gi = s / kSPG;
                    const float* xsr = xsum_lane + (unit * GM + gi) * 8 * NT;
                    float2 xr[NT];  // XP: this range's sums of tokens nt * 8 + 2 * (lane & 3) + {0, 1}
                    if constexpr (XP) {
                        if constexpr (NT == 1) {
                            const float t = xsp[0] + xsp[2];
                            xr[0] = make_float2(__shfl_sync(0xffffffffu, t, xsrc), __shfl_sync(0xffffffffu, t, xsrc + 4));
                        } else {
#pragma unroll
                            for (int nt = 0; nt < NT; ++nt)
                                xr[nt] = make_float2(__shfl_sync(0xffffffffu, xsp[2 * nt], xsrc),
                                                     __shfl_sync(0xffffffffu, xsp[2 * nt], xsrc + 4));
                        }
#pragma unroll
                        for (int e = 0; e < 4; ++e) xsp[e] = 0.f;
                    }
#pragma unroll
                    for (int j = 0; j < TW; ++j) {
                        const SmallMeta m = small_meta<T, kZeros>(
                            sring[slot][j][gi], kZeros ? (zring[slot][j] >> (8 * gi)) & 0xFF : 0u);
#pragma unroll
                        for (int nt = 0; nt < NT; ++nt) {
                            const float2 xv = XP ? xr[nt] : *reinterpret_cast<const float2*>(xsr + nt * 8);
                            acc[j][nt][0] += m.f0 * fmaf(-m.b0, xv.x, part[j][nt][0]);
                            acc[j][nt][1] += m.f0 * fmaf(-m.b0, xv.y, part[j][nt][1]);
                            acc[j][nt][2] += m.f1 * fmaf(-m.b1, xv.x, part[j][nt][2]);
                            acc[j][nt][3] += m.f1 * fmaf(-m.b1, xv.y, part[j][nt][3]);
#pragma unroll
                            for (int e = 0; e < 4; ++e) part[j][nt][e] = 0.f;
                        }
                    }
                }
            }
            if (unit + D < nunits) prefetch(slot, unit + D);
        }
    }

    // Sum the K slices of the cluster; rank 0 writes y.
    float v[4 * NT * TW];
#pragma unroll
    for (int j = 0; j < TW; ++j)
#pragma unroll
        for (int nt = 0; nt < NT; ++nt)
#pragma unroll
            for (int e = 0; e < 4; ++e) v[(j * NT + nt) * 4 + e] = acc[j][nt][e];
    if (!cluster_reduce<4 * NT * TW>(v, red)) return;
    T* y = static_cast<T*>(p.y);
#pragma unroll
    for (int j = 0; j < TW; ++j)
#pragma unroll
        for (int nt = 0; nt < NT; ++nt)
#pragma unroll
            for (int e = 0; e < 4; ++e) {
                const int row = (tile + j) * 16 + (lane >> 2) + (e >= 2 ? 8 : 0);
                const int tok = tok0 + nt * 8 + 2 * (lane & 3) + (e & 1);
                if (tok < p.m) y[(size_t)tok * p.n + row] = E::from_float(v[(j * NT + nt) * 4 + e]);
            }
}

// Shared memory of one block: reduce scratch + zero row + range sums (not with XP) + the x slice.
inline size_t fast_small_smem(int nt, int tw, int group, int tokens_valid, int chunks, bool xp) {
    const int kr = group >= 128 ? 128 : group;
    const int ranges = (chunks * 64 + kr - 1) / kr;
    return (size_t)4 * nt * tw * kSmallThreads * 4 + 128 +
           (xp ? 0 : ((size_t)ranges * 8 * nt * 4 + 127) & ~(size_t)127) + (size_t)tokens_valid * chunks * 64 * 2;
}

template <class T, int NT, int TW, bool kZeros, int GM, int D, bool XP>
cudaError_t fast_small_launch_one(const FastParams& p, dim3 grid, size_t smem, bool pdl, cudaStream_t stream,
                                  int* occupancy) {
    auto kernel = w4a16_fast_small_kernel<T, NT, TW, kZeros, GM, D, XP>;
    static const cudaError_t attr =
        cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, kSmallMaxSmem);
    if (attr != cudaSuccess) return attr;
    if (occupancy) return cudaOccupancyMaxActiveBlocksPerMultiprocessor(occupancy, kernel, kSmallThreads, smem);
    return launch_fast_kernel(kernel, p, grid, kSmallThreads, smem, pdl, stream);
}

template <class T, int NT, int TW, bool kZeros, int D, bool XP = false>
cudaError_t fast_small_by_depth(const FastParams& p, dim3 grid, size_t smem, bool pdl, cudaStream_t stream,
                                int* occupancy) {
    const int gm = p.group >= 128 ? 1 : p.group == 64 ? 2 : 4;
    if (gm == 1) return fast_small_launch_one<T, NT, TW, kZeros, 1, D, XP>(p, grid, smem, pdl, stream, occupancy);
    if (gm == 2) return fast_small_launch_one<T, NT, TW, kZeros, 2, D, XP>(p, grid, smem, pdl, stream, occupancy);
    return fast_small_launch_one<T, NT, TW, kZeros, 4, D, XP>(p, grid, smem, pdl, stream, occupancy);
}

template <class T, int NT, bool kZeros>
cudaError_t fast_small_by_shape(const FastParams& p, const FastConfig& cfg, dim3 grid, size_t smem,
                                cudaStream_t stream, int* occupancy) {
    const bool pdl = cfg.pdl;
    if (cfg.x_pieces) {  // the shapes fast_config_supported allows with x_pieces
        if (cfg.wn == 2 && cfg.stages == 2)
            return fast_small_by_depth<T, NT, 2, kZeros, 2, true>(p, grid, smem, pdl, stream, occupancy);
        if (cfg.wn == 2) return fast_small_by_depth<T, NT, 2, kZeros, 4, true>(p, grid, smem, pdl, stream, occupancy);
        return fast_small_by_depth<T, NT, 1, kZeros, 4, true>(p, grid, smem, pdl, stream, occupancy);
    }
    if (cfg.wn == 2) {  // twice the weight registers per lane: depth 2 or 4
        if (cfg.stages == 2) return fast_small_by_depth<T, NT, 2, kZeros, 2>(p, grid, smem, pdl, stream, occupancy);
        return fast_small_by_depth<T, NT, 2, kZeros, 4>(p, grid, smem, pdl, stream, occupancy);
    }
    if (cfg.stages == 2) return fast_small_by_depth<T, NT, 1, kZeros, 2>(p, grid, smem, pdl, stream, occupancy);
    if (cfg.stages == 8) return fast_small_by_depth<T, NT, 1, kZeros, 8>(p, grid, smem, pdl, stream, occupancy);
    return fast_small_by_depth<T, NT, 1, kZeros, 4>(p, grid, smem, pdl, stream, occupancy);
}

template <class T>
cudaError_t fast_small_dispatch(const FastParams& p, const FastConfig& cfg, bool zeros, dim3 grid, size_t smem,
                                cudaStream_t stream, int* occupancy) {
    // tiles per warp x depth: the one rule, in fast_config_supported (cfg.warps <= 0 here)
    if (!fast_config_supported(cfg) || grid.y > kSmallMaxSplits) return cudaErrorInvalidConfiguration;
    if (cfg.tokens == 8)
        return zeros ? fast_small_by_shape<T, 1, true>(p, cfg, grid, smem, stream, occupancy)
                     : fast_small_by_shape<T, 1, false>(p, cfg, grid, smem, stream, occupancy);
    if (cfg.tokens == 16)
        return zeros ? fast_small_by_shape<T, 2, true>(p, cfg, grid, smem, stream, occupancy)
                     : fast_small_by_shape<T, 2, false>(p, cfg, grid, smem, stream, occupancy);
    return cudaErrorInvalidConfiguration;
}

}  // namespace awq::cuda
