// AutoAWQ "gemm" layout <-> canonical form. Layout facts in w4_layouts.h (from AutoAWQ's
// WQLinear_GEMM.from_linear: W transposed to [in, out], 8 output columns per int32 in kGemmOrder).
#include <cstring>

#include "core/error.h"
#include "w4_layouts.h"

namespace awq {
namespace {

const char* kWhere = "w4 gemm layout";

// Packs the 8 values v(0..7) of one run of output columns into one int32 in AutoAWQ's order.
template <class F>
int32_t pack_run(F v) {
    uint32_t word = 0;
    for (int j = 0; j < 8; ++j) word |= (uint32_t)(v(kGemmOrder[j]) & 0xF) << (4 * j);
    int32_t out;
    std::memcpy(&out, &word, 4);
    return out;
}

uint8_t nibble_of(int32_t word, int column_in_run) {
    for (int j = 0; j < 8; ++j)
        if (kGemmOrder[j] == column_in_run) return (uint8_t)(((uint32_t)word >> (4 * j)) & 0xF);
    return 0;  // unreachable: kGemmOrder is a permutation of 0..7
}

}  // namespace

W4Gemm pack_gemm(const W4Canonical& w) {
    w.validate(kWhere);
    if (w.n % 8 != 0) throw Error(kWhere, "out_features " + std::to_string(w.n) + " is not a multiple of 8");
    const int n = w.n, k = w.k, ng = w.groups(), nw = n / 8;
    W4Gemm p;
    p.n = n;
    p.k = k;
    p.group = w.group;
    p.qweight.resize((size_t)k * nw);
    p.qzeros.resize((size_t)ng * nw);
    p.scales.resize((size_t)ng * n);
    for (int r = 0; r < k; ++r)
        for (int c = 0; c < nw; ++c)
            p.qweight[(size_t)r * nw + c] = pack_run([&](int j) { return w.q[(size_t)(8 * c + j) * k + r]; });
    for (int g = 0; g < ng; ++g) {
        for (int c = 0; c < nw; ++c)
            p.qzeros[(size_t)g * nw + c] = pack_run([&](int j) { return w.zeros[(size_t)(8 * c + j) * ng + g]; });
        for (int col = 0; col < n; ++col) p.scales[(size_t)g * n + col] = w.scales[(size_t)col * ng + g];
    }
    return p;
}

W4Canonical unpack_gemm(const W4Gemm& p) {
    if (p.n <= 0 || p.k <= 0 || p.group <= 0 || p.n % 8 != 0 || p.k % p.group != 0)
        throw Error(kWhere, "bad shape n=" + std::to_string(p.n) + " k=" + std::to_string(p.k) +
                                " group=" + std::to_string(p.group));
    const int n = p.n, k = p.k, ng = k / p.group, nw = n / 8;
    if (p.qweight.size() != (size_t)k * nw || p.qzeros.size() != (size_t)ng * nw ||
        p.scales.size() != (size_t)ng * n)
        throw Error(kWhere, "qweight/qzeros/scales sizes do not match [k, n/8], [k/group, n/8], [k/group, n]");
    W4Canonical w;
    w.n = n;
    w.k = k;
    w.group = p.group;
    w.q.resize((size_t)n * k);
    w.zeros.resize((size_t)n * ng);
    w.scales.resize((size_t)n * ng);
    for (int r = 0; r < k; ++r)
        for (int col = 0; col < n; ++col)
            w.q[(size_t)col * k + r] = nibble_of(p.qweight[(size_t)r * nw + col / 8], col % 8);
    for (int g = 0; g < ng; ++g)
        for (int col = 0; col < n; ++col) {
            w.zeros[(size_t)col * ng + g] = nibble_of(p.qzeros[(size_t)g * nw + col / 8], col % 8);
            w.scales[(size_t)col * ng + g] = p.scales[(size_t)g * n + col];
        }
    return w;
}

}  // namespace awq
