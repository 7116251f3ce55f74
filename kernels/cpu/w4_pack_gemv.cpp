// AutoAWQ "gemv" layout <-> canonical form. Layout facts in w4_layouts.h (from AutoAWQ's
// WQLinear_GEMV.from_linear and calculate_zeros_width: W kept as [out, in], 8 consecutive k per int32
// in plain order, zeros and scales padded per row to a width the one-token kernel reads in whole words).
#include <cstring>

#include "core/error.h"
#include "w4_layouts.h"

namespace awq {
namespace {

const char* kWhere = "w4 gemv layout";

int32_t to_i32(uint32_t u) {
    int32_t out;
    std::memcpy(&out, &u, 4);
    return out;
}

uint8_t nibble(int32_t word, int j) { return (uint8_t)(((uint32_t)word >> (4 * j)) & 0xF); }

}  // namespace

int gemv_zeros_width(int k, int group) {
    if (k <= 0 || group <= 0 || k % group != 0)
        throw Error(kWhere, "bad k=" + std::to_string(k) + " group=" + std::to_string(group));
    const int multiplier = group >= 128 ? 1 : group == 64 ? 2 : group == 32 ? 4 : 0;
    if (multiplier == 0)
        throw Error(kWhere, "AutoAWQ's gemv layout supports group sizes 32, 64 and >= 128, not " +
                                std::to_string(group));
    const int words = (k / group + 7) / 8;
    return (words + multiplier - 1) / multiplier * multiplier;
}

W4Gemv pack_gemv(const W4Canonical& w) {
    w.validate(kWhere);
    if (w.k % 8 != 0) throw Error(kWhere, "in_features " + std::to_string(w.k) + " is not a multiple of 8");
    const int n = w.n, k = w.k, ng = w.groups(), kw = k / 8;
    W4Gemv p;
    p.n = n;
    p.k = k;
    p.group = w.group;
    p.zeros_width = gemv_zeros_width(k, w.group);
    const int zw = p.zeros_width;
    p.qweight.resize((size_t)n * kw);
    p.qzeros.assign((size_t)n * zw, 0);
    p.scales.assign((size_t)n * zw * 8, 0);
    for (int r = 0; r < n; ++r) {
        const uint8_t* qr = &w.q[(size_t)r * k];
        for (int c = 0; c < kw; ++c) {
            uint32_t word = 0;
            for (int j = 0; j < 8; ++j) word |= (uint32_t)qr[8 * c + j] << (4 * j);
            p.qweight[(size_t)r * kw + c] = to_i32(word);
        }
        for (int g = 0; g < ng; ++g) {
            uint32_t& word = reinterpret_cast<uint32_t&>(p.qzeros[(size_t)r * zw + g / 8]);
            word |= (uint32_t)w.zeros[(size_t)r * ng + g] << (4 * (g % 8));
            p.scales[(size_t)r * zw * 8 + g] = w.scales[(size_t)r * ng + g];
        }
    }
    return p;
}

W4Canonical unpack_gemv(const W4Gemv& p) {
    if (p.n <= 0 || p.k <= 0 || p.group <= 0 || p.k % p.group != 0 || p.k % 8 != 0)
        throw Error(kWhere, "bad shape n=" + std::to_string(p.n) + " k=" + std::to_string(p.k) +
                                " group=" + std::to_string(p.group));
    const int n = p.n, k = p.k, ng = k / p.group, kw = k / 8;
    const int zw = gemv_zeros_width(k, p.group);
    if (p.zeros_width != zw || p.qweight.size() != (size_t)n * kw || p.qzeros.size() != (size_t)n * zw ||
        p.scales.size() != (size_t)n * zw * 8)
        throw Error(kWhere, "qweight/qzeros/scales sizes do not match [n, k/8], [n, " + std::to_string(zw) +
                                "], [n, " + std::to_string(zw * 8) + "]");
    W4Canonical w;
    w.n = n;
    w.k = k;
    w.group = p.group;
    w.q.resize((size_t)n * k);
    w.zeros.resize((size_t)n * ng);
    w.scales.resize((size_t)n * ng);
    for (int r = 0; r < n; ++r) {
        for (int col = 0; col < k; ++col) w.q[(size_t)r * k + col] = nibble(p.qweight[(size_t)r * kw + col / 8], col % 8);
        for (int g = 0; g < ng; ++g) {
            w.zeros[(size_t)r * ng + g] = nibble(p.qzeros[(size_t)r * zw + g / 8], g % 8);
            w.scales[(size_t)r * ng + g] = p.scales[(size_t)r * zw * 8 + g];
        }
    }
    return w;
}

}  // namespace awq
