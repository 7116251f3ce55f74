#include "tokenizer/added_tokens.h"

#include <algorithm>

#include "tokenizer/normalizer.h"
#include "tokenizer/unicode_classes.h"
#include "tokenizer/utf8.h"

namespace awq {
namespace {

// The character ending at byte `end` (exclusive); text is valid UTF-8.
char32_t char_before(std::string_view text, size_t end, size_t& start) {
    size_t b = end - 1;
    while (b > 0 && (static_cast<unsigned char>(text[b]) & 0xC0) == 0x80) --b;
    char32_t c = 0;
    utf8::decode(text, b, c);
    start = b;
    return c;
}

bool ends_with_word(std::string_view text) {
    if (text.empty()) return false;
    size_t b = 0;
    return is_word_char(char_before(text, text.size(), b));
}

bool starts_with_word(std::string_view text) {
    char32_t c = 0;
    return !text.empty() && utf8::decode(text, 0, c) && is_word_char(c);
}

// Start of the whitespace run that ends `text`.
size_t trailing_space_start(std::string_view text) {
    size_t end = text.size();
    while (end > 0) {
        size_t b = 0;
        if (!is_white_space(char_before(text, end, b))) break;
        end = b;
    }
    return end;
}

// Length of the whitespace run that starts `text`.
size_t leading_space_length(std::string_view text) {
    size_t i = 0;
    while (i < text.size()) {
        char32_t c = 0;
        const size_t n = utf8::decode(text, i, c);
        if (!n || !is_white_space(c)) break;
        i += n;
    }
    return i;
}

}  // namespace

void AddedTokens::add(AddedToken token) {
    if (token.content.empty()) return;  // tokenizers ignores empty added tokens
    if (auto it = by_id_.find(token.id); it != by_id_.end()) {
        by_content_.erase(tokens_[it->second].content);
        tokens_[it->second] = token;
        by_content_[token.content] = it->second;
        return;
    }
    if (auto it = by_content_.find(token.content); it != by_content_.end()) {
        by_id_.erase(tokens_[it->second].id);
        tokens_[it->second] = token;
        by_id_[token.id] = it->second;
        return;
    }
    by_id_[token.id] = tokens_.size();
    by_content_[token.content] = tokens_.size();
    tokens_.push_back(std::move(token));
}

void AddedTokens::finalize(const Normalizer* normalizer) {
    match_forms_.clear();
    special_contents_.clear();
    for (const auto& t : tokens_) {
        std::string form = t.content;
        if (t.normalized && normalizer) normalizer->normalize(form);
        match_forms_.push_back(std::move(form));
        if (t.special) special_contents_.insert(t.content);
    }
    build(raw_, false);
    build(normalized_, true);
}

void AddedTokens::build(Matcher& m, bool normalized) const {
    m.by_first_byte.assign(256, {});
    m.empty = true;
    for (size_t i = 0; i < tokens_.size(); ++i) {
        if (tokens_[i].normalized != normalized || match_forms_[i].empty()) continue;
        m.by_first_byte[static_cast<unsigned char>(match_forms_[i][0])].emplace_back(match_forms_[i], i);
        m.empty = false;
    }
    for (auto& bucket : m.by_first_byte)
        std::stable_sort(bucket.begin(), bucket.end(),
                         [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
}

void AddedTokens::find_matches(std::string_view text, const Matcher& m, std::vector<Segment>& out) const {
    size_t start_offset = 0;  // end of what has been emitted so far
    size_t pos = 0;           // where the search for the next match resumes
    while (pos < text.size()) {
        size_t mstart = text.size(), mend = 0, index = 0;
        for (size_t i = pos; i < text.size(); ++i) {
            const auto& bucket = m.by_first_byte[static_cast<unsigned char>(text[i])];
            if (bucket.empty()) continue;
            for (const auto& [pattern, idx] : bucket) {
                if (text.compare(i, pattern.size(), pattern) == 0) {
                    mstart = i;
                    mend = i + pattern.size();
                    index = idx;
                    break;
                }
            }
            if (mend) break;
        }
        if (!mend) break;
        pos = mend;
        const AddedToken& tok = tokens_[index];
        size_t start = mstart, stop = mend;
        if (tok.single_word) {
            const bool start_space = start == 0 || !ends_with_word(text.substr(0, start));
            const bool stop_space = stop == text.size() || !starts_with_word(text.substr(stop));
            if (!start_space || !stop_space) continue;
        }
        if (tok.lstrip) start = std::max(trailing_space_start(text.substr(0, start)), start_offset);
        if (tok.rstrip) stop += leading_space_length(text.substr(stop));
        if (start_offset < start) out.push_back({start_offset, start, -1});
        out.push_back({start, stop, tok.id});
        start_offset = stop;
    }
    if (start_offset < text.size()) out.push_back({start_offset, text.size(), -1});
}

void AddedTokens::split(std::string_view text, bool normalized_tokens, std::vector<Segment>& out) const {
    out.clear();
    if (text.empty()) return;
    const Matcher& m = normalized_tokens ? normalized_ : raw_;
    if (m.empty) {
        out.push_back({0, text.size(), -1});
        return;
    }
    find_matches(text, m, out);
}

const AddedToken* AddedTokens::find(int32_t id) const {
    auto it = by_id_.find(id);
    return it == by_id_.end() ? nullptr : &tokens_[it->second];
}

std::optional<int32_t> AddedTokens::find(std::string_view content) const {
    auto it = by_content_.find(std::string(content));
    if (it == by_content_.end()) return std::nullopt;
    return tokens_[it->second].id;
}

const std::string* AddedTokens::decode_form(int32_t id) const {
    auto it = by_id_.find(id);
    if (it == by_id_.end()) return nullptr;
    return match_forms_.size() == tokens_.size() ? &match_forms_[it->second] : &tokens_[it->second].content;
}

}  // namespace awq
