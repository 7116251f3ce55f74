#include "tokenizer/pcre2_regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "core/error.h"
#include "tokenizer/utf8.h"

namespace awq {
namespace {

std::string pcre2_message(int code) {
    PCRE2_UCHAR buf[256];
    pcre2_get_error_message(code, buf, sizeof(buf));
    return reinterpret_cast<const char*>(buf);
}

// Per-thread match context with a JIT stack large enough for long whitespace or letter runs (the
// default 32 KiB stack fails on patterns like `\s+(?!\S)` over a few thousand spaces).
struct ThreadMatchState {
    pcre2_match_context* context = nullptr;
    pcre2_jit_stack* jit_stack = nullptr;
    pcre2_match_data* data = nullptr;
    ThreadMatchState() {
        context = pcre2_match_context_create(nullptr);
        jit_stack = pcre2_jit_stack_create(64 * 1024, 64 * 1024 * 1024, nullptr);
        if (context && jit_stack) pcre2_jit_stack_assign(context, nullptr, jit_stack);
        data = pcre2_match_data_create(1, nullptr);
    }
    ~ThreadMatchState() {
        if (data) pcre2_match_data_free(data);
        if (jit_stack) pcre2_jit_stack_free(jit_stack);
        if (context) pcre2_match_context_free(context);
    }
};

ThreadMatchState& thread_state() {
    thread_local ThreadMatchState state;
    return state;
}

// Oniguruma's \s (what HF tokenizers' patterns are written for) is Unicode White_Space; PCRE2's also
// matches U+180E. Spell \s and \S out as the White_Space set so both engines split alike.
constexpr const char* kWhiteSpace = R"(\t\n\x{0B}\f\r\x{20}\x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000})";

std::string with_white_space_classes(const std::string& pattern) {
    std::string out;
    bool in_class = false;
    size_t class_start = 0;  // index just after '[' or '[^'
    for (size_t i = 0; i < pattern.size(); ++i) {
        const char c = pattern[i];
        if (c == '\\' && i + 1 < pattern.size()) {
            const char d = pattern[++i];
            if (d == 's')
                out += in_class ? std::string(kWhiteSpace) : "[" + std::string(kWhiteSpace) + "]";
            else if (d == 'S' && !in_class)
                out += "[^" + std::string(kWhiteSpace) + "]";
            else
                out += {c, d};  // \S inside a class has no spelled-out form; PCRE2's own is used there
            continue;
        }
        if (!in_class && c == '[') {
            in_class = true;
            out += c;
            if (i + 1 < pattern.size() && pattern[i + 1] == '^') out += pattern[++i];
            class_start = i + 1;
            continue;
        }
        if (in_class && c == '[' && i + 1 < pattern.size() && pattern[i + 1] == ':') {
            const size_t end = pattern.find(":]", i + 2);  // POSIX class such as [:alpha:]
            if (end != std::string::npos) {
                out.append(pattern, i, end + 2 - i);
                i = end + 1;
                continue;
            }
        }
        if (in_class && c == ']' && i != class_start) in_class = false;
        out += c;
    }
    return out;
}

}  // namespace

Pcre2Regex::Pcre2Regex(const std::string& pattern, const std::string& where) : pattern_(pattern), where_(where) {
    int err = 0;
    PCRE2_SIZE err_offset = 0;
    const std::string translated = with_white_space_classes(pattern);
    pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(translated.data()), translated.size(),
                                     PCRE2_UTF | PCRE2_UCP, &err, &err_offset, nullptr);
    if (!code)
        throw Error(where, "cannot compile regex '" + pattern + "' at offset " + std::to_string(err_offset) + ": " +
                               pcre2_message(err));
    pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // falls back to the interpreter when JIT is unavailable
    code_ = code;
}

Pcre2Regex::~Pcre2Regex() { pcre2_code_free(static_cast<pcre2_code*>(code_)); }

int Pcre2Regex::match_at(std::string_view text, size_t start, size_t& mbegin, size_t& mend) const {
    ThreadMatchState& st = thread_state();
    if (!st.data || !st.context) throw Error(where_, "out of memory creating a regex match context");
    // Callers validate the subject once (check_subject), so PCRE2 need not re-check it at every start offset.
    const int rc = pcre2_match(static_cast<pcre2_code*>(code_), reinterpret_cast<PCRE2_SPTR>(text.data()),
                               text.size(), start, PCRE2_NO_UTF_CHECK, st.data, st.context);
    if (rc == PCRE2_ERROR_NOMATCH) return 0;
    if (rc < 0) throw Error(where_, "regex '" + pattern_ + "' failed: " + pcre2_message(rc));
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(st.data);
    mbegin = ov[0];
    mend = ov[1];
    return 1;
}

void Pcre2Regex::check_subject(std::string_view text) const {
    if (auto bad = utf8::first_invalid(text))
        throw Error(where_, "regex subject is not valid UTF-8 (byte " + std::to_string(*bad) + ")");
}

void Pcre2Regex::find_all(std::string_view text, std::vector<std::pair<size_t, size_t>>& out) const {
    check_subject(text);
    size_t pos = 0;
    while (pos <= text.size()) {
        size_t b = 0, e = 0;
        if (!match_at(text, pos, b, e)) break;
        if (e > b) {
            out.emplace_back(b, e);
            pos = e;
        } else {
            // An empty match produces no split; step over one whole character and search again.
            if (b >= text.size()) break;
            size_t step = 1;
            while (b + step < text.size() && (static_cast<unsigned char>(text[b + step]) & 0xC0) == 0x80) ++step;
            pos = b + step;
        }
    }
}

bool Pcre2Regex::search(std::string_view text) const {
    check_subject(text);
    size_t b = 0, e = 0;
    return match_at(text, 0, b, e) != 0;
}

}  // namespace awq
