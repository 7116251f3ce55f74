#pragma once
// The warp-specialized "fast" W4A16 wgmma kernel (sm_90a), for batches of tokens where the tensor cores set the
// time (m >= 64): one producer warpgroup feeds two consumer warpgroups through a ring of shared-memory stages.
//
// Why another wgmma kernel (experiments/kernels/NOTES.md v11-v12): in w4a16_fast_wgmma.cuh every thread copies,
// dequantizes into the MMA's A registers and waits for its MMAs, behind one __syncthreads per chunk. A warpgroup
// cannot dequantize chunk i+1 while its MMAs on chunk i run (ptxas serializes every wgmma when registers a wgmma
// reads are written during the MMA pipeline, C7513), so its loop is serial and only other blocks on the SM fill
// the tensor cores' idle time. Here:
//   - the A operand comes from shared memory too (wgmma with two descriptors): a consumer dequantizes chunk i+1
//     into the other of its two A buffers (plain stores + proxy fence) while its MMAs on chunk i are in flight;
//     or (kRegA, options.wgmma = 4, the default since session 13) from registers, a whole 128-k unit at a time,
//     each consumer serial and the two consumers overlapping each other: half the shared-memory traffic per MMA
//     (no A stores and reads), and the freed A buffers go to more stages (NOTES.md v17: 1.1-1.5x faster);
//   - one producer thread moves everything with the TMA unit and bulk copies (no address arithmetic or copy
//     instructions in the consumers), tracked by full/empty barriers per stage (hopper_async.cuh), so the two
//     consumers run out of phase instead of in lockstep;
//   - both consumers read the same x stage for different rows: 128 or 256 rows per x tile staged from L2.
//
// Layout: the fast layout (kernels/cpu/w4_layouts.h). A stage is one 128-k unit, in which every tile's two
// 64-k chunks are 1024 contiguous bytes and consecutive tiles follow each other: a block's weights for one unit
// are one bulk copy of kTiles KB. Scales and zeros are group-major [k/group][n/16][8]: one bulk copy per group.
// Block: 384 threads. Warpgroup 0 = producer (registers cut to 40, or 32 at two blocks per SM); warpgroups 1, 2 =
// consumers: consumer c, sub-tile s holds the 64 rows of tiles (c * WN + s) * 4 + 0..3 of the block's
// kRows = 128 * WN rows. TN tokens (wgmma's N). Work per block, four ways: one output tile (grid: token blocks x
// K slices x row blocks; the K slices of a tile form a cluster and reduce through DSMEM); stream-K (StreamK
// below: one block per SM, two for the shape built for two, each an equal share of the 128-k units of all tiles;
// the default at m = 33..128 on large weights and at some m <= 1024 with 256 tokens, w4a16_launch.cu); persistent
// tiles (p.ws_persistent: one block per SM, each a contiguous run of whole tiles in the same linear order, so the
// producer runs on into the next tile while the consumers finish one: no pipeline fill per tile, no fix-up; blocks
// stay in step, so the token blocks of one row block still run at the same time and share its weights in L2;
// opt-in, split_k = -2, NOT yet run on a GPU); or one tile with x multicast (clusters of two row blocks of the same
// tokens, each loading half of every x stage into both; opt-in, slower on the H100, NOTES v16).
// Shared memory per stage (1024-aligned):
//   X  2 x TN x 128 B: the unit's two 64-k boxes of x, written by the TMA in the 128-byte swizzle (piece p of
//      token r at r * 128 + ((p ^ (r & 7)) << 4)); rows past m arrive as zeros
//   W  kTiles x 1024 B (tile t, chunk c, lane l at t * 1024 + c * 512 + l * 16)
//   S  up to 4 groups x kTiles x 32 B of scale words; Z  up to 4 x kTiles x 8 B of zero bytes
// then per consumer two A buffers of WN x 64 rows x 64 k (8 KB each, the same 128-byte swizzle, K-major; with A
// from registers only its y staging, or nothing where y is staged in the ring: kYInRing), then the barriers.
// Bytes a launch must move: as w4a16_fast_wgmma.cuh (weights once per token block, x once per row block from L2,
// y once), with half (WN = 1) or a quarter (WN = 2) of its x traffic per weight byte.
// Requires k % 128 == 0, group <= 128, n % kRows == 0 and 16-byte aligned pointers (checked by the host side).
#include <cuda.h>

#include <type_traits>

#include "hopper_async.cuh"
#include "w4a16_fast_wgmma.cuh"

namespace awq::cuda {

// Ablation builds for timing only (experiments/kernels/NOTES.md v19; results WRONG, never in a shipped build):
// -DAWQ_WS_ABLATE=1 skips the A-from-registers consumer's dequantization (the raw weight words are the A
// fragments), 2 skips its MMAs (the fragments are still made), 3 skips the stream-K fix-up (partial tiles are
// dropped). Each shows what one part of the per-unit loop costs. 0 = the real kernel.
#ifndef AWQ_WS_ABLATE
#define AWQ_WS_ABLATE 0
#endif

// AM, the consumers' MMA: 0 = weights as A from shared memory (dequantized into A buffers); 1 = weights as A from
// registers (kRegA); 2 = tokens as M (kTokM): x is A, the dequantized weights are B in the same buffers.
template <int TN, int WN, int STAGES, int AM>
struct WsShape {
    static constexpr int kTokens = TN, kWarpTiles = WN, kStages = STAGES, kAMode = AM;
    static constexpr bool kRegA = AM == 1, kTokM = AM == 2;
    static constexpr int kConsumers = 2;
    static constexpr int kThreads = 128 * (1 + kConsumers);
    static constexpr int kTiles = 4 * kConsumers * WN;
    static constexpr int kRows = 16 * kTiles;
    static constexpr int kAcc = TN / 2;
    static constexpr int kXBox = TN * 128;  // one 64-k box of x
    static constexpr int kW = 2 * kXBox;
    static constexpr int kS = kW + kTiles * 1024;
    static constexpr int kZ = kS + 4 * kTiles * 32;
    static constexpr int kStage = (kZ + 4 * kTiles * 8 + 1023) / 1024 * 1024;
    static constexpr int kA = STAGES * kStage;  // per consumer: A buffers [2][WN][8 KB] (not kRegA), its y staging
    static constexpr int kABuf = WN * 8192;
    static constexpr int kStaging = 4 * WN * TN * 32;  // four warps' y staging (wgmma_store_y)
    // A-from-registers rings too deep to leave room for the y staging (256 tokens, 3 stages) stage y in the ring
    // once every unit is consumed: one tile per block (or per K slice); stream-K, whose producer is still filling
    // the ring when a tile ends, stores y straight from the accumulators (wgmma_store_y_direct).
    static constexpr bool kYInRing = kRegA && kA + kConsumers * kStaging + 16 * STAGES + 16 + 1024 > 227 * 1024;
    static constexpr int kRegion = kYInRing ? 0 : !kRegA && 2 * kABuf > kStaging ? 2 * kABuf : kStaging;
    static constexpr int kBars = kA + kConsumers * kRegion;  // full[STAGES], empty[STAGES], flags[kConsumers]
    static constexpr int kSmem = kBars + 16 * STAGES + 16 + 1024;  // + alignment slack
    static constexpr size_t kReduceBytes = (size_t)WN * kAcc * 128 * kConsumers * sizeof(float);
    static constexpr int kPartialFloats = 128 * WN * kAcc;  // one consumer's share of a tile (stream-K)
    // Two blocks per SM where both fit (A from registers, 64 tokens, one tile per warp, a shallow ring): four
    // independent consumers per SM overlap each other's dequantization and MMAs without a shared barrier. The
    // register budget then has to fit a CTA's launch allocation (384 x 80): producer 32, consumers 104. That
    // assumes ptxas's 80 registers at launch (its -v report for these instances); with fewer, the consumers'
    // setmaxnreg.inc would wait forever (device_run_ws.sh runs the smoke driver under a timeout for that).
    static constexpr int kBlocksPerSm = kRegA && WN * kAcc <= 32 && 2 * (kSmem + 1024) <= 228 * 1024 ? 2 : 1;
    static constexpr int kProducerRegs = kBlocksPerSm == 2 ? 32 : 40;
    static constexpr int kConsumerRegs = kBlocksPerSm == 2 ? 104 : 232;
    static_assert((size_t)STAGES * kStage >= (size_t)kConsumers * kStaging, "output staging must fit");
    static_assert(kSmem <= 227 * 1024, "shared memory per block");
};

// Tokens as M (kTokM): a consumer's accumulators are one m64nNk16 tile, N = its 64 * WN weight rows. Accumulator
// 4 i + e holds token 16 * warp + lane / 4 (+8 when e & 2) and weight row 8 i + 2 * (lane % 4) + (e & 1) of the
// consumer's rows. With fp16, the odd n8 blocks (rows 8..15 of each 16-row tile) carried 16 q: scaled by 1/16 here.
template <class T, int V>
__device__ __forceinline__ void tokm_unscale_cols(float (&v)[V]) {
    if constexpr (std::is_same_v<T, half>) {
#pragma unroll
        for (int e = 0; e < V; ++e) v[e] *= ((e >> 2) & 1) ? 0.0625f : 1.f;
    }
}
// y straight from those accumulators: each thread stores pairs of adjacent rows (4 bytes) of its two tokens; a
// warp's store covers 8 tokens x 16 bytes. (y is 1/16 of the weight bytes at k = 4096 and 64 tokens, so the half-
// sector stores cost less than a staging round trip would.)
template <class T, int V>
__device__ __forceinline__ void tokm_store_y(const float (&v)[V], int row0, int tok0, int wq, int lane,
                                             const FastParams& p) {
    using E = Elt<T>;
    using T2 = typename E::T2;
    T* y = static_cast<T*>(p.y);
#pragma unroll
    for (int h = 0; h < 2; ++h) {
        const int tok = tok0 + 16 * wq + (lane >> 2) + 8 * h;
        if (tok >= p.m) continue;
        T* yr = y + (size_t)tok * p.n + row0 + 2 * (lane & 3);
#pragma unroll
        for (int i = 0; i < V / 4; ++i)
            *reinterpret_cast<T2*>(yr + 8 * i) = E::from_float2(v[4 * i + 2 * h], v[4 * i + 2 * h + 1]);
    }
}

// Stream-K (p.sk_counters set): gridDim.x blocks, one per SM, share the launch's work evenly in 128-k units of the
// linear order (token block, row block, unit), unit fastest. A block's range starts and ends anywhere: it covers
// the end of one tile, whole tiles, the start of another. Whole tiles go straight to y. For a partial tile, each
// consumer counts itself in (p.sk_counters[tile][consumer], zero at rest). Every block but the last to arrive
// stores its share in its slot of p.sk_partials ([block][first tile 0 / last tile 1][consumer][kPartialFloats],
// register order, thread-interleaved as float4) and counts it written; the last waits until every peer's share is
// written, adds the shares in block order with its own from registers (deterministic whoever is last), writes y
// and returns the counter to zero. A block waits only for blocks that have already arrived (and are only storing):
// correct at any residency. With early arrival (options.split_k = -3, p.sk_early) a consumer counts itself in when
// it starts the partial tile and reads the count when it has finished it, so the atomic's round trip is off the
// critical path; the last to start adds the shares. It may then wait for a peer still computing its part, but that
// peer is past every wait of its earlier tiles (it counted itself in after them) and has none inside a tile, so it
// finishes: still correct at any residency, and the sum is in block order as before.
// (32-bit: the host keeps total * blocks below 2^31.)
struct StreamK {
    int total;  // units of the launch
    int blocks;
    __device__ int start(int b) const { return b * total / blocks; }
    // the block whose range holds unit u: the largest b with start(b) <= u (every range is non-empty: blocks <= total)
    __device__ int owner(int u) const { return ((u + 1) * blocks - 1) / total; }
};

// kEarly: stream-K's early arrival (p.sk_early), compiled only into ws_early_shape's instances so that the others keep
// their registers (the count lives across the tile in one register).
template <class T, int TN, int WN, bool kZeros, int STAGES, int AM, bool kEarly>
__global__ void __launch_bounds__(384, (WsShape<TN, WN, STAGES, AM>::kBlocksPerSm))
    w4a16_fast_ws_kernel(const FastParams p, const __grid_constant__ CUtensorMap xmap) {
    using E = Elt<T>;
    using L = WsShape<TN, WN, STAGES, AM>;
    constexpr bool kRegA = L::kRegA, kTokM = L::kTokM;
    static_assert(!kTokM || TN == 64, "tokens as M: one m64 tile of tokens per block");
    using Meta = FastMeta<T, false>;
    extern __shared__ uint8_t smem_raw[];
    // The swizzle is a function of address bits 4..9: stage and A buffer bases must be 1024-byte aligned.
    uint8_t* smem = smem_raw + ((1024 - (smem_addr(smem_raw) & 1023)) & 1023);
    const uint32_t sbase = smem_addr(smem);
    const uint32_t full = sbase + L::kBars, empty = full + 8 * STAGES;

    const int tid = threadIdx.x, role = tid >> 7;  // 0: producer, 1 / 2: consumers
    const int units = p.k >> 7, rb = p.n / L::kRows;
    const int gps = 128 / p.group;  // groups per unit: 1, 2 or 4
    const int tiles = p.n >> 4;
    const bool streamk = p.sk_counters != nullptr;
    const StreamK sk = {((p.m + TN - 1) / TN) * rb * units, (int)gridDim.x};
    // This block's work: units [lin_begin, lin_end) of the linear order (tile tl = token block * rb + row block).
    int lin_begin, lin_end;
    if (streamk) {
        lin_begin = sk.start(blockIdx.x);
        lin_end = sk.start(blockIdx.x + 1);
    } else if (p.ws_persistent) {  // tiles [b T / G, (b + 1) T / G): every range whole tiles, no fix-up
        const int tiles_all = sk.total / units, g = gridDim.x;
        lin_begin = (int)((long long)blockIdx.x * tiles_all / g) * units;
        lin_end = (int)((long long)(blockIdx.x + 1) * tiles_all / g) * units;
    } else {  // one tile per block: x = token block, y = K slice (a cluster), z = row block
        const int ups = p.chunks_per_split >> 1, ub = blockIdx.y * ups;
        const int tl = blockIdx.x * rb + blockIdx.z;
        lin_begin = tl * units + ub;
        lin_end = tl * units + max(ub, min(units, ub + ups));
    }
    const bool cluster_split = !streamk && gridDim.y > 1;
    const int n_units = lin_end - lin_begin;
    // x multicast (one tile per block, clusters of two row blocks of the same tokens): block r loads 64-k box r of
    // each unit into both blocks, so a stage may be refilled only once both blocks' consumers have released it.
    const bool mc = p.x_multicast == 2;
    const uint32_t rank = mc ? cluster_rank() : 0, peer = rank ^ 1;

    if (tid == 0) {
        for (int s = 0; s < STAGES; ++s) {
            mbar_init(full + 8 * s, 1);  // the producer's arrive (+ the copies' bytes, the peer's multicast too)
            mbar_init(empty + 8 * s, L::kConsumers * (mc ? 2 : 1));  // one arrive per consumer warpgroup
        }
        mbar_init_fence();
    }
    if (mc)
        cluster_sync_all();  // the peer's barriers exist before this block's copies and arrivals reach them
    else
        __syncthreads();
    pdl_wait();  // x comes from the previous kernel, and y may still be read by it

    if (role == 0) {
        regs_dec<L::kProducerRegs>();
        if (tid == 0) {
            const uint32_t bytes =
                2 * L::kXBox + L::kTiles * 1024 + gps * L::kTiles * 32 + (kZeros ? gps * L::kTiles * 8 : 0);
            int it = 0;
            for (int lin = lin_begin; lin < lin_end; ++lin, ++it) {
                const int tl = lin / units, u = lin - tl * units;
                const int tok0 = (tl / rb) * TN, tile0 = (tl % rb) * L::kTiles;
                const int s = it % STAGES;
                if (it >= STAGES) mbar_wait_cluster(empty + 8 * s, ((it / STAGES) - 1) & 1);  // consumed STAGES ago
                const uint32_t st = sbase + s * L::kStage, bar = full + 8 * s;
                mbar_arrive_expect_tx(bar, bytes);
                if (mc) {
                    tma_load_2d_multicast(st + rank * L::kXBox, &xmap, u * 128 + rank * 64, tok0, bar, 3);
                } else {
                    tma_load_2d(st, &xmap, u * 128, tok0, bar);
                    tma_load_2d(st + L::kXBox, &xmap, u * 128 + 64, tok0, bar);
                }
                bulk_load(st + L::kW, p.qweight + (size_t)(u * tiles + tile0) * 64, L::kTiles * 1024, bar);
                for (int gi = 0; gi < gps; ++gi) {
                    const size_t g = (size_t)(u * gps + gi) * tiles + tile0;
                    bulk_load(st + L::kS + gi * L::kTiles * 32, p.scales + g * 8, L::kTiles * 32, bar);
                    if constexpr (kZeros) bulk_load(st + L::kZ + gi * L::kTiles * 8, p.zeros + g * 8, L::kTiles * 8, bar);
                }
            }
        }
        pdl_trigger();
        if (cluster_split) {
            __syncthreads();  // the consumers are done with the pipeline memory
            cluster_reduce_bystander();
        }
        return;  // (the copies in flight complete into the block's memory; the consumers wait for them)
    }

    regs_inc<L::kConsumerRegs>();
    const int ctid = tid - 128, cw = role - 1, wtid = ctid & 127, warp = ctid >> 5, wq = warp & 3, lane = tid & 31;
    const int g8 = lane >> 2, t4 = lane & 3, cbar = 1 + cw;  // cbar: this consumer's named barrier
    uint8_t* region = smem + L::kA + cw * L::kRegion;      // its A buffers, between tiles its y staging
    int* flag = reinterpret_cast<int*>(smem + L::kBars + 16 * STAGES) + cw;
    // Stage release after unit i's MMAs: the producers wait only for units i < n_units - STAGES (the refill of
    // unit i + STAGES); later releases are skipped, so no arrival can reach a peer block that has already exited.
    auto release = [&](int i) {
        if (wtid != 0 || i + STAGES >= n_units) return;
        const uint32_t bar = empty + 8 * (i % STAGES);
        mbar_arrive(bar);
        if (mc) mbar_arrive_remote(bar, peer);
    };
    uint32_t magic = E::kMagic;
    asm volatile("" : "+r"(magic));  // keep the magic constant in a register for the LOP3s
    // This lane's A fragments (mma.m16n8k16 order) of the chunk c of sub-tile wi in stage memory st: four k16 steps,
    // dequantized and scaled.
    auto dequant = [&](const uint8_t* st, int c, int wi, uint32_t(&f)[4][4]) {
        const int ga = gps == 4 ? 2 * c : gps == 2 ? c : 0, gb = gps == 4 ? ga + 1 : ga;
        const int t = (cw * WN + wi) * 4 + wq;
        const uint4 wv = *reinterpret_cast<const uint4*>(st + L::kW + t * 1024 + c * 512 + lane * 16);
        const uint32_t* sa = reinterpret_cast<const uint32_t*>(st + L::kS + (ga * L::kTiles + t) * 32);
        const uint32_t* sb = reinterpret_cast<const uint32_t*>(st + L::kS + (gb * L::kTiles + t) * 32);
        const uint8_t* za = st + L::kZ + (ga * L::kTiles + t) * 8;
        const uint8_t* zb = st + L::kZ + (gb * L::kTiles + t) * 8;
        const Meta m0 = fast_meta<T, kZeros, false>(sa[g8], kZeros ? za[g8] : 0u, magic);
        const Meta m1 = gps == 4 ? fast_meta<T, kZeros, false>(sb[g8], kZeros ? zb[g8] : 0u, magic) : m0;
#pragma unroll
        for (int j = 0; j < 4; ++j) fast_dequant<T, false>(piece_word(wv, j), j < 2 ? m0 : m1, f[j], magic);
    };

    // This lane's stores into an A buffer: register i of k16 step j holds row g8 (+8 when i is odd) of the warp's
    // 16 rows, k = 16 j + 2 t4 (+8 when i >= 2): 16-byte piece 2 j + i / 2 of that row, 4 t4 bytes in. Rows are
    // 128 bytes, piece p of row r at (p ^ (r & 7)) and r & 7 = g8: conflict-free 4-byte stores.
    const uint32_t a_lane = (16 * wq + g8) * 128 + 4 * t4;
    int q = 0;        // chunks consumed so far; A buffer q & 1
    int it = 0;       // units consumed so far; stage it % STAGES
    bool held = false;  // whether stage (it - 1) % STAGES is still to be released
    float acc[WN][L::kAcc];
    // tokens as M: the same registers as one m64n(64 WN)k16 accumulator tile
    float(&accf)[WN * L::kAcc] = *reinterpret_cast<float(*)[WN * L::kAcc]>(&acc[0][0]);
    for (int lin = lin_begin; lin < lin_end;) {
        const int tl = lin / units;
        const int seg_end = min(lin_end, (tl + 1) * units);
        const bool whole = lin == tl * units && seg_end == (tl + 1) * units;
        // Early arrival (p.sk_early): count in now, read the count after the tile's units, so the atomic's round trip
        // runs under the MMAs. The last to start then adds the shares; it waits only for peers that have started.
        int arrivals = 0;
        if constexpr (kEarly)
            if (streamk && !whole && AWQ_WS_ABLATE != 3 && wtid == 0) arrivals = atomicAdd(p.sk_counters + 2 * tl + cw, 1);
#pragma unroll
        for (int a = 0; a < WN; ++a)
#pragma unroll
            for (int e = 0; e < L::kAcc; ++e) acc[a][e] = 0.f;
        for (; lin < seg_end; ++lin, ++it) {
            const int s = it % STAGES;
            const uint8_t* st = smem + s * L::kStage;
            mbar_wait(full + 8 * s, (it / STAGES) & 1);
            if constexpr (kRegA) {
                // The whole unit's A fragments (two chunks, eight k16 steps) in registers, then its MMAs in one
                // batch, then wait: serial within the warpgroup (ptxas would serialize every wgmma if A registers
                // were written while MMAs that read others are in flight, C7513); the other consumer's
                // dequantization fills this one's MMA time. No A buffers: shared memory only for x, W and y.
                uint32_t a[2][WN][4][4];  // [chunk][sub-tile][k16 step]
#pragma unroll
                for (int c = 0; c < 2; ++c) {
#pragma unroll
                    for (int wi = 0; wi < WN; ++wi) {
                        if constexpr (AWQ_WS_ABLATE == 1) {
                            const int t = (cw * WN + wi) * 4 + wq;
                            const uint4 wv = *reinterpret_cast<const uint4*>(st + L::kW + t * 1024 + c * 512 + lane * 16);
#pragma unroll
                            for (int j = 0; j < 4; ++j)
#pragma unroll
                                for (int i = 0; i < 4; ++i) a[c][wi][j][i] = piece_word(wv, j) ^ (i << 8);
                        } else {
                            dequant(st, c, wi, a[c][wi]);
                        }
                    }
                    wgmma_hold<WN>(a[c]);
                }
#pragma unroll
                for (int wi = 0; wi < WN; ++wi) wgmma_hold(acc[wi]);
                wgmma_fence();
                const uint64_t xd0 = x_tile_desc(sbase + s * L::kStage);
#pragma unroll
                for (int j = 0; j < 8; ++j) {
                    const uint64_t xd = desc_plus(xd0, (j >> 2) * L::kXBox + (j & 3) * 32);
#pragma unroll
                    for (int wi = 0; wi < WN; ++wi)
                        if constexpr (AWQ_WS_ABLATE != 2) Wgmma<T, TN>::mma(acc[wi], a[j >> 2][wi][j & 3], xd);
                }
                wgmma_commit();
                wgmma_wait<0>();
#pragma unroll
                for (int wi = 0; wi < WN; ++wi) wgmma_hold(acc[wi]);
                release(it);
            } else {
#pragma unroll
                for (int c = 0; c < 2; ++c, ++q) {
                    uint8_t* ab = region + (q & 1) * L::kABuf;
#pragma unroll
                    for (int wi = 0; wi < WN; ++wi) {
                        uint32_t f[4][4];
                        dequant(st, c, wi, f);
                        uint8_t* dst = ab + wi * 8192 + a_lane;
#pragma unroll
                        for (int j = 0; j < 4; ++j)
#pragma unroll
                            for (int i = 0; i < 4; ++i) {
                                const int row8 = (i & 1) * 8, piece = 2 * j + (i >> 1);
                                *reinterpret_cast<uint32_t*>(dst + row8 * 128 + ((piece ^ g8) << 4)) = f[j][i];
                            }
                    }
                    fence_proxy_async();      // the stores above are read by the tensor cores (async proxy)
                    named_barrier(cbar, 128);  // ... all four warps' rows
#pragma unroll
                    for (int wi = 0; wi < WN; ++wi) wgmma_hold(acc[wi]);
                    wgmma_fence();
                    const uint32_t xaddr = sbase + s * L::kStage + c * L::kXBox, aaddr = smem_addr(ab);
                    const uint64_t xd0 = x_tile_desc(xaddr), ad0 = x_tile_desc(aaddr);
#pragma unroll
                    for (int j = 0; j < 4; ++j) {
                        const uint64_t xd = desc_plus(xd0, j * 32);
                        if constexpr (kTokM) {
                            // x is A (64 tokens x 16 k), the buffer is B: the consumer's 64 * WN rows, contiguous
                            // 8 KB sub-tiles in the same K-major swizzled layout
                            Wgmma<T, 64 * WN>::mma_ss(accf, xd, desc_plus(ad0, j * 32));
                        } else {
#pragma unroll
                            for (int wi = 0; wi < WN; ++wi)
                                Wgmma<T, TN>::mma_ss(acc[wi], desc_plus(ad0, wi * 8192 + j * 32), xd);
                        }
                    }
                    wgmma_commit();
                    wgmma_wait<1>();  // the previous chunk's MMAs are done: its A buffer and (chunk 1) its stage free
#pragma unroll
                    for (int wi = 0; wi < WN; ++wi) wgmma_hold(acc[wi]);
                    if (c == 0 && held) release(it - 1);
                }
                held = true;
            }
        }
        if constexpr (!kRegA) {  // (the kRegA loop has waited and released every unit)
            wgmma_wait<0>();
#pragma unroll
            for (int wi = 0; wi < WN; ++wi) wgmma_hold(acc[wi]);
            release(it - 1);  // the producer may refill it meanwhile
            held = false;
        }

        if constexpr (kTokM)
            tokm_unscale_cols<T>(accf);
        else
            wgmma_unscale_rows<T>(acc);
        float(&v)[WN * L::kAcc] = accf;
        const int tok0 = (tl / rb) * TN, first_tile = (tl % rb) * L::kTiles + cw * WN * 4 + wq;
        const int row0 = (tl % rb) * L::kRows + cw * 64 * WN;  // tokens as M: the consumer's first row
        if (cluster_split) {  // the one tile of a K slice: reduce in the cluster (through the pipeline memory)
            __syncthreads();  // both consumers (and the producer) are done with the pipeline memory
            if (!cluster_reduce<WN * L::kAcc>(v, reinterpret_cast<float*>(smem), ctid, 128 * L::kConsumers)) return;
            if constexpr (kTokM) {
                tokm_store_y<T>(v, row0, tok0, wq, lane, p);
                return;
            }
            wgmma_store_y<T, TN, WN>(v, reinterpret_cast<T*>(smem) + warp * (WN * TN * 16), first_tile, lane, tok0, p);
            return;
        }
        if (!whole && AWQ_WS_ABLATE == 3) continue;
        if (!whole) {  // stream-K: count in; the last block of the tile to arrive adds every share
            constexpr int V4 = WN * L::kAcc / 4;
            const int t_first = tl * units;
            const int b0 = sk.owner(t_first), b1 = sk.owner(t_first + units - 1), peers = b1 - b0;
            int* counter = p.sk_counters + 2 * tl + cw;  // arrivals in bits 0..15, shares written in bits 16..31
            auto slot_of = [&](int b) {
                const int wb = tl == sk.start(b) / units ? 0 : 1;  // the block's first or last tile
                return reinterpret_cast<float4*>(p.sk_partials) + ((size_t)(b * 2 + wb) * 2 + cw) * (L::kPartialFloats / 4);
            };
            auto store_own_share = [&] {
                float4* slot = slot_of(blockIdx.x);
#pragma unroll
                for (int e = 0; e < V4; ++e) __stcg(slot + e * 128 + wtid, make_float4(v[4 * e], v[4 * e + 1], v[4 * e + 2], v[4 * e + 3]));
            };
            // Arrive first, write after: the last to arrive never stores its own share (nor reads it back), which
            // takes a share's store, its drain before a release and its reload off the end of every block's range,
            // where the fix-up is on the critical path (NOTES.md v19: the fix-up was ~5 of 22 us at m = 64).
            named_barrier(cbar, 128);  // (every warp has read the previous tile's flag)
            if (wtid == 0) *flag = ((kEarly ? arrivals : atomicAdd(counter, 1)) & 0xFFFF) == peers;
            named_barrier(cbar, 128);
            if (*flag == 0) {
                store_own_share();
                // Every thread's share is stored before the counting thread's release (the barrier orders them, the
                // release is cumulative): one thread's atomic, not a fence in every thread (CUTLASS's stream-K
                // barrier does the same).
                named_barrier(cbar, 128);
                if (wtid == 0) red_add_release_gpu(counter, 1 << 16);
                continue;
            }
            // The last: every peer has arrived and is at most storing its share, so this wait is short and cannot
            // deadlock (no block ever waits for one that has not started). The acquire, then the barrier, order the
            // peers' shares before this consumer's reads.
            if (wtid == 0) {
                while ((ld_acquire_gpu(counter) >> 16) != peers) {
                }
                *counter = 0;  // every peer is done with it: ready for the next launch
            }
            named_barrier(cbar, 128);
            // The shares in block order, the same additions in the same order whichever block is last, so y does not
            // depend on timing. This block's share stays in registers where it comes first (the usual case: the
            // last to arrive is the one whose range ends in the tile, b0); otherwise it goes through its slot too,
            // read back by the thread that wrote it (no second register set for the running sum).
            const bool own_first = (int)blockIdx.x == b0;
            if (!own_first) store_own_share();
#pragma unroll 1
            for (int b = own_first ? b0 + 1 : b0; b <= b1; ++b) {
                const float4* src = slot_of(b);
#pragma unroll
                for (int e = 0; e < V4; ++e) {
                    const float4 x4 = __ldcg(src + e * 128 + wtid);
                    if (b == b0) {
                        v[4 * e] = x4.x, v[4 * e + 1] = x4.y, v[4 * e + 2] = x4.z, v[4 * e + 3] = x4.w;
                    } else {
                        v[4 * e] += x4.x, v[4 * e + 1] += x4.y, v[4 * e + 2] += x4.z, v[4 * e + 3] += x4.w;
                    }
                }
            }
        }
        if constexpr (L::kYInRing) {
            if (streamk || p.ws_persistent) {  // the producer may still be filling the ring: no staging
                wgmma_store_y_direct<T, TN, WN>(v, first_tile, lane, tok0, p);
                continue;
            }
            // the block's one tile: stage y in the ring once both consumers are done with it
            named_barrier(3, 256);  // (the other consumer's last MMAs may still read x there)
            wgmma_store_y<T, TN, WN>(v, reinterpret_cast<T*>(smem + cw * L::kStaging) + wq * (WN * TN * 16), first_tile,
                                     lane, tok0, p);
            continue;
        }
        if constexpr (kTokM) {
            tokm_store_y<T>(v, row0, tok0, wq, lane, p);
            continue;
        }
        // y through this consumer's staging (its A buffers: all its MMAs are done, named barrier for every warp's)
        named_barrier(cbar, 128);
        wgmma_store_y<T, TN, WN>(v, reinterpret_cast<T*>(region) + wq * (WN * TN * 16), first_tile, lane, tok0, p);
        named_barrier(cbar, 128);  // the staging is A buffers again
    }
    pdl_trigger();
}

template <class T, int TN, int WN, bool kZeros, int STAGES, int AM, bool kEarly = false>
cudaError_t ws_launch_one(const FastParams& p, const CUtensorMap* xmap, dim3 grid, bool pdl, cudaStream_t stream,
                          int* occupancy) {
    using L = WsShape<TN, WN, STAGES, AM>;
    auto kernel = w4a16_fast_ws_kernel<T, TN, WN, kZeros, STAGES, AM, kEarly>;
    static const cudaError_t attr = [&] {
        const cudaError_t e = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, L::kSmem);
        // two blocks per SM need the largest shared-memory carveout (the driver may otherwise pick one that holds one)
        if (e != cudaSuccess || L::kBlocksPerSm == 1) return e;
        return cudaFuncSetAttribute(kernel, cudaFuncAttributePreferredSharedMemoryCarveout,
                                    (int)cudaSharedmemCarveoutMaxShared);
    }();
    if (attr != cudaSuccess) return attr;
    if (occupancy) return cudaOccupancyMaxActiveBlocksPerMultiprocessor(occupancy, kernel, L::kThreads, L::kSmem);
    if (grid.y > 1 && (size_t)STAGES * L::kStage < L::kReduceBytes) return cudaErrorInvalidConfiguration;
    return launch_fast_kernel(kernel, p, grid, L::kThreads, L::kSmem, pdl, stream, *xmap);
}

// The warp-specialized kernel's block shapes (tokens TN, tiles per warp WN, stages of 128 k, the MMA's operands AM:
// 0 weights from shared memory, 1 weights from registers, 2 tokens as M); the warpgroup count is 3
// (FastConfig::wg == 3; AM = FastConfig::a_mode: options.wgmma 3, 4, 5). Without A buffers the AM = 1 shapes have
// room for more stages. visit_ws_shape matches a configuration to them.
#define AWQ_WS_SHAPES(X) \
    X(64, 1, 4, 0)       \
    X(64, 2, 4, 0)       \
    X(128, 1, 4, 0)      \
    X(128, 2, 3, 0)      \
    X(256, 1, 2, 0)      \
    X(64, 1, 4, 1)       \
    X(64, 1, 8, 1)       \
    X(64, 2, 5, 1)       \
    X(128, 1, 4, 1)      \
    X(128, 2, 3, 1)      \
    X(256, 1, 2, 1)      \
    X(256, 1, 3, 1)      \
    X(64, 1, 3, 1)       \
    X(64, 2, 4, 2)

// f(WsShape<...>{}) for the warp-specialized shape that cfg names (wg 3), or `none` where it names none: the one
// place that matches a configuration to an instance, for the launch and for the host's questions about a shape.
template <class R, class F>
R visit_ws_shape(const FastConfig& cfg, R none, F&& f) {
#define AWQ_WS_VISIT(TN, WN, ST, AM)                                                              \
    if (cfg.wg == 3 && cfg.tokens == TN && cfg.wn == WN && cfg.stages == ST && cfg.a_mode == AM) \
        return f(WsShape<TN, WN, ST, AM>{});
    AWQ_WS_SHAPES(AWQ_WS_VISIT)
#undef AWQ_WS_VISIT
    return none;
}

template <class T>
cudaError_t ws_dispatch(const FastParams& p, const CUtensorMap* xmap, const FastConfig& cfg, bool zeros, dim3 grid,
                        cudaStream_t stream, int* occupancy) {
    if (cfg.sk_early && !p.sk_early) return cudaErrorInvalidConfiguration;
    return visit_ws_shape(cfg, cudaErrorInvalidConfiguration, [&](auto shape) {
        using L = decltype(shape);
        if (cfg.sk_early) {  // stream-K with early arrival: instances of ws_early_shape's shapes only
            if constexpr (ws_early_shape(L::kTokens, L::kWarpTiles, L::kStages, L::kAMode))
                return zeros ? ws_launch_one<T, L::kTokens, L::kWarpTiles, true, L::kStages, L::kAMode, true>(
                                   p, xmap, grid, cfg.pdl, stream, occupancy)
                             : ws_launch_one<T, L::kTokens, L::kWarpTiles, false, L::kStages, L::kAMode, true>(
                                   p, xmap, grid, cfg.pdl, stream, occupancy);
            else
                return cudaErrorInvalidConfiguration;
        }
        return zeros ? ws_launch_one<T, L::kTokens, L::kWarpTiles, true, L::kStages, L::kAMode>(p, xmap, grid, cfg.pdl,
                                                                                                 stream, occupancy)
                     : ws_launch_one<T, L::kTokens, L::kWarpTiles, false, L::kStages, L::kAMode>(p, xmap, grid, cfg.pdl,
                                                                                                  stream, occupancy);
    });
}

}  // namespace awq::cuda
