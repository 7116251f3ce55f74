#include "chat/jinja_lexer.h"

#include <cstdio>

#include "chat/jinja_error.h"
#include "chat/jinja_unicode.h"

namespace awq::jinja {

namespace {

// Byte length of the whitespace character (str.isspace) at pos, 0 if there is none.
size_t space_len_at(std::string_view s, size_t pos) {
    const auto c = static_cast<unsigned char>(s[pos]);
    if (c < 0x80) return py_isspace(c) ? 1 : 0;
    size_t len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
    if (pos + len > s.size()) return 0;
    try {
        const std::u32string cp = utf8_decode(s.substr(pos, len));
        return (cp.size() == 1 && py_isspace(cp[0])) ? len : 0;
    } catch (const TemplateError&) {
        return 0;
    }
}

std::string rstrip_spaces(const std::string& text) {
    const std::u32string u = utf8_decode(text);
    return utf8_encode(py_strip(u, false, true));
}

bool all_spaces(std::string_view text) {
    if (text.empty()) return false;  // Jinja's \s+ needs at least one character
    size_t i = 0;
    while (i < text.size()) {
        const size_t n = space_len_at(text, i);
        if (n == 0) return false;
        i += n;
    }
    return true;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_name_char(char c) { return is_name_start(c) || is_digit(c); }
int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Jinja decodes string literals with Python's "unicode-escape" codec after a backslashreplace round trip.
std::string decode_string_literal(std::string_view body) {
    std::string out;
    const std::u32string cps = utf8_decode(body);
    for (size_t i = 0; i < cps.size(); ++i) {
        const char32_t c = cps[i];
        if (c != '\\') {
            utf8_append(out, c);
            continue;
        }
        if (i + 1 >= cps.size()) throw TemplateError("\\ at end of string");
        const char32_t e = cps[++i];
        auto read_hex = [&](int digits, const char* what) {
            char32_t v = 0;
            for (int k = 0; k < digits; ++k) {
                const int h = (i + 1 < cps.size() && cps[i + 1] < 0x80) ? hex_value(static_cast<char>(cps[i + 1])) : -1;
                if (h < 0) throw TemplateError(std::string("truncated ") + what + " escape");
                v = v * 16 + static_cast<char32_t>(h);
                ++i;
            }
            return v;
        };
        switch (e) {
            case '\n': break;  // line continuation
            case '\\': out.push_back('\\'); break;
            case '\'': out.push_back('\''); break;
            case '"': out.push_back('"'); break;
            case 'a': out.push_back('\a'); break;
            case 'b': out.push_back('\b'); break;
            case 'f': out.push_back('\f'); break;
            case 'n': out.push_back('\n'); break;
            case 'r': out.push_back('\r'); break;
            case 't': out.push_back('\t'); break;
            case 'v': out.push_back('\v'); break;
            case 'x': utf8_append(out, read_hex(2, "\\xXX")); break;
            case 'u': utf8_append(out, read_hex(4, "\\uXXXX")); break;
            case 'U': {
                const char32_t v = read_hex(8, "\\UXXXXXXXX");
                if (v > 0x10FFFF) throw TemplateError("illegal Unicode character");
                utf8_append(out, v);
                break;
            }
            case 'N': throw TemplateError("\\N{...} escapes are not supported");
            default:
                if (e >= '0' && e <= '7') {
                    char32_t v = e - '0';
                    for (int k = 0; k < 2 && i + 1 < cps.size() && cps[i + 1] >= '0' && cps[i + 1] <= '7'; ++k)
                        v = v * 8 + (cps[++i] - '0');
                    utf8_append(out, v);
                } else if (e >= 0x80) {
                    // backslashreplace turned the character into its \x/\u/\U escape, whose backslash then pairs
                    // with this one: the result is a backslash followed by the escape's text.
                    char buf[16];
                    if (e <= 0xFF)
                        std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(e));
                    else if (e <= 0xFFFF)
                        std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(e));
                    else
                        std::snprintf(buf, sizeof buf, "\\U%08x", static_cast<unsigned>(e));
                    out += buf;
                } else {
                    out.push_back('\\');
                    utf8_append(out, e);
                }
        }
    }
    return out;
}

class Lexer {
public:
    explicit Lexer(std::string_view source) {
        s_.reserve(source.size());
        for (size_t i = 0; i < source.size(); ++i) {
            if (source[i] == '\r') {
                s_.push_back('\n');
                if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
            } else {
                s_.push_back(source[i]);
            }
        }
        if (!s_.empty() && s_.back() == '\n') s_.pop_back();  // keep_trailing_newline=False
        utf8_decode(s_);
    }

    std::vector<Token> run() {
        while (pos_ < s_.size()) {
            const size_t p = find_tag_start(pos_);
            if (p == std::string::npos) {
                emit(TokenType::Data, s_.substr(pos_), line_);
                advance_to(s_.size());
                break;
            }
            const char kind = s_[p + 1];
            const char sign = (p + 2 < s_.size() && (s_[p + 2] == '-' || s_[p + 2] == '+')) ? s_[p + 2] : 0;
            const size_t raw_after = kind == '%' ? match_raw_begin(p + 2 + (sign ? 1 : 0)) : std::string::npos;

            std::string text = s_.substr(pos_, p - pos_);
            strip_before_tag(text, sign, kind == '{');
            if (!text.empty()) emit(TokenType::Data, std::move(text), line_);
            advance_to(p);

            if (raw_after != std::string::npos) {
                advance_to(raw_after);
                line_starting_ = s_[raw_after - 1] == '\n';
                lex_raw();
                continue;
            }
            const int tag_line = line_;
            advance_to(p + 2 + (sign ? 1 : 0));
            line_starting_ = false;
            if (kind == '#') {
                lex_comment(tag_line);
            } else {
                lex_tag(kind == '%', tag_line);
            }
        }
        // Jinja reports "unexpected end of template" at the line where the last token starts.
        out_.push_back(Token{TokenType::End, "", out_.empty() ? line_ : out_.back().line});
        return std::move(out_);
    }

private:
    size_t find_tag_start(size_t from) const {
        for (size_t i = s_.find('{', from); i != std::string::npos; i = s_.find('{', i + 1))
            if (i + 1 < s_.size() && (s_[i + 1] == '{' || s_[i + 1] == '%' || s_[i + 1] == '#')) return i;
        return std::string::npos;
    }

    size_t skip_spaces(size_t pos) const {
        while (pos < s_.size()) {
            const size_t n = space_len_at(s_, pos);
            if (n == 0) break;
            pos += n;
        }
        return pos;
    }

    bool starts(size_t pos, std::string_view what) const { return s_.compare(pos, what.size(), what) == 0; }

    // `{% raw %}` (after the `{%` and sign): returns the position after the tag or npos.
    size_t match_raw_begin(size_t pos) const {
        pos = skip_spaces(pos);
        if (!starts(pos, "raw")) return std::string::npos;
        pos = skip_spaces(pos + 3);
        if (starts(pos, "-%}")) return skip_spaces(pos + 3);
        if (starts(pos, "%}")) return pos + 2;
        return std::string::npos;
    }

    void strip_before_tag(std::string& text, char sign, bool is_variable) const {
        if (sign == '-') {
            text = rstrip_spaces(text);
        } else if (sign != '+' && !is_variable) {
            // lstrip_blocks: drop the indentation in front of a block tag that starts its line.
            const size_t nl = text.rfind('\n');
            const size_t l_pos = nl == std::string::npos ? 0 : nl + 1;
            if ((l_pos > 0 || line_starting_) && all_spaces(std::string_view(text).substr(l_pos))) text.resize(l_pos);
        }
    }

    void advance_to(size_t pos) {
        for (size_t i = pos_; i < pos; ++i)
            if (s_[i] == '\n') ++line_;
        pos_ = pos;
    }

    void emit(TokenType type, std::string text, int line) { out_.push_back(Token{type, std::move(text), line}); }

    // After a tag end: `-` strips all following whitespace, a plain block/comment end eats one newline
    // (trim_blocks), `+` keeps everything.
    void finish_tag(size_t end_pos, char sign, bool trim_newline) {
        size_t after = end_pos;
        if (sign == '-') {
            after = skip_spaces(end_pos);
        } else if (sign == 0 && trim_newline && after < s_.size() && s_[after] == '\n') {
            ++after;
        }
        advance_to(after);
        line_starting_ = after > 0 && s_[after - 1] == '\n';
    }

    void lex_comment(int tag_line) {
        for (size_t i = pos_; i < s_.size(); ++i) {
            if (starts(i, "+#}")) return finish_tag(i + 3, '+', true);
            if (starts(i, "-#}")) return finish_tag(i + 3, '-', true);
            if (starts(i, "#}")) return finish_tag(i + 2, 0, true);
        }
        throw TemplateError("missing end of comment tag '#}' for the comment opened at line " +
                                std::to_string(tag_line),
                            tag_line);
    }

    void lex_raw() {
        const int tag_line = line_;
        for (size_t i = s_.find("{%", pos_); i != std::string::npos; i = s_.find("{%", i + 1)) {
            const char sign = (i + 2 < s_.size() && (s_[i + 2] == '-' || s_[i + 2] == '+')) ? s_[i + 2] : 0;
            size_t q = skip_spaces(i + 2 + (sign ? 1 : 0));
            if (!starts(q, "endraw")) continue;
            q = skip_spaces(q + 6);
            char end_sign;
            size_t end_len;
            if (starts(q, "+%}")) {
                end_sign = '+';
                end_len = 3;
            } else if (starts(q, "-%}")) {
                end_sign = '-';
                end_len = 3;
            } else if (starts(q, "%}")) {
                end_sign = 0;
                end_len = 2;
            } else {
                continue;
            }
            std::string text = s_.substr(pos_, i - pos_);
            strip_before_tag(text, sign, false);
            if (!text.empty()) emit(TokenType::Data, std::move(text), line_);
            advance_to(i);
            finish_tag(q + end_len, end_sign, true);
            return;
        }
        throw TemplateError("missing end of raw directive ('{% endraw %}') for the raw block opened at line " +
                                std::to_string(tag_line),
                            tag_line);
    }

    void lex_tag(bool block, int tag_line) {
        emit(block ? TokenType::BlockBegin : TokenType::VariableBegin, block ? "{%" : "{{", tag_line);
        std::string balance;
        while (true) {
            if (pos_ >= s_.size())
                throw TemplateError(std::string("unexpected end of template: tag '") + (block ? "{%" : "{{") +
                                        "' opened at line " + std::to_string(tag_line) + " is never closed with '" +
                                        (block ? "%}" : "}}") + "'",
                                    line_);
            if (balance.empty()) {
                if (block) {
                    if (starts(pos_, "+%}")) return end_tag(TokenType::BlockEnd, 3, '+', true);
                    if (starts(pos_, "-%}")) return end_tag(TokenType::BlockEnd, 3, '-', true);
                    if (starts(pos_, "%}")) return end_tag(TokenType::BlockEnd, 2, 0, true);
                } else {
                    if (starts(pos_, "-}}")) return end_tag(TokenType::VariableEnd, 3, '-', false);
                    if (starts(pos_, "}}")) return end_tag(TokenType::VariableEnd, 2, 0, false);
                }
            }
            const size_t ws = skip_spaces(pos_);
            if (ws != pos_) {
                advance_to(ws);
                continue;
            }
            if (lex_number() || lex_name() || lex_string() || lex_operator(balance)) continue;
            const char c = s_[pos_];
            throw TemplateError(std::string("unexpected character '") + c + "' inside tag", line_);
        }
    }

    void end_tag(TokenType type, size_t len, char sign, bool trim_newline) {
        emit(type, "", line_);
        finish_tag(pos_ + len, sign, trim_newline);
    }

    // Digits with optional '_' separators; returns the end position or npos.
    size_t digits_end(size_t p, bool (*ok)(char)) const {
        if (p >= s_.size() || !ok(s_[p])) return std::string::npos;
        while (p < s_.size()) {
            if (ok(s_[p])) {
                ++p;
            } else if (s_[p] == '_' && p + 1 < s_.size() && ok(s_[p + 1])) {
                p += 2;
            } else {
                break;
            }
        }
        return p;
    }

    bool lex_number() {
        const size_t start = pos_;
        if (!is_digit(s_[start])) return false;
        const int line = line_;
        auto strip_underscores = [](std::string t) {
            std::string out;
            for (char c : t)
                if (c != '_') out.push_back(c);
            return out;
        };
        // Float: digits then (fraction? exponent | fraction), not directly after a '.'.
        if (start == 0 || s_[start - 1] != '.') {
            const size_t int_end = digits_end(start, is_digit);
            size_t p = int_end;
            bool has_fraction = false;
            if (p < s_.size() && s_[p] == '.') {
                const size_t frac_end = digits_end(p + 1, is_digit);
                if (frac_end != std::string::npos) {
                    p = frac_end;
                    has_fraction = true;
                }
            }
            size_t exp_end = std::string::npos;
            if (p < s_.size() && (s_[p] == 'e' || s_[p] == 'E')) {
                size_t q = p + 1;
                if (q < s_.size() && (s_[q] == '+' || s_[q] == '-')) ++q;
                exp_end = digits_end(q, is_digit);
            }
            if (exp_end != std::string::npos || has_fraction) {
                const size_t end = exp_end != std::string::npos ? exp_end : p;
                const std::string text = strip_underscores(s_.substr(start, end - start));
                Token t{TokenType::Float, text, line};
                t.float_value = std::strtod(text.c_str(), nullptr);
                out_.push_back(std::move(t));
                advance_to(end);
                return true;
            }
        }
        // Integer: 0b / 0o / 0x prefixes, decimal without leading zeros, or zero.
        size_t end;
        int base = 10;
        size_t digits_start = start;
        const char p1 = start + 1 < s_.size() ? static_cast<char>(s_[start + 1] | 0x20) : 0;
        auto prefixed = [&](bool (*ok)(char)) {
            size_t p = start + 2;
            if (p < s_.size() && s_[p] == '_') ++p;
            return digits_end(p, ok);
        };
        static bool (*const bin)(char) = [](char c) { return c == '0' || c == '1'; };
        static bool (*const oct)(char) = [](char c) { return c >= '0' && c <= '7'; };
        static bool (*const hex)(char) = [](char c) { return hex_value(c) >= 0; };
        if (s_[start] == '0' && p1 == 'b' && prefixed(bin) != std::string::npos) {
            end = prefixed(bin);
            base = 2;
            digits_start = start + 2;
        } else if (s_[start] == '0' && p1 == 'o' && prefixed(oct) != std::string::npos) {
            end = prefixed(oct);
            base = 8;
            digits_start = start + 2;
        } else if (s_[start] == '0' && p1 == 'x' && prefixed(hex) != std::string::npos) {
            end = prefixed(hex);
            base = 16;
            digits_start = start + 2;
        } else if (s_[start] == '0') {
            static bool (*const zero)(char) = [](char c) { return c == '0'; };
            end = digits_end(start, zero);
        } else {
            end = digits_end(start, is_digit);
        }
        const std::string digits = strip_underscores(s_.substr(digits_start, end - digits_start));
        int64_t value = 0;
        for (char c : digits) {
            const int d = hex_value(c);
            if (__builtin_mul_overflow(value, static_cast<int64_t>(base), &value) ||
                __builtin_add_overflow(value, static_cast<int64_t>(d), &value))
                throw TemplateError("integer literal " + s_.substr(start, end - start) + " is too large", line);
        }
        Token t{TokenType::Integer, s_.substr(start, end - start), line};
        t.int_value = value;
        out_.push_back(std::move(t));
        advance_to(end);
        return true;
    }

    bool lex_name() {
        if (!is_name_start(s_[pos_])) return false;
        size_t end = pos_ + 1;
        while (end < s_.size() && is_name_char(s_[end])) ++end;
        emit(TokenType::Name, s_.substr(pos_, end - pos_), line_);
        advance_to(end);
        return true;
    }

    bool lex_string() {
        const char quote = s_[pos_];
        if (quote != '\'' && quote != '"') return false;
        size_t i = pos_ + 1;
        while (i < s_.size() && s_[i] != quote) i += (s_[i] == '\\') ? 2 : 1;
        if (i >= s_.size()) throw TemplateError(std::string("unterminated string literal (missing closing ") + quote + ")", line_);
        const int line = line_;
        std::string value;
        try {
            value = decode_string_literal(std::string_view(s_).substr(pos_ + 1, i - pos_ - 1));
        } catch (TemplateError& e) {
            e.set_line_if_unknown(line);
            throw;
        }
        emit(TokenType::String, std::move(value), line);
        out_.back().line = line;
        advance_to(i + 1);
        return true;
    }

    bool lex_operator(std::string& balance) {
        static const char* const two[] = {"//", "**", "==", "!=", ">=", "<="};
        for (const char* op : two)
            if (starts(pos_, op)) {
                emit(TokenType::Operator, op, line_);
                advance_to(pos_ + 2);
                return true;
            }
        const char c = s_[pos_];
        static const std::string_view singles = "+-/*%~[](){}><=.:|,;";
        if (singles.find(c) == std::string_view::npos) return false;
        if (c == '(' || c == '[' || c == '{') {
            balance.push_back(c == '(' ? ')' : c == '[' ? ']' : '}');
        } else if (c == ')' || c == ']' || c == '}') {
            if (balance.empty()) throw TemplateError(std::string("unexpected '") + c + "'", line_);
            if (balance.back() != c)
                throw TemplateError(std::string("unexpected '") + c + "', expected '" + balance.back() + "'", line_);
            balance.pop_back();
        }
        emit(TokenType::Operator, std::string(1, c), line_);
        advance_to(pos_ + 1);
        return true;
    }

    std::string s_;
    size_t pos_ = 0;
    int line_ = 1;
    bool line_starting_ = true;
    std::vector<Token> out_;
};

}  // namespace

std::vector<Token> tokenize(std::string_view source) { return Lexer(source).run(); }

}  // namespace awq::jinja
