#pragma once
// GPT-2's reversible byte <-> printable-character mapping used by byte-level BPE vocabularies: every
// byte becomes one visible Unicode character (space -> 'Ġ', newline -> 'Ċ', ...), so any byte string can
// be spelled with vocabulary entries.
#include <cstdint>
#include <string>
#include <string_view>

namespace awq {

// The character standing for byte b, as UTF-8.
std::string_view byte_level_char(uint8_t b);

// Replaces every byte of `bytes` by its character.
std::string byte_level_encode(std::string_view bytes);

// The byte a character stands for, or -1 when the character is not in the 256-character alphabet.
int byte_level_byte(char32_t c);

// Appends the bytes a token spells when all its characters are in the alphabet and returns true;
// otherwise appends nothing and returns false.
bool byte_level_decode_token(std::string_view token, std::string& out);

}  // namespace awq
