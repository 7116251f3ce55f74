#pragma once
// Host-side entry points of the individual W4A16 kernels, used by the dispatcher (w4a16_launch.cu).
// Arguments are already validated there; these only configure and launch.
#include <cuda.h>
#include <cuda_runtime.h>

#include "w4a16.h"

namespace awq::cuda {

// Split-K scratch: partials hold splits * m * n floats, counters one int per output tile (zero at rest).
struct SplitScratch {
    float* partials = nullptr;
    int* counters = nullptr;
    size_t partial_floats = 0;
    int counter_count = 0;
};

struct FastConfig {
    int tokens = 8;  // tokens per block: 8, 16, 32, 64
    int wn = 1;      // 16-row tiles per warp: 1 or 2 (2 with tokens 64, and tokens 8/16 at depth 2 or 4)
    int stages = 4;  // tokens 32/64: cp.async pipeline depth; tokens 8/16: units of 128 k in flight per lane
    int splits = 1;  // K slices: one thread-block cluster per output tile, reduced in shared memory (<= 8)
    bool pdl = false;  // launch with programmatic dependent launch (weights stream before the wait)
    int warps = 0;     // tokens 8/16: > 0 runs the warp-split decode kernel (w4a16_fast_decode.cuh) with this
                       // many warps per block splitting K (splits must be 1); 0 runs the cluster-split kernel
    int wg = 0;        // 1, 2: the wgmma kernel (w4a16_fast_wgmma.cuh) with this many warpgroups per block; 3: the
                       // warp-specialized one (w4a16_fast_wgmma_ws.cuh: a producer and two consumer warpgroups).
                       // tokens is then its N (16..256), wn its 16-row tiles per warp, stages its pipeline depth
    int streamk = 0;  // wg 3: > 0 = stream-K over this many blocks (one per SM), with the scratch below; 0 = a
                      // block per tile (and K slice)
    float* sk_partials = nullptr;
    int* sk_counters = nullptr;
    bool sk_early = false;  // stream-K: count in when a partial tile starts, not when it ends (options.split_k = -3)
    int persistent = 0;  // wg 3: > 0 = this many blocks (one per SM) each walk a contiguous run of whole tiles, the
                         // producer running on into the next tile (no fix-ups, no workspace); 0 = a block per tile
    int x_multicast = 0;  // wg 3, one tile per block: 2 = pairs of row blocks load x once (TMA multicast)
    int a_mode = 0;  // wg 3, the consumers' MMA operands (options.wgmma - 3): 0 = the dequantized weights as A from
                     // shared memory; 1 = as A from registers; 2 = tokens as M (x is A, the weights B in shared memory)
    bool x_pieces = false;  // tokens 8/16, cluster-split kernel only (warps <= 0): x in pieces, sums by MMA (XP in
                            // w4a16_fast_small.cuh); shapes: wn 1 with depth 4, wn 2 with depth 2 or 4
    bool x_gated = false;  // decode kernel only: x rows are [gate | up], the input is silu(gate) * up
    // Decode kernel, m = 1 only: the residual + RMSNorm fold (awq_w4_options residual ... norm_eps).
    void* residual = nullptr;
    float* sumsq_out = nullptr;
    const float* sumsq_in = nullptr;
    const void* norm_weight = nullptr;
    float norm_eps = 0.f;
    bool norm_on_output = false;
};
constexpr int kFastMaxSplits = 8;
constexpr int kDecodeWarpsMax = 8;  // warps per tile of the warp-split decode kernel
// Fills `occupancy` (blocks per SM) instead of launching when it is non-null.
cudaError_t fast_direct(const awq_w4_weight& w, const void* x, int m, awq_dtype dtype, void* y,
                        const FastConfig& cfg, cudaStream_t stream, int* occupancy = nullptr);
bool fast_config_supported(const FastConfig& cfg);
// The wgmma kernel's block shapes (AWQ_WGMMA_SHAPES in w4a16_fast_wgmma.cuh), and its rows per block.
bool wgmma_config_supported(const FastConfig& cfg);
inline int wgmma_block_rows(const FastConfig& cfg) { return 64 * (cfg.wg == 3 ? 2 : cfg.wg) * cfg.wn; }
// Whether the warp-specialized kernel (wg = 3) can read this weight: whole 128-k units (one stage), group <= 128
// (whole groups per stage), zeros 16-byte aligned (bulk copies; the API asks only 8). Its blocks also need
// n % (128 * wn) == 0.
bool ws_weight_supported(const awq_w4_weight& w);
// The warp-specialized kernel reads x through the TMA: this fills its descriptor (false: no driver support, or
// a shape the TMA cannot describe).
bool encode_x_tensor_map(CUtensorMap* map, const void* x, int m, int k, int box_rows, awq_dtype dtype);
// Stream-K scratch of the warp-specialized kernel for `blocks` blocks of a wg 3 shape: the bytes of its partial-tile
// shares (its counters, 2 per output tile of tokens x 128 * wn rows, live in the workspace's counter area).
inline size_t ws_streamk_partial_bytes(const FastConfig& cfg, int blocks) {
    return (size_t)blocks * 1024 * cfg.wn * cfg.tokens;  // [block][2][2 consumers][128 threads][wn * tokens / 2]
}
// Whether a warp-specialized shape has an instance with stream-K's early arrival (options.split_k = -3): A from
// registers with (tokens, tiles per warp, stages) = (64, 1, 8), (128, 1, 4) or (256, 1, 3).
constexpr bool ws_early_shape(int tokens, int wn, int stages, int a_mode) {
    return a_mode == 1 && wn == 1 &&
           ((tokens == 64 && stages == 8) || (tokens == 128 && stages == 4) || (tokens == 256 && stages == 3));
}
inline bool ws_early_shape(const FastConfig& cfg) {
    return cfg.wg == 3 && ws_early_shape(cfg.tokens, cfg.wn, cfg.stages, cfg.a_mode);
}
// Blocks per SM a warp-specialized shape is built for (its stream-K grid is that many per SM).
int ws_blocks_per_sm(const FastConfig& cfg);
// Whether the wgmma kernel's pipeline memory can hold a cluster's K-slice reduction (else splits must be 1).
bool wgmma_can_split(const FastConfig& cfg);
// Tokens 8/16 stage the block's x slice in shared memory: at most this many 64-k chunks per K slice;
// slices are also whole multiples of fast_small_chunk_align(group) chunks.
int fast_small_max_chunks(int tokens_valid);
int fast_small_chunk_align(int group);
// The warp-split decode kernel (cfg.warps > 0; cfg.wn = 16-row tiles per warp, 1 with depth 4/8 or 2 with
// depth 2/4): whether a configuration exists, and one block's shared memory (0 when over the limit).
bool fast_decode_supported(const FastConfig& cfg);
size_t fast_decode_block_smem(int m, int k, int group, const FastConfig& cfg);

// CUDA-core kernels for the AutoAWQ layouts (meant for small m; any m works, in blocks of 8 tokens).
cudaError_t gemm_direct(const awq_w4_weight& w, const void* x, int m, awq_dtype dtype, void* y, int splits,
                        const SplitScratch& scratch, cudaStream_t stream);
cudaError_t gemv_direct(const awq_w4_weight& w, const void* x, int m, awq_dtype dtype, void* y, int splits,
                        const SplitScratch& scratch, cudaStream_t stream);
// K rows per split the CUDA-core kernels can hold (their activation slice lives in shared memory).
constexpr int kCudaCoreMaxSliceK = 1024;

// W [n, k] in dtype from any layout; or its rows [row0, row0 + rows) (multiples of 64; rows < 0: to the end)
// into out's first rows.
cudaError_t dequantize(const awq_w4_weight& w, awq_dtype dtype, void* out, cudaStream_t stream, int row0 = 0,
                       int rows = -1);

int sm_count();

}  // namespace awq::cuda
