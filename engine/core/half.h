#pragma once
// fp16 / bf16 <-> fp32 conversions for code that must not depend on LibTorch (file readers, writers,
// CPU reference kernels). Round-to-nearest-even on the way down, like torch's .to(dtype).
#include <cstdint>
#include <cstring>

namespace awq {

inline float bits_to_float(uint32_t u) { float f; std::memcpy(&f, &u, 4); return f; }
inline uint32_t float_to_bits(float f) { uint32_t u; std::memcpy(&u, &f, 4); return u; }

inline float fp16_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t man = h & 0x3ffu;
    if (exp == 0) {
        if (man == 0) return bits_to_float(sign);
        // subnormal: value = man * 2^-24
        float v = (float)man * (1.0f / 16777216.0f);
        return sign ? -v : v;
    }
    if (exp == 31) return bits_to_float(sign | 0x7f800000u | (man << 13));
    return bits_to_float(sign | ((exp + 112) << 23) | (man << 13));
}

inline uint16_t float_to_fp16(float f) {
    uint32_t x = float_to_bits(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t ax = x & 0x7fffffffu;
    if (ax >= 0x7f800000u) return sign | (ax > 0x7f800000u ? 0x7e00u : 0x7c00u);  // NaN / Inf
    if (ax >= 0x477ff000u) return sign | 0x7c00u;                                   // overflow -> Inf
    if (ax < 0x38800000u) {                                                          // subnormal / zero
        float v = bits_to_float(ax) * 16777216.0f;  // in units of 2^-24; exact scaling
        // round half to even
        float r = v;
        uint32_t i = (uint32_t)r;
        float frac = r - (float)i;
        if (frac > 0.5f || (frac == 0.5f && (i & 1u))) ++i;
        return sign | (uint16_t)i;
    }
    uint32_t mant_odd = (ax >> 13) & 1u;
    ax += 0xfffu + mant_odd;  // round to nearest even at bit 13
    return sign | (uint16_t)((ax - (112u << 23)) >> 13);
}

inline float bf16_to_float(uint16_t b) { return bits_to_float((uint32_t)b << 16); }

inline uint16_t float_to_bf16(float f) {
    uint32_t x = float_to_bits(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40u);  // quiet NaN
    x += 0x7fffu + ((x >> 16) & 1u);
    return (uint16_t)(x >> 16);
}

}  // namespace awq
