#pragma once
// Splits Jinja source into tokens the way Jinja2's lexer does with the environment transformers uses for
// chat templates (trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False): template text, tag
// delimiters, and the names/literals/operators inside tags. Whitespace control (`{%-`, `-%}`, `{%+`, `+%}`)
// and comments are resolved here, so the parser only sees the text that is really output.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace awq::jinja {

enum class TokenType {
    Data,           // template text, output as is
    VariableBegin,  // {{
    VariableEnd,    // }}
    BlockBegin,     // {%
    BlockEnd,       // %}
    Name,
    String,    // text holds the decoded value
    Integer,   // int_value
    Float,     // float_value
    Operator,  // text holds the operator, e.g. "==", "|", "("
    End,
};

struct Token {
    TokenType type;
    std::string text;
    int line = 1;
    int64_t int_value = 0;
    double float_value = 0.0;
};

// Throws TemplateError (with the line) on unterminated tags, comments or strings and on unexpected characters.
std::vector<Token> tokenize(std::string_view source);

}  // namespace awq::jinja
