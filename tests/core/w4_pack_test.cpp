// 4-bit weight layouts: exact pack/unpack/repack round trips for every layout and group size, the
// packed bit positions against the layout facts (AutoAWQ's gemm/gemv packing, the mma.m16n8k16 A
// fragment for "fast"), and the CPU reference matmul against a float64 computation.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/error.h"
#include "core/half.h"
#include "cpu/w4_layouts.h"
#include "cpu/w4a16_reference.h"

namespace awq {
namespace {

W4Canonical random_weight(int n, int k, int group, bool symmetric, uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> nib(0, 15);
    std::uniform_real_distribution<float> sc(1e-3f, 2e-2f);
    W4Canonical w;
    w.n = n;
    w.k = k;
    w.group = group;
    w.q.resize((size_t)n * k);
    for (auto& v : w.q) v = (uint8_t)nib(rng);
    w.zeros.resize((size_t)n * (k / group));
    for (auto& z : w.zeros) z = symmetric ? 8 : (uint8_t)nib(rng);
    w.scales.resize(w.zeros.size());
    for (auto& s : w.scales) s = float_to_fp16(sc(rng));
    return w;
}

struct Case {
    int n, k, group;
    bool symmetric;
};

std::vector<Case> cases() {
    std::vector<Case> out;
    for (int group : {32, 64, 128})
        for (bool sym : {false, true}) {
            out.push_back({64, 256, group, sym});
            out.push_back({80, 384, group, sym});  // n not a multiple of 32, k/group odd for group 128
            if (group != 128) out.push_back({32, 448, group, sym});  // k % 128 == 64: fast pads the last unit
        }
    return out;
}

TEST(W4Pack, GemmRoundTrip) {
    uint32_t seed = 1;
    for (const Case& c : cases()) {
        const W4Canonical w = random_weight(c.n, c.k, c.group, c.symmetric, seed++);
        const W4Gemm p = pack_gemm(w);
        EXPECT_EQ(p.qweight.size(), (size_t)c.k * c.n / 8);
        EXPECT_EQ(p.qzeros.size(), (size_t)c.k / c.group * c.n / 8);
        EXPECT_EQ(p.scales.size(), (size_t)c.k / c.group * c.n);
        EXPECT_EQ(unpack_gemm(p), w) << "n=" << c.n << " k=" << c.k << " group=" << c.group;
        EXPECT_EQ(pack_gemm(unpack_gemm(p)), p);
    }
}

TEST(W4Pack, GemvRoundTrip) {
    uint32_t seed = 100;
    for (const Case& c : cases()) {
        const W4Canonical w = random_weight(c.n, c.k, c.group, c.symmetric, seed++);
        const W4Gemv p = pack_gemv(w);
        EXPECT_EQ(p.qweight.size(), (size_t)c.n * c.k / 8);
        EXPECT_EQ(p.qzeros.size(), (size_t)c.n * p.zeros_width);
        EXPECT_EQ(p.scales.size(), (size_t)c.n * p.zeros_width * 8);
        EXPECT_EQ(unpack_gemv(p), w) << "n=" << c.n << " k=" << c.k << " group=" << c.group;
        EXPECT_EQ(pack_gemv(unpack_gemv(p)), p);
    }
}

TEST(W4Pack, FastRoundTrip) {
    uint32_t seed = 200;
    for (const Case& c : cases()) {
        const W4Canonical w = random_weight(c.n, c.k, c.group, c.symmetric, seed++);
        const W4Fast p = pack_fast(w);
        EXPECT_EQ(p.has_zeros, !c.symmetric);
        EXPECT_EQ(p.qweight.size() * 4, (size_t)c.n * ((c.k + 127) / 128 * 128) / 2);  // 4 bits per weight
        EXPECT_EQ(p.scales.size(), (size_t)c.n * (c.k / c.group) / 2);
        EXPECT_EQ(p.zeros.size(), c.symmetric ? 0 : (size_t)c.n * (c.k / c.group) / 2);
        EXPECT_EQ(unpack_fast(p), w) << "n=" << c.n << " k=" << c.k << " group=" << c.group;
        EXPECT_EQ(pack_fast(unpack_fast(p)), p);
    }
}

TEST(W4Pack, RepackBetweenLayoutsIsExact) {
    uint32_t seed = 300;
    for (const Case& c : cases()) {
        const W4Canonical w = random_weight(c.n, c.k, c.group, c.symmetric, seed++);
        // An imported AutoAWQ checkpoint (gemm) repacked to fast and gemv, and back.
        const W4Fast fast = pack_fast(unpack_gemm(pack_gemm(w)));
        const W4Gemv gemv = pack_gemv(unpack_fast(fast));
        const W4Gemm gemm = pack_gemm(unpack_gemv(gemv));
        EXPECT_EQ(unpack_gemm(gemm), w);
        EXPECT_EQ(gemm, pack_gemm(w));
        EXPECT_EQ(fast, pack_fast(w));
        EXPECT_EQ(gemv, pack_gemv(w));
    }
}

// AutoAWQ gemm: unpacking reads nibble kUnpack[j] for column 8c + j (the inverse order,
// awq-reference.md section 5); scales and zeros indexed [group][column].
TEST(W4Pack, GemmBitPositionsFollowAutoAwq) {
    const int kUnpack[8] = {0, 4, 1, 5, 2, 6, 3, 7};
    for (int group : {32, 128}) {
        const W4Canonical w = random_weight(64, 256, group, false, 7 + group);
        const W4Gemm p = pack_gemm(w);
        const int nw = w.n / 8, ng = w.groups();
        for (int r = 0; r < w.k; ++r)
            for (int col = 0; col < w.n; ++col) {
                const uint32_t word = (uint32_t)p.qweight[(size_t)r * nw + col / 8];
                ASSERT_EQ((word >> (4 * kUnpack[col % 8])) & 0xF, w.q[(size_t)col * w.k + r]);
            }
        for (int g = 0; g < ng; ++g)
            for (int col = 0; col < w.n; ++col) {
                const uint32_t word = (uint32_t)p.qzeros[(size_t)g * nw + col / 8];
                ASSERT_EQ((word >> (4 * kUnpack[col % 8])) & 0xF, w.zeros[(size_t)col * ng + g]);
                ASSERT_EQ(p.scales[(size_t)g * w.n + col], w.scales[(size_t)col * ng + g]);
            }
    }
}

// AutoAWQ gemv: plain nibble order along k; zeros/scales rows padded to the width of
// calculate_zeros_width (whole int32 words, rounded to a multiple of 1/2/4 words for group >=128/64/32).
TEST(W4Pack, GemvBitPositionsAndPaddingFollowAutoAwq) {
    for (int group : {32, 64, 128}) {
        // k = 1152: 9, 18, 36 groups -> 2, 3, 5 words of zeros, padded to 2, 4, 8.
        const W4Canonical w = random_weight(32, 1152, group, false, 11 + group);
        const W4Gemv p = pack_gemv(w);
        const int ng = w.groups(), zw = p.zeros_width, multiple = group >= 128 ? 1 : 128 / group;
        EXPECT_EQ(zw % multiple, 0);
        EXPECT_GE(zw * 8, ng);
        EXPECT_LT((zw - multiple) * 8, ng) << "width is not the smallest allowed one";
        for (int r = 0; r < w.n; ++r) {
            for (int col = 0; col < w.k; ++col)
                ASSERT_EQ(((uint32_t)p.qweight[(size_t)r * (w.k / 8) + col / 8] >> (4 * (col % 8))) & 0xF,
                          w.q[(size_t)r * w.k + col]);
            for (int g = 0; g < zw * 8; ++g) {
                const uint32_t z = ((uint32_t)p.qzeros[(size_t)r * zw + g / 8] >> (4 * (g % 8))) & 0xF;
                const uint16_t s = p.scales[(size_t)r * zw * 8 + g];
                ASSERT_EQ(z, g < ng ? w.zeros[(size_t)r * ng + g] : 0u);
                ASSERT_EQ(s, g < ng ? w.scales[(size_t)r * ng + g] : 0u);
            }
        }
    }
}

// fast: each 32-bit word is one lane's mma.m16n8k16 A fragment (PTX ISA, "Matrix Fragments for
// mma.m16n8k16", .f16/.bf16 A): register i of lane l holds rows groupID (+8 for i = 1, 3) and
// columns 2 * (l % 4) + {0, 1} (+8 for i = 2, 3); the kernel extracts register i as
// (word >> 4i) & 0x000f000f (low half = first column). Words are stored unit-major: [k/128][n/16][2][32][4].
TEST(W4Pack, FastWordsAreMmaFragments) {
    const W4Canonical w = random_weight(48, 192, 64, false, 21);  // k = 192: the last unit is half padding
    const W4Fast p = pack_fast(w);
    const int tiles = w.n / 16, units = (w.k + 127) / 128;
    ASSERT_EQ(p.qweight.size(), (size_t)units * tiles * 2 * 32 * 4);
    for (int t = 0; t < tiles; ++t)
        for (int c = 0; c < 2 * units; ++c)
            for (int lane = 0; lane < 32; ++lane)
                for (int step = 0; step < 4; ++step) {
                    const uint32_t word = p.qweight[((((size_t)(c / 2) * tiles + t) * 2 + c % 2) * 32 + lane) * 4 + step];
                    if (64 * c >= w.k) {
                        ASSERT_EQ(word, 0u) << "padding";
                        continue;
                    }
                    for (int reg = 0; reg < 4; ++reg) {
                        const uint32_t pair = (word >> (4 * reg)) & 0x000F000Fu;
                        const int row = 16 * t + lane / 4 + ((reg == 1 || reg == 3) ? 8 : 0);
                        const int col = 64 * c + 16 * step + 2 * (lane % 4) + (reg >= 2 ? 8 : 0);
                        ASSERT_EQ(pair & 0xF, w.q[(size_t)row * w.k + col]);
                        ASSERT_EQ(pair >> 16, w.q[(size_t)row * w.k + col + 1]);
                    }
                }
    const int ng = w.groups();
    for (int t = 0; t < tiles; ++t)
        for (int g = 0; g < ng; ++g)
            for (int lane = 0; lane < 32; ++lane) {
                // Lane l's rows are 16t + l/4 and that + 8: one 32-bit scale word, one zero byte (group-major).
                const int r0 = 16 * t + lane / 4, r1 = r0 + 8, i = (g * tiles + t) * 8 + lane / 4;
                ASSERT_EQ(p.scales[i] & 0xFFFF, w.scales[(size_t)r0 * ng + g]);
                ASSERT_EQ(p.scales[i] >> 16, w.scales[(size_t)r1 * ng + g]);
                ASSERT_EQ(p.zeros[i] & 0xF, w.zeros[(size_t)r0 * ng + g]);
                ASSERT_EQ(p.zeros[i] >> 4, w.zeros[(size_t)r1 * ng + g]);
            }
    W4Fast bad = p;
    bad.qweight[((((size_t)1 * tiles + 0) * 2 + 1) * 32 + 0) * 4 + 0] = 1;  // padding of the last unit
    EXPECT_THROW(unpack_fast(bad), Error);
}

// The reference matmul of every layout against a float64 computation from the canonical integers.
TEST(W4Reference, MatchesFloat64ForEveryLayout) {
    uint32_t seed = 500;
    for (const Case& c : cases()) {
        const W4Canonical w = random_weight(c.n, c.k, c.group, c.symmetric, seed++);
        const int m = 3;
        std::mt19937 rng(seed);
        std::normal_distribution<float> nd(0.f, 1.f);
        std::vector<float> x((size_t)m * c.k);
        for (auto& v : x) v = fp16_to_float(float_to_fp16(nd(rng)));
        std::vector<double> ref((size_t)m * c.n, 0.0);
        const int ng = w.groups();
        for (int i = 0; i < m; ++i)
            for (int r = 0; r < c.n; ++r) {
                double acc = 0;
                for (int col = 0; col < c.k; ++col) {
                    const double s = fp16_to_float(w.scales[(size_t)r * ng + col / c.group]);
                    const double z = w.zeros[(size_t)r * ng + col / c.group];
                    acc += (double)x[(size_t)i * c.k + col] * ((double)w.q[(size_t)r * c.k + col] - z) * s;
                }
                ref[(size_t)i * c.n + r] = acc;
            }
        std::vector<float> y0((size_t)m * c.n), y1(y0.size()), y2(y0.size()), y3(y0.size());
        w4a16_reference(w, x.data(), m, y0.data());
        w4a16_reference(pack_gemm(w), x.data(), m, y1.data());
        w4a16_reference(pack_gemv(w), x.data(), m, y2.data());
        w4a16_reference(pack_fast(w), x.data(), m, y3.data());
        double num = 0, den = 0;
        for (size_t i = 0; i < ref.size(); ++i) {
            num += (y0[i] - ref[i]) * (y0[i] - ref[i]);
            den += ref[i] * ref[i];
            ASSERT_EQ(y0[i], y1[i]);
            ASSERT_EQ(y0[i], y2[i]);
            ASSERT_EQ(y0[i], y3[i]);
        }
        EXPECT_GT(den, 0.0);
        EXPECT_LT(std::sqrt(num / den), 1e-6) << "fp32 accumulation off the float64 result";
    }
}

TEST(W4Reference, DequantizeIsExact) {
    const W4Canonical w = random_weight(16, 128, 32, false, 9);
    const std::vector<float> d = dequantize(w);
    for (int r = 0; r < w.n; ++r)
        for (int col = 0; col < w.k; ++col) {
            const int g = col / w.group;
            const double exact = ((double)w.q[(size_t)r * w.k + col] - w.zeros[(size_t)r * 4 + g]) *
                                 (double)fp16_to_float(w.scales[(size_t)r * 4 + g]);
            ASSERT_EQ((double)d[(size_t)r * w.k + col], exact);
        }
}

TEST(W4Pack, BadInputThrows) {
    W4Canonical w = random_weight(16, 128, 32, false, 3);
    W4Canonical bad = w;
    bad.q[5] = 16;
    EXPECT_THROW(pack_gemm(bad), Error);
    bad = w;
    bad.zeros.pop_back();
    EXPECT_THROW(pack_fast(bad), Error);
    EXPECT_THROW(pack_fast(random_weight(8, 128, 32, false, 4)), Error);   // n % 16
    EXPECT_THROW(pack_fast(random_weight(16, 96, 32, false, 4)), Error);   // k % 64
    EXPECT_THROW(pack_gemv(random_weight(16, 96, 48, false, 4)), Error);   // gemv has no group 48
    W4Gemm g = pack_gemm(w);
    g.qweight.pop_back();
    EXPECT_THROW(unpack_gemm(g), Error);
    W4Gemv v = pack_gemv(w);
    v.scales.push_back(0);
    EXPECT_THROW(unpack_gemv(v), Error);
    W4Fast f = pack_fast(w);
    f.has_zeros = false;  // zeros present but flagged absent
    EXPECT_THROW(unpack_fast(f), Error);
}

}  // namespace
}  // namespace awq
