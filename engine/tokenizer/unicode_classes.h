#pragma once
// Character classes the added-token matcher needs, with the meaning Rust's `regex` crate gives them in
// Hugging Face `tokenizers` (lstrip/rstrip strip White_Space; single_word looks at \w characters).
namespace awq {

bool is_white_space(char32_t c);  // Unicode White_Space property
bool is_word_char(char32_t c);    // letters, marks, decimal/letter numbers, connector punctuation, ZWJ/ZWNJ

}  // namespace awq
