#include "io/gguf_dequant.h"

#include <cstring>

#include "core/error.h"
#include "core/half.h"

namespace awq {

namespace {

// GGUF is little-endian and so is every host we build for; read fields bytewise anyway so that
// unaligned block fields (blocks are 18, 20, 34, 210 bytes long) are never dereferenced as wider types.
inline uint16_t read_u16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
inline float read_fp16(const uint8_t* p) { return fp16_to_float(read_u16(p)); }

void dequant_f32(const uint8_t* src, float* dst, int64_t n) { std::memcpy(dst, src, static_cast<size_t>(n) * 4); }

void dequant_f16(const uint8_t* src, float* dst, int64_t n) {
    for (int64_t i = 0; i < n; ++i) dst[i] = read_fp16(src + 2 * i);
}

void dequant_bf16(const uint8_t* src, float* dst, int64_t n) {
    for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_float(read_u16(src + 2 * i));
}

// Q8_0 block (34 bytes): fp16 scale d, then 32 signed bytes; w = d * q.
void dequant_q8_0(const uint8_t* src, float* dst, int64_t n) {
    for (int64_t b = 0; b < n / 32; ++b, src += 34, dst += 32) {
        const float d = read_fp16(src);
        for (int i = 0; i < 32; ++i) dst[i] = d * static_cast<float>(static_cast<int8_t>(src[2 + i]));
    }
}

// Q4_0 block (18 bytes): fp16 d, 16 bytes; byte i holds weight i (low nibble) and i+16 (high); w = d*(q-8).
void dequant_q4_0(const uint8_t* src, float* dst, int64_t n) {
    for (int64_t b = 0; b < n / 32; ++b, src += 18, dst += 32) {
        const float d = read_fp16(src);
        const uint8_t* qs = src + 2;
        for (int i = 0; i < 16; ++i) {
            dst[i] = d * static_cast<float>((qs[i] & 0x0f) - 8);
            dst[i + 16] = d * static_cast<float>((qs[i] >> 4) - 8);
        }
    }
}

// Q4_1 block (20 bytes): fp16 d, fp16 m, 16 bytes of nibbles laid out as Q4_0; w = d*q + m.
void dequant_q4_1(const uint8_t* src, float* dst, int64_t n) {
    for (int64_t b = 0; b < n / 32; ++b, src += 20, dst += 32) {
        const float d = read_fp16(src);
        const float m = read_fp16(src + 2);
        const uint8_t* qs = src + 4;
        for (int i = 0; i < 16; ++i) {
            dst[i] = d * static_cast<float>(qs[i] & 0x0f) + m;
            dst[i + 16] = d * static_cast<float>(qs[i] >> 4) + m;
        }
    }
}

// Q4_K super-block (144 bytes, 256 weights): fp16 d, fp16 dmin, 12 bytes packing eight 6-bit
// (scale, min) pairs, 128 bytes of nibbles. Sub-block j (32 weights) is d*sc_j*q - dmin*m_j.
// Pairs 0-3 sit in the low 6 bits of bytes 0-3 (scales) and 4-7 (mins); pairs 4-7 take their low
// 4 bits from bytes 8-11 (scale: low nibble, min: high nibble) and their top 2 bits from the top
// bits of bytes 0-3 (scales) and 4-7 (mins).
void q4k_scale_min(const uint8_t* s, int j, int& sc, int& m) {
    if (j < 4) {
        sc = s[j] & 63;
        m = s[j + 4] & 63;
    } else {
        sc = (s[j + 4] & 0x0f) | ((s[j - 4] >> 6) << 4);
        m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
    }
}

void dequant_q4_k(const uint8_t* src, float* dst, int64_t n) {
    for (int64_t b = 0; b < n / 256; ++b, src += 144, dst += 256) {
        const float d = read_fp16(src);
        const float dmin = read_fp16(src + 2);
        const uint8_t* scales = src + 4;
        const uint8_t* qs = src + 16;
        // Each 32-byte chunk of qs carries two sub-blocks: low nibbles first, then high nibbles.
        for (int chunk = 0; chunk < 4; ++chunk) {
            int sc0, m0, sc1, m1;
            q4k_scale_min(scales, 2 * chunk, sc0, m0);
            q4k_scale_min(scales, 2 * chunk + 1, sc1, m1);
            const float d0 = d * static_cast<float>(sc0), min0 = dmin * static_cast<float>(m0);
            const float d1 = d * static_cast<float>(sc1), min1 = dmin * static_cast<float>(m1);
            const uint8_t* q = qs + 32 * chunk;
            float* y = dst + 64 * chunk;
            for (int l = 0; l < 32; ++l) y[l] = d0 * static_cast<float>(q[l] & 0x0f) - min0;
            for (int l = 0; l < 32; ++l) y[32 + l] = d1 * static_cast<float>(q[l] >> 4) - min1;
        }
    }
}

// Q6_K super-block (210 bytes, 256 weights): 128 bytes ql (low 4 bits), 64 bytes qh (high 2 bits),
// 16 int8 scales (one per 16 weights), fp16 d; w = d * scale * (q - 32). Each half (128 weights) uses
// 64 bytes of ql and 32 of qh: weight l, l+32, l+64, l+96 (l < 32) take ql[l] low, ql[l+32] low,
// ql[l] high, ql[l+32] high nibbles and bit pairs 0-1, 2-3, 4-5, 6-7 of qh[l].
void dequant_q6_k(const uint8_t* src, float* dst, int64_t n) {
    for (int64_t b = 0; b < n / 256; ++b, src += 210, dst += 256) {
        const uint8_t* ql = src;
        const uint8_t* qh = src + 128;
        const int8_t* sc = reinterpret_cast<const int8_t*>(src + 192);
        const float d = read_fp16(src + 208);
        for (int half = 0; half < 2; ++half) {
            float* y = dst + 128 * half;
            for (int l = 0; l < 32; ++l) {
                const int s = l / 16;
                const int q1 = ((ql[l] & 0x0f) | (((qh[l] >> 0) & 3) << 4)) - 32;
                const int q2 = ((ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4)) - 32;
                const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                y[l] = d * static_cast<float>(sc[s]) * static_cast<float>(q1);
                y[l + 32] = d * static_cast<float>(sc[s + 2]) * static_cast<float>(q2);
                y[l + 64] = d * static_cast<float>(sc[s + 4]) * static_cast<float>(q3);
                y[l + 96] = d * static_cast<float>(sc[s + 6]) * static_cast<float>(q4);
            }
            ql += 64;
            qh += 32;
            sc += 8;
        }
    }
}

}  // namespace

bool can_dequantize(GgmlType type) {
    switch (type) {
        case GgmlType::F32: case GgmlType::F16: case GgmlType::BF16: case GgmlType::Q8_0:
        case GgmlType::Q4_0: case GgmlType::Q4_1: case GgmlType::Q4_K: case GgmlType::Q6_K:
            return true;
        default:
            return false;
    }
}

std::string dequantizable_type_names() { return "F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q4_K, Q6_K"; }

int64_t ggml_row_bytes(GgmlType type, int64_t n) {
    const GgmlTypeInfo& t = ggml_type_info(type);
    if (n < 0 || n % t.block_size != 0)
        throw Error("ggml_row_bytes: " + std::to_string(n) + " weights is not a whole number of " + t.name +
                    " blocks (" + std::to_string(t.block_size) + " weights each)");
    return n / t.block_size * t.type_size;
}

void dequantize_row(GgmlType type, const uint8_t* src, float* dst, int64_t n) {
    if (!can_dequantize(type))
        throw Error("dequantize: tensor type " + ggml_type_name(type) + " is not supported (supported: " +
                    dequantizable_type_names() + ")");
    ggml_row_bytes(type, n);  // validates n
    switch (type) {
        case GgmlType::F32: return dequant_f32(src, dst, n);
        case GgmlType::F16: return dequant_f16(src, dst, n);
        case GgmlType::BF16: return dequant_bf16(src, dst, n);
        case GgmlType::Q8_0: return dequant_q8_0(src, dst, n);
        case GgmlType::Q4_0: return dequant_q4_0(src, dst, n);
        case GgmlType::Q4_1: return dequant_q4_1(src, dst, n);
        case GgmlType::Q4_K: return dequant_q4_k(src, dst, n);
        case GgmlType::Q6_K: return dequant_q6_k(src, dst, n);
        default: break;
    }
}

}  // namespace awq
