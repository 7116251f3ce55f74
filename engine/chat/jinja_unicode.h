#pragma once
// Python 3 `str` semantics on UTF-8 text: strings are sequences of code points (len, indexing, slicing),
// whitespace is what str.isspace() accepts, and case mapping follows str.upper()/lower() for the scripts
// chat content commonly uses (Latin, Greek, Cyrillic, Armenian, full-width Latin). Characters outside those
// tables keep their case, like caseless scripts do in Python.
#include <string>
#include <string_view>

namespace awq::jinja {

// Throws TemplateError on malformed UTF-8 (Python strings cannot hold it either).
std::u32string utf8_decode(std::string_view text);
std::string utf8_encode(std::u32string_view text);
void utf8_append(std::string& out, char32_t cp);
size_t utf8_length(std::string_view text);  // number of code points

bool py_isspace(char32_t cp);
bool py_isprintable(char32_t cp);  // as str.isprintable(), used by repr()
char32_t py_lower(char32_t cp);
char32_t py_upper(char32_t cp);
bool py_is_cased(char32_t cp);  // has an upper or lower case form
bool py_isupper(char32_t cp);
bool py_islower(char32_t cp);
bool py_isalpha(char32_t cp);
bool py_isdigit(char32_t cp);

std::u32string py_strip(std::u32string_view s, bool left, bool right);                        // whitespace
std::u32string py_strip_chars(std::u32string_view s, std::u32string_view chars, bool left, bool right);
std::string py_lower(std::string_view s);
std::string py_upper(std::string_view s);
std::string py_title(std::string_view s);       // str.title()
std::string py_capitalize(std::string_view s);  // str.capitalize()

}  // namespace awq::jinja
