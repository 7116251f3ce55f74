#pragma once
// The "fast" W4A16 kernel on Hopper's warpgroup MMA (wgmma.mma_async, sm_90a), for batches of tokens (m >= 9):
// prefill, batched decode, and anything up to m = 8192.
//
// Same weight layout as the mma.sync kernels (kernels/cpu/w4_layouts.h, "fast": mma A fragments, 512 bytes per
// 16 rows x 64 k, unit-major), same "swap AB" mapping: the weight is the A operand (64 rows per warpgroup, each
// warp's 16-row tile in exactly the register order of mma.m16n8k16's A fragment, which is also wgmma's), the
// tokens are wgmma's N side (TN = 16, 32, ..., 256 per block). What changes against mma.sync:
//   - B (the activations) is read by the tensor cores straight from shared memory through a matrix
//     descriptor: no ldmatrix, no B registers, one instruction per 64 x TN x 16 step for the whole warpgroup;
//   - the MMA is asynchronous, so a warpgroup's dequantization overlaps the other warpgroup's MMAs.
// Each lane dequantizes only its own A fragments (the weights never leave the lane that loaded them), scale
// applied before the MMA in fp16/bf16 (one HSUB2 + one HMUL2 per pair: the accumulators stay with the async
// unit for the whole K loop, so the per-group fp32 scale-after of the small kernels is not available).
//
// Block: WG warpgroups (128 threads each), WN 16-row tiles per warp: warpgroup g, sub-tile s holds the 64 rows
// of tiles (g * WN + s) * 4 + 0..3 of the block's kRows = 64 * WG * WN rows; TN tokens; a K slice of
// `chunks_per_split` chunks of 64 k. Every thread also issues the cp.async copies of a multistage pipeline
// (STAGES chunks deep). Shared memory per stage (stage bases 1024-byte aligned):
//   X  TN tokens x 128 B (64 k): piece p of token r at r * 128 + ((p ^ (r & 7)) << 4) - exactly the 128-byte
//      swizzle that the wgmma descriptor names (8-row atoms of 1024 B; k16 step j starts 32 * j bytes in)
//   W  kTiles x 512 B: lane l of tile t at (t * 32 + l) * 16 (LDS.128, conflict-free)
//   S  kTiles x 2 groups x 32 B of scale words; Z kTiles x 2 x 8 B of zero bytes (asymmetric only)
// Split-K: the K slices of one output tile form a thread-block cluster and add their partial sums in
// distributed shared memory (rank order, deterministic).
// Bytes a launch must move from DRAM: n*k/2 + n*k/group*2 [+ n*k/group/2] once per token block, x (m*k*2)
// once (then from L2, once per row block), y (m*n*2) once. FLOPs 2*m*n*k: for m >= ~64 the tensor cores, not
// the weight stream, set the time, which is why the MMA must be wgmma-class (mma.sync peaks at ~60 % of it).
#include <type_traits>

#include "w4a16_fast.cuh"
#include "wgmma_ops.cuh"

namespace awq::cuda {

// 0 (default): each chunk's MMAs are waited for before the warpgroup dequantizes the next chunk; the other
// warpgroup (and the other blocks on the SM) fill the gap. 1: a warpgroup's MMAs on one chunk overlap its
// dequantization of the next - but ptxas then serializes every wgmma (its C7513: registers that a wgmma reads
// are written by other instructions while a wgmma is in flight). The first GPU run measured that build
// (experiments/kernels/NOTES.md v11); kept for A/B runs (-DAWQ_WGMMA_OVERLAP=1).
#ifndef AWQ_WGMMA_OVERLAP
#define AWQ_WGMMA_OVERLAP 0
#endif
constexpr bool kWgmmaOverlap = AWQ_WGMMA_OVERLAP != 0;

template <int TN, int WG, int WN>
struct WgShape {
    static constexpr int kThreads = 128 * WG;
    static constexpr int kTiles = 4 * WG * WN;  // 16-row tiles per block
    static constexpr int kRows = 16 * kTiles;
    static constexpr int kAcc = TN / 2;  // fp32 accumulators per thread and 64-row MMA
    static constexpr int kX = TN * 128;
    static constexpr int kW = kTiles * 512;
    static constexpr int kS = kTiles * 2 * 32;
    static constexpr int kZ = kTiles * 2 * 8;
    static constexpr int kStage = (kX + kW + kS + kZ + 1023) / 1024 * 1024;
    static constexpr size_t kReduceBytes = (size_t)WN * kAcc * kThreads * sizeof(float);  // a K slice's partial sums
};

__device__ __forceinline__ void wgmma_fence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void wgmma_commit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
template <int N> __device__ __forceinline__ void wgmma_wait() {
    asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory");
}
// Pins the accumulators in place: the compiler must not move their reads or writes across the asynchronous MMAs.
template <int V> __device__ __forceinline__ void wgmma_hold(float (&d)[V]) {
#pragma unroll
    for (int i = 0; i < V; ++i) asm volatile("" : "+f"(d[i])::"memory");
}
// The same for A fragments: all of a chunk's dequantization is done before the fence, none of it between its MMAs.
template <int WN, int J> __device__ __forceinline__ void wgmma_hold(uint32_t (&a)[WN][J][4]) {
#pragma unroll
    for (int w = 0; w < WN; ++w)
#pragma unroll
        for (int j = 0; j < J; ++j)
#pragma unroll
            for (int i = 0; i < 4; ++i) asm volatile("" : "+r"(a[w][j][i])::"memory");
}
// Shared memory written by the generic proxy (cp.async, plain stores) that the async proxy (wgmma) reads next.
__device__ __forceinline__ void fence_proxy_async() { asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory"); }

// Matrix descriptor of a K-major B tile with 128-byte rows (64 k of one token) in the 128-byte swizzle: 8-row
// atoms 1024 bytes apart (stride byte offset), leading byte offset unused (a k16 step stays inside one row).
__device__ __forceinline__ uint64_t x_tile_desc(uint32_t addr) {
    return (uint64_t)((addr & 0x3FFFF) >> 4) | (uint64_t)1 << 16 | (uint64_t)(1024 >> 4) << 32 | (uint64_t)1 << 62;
}

// The same descriptor `bytes` further on (a multiple of 16): the start address is the low field, addr >> 4, and
// a block's shared memory (< 256 KB) never carries out of its 14 bits. One integer add between MMAs instead of
// re-encoding the address (SASS: a UIADD3 where x_tile_desc costs six uniform instructions).
__device__ __forceinline__ uint64_t desc_plus(uint64_t d, uint32_t bytes) { return d + (bytes >> 4); }

// Epilogue helpers shared by both wgmma kernels. Accumulator e of a 64-row sub-tile: n8 block e / 4, row lane/4
// (+8 when e & 2), token 8 * (e / 4) + 2 * (lane % 4) + (e & 1). fp16 rows r0 + 8 carried 16 q: scaled by 1/16
// here, exactly.
template <class T, int WN, int V>
__device__ __forceinline__ void wgmma_unscale_rows(float (&acc)[WN][V]) {
    constexpr float kR1 = std::is_same_v<T, half> ? 0.0625f : 1.f;
#pragma unroll
    for (int wi = 0; wi < WN; ++wi)
#pragma unroll
        for (int e = 0; e < V; ++e) acc[wi][e] *= (e & 2) ? kR1 : 1.f;
}
// y[token][row] from one warp's WN sub-tiles (16-row tile first_tile + 4 * wi): a thread holds 2-byte pieces of 8
// tokens' rows; the warp turns its tiles around in `stg` (its own WN * TN * 32 bytes of shared memory, token-major,
// 32 bytes per token) and writes 16-byte pieces (8 rows of one token).
template <class T, int TN, int WN>
__device__ __forceinline__ void wgmma_store_y(const float (&v)[WN * TN / 2], T* stg, int first_tile, int lane, int tok0,
                                              const FastParams& p) {
    using E = Elt<T>;
    constexpr int kAcc = TN / 2;
#pragma unroll
    for (int wi = 0; wi < WN; ++wi)
#pragma unroll
        for (int e = 0; e < kAcc; ++e) {
            const int tok = (e >> 2) * 8 + 2 * (lane & 3) + (e & 1), row = (lane >> 2) + ((e & 2) ? 8 : 0);
            stg[(wi * TN + tok) * 16 + row] = E::from_float(v[wi * kAcc + e]);
        }
    __syncwarp();
    T* y = static_cast<T*>(p.y);
#pragma unroll
    for (int i = lane; i < WN * TN * 2; i += 32) {
        const int wi = i / (TN * 2), tok = (i >> 1) % TN, half = i & 1;
        const int row = (first_tile + wi * 4) * 16 + half * 8;
        if (tok0 + tok < p.m)
            *reinterpret_cast<uint4*>(y + (size_t)(tok0 + tok) * p.n + row) =
                *reinterpret_cast<const uint4*>(stg + (wi * TN + tok) * 16 + half * 8);
    }
}

// y straight from one warp's accumulators, without shared memory (for shapes whose staging is the pipeline ring
// while the ring is still being filled: stream-K with 256 tokens and 3 stages). Lanes g8 and g8 ^ 1 hold adjacent
// rows of the same tokens: one shuffle per accumulator pair gives each lane two adjacent rows of one token, a 4-byte
// store; a warp's store covers 8 tokens x 16 bytes (half-sector pieces the L2 merges). Per thread WN * TN / 4 stores
// and as many shuffles: at 256 tokens ~1 % of a 128-unit tile's time.
template <class T, int TN, int WN>
__device__ __forceinline__ void wgmma_store_y_direct(const float (&v)[WN * TN / 2], int first_tile, int lane, int tok0,
                                                     const FastParams& p) {
    using E = Elt<T>;
    using T2 = typename E::T2;
    constexpr int kAcc = TN / 2;
    const int g8 = lane >> 2, t4 = lane & 3, odd = g8 & 1;
    T* y = static_cast<T*>(p.y);
#pragma unroll
    for (int wi = 0; wi < WN; ++wi)
#pragma unroll
        for (int e = 0; e < kAcc; e += 2) {
            // accumulators e, e + 1: row g8 (+8 when e & 2) of tokens t, t + 1
            const float a = v[wi * kAcc + e], b = v[wi * kAcc + e + 1];
            const float got = __shfl_xor_sync(0xffffffffu, odd ? a : b, 4);
            const int tok = tok0 + (e >> 2) * 8 + 2 * t4 + odd;
            const int row = (first_tile + wi * 4) * 16 + ((e & 2) ? 8 : 0) + (g8 & ~1);
            if (tok < p.m)
                *reinterpret_cast<T2*>(y + (size_t)tok * p.n + row) = odd ? E::from_float2(got, b) : E::from_float2(a, got);
        }
}

template <class T, int TN, int WG, int WN, bool kZeros, int STAGES>
__global__ void __launch_bounds__(128 * WG, 1) w4a16_fast_wgmma_kernel(const FastParams p) {
    using E = Elt<T>;
    using L = WgShape<TN, WG, WN>;
    using Meta = FastMeta<T, false>;
    extern __shared__ uint8_t smem_raw[];
    // The swizzle is a function of address bits 4..9: stage bases must be 1024-byte aligned.
    uint8_t* smem = smem_raw + ((1024 - (smem_addr(smem_raw) & 1023)) & 1023);
    const uint32_t sbase = smem_addr(smem);

    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int wg = warp >> 2, wq = warp & 3;
    const int tb = blockIdx.x, split = blockIdx.y, nb = blockIdx.z;
    const int tok0 = tb * TN;
    uint32_t magic = E::kMagic;
    asm volatile("" : "+r"(magic));  // keep the magic constant in a register for the LOP3s
    pdl_wait();  // x comes from the previous kernel
    const int tv = min(TN, p.m - tok0);  // tokens of this block that exist
    const int kchunks = p.k >> 6;
    const int c_begin = split * p.chunks_per_split;
    const int nch = max(0, min(kchunks, c_begin + p.chunks_per_split) - c_begin);
    const int tile0 = nb * L::kTiles;
    const bool g32 = p.group == 32;  // two groups per chunk of 64 (else a chunk lies in one group)
    const int gpc = g32 ? 2 : 1;

    // Token rows past m stay zero in every stage (the copies only fill rows < tv); made visible to the
    // tensor cores by the proxy fence before the first barrier.
    for (int i = tid; i < STAGES * (TN - tv) * 8; i += L::kThreads) {
        const int per_stage = (TN - tv) * 8, s = i / per_stage, r = i % per_stage;
        *reinterpret_cast<uint4*>(smem + s * L::kStage + (tv + (r >> 3)) * 128 + (r & 7) * 16) = make_uint4(0, 0, 0, 0);
    }

    // Copy roles, fixed for the K loop (a stage only adds its chunk offset): WN weight pieces, up to kXP
    // activation pieces, one scale piece and one zero piece.
    constexpr int kXP = (TN * 8 + L::kThreads - 1) / L::kThreads;
    const int cpg_shift = g32 ? 0 : __ffs(p.group >> 6) - 1;  // group = 64 << cpg_shift (power of two)
    const int tiles = p.n >> 4;
    const uint4* wsrc[WN];
#pragma unroll
    for (int r = 0; r < WN; ++r) {
        const int i = tid + L::kThreads * r;
        wsrc[r] = p.qweight + (size_t)(tile0 + (i >> 5)) * 64 + (i & 31);
    }
    const T* xsrc[kXP];
    uint32_t xdst[kXP];
    bool xok[kXP];
#pragma unroll
    for (int r = 0; r < kXP; ++r) {
        const int i = tid + L::kThreads * r, row = i >> 3, pc = i & 7;
        xok[r] = row < tv;
        xsrc[r] = static_cast<const T*>(p.x) + (size_t)(tok0 + (xok[r] ? row : 0)) * p.k + (size_t)c_begin * 64 + pc * 8;
        xdst[r] = row * 128 + ((pc ^ (row & 7)) << 4);
    }
    const bool s_ok = tid < L::kTiles * gpc * 2, z_ok = kZeros && tid < L::kTiles * gpc;
    const uint32_t* ssrc = p.scales;
    uint32_t sdst = 0;
    if (s_ok) {
        const int t = tid / (gpc * 2), gl = (tid >> 1) % gpc, h = tid & 1;
        ssrc = p.scales + ((size_t)gl * tiles + tile0 + t) * 8 + h * 4;
        sdst = L::kX + L::kW + (t * 2 + gl) * 32 + h * 16;
    }
    const uint8_t* zsrc = p.zeros;
    uint32_t zdst = 0;
    if (z_ok) {
        const int t = tid / gpc, gl = tid % gpc;
        zsrc = p.zeros + ((size_t)gl * tiles + tile0 + t) * 8;
        zdst = L::kX + L::kW + L::kS + (t * 2 + gl) * 8;
    }
    auto load_stage = [&](int s, int dc) {  // dc: chunk index within this block's K slice
        uint8_t* st = smem + s * L::kStage;
        const int c = c_begin + dc;
        const size_t coff = (size_t)(c >> 1) * tiles * 64 + (c & 1) * 32;
#pragma unroll
        for (int r = 0; r < WN; ++r) cp_async16(st + L::kX + (tid + L::kThreads * r) * 16, wsrc[r] + coff);
#pragma unroll
        for (int r = 0; r < kXP; ++r)
            if (xok[r]) cp_async16(st + xdst[r], xsrc[r] + dc * 64);
        const int g0 = g32 ? 2 * c : c >> cpg_shift;
        if (s_ok) cp_async16(st + sdst, ssrc + (size_t)g0 * tiles * 8);
        if constexpr (kZeros) {
            if (z_ok) cp_async8(st + zdst, zsrc + (size_t)g0 * tiles * 8);
        }
    };

    float acc[WN][L::kAcc];
#pragma unroll
    for (int a = 0; a < WN; ++a)
#pragma unroll
        for (int e = 0; e < L::kAcc; ++e) acc[a][e] = 0.f;

    // Pipeline. kAhead chunks are copied ahead of the one being consumed. With the overlap (AWQ_WGMMA_OVERLAP), a
    // warpgroup dequantizes chunk it+1 while its MMAs on chunk it still run: the MMAs of one chunk stay in flight
    // across the next iteration's barrier, so the stage refilled there is the one consumed two chunks ago, and the
    // A fragments alternate between two register sets (the loop body is written out twice for that).
    constexpr int kAhead = kWgmmaOverlap ? STAGES - 2 : STAGES - 1;
    static_assert(kAhead >= 1, "the overlapped pipeline needs at least 3 stages");
#pragma unroll
    for (int s = 0; s < kAhead; ++s) {
        if (s < nch) load_stage(s, s);
        cp_async_commit();
    }

    uint32_t a0[WN][4][4], a1[WN][4][4];
    auto step = [&](int it, uint32_t(&a)[WN][4][4]) {
        cp_async_wait<kAhead - 1>();
        fence_proxy_async();
        // Chunk `it` is in place for every thread, and every warpgroup has waited for its MMAs on the chunk whose
        // stage the copies below refill (it - 2 with the overlap, it - 1 without).
        __syncthreads();
        {
            const int nxt = it + kAhead;
            if (nxt < nch) load_stage(nxt % STAGES, nxt);
            cp_async_commit();
        }
        const int stage = it % STAGES;
        const uint8_t* st = smem + stage * L::kStage;

        // This lane's A fragments for the chunk's four k16 steps, dequantized and scaled.
#pragma unroll
        for (int wi = 0; wi < WN; ++wi) {
            const int t = (wg * WN + wi) * 4 + wq;
            const uint4 wv = *reinterpret_cast<const uint4*>(st + L::kX + (t * 32 + lane) * 16);
            const uint32_t* sw = reinterpret_cast<const uint32_t*>(st + L::kX + L::kW + t * 64);
            const uint8_t* zb = st + L::kX + L::kW + L::kS + t * 16;
            const Meta m0 = fast_meta<T, kZeros, false>(sw[lane >> 2], kZeros ? zb[lane >> 2] : 0u, magic);
            const Meta m1 =
                g32 ? fast_meta<T, kZeros, false>(sw[8 + (lane >> 2)], kZeros ? zb[8 + (lane >> 2)] : 0u, magic) : m0;
#pragma unroll
            for (int j = 0; j < 4; ++j) fast_dequant<T, false>(piece_word(wv, j), j < 2 ? m0 : m1, a[wi][j], magic);
        }

        const uint32_t xaddr = sbase + stage * L::kStage;
        wgmma_hold<WN>(a);
#pragma unroll
        for (int wi = 0; wi < WN; ++wi) wgmma_hold(acc[wi]);
        wgmma_fence();
#pragma unroll
        for (int j = 0; j < 4; ++j) {
            const uint64_t desc = x_tile_desc(xaddr + j * 32);
#pragma unroll
            for (int wi = 0; wi < WN; ++wi) Wgmma<T, TN>::mma(acc[wi], a[wi][j], desc);
        }
        wgmma_commit();
        wgmma_wait<kWgmmaOverlap ? 1 : 0>();  // overlap: chunk it - 1 is done (its A registers and stage are free)
#pragma unroll
        for (int wi = 0; wi < WN; ++wi) wgmma_hold(acc[wi]);
    };
    for (int it = 0; it < nch; it += 2) {
        step(it, a0);
        if (it + 1 < nch) step(it + 1, a1);
    }
    wgmma_wait<0>();
#pragma unroll
    for (int wi = 0; wi < WN; ++wi) wgmma_hold(acc[wi]);
    cp_async_wait<0>();
    pdl_trigger();

    wgmma_unscale_rows<T>(acc);
    float(&v)[WN * L::kAcc] = *reinterpret_cast<float(*)[WN * L::kAcc]>(&acc[0][0]);
    __syncthreads();  // the pipeline's shared memory becomes the reduce scratch
    if (!cluster_reduce<WN * L::kAcc>(v, reinterpret_cast<float*>(smem))) return;
    static_assert(STAGES * L::kStage >= 4 * WG * WN * TN * 32, "pipeline memory must hold the output staging");
    wgmma_store_y<T, TN, WN>(v, reinterpret_cast<T*>(smem) + warp * (WN * TN * 16), tile0 + wg * WN * 4 + wq, lane,
                             tok0, p);
}

template <class T, int TN, int WG, int WN, bool kZeros, int STAGES>
cudaError_t wgmma_launch_one(const FastParams& p, dim3 grid, bool pdl, cudaStream_t stream, int* occupancy) {
    using L = WgShape<TN, WG, WN>;
    constexpr int kSmem = STAGES * L::kStage + 1024;  // + alignment slack
    auto kernel = w4a16_fast_wgmma_kernel<T, TN, WG, WN, kZeros, STAGES>;
    static const cudaError_t attr = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, kSmem);
    if (attr != cudaSuccess) return attr;
    if (occupancy) return cudaOccupancyMaxActiveBlocksPerMultiprocessor(occupancy, kernel, L::kThreads, kSmem);
    // the K slices meet in the pipeline's shared memory
    if (grid.y > 1 && (size_t)STAGES * L::kStage < L::kReduceBytes) return cudaErrorInvalidConfiguration;
    return launch_fast_kernel(kernel, p, grid, L::kThreads, kSmem, pdl, stream);
}

// The block shapes that exist (tokens TN, warpgroups WG, tiles per warp WN, pipeline depth); instantiated per
// element type in w4a16_wgmma_f16.cu / w4a16_wgmma_bf16.cu. Keep in sync with wgmma_config_supported.
#define AWQ_WGMMA_SHAPES(X) \
    X(16, 2, 1, 4)          \
    X(16, 2, 1, 8)          \
    X(16, 1, 1, 8)          \
    X(32, 2, 1, 4)          \
    X(32, 2, 1, 8)          \
    X(32, 1, 1, 8)          \
    X(64, 2, 1, 4)          \
    X(64, 2, 2, 4)          \
    X(64, 1, 1, 4)          \
    X(64, 1, 2, 4)          \
    X(128, 2, 1, 4)         \
    X(128, 2, 2, 4)         \
    X(128, 1, 1, 4)         \
    X(128, 1, 2, 3)         \
    X(128, 1, 2, 4)         \
    X(256, 2, 1, 4)         \
    X(256, 1, 1, 2)         \
    X(256, 1, 1, 3)         \
    X(256, 1, 1, 4)

template <class T>
cudaError_t wgmma_dispatch(const FastParams& p, const FastConfig& cfg, bool zeros, dim3 grid, cudaStream_t stream,
                           int* occupancy) {
#define AWQ_WGMMA_CASE(TN, WG, WN, ST)                                                                       \
    if (cfg.tokens == TN && cfg.wg == WG && cfg.wn == WN && cfg.stages == ST)                                \
        return zeros ? wgmma_launch_one<T, TN, WG, WN, true, ST>(p, grid, cfg.pdl, stream, occupancy)         \
                     : wgmma_launch_one<T, TN, WG, WN, false, ST>(p, grid, cfg.pdl, stream, occupancy);
    AWQ_WGMMA_SHAPES(AWQ_WGMMA_CASE)
#undef AWQ_WGMMA_CASE
    return cudaErrorInvalidConfiguration;
}

}  // namespace awq::cuda
