// The C entry points of kernels/cuda/w4a16.h: argument checks, the choice of path and tile per call, the
// workspace split, and the cuBLAS half of the dequantize path.
#include <cublas_v2.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>

#include "w4a16_internal.h"

namespace awq::cuda {
namespace {

thread_local std::string g_error, g_config;

// Which wgmma kernel options.wgmma = 0 picks for m tokens of an n x k weight, as an options.wgmma value: 0 = none
// (the mma.sync kernels, or dequantize + cuBLAS), 1 = the serial one with one warpgroup, 4 = the warp-specialized
// one with A from registers. m <= 32: the mma.sync kernels (H100 sweep of 2026-12-07, experiments/results/wgmma_v3:
// 32 tokens: 5 of 6 shapes, 4-21 % ahead of the serial wgmma kernel; 9..16: the cluster-split kernel with two tiles
// per warp beats it on every large weight). m = 33..1024: the warp-specialized kernel with A from registers where
// it takes the weight (whole 128-k units, n % 128 == 0, group <= 128), else the serial kernel up to m = 512. H100,
// 2026-12-07 (experiments/results/areg_v1), against the previous default (the serial kernel at m = 64 on two of six
// shapes, the warp-specialized kernel with A from shared memory, dequantize + cuBLAS at m = 1024), six shapes:
// m = 64 1.19-1.39x faster, m = 128 1.10-1.28x, m = 256 1.10-1.49x, m = 1024 0.94-1.47x (4096 x 14336 the one loss).
// m = 33..63 run as 64 tokens: at m = 48 1.19-1.40x faster than the serial kernel on all six shapes (areg_v1 run 2).
// m = 33..128 on weights of at least 4096 x 4096: the warp-specialized kernel's stream-K where its one-tile-per-
// block grid (128 rows per tile, one token block) fills less than 80 % of its last wave, or K >= 8192 (long tiles
// amortize the fix-ups). Interleaved A/B on the H100, 2026-12-07 (experiments/results/streamk_v1/w4a16_ab_h100.md),
// stream-K / default, m = 64 and 128: 4096x11008 0.82 / 0.91, 11008x4096 0.94 / 0.90, 14336x4096 0.91 / 0.86,
// 8192x28672 0.91 / 0.91; left out by the rule: 4096x14336 (fills 85 %) 0.99 / 1.08.
// At m = 256 (256-token tiles, 4x the fix-up bytes) stream-K lost (4096x11008 69.3 vs 60.9 us).
// The same rule holds with A from registers (areg_v1, H100: stream-K / one tile per block at m = 64, 4096x11008 0.91,
// 8192x28672 0.89; left out: 4096x14336 1.08), and from m = 33: at m = 48 (areg_v1 run 2, stream-K / the rest of
// the default) it picks the four shapes where stream-K wins, 4096x11008 0.91, 11008x4096 0.91, 14336x4096 0.87,
// 8192x28672 0.92, and leaves out 4096x14336, 1.08. 4096x4096 (32 tiles, a K split of 3 before) joined once the
// fix-up stopped storing and reloading the last block's own share (streamk_v2 run 1, H100: stream-K / K split
// 0.958 / 0.958 / 0.969 at m = 48 / 64 / 128; 4096x14336 still 1.03 / 1.03 / 1.08). Smaller weights: not measured.
// Whether the warp-specialized kernel's default shape (128-row blocks) takes this weight.
bool ws_default_fits(const awq_w4_weight& w) { return ws_weight_supported(w) && w.n % 128 == 0; }
constexpr int kSkMinM = 33, kSkMaxM = 128;
bool streamk_by_default(const awq_w4_weight& w, int m) {
    if (m < kSkMinM || m > kSkMaxM || (long long)w.n * w.k < 4096ll * 4096 || !ws_default_fits(w)) return false;
    const int tiles = w.n / 128, sms = sm_count();
    const double fill = (double)tiles / (((tiles + sms - 1) / sms) * sms);
    return fill < 0.8 || w.k >= 8192;
}
// m = 129..1024 with 256-token tiles: stream-K (3 stages, y stored from the accumulators) where a cost model says it
// beats one tile per block. Fitted to an H100 run (experiments/results/streamk_v2 run 2): one tile per block costs
// ~1.58 us per 128-k unit and wave (waves x units per tile), stream-K ~1.55 us per unit of a block's even share plus
// ~20 us of fix-up (256-token shares are 64 KB per consumer), i.e. kSk256FixupUnits units. Only where one tile per
// block would not split K (tiles > SMs / 2). Stream-K / the rule's other choice: m = 512 4096x11008 0.88 (84.6 vs
// 95.9 us), 8192x28672 0.73-0.75 (345.4 vs 458.5-472.5); m = 1024 4096x14336 0.81 (188.0 vs 232.7), 8192x28672 0.93
// (701.4 vs 750.5); the model's "no": m = 512 4096x14336 1.06, m = 1024 4096x11008 1.00, 11008x4096 1.13. At
// m = 4096 stream-K blocks sit at different K and x (16 token blocks x 2 * K bytes) no longer stays in L2
// (11008x4096: 889 vs 582 us): hence the cap.
constexpr int kSk256MaxM = 1024;
constexpr double kSk256FixupUnits = 13.0;
bool streamk256_by_default(const awq_w4_weight& w, int m) {
    if (m > kSk256MaxM || !ws_default_fits(w)) return false;
    const int sms = sm_count(), units = w.k / 128;
    const long long tiles = (long long)((m + 255) / 256) * (w.n / 128);
    if (tiles <= sms / 2) return false;
    const long long waves = (tiles + sms - 1) / sms;
    return (double)tiles * units / sms + kSk256FixupUnits < (double)waves * units;
}
// The warp-specialized kernel up to m = 2048, then dequantize + cuBLAS: one tile per block (256 tokens) against
// dequantize + cuBLAS, H100 (streamk_v2 run 2): m = 2048 0.92-0.95 on five of six shapes (4096x11008 1.04),
// m = 4096 1.01-1.10 on all six.
constexpr int kWgmmaMinM = 33, kSerialMaxM = 512, kWsMaxM = 2048;
int wgmma_by_default(const awq_w4_weight& w, int m) {
    if (m < kWgmmaMinM) return 0;
    if (ws_default_fits(w)) return m <= kWsMaxM ? 4 : 0;
    return m <= kSerialMaxM ? 1 : 0;
}

// Workspace: [counters 64 KiB][partials: 128 * n floats][dequantized W: n * k * 2 bytes], and at least
// [counters][stream-K shares for one block per SM] (the warp-specialized kernel's, see ws_streamk_partial_bytes).
constexpr size_t kCounterBytes = 64 * 1024;
constexpr int kMaxSplitTokens = 128;  // splits * tokens of one split-K launch, bounds the partials
size_t align256(size_t v) { return (v + 255) / 256 * 256; }
size_t partial_bytes(int n) { return align256((size_t)kMaxSplitTokens * n * sizeof(float)); }
size_t weight_bytes(int n, int k) { return align256((size_t)n * k * 2); }

int fail(const std::string& msg) {
    g_error = "w4a16: " + msg;
    return 1;
}
int fail_cuda(const char* what, cudaError_t e) { return fail(std::string(what) + ": " + cudaGetErrorString(e)); }

bool aligned(const void* p, size_t a) { return (reinterpret_cast<uintptr_t>(p) % a) == 0; }

std::string check_weight(const awq_w4_weight* w) {
    if (!w) return "weight descriptor is NULL";
    if (w->layout != AWQ_W4_GEMM && w->layout != AWQ_W4_GEMV && w->layout != AWQ_W4_FAST)
        return "unknown layout " + std::to_string((int)w->layout);
    if (w->n <= 0 || w->k <= 0 || w->group <= 0)
        return "n, k and group must be positive (n=" + std::to_string(w->n) + " k=" + std::to_string(w->k) +
               " group=" + std::to_string(w->group) + ")";
    if (w->n % 64 != 0 || w->k % 64 != 0)
        return "n and k must be multiples of 64 (n=" + std::to_string(w->n) + " k=" + std::to_string(w->k) + ")";
    if (w->k % w->group != 0 || !(w->group == 32 || w->group % 64 == 0))
        return "group " + std::to_string(w->group) + " must be 32 or a multiple of 64 dividing k=" +
               std::to_string(w->k);
    if (!w->qweight || !w->scales) return "qweight or scales pointer is NULL";
    if (w->layout != AWQ_W4_FAST && !w->qzeros) return "qzeros pointer is NULL (only the fast layout may omit it)";
    if (!aligned(w->qweight, 16) || !aligned(w->scales, 16) || (w->qzeros && !aligned(w->qzeros, 8)))
        return "qweight/scales must be 16-byte aligned and qzeros 8-byte aligned";
    if (w->layout == AWQ_W4_FAST && (w->group & (w->group - 1)) != 0)
        return "the fast kernels need a power-of-two group size, not " + std::to_string(w->group);
    if (w->layout == AWQ_W4_GEMV) {
        const int mult = w->group >= 128 ? 1 : w->group == 64 ? 2 : 4;
        const int words = (w->k / w->group + 7) / 8, zw = (words + mult - 1) / mult * mult;
        if (w->zeros_width != zw)
            return "gemv zeros_width " + std::to_string(w->zeros_width) + " != " + std::to_string(zw) +
                   " expected for k=" + std::to_string(w->k) + " group=" + std::to_string(w->group);
    }
    return {};
}

struct Workspace {
    SplitScratch split;
    void* weight = nullptr;  // dequantized W, or NULL when the workspace is too small
    int* counters = nullptr;  // every byte after the counters: scratch for the warp-specialized kernel's stream-K
    float* scratch = nullptr;
    size_t scratch_bytes = 0;
};

// The dequantize path's buffer holds the rows it expands per step: all of W, or dequant_rows rows (slices).
size_t dequant_buffer_bytes(const awq_w4_weight& w, int dequant_rows) {
    return weight_bytes(dequant_rows > 0 ? std::min(dequant_rows, w.n) : w.n, w.k);
}

Workspace carve(const awq_w4_weight& w, void* ws, size_t bytes, int dequant_rows) {
    Workspace out;
    if (!ws || !aligned(ws, 256)) return out;
    auto* base = static_cast<uint8_t*>(ws);
    if (bytes > kCounterBytes) {
        out.counters = reinterpret_cast<int*>(base);
        out.scratch = reinterpret_cast<float*>(base + kCounterBytes);
        out.scratch_bytes = bytes - kCounterBytes;
    }
    if (bytes >= kCounterBytes + partial_bytes(w.n)) {
        out.split.counters = reinterpret_cast<int*>(base);
        out.split.counter_count = (int)(kCounterBytes / sizeof(int));
        out.split.partials = reinterpret_cast<float*>(base + kCounterBytes);
        out.split.partial_floats = (size_t)kMaxSplitTokens * w.n;
    }
    if (bytes >= kCounterBytes + partial_bytes(w.n) + dequant_buffer_bytes(w, dequant_rows))
        out.weight = base + kCounterBytes + partial_bytes(w.n);
    return out;
}

// cuBLAS handle per (thread, device), with its own workspace so that calls can be graph-captured after the
// first one (cuBLAS must not allocate during capture).
cublasHandle_t blas_handle(std::string& err) {
    struct Entry {
        cublasHandle_t h = nullptr;
        void* ws = nullptr;
    };
    thread_local std::unordered_map<int, Entry> handles;
    int dev = 0;
    cudaGetDevice(&dev);
    Entry& e = handles[dev];
    if (e.h) return e.h;
    if (cublasCreate(&e.h) != CUBLAS_STATUS_SUCCESS) {
        err = "cublasCreate failed";
        e.h = nullptr;
        return nullptr;
    }
    constexpr size_t kBlasWs = 32u << 20;
    if (cudaMalloc(&e.ws, kBlasWs) != cudaSuccess || cublasSetWorkspace(e.h, e.ws, kBlasWs) != CUBLAS_STATUS_SUCCESS) {
        err = "cuBLAS workspace allocation failed";
        return nullptr;
    }
    return e.h;
}

int dequant_gemm(const awq_w4_weight& w, const void* x, int m, awq_dtype dtype, void* y, void* wbuf, int step_rows,
                 cudaStream_t stream) {
    std::string err;
    cublasHandle_t h = blas_handle(err);
    if (!h) return fail(err);
    if (cublasSetStream(h, stream) != CUBLAS_STATUS_SUCCESS) return fail("cublasSetStream failed");
    const float alpha = 1.f, beta = 0.f;
    const cudaDataType_t t = dtype == AWQ_DTYPE_F16 ? CUDA_R_16F : CUDA_R_16BF;
    const size_t esize = 2;
    if (step_rows <= 0 || step_rows > w.n) step_rows = w.n;
    // Steps of step_rows rows of W: expand them into wbuf, then y[:, r0 : r0 + rows] = x W[r0 : r0 + rows]^T.
    // In cuBLAS's column-major view y^T [n, m] (ldc = n) = W [n, k] (stored as k x n, transposed) * x^T [k, m];
    // a step writes rows r0.. of y^T, i.e. starts at y + r0 (16-byte aligned: r0 is a multiple of 64).
    for (int r0 = 0; r0 < w.n; r0 += step_rows) {
        const int rows = std::min(step_rows, w.n - r0);
        if (cudaError_t e = dequantize(w, dtype, wbuf, stream, r0, rows); e != cudaSuccess)
            return fail_cuda("dequantize", e);
        const cublasStatus_t st =
            cublasGemmEx(h, CUBLAS_OP_T, CUBLAS_OP_N, rows, m, w.k, &alpha, wbuf, t, w.k, x, t, w.k, &beta,
                         static_cast<uint8_t*>(y) + (size_t)r0 * esize, t, w.n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
        if (st != CUBLAS_STATUS_SUCCESS) return fail("cublasGemmEx failed with status " + std::to_string((int)st));
    }
    g_config = step_rows < w.n ? "dequant+cublas rows=" + std::to_string(step_rows) : std::string("dequant+cublas");
    return 0;
}

// Occupancy of one fast configuration, cached (it depends on the kernel instance and its shared memory,
// which for tokens <= 16 grows with the tokens and the K slice).
int fast_occupancy(const awq_w4_weight& w, awq_dtype dtype, const FastConfig& cfg, int m) {
    static std::mutex mu;
    static std::map<std::array<int, 12>, int> cache;
    int dev = 0;
    cudaGetDevice(&dev);
    const int kchunks = w.k / 64, cps = (kchunks + cfg.splits - 1) / cfg.splits;
    const int tv = cfg.tokens <= 16 ? std::min(m, cfg.tokens) : 0;
    const int slice = tv == 0 ? 0 : cfg.warps > 0 ? ((kchunks + 1) / 2 + cfg.warps - 1) / cfg.warps : cps;
    const int gm = w.group >= 128 ? 1 : w.group == 64 ? 2 : 4;  // a template parameter of the decode kernels
    const std::array<int, 12> key = {dev, cfg.tokens, cfg.wn,   cfg.stages, (int)dtype, w.qzeros != nullptr,
                                     tv,  slice,      cfg.warps, gm,       cfg.wg,     cfg.x_pieces};
    {
        std::lock_guard<std::mutex> lock(mu);
        if (auto it = cache.find(key); it != cache.end()) return it->second;
    }
    int occ = 0;
    if (fast_direct(w, nullptr, std::max(1, tv), dtype, nullptr, cfg, nullptr, &occ) != cudaSuccess) occ = 0;
    std::lock_guard<std::mutex> lock(mu);
    cache[key] = occ;
    return occ;
}

// Shape of the warp-split decode kernel for one token (measured on H200, experiments/kernels/NOTES.md v8):
// its time is set by how fast the warps consume units, so it wants ~1500-2000 warps in the grid (12-16 per
// SM), two tiles per warp (two independent mma chains, shared x fragments) once there are enough tiles,
// and at least two 128-k units per warp. With two tiles per warp at least 4 warps: the H100 sweeps of sessions 9
// and 11 (experiments/results/wgmma_v2, wgmma_v3; m = 1) put 4 warps ahead of the 1536-warp target's 3 on 4096x14336
// (13.8 vs 14.1 us, 13.6 vs 14.1) and its 2 on 8192x28672 (43.9 vs 44.4, 44.6 vs 44.6; with PDL 42.7 vs 45.0,
// 43.1 vs 45.2). Two tiles per warp also from 256 tiles where K is short (k <= 4096): on 4096x4096, 8 warps with two
// tiles at depth 2 were the fastest shape in all four sweeps that timed it (H200 5.85 / 5.89 us against the default's
// 6.41 / 6.05; H100 6.78 / 6.72 against 7.02 / 7.09), while 11008x4096 and 14336x4096 (256 tiles, long K) ran
// 5-10 % slower with two tiles than with one. Fills cfg.wn, cfg.stages and cfg.warps; false when x does not fit.
bool pick_decode_shape(const awq_w4_weight& w, int m, FastConfig& cfg) {
    const int tiles = w.n / 16, kunits = (w.k / 64 + 1) / 2;
    if (cfg.wn == 0) cfg.wn = tiles >= 512 || (tiles >= 256 && w.k <= 4096) ? 2 : 1;
    if (cfg.stages == 0) cfg.stages = cfg.wn == 2 ? 2 : 4;
    const long blocks = (long)(tiles / cfg.wn) * ((m + cfg.tokens - 1) / cfg.tokens);
    const long target = cfg.wn == 2 ? 1536 : 2048;
    int warps = cfg.warps;
    if (warps == 0) {
        warps = (int)std::clamp<long>((target + blocks / 2) / blocks, cfg.wn == 2 ? 4 : 1, kDecodeWarpsMax);
        while (warps > 1 && (kunits + warps - 1) / warps < 2) --warps;
    }
    for (cfg.warps = warps; cfg.warps >= 1; --cfg.warps)
        if (fast_decode_block_smem(m, w.k, w.group, cfg) > 0) return fast_decode_supported(cfg);
    return false;
}

// Shape of a wgmma kernel for m tokens; fields already set (from the options) are kept. The serial kernel
// (w4a16_fast_wgmma.cuh, wg 1 or 2): N = the smallest wgmma N that holds m (256 above: several token blocks); one
// warpgroup per block, because a warpgroup's loop is serial (dequantize, MMAs, wait) and independent blocks on one
// SM are what overlap one block's dequantization with another's MMAs; a deeper pipeline for small N
// (memory-bound), 3 stages at N = 256 (two blocks per SM). The warp-specialized kernel (wg 3): N 64, 128 or 256,
// the deepest pipeline its shapes have. K slices: see below.
bool pick_wgmma_shape(const awq_w4_weight& w, awq_dtype dtype, int m, int split_opt, const Workspace& ws,
                      FastConfig& cfg) {
    if (cfg.wg == 3 && cfg.a_mode == 2) {  // tokens as M: wgmma's M is 64 tokens, a consumer's N its 64 * wn rows
        if (cfg.tokens == 0) cfg.tokens = 64;
        if (cfg.wn == 0) cfg.wn = 2;
        if (cfg.stages == 0) cfg.stages = 4;
    }
    if (cfg.wn == 0) cfg.wn = 1;
    if (cfg.wg == 0) cfg.wg = 1;
    const int sms = sm_count();
    // The warp-specialized kernel's stream-K (one block per SM sharing all the work, partial tiles fixed up through
    // the workspace): asked for (split_k = -1), or by default where streamk_by_default says so for the default
    // shape (tokens <= 128, one tile per warp) - else one tile per block (NOTES v15).
    const bool sk_asked = cfg.wg == 3 && (split_opt == -1 || split_opt == -3);
    bool want_streamk = sk_asked || (cfg.wg == 3 && split_opt == 0 && cfg.x_multicast == 0 &&
                                     cfg.tokens <= 128 && (cfg.wn == 1 || cfg.a_mode == 2) && streamk_by_default(w, m));
    auto blocks = [&](int tokens) { return ((m + tokens - 1) / tokens) * (w.n / wgmma_block_rows(cfg)); };
    // The warp-specialized kernel runs one block per SM. Its K split (H100 sweep, 2026-12-07): only while the
    // blocks fill at most half the SMs, and at most 3 slices - clusters of one-block-per-SM kernels place badly
    // (86 blocks of 4096 x 11008: split 2 / 3 ran 1.2 / 1.4x slower than unsplit; 32 blocks of 4096 x 4096: split 3
    // 1.9x faster, split 4 1.6x slower than split 3).
    auto ws_splits = [&](int base) { return std::clamp(sms / std::max(1, base), 1, 3); };
    if (cfg.tokens == 0) {
        cfg.tokens = m <= 16 ? 16 : m <= 32 ? 32 : m <= 64 ? 64 : m <= 128 ? 128 : 256;
        if (cfg.wg == 3) {
            cfg.tokens = std::max(cfg.tokens, 64);  // its smallest N
            // 256 tokens: stream-K where streamk256_by_default says so; else N = 256 or 128 by the share of the SMs
            // their waves keep busy (K split included); N = 256 unless 128 fills them clearly better: a 256-token
            // block costs about as much as two 128-token ones, less the second block's x staging (m = 256:
            // 4096 x 11008 55 vs 65 us, 4096 x 4096 31 vs 22).
            if (cfg.tokens == 256 && !want_streamk && split_opt == 0 && cfg.x_multicast == 0 && cfg.a_mode == 1 &&
                cfg.wn == 1 && cfg.stages == 0 && streamk256_by_default(w, m)) {
                want_streamk = true;
            } else if (cfg.tokens == 256 && !want_streamk) {
                auto fill = [&](int tokens) {
                    const int b = blocks(tokens) * ws_splits(blocks(tokens));
                    return (double)b / (((b + sms - 1) / sms) * sms);
                };
                if (fill(128) > fill(256) + 0.05) cfg.tokens = 128;
            }
        } else if (cfg.tokens == 256 && blocks(256) < sms) {
            // N = 256 blocks that do not cover the SMs once lose to twice as many N = 128 blocks (4096 x 4096 and
            // 11008 x 4096 at m = 256: 26-57 us against 43-89 split, 44-117 unsplit; H100 sweep, 2026-12-06).
            cfg.tokens = 128;
        }
    }
    // No A buffers: the deepest ring each N has room for (N = 256: 3 stages, y staged in the ring, or with stream-K
    // stored straight from the accumulators)
    if (cfg.wg == 3 && cfg.stages == 0 && cfg.a_mode == 1)
        cfg.stages = cfg.tokens == 256 ? 3
                     : cfg.tokens == 128 ? (cfg.wn == 2 ? 3 : 4)
                                         : (cfg.wn == 2 ? 5 : 8);
    if (cfg.wg == 3 && cfg.stages == 0) cfg.stages = cfg.tokens == 256 ? 2 : cfg.tokens == 128 && cfg.wn == 2 ? 3 : 4;
    if (cfg.stages == 0) cfg.stages = cfg.tokens <= 32 ? 8 : cfg.tokens <= 128 ? 4 : 3;
    if (!wgmma_config_supported(cfg) || w.n % wgmma_block_rows(cfg) != 0) return false;
    cfg.splits = 1;
    if (want_streamk) {
        const long long tiles = blocks(cfg.tokens);
        const long long slots = (long long)sms * ws_blocks_per_sm(cfg);
        const int sk_blocks = (int)std::min<long long>(slots, tiles * (w.k / 128));
        if (ws.counters && 2 * tiles <= (long long)(kCounterBytes / sizeof(int)) &&
            tiles * (w.k / 128) * (sk_blocks + 1) < (1ll << 31) &&
            ws_streamk_partial_bytes(cfg, sk_blocks) <= ws.scratch_bytes) {
            cfg.streamk = sk_blocks;
            cfg.sk_counters = ws.counters;
            cfg.sk_partials = ws.scratch;
            cfg.sk_early = split_opt == -3;
            return !cfg.sk_early || ws_early_shape(cfg);
        }
        if (sk_asked) return false;  // by default: one tile per block instead (a workspace too small for it)
    }
    if (split_opt == -2) {  // persistent: one block per SM (at most one per tile), each a contiguous run of tiles
        if (cfg.wg != 3) return false;
        const long long tiles = blocks(cfg.tokens);
        cfg.persistent = (int)std::min<long long>((long long)sms * ws_blocks_per_sm(cfg), tiles);
        return tiles * (w.k / 128) < (1ll << 30);
    }
    if (cfg.x_multicast == 2) {  // clusters of two row blocks: no room for K slices in the cluster
        if (split_opt > 1 || (w.n / wgmma_block_rows(cfg)) % 2 != 0) return false;
        return true;
    }
    if (split_opt > 0) {
        cfg.splits = split_opt;
    } else if (cfg.wg == 3 && wgmma_can_split(cfg)) {
        cfg.splits = std::min(ws_splits(blocks(cfg.tokens)), std::max(1, w.k / 512));  // >= 4 units per slice
    } else if (wgmma_can_split(cfg)) {
        // Split K only when the blocks do not cover the SMs once: a K slice costs its pipeline fill and a cluster
        // reduction, and clusters are harder to place than single blocks (the sweep: splitting 172-224 blocks of
        // 64 x 64 or 64 x 256 into 3-7 slices ran 1.4-1.6x slower). Then aim at a few blocks per SM: 4 for the
        // memory-bound N <= 32, 2 at N = 64, 1 above; at least 4 chunks (256 k) per slice.
        const int base = blocks(cfg.tokens);
        if (base < sms) {
            const int per_sm = cfg.tokens <= 32 ? 4 : cfg.tokens <= 64 ? 2 : 1;
            const int slots = sms * std::min(per_sm, std::max(1, fast_occupancy(w, dtype, cfg, m)));
            cfg.splits = std::clamp((slots + base - 1) / base, 1, std::min(kFastMaxSplits, std::max(1, w.k / 256)));
        }
    }
    return true;
}

// Split K so that one wave of blocks fills the GPU, within the partial buffer (splits * m <= 128 rows).
int pick_splits(int base_blocks, int occupancy, int m, int max_slices, const SplitScratch& s) {
    if (!s.partials) return 1;
    const int slots = sm_count() * occupancy;
    int splits = slots / base_blocks;
    splits = std::min(splits, max_slices);
    splits = std::min(splits, kMaxSplitTokens / std::max(1, m));  // partials hold splits * m rows
    return std::max(1, splits);
}

}  // namespace

int sm_count() {
    static int count = [] {
        int dev = 0, c = 0;
        cudaGetDevice(&dev);
        cudaDeviceGetAttribute(&c, cudaDevAttrMultiProcessorCount, dev);
        return c > 0 ? c : 1;
    }();
    return count;
}

}  // namespace awq::cuda

using namespace awq::cuda;

extern "C" size_t awq_w4a16_workspace_bytes(int n, int k) {
    if (n <= 0 || k <= 0) return 0;
    FastConfig largest;  // the warp-specialized shape with the most rows x tokens per tile (wn * tokens = 256)
    largest.tokens = 256;
    largest.wn = 1;
    const size_t streamk = ws_streamk_partial_bytes(largest, sm_count());
    return kCounterBytes + std::max(partial_bytes(n) + weight_bytes(n, k), align256(streamk));
}

extern "C" int awq_w4a16_dequantize(const awq_w4_weight* w, awq_dtype dtype, void* out, cudaStream_t stream) {
    if (std::string e = check_weight(w); !e.empty()) return fail(e);
    if (dtype != AWQ_DTYPE_F16 && dtype != AWQ_DTYPE_BF16) return fail("unknown dtype");
    if (!out || !aligned(out, 16)) return fail("output must be a 16-byte aligned device pointer");
    if (cudaError_t e = dequantize(*w, dtype, out, stream); e != cudaSuccess) return fail_cuda("dequantize", e);
    return 0;
}

extern "C" int awq_w4a16_matmul(const awq_w4_weight* w, const void* x, int m, awq_dtype dtype, void* y, void* workspace,
                                size_t workspace_bytes, cudaStream_t stream, const awq_w4_options* options) {
    if (std::string e = check_weight(w); !e.empty()) return fail(e);
    if (dtype != AWQ_DTYPE_F16 && dtype != AWQ_DTYPE_BF16) return fail("unknown dtype");
    if (m <= 0) return fail("m must be positive, got " + std::to_string(m));
    if (!x || !y || !aligned(x, 16) || !aligned(y, 16)) return fail("x and y must be 16-byte aligned device pointers");
    const awq_w4_options opt = options ? *options : awq_w4_options{AWQ_W4_PATH_AUTO, 0, 0, 0, 0, 0, 0, 0};
    const bool fold_out = opt.residual || opt.sumsq_out, fold_in = opt.sumsq_in || opt.norm_weight;
    if (opt.dequant_rows < 0 || opt.dequant_rows % 64 != 0)
        return fail("dequant_rows must be 0 (all rows at once) or a positive multiple of 64, not " +
                    std::to_string(opt.dequant_rows));
    const Workspace ws = carve(*w, workspace, workspace_bytes, opt.dequant_rows);
    if (opt.split_k < -3)
        return fail("split_k must be -3 (stream-K, early arrival), -2 (persistent tiles), -1 (stream-K), 0 (heuristic) "
                    "or a number of K slices");

    // Path: the fast layout's tensor-core kernels up to m = 128, then dequantize + cuBLAS; the AutoAWQ
    // layouts' CUDA-core kernels only for decode-sized m.
    if (opt.x_gated && (w->layout != AWQ_W4_FAST || m != 1 || opt.path == AWQ_W4_PATH_DEQUANT || opt.warps < 0 ||
                        opt.split_k > 1))
        return fail("x_gated (SiLU fused into the input) needs the fast layout's one-token decode kernel: fast "
                    "layout, m = 1, path auto or direct, warps >= 0 and no split (got m=" + std::to_string(m) + ")");
    if ((fold_out || fold_in) && (w->layout != AWQ_W4_FAST || m != 1 || opt.path == AWQ_W4_PATH_DEQUANT ||
                                  opt.warps < 0 || opt.split_k > 1))
        return fail("the residual + RMSNorm fold needs the fast layout's one-token decode kernel: fast layout, m = 1, "
                    "path auto or direct, warps >= 0 and no split (got m=" + std::to_string(m) + ")");
    if (fold_out && !(opt.residual && opt.sumsq_out && aligned(opt.residual, 16) && aligned(opt.sumsq_out, 4)))
        return fail("the residual fold needs both residual (16-byte aligned) and sumsq_out");
    if (fold_in && !(opt.sumsq_in && opt.norm_weight && aligned(opt.norm_weight, 16) && opt.norm_eps >= 0))
        return fail("the RMSNorm fold needs sumsq_in, a 16-byte aligned norm_weight and norm_eps >= 0");
    if (fold_in && w->k > 8192)
        return fail("the RMSNorm fold takes k <= 8192 (a lane sums 16 partials), got k=" + std::to_string(w->k));
    if (fold_in && opt.x_gated) return fail("x_gated and the RMSNorm fold both transform x: at most one of them");
    if (opt.norm_on_output && !fold_in) return fail("norm_on_output needs the RMSNorm fold (sumsq_in, norm_weight)");
    const bool fused = opt.x_gated || fold_out || fold_in;  // only the one-token decode kernel does these
    if (opt.x_pieces != 0 && opt.x_pieces != 1) return fail("x_pieces must be 0 or 1, not " + std::to_string(opt.x_pieces));
    if (opt.x_pieces && (w->layout != AWQ_W4_FAST || opt.path == AWQ_W4_PATH_DEQUANT || fused || opt.warps > 0 ||
                         opt.wgmma > 0 || opt.split_k < 0 || (opt.tokens ? opt.tokens > 16 : m > 16)))
        return fail("x_pieces = 1 is the cluster-split kernel's: fast layout, path auto or direct, 8 or 16 tokens per "
                    "block (m <= 16 or tokens 8/16), no wgmma, warps <= 0, K slices >= 0, no fused one-token work "
                    "(got m=" + std::to_string(m) + " tokens=" + std::to_string(opt.tokens) + ")");
    // The fast layout's wgmma kernel: asked for, or by m (not for the fused one-token work). A block shape given
    // with wgmma = 0 names an mma.sync kernel, as it did before the wgmma kernel existed.
    const bool shape_given = opt.tokens != 0 || opt.warp_tiles != 0 || opt.stages != 0;
    const bool wgmma = w->layout == AWQ_W4_FAST && opt.path != AWQ_W4_PATH_DEQUANT && !fused && opt.warps == 0 &&
                       (opt.wgmma > 0 || (opt.wgmma == 0 && !shape_given && wgmma_by_default(*w, m) > 0));
    if (opt.wgmma > 5)
        return fail("wgmma takes 1 or 2 warpgroups per block, 3 (warp-specialized), 4 (warp-specialized, A from "
                    "registers) or 5 (warp-specialized, tokens as M), not " +
                    std::to_string(opt.wgmma));
    if (wgmma && opt.wgmma >= 3 && !ws_weight_supported(*w))
        return fail("the warp-specialized wgmma kernel needs k % 128 == 0 (got k=" + std::to_string(w->k) +
                    "), group <= 128 (got " + std::to_string(w->group) + ") and 16-byte aligned qzeros");
    awq_w4_path path = opt.path;
    if (path == AWQ_W4_PATH_AUTO) {
        // Crossovers measured on H200 (group 128): the fast layout's mma.sync kernels beat dequantize + cuBLAS
        // up to m = 64 by ~2x and lose at m = 256 (~1.5x); the CUDA-core kernels of the AutoAWQ layouts beat it
        // up to m = 8. The wgmma kernel is direct at every m it is chosen for.
        const int direct_max = wgmma ? (1 << 30) : w->layout == AWQ_W4_FAST ? 128 : 8;
        path = (m > direct_max && ws.weight) ? AWQ_W4_PATH_DEQUANT : AWQ_W4_PATH_DIRECT;
    }
    if (path == AWQ_W4_PATH_DEQUANT) {
        if (!ws.weight)
            return fail("the dequantize path needs a workspace of awq_w4a16_workspace_bytes(n, k) = " +
                        std::to_string(awq_w4a16_workspace_bytes(w->n, w->k)) + " bytes" +
                        (opt.dequant_rows > 0 ? " (with dequant_rows = " + std::to_string(opt.dequant_rows) + ": " +
                                                    std::to_string(kCounterBytes + partial_bytes(w->n) +
                                                                   dequant_buffer_bytes(*w, opt.dequant_rows)) + ")"
                                              : std::string()) +
                        ", got " + std::to_string(workspace_bytes));
        return dequant_gemm(*w, x, m, dtype, y, ws.weight, opt.dequant_rows, stream);
    }
    if (path != AWQ_W4_PATH_DIRECT) return fail("unknown path " + std::to_string((int)path));
    if (opt.split_k > 1 && !ws.split.partials && w->layout != AWQ_W4_FAST)
        return fail("split_k > 1 needs a workspace of at least " +
                    std::to_string(kCounterBytes + partial_bytes(w->n)) + " bytes");

    if (wgmma) {
        FastConfig cfg;
        cfg.pdl = opt.pdl != 0;
        cfg.tokens = opt.tokens;
        cfg.wn = opt.warp_tiles;
        cfg.stages = opt.stages;
        const int wg_opt = opt.wgmma > 0 ? opt.wgmma : wgmma_by_default(*w, m);
        cfg.wg = std::min(wg_opt, 3);
        cfg.a_mode = std::max(0, wg_opt - 3);  // FastConfig::a_mode = options.wgmma - 3
        cfg.x_multicast = opt.x_multicast == 2 ? 2 : 0;
        if ((opt.split_k < 0 || cfg.x_multicast) && cfg.wg != 3)
            return fail("split_k = -1 / -3 (stream-K), -2 (persistent tiles) and x_multicast = 2 are the "
                        "warp-specialized kernel's (wgmma = 3-5)");
        if (opt.split_k < 0 && cfg.x_multicast)
            return fail("split_k = " + std::to_string(opt.split_k) + " and x_multicast = 2: at most one of them");
        if (!pick_wgmma_shape(*w, dtype, m, opt.split_k, ws, cfg)) {
            const bool shape_ok = wgmma_config_supported(cfg) && w->n % wgmma_block_rows(cfg) == 0;  // else: below
            if (opt.split_k == -3 && shape_ok && !ws_early_shape(cfg))
                return fail("split_k = -3 (stream-K, early arrival) has the shapes tokens 64 / 128 / 256 with stages "
                            "8 / 4 / 3, one tile per warp, A from registers (wgmma = 4); got tokens=" +
                            std::to_string(cfg.tokens) + " stages=" + std::to_string(cfg.stages) + " wgmma=" +
                            std::to_string(cfg.wg + cfg.a_mode));
            if ((opt.split_k == -1 || opt.split_k == -3) && shape_ok)
                return fail("stream-K (split_k = -1 or -3) needs a workspace of awq_w4a16_workspace_bytes(n, k) = " +
                            std::to_string(awq_w4a16_workspace_bytes(w->n, w->k)) + " bytes (got " +
                            std::to_string(workspace_bytes) + ") and at most 8192 output tiles");
            if (cfg.x_multicast && shape_ok)
                return fail("x_multicast = 2 pairs row blocks in a cluster: n / rows per block must be even (n=" +
                            std::to_string(w->n) + ", rows per block " + std::to_string(wgmma_block_rows(cfg)) +
                            ") and split_k at most 1");
            return fail("no wgmma kernel for tokens=" + std::to_string(cfg.tokens) + " warpgroups=" +
                        std::to_string(cfg.wg) + " warp_tiles=" + std::to_string(cfg.wn) + " stages=" +
                        std::to_string(cfg.stages) + " with n=" + std::to_string(w->n) + " (rows per block " +
                        std::to_string(wgmma_block_rows(cfg)) + " must divide n)");
        }
        if (cfg.splits > 1 && !wgmma_can_split(cfg))
            return fail("split_k " + std::to_string(cfg.splits) + ": the wgmma kernel with tokens=" +
                        std::to_string(cfg.tokens) + " cannot reduce K slices in its pipeline memory");
        if (cudaError_t e = fast_direct(*w, x, m, dtype, y, cfg, stream); e != cudaSuccess)
            return fail_cuda("fast wgmma kernel launch", e);
        g_config = "fast wgmma tok=" + std::to_string(cfg.tokens) + " wg=" + std::to_string(cfg.wg) + " wn=" +
                   std::to_string(cfg.wn) + " split=" + std::to_string(cfg.splits) + " stages=" +
                   std::to_string(cfg.stages) + (cfg.streamk ? " streamk=" + std::to_string(cfg.streamk) + (cfg.sk_early ? " early" : "") : "") +
                   (cfg.persistent ? " persistent=" + std::to_string(cfg.persistent) : "") +
                   (cfg.x_multicast ? " mc=2" : "") + (cfg.a_mode == 1 ? " areg" : cfg.a_mode == 2 ? " tokm" : "") + (cfg.pdl ? " pdl" : "");
        return 0;
    }
    if (opt.split_k < 0 || opt.x_multicast == 2)
        return fail("split_k = -1 / -3 (stream-K), -2 (persistent tiles) and x_multicast = 2 are the warp-specialized wgmma "
                    "kernel's (wgmma = 3-5, fast layout, path direct)");
    if (w->layout == AWQ_W4_FAST) {
        FastConfig cfg;
        cfg.pdl = opt.pdl != 0;
        cfg.tokens = opt.tokens ? opt.tokens : m <= 8 ? 8 : m <= 16 ? 16 : m <= 32 ? 32 : 64;
        const int kchunks = w->k / 64;
        // One token: the warp-split decode kernel unless the cluster-split one is asked for (warps -1 or a
        // split, or a depth only that one has); 2..16 tokens: the cluster-split kernel (it shares x between
        // tiles), unless warps are given.
        // Measured exception (H200, with PDL): many tiles over a short K (the 7B gate/up projection, 1376 tiles
        // x 32 units) runs faster on the cluster-split kernel (16.0 vs 17.5 us), unless the SiLU rides along.
        const bool many_short = w->n / 16 >= 1024 && (w->k / 64 + 1) / 2 <= 48;
        const bool decode_default = m == 1 && (!many_short || fused) && !opt.x_pieces;
        if (cfg.tokens <= 16 && opt.warps >= 0 && opt.split_k <= 1 && (decode_default || opt.warps > 0 || fused)) {
            FastConfig d = cfg;
            d.wn = opt.warp_tiles;
            d.stages = opt.stages;
            d.warps = opt.warps;
            d.x_gated = opt.x_gated != 0;
            d.residual = opt.residual;
            d.sumsq_out = opt.sumsq_out;
            d.sumsq_in = opt.sumsq_in;
            d.norm_weight = opt.norm_weight;
            d.norm_eps = opt.norm_eps;
            d.norm_on_output = opt.norm_on_output != 0;
            if (pick_decode_shape(*w, m, d) && (w->n / 16) % d.wn == 0) {
                if (cudaError_t e = fast_direct(*w, x, m, dtype, y, d, stream); e != cudaSuccess)
                    return fail_cuda("fast decode kernel launch", e);
                g_config = "fast decode tok=" + std::to_string(d.tokens) + " warps=" + std::to_string(d.warps) +
                           " tiles/warp=" + std::to_string(d.wn) + " depth=" + std::to_string(d.stages) +
                           (d.pdl ? " pdl" : "") + (d.x_gated ? " silu-gated" : "") + (fold_in ? (d.norm_on_output ? " normed-in(rsqrt on y)" : " normed-in") : "") +
                           (fold_out ? " residual-out" : "");
                return 0;
            }
            if (opt.warps > 0 || fused)
                return fail("no decode kernel for warps=" + std::to_string(opt.warps) + " warp_tiles=" +
                            std::to_string(opt.warp_tiles) + " depth=" + std::to_string(opt.stages) + " with k=" +
                            std::to_string(w->k) + " and " + std::to_string(std::min(m, cfg.tokens)) + " tokens");
        }
        // The cluster-split decode kernel keeps its x slice in shared memory: K slices of at most max_chunks, at most 8.
        // The heuristic also keeps more than 8 tokens' x slices within 64 KB where 8 slices allow it: on
        // 8192 x 28672 at m = 16 (H100 sweep, experiments/results/wgmma_v3) four slices of 64 KB ran 63.2 us against
        // 68.7 for the three of 88 KB that fit (both depths and with PDL alike: 0.92-0.93x; two tiles per warp), the
        // smaller slice letting three blocks share an SM instead of two; with one tile per warp 76.1 vs 93.6 us.
        int min_splits = 1, pref_splits = 1;
        if (cfg.tokens <= 16) {
            const int align = fast_small_chunk_align(w->group), tv = std::min(m, cfg.tokens);
            const int max_chunks = fast_small_max_chunks(tv) / align * align;
            min_splits = max_chunks > 0 ? (kchunks + max_chunks - 1) / max_chunks : kFastMaxSplits + 1;
            if (min_splits > kFastMaxSplits) {
                if (opt.tokens || opt.x_pieces)
                    return fail("k=" + std::to_string(w->k) + " is too long for tokens=" + std::to_string(cfg.tokens) +
                                (opt.x_pieces ? " (x_pieces = 1 needs the cluster-split kernel)" : ""));
                cfg.tokens = 32;  // fall back to the pipelined kernel
                min_splits = 1;
            } else if (tv > 8) {
                constexpr int kPrefXBytes = 64 * 1024;
                const int pref_chunks = std::max(align, kPrefXBytes / (tv * 64 * 2) / align * align);
                pref_splits = std::min(kFastMaxSplits, (kchunks + pref_chunks - 1) / pref_chunks);
            }
        }
        const bool small = cfg.tokens <= 16;
        // Two 16-row tiles per warp: 64-token blocks, and the cluster-split kernel at 16 tokens on weights larger
        // than 4096 x 4096 (half its x staging per weight byte; H100 sweep 2026-12-07, m = 16: 4096 x 11008 16.4 vs
        // 17.3 us, 4096 x 14336 19.3 vs 23.0, 8192 x 28672 68.8 vs 73.9; 4096 x 4096 12.5 vs 10.8, so not there).
        const bool big = (size_t)w->n * w->k >= (size_t)2 * 4096 * 4096;
        cfg.wn = opt.warp_tiles ? opt.warp_tiles : ((cfg.tokens == 64 || (cfg.tokens == 16 && big)) && w->n % 128 == 0) ? 2 : 1;
        if (cfg.wn == 2 && w->n % 128 != 0) return fail("warp_tiles 2 needs n % 128 == 0");
        cfg.stages = opt.stages ? opt.stages : small ? 4 : cfg.tokens == 32 ? 4 : 3;
        cfg.x_pieces = opt.x_pieces != 0;
        if (!fast_config_supported(cfg))
            return fail("unsupported fast tile: tokens=" + std::to_string(cfg.tokens) + " warp_tiles=" +
                        std::to_string(cfg.wn) + " stages=" + std::to_string(cfg.stages) +
                        (cfg.x_pieces ? " with x_pieces = 1 (warp_tiles 1 takes depth 4 only)" : ""));
        const int tblocks = (m + cfg.tokens - 1) / cfg.tokens, nblocks = w->n / (64 * cfg.wn);
        if (opt.split_k > 0) {
            cfg.splits = opt.split_k;
        } else {
            // Enough K slices that one wave of blocks fills the GPU (each block streams its own weights).
            FastConfig probe = cfg;
            probe.splits = min_splits;
            const int slots = sm_count() * fast_occupancy(*w, dtype, probe, m);
            const int base = tblocks * nblocks;
            // One wave of blocks (measured on H200: more slices than fit in a wave, or more than 4 for
            // m > 16, cost more in x staging and reduction than they gain; m <= 8 wants at least 2).
            cfg.splits = std::max(1, slots / base);
            cfg.splits = std::clamp(cfg.splits, m <= 8 ? 2 : 1, small ? kFastMaxSplits : 4);
            cfg.splits = std::min(cfg.splits, std::max(1, kchunks / 4));  // >= 256 k per slice
            cfg.splits = std::max(cfg.splits, pref_splits);
        }
        cfg.splits = std::max(cfg.splits, min_splits);
        if (cfg.splits > kFastMaxSplits)
            return fail("split_k " + std::to_string(cfg.splits) + " exceeds the cluster limit of " +
                        std::to_string(kFastMaxSplits));
        if (cudaError_t e = fast_direct(*w, x, m, dtype, y, cfg, stream); e != cudaSuccess)
            return fail_cuda("fast kernel launch", e);
        g_config = std::string(small ? "fast stream" : "fast tc") + " tok=" + std::to_string(cfg.tokens) +
                   " wn=" + std::to_string(cfg.wn) + " split=" + std::to_string(cfg.splits) +
                   (small ? " depth=" : " stages=") + std::to_string(cfg.stages) + (cfg.x_pieces ? " xpieces" : "") +
                   (cfg.pdl ? " pdl" : "");
        return 0;
    }

    // AutoAWQ layouts, CUDA cores. Tokens per block 1..8; K slices of at most kCudaCoreMaxSliceK. When the
    // split-K partials cannot hold all tokens at once, the tokens go in several launches (stream-ordered,
    // so they can share the workspace).
    const char* name = w->layout == AWQ_W4_GEMM ? "gemm" : "gemv";
    const int mt = m <= 1 ? 1 : m <= 2 ? 2 : m <= 4 ? 4 : 8;
    const int nblocks = w->layout == AWQ_W4_GEMM ? (w->n / 8 + 31) / 32 : w->n / 32;
    const int min_splits = (w->k + kCudaCoreMaxSliceK - 1) / kCudaCoreMaxSliceK;
    int splits = opt.split_k;
    if (splits <= 0) {
        const int occ = w->layout == AWQ_W4_GEMM ? 2 : 4;  // from the kernels' register/shared memory use
        splits = pick_splits(((m + mt - 1) / mt) * nblocks, occ, m, w->k / 256, ws.split);
    }
    splits = std::max(splits, min_splits);
    int chunk = m;  // tokens per launch
    if (splits > 1) {
        if (!ws.split.partials)
            return fail("k=" + std::to_string(w->k) + " needs split-K for the " + name +
                        " kernel: pass a workspace of awq_w4a16_workspace_bytes(n, k) bytes");
        chunk = std::max(1, kMaxSplitTokens / splits);
        if (splits > kMaxSplitTokens)
            return fail("split_k " + std::to_string(splits) + " exceeds the split-K workspace");
        if ((size_t)((std::min(chunk, m) + mt - 1) / mt) * nblocks > (size_t)ws.split.counter_count)
            return fail("too many output tiles for the split-K counters; use the dequantize path");
    }
    const size_t esize = 2;
    for (int t0 = 0; t0 < m; t0 += chunk) {
        const int mc = std::min(chunk, m - t0);
        const void* xc = static_cast<const uint8_t*>(x) + (size_t)t0 * w->k * esize;
        void* yc = static_cast<uint8_t*>(y) + (size_t)t0 * w->n * esize;
        const cudaError_t e = w->layout == AWQ_W4_GEMM ? gemm_direct(*w, xc, mc, dtype, yc, splits, ws.split, stream)
                                                       : gemv_direct(*w, xc, mc, dtype, yc, splits, ws.split, stream);
        if (e != cudaSuccess) return fail_cuda("kernel launch", e);
    }
    g_config = std::string(name) + " cuda-core mt=" + std::to_string(mt) + " split=" + std::to_string(splits) +
               (chunk < m ? " tokens/launch=" + std::to_string(chunk) : std::string());
    return 0;
}

extern "C" const char* awq_w4a16_last_config(void) { return g_config.c_str(); }
extern "C" const char* awq_w4a16_last_error(void) { return g_error.c_str(); }
