#include "tokenizer/utf8.h"

namespace awq::utf8 {
namespace {

// How many bytes starting at s[pos] are a prefix of some valid sequence (the "maximal subpart"):
// the lead byte plus each continuation byte that is still in the range allowed at that position.
size_t valid_prefix_length(std::string_view s, size_t pos) {
    const auto b0 = static_cast<unsigned char>(s[pos]);
    size_t need;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        need = 2;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        need = 3;
        if (b0 == 0xE0) lo = 0xA0;  // overlong
        if (b0 == 0xED) hi = 0x9F;  // surrogates
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        need = 4;
        if (b0 == 0xF0) lo = 0x90;  // overlong
        if (b0 == 0xF4) hi = 0x8F;  // past U+10FFFF
    } else {
        return 0;
    }
    size_t n = 1;
    for (; n < need && pos + n < s.size(); ++n) {
        const auto b = static_cast<unsigned char>(s[pos + n]);
        const unsigned char l = n == 1 ? lo : 0x80, h = n == 1 ? hi : 0xBF;
        if (b < l || b > h) break;
    }
    return n;
}

size_t full_length(unsigned char b0) {
    if (b0 < 0x80) return 1;
    if (b0 >= 0xC2 && b0 <= 0xDF) return 2;
    if (b0 >= 0xE0 && b0 <= 0xEF) return 3;
    if (b0 >= 0xF0 && b0 <= 0xF4) return 4;
    return 0;
}

}  // namespace

size_t decode(std::string_view s, size_t pos, char32_t& cp) {
    if (pos >= s.size()) return 0;
    const auto b0 = static_cast<unsigned char>(s[pos]);
    if (b0 < 0x80) {
        cp = b0;
        return 1;
    }
    const size_t need = full_length(b0);
    if (need == 0 || valid_prefix_length(s, pos) != need) return 0;
    char32_t c = b0 & (need == 2 ? 0x1F : need == 3 ? 0x0F : 0x07);
    for (size_t k = 1; k < need; ++k) c = (c << 6) | (static_cast<unsigned char>(s[pos + k]) & 0x3F);
    cp = c;
    return need;
}

void append(std::string& out, char32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

std::optional<size_t> first_invalid(std::string_view s) {
    size_t i = 0;
    while (i < s.size()) {
        const auto b0 = static_cast<unsigned char>(s[i]);
        if (b0 < 0x80) {
            ++i;
            continue;
        }
        const size_t need = full_length(b0);
        if (need == 0 || valid_prefix_length(s, i) != need) return i;
        i += need;
    }
    return std::nullopt;
}

std::string to_valid_lossy(std::string_view bytes) {
    std::string out;
    out.reserve(bytes.size());
    size_t i = 0;
    while (i < bytes.size()) {
        const auto b0 = static_cast<unsigned char>(bytes[i]);
        if (b0 < 0x80) {
            out += static_cast<char>(b0);
            ++i;
            continue;
        }
        const size_t need = full_length(b0);
        const size_t have = valid_prefix_length(bytes, i);
        if (need != 0 && have == need) {
            out.append(bytes.substr(i, need));
            i += need;
        } else {
            out.append(kReplacementChar);
            i += have == 0 ? 1 : have;
        }
    }
    return out;
}

}  // namespace awq::utf8
