#include "tokenizer/unicode_classes.h"

#include <string>

#include "tokenizer/pcre2_regex.h"
#include "tokenizer/utf8.h"

namespace awq {

bool is_white_space(char32_t c) {
    return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

bool is_word_char(char32_t c) {
    if (c < 0x80) return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    static const Pcre2Regex word(R"(^[\p{L}\p{M}\p{Nd}\p{Nl}\p{Pc}\x{200C}\x{200D}])", "unicode word class");
    std::string s;
    utf8::append(s, c);
    return word.search(s);
}

}  // namespace awq
