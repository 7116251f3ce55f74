// CPU reference matmul for 4-bit weights (see w4a16_reference.h).
#include "w4a16_reference.h"

#include "core/half.h"

namespace awq {

std::vector<float> dequantize(const W4Canonical& w) {
    w.validate("w4a16 reference");
    const int ng = w.groups();
    std::vector<float> out((size_t)w.n * w.k);
    for (int r = 0; r < w.n; ++r)
        for (int g = 0; g < ng; ++g) {
            const float s = fp16_to_float(w.scales[(size_t)r * ng + g]);
            const int z = w.zeros[(size_t)r * ng + g];
            const size_t base = (size_t)r * w.k + (size_t)g * w.group;
            for (int c = 0; c < w.group; ++c) out[base + c] = (float)((int)w.q[base + c] - z) * s;
        }
    return out;
}

void matmul_xwt(const float* x, int m, const float* w, int n, int k, float* y) {
    for (int i = 0; i < m; ++i) {
        const float* xi = x + (size_t)i * k;
        for (int j = 0; j < n; ++j) {
            const float* wj = w + (size_t)j * k;
            // Four partial sums keep the loop from being one long dependency chain.
            float acc[4] = {0.f, 0.f, 0.f, 0.f};
            int c = 0;
            for (; c + 4 <= k; c += 4)
                for (int u = 0; u < 4; ++u) acc[u] += xi[c + u] * wj[c + u];
            for (; c < k; ++c) acc[0] += xi[c] * wj[c];
            y[(size_t)i * n + j] = (acc[0] + acc[1]) + (acc[2] + acc[3]);
        }
    }
}

void w4a16_reference(const W4Canonical& w, const float* x, int m, float* y) {
    const std::vector<float> wd = dequantize(w);
    matmul_xwt(x, m, wd.data(), w.n, w.k, y);
}
void w4a16_reference(const W4Gemm& w, const float* x, int m, float* y) { w4a16_reference(unpack_gemm(w), x, m, y); }
void w4a16_reference(const W4Gemv& w, const float* x, int m, float* y) { w4a16_reference(unpack_gemv(w), x, m, y); }
void w4a16_reference(const W4Fast& w, const float* x, int m, float* y) { w4a16_reference(unpack_fast(w), x, m, y); }

}  // namespace awq
