#include "tokenizer/token_decoder.h"

#include "tokenizer/byte_level.h"
#include "tokenizer/utf8.h"

namespace awq {
namespace {

std::vector<char32_t> code_points(const std::string& s) {
    std::vector<char32_t> cps;
    size_t i = 0;
    while (i < s.size()) {
        char32_t c = 0;
        size_t n = utf8::decode(s, i, c);
        if (!n) {  // strings here come from the vocabulary or from lossy decoding, so are valid
            c = 0xFFFD;
            n = 1;
        }
        cps.push_back(c);
        i += n;
    }
    return cps;
}

// "<0xXX>" -> XX, or -1.
int byte_token_value(const std::string& t) {
    if (t.size() != 6 || t.compare(0, 3, "<0x") != 0 || t[5] != '>') return -1;
    auto hex = [](char c) {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    const int hi = hex(t[3]), lo = hex(t[4]);
    return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

}  // namespace

std::string TokenDecoder::decode(std::vector<std::string> tokens) const {
    decode_chain(tokens);
    std::string out;
    for (const auto& t : tokens) out += t;
    return out;
}

void ByteLevelDecoder::decode_chain(std::vector<std::string>& tokens) const {
    std::string bytes;
    for (const auto& t : tokens)
        if (!byte_level_decode_token(t, bytes)) bytes += t;  // not byte-level (e.g. an added token): as is
    tokens.assign(1, utf8::to_valid_lossy(bytes));
}

void ByteFallbackDecoder::decode_chain(std::vector<std::string>& tokens) const {
    std::vector<std::string> out;
    out.reserve(tokens.size());
    std::string pending;
    auto flush = [&] {
        if (pending.empty()) return;
        if (!utf8::first_invalid(pending))
            out.push_back(pending);
        else
            for (size_t k = 0; k < pending.size(); ++k) out.emplace_back(utf8::kReplacementChar);
        pending.clear();
    };
    for (auto& t : tokens) {
        const int b = byte_token_value(t);
        if (b >= 0) {
            pending += static_cast<char>(b);
        } else {
            flush();
            out.push_back(std::move(t));
        }
    }
    flush();
    tokens = std::move(out);
}

void FuseDecoder::decode_chain(std::vector<std::string>& tokens) const {
    std::string all;
    for (const auto& t : tokens) all += t;
    tokens.assign(1, std::move(all));
}

void ReplaceDecoder::decode_chain(std::vector<std::string>& tokens) const {
    for (auto& t : tokens) t = replace_->apply(t);
}

void StripDecoder::decode_chain(std::vector<std::string>& tokens) const {
    for (auto& t : tokens) {
        const std::vector<char32_t> cps = code_points(t);
        size_t start_cut = 0;
        for (size_t i = 0; i < cps.size() && i < start_; ++i) {
            if (cps[i] != content_) break;
            start_cut = i + 1;
        }
        size_t stop_cut = cps.size();
        for (size_t i = 0; i < stop_ && i < cps.size(); ++i) {
            const size_t index = cps.size() - i - 1;
            if (cps[index] != content_) break;
            stop_cut = index;
        }
        std::string s;
        for (size_t i = start_cut; i < stop_cut; ++i) utf8::append(s, cps[i]);
        t = std::move(s);
    }
}

void MetaspaceDecoder::decode_chain(std::vector<std::string>& tokens) const {
    for (size_t i = 0; i < tokens.size(); ++i) {
        std::string s;
        for (char32_t c : code_points(tokens[i])) {
            if (c == replacement_) {
                if (i == 0 && prepends_) continue;
                s += ' ';
            } else {
                utf8::append(s, c);
            }
        }
        tokens[i] = std::move(s);
    }
}

void SequenceDecoder::decode_chain(std::vector<std::string>& tokens) const {
    for (const auto& s : steps_) s->decode_chain(tokens);
}

}  // namespace awq
