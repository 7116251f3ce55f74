#include "tokenizer/normalizer.h"

#include "tokenizer/unicode_nfc.h"

namespace awq {

void PrependNormalizer::normalize(std::string& text) const {
    if (!text.empty()) text.insert(0, prefix_);
}

std::unique_ptr<ReplaceNormalizer> ReplaceNormalizer::literal(std::string pattern, std::string content) {
    std::unique_ptr<ReplaceNormalizer> r(new ReplaceNormalizer());
    r->literal_ = std::move(pattern);
    r->content_ = std::move(content);
    return r;
}

std::unique_ptr<ReplaceNormalizer> ReplaceNormalizer::regex(const std::string& pattern, std::string content,
                                                            const std::string& where) {
    std::unique_ptr<ReplaceNormalizer> r(new ReplaceNormalizer());
    r->regex_ = std::make_unique<Pcre2Regex>(pattern, where);
    r->content_ = std::move(content);
    return r;
}

std::string ReplaceNormalizer::apply(const std::string& text) const {
    std::string out;
    if (regex_) {
        std::vector<std::pair<size_t, size_t>> m;
        regex_->find_all(text, m);
        if (m.empty()) return text;
        size_t prev = 0;
        for (auto [b, e] : m) {
            out.append(text, prev, b - prev);
            out += content_;
            prev = e;
        }
        out.append(text, prev, std::string::npos);
        return out;
    }
    if (literal_.empty()) return text;  // an empty pattern matches nothing, as in `tokenizers`
    size_t prev = 0;
    for (size_t pos = text.find(literal_); pos != std::string::npos; pos = text.find(literal_, prev)) {
        out.append(text, prev, pos - prev);
        out += content_;
        prev = pos + literal_.size();
    }
    out.append(text, prev, std::string::npos);
    return out;
}

void ReplaceNormalizer::normalize(std::string& text) const { text = apply(text); }

void UnicodeNormalizer::normalize(std::string& text) const {
    std::string out = form_ == Form::NFC ? nfc(text) : nfd(text);
    text.swap(out);
}

void SequenceNormalizer::normalize(std::string& text) const {
    for (const auto& s : steps_) s->normalize(text);
}

}  // namespace awq
