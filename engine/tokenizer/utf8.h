#pragma once
// UTF-8 helpers shared by the tokenizer stages. Strict decoding (no overlongs, surrogates or code points
// past U+10FFFF) so that invalid input is reported instead of being tokenized into something arbitrary.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace awq::utf8 {

// Decodes the character starting at s[pos]; returns its length in bytes, or 0 when the bytes there do
// not form a valid UTF-8 sequence (cp is then unspecified).
size_t decode(std::string_view s, size_t pos, char32_t& cp);

void append(std::string& out, char32_t cp);

// Byte offset of the first invalid sequence, or nullopt when the whole string is valid UTF-8.
std::optional<size_t> first_invalid(std::string_view s);

// Valid UTF-8 from arbitrary bytes: each maximal ill-formed subsequence becomes one U+FFFD, the rule
// Rust's String::from_utf8_lossy and Python's errors="replace" share (and so HF decoders produce).
std::string to_valid_lossy(std::string_view bytes);

// Length of the character whose first byte is `lead` (1 for bytes that cannot start a sequence).
inline size_t sequence_length(unsigned char lead) {
    if (lead < 0x80) return 1;
    if (lead >= 0xF0) return 4;
    if (lead >= 0xE0) return 3;
    if (lead >= 0xC0) return 2;
    return 1;
}

inline constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD";  // U+FFFD

}  // namespace awq::utf8
