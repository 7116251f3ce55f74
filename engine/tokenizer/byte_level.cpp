#include "tokenizer/byte_level.h"

#include <array>

#include "tokenizer/utf8.h"

namespace awq {
namespace {

struct ByteLevelTables {
    std::array<char32_t, 256> byte_to_char{};
    std::array<std::string, 256> byte_to_utf8;
    std::array<int16_t, 512> char_to_byte{};  // all mapped characters are below U+0200

    ByteLevelTables() {
        char_to_byte.fill(-1);
        // Printable Latin-1 bytes stand for themselves; the rest are shifted to U+0100.. in byte order.
        auto printable = [](int b) { return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF); };
        int next = 0;
        for (int b = 0; b < 256; ++b) {
            const char32_t c = printable(b) ? static_cast<char32_t>(b) : static_cast<char32_t>(256 + next++);
            byte_to_char[b] = c;
            utf8::append(byte_to_utf8[b], c);
            char_to_byte[c] = static_cast<int16_t>(b);
        }
    }
};

const ByteLevelTables& tables() {
    static const ByteLevelTables t;
    return t;
}

}  // namespace

std::string_view byte_level_char(uint8_t b) { return tables().byte_to_utf8[b]; }

std::string byte_level_encode(std::string_view bytes) {
    const auto& t = tables();
    std::string out;
    out.reserve(bytes.size() * 2);
    for (char c : bytes) out += t.byte_to_utf8[static_cast<uint8_t>(c)];
    return out;
}

int byte_level_byte(char32_t c) {
    if (c >= 512) return -1;
    return tables().char_to_byte[c];
}

bool byte_level_decode_token(std::string_view token, std::string& out) {
    const size_t mark = out.size();
    size_t i = 0;
    while (i < token.size()) {
        char32_t c = 0;
        const size_t n = utf8::decode(token, i, c);
        const int b = n ? byte_level_byte(c) : -1;
        if (b < 0) {
            out.resize(mark);
            return false;
        }
        out += static_cast<char>(b);
        i += n;
    }
    return true;
}

}  // namespace awq
