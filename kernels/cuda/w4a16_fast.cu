// Host side of the fast W4A16 kernel: grid shape and parameters (kernel in w4a16_fast.cuh).
#include "w4a16_fast.cuh"
#include "w4a16_fast_small.cuh"
#include "w4a16_fast_decode.cuh"
#include "w4a16_fast_wgmma.cuh"
#include "w4a16_fast_wgmma_ws.cuh"

#include <algorithm>

namespace awq::cuda {

extern template cudaError_t fast_dispatch<half>(const FastParams&, const FastConfig&, bool, dim3, cudaStream_t, int*);
extern template cudaError_t fast_dispatch<__nv_bfloat16>(const FastParams&, const FastConfig&, bool, dim3,
                                                         cudaStream_t, int*);
extern template cudaError_t fast_small_dispatch<half>(const FastParams&, const FastConfig&, bool, dim3, size_t,
                                                      cudaStream_t, int*);
extern template cudaError_t fast_small_dispatch<__nv_bfloat16>(const FastParams&, const FastConfig&, bool, dim3,
                                                               size_t, cudaStream_t, int*);
extern template cudaError_t wgmma_dispatch<half>(const FastParams&, const FastConfig&, bool, dim3, cudaStream_t, int*);
extern template cudaError_t wgmma_dispatch<__nv_bfloat16>(const FastParams&, const FastConfig&, bool, dim3, cudaStream_t,
                                                          int*);
extern template cudaError_t ws_dispatch<half>(const FastParams&, const CUtensorMap*, const FastConfig&, bool, dim3,
                                              cudaStream_t, int*);
extern template cudaError_t ws_dispatch<__nv_bfloat16>(const FastParams&, const CUtensorMap*, const FastConfig&, bool,
                                                       dim3, cudaStream_t, int*);
extern template cudaError_t fast_decode_dispatch<half>(const FastParams&, const FastConfig&, bool, dim3, size_t,
                                                       cudaStream_t, int*);
extern template cudaError_t fast_decode_dispatch<__nv_bfloat16>(const FastParams&, const FastConfig&, bool, dim3,
                                                                size_t, cudaStream_t, int*);

bool fast_config_supported(const FastConfig& c) {
    if (c.x_pieces && c.tokens != 8 && c.tokens != 16) return false;
    switch (c.tokens) {
        case 8:
        case 16:
            if (c.warps > 0) return !c.x_pieces && fast_decode_supported(c);
            if (c.x_pieces) return (c.wn == 1 && c.stages == 4) || (c.wn == 2 && (c.stages == 2 || c.stages == 4));
            return (c.wn == 1 && (c.stages == 2 || c.stages == 4 || c.stages == 8)) ||
                   (c.wn == 2 && (c.stages == 2 || c.stages == 4));
        case 32: return c.wn == 1 && (c.stages == 3 || c.stages == 4);
        case 64: return (c.wn == 1 || c.wn == 2) && (c.stages == 3 || c.stages == 4);
        default: return false;
    }
}

bool wgmma_config_supported(const FastConfig& c) {
#define AWQ_WGMMA_KNOWN(TN, WG, WN, ST) \
    if (c.tokens == TN && c.wg == WG && c.wn == WN && c.stages == ST) return true;
    AWQ_WGMMA_SHAPES(AWQ_WGMMA_KNOWN)
#undef AWQ_WGMMA_KNOWN
    return visit_ws_shape(c, false, [](auto) { return true; });
}

bool wgmma_can_split(const FastConfig& c) {
#define AWQ_WGMMA_SPLITS(TN, WG, WN, ST)                                                     \
    if (c.tokens == TN && c.wg == WG && c.wn == WN && c.stages == ST) {                      \
        using L = WgShape<TN, WG, WN>;                                                       \
        return (size_t)ST * L::kStage >= L::kReduceBytes;                                    \
    }
    AWQ_WGMMA_SHAPES(AWQ_WGMMA_SPLITS)
#undef AWQ_WGMMA_SPLITS
    return visit_ws_shape(c, false, [](auto shape) {
        using L = decltype(shape);
        return (size_t)L::kStages * L::kStage >= L::kReduceBytes;
    });
}

int ws_blocks_per_sm(const FastConfig& c) {
    return visit_ws_shape(c, 1, [](auto shape) { return decltype(shape)::kBlocksPerSm; });
}

int fast_small_chunk_align(int group) { return std::max(2, group / 64); }

bool fast_decode_supported(const FastConfig& c) {
    return (c.tokens == 8 || c.tokens == 16) && c.warps >= 1 && c.warps <= kDecodeWarpsMax &&
           ((c.wn == 1 && (c.stages == 4 || c.stages == 8)) || (c.wn == 2 && (c.stages == 2 || c.stages == 4)));
}

size_t fast_decode_block_smem(int m, int k, int group, const FastConfig& cfg) {
    const int kunits = (k / 64 + 1) / 2, per = (kunits + cfg.warps - 1) / cfg.warps;
    const int gm = group >= 128 ? 1 : group == 64 ? 2 : 4;
    const size_t smem =
        fast_decode_smem(cfg.tokens / 8, gm, cfg.wn, cfg.warps, std::min(m, cfg.tokens), per, cfg.sumsq_in != nullptr);
    return smem <= (size_t)kDecodeMaxSmem ? smem : 0;
}

int fast_small_max_chunks(int tokens_valid) { return kSmallXBytes / (tokens_valid * 64 * 2) / 2 * 2; }

bool ws_weight_supported(const awq_w4_weight& w) {
    // x, qweight and scales are 16-byte aligned by the API's checks
    return w.k % 128 == 0 && w.group <= 128 && reinterpret_cast<uintptr_t>(w.qzeros) % 16 == 0;
}

cudaError_t fast_direct(const awq_w4_weight& w, const void* x, int m, awq_dtype dtype, void* y, const FastConfig& cfg,
                        cudaStream_t stream, int* occupancy) {
    FastParams p = {};
    p.qweight = static_cast<const uint4*>(w.qweight);
    p.scales = static_cast<const uint32_t*>(w.scales);
    p.zeros = static_cast<const uint8_t*>(w.qzeros);
    p.x = x;
    p.y = y;
    p.m = m;
    p.n = w.n;
    p.k = w.k;
    p.group = w.group;
    const int kchunks = w.k / 64;
    const bool zeros = w.qzeros != nullptr;
    if (cfg.warps > 0) {  // warp-split decode kernel: one block per 16-row tile and 8 or 16 tokens
        if (!fast_decode_supported(cfg) || cfg.splits != 1 || (w.n / 16) % cfg.wn != 0) return cudaErrorInvalidValue;
        const size_t smem = fast_decode_block_smem(m, w.k, w.group, cfg);
        if (smem == 0) return cudaErrorInvalidValue;
        p.splits = 1;
        p.chunks_per_split = kchunks;
        p.units_per_warp = ((kchunks + 1) / 2 + cfg.warps - 1) / cfg.warps;
        p.x_gated = cfg.x_gated ? 1 : 0;
        p.residual = cfg.residual;
        p.sumsq_out = cfg.sumsq_out;
        p.sumsq_in = cfg.sumsq_in;
        p.norm_weight = cfg.norm_weight;
        p.norm_eps = cfg.norm_eps;
        p.norm_on_output = cfg.norm_on_output ? 1 : 0;
        const dim3 grid(w.n / 16 / cfg.wn, (m + cfg.tokens - 1) / cfg.tokens);
        return dtype == AWQ_DTYPE_F16 ? fast_decode_dispatch<half>(p, cfg, zeros, grid, smem, stream, occupancy)
                                      : fast_decode_dispatch<__nv_bfloat16>(p, cfg, zeros, grid, smem, stream, occupancy);
    }
    // only the decode kernel fuses the SiLU or the residual + RMSNorm
    if (cfg.x_gated || cfg.residual || cfg.sumsq_in) return cudaErrorInvalidValue;
    // The wgmma kernel (wg > 0) and the pipelined / register-streaming mma.sync kernels slice K the same way: whole
    // 64-k chunks per slice, one cluster of slices per output tile.
    const bool wgmma = cfg.wg > 0;
    if (wgmma && (!wgmma_config_supported(cfg) || w.n % wgmma_block_rows(cfg) != 0)) return cudaErrorInvalidValue;
    const bool ws = wgmma && cfg.wg == 3;
    if (ws && !ws_weight_supported(w)) return cudaErrorInvalidValue;
    const bool small = !wgmma && cfg.tokens <= 16;
    const int align = small ? fast_small_chunk_align(w.group) : ws ? 2 : 1;
    p.chunks_per_split = (kchunks + cfg.splits - 1) / cfg.splits;
    p.chunks_per_split = (p.chunks_per_split + align - 1) / align * align;  // whole groups and 128-k units
    p.splits = (kchunks + p.chunks_per_split - 1) / p.chunks_per_split;   // no empty slices
    if (p.splits > kFastMaxSplits) return cudaErrorInvalidValue;
    const int block_rows = wgmma ? wgmma_block_rows(cfg) : 64 * cfg.wn;
    dim3 grid((m + cfg.tokens - 1) / cfg.tokens, p.splits, w.n / block_rows);
    if (ws && cfg.streamk > 0) {  // one flat grid of blocks that share all units (w4a16_fast_wgmma_ws.cuh)
        const long long total = (long long)grid.x * grid.z * (w.k / 128);  // the kernel's 32-bit unit arithmetic:
        if (p.splits != 1 || cfg.streamk > total || total * (cfg.streamk + 1) >= (1ll << 31) || !cfg.sk_partials ||
            !cfg.sk_counters)
            return cudaErrorInvalidValue;
        grid = dim3(cfg.streamk);
        p.sk_partials = cfg.sk_partials;
        p.sk_counters = cfg.sk_counters;
        p.sk_early = cfg.sk_early ? 1 : 0;
    }
    if (ws && cfg.persistent > 0) {  // one flat grid of blocks, each a contiguous run of whole tiles
        const long long tiles = (long long)grid.x * grid.z;
        if (p.splits != 1 || cfg.streamk > 0 || cfg.persistent > tiles || tiles * (w.k / 128) >= (1ll << 31) / 2)
            return cudaErrorInvalidValue;
        grid = dim3(cfg.persistent);
        p.ws_persistent = 1;
    }
    if (ws && cfg.x_multicast == 2) {  // clusters of two row blocks (1 x 1 x 2): no K slices, no stream-K
        if (p.splits != 1 || cfg.streamk > 0 || cfg.persistent > 0 || grid.z % 2 != 0) return cudaErrorInvalidValue;
        p.x_multicast = 2;
    }
    if (ws) {
        CUtensorMap xmap;  // passed by value into the launch
        if (!occupancy && !encode_x_tensor_map(&xmap, x, m, w.k, cfg.tokens, dtype)) return cudaErrorInvalidValue;
        return dtype == AWQ_DTYPE_F16 ? ws_dispatch<half>(p, &xmap, cfg, zeros, grid, stream, occupancy)
                                      : ws_dispatch<__nv_bfloat16>(p, &xmap, cfg, zeros, grid, stream, occupancy);
    }
    if (wgmma)
        return dtype == AWQ_DTYPE_F16 ? wgmma_dispatch<half>(p, cfg, zeros, grid, stream, occupancy)
                                      : wgmma_dispatch<__nv_bfloat16>(p, cfg, zeros, grid, stream, occupancy);
    if (small) {  // register-streaming kernel; its x slice lives in shared memory
        const int tv = std::min(m, cfg.tokens);
        if (p.chunks_per_split > fast_small_max_chunks(tv)) return cudaErrorInvalidValue;
        const size_t smem = fast_small_smem(cfg.tokens / 8, cfg.wn, w.group, tv, p.chunks_per_split, cfg.x_pieces);
        return dtype == AWQ_DTYPE_F16 ? fast_small_dispatch<half>(p, cfg, zeros, grid, smem, stream, occupancy)
                                      : fast_small_dispatch<__nv_bfloat16>(p, cfg, zeros, grid, smem, stream, occupancy);
    }
    return dtype == AWQ_DTYPE_F16 ? fast_dispatch<half>(p, cfg, zeros, grid, stream, occupancy)
                                  : fast_dispatch<__nv_bfloat16>(p, cfg, zeros, grid, stream, occupancy);
}

}  // namespace awq::cuda
