#pragma once
// The "fast" W4A16 kernel for one token (any m <= 16 works; the dispatcher uses it for m = 1), warp-split
// version: one block per TPW 16-row tiles, its W warps split K between them, and a warp owns everything it reads.
//
// Why this shape (experiments/kernels/NOTES.md v8): the cluster-split kernel of w4a16_fast_small.cuh stayed
// ~1.6x above the read floor, and the same access pattern with the arithmetic removed runs AT the floor
// (bench_read.cu, pattern_read). So the time is in consuming units, not in moving them: what helps is fewer
// instructions per 128-k unit and fewer serial steps before a warp can start. Here a warp issues its first D
// units, then stages only its own slice of x (no block barrier) with the per-group sums of x that the zero
// points need, computed by a butterfly while the weights are in flight; the unit loop has no per-unit
// branches besides the refill (a half-filled last unit is streamed as zero padding against zero x); the
// zero bias comes from one LOP3 on the zero byte; the fp16 rows that carry 16 q are divided by 16 once at
// the end. The K split ends in one block barrier and a fixed-order shared-memory sum: deterministic, no
// clusters, no workspace. Optionally (x_gated) the x rows are SwiGLU's [gate | up] and the staging computes
// silu(gate) * up with the SiLU kernel's rounding, so the down projection needs no separate SiLU launch. With one
// token the residual add + RMSNorm can ride along too (w4a16.h, awq_w4_options residual ... norm_eps): warp 0's
// epilogue adds y into the residual and writes per-tile sums of squares; the staging of the next such matmul
// sums those and normalizes its x slice in the pass that computes the sums of x; or (norm_on_output) stages
// dtype(w * h) and lets warp 0 multiply y by the rsqrt, so that no warp waits for the sums before its first mma.
//
// Data layout (kernels/cpu/w4_layouts.h, "fast"): qweight uint32 [ceil(k/128)][n/16][2][32 lanes][4] (mma A
// fragments, unit-major: unit u of tile t is 1 KB at ((u * tiles + t) * 2 + h) * 32 + lane in 16-byte
// pieces), scales uint32 [k/group][n/16][8] (fp16 pair: rows r0 = lane/4, r1 = r0 + 8), zeros uint8
// [k/group][n/16][8] (z0 | z1 << 4). Grid (n/16/TPW, ceil(m / (8*NT))), block 32*W threads. Warp w owns units
// [w*per, (w+1)*per) (per = p.units_per_warp); its x slice (tv tokens x per*128 values) lives in its own shared
// memory with the 16-byte pieces of row r at piece ^ (r & 7), so ldmatrix's 8 rows hit 8 bank groups; token
// rows past m read a zero block instead.
// Per unit and tile a lane issues 2 LDG.128 (weights), GM LDG.32 (scale words) [+ GM LDG.U8 (zeros)],
// 8 x (1 shift + 4 LOP3) dequantization (fp16), 8*NT HMMA, per group 4*NT x 2 FFMA for zero and scale; and
// per unit 4*NT LDSM shared by the TPW tiles. About 93 instructions per unit and tile (SASS, TPW 1; 88 in the
// one-token instances, kOne).
// Bytes moved: n*k/2 + n*k/group*2 [+ n*k/group/2] from DRAM once; x once per block from L2; y once.
#include "w4a16_fast.cuh"

namespace awq::cuda {

constexpr int kDecodeMaxSmem = 200 * 1024;

// Zero block of a warp: what ldmatrix's rows past the tokens read; 256 bytes because with one token those lanes
// keep the valid lanes' immediate offsets (up to 208 + 16 bytes), so no address is computed per load.
constexpr int kDecodeZeroBytes = 256;

// Shared memory of one warp: its x slice (tokens_valid rows of units_per_warp * 256 bytes), the zero block, and
// the sums of x per flush range (units_per_warp * gm ranges x 8 * nt tokens, fp32); then, after
// all warps, the cross-warp reduce scratch.
// With the RMSNorm fold (normed) one more row holds the warp's slice of the norm weight.
__host__ __device__ inline size_t fast_decode_warp_bytes(int nt, int gm, int tokens_valid, int units_per_warp,
                                                         bool normed) {
    return (size_t)(tokens_valid + (normed ? 1 : 0)) * units_per_warp * 256 + kDecodeZeroBytes +
           (((size_t)units_per_warp * gm * 8 * nt * 4 + 127) & ~(size_t)127);
}
inline size_t fast_decode_smem(int nt, int gm, int tpw, int warps, int tokens_valid, int units_per_warp, bool normed) {
    return (size_t)warps * fast_decode_warp_bytes(nt, gm, tokens_valid, units_per_warp, normed) +
           (size_t)warps * tpw * 4 * nt * 32 * 4;
}

// Per lane, group and tile: fp32 scales and zero biases of rows r0 = l/4 and r1 = r0 + 8, in the units of the
// A values (fp16 rows r1 carry 16 q: their bias is 1024 + 16 z and their sums are divided by 16 once, at the
// end). The bias comes out of one LOP3 on the zero byte with the same magic as the weights (exact).
struct DecodeMeta {
    float f0, f1, b0, b1;
};
template <class T, bool kZeros>
__device__ __forceinline__ DecodeMeta decode_meta(uint32_t scale_word, uint32_t zero_byte, uint32_t magic) {
    constexpr bool kHalf = std::is_same_v<T, half>;
    DecodeMeta m;
    m.f0 = __half2float(__ushort_as_half((unsigned short)(scale_word & 0xFFFF)));
    m.f1 = __half2float(__ushort_as_half((unsigned short)(scale_word >> 16)));
    if constexpr (kZeros) {
        uint32_t b;
        if constexpr (kHalf) {
            b = and_or<0x00F0000Fu>(zero_byte * 0x00010001u, magic);  // (1024 + z0, 1024 + 16 z1)
        } else {
            b = and_or<0x000F000Fu>(zero_byte | (zero_byte << 12), magic);  // (128 + z0, 128 + z1)
        }
        const typename Elt<T>::T2 h = from_u32<typename Elt<T>::T2>(b);
        m.b0 = Elt<T>::to_float(h.x);
        m.b1 = Elt<T>::to_float(h.y);
    } else {
        m.b0 = kHalf ? 1024.f + 8.f : 128.f + 8.f;
        m.b1 = kHalf ? 1024.f + 128.f : 128.f + 8.f;
    }
    return m;
}

// NT: token tiles of 8 (1 or 2); GM: groups per unit of 128 k (1 for group >= 128, 2 for 64, 4 for 32);
// D: units in flight per lane and tile; TPW: 16-row tiles per warp (they share the warp's x fragments and
// give it independent mma chains); kOne: m == 1 (NT == 1), whose flush and reduction skip the accumulators of
// the 7 padding tokens (half the flush FFMAs).
template <class T, int NT, bool kZeros, int GM, int D, int TPW, bool kOne>
__global__ void __launch_bounds__(kDecodeWarpsMax * 32) w4a16_fast_decode_kernel(const FastParams p) {
    using E = Elt<T>;
    constexpr bool kHalf = std::is_same_v<T, half>;
    constexpr int kSPG = 8 / GM;   // k16 steps per group (per flush)
    constexpr int kPPR = 2 * kSPG;  // 16-byte x pieces per flush range (16, 8 or 4: divides 32)
    extern __shared__ __align__(128) uint8_t smem[];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    const int tile0 = blockIdx.x * TPW;
    const uint32_t tiles = (uint32_t)p.n >> 4;
    const int tok0 = blockIdx.y * 8 * NT;
    const int tv = min(8 * NT, p.m - tok0);
    const int kchunks = p.k >> 6, kunits = (kchunks + 1) >> 1;
    const int per = p.units_per_warp;
    const int u0 = min(kunits, warp * per), u1 = min(kunits, u0 + per);
    const int nunits = u1 - u0;
    const int nch = min(kchunks, 2 * u1) - 2 * u0;  // 64-k chunks of x this warp has (the last unit may be half)
    const int rowbytes = per * 256;
    const bool normed = p.sumsq_in != nullptr;  // (m = 1, checked by the launcher)
    // norm_on_output: the staged input is dtype(w * h) and warp 0 scales y by the rsqrt, so only warp 0 needs the
    // partial sums, and only in its epilogue: no warp waits for them before its first mma.
    const bool norm_post = normed && p.norm_on_output;
    uint8_t* xs = smem + (size_t)warp * fast_decode_warp_bytes(NT, GM, tv, per, normed);
    uint8_t* wrow = xs + (size_t)tv * rowbytes;  // normed: this warp's slice of the norm weight
    uint8_t* zero16 = wrow + (normed ? rowbytes : 0);
    float* xsum = reinterpret_cast<float*>(zero16 + kDecodeZeroBytes);  // [nr][8 * NT]
    float* red = reinterpret_cast<float*>(smem + (size_t)warps * fast_decode_warp_bytes(NT, GM, tv, per, normed));
    uint32_t magic = E::kMagic;
    asm volatile("" : "+r"(magic));

    // Running pointers (the prefetches go in unit order). A half-filled last unit is streamed as a whole one:
    // its second chunk is zero padding in the layout and zero in the x slice, so it adds exactly 0; its
    // groups past k get scale 0 instead of a load.
    const uint4* wnext = p.qweight + ((size_t)u0 * tiles + tile0) * 64 + lane;
    const size_t wstride = (size_t)tiles * 64;  // 16-byte pieces per unit
    const uint32_t gstride = tiles * 8u;  // per group
    const int ngroups = p.k / p.group;
    const int ushift = GM == 1 ? __ffs(p.group >> 7) - 1 : 0;  // group = 128 << ushift
    // Meta pointers run with the units too: GM groups per unit, or one group per 2^ushift units (GM == 1).
    int gnext = GM == 1 ? (u0 >> ushift) : u0 * GM;  // group of the next prefetch
    int unext = u0;                                   // its unit
    const uint32_t* snext = p.scales + (size_t)gnext * gstride + tile0 * 8u + (lane >> 2);
    const uint8_t* znext = kZeros ? p.zeros + (size_t)gnext * gstride + tile0 * 8u + (lane >> 2) : nullptr;

    uint4 ring[D][TPW][2];
    uint32_t sring[D][TPW][GM];
    uint32_t zring[D][TPW];
    auto prefetch = [&](int slot) {
#pragma unroll
        for (int t = 0; t < TPW; ++t) {
            ring[slot][t][0] = __ldcs(wnext + t * 64);
            ring[slot][t][1] = __ldcs(wnext + t * 64 + 32);
        }
        wnext += wstride;
#pragma unroll
        for (int t = 0; t < TPW; ++t) {
            uint32_t zb = 0;
#pragma unroll
            for (int i = 0; i < GM; ++i) {
                const bool in = GM == 1 || gnext + i < ngroups;
                sring[slot][t][i] = in ? __ldg(snext + i * gstride + t * 8) : 0u;
                if constexpr (kZeros) zb |= (in ? (uint32_t)__ldg(znext + i * gstride + t * 8) : 0u) << (8 * i);
            }
            zring[slot][t] = zb;
        }
        ++unext;
        const int step = GM == 1 ? ((unext & ((1 << ushift) - 1)) == 0 ? 1 : 0) : GM;
        gnext += step;
        snext += step * gstride;
        if constexpr (kZeros) znext += step * gstride;
    };
    // The weights do not depend on the previous kernel: they start streaming before the wait for it.
#pragma unroll
    for (int u = 0; u < D; ++u)
        if (u < nunits) prefetch(u);
    // So is the norm weight (normed): its slice goes to shared memory now, with the x slice's group below.
    if (normed) {
        const T* wsrc = static_cast<const T*>(p.norm_weight) + (size_t)u0 * 128;
        for (int pc = lane; pc < nch * 8; pc += 32) cp_async16(wrow + pc * 16, wsrc + pc * 8);
    }
    pdl_trigger();
    pdl_wait();
    // Residual fold: warp 0's token-0 lanes hold their output rows' residuals, loaded long before they are used.
    float res_in[TPW][2];
    if constexpr (kOne) {
        if (p.residual && warp == 0 && (lane & 3) == 0) {
#pragma unroll
            for (int t = 0; t < TPW; ++t)
#pragma unroll
                for (int h = 0; h < 2; ++h)
                    res_in[t][h] = E::to_float(static_cast<const T*>(p.residual)[(tile0 + t) * 16 + (lane >> 2) + 8 * h]);
        }
    }
    // RMSNorm fold: every warp that needs the rsqrt (all of them; warp 0 alone with norm_post) sums the previous
    // projection's k/16 tile partials in the same fixed order. The loads are all issued here, independent of each
    // other, and added only after the x slice's loads are issued (a running sum over a loop would wait out one L2
    // round trip per load, in front of the x staging).
    constexpr int kPartsPerLane = 16;  // k <= 8192 (the launcher checks)
    float parts[kPartsPerLane];
    auto load_parts = [&] {
#pragma unroll
        for (int j = 0; j < kPartsPerLane; ++j) {
            const int i = lane + 32 * j;
            parts[j] = i < (p.k >> 4) ? __ldg(p.sumsq_in + (blockIdx.x % AWQ_W4_SUMSQ_COPIES) * (p.k >> 4) + i) : 0.f;
        }
    };
    if (normed && (!norm_post || warp == 0)) load_parts();

    float part_sum = 0.f;  // normed: this lane's share of the sum of h^2
    float wscale = 1.f;    // this warp's accumulators in y's units before yscale (the overflow fallback below)

    // This warp's slice of x (zero past k) and its sums per flush range; only this warp reads them.
    if (lane < kDecodeZeroBytes / 16) reinterpret_cast<uint4*>(zero16)[lane] = make_uint4(0, 0, 0, 0);
    {
        const int pieces = nch * 8, pieces_all = nunits * 16;
        const int xstride = p.x_gated ? 2 * p.k : p.k;
        const T* xrow0 = static_cast<const T*>(p.x) + (size_t)tok0 * xstride + (size_t)u0 * 128;
        auto issue_x = [&] {
            const T* xrow = xrow0;
            for (int r = 0; r < tv; ++r, xrow += xstride) {
                uint8_t* srow = xs + (size_t)r * rowbytes;
                for (int pc = lane; pc < pieces_all; pc += 32) {
                    uint8_t* dst = srow + ((pc ^ (r & 7)) << 4);
                    if (pc >= pieces) {
                        *reinterpret_cast<uint4*>(dst) = make_uint4(0, 0, 0, 0);
                    } else if (!p.x_gated) {
                        cp_async16(dst, xrow + pc * 8);
                    } else {  // SwiGLU: silu(gate) * up, as the separate SiLU kernel would have stored it
                        const uint4 g = *reinterpret_cast<const uint4*>(xrow + pc * 8);
                        const uint4 u = *reinterpret_cast<const uint4*>(xrow + p.k + pc * 8);
                        const T* ge = reinterpret_cast<const T*>(&g);
                        const T* ue = reinterpret_cast<const T*>(&u);
                        uint4 o;
                        T* oe = reinterpret_cast<T*>(&o);
#pragma unroll
                        for (int j = 0; j < 8; ++j) oe[j] = silu_mul<T>(E::to_float(ge[j]), E::to_float(ue[j]));
                        *reinterpret_cast<uint4*>(dst) = o;
                    }
                }
            }
            cp_async_commit();
            cp_async_wait<0>();
            __syncwarp();
        };
        // One pass over the staged slice: the RMSNorm fold's transform of each piece (x row 0 is the residual h;
        // kNormX: dtype(w * dtype(h * inv)), as awq_add_rms_norm rounds it; kNormY: dtype(w * h), one rounding of
        // an exact fp32 product, so HMUL2 gives the same bits), and the sums for the zero points. kPPR lanes per
        // (token, range), one 16-byte piece each, then a butterfly over those lanes (kPPR divides 32, so a group
        // never straddles two iterations). Returns (kNormY) whether a staged value came out infinite.
        enum { kPlain, kNormX, kNormY };
        auto pass = [&](int mode, float inv) {
            bool overflow = false;
            const int per_row = nunits * GM * kPPR;
            for (int r = 0; r < tv; ++r) {
                uint8_t* srow = xs + (size_t)r * rowbytes;
                for (int i0 = 0; i0 < per_row; i0 += 32) {
                    const int i = i0 + lane;
                    float sum = 0.f;
                    if (i < per_row) {
                        uint4* xp = reinterpret_cast<uint4*>(srow + ((i ^ (r & 7)) << 4));
                        uint4 v = *xp;
                        if (mode == kNormY && i < pieces) {  // (m = 1: r = 0, unswizzled)
                            const uint4 wv = *reinterpret_cast<const uint4*>(wrow + (i << 4));
                            typename E::T2* ve = reinterpret_cast<typename E::T2*>(&v);
                            const typename E::T2* we = reinterpret_cast<const typename E::T2*>(&wv);
#pragma unroll
                            for (int j = 0; j < 4; ++j) ve[j] = __hmul2(we[j], ve[j]);
                            *xp = v;
                        } else if (mode == kNormX && i < pieces) {
                            const uint4 wv = *reinterpret_cast<const uint4*>(wrow + (i << 4));
                            T* ve = reinterpret_cast<T*>(&v);
                            const T* we = reinterpret_cast<const T*>(&wv);
#pragma unroll
                            for (int j = 0; j < 8; ++j)
                                ve[j] = E::from_float(E::to_float(we[j]) * E::to_float(E::from_float(E::to_float(ve[j]) * inv)));
                            *xp = v;
                        }
                        const typename E::T2* h = reinterpret_cast<const typename E::T2*>(&v);
#pragma unroll
                        for (int q = 0; q < 4; ++q) sum += E::to_float(h[q].x) + E::to_float(h[q].y);
                    }
#pragma unroll
                    for (int o = kPPR / 2; o > 0; o >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, o);
                    if (i < per_row && i % kPPR == 0) xsum[(i / kPPR) * 8 * NT + r] = sum;
                    overflow |= !isfinite(sum);  // an infinite piece makes its range's sum inf or NaN
                }
            }
            __syncwarp();
            return mode == kNormY && __any_sync(0xffffffffu, overflow);
        };
        auto sum_parts = [&] {
#pragma unroll
            for (int j = 0; j < kPartsPerLane; ++j) part_sum += parts[j];
        };
        auto rsqrt_of_sums = [&] {  // every lane: the butterfly over the lanes' sums, then LlamaRMSNorm's rsqrt
            float t = part_sum;
#pragma unroll
            for (int o = 16; o > 0; o >>= 1) t += __shfl_xor_sync(0xffffffffu, t, o);
            return rsqrtf(t / (float)p.k + p.norm_eps);
        };

        issue_x();
        if (normed && (!norm_post || warp == 0)) sum_parts();
        if (!normed) {
            pass(kPlain, 0.f);
        } else if (!norm_post) {
            pass(kNormX, rsqrt_of_sums());
        } else if (pass(kNormY, 0.f)) {
            // dtype(w * h) overflowed (fp16, |w * h| > 65504 though h and its RMSNorm are finite): this warp
            // stages LlamaRMSNorm's input as kNormX does and divides its accumulators by the rsqrt that warp 0
            // multiplies y with. Never taken when |w| <= 1 or in bf16; a slow path, but the right numbers.
            if (warp != 0) {
                load_parts();
                sum_parts();
            }
            const float inv = rsqrt_of_sums();
            issue_x();
            pass(kNormX, inv);
            wscale = 1.f / inv;
        }
    }
    // ldmatrix row addresses: NT == 1: lanes 8j..8j+7 give rows (tokens) 0..7 of piece 2q + j (two k16 steps
    // per x4); NT == 2: tokens 8(j/2) + 0..7 of piece 2q + (j&1). Rows past tv read the zero block.
    const int mi = lane >> 3;
    const int xr = NT == 1 ? (lane & 7) : 8 * (mi >> 1) + (lane & 7);
    const bool xvalid = xr < tv;
    const uint8_t* xbase = xvalid ? xs + (size_t)xr * rowbytes : zero16;
    const int xunit = xvalid ? 256 : 0;
    uint32_t xoff[2][4];  // [chunk h][q]
#pragma unroll
    for (int h = 0; h < 2; ++h)
#pragma unroll
        for (int q = 0; q < 4; ++q) {
            const int pc = NT == 1 ? 2 * q + mi : 2 * q + (mi & 1);
            xoff[h][q] = xvalid ? h * 128 + (((pc ^ (xr & 7)) & 7) << 4) : 0;
        }
    // One token (kOne): lanes 8j give token 0's row of piece 2q + j at offset h * 128 + 32 q + 16 j (the XOR
    // swizzle is the identity for row 0); the other lanes read the zero block at the same offsets.
    const uint8_t* x1 = xvalid ? xs + 16 * mi : zero16;
    const int x1unit = xvalid ? 256 : 0;
    const float* xsum_lane = xsum + 2 * (lane & 3);  // + range * 8 * NT + nt * 8: tokens t0, t0 + 1

    float acc[TPW][NT][4];
#pragma unroll
    for (int t = 0; t < TPW; ++t)
#pragma unroll
        for (int b = 0; b < NT; ++b)
#pragma unroll
            for (int e = 0; e < 4; ++e) acc[t][b][e] = 0.f;

    for (int base = 0; base < nunits; base += D) {
#pragma unroll
        for (int slot = 0; slot < D; ++slot) {
            const int unit = base + slot;
            if (unit >= nunits) break;
            const uint8_t* xu = xbase + unit * xunit;
            const float* xsr = xsum_lane + unit * GM * 8 * NT;
            float part[TPW][NT][4];
            uint32_t bx[4];
#pragma unroll
            for (int s = 0; s < 8; ++s) {
                const int q = s & 3, h = s >> 2;
                uint32_t b[NT][2];
                if constexpr (kOne) {  // token row 0 is unswizzled: lane base + immediate offset
                    if ((s & 1) == 0) ldmatrix_x4(bx, x1 + unit * x1unit + h * 128 + 32 * q);
                    b[0][0] = bx[(s & 1) * 2];
                    b[0][1] = bx[(s & 1) * 2 + 1];
                } else if constexpr (NT == 1) {
                    if ((s & 1) == 0) ldmatrix_x4(bx, xu + xoff[h][q]);
                    b[0][0] = bx[(s & 1) * 2];
                    b[0][1] = bx[(s & 1) * 2 + 1];
                } else {
                    ldmatrix_x4(bx, xu + xoff[h][q]);
                    b[0][0] = bx[0];
                    b[0][1] = bx[1];
                    b[1][0] = bx[2];
                    b[1][1] = bx[3];
                }
#pragma unroll
                for (int t = 0; t < TPW; ++t) {
                    uint32_t a[4];
                    magic_unpack<T>(piece_word(ring[slot][t][h], q), magic, a);
#pragma unroll
                    for (int nt = 0; nt < NT; ++nt) {
                        if (s % kSPG == 0) {  // first step of a group: start the partial sums
#pragma unroll
                            for (int e = 0; e < 4; ++e) part[t][nt][e] = 0.f;
                        }
                        mma16816<T>(part[t][nt], a, b[nt][0], b[nt][1]);
                    }
                }
                if ((s + 1) % kSPG == 0) {  // last step of a group: zero point and scale, in fp32
                    const int gi = s / kSPG;
#pragma unroll
                    for (int nt = 0; nt < NT; ++nt) {
#pragma unroll
                        for (int t = 0; t < TPW; ++t) {
                            const DecodeMeta m = decode_meta<T, kZeros>(
                                sring[slot][t][gi], kZeros ? (zring[slot][t] >> (8 * gi)) & 0xFF : 0u, magic);
                            const float* ps = part[t][nt];
                            float* ac = acc[t][nt];
                            if constexpr (kOne) {  // token 0 only: accumulator columns 0 (rows r0 and r1)
                                const float xv = xsr[gi * 8 * NT];
                                ac[0] = fmaf(m.f0, fmaf(-m.b0, xv, ps[0]), ac[0]);
                                ac[2] = fmaf(m.f1, fmaf(-m.b1, xv, ps[2]), ac[2]);
                            } else {
                                const float2 xv = *reinterpret_cast<const float2*>(xsr + gi * 8 * NT + nt * 8);
                                ac[0] = fmaf(m.f0, fmaf(-m.b0, xv.x, ps[0]), ac[0]);
                                ac[1] = fmaf(m.f0, fmaf(-m.b0, xv.y, ps[1]), ac[1]);
                                ac[2] = fmaf(m.f1, fmaf(-m.b1, xv.x, ps[2]), ac[2]);
                                ac[3] = fmaf(m.f1, fmaf(-m.b1, xv.y, ps[3]), ac[3]);
                            }
                        }
                    }
                }
            }
            if (unit + D < nunits) prefetch(slot);
        }
    }

    // Sum the warps' K slices in warp order (deterministic); warp 0 writes y. With one token only the
    // accumulators of column 0 (e = 0, 2 in lanes 4i) carry anything; the others are left out.
    constexpr int kV = TPW * NT * 4;
    auto used = [](int e) { return !kOne || e % 2 == 0; };
    constexpr float kR1 = kHalf ? 0.0625f : 1.f;  // fp16 rows r1 were accumulated as 16 q
#pragma unroll
    for (int t = 0; t < TPW; ++t)
#pragma unroll
        for (int nt = 0; nt < NT; ++nt)
#pragma unroll
            for (int e = 0; e < 4; ++e)
                if (used(e)) red[(warp * kV + (t * NT + nt) * 4 + e) * 32 + lane] = acc[t][nt][e] * wscale;
    __syncthreads();
    if (warp != 0) return;
    T* y = static_cast<T*>(p.y);
    float yscale = 1.f;  // norm_post: the RMSNorm's rsqrt, applied to y instead of x (same sums, same order)
    if (norm_post) {
#pragma unroll
        for (int o = 16; o > 0; o >>= 1) part_sum += __shfl_xor_sync(0xffffffffu, part_sum, o);
        yscale = rsqrtf(part_sum / (float)p.k + p.norm_eps);
    }
    float yout[TPW][2];  // one token: this lane's two rows of y, as stored (for the residual fold)
#pragma unroll
    for (int t = 0; t < TPW; ++t)
#pragma unroll
        for (int nt = 0; nt < NT; ++nt)
#pragma unroll
            for (int e = 0; e < 4; ++e) {
                if (!used(e)) continue;
                float v = 0.f;
                for (int w = 0; w < warps; ++w) v += red[(w * kV + (t * NT + nt) * 4 + e) * 32 + lane];
                const int row = (tile0 + t) * 16 + (lane >> 2) + (e >= 2 ? 8 : 0);
                const int tok = tok0 + nt * 8 + 2 * (lane & 3) + (e & 1);
                const T out = E::from_float((e >= 2 ? v * kR1 : v) * yscale);
                if (tok < p.m) y[(size_t)tok * p.n + row] = out;
                if constexpr (kOne) yout[t][e >> 1] = E::to_float(out);
            }
    // Residual fold: h = dtype(residual + y) in place, and per tile the sum of h^2 over its 16 rows (token-0
    // lanes 4i hold rows i and i + 8; the butterfly over lanes 4i sums them in a fixed order).
    if constexpr (kOne) {
        if (p.residual) {
            T* res = static_cast<T*>(p.residual);
#pragma unroll
            for (int t = 0; t < TPW; ++t) {
                float sq = 0.f;
                if ((lane & 3) == 0) {
#pragma unroll
                    for (int h = 0; h < 2; ++h) {
                        const T hv = E::from_float(res_in[t][h] + yout[t][h]);
                        res[(tile0 + t) * 16 + (lane >> 2) + 8 * h] = hv;
                        const float hf = E::to_float(hv);
                        sq += hf * hf;
                    }
                }
#pragma unroll
                for (int o = 16; o >= 4; o >>= 1) sq += __shfl_xor_sync(0xffffffffu, sq, o);
                if ((lane & 3) == 0 && (lane >> 2) < AWQ_W4_SUMSQ_COPIES)  // lanes 4i all hold the sum
                    p.sumsq_out[(lane >> 2) * (p.n >> 4) + tile0 + t] = sq;
            }
        }
    }
}

template <class T, int NT, bool kZeros, int GM, int D, int TPW, bool kOne>
cudaError_t fast_decode_launch_one(const FastParams& p, dim3 grid, int warps, size_t smem, bool pdl,
                                   cudaStream_t stream, int* occupancy) {
    auto kernel = w4a16_fast_decode_kernel<T, NT, kZeros, GM, D, TPW, kOne>;
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

template <class T, int NT, bool kZeros, int GM, int D, int TPW>
cudaError_t fast_decode_launch(const FastParams& p, dim3 grid, int warps, size_t smem, bool pdl, cudaStream_t stream,
                               int* occupancy) {
    if ((p.residual || p.sumsq_in) && !(NT == 1 && p.m == 1)) return cudaErrorInvalidValue;  // one token only
    if constexpr (NT == 1)
        if (p.m == 1)
            return fast_decode_launch_one<T, NT, kZeros, GM, D, TPW, true>(p, grid, warps, smem, pdl, stream, occupancy);
    return fast_decode_launch_one<T, NT, kZeros, GM, D, TPW, false>(p, grid, warps, smem, pdl, stream, occupancy);
}

// Instantiated per element type in w4a16_fast_f16.cu / w4a16_fast_bf16.cu.
template <class T>
cudaError_t fast_decode_dispatch(const FastParams& p, const FastConfig& cfg, bool zeros, dim3 grid, size_t smem,
                                 cudaStream_t stream, int* occupancy) {
    if (cfg.warps < 1 || cfg.warps > kDecodeWarpsMax) return cudaErrorInvalidConfiguration;
    const int gm = p.group >= 128 ? 1 : p.group == 64 ? 2 : 4;
#define AWQ_DECODE_CASE(NT, Z, GM, D, TPW)                                                                   \
    if (cfg.tokens == 8 * NT && zeros == Z && gm == GM && cfg.stages == D && cfg.wn == TPW)                   \
        return fast_decode_launch<T, NT, Z, GM, D, TPW>(p, grid, cfg.warps, smem, cfg.pdl, stream, occupancy);
#define AWQ_DECODE_DEPTHS(NT, Z, GM)                                                                         \
    AWQ_DECODE_CASE(NT, Z, GM, 4, 1) AWQ_DECODE_CASE(NT, Z, GM, 8, 1) AWQ_DECODE_CASE(NT, Z, GM, 2, 2)        \
    AWQ_DECODE_CASE(NT, Z, GM, 4, 2)
#define AWQ_DECODE_CASES(NT, Z) AWQ_DECODE_DEPTHS(NT, Z, 1) AWQ_DECODE_DEPTHS(NT, Z, 2) AWQ_DECODE_DEPTHS(NT, Z, 4)
    AWQ_DECODE_CASES(1, true)
    AWQ_DECODE_CASES(1, false)
    AWQ_DECODE_CASES(2, true)
    AWQ_DECODE_CASES(2, false)
#undef AWQ_DECODE_CASES
#undef AWQ_DECODE_DEPTHS
#undef AWQ_DECODE_CASE
    return cudaErrorInvalidConfiguration;
}

}  // namespace awq::cuda
