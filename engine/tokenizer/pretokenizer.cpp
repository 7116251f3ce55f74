#include "tokenizer/pretokenizer.h"

#include <algorithm>

#include "tokenizer/byte_level.h"

namespace awq {

const char* const kGpt2SplitRegex = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

namespace {

using Range = std::pair<size_t, size_t>;
struct Marked {
    Range r;
    bool is_match;
};

// Turns a list of matches into the full cover of [0, size) with match flags (tokenizers' Pattern).
void cover(size_t size, const std::vector<Range>& matches, bool invert, std::vector<Marked>& out) {
    out.clear();
    size_t prev = 0;
    for (const auto& m : matches) {
        if (prev != m.first) out.push_back({{prev, m.first}, invert});
        out.push_back({m, !invert});
        prev = m.second;
    }
    if (prev != size) out.push_back({{prev, size}, invert});
}

// The pieces kept for each behavior, as in tokenizers' NormalizedString::split.
void apply_behavior(const std::vector<Marked>& marks, SplitBehavior behavior, std::vector<Range>& out) {
    out.clear();
    switch (behavior) {
        case SplitBehavior::Isolated:
            for (const auto& m : marks) out.push_back(m.r);
            break;
        case SplitBehavior::Removed:
            for (const auto& m : marks)
                if (!m.is_match) out.push_back(m.r);
            break;
        case SplitBehavior::Contiguous: {
            bool prev_match = false;
            for (const auto& m : marks) {
                if (m.is_match == prev_match && !out.empty())
                    out.back().second = m.r.second;
                else
                    out.push_back(m.r);
                prev_match = m.is_match;
            }
            break;
        }
        case SplitBehavior::MergedWithPrevious: {
            bool prev_match = false;
            for (const auto& m : marks) {
                if (m.is_match && !prev_match && !out.empty())
                    out.back().second = m.r.second;
                else
                    out.push_back(m.r);
                prev_match = m.is_match;
            }
            break;
        }
        case SplitBehavior::MergedWithNext: {
            bool prev_match = false;
            for (auto it = marks.rbegin(); it != marks.rend(); ++it) {
                if (it->is_match && !prev_match && !out.empty())
                    out.back().first = it->r.first;
                else
                    out.push_back(it->r);
                prev_match = it->is_match;
            }
            std::reverse(out.begin(), out.end());
            break;
        }
    }
}

// Splits every piece with `find` (which fills the matches of one piece) and `behavior`.
template <class Find>
void split_pieces(std::vector<PreToken>& pieces, SplitBehavior behavior, bool invert, Find&& find) {
    std::vector<PreToken> out;
    out.reserve(pieces.size() * 2);
    std::vector<Range> matches, ranges;
    std::vector<Marked> marks;
    for (auto& p : pieces) {
        matches.clear();
        find(p.text, matches);
        if (matches.empty() && !invert) {
            // No delimiter: the piece stays whole under every behavior except Removed of everything,
            // which cannot happen without a match.
            if (!p.text.empty()) out.push_back(std::move(p));
            continue;
        }
        cover(p.text.size(), matches, invert, marks);
        apply_behavior(marks, behavior, ranges);
        for (const auto& r : ranges) {
            if (r.second <= r.first) continue;
            out.push_back({p.text.substr(r.first, r.second - r.first), p.at_origin && r.first == 0});
        }
    }
    pieces = std::move(out);
}

void find_literal(const std::string& needle, const std::string& text, std::vector<Range>& out) {
    if (needle.empty()) return;
    for (size_t pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + needle.size()))
        out.emplace_back(pos, pos + needle.size());
}

const Pcre2Regex& gpt2_regex() {
    static const Pcre2Regex re(kGpt2SplitRegex, "ByteLevel pre-tokenizer");
    return re;
}

const Pcre2Regex& numeric_regex() {
    static const Pcre2Regex re(R"(\p{N})", "Digits pre-tokenizer");
    return re;
}

}  // namespace

std::unique_ptr<SplitPreTokenizer> SplitPreTokenizer::regex(const std::string& pattern, SplitBehavior behavior,
                                                            bool invert, const std::string& where) {
    std::unique_ptr<SplitPreTokenizer> s(new SplitPreTokenizer());
    s->regex_ = std::make_unique<Pcre2Regex>(pattern, where);
    s->behavior_ = behavior;
    s->invert_ = invert;
    return s;
}

std::unique_ptr<SplitPreTokenizer> SplitPreTokenizer::literal(std::string pattern, SplitBehavior behavior,
                                                              bool invert) {
    std::unique_ptr<SplitPreTokenizer> s(new SplitPreTokenizer());
    s->literal_ = std::move(pattern);
    s->behavior_ = behavior;
    s->invert_ = invert;
    return s;
}

void SplitPreTokenizer::pre_tokenize(std::vector<PreToken>& pieces) const {
    split_pieces(pieces, behavior_, invert_, [this](const std::string& text, std::vector<Range>& m) {
        if (regex_)
            regex_->find_all(text, m);
        else
            find_literal(literal_, text, m);
    });
}

void ByteLevelPreTokenizer::pre_tokenize(std::vector<PreToken>& pieces) const {
    if (add_prefix_space_)
        for (auto& p : pieces)
            if (p.text.empty() || p.text[0] != ' ') p.text.insert(0, 1, ' ');
    if (use_regex_)
        split_pieces(pieces, SplitBehavior::Isolated, false,
                     [](const std::string& text, std::vector<Range>& m) { gpt2_regex().find_all(text, m); });
    for (auto& p : pieces) p.text = byte_level_encode(p.text);
}

void DigitsPreTokenizer::pre_tokenize(std::vector<PreToken>& pieces) const {
    split_pieces(pieces, individual_ ? SplitBehavior::Isolated : SplitBehavior::Contiguous, false,
                 [](const std::string& text, std::vector<Range>& m) {
                     // ASCII text without digits is the common case; skip the regex for it.
                     bool maybe = false;
                     for (char c : text)
                         if ((c >= '0' && c <= '9') || (static_cast<unsigned char>(c) >= 0x80)) {
                             maybe = true;
                             break;
                         }
                     if (maybe) numeric_regex().find_all(text, m);
                 });
}

void MetaspacePreTokenizer::pre_tokenize(std::vector<PreToken>& pieces) const {
    for (auto& p : pieces) {
        std::string t;
        t.reserve(p.text.size() + replacement_.size());
        for (char c : p.text) {
            if (c == ' ')
                t += replacement_;
            else
                t += c;
        }
        const bool starts = t.compare(0, replacement_.size(), replacement_) == 0;
        if (!starts && (scheme_ == PrependScheme::Always || (scheme_ == PrependScheme::First && p.at_origin)))
            t.insert(0, replacement_);
        p.text = std::move(t);
    }
    if (split_)
        split_pieces(pieces, SplitBehavior::MergedWithNext, false,
                     [this](const std::string& text, std::vector<Range>& m) { find_literal(replacement_, text, m); });
}

void SequencePreTokenizer::pre_tokenize(std::vector<PreToken>& pieces) const {
    for (const auto& s : steps_) s->pre_tokenize(pieces);
}

}  // namespace awq
