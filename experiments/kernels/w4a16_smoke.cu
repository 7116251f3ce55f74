// Torch-free end-to-end check of the W4A16 C API, small enough to run under compute-sanitizer:
// every layout x dtype x path x a few m, against the CPU reference (kernels/cpu), outputs poisoned first.
// Exit code 0 only if every case is within tolerance and every output element was written.
#include <cuda_runtime.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "core/half.h"
#include "cpu/w4_layouts.h"
#include "cpu/w4a16_reference.h"
#include "cuda/w4a16.h"

#define CK(x)                                                                          \
    do {                                                                               \
        cudaError_t e_ = (x);                                                          \
        if (e_ != cudaSuccess) {                                                       \
            std::printf("CUDA error %s at %s:%d\n", cudaGetErrorString(e_), __FILE__, __LINE__); \
            std::exit(2);                                                              \
        }                                                                              \
    } while (0)

template <class V> void* upload(const std::vector<V>& v) {
    if (v.empty()) return nullptr;
    void* d = nullptr;
    CK(cudaMalloc(&d, v.size() * sizeof(V)));
    CK(cudaMemcpy(d, v.data(), v.size() * sizeof(V), cudaMemcpyHostToDevice));
    return d;
}

int main() {
    using namespace awq;
    const int n = 256, k = 512;
    int failures = 0, cases = 0;
    std::mt19937 rng(1234);
    for (int group : {32, 128})
        for (bool sym : {false, true}) {
            W4Canonical w;
            w.n = n, w.k = k, w.group = group;
            std::uniform_int_distribution<int> nib(0, 15);
            std::uniform_real_distribution<float> sc(2e-3f, 2e-2f);
            w.q.resize((size_t)n * k);
            for (auto& v : w.q) v = (uint8_t)nib(rng);
            w.zeros.resize((size_t)n * (k / group));
            for (auto& z : w.zeros) z = sym ? 8 : (uint8_t)nib(rng);
            w.scales.resize(w.zeros.size());
            for (auto& s : w.scales) s = float_to_fp16(sc(rng));
            const W4Gemm pg = pack_gemm(w);
            const W4Gemv pv = pack_gemv(w);
            const W4Fast pf = pack_fast(w);
            awq_w4_weight dw[3];
            dw[0] = {AWQ_W4_GEMM, n, k, group, upload(pg.qweight), upload(pg.qzeros), upload(pg.scales), 0};
            dw[1] = {AWQ_W4_GEMV, n, k, group, upload(pv.qweight), upload(pv.qzeros), upload(pv.scales), pv.zeros_width};
            dw[2] = {AWQ_W4_FAST, n, k, group, upload(pf.qweight), upload(pf.zeros), upload(pf.scales), 0};
            const size_t wsb = awq_w4a16_workspace_bytes(n, k);
            void* ws = nullptr;
            CK(cudaMalloc(&ws, wsb));
            CK(cudaMemset(ws, 0, wsb));
            for (int m : {1, 5, 16, 70}) {
                std::normal_distribution<float> nd(0.f, 1.f);
                std::vector<float> xf((size_t)m * k);
                for (auto& v : xf) v = nd(rng);
                std::vector<float> ref((size_t)m * n);
                for (int dt = 0; dt < 2; ++dt) {
                    std::vector<uint16_t> xh(xf.size());
                    std::vector<float> xr(xf.size());
                    for (size_t i = 0; i < xf.size(); ++i) {
                        xh[i] = dt == 0 ? float_to_fp16(xf[i]) : float_to_bf16(xf[i]);
                        xr[i] = dt == 0 ? fp16_to_float(xh[i]) : bf16_to_float(xh[i]);
                    }
                    w4a16_reference(w, xr.data(), m, ref.data());
                    void* dx = upload(xh);
                    void* dy = nullptr;
                    CK(cudaMalloc(&dy, (size_t)m * n * 2));
                    for (int layout = 0; layout < 3; ++layout)
                        for (int path : {(int)AWQ_W4_PATH_DIRECT, (int)AWQ_W4_PATH_DEQUANT, -1, -2, -3, -4, -5, -6, -7, -8, -9, -10, -11, -12, -13, -14}) {
                            if (path < 0 && path != -11 && layout != AWQ_W4_FAST) continue;
                            if (((path <= -2 && path >= -10) || path == -14) && std::getenv("W4_NO_WS"))
                                continue;  // see device_run_ws.sh
                            CK(cudaMemset(dy, 0xFF, (size_t)m * n * 2));  // NaN in fp16 and bf16
                            awq_w4_options opt{(awq_w4_path)path, 0, 0, 0, 0, 0, 0, 0};
                            if (path == -1) {  // the wgmma kernel: two warpgroups, K split in two (a cluster)
                                opt.path = AWQ_W4_PATH_DIRECT;
                                opt.wgmma = 2;
                                opt.split_k = 2;
                            }
                            if (path == -2) {  // the warp-specialized wgmma kernel (TMA, bulk copies), a cluster of 2
                                opt.path = AWQ_W4_PATH_DIRECT;
                                opt.wgmma = 3;
                                opt.tokens = 64;
                                opt.split_k = 2;
                            }
                            if (path == -3) {  // the same, stream-K: one block per SM, partial tiles via the workspace
                                opt.path = AWQ_W4_PATH_DIRECT;
                                opt.wgmma = 3;
                                opt.tokens = 64;
                                opt.split_k = -1;
                            }
                            if (path == -4) {  // the same, one tile per block, x multicast to pairs of row blocks
                                opt.path = AWQ_W4_PATH_DIRECT;
                                opt.wgmma = 3;
                                opt.tokens = 64;
                                opt.x_multicast = 2;
                            }
                            if (path <= -5 && path >= -7) {  // A from registers: a K-split cluster (-5), stream-K (-6), stream-K
                                opt.path = AWQ_W4_PATH_DIRECT;  // with two blocks per SM (-7)
                                opt.wgmma = 4;
                                opt.tokens = 64;
                                opt.split_k = path == -5 ? 2 : -1;
                                opt.stages = path == -7 ? 3 : 0;
                            }
                            if (path <= -8 && path >= -9) {  // tokens as M: stream-K (-8), a K-split cluster (-9)
                                opt.path = AWQ_W4_PATH_DIRECT;
                                opt.wgmma = 5;
                                opt.split_k = path == -8 ? -1 : 2;
                            }
                            if (path == -10) {  // A from registers, persistent tiles (one block per SM, runs of tiles)
                                opt.path = AWQ_W4_PATH_DIRECT;
                                opt.wgmma = 4;
                                opt.split_k = -2;
                            }
                            if (path == -11) {  // dequantize + cuBLAS in steps of 128 rows of W (every layout)
                                opt.path = AWQ_W4_PATH_DEQUANT;
                                opt.dequant_rows = 128;
                            }
                            if (path == -14) {  // A from registers, stream-K with early arrival (8 blocks, 1 unit each:
                                opt.path = AWQ_W4_PATH_DIRECT;  // every tile shared by 4 blocks)
                                opt.wgmma = 4;
                                opt.tokens = 64;
                                opt.split_k = -3;
                            }
                            if (path == -12 || path == -13) {  // the cluster-split kernel with x in pieces: K split in two with two
                                opt.path = AWQ_W4_PATH_DIRECT;  // tiles per warp (-12), one slice, default shape (-13)
                                opt.x_pieces = 1;
                                opt.tokens = m > 16 ? 16 : 0;
                                opt.split_k = path == -12 ? 2 : 1;
                                opt.warp_tiles = path == -12 ? 2 : 0;
                                opt.stages = path == -12 ? 2 : 0;
                            }
                            const int rc = awq_w4a16_matmul(&dw[layout], dx, m, (awq_dtype)dt, dy, ws, wsb, 0, &opt);
                            CK(cudaDeviceSynchronize());
                            std::vector<uint16_t> yh((size_t)m * n);
                            CK(cudaMemcpy(yh.data(), dy, yh.size() * 2, cudaMemcpyDeviceToHost));
                            double num = 0, den = 0;
                            bool nan = false;
                            for (size_t i = 0; i < yh.size(); ++i) {
                                const float v = dt == 0 ? fp16_to_float(yh[i]) : bf16_to_float(yh[i]);
                                if (!std::isfinite(v)) nan = true;
                                num += (v - ref[i]) * (double)(v - ref[i]);
                                den += (double)ref[i] * ref[i];
                            }
                            const double rel = std::sqrt(num / den), tol = dt == 0 ? 2e-3 : 1e-2;
                            const bool ok = rc == 0 && !nan && rel < tol;
                            ++cases;
                            if (!ok) ++failures;
                            if (!ok || m == 70)
                                std::printf("%s layout=%d g=%d sym=%d m=%d %s path=%d rel=%.2e %s [%s]\n",
                                            ok ? "ok  " : "FAIL", layout, group, (int)sym, m, dt ? "bf16" : "fp16",
                                            path, rel, nan ? "NaN/unwritten" : "",
                                            rc ? awq_w4a16_last_error() : awq_w4a16_last_config());
                        }
                    if (m == 1) {  // the decode kernel with the SiLU fused into its input: x rows [gate | up]
                        std::vector<uint16_t> gu(2 * xh.size());
                        for (size_t i = 0; i < xh.size(); ++i) gu[i] = gu[xh.size() + i] = xh[i];
                        void* dgu = upload(gu);
                        CK(cudaMemset(dy, 0xFF, (size_t)n * 2));
                        awq_w4_options opt{AWQ_W4_PATH_AUTO, 0, 0, 0, 0, 1, 0, 1};
                        const int rc = awq_w4a16_matmul(&dw[2], dgu, 1, (awq_dtype)dt, dy, ws, wsb, 0, &opt);
                        CK(cudaDeviceSynchronize());
                        std::vector<uint16_t> yh(n);
                        CK(cudaMemcpy(yh.data(), dy, yh.size() * 2, cudaMemcpyDeviceToHost));
                        bool nan = false;
                        for (uint16_t v : yh) nan |= !std::isfinite(dt == 0 ? fp16_to_float(v) : bf16_to_float(v));
                        ++cases;
                        if (rc != 0 || nan) {
                            ++failures;
                            std::printf("FAIL x_gated g=%d sym=%d %s %s\n", group, (int)sym, dt ? "bf16" : "fp16",
                                        rc ? awq_w4a16_last_error() : "NaN/unwritten");
                        }
                        CK(cudaFree(dgu));
                        // The residual + RMSNorm fold, both sides in one call: x is a residual h normalized from
                        // sums of squares (any positive values), y added into a residual with its sums written.
                        std::vector<float> sums((size_t)AWQ_W4_SUMSQ_COPIES * (k / 16), 1.0f);
                        void* dsin = upload(sums);
                        void* dsout = upload(sums);
                        std::vector<uint16_t> res0(n, 0);
                        void* dres = upload(res0);
                        awq_w4_options fold{AWQ_W4_PATH_AUTO, 0, 0, 0, 0, 1, 0, 0};
                        fold.residual = dres;
                        fold.sumsq_out = static_cast<float*>(dsout);
                        fold.sumsq_in = static_cast<const float*>(dsin);
                        fold.norm_weight = dx;  // any k values of the dtype
                        fold.norm_eps = 1e-5f;
                        for (int post = 0; post < 2; ++post) {  // the rsqrt on x, then on y
                            fold.norm_on_output = post;
                            const int frc = awq_w4a16_matmul(&dw[2], dx, 1, (awq_dtype)dt, dy, ws, wsb, 0, &fold);
                            CK(cudaDeviceSynchronize());
                            ++cases;
                            if (frc != 0) {
                                ++failures;
                                std::printf("FAIL fold g=%d sym=%d %s post=%d %s\n", group, (int)sym,
                                            dt ? "bf16" : "fp16", post, awq_w4a16_last_error());
                            }
                        }
                        CK(cudaFree(dsin));
                        CK(cudaFree(dsout));
                        CK(cudaFree(dres));
                    }
                    CK(cudaFree(dx));
                    CK(cudaFree(dy));
                }
            }
            // Bad input must be refused, not crash: a misaligned x and an impossible group.
            {
                awq_w4_weight bad = dw[2];
                bad.group = 48;
                const int rc = awq_w4a16_matmul(&bad, ws, 1, AWQ_DTYPE_F16, ws, nullptr, 0, 0, nullptr);
                ++cases;
                if (rc == 0) ++failures, std::printf("FAIL: group 48 accepted\n");
            }
            CK(cudaFree(ws));
            for (auto& d : dw) {
                CK(cudaFree(const_cast<void*>(d.qweight)));
                if (d.qzeros) CK(cudaFree(const_cast<void*>(d.qzeros)));
                CK(cudaFree(const_cast<void*>(d.scales)));
            }
        }
    std::printf("smoke: %d cases, %d failures\n", cases, failures);
    return failures ? 1 : 0;
}
