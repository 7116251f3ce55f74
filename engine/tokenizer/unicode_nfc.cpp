#include "tokenizer/unicode_nfc.h"

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <vector>

#include "core/error.h"
#include "tokenizer/utf8.h"

namespace awq {
namespace {

namespace tables {
struct Decomposition {
    char32_t cp, first, second;  // second == 0: singleton
};
struct CombiningClassRun {
    char32_t first, last;
    uint8_t ccc;
};
struct CodePointRange {
    char32_t first, last;
};
#include "unicode_nfc_tables.inc"

// Every lookup below is a binary search, so a table out of order would give wrong answers silently.
static_assert(std::is_sorted(std::begin(kDecompositions), std::end(kDecompositions),
                             [](const Decomposition& a, const Decomposition& b) { return a.cp < b.cp; }));
static_assert(std::is_sorted(std::begin(kCompositions), std::end(kCompositions), [](uint16_t a, uint16_t b) {
    const Decomposition &x = kDecompositions[a], &y = kDecompositions[b];
    return x.first != y.first ? x.first < y.first : x.second < y.second;
}));
static_assert(std::is_sorted(std::begin(kCombiningClasses), std::end(kCombiningClasses),
                             [](const CombiningClassRun& a, const CombiningClassRun& b) { return a.last < b.first; }));
static_assert(std::is_sorted(std::begin(kNfcUnstable), std::end(kNfcUnstable),
                             [](const CodePointRange& a, const CodePointRange& b) { return a.last < b.first; }));
}  // namespace tables

// Hangul syllables are <L V> or <LV T> compositions of conjoining jamo, by arithmetic (Unicode 3.12).
constexpr char32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr char32_t kLCount = 19, kVCount = 21, kTCount = 28;
constexpr char32_t kSCount = kLCount * kVCount * kTCount;

// Nothing below these code points decomposes, has a combining class, or composes with what precedes it.
constexpr char32_t kFirstDecomposable = 0xC0;
constexpr char32_t kFirstUnstable = 0x300;

struct Char {
    char32_t cp;
    uint8_t ccc;
};

uint8_t combining_class(char32_t c) {
    if (c < kFirstUnstable) return 0;
    const auto& t = tables::kCombiningClasses;
    auto it = std::upper_bound(std::begin(t), std::end(t), c,
                               [](char32_t v, const tables::CombiningClassRun& r) { return v < r.first; });
    if (it == std::begin(t)) return 0;
    --it;
    return c <= it->last ? it->ccc : 0;
}

bool is_nfc_unstable(char32_t c) {
    if (c < kFirstUnstable) return false;
    const auto& t = tables::kNfcUnstable;
    auto it = std::upper_bound(std::begin(t), std::end(t), c,
                               [](char32_t v, const tables::CodePointRange& r) { return v < r.first; });
    return it != std::begin(t) && c <= std::prev(it)->last;
}

const tables::Decomposition* find_decomposition(char32_t c) {
    if (c < kFirstDecomposable) return nullptr;
    const auto& t = tables::kDecompositions;
    auto it = std::lower_bound(std::begin(t), std::end(t), c,
                               [](const tables::Decomposition& d, char32_t v) { return d.cp < v; });
    return it != std::end(t) && it->cp == c ? it : nullptr;
}

// The primary composite of <a, b>, or 0 when there is none.
char32_t compose_pair(char32_t a, char32_t b) {
    if (a >= kLBase && a < kLBase + kLCount && b >= kVBase && b < kVBase + kVCount)
        return kSBase + ((a - kLBase) * kVCount + (b - kVBase)) * kTCount;
    if (a >= kSBase && a < kSBase + kSCount && (a - kSBase) % kTCount == 0 && b > kTBase && b < kTBase + kTCount)
        return a + (b - kTBase);
    const auto& t = tables::kCompositions;
    auto it = std::lower_bound(std::begin(t), std::end(t), std::pair{a, b}, [](uint16_t i, std::pair<char32_t, char32_t> v) {
        const tables::Decomposition& d = tables::kDecompositions[i];
        return d.first != v.first ? d.first < v.first : d.second < v.second;
    });
    if (it == std::end(t)) return 0;
    const tables::Decomposition& d = tables::kDecompositions[*it];
    return d.first == a && d.second == b ? d.cp : 0;
}

// Appends c to a canonically ordered buffer, keeping it ordered: a non-starter moves back past the
// non-starters of higher class (a stable insertion, as the canonical ordering algorithm requires).
void append_ordered(std::vector<Char>& buf, char32_t c) {
    const uint8_t cc = combining_class(c);
    buf.push_back({c, cc});
    if (cc == 0) return;
    for (size_t i = buf.size() - 1; i > 0 && buf[i - 1].ccc > cc; --i) std::swap(buf[i - 1], buf[i]);
}

void decompose_into(std::vector<Char>& buf, char32_t c) {
    if (c >= kSBase && c < kSBase + kSCount) {
        const char32_t s = c - kSBase;
        append_ordered(buf, kLBase + s / (kVCount * kTCount));
        append_ordered(buf, kVBase + (s % (kVCount * kTCount)) / kTCount);
        if (s % kTCount) append_ordered(buf, kTBase + s % kTCount);
        return;
    }
    if (const tables::Decomposition* d = find_decomposition(c)) {
        decompose_into(buf, d->first);
        if (d->second) decompose_into(buf, d->second);
        return;
    }
    append_ordered(buf, c);
}

[[noreturn]] void invalid_utf8(size_t pos) {
    throw Error("Unicode normalization", "text is not valid UTF-8 (byte " + std::to_string(pos) + ")");
}

std::vector<Char> decompose(std::string_view s) {
    std::vector<Char> buf;
    buf.reserve(s.size() + s.size() / 4);
    for (size_t i = 0; i < s.size();) {
        char32_t c = 0;
        const size_t n = utf8::decode(s, i, c);
        if (n == 0) invalid_utf8(i);
        decompose_into(buf, c);
        i += n;
    }
    return buf;
}

// Canonical composition in place: each character combines with the last starter unless a character
// between them is a starter or has a class at least as high as its own (it is "blocked").
void compose(std::vector<Char>& buf) {
    size_t starter = 0;
    bool have_starter = false;
    int last_cc = -1;  // class of the last character kept after the starter; -1: none kept since it
    size_t out = 0;
    for (size_t i = 0; i < buf.size(); ++i) {
        const Char ch = buf[i];
        if (have_starter && last_cc < int{ch.ccc}) {
            if (const char32_t composite = compose_pair(buf[starter].cp, ch.cp)) {
                buf[starter].cp = composite;
                continue;
            }
        }
        if (ch.ccc == 0) {
            starter = out;
            have_starter = true;
            last_cc = -1;
        } else {
            last_cc = ch.ccc;
        }
        buf[out++] = ch;
    }
    buf.resize(out);
}

std::string encode(const std::vector<Char>& buf) {
    std::string out;
    out.reserve(buf.size() * 2);
    for (const Char& c : buf) utf8::append(out, c.cp);
    return out;
}

// True when nothing in s can change under NFC. Stops at the first code point that might; validates the
// whole text when it returns true.
bool quick_check_nfc(std::string_view s) {
    if (std::all_of(s.begin(), s.end(), [](char b) { return static_cast<unsigned char>(b) < 0xCC; })) {
        // Only lead bytes of code points below U+0300: stable, once the sequences are known to be valid.
        if (auto bad = utf8::first_invalid(s)) invalid_utf8(*bad);
        return true;
    }
    for (size_t i = 0; i < s.size();) {
        char32_t c = 0;
        const size_t n = utf8::decode(s, i, c);
        if (n == 0) invalid_utf8(i);
        if (is_nfc_unstable(c)) return false;
        i += n;
    }
    return true;
}

}  // namespace

std::string nfc(std::string_view utf8) {
    if (quick_check_nfc(utf8)) return std::string(utf8);
    std::vector<Char> buf = decompose(utf8);
    compose(buf);
    return encode(buf);
}

std::string nfd(std::string_view utf8) {
    if (std::all_of(utf8.begin(), utf8.end(), [](char b) { return static_cast<unsigned char>(b) < 0xC3; })) {
        // Code points below U+00C0 only: nothing to decompose or reorder.
        if (auto bad = utf8::first_invalid(utf8)) invalid_utf8(*bad);
        return std::string(utf8);
    }
    return encode(decompose(utf8));
}

std::string_view unicode_nfc_version() { return tables::kTablesUnicodeVersion; }

}  // namespace awq
