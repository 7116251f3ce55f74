// "fast" layout <-> canonical form. Layout in w4_layouts.h; it is the mma.m16n8k16 A-fragment order, so
// a lane of the kernel gets the weights of four k16 steps with one 16-byte load and needs no shuffles,
// stored unit-major (128 k at a time across all row tiles) and with group-major scales and zeros.
#include "core/error.h"
#include "w4_layouts.h"

namespace awq {
namespace {

const char* kWhere = "w4 fast layout";

// Where fragment value `nib` (nibble index in the word) of lane l sits in the 16 x 16 tile:
// row offset (0..15) and column offset (0..15). See the table in w4_layouts.h.
inline int frag_row(int lane, int nib) { return lane / 4 + ((nib & 1) ? 8 : 0); }
inline int frag_col(int lane, int nib) { return 2 * (lane % 4) + ((nib & 2) ? 8 : 0) + (nib >= 4 ? 1 : 0); }

void check_shape(int n, int k, int group) {
    if (n <= 0 || k <= 0 || group <= 0 || n % 16 != 0 || k % 64 != 0 || k % group != 0 ||
        !(group == 32 || group % 64 == 0))
        throw Error(kWhere, "needs out_features % 16 == 0, in_features % 64 == 0 and group 32 or a multiple "
                            "of 64 dividing in_features (got n=" + std::to_string(n) + " k=" +
                                std::to_string(k) + " group=" + std::to_string(group) + ")");
}

// Index (in 32-bit words) of word (tile, chunk, lane, step): unit-major, two chunks per unit.
inline size_t qword_index(int tiles, int t, int c, int l, int j) {
    return ((((size_t)(c / 2) * tiles + t) * 2 + (c % 2)) * 32 + l) * 4 + j;
}
inline size_t qweight_words(int n, int k) { return (size_t)((k + 127) / 128) * (n / 16) * 2 * 32 * 4; }
inline size_t meta_index(int tiles, int g, int t, int i) { return ((size_t)g * tiles + t) * 8 + i; }

}  // namespace

W4Fast pack_fast(const W4Canonical& w) {
    w.validate(kWhere);
    check_shape(w.n, w.k, w.group);
    const int n = w.n, k = w.k, ng = w.groups(), kc = k / 64, tiles = n / 16;
    W4Fast p;
    p.n = n;
    p.k = k;
    p.group = w.group;
    p.has_zeros = !w.symmetric();
    p.qweight.assign(qweight_words(n, k), 0);  // zero padding in a half-filled last unit
    p.scales.resize((size_t)tiles * ng * 8);
    if (p.has_zeros) p.zeros.resize((size_t)tiles * ng * 8);
    for (int t = 0; t < tiles; ++t) {
        for (int c = 0; c < kc; ++c)
            for (int l = 0; l < 32; ++l)
                for (int j = 0; j < 4; ++j) {
                    uint32_t word = 0;
                    for (int nib = 0; nib < 8; ++nib) {
                        const int row = 16 * t + frag_row(l, nib), col = 64 * c + 16 * j + frag_col(l, nib);
                        word |= (uint32_t)w.q[(size_t)row * k + col] << (4 * nib);
                    }
                    p.qweight[qword_index(tiles, t, c, l, j)] = word;
                }
        for (int g = 0; g < ng; ++g)
            for (int i = 0; i < 8; ++i) {
                const size_t r0 = (size_t)(16 * t + i) * ng + g, r1 = (size_t)(16 * t + i + 8) * ng + g;
                const size_t at = meta_index(tiles, g, t, i);
                p.scales[at] = (uint32_t)w.scales[r0] | (uint32_t)w.scales[r1] << 16;
                if (p.has_zeros) p.zeros[at] = (uint8_t)(w.zeros[r0] | w.zeros[r1] << 4);
            }
    }
    return p;
}

W4Canonical unpack_fast(const W4Fast& p) {
    check_shape(p.n, p.k, p.group);
    const int n = p.n, k = p.k, ng = k / p.group, kc = k / 64, tiles = n / 16;
    const size_t meta = (size_t)tiles * ng * 8;
    if (p.qweight.size() != qweight_words(n, k) || p.scales.size() != meta ||
        p.zeros.size() != (p.has_zeros ? meta : 0))
        throw Error(kWhere, "qweight/scales/zeros sizes do not match n=" + std::to_string(n) + " k=" +
                                std::to_string(k) + " group=" + std::to_string(p.group));
    if (k % 128 != 0)  // the second chunk of the last unit is padding and must be zero
        for (int t = 0; t < tiles; ++t)
            for (int l = 0; l < 32; ++l)
                for (int j = 0; j < 4; ++j)
                    if (p.qweight[qword_index(tiles, t, kc, l, j)] != 0)
                        throw Error(kWhere, "non-zero padding in the last 128-k unit of qweight");
    W4Canonical w;
    w.n = n;
    w.k = k;
    w.group = p.group;
    w.q.resize((size_t)n * k);
    w.zeros.assign((size_t)n * ng, 8);
    w.scales.resize((size_t)n * ng);
    for (int t = 0; t < tiles; ++t) {
        for (int c = 0; c < kc; ++c)
            for (int l = 0; l < 32; ++l)
                for (int j = 0; j < 4; ++j) {
                    const uint32_t word = p.qweight[qword_index(tiles, t, c, l, j)];
                    for (int nib = 0; nib < 8; ++nib) {
                        const int row = 16 * t + frag_row(l, nib), col = 64 * c + 16 * j + frag_col(l, nib);
                        w.q[(size_t)row * k + col] = (uint8_t)((word >> (4 * nib)) & 0xF);
                    }
                }
        for (int g = 0; g < ng; ++g)
            for (int i = 0; i < 8; ++i) {
                const size_t r0 = (size_t)(16 * t + i) * ng + g, r1 = (size_t)(16 * t + i + 8) * ng + g;
                const size_t at = meta_index(tiles, g, t, i);
                w.scales[r0] = (uint16_t)(p.scales[at] & 0xFFFF);
                w.scales[r1] = (uint16_t)(p.scales[at] >> 16);
                if (p.has_zeros) {
                    w.zeros[r0] = p.zeros[at] & 0xF;
                    w.zeros[r1] = p.zeros[at] >> 4;
                }
            }
    }
    return w;
}

}  // namespace awq
