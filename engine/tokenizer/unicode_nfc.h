#pragma once
// Unicode canonical normalization (UAX #15) of UTF-8 text, for the "NFC" / "NFD" normalizers of
// tokenizer.json. Self-contained: the character data are generated from Python's unicodedata into
// unicode_nfc_tables.inc (see that file for its Unicode version and where Hugging Face tokenizers, which
// uses Unicode 9.0 data, can differ).
#include <string>
#include <string_view>

namespace awq {

// Normalization Form C: canonical decomposition, canonical ordering, canonical composition. Text that is
// visibly already NFC (only code points below U+0300, or only code points that never change under NFC)
// is returned as it is without being rebuilt. Invalid UTF-8 throws awq::Error.
std::string nfc(std::string_view utf8);

// Normalization Form D: canonical decomposition and canonical ordering only.
std::string nfd(std::string_view utf8);

// Unicode version of the tables, e.g. "14.0.0".
std::string_view unicode_nfc_version();

}  // namespace awq
