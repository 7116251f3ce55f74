#pragma once
// Weight-only 4-bit matrix multiply on CUDA: y[m, n] = x[m, k] W[n, k]^T, W stored 4-bit with per-group
// fp16 scales and 4-bit zero points (w = (q - zero) * scale), x and y fp16 or bf16, fp32 accumulation.
//
// A plain C interface (raw device pointers, no LibTorch) so any part of the engine can call it. The
// packed layouts are defined, and produced from the canonical integer form, in kernels/cpu/w4_layouts.h:
//   AWQ_W4_GEMM  AutoAWQ "gemm": qweight int32 [k][n/8], qzeros int32 [k/group][n/8], scales fp16 [k/group][n]
//   AWQ_W4_GEMV  AutoAWQ "gemv": qweight int32 [n][k/8], qzeros int32 [n][zw], scales fp16 [n][zw*8]
//   AWQ_W4_FAST  our tensor-core layout: qweight uint32 [ceil(k/128)][n/16][2][32][4] (mma A fragments, unit-major),
//                scales uint32 [k/group][n/16][8], zeros uint8 [k/group][n/16][8] (NULL when symmetric);
//                the CUDA kernels need a power-of-two group
// Paths: each layout has a "direct" kernel reading its layout as is (fast: tensor cores with the weight as the
// A operand - mma.sync: a register-streaming kernel for m <= 16, a cp.async-pipelined one above; Hopper's wgmma
// for m = 33..512 (see options.wgmma); gemm/gemv: CUDA cores, for small m), and every layout can take the
// "dequantize" path (expand W to fp16/bf16 in the workspace, then cuBLAS), which wins for large m. AUTO: fast direct
// up to m = 512 (128 without the wgmma kernel), gemm/gemv direct up to m = 8, dequantize above (when the workspace
// allows it).
//
// Workspace: one device buffer of awq_w4a16_workspace_bytes(n, k) bytes (for several layers: the largest
// n and n*k among them), ZERO-FILLED ONCE when allocated. Its first 64 KiB hold split-K counters that the
// gemm/gemv kernels return to zero; the rest is scratch (their split-K partials, the dequantized weight).
// Calls that run concurrently need separate workspaces. The fast layout's direct path needs none (its
// split-K stays inside thread-block clusters). A NULL or too small workspace is allowed: the call then
// uses a path that needs none, unless the options demand one, which is an error.
#include <cuda_runtime.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { AWQ_W4_GEMM = 0, AWQ_W4_GEMV = 1, AWQ_W4_FAST = 2 } awq_w4_layout;
typedef enum { AWQ_DTYPE_F16 = 0, AWQ_DTYPE_BF16 = 1 } awq_dtype;
typedef enum { AWQ_W4_PATH_AUTO = 0, AWQ_W4_PATH_DIRECT = 1, AWQ_W4_PATH_DEQUANT = 2 } awq_w4_path;

typedef struct {
    awq_w4_layout layout;
    int n, k, group;      // out_features, in_features, group size
    const void* qweight;  // device pointers, 16-byte aligned, shapes above
    const void* qzeros;   // fast layout: NULL for symmetric weights (every zero 8)
    const void* scales;
    int zeros_width;      // gemv layout only: zw (see kernels/cpu/w4_layouts.h)
} awq_w4_weight;

#define AWQ_W4_SUMSQ_COPIES 8

typedef struct {
    awq_w4_path path;  // AUTO picks by m, layout and workspace
    int split_k;       // direct path: 0 = heuristic, else number of K slices (fast, gemm, gemv); -1 = stream-K
                       // (wgmma = 3-5 only: one block per SM sharing all the work, partial tiles through the workspace);
                       // -2 = persistent tiles (wgmma = 3-5 only: one block per SM, each a contiguous run of whole
                       // tiles, its pipeline running on from one tile into the next; opt-in, not yet measured);
                       // -3 = stream-K whose consumers count themselves in when they start a partial tile instead
                       // of when they finish it, so the counting atomic's round trip runs under the tile's MMAs
                       // (opt-in, not yet measured)
    int tokens;        // fast direct path: tokens per block 8, 16, 32, 64; 0 = by m
    int stages;        // fast direct path: 8-16 tokens: 128-k units in flight per lane (decode kernel 4 or 8,
                       // default 8; cluster-split kernel 2, 4 or 8, default 4); 32-64 tokens:
                       // cp.async pipeline depth (3 or 4); 0 = default
    int warp_tiles;    // fast direct path: 16-row tiles per warp, 1 or 2 (64 tokens; or 8-16 tokens, where 2
                       // takes depth 2 or 4 in the decode and the cluster-split kernel); 0 = default
    int pdl;           // fast direct path: 1 = programmatic dependent launch (the kernel starts streaming its
                       // weights while the previous kernel in the stream finishes; it waits for that kernel
                       // before reading x). Safe with any predecessor; measured gain 1-3 us per call for
                       // m <= 16 when launches queue up back to back, none (or a loss) for m >= 32.
    int warps;         // fast direct path, m <= 16: warps per block of the warp-split decode kernel, splitting
                       // K (1..8), 0 = heuristic; -1 (or split_k > 1) = the cluster-split kernel
    int x_gated;       // 1: x rows hold [gate | up] (2k values each) and the matmul's input is silu(gate) * up,
                       // rounded as awq_silu_mul (decode_ops.h) rounds it: SwiGLU's down projection with the SiLU
                       // fused into the input load. Only the fast layout's one-token decode kernel (m = 1, path
                       // AUTO or DIRECT, warps >= 0, no split) does this; anything else is an error.
    // Residual add + RMSNorm folded into the neighbouring one-token matmuls (same kernel and conditions as
    // x_gated; NULL / 0 = off). Output side: residual[n] (dtype) becomes dtype(residual + dtype(y)) in place
    // (y is written as usual) and sumsq_out[AWQ_W4_SUMSQ_COPIES][n / 16] receives, per 16-row tile, the fp32 sum
    // of squares of the new residual rows (the same values in every copy). Input side: x is such a residual h
    // (k <= 8192) and sumsq_in its tile sums in that layout; the matmul's input is
    // dtype(norm_weight * dtype(h * rsqrt(sum / k + norm_eps))), LlamaRMSNorm as awq_add_rms_norm rounds it.
    // (Copies because every warp of the consumer reads all k / 16 sums at once: one copy's few cache lines
    // would queue every block's reads in one L2 slice.)
    // norm_on_output = 1 (input side only) moves the rsqrt to the output: the matmul's input is
    // dtype(norm_weight * h) and y = dtype(rsqrt(sum / k + norm_eps) * (x W^T)), so no warp waits for the sums
    // before it starts. The same product rounded at another place: not LlamaRMSNorm's bits, but as close to the
    // exact result (closer, in the check). Where norm_weight * h overflows fp16 (h and its RMSNorm finite), the
    // warps concerned fall back to the input-side normalization for their slice: slower, same result.
    void* residual;
    float* sumsq_out;
    const float* sumsq_in;
    const void* norm_weight;
    float norm_eps;
    int norm_on_output;
    // Fast layout: which tensor-core kernel. 0 = by m and the weight's shape (wgmma_by_default in w4a16_launch.cu:
    // the warp-specialized kernel with A from registers (4) for m = 33..1024, with its stream-K for m = 33..128 on
    // weights whose tiles fill the GPU's last wave badly or whose K >= 8192; the serial wgmma kernel for m = 33..512
    // where the warp-specialized one cannot read the weight), unless tokens, warp_tiles or stages are given: those
    // name an mma.sync kernel's block;
    // -1 = never a wgmma kernel (the mma.sync kernels, or dequantize + cuBLAS above m = 128 under path AUTO);
    // 1 or 2 = the serial wgmma kernel (w4a16_fast_wgmma.cuh, Hopper) with this many warpgroups per block;
    // 3 = the warp-specialized wgmma kernel (w4a16_fast_wgmma_ws.cuh: a TMA producer and two consumer
    // warpgroups; k % 128 == 0, group <= 128, 16-byte aligned qzeros); 4 = the same with the consumers' A operand
    // from registers instead of shared memory (the default's form); 5 = the same kernel with the roles swapped
    // (experimental): 64 tokens are the MMA's M (x is A) and each consumer's 128 dequantized weight rows its N
    // (m64n128k16, B from shared memory; tokens 64, warp_tiles 2, stages 4). For the wgmma kernels, tokens is their N
    // (16..256; 64, 128, 256 for wgmma = 3, 4; 64 for 5), warp_tiles their 16-row tiles per warp (1, 2), stages their pipeline
    // depth and split_k their K slices; 0 = heuristic.
    int wgmma;
    // wgmma = 3-5 only, one tile per block (split_k 0 or 1): 2 = clusters of two row blocks of the same tokens load
    // each x stage once, half each, through TMA multicast into both (half the x traffic from L2); 0 = off.
    int x_multicast;
    // Dequantize path: rows of W expanded per step (a multiple of 64). Each step expands its rows into the
    // workspace's weight buffer, then cuBLAS multiplies them, so the slice is still in L2 when the GEMM reads it
    // and the next step overwrites the same lines: most of the fp16 W never makes the round trip to DRAM.
    // 0 = all rows in one step; opt-in, being measured (experiments/kernels/NOTES.md v21). With R rows per step the
    // path needs only R * k * 2 bytes of weight buffer: a workspace of 64 KiB + 512 * n + R * k * 2 bytes (each term
    // rounded up to 256) suffices for it (k = 8192, n = 28672, R = 2048: ~48 MB instead of ~485 MB).
    int dequant_rows;
    // Fast layout, 2..16 tokens per block (the cluster-split kernel): 1 = the block's x slice arrives in four pieces
    // alongside the weights instead of all before the first MMA, and the zero-point correction's sums of x come
    // from the tensor cores (w4a16_fast_small.cuh, XP). A call with 1 runs that kernel (also at m = 1, where the
    // default is the warp-split decode kernel) and fails where it cannot: m > 16, tokens 32/64, wgmma, warps > 0,
    // the fused one-token work, or a k too long for the kernel's x slices. 0 = off; opt-in, not yet measured.
    int x_pieces;
} awq_w4_options;

// Bytes of workspace that make every path available for an n x k weight.
size_t awq_w4a16_workspace_bytes(int n, int k);

// y = x W^T on `stream`. x: [m, k], y: [m, n], both row-major, 16-byte aligned, of `dtype`.
// Returns 0 on success; otherwise nonzero, nothing launched, and awq_w4a16_last_error() says why.
int awq_w4a16_matmul(const awq_w4_weight* w, const void* x, int m, awq_dtype dtype, void* y, void* workspace,
                     size_t workspace_bytes, cudaStream_t stream, const awq_w4_options* options);

// W [n, k] row-major in dtype (the dequantize path's first step; also for debugging and tests).
int awq_w4a16_dequantize(const awq_w4_weight* w, awq_dtype dtype, void* out, cudaStream_t stream);

// The path, split and tile the last successful awq_w4a16_matmul on this thread used, e.g.
// "fast tc tok=8 split=6 stages=6"; and the message of the last failure on this thread.
const char* awq_w4a16_last_config(void);
const char* awq_w4a16_last_error(void);

#ifdef __cplusplus
}
#endif
