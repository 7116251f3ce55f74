// C entry points over kernels/cpu (the packers and the CPU reference) so the Python check and benchmark
// scripts drive the real C++ packing code through ctypes. Test harness only; not part of the engine.
#include <cstring>
#include <exception>
#include <string>

#include "cpu/w4_layouts.h"
#include "cpu/w4a16_reference.h"

namespace {
thread_local std::string g_err;

awq::W4Canonical canonical(int n, int k, int group, const uint8_t* q, const uint8_t* zeros, const uint16_t* scales) {
    awq::W4Canonical w;
    w.n = n;
    w.k = k;
    w.group = group;
    w.q.assign(q, q + (size_t)n * k);
    w.zeros.assign(zeros, zeros + (size_t)n * (k / group));
    w.scales.assign(scales, scales + (size_t)n * (k / group));
    return w;
}

template <class V> void put(void* dst, const V& v) {
    if (!v.empty()) std::memcpy(dst, v.data(), v.size() * sizeof(v[0]));
}
}  // namespace

extern "C" {

const char* w4shim_error() { return g_err.c_str(); }

// Byte sizes of (qweight, qzeros, scales) for a layout (0 gemm, 1 gemv, 2 fast); zeros_width for gemv.
int w4shim_sizes(int layout, int n, int k, int group, int symmetric, size_t* out3, int* zeros_width) {
    try {
        const size_t ng = (size_t)n * (k / group);
        *zeros_width = 0;
        if (layout == 0) {
            out3[0] = (size_t)n * k / 2;
            out3[1] = ng / 2;
            out3[2] = ng * 2;
        } else if (layout == 1) {
            *zeros_width = awq::gemv_zeros_width(k, group);
            out3[0] = (size_t)n * k / 2;
            out3[1] = (size_t)n * *zeros_width * 4;
            out3[2] = (size_t)n * *zeros_width * 16;
        } else {
            out3[0] = (size_t)((k + 127) / 128) * 128 * n / 2;  // unit-major, last unit padded to 128 k
            out3[1] = symmetric ? 0 : ng / 2;
            out3[2] = ng * 2;
        }
        return 0;
    } catch (const std::exception& e) {
        g_err = e.what();
        return 1;
    }
}

int w4shim_pack(int layout, int n, int k, int group, const uint8_t* q, const uint8_t* zeros, const uint16_t* scales,
                void* qweight, void* qzeros, void* out_scales) {
    try {
        const awq::W4Canonical w = canonical(n, k, group, q, zeros, scales);
        if (layout == 0) {
            const awq::W4Gemm p = awq::pack_gemm(w);
            put(qweight, p.qweight), put(qzeros, p.qzeros), put(out_scales, p.scales);
        } else if (layout == 1) {
            const awq::W4Gemv p = awq::pack_gemv(w);
            put(qweight, p.qweight), put(qzeros, p.qzeros), put(out_scales, p.scales);
        } else {
            const awq::W4Fast p = awq::pack_fast(w);
            put(qweight, p.qweight), put(qzeros, p.zeros), put(out_scales, p.scales);
        }
        return 0;
    } catch (const std::exception& e) {
        g_err = e.what();
        return 1;
    }
}

// y[m, n] (fp32) = CPU reference of the canonical weight (dequantize + fp32 matmul).
int w4shim_reference(int n, int k, int group, const uint8_t* q, const uint8_t* zeros, const uint16_t* scales,
                     const float* x, int m, float* y) {
    try {
        awq::w4a16_reference(canonical(n, k, group, q, zeros, scales), x, m, y);
        return 0;
    } catch (const std::exception& e) {
        g_err = e.what();
        return 1;
    }
}
}
