#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"

namespace awq {
namespace {

bool ends_with_replacement(const std::string& s) {
    const auto& r = utf8::kReplacementChar;
    return s.size() >= r.size() && s.compare(s.size() - r.size(), r.size(), r) == 0;
}

// "<0xXX>": a byte-fallback token. A run of them is decoded as a whole (all replaced by U+FFFD if the run
// is not valid UTF-8), so text is only final once the run has ended.
bool is_byte_token(const std::string& t) {
    return t.size() == 6 && t.compare(0, 3, "<0x") == 0 && t[5] == '>';
}

}  // namespace

// The text returned is decode() of all ids so far minus what was already returned. The tail is held back
// while it may still change: while it ends in U+FFFD (an incomplete multi-byte character in a lossy
// decode) or while the last token is a byte-fallback token.
std::string StreamDecoder::push(int32_t id) {
    ids_.push_back(id);
    if (is_byte_token(tok_.id_to_token(id))) return {};
    const std::string text = tok_.decode(ids_, skip_special_);
    if (ends_with_replacement(text) || text.size() <= emitted_) return {};
    std::string out = text.substr(emitted_);
    emitted_ = text.size();
    return out;
}

std::string StreamDecoder::flush() {
    const std::string text = tok_.decode(ids_, skip_special_);
    std::string out = text.size() > emitted_ ? text.substr(emitted_) : std::string();
    emitted_ = text.size();
    return out;
}

}  // namespace awq
