#pragma once
// A compiled PCRE2 pattern in UTF + Unicode-property mode (\p{L}, \p{N}, Unicode \s and \w), used where
// Hugging Face `tokenizers` uses Oniguruma: Split pre-tokenizers, Replace normalizers and decoders.
// JIT-compiled when the platform supports it. Safe to use from several threads at once.
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace awq {

class Pcre2Regex {
public:
    // `where` names the file/construct the pattern came from, for the error message on a bad pattern.
    Pcre2Regex(const std::string& pattern, const std::string& where);
    ~Pcre2Regex();
    Pcre2Regex(const Pcre2Regex&) = delete;
    Pcre2Regex& operator=(const Pcre2Regex&) = delete;

    // Appends the byte ranges [begin, end) of all non-overlapping, non-empty matches in `text`, scanning
    // left to right as Oniguruma's find_iter does. Text that is not valid UTF-8 is an awq::Error.
    void find_all(std::string_view text, std::vector<std::pair<size_t, size_t>>& out) const;

    // True when the pattern matches somewhere in `text`.
    bool search(std::string_view text) const;

    const std::string& pattern() const { return pattern_; }

private:
    int match_at(std::string_view text, size_t start, size_t& mbegin, size_t& mend) const;
    void check_subject(std::string_view text) const;  // throws on invalid UTF-8

    std::string pattern_;
    std::string where_;
    void* code_ = nullptr;  // pcre2_code_8*, kept opaque so that callers need not include pcre2.h
};

}  // namespace awq
