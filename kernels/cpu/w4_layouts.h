#pragma once
// Weight-only 4-bit matrices: one canonical integer form and the three packed layouts that the W4A16
// kernels read. Everything here is plain arrays (no LibTorch) so that loaders, exporters, tests and
// CPU-only machines share one definition of each layout.
//
// The matrix is W [n, k] (out_features x in_features, the layout of nn.Linear.weight); y = x W^T.
// Groups run along k: `group` consecutive k of one row share one fp16 scale and one 4-bit zero point.
//     w[r][c] = (q[r][c] - zero[r][c / group]) * scale[r][c / group]
// Symmetric quantization is the same formula with every zero equal to 8 (q = signed value + 8).
#include <cstdint>
#include <string>
#include <vector>

namespace awq {

struct W4Canonical {
    int n = 0, k = 0, group = 0;
    std::vector<uint8_t> q;        // [n * k] row-major, values 0..15
    std::vector<uint8_t> zeros;    // [n * (k / group)], values 0..15 (8 everywhere when symmetric)
    std::vector<uint16_t> scales;  // [n * (k / group)], fp16 bit patterns

    int groups() const { return group > 0 ? k / group : 0; }
    bool symmetric() const;  // true when every zero is 8: layouts may then drop the zeros
    // Throws awq::Error(where, ...) on inconsistent sizes or out-of-range values.
    void validate(const std::string& where) const;
    bool operator==(const W4Canonical&) const = default;
};

// ---- AutoAWQ "gemm" (what transformers and vLLM load for version "gemm") --------------------------
// qweight int32 [k][n / 8]: word (r, c) packs columns 8c .. 8c+7 of row r of W^T, nibble j (bits 4j..4j+3)
//         holding column 8c + kGemmOrder[j]; kGemmOrder = {0, 2, 4, 6, 1, 3, 5, 7}.
// qzeros  int32 [k / group][n / 8], packed the same way.
// scales  fp16  [k / group][n].
inline constexpr int kGemmOrder[8] = {0, 2, 4, 6, 1, 3, 5, 7};
struct W4Gemm {
    int n = 0, k = 0, group = 0;
    std::vector<int32_t> qweight;
    std::vector<int32_t> qzeros;
    std::vector<uint16_t> scales;
    bool operator==(const W4Gemm&) const = default;
};
W4Gemm pack_gemm(const W4Canonical& w);
W4Canonical unpack_gemm(const W4Gemm& p);

// ---- AutoAWQ "gemv" ----------------------------------------------------------------------------------
// qweight int32 [n][k / 8]: nibble j of word (r, c) is q[r][8c + j] (plain order along k).
// qzeros  int32 [n][zw]:    nibble j of word (r, c) is zero[r][8c + j]; groups past k / group are 0.
// scales  fp16  [n][zw * 8]: scale[r][g] for g < k / group, then 0.
// zw = gemv_zeros_width(k, group) = ceil(k / group / 8) rounded up to a multiple of 1, 2, 4 for
// group >= 128, 64, 32 (AutoAWQ's calculate_zeros_width).
struct W4Gemv {
    int n = 0, k = 0, group = 0;
    int zeros_width = 0;
    std::vector<int32_t> qweight;
    std::vector<int32_t> qzeros;
    std::vector<uint16_t> scales;
    bool operator==(const W4Gemv&) const = default;
};
int gemv_zeros_width(int k, int group);
W4Gemv pack_gemv(const W4Canonical& w);
W4Canonical unpack_gemv(const W4Gemv& p);

// ---- "fast": our own layout, shaped for the tensor-core kernels in kernels/cuda/w4a16_fast*.cuh --------
// The kernels compute y^T = W x^T with W as the mma A operand (m16n8k16, 16 rows of W per tile) and read
// each lane's A fragments with 16-byte loads, so the weight is stored fragment by fragment. Tiles:
// t = row / 16 (T = n / 16 of them); units u = col / 128 (U = ceil(k / 128)), each of two chunks h = 0, 1 of
// 64 k; lane l = 0..31; step j = 0..3 (the four k16 steps of a chunk).
// qweight uint32 [U][T][2][32][4], i.e. unit-major: all tiles' data for one 128-k unit is contiguous, so the
//         warps streaming different tiles at the same time read neighbouring memory (DRAM row locality).
//         Word (u, t, h, l, j) holds the 8 fragment values of lane l for rows 16t + l/4 (=: r0) and r0 + 8
//         (=: r1), columns 128u + 64h + 16j + {2(l%4), 2(l%4)+1, 2(l%4)+8, 2(l%4)+9}:
//           nibble 0: (r0, +0)  nibble 4: (r0, +1)     -> fp16x2 register a0a1
//           nibble 1: (r1, +0)  nibble 5: (r1, +1)     -> a2a3
//           nibble 2: (r0, +8)  nibble 6: (r0, +9)     -> a4a5
//           nibble 3: (r1, +8)  nibble 7: (r1, +9)     -> a6a7
//         so (word >> 4i) & 0x000f000f puts register i's two values in the two fp16 halves. When k % 128 == 64
//         the last unit's second chunk (h = 1) is zero padding.
// scales  uint32 [k/group][T][8] (group-major): word (g, t, i) = scale[16t+i][g] | scale[16t+i+8][g] << 16.
// zeros   uint8  [k/group][T][8]: byte (g, t, i) = zero[16t+i][g] | zero[16t+i+8][g] << 4;
//         empty when every zero is 8 (symmetric): the kernels then use the constant 8.
// Needs n % 16 == 0, k % 64 == 0 and group == 32 or group % 64 == 0 (the CUDA kernels: a power of two).
struct W4Fast {
    int n = 0, k = 0, group = 0;
    bool has_zeros = true;
    std::vector<uint32_t> qweight;
    std::vector<uint32_t> scales;
    std::vector<uint8_t> zeros;
    bool operator==(const W4Fast&) const = default;
};
W4Fast pack_fast(const W4Canonical& w);
W4Canonical unpack_fast(const W4Fast& p);

}  // namespace awq
