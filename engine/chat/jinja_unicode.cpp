#include "chat/jinja_unicode.h"

#include "chat/jinja_error.h"

namespace awq::jinja {

std::u32string utf8_decode(std::string_view s) {
    std::u32string out;
    out.reserve(s.size());
    size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        char32_t cp;
        int extra;
        if (c < 0x80) {
            cp = c;
            extra = 0;
        } else if ((c & 0xE0) == 0xC0) {
            cp = c & 0x1F;
            extra = 1;
        } else if ((c & 0xF0) == 0xE0) {
            cp = c & 0x0F;
            extra = 2;
        } else if ((c & 0xF8) == 0xF0) {
            cp = c & 0x07;
            extra = 3;
        } else {
            throw TemplateError("invalid UTF-8 lead byte " + std::to_string(c) + " in text");
        }
        for (int k = 1; k <= extra; ++k) {
            if (i + k >= s.size()) throw TemplateError("truncated UTF-8 sequence in text");
            const auto cc = static_cast<unsigned char>(s[i + k]);
            if ((cc & 0xC0) != 0x80) throw TemplateError("invalid UTF-8 continuation byte in text");
            cp = (cp << 6) | (cc & 0x3F);
        }
        static const char32_t min_for_len[4] = {0, 0x80, 0x800, 0x10000};
        if (cp < min_for_len[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            throw TemplateError("invalid UTF-8 sequence in text");
        out.push_back(cp);
        i += extra + 1;
    }
    return out;
}

void utf8_append(std::string& out, char32_t cp) {
    if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        if (cp >= 0xD800 && cp <= 0xDFFF) throw TemplateError("surrogate code point cannot be encoded as UTF-8");
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp <= 0x10FFFF) {
        out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
        throw TemplateError("code point out of Unicode range");
    }
}

std::string utf8_encode(std::u32string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char32_t cp : text) utf8_append(out, cp);
    return out;
}

size_t utf8_length(std::string_view s) {
    size_t n = 0;
    for (char c : s)
        if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
    return n;
}

bool py_isspace(char32_t c) {
    return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

bool py_isprintable(char32_t c) {
    // Non-printable: control (Cc), format (Cf), separators other than ' ' (Zs/Zl/Zp), surrogates, private use,
    // noncharacters. The format characters listed are the ones that occur in real text.
    if (c < 0x20 || (c >= 0x7F && c <= 0xA0)) return false;
    if (c == 0xAD || c == 0x1680 || (c >= 0x2000 && c <= 0x200F) || (c >= 0x2028 && c <= 0x202F) ||
        (c >= 0x205F && c <= 0x206F) || c == 0x3000 || c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFB) ||
        c == 0x180E || c == 0x061C || (c >= 0x0600 && c <= 0x0605) || c == 0x06DD || c == 0x070F ||
        c == 0x08E2 || c == 0x110BD || c == 0x110CD || (c >= 0x1BCA0 && c <= 0x1BCA3) ||
        (c >= 0x1D173 && c <= 0x1D17A) || c == 0xE0001 || (c >= 0xE0020 && c <= 0xE007F))
        return false;
    if ((c >= 0xD800 && c <= 0xDFFF) || (c >= 0xE000 && c <= 0xF8FF) || c >= 0xF0000) return false;
    if ((c & 0xFFFE) == 0xFFFE || (c >= 0xFDD0 && c <= 0xFDEF)) return false;
    return true;
}

namespace {

// Pairs laid out as alternating upper/lower code points (upper even or odd as given by `upper_parity`).
bool alternating_range(char32_t c, char32_t first, char32_t last, int upper_parity) {
    return c >= first && c <= last && static_cast<int>(c % 2) == upper_parity;
}

bool alt_lower_of(char32_t c, char32_t& out) {
    struct R { char32_t first, last; int upper_parity; };
    static const R ranges[] = {{0x0100, 0x012F, 0}, {0x0132, 0x0137, 0}, {0x0139, 0x0148, 1}, {0x014A, 0x0177, 0},
                               {0x0179, 0x017E, 1}, {0x01DE, 0x01EF, 0}, {0x01F8, 0x021F, 0}, {0x0460, 0x0481, 0},
                               {0x048A, 0x04BF, 0}, {0x04C1, 0x04CE, 1}, {0x04D0, 0x052F, 0}, {0x1E00, 0x1E95, 0},
                               {0x1EA0, 0x1EFF, 0}, {0x03D8, 0x03EF, 0}};
    for (const R& r : ranges)
        if (alternating_range(c, r.first, r.last, r.upper_parity)) {
            out = c + 1;
            return true;
        }
    return false;
}

bool alt_upper_of(char32_t c, char32_t& out) {
    char32_t lower;
    if (c == 0) return false;
    if (alt_lower_of(c - 1, lower) && lower == c) {
        out = c - 1;
        return true;
    }
    return false;
}

}  // namespace

// Latin digraph letters come in upper / title / lower triples (U+01C4 DZ-caron, U+01C7 LJ, U+01CA NJ, U+01F1 DZ).
int digraph_position(char32_t c, char32_t& base) {
    for (char32_t b : {char32_t{0x1C4}, char32_t{0x1C7}, char32_t{0x1CA}, char32_t{0x1F1}})
        if (c >= b && c < b + 3) {
            base = b;
            return static_cast<int>(c - b);
        }
    return -1;
}

char32_t py_lower(char32_t c) {
    if (c < 0x80) return (c >= 'A' && c <= 'Z') ? c + 32 : c;
    char32_t base;
    if (digraph_position(c, base) >= 0) return base + 2;
    if ((c >= 0xC0 && c <= 0xDE && c != 0xD7)) return c + 32;
    if (c == 0x178) return 0xFF;
    if (c >= 0x391 && c <= 0x3AB && c != 0x3A2) return c + 32;
    if (c == 0x386) return 0x3AC;
    if (c >= 0x388 && c <= 0x38A) return c + 37;
    if (c == 0x38C) return 0x3CC;
    if (c == 0x38E || c == 0x38F) return c + 63;
    if (c >= 0x410 && c <= 0x42F) return c + 32;
    if (c >= 0x400 && c <= 0x40F) return c + 80;
    if (c >= 0x531 && c <= 0x556) return c + 48;
    if (c >= 0xFF21 && c <= 0xFF3A) return c + 32;
    if (c >= 0x24B6 && c <= 0x24CF) return c + 26;
    char32_t out;
    if (alt_lower_of(c, out)) return out;
    return c;
}

char32_t py_upper(char32_t c) {
    if (c < 0x80) return (c >= 'a' && c <= 'z') ? c - 32 : c;
    char32_t base;
    if (digraph_position(c, base) >= 0) return base;
    if (c >= 0xE0 && c <= 0xFE && c != 0xF7) return c - 32;
    if (c == 0xFF) return 0x178;
    if (c == 0xB5) return 0x39C;
    if (c >= 0x3B1 && c <= 0x3CB && c != 0x3C2) return c - 32;
    if (c == 0x3C2) return 0x3A3;
    if (c == 0x3AC) return 0x386;
    if (c >= 0x3AD && c <= 0x3AF) return c - 37;
    if (c == 0x3CC) return 0x38C;
    if (c == 0x3CD || c == 0x3CE) return c - 63;
    if (c >= 0x430 && c <= 0x44F) return c - 32;
    if (c >= 0x450 && c <= 0x45F) return c - 80;
    if (c >= 0x561 && c <= 0x586) return c - 48;
    if (c >= 0xFF41 && c <= 0xFF5A) return c - 32;
    if (c >= 0x24D0 && c <= 0x24E9) return c - 26;
    char32_t out;
    if (alt_upper_of(c, out)) return out;
    return c;
}

bool py_isupper(char32_t c) { return py_lower(c) != c; }
bool py_islower(char32_t c) { return py_upper(c) != c || c == 0xDF; }
bool py_is_cased(char32_t c) { return py_isupper(c) || py_islower(c); }

bool py_isdigit(char32_t c) { return (c >= '0' && c <= '9') || (c >= 0xFF10 && c <= 0xFF19) || (c >= 0x660 && c <= 0x669); }

bool py_isalpha(char32_t c) {
    if (c < 0x80) return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (py_is_cased(c)) return true;
    // Caseless letters of common scripts: CJK, kana, hangul, Arabic, Hebrew, Devanagari, Thai.
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x3041 && c <= 0x3096) ||
           (c >= 0x30A1 && c <= 0x30FA) || (c >= 0xAC00 && c <= 0xD7A3) || (c >= 0x05D0 && c <= 0x05EA) ||
           (c >= 0x0620 && c <= 0x064A) || (c >= 0x0904 && c <= 0x0939) || (c >= 0x0E01 && c <= 0x0E30) ||
           c == 0xAA || c == 0xBA || c == 0xDF;
}

std::u32string py_strip(std::u32string_view s, bool left, bool right) {
    size_t b = 0, e = s.size();
    if (left)
        while (b < e && py_isspace(s[b])) ++b;
    if (right)
        while (e > b && py_isspace(s[e - 1])) --e;
    return std::u32string(s.substr(b, e - b));
}

std::u32string py_strip_chars(std::u32string_view s, std::u32string_view chars, bool left, bool right) {
    size_t b = 0, e = s.size();
    if (left)
        while (b < e && chars.find(s[b]) != std::u32string_view::npos) ++b;
    if (right)
        while (e > b && chars.find(s[e - 1]) != std::u32string_view::npos) --e;
    return std::u32string(s.substr(b, e - b));
}

std::string py_lower(std::string_view s) {
    const std::u32string u = utf8_decode(s);
    std::u32string out(u.size(), 0);
    for (size_t i = 0; i < u.size(); ++i) {
        // Capital sigma becomes final sigma at the end of a word: after a cased letter, not before one.
        if (u[i] == 0x3A3 && i > 0 && py_is_cased(u[i - 1]) && (i + 1 == u.size() || !py_is_cased(u[i + 1]))) {
            out[i] = 0x3C2;
        } else {
            out[i] = py_lower(u[i]);
        }
    }
    return utf8_encode(out);
}

std::string py_upper(std::string_view s) {
    std::u32string u = utf8_decode(s);
    std::u32string out;
    out.reserve(u.size());
    for (char32_t c : u) {
        if (c == 0xDF) {  // German sharp s upper-cases to two letters
            out += U"SS";
        } else {
            out.push_back(py_upper(c));
        }
    }
    return utf8_encode(out);
}

std::string py_title(std::string_view s) {
    std::u32string u = utf8_decode(s);
    bool previous_cased = false;
    for (char32_t& c : u) {
        const bool cased = py_is_cased(c);
        if (cased) c = previous_cased ? py_lower(c) : py_upper(c);
        previous_cased = cased;
    }
    return utf8_encode(u);
}

std::string py_capitalize(std::string_view s) {
    std::u32string u = utf8_decode(s);
    for (size_t i = 0; i < u.size(); ++i) u[i] = i == 0 ? py_upper(u[i]) : py_lower(u[i]);
    return utf8_encode(u);
}

}  // namespace awq::jinja
