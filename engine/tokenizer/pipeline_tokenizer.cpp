#include "tokenizer/pipeline_tokenizer.h"

#include <algorithm>

#include "core/error.h"
#include "tokenizer/utf8.h"

namespace awq {

PipelineTokenizer::PipelineTokenizer(TokenizerParts parts) : p_(std::move(parts)) {
    if (!p_.model) throw Error(p_.source, "tokenizer has no model");
    p_.added.finalize(p_.normalizer.get());
    vocab_size_ = p_.model->size();
    for (const auto& t : p_.added.tokens()) vocab_size_ = std::max<int64_t>(vocab_size_, int64_t{t.id} + 1);
}

void PipelineTokenizer::encode_text(std::string_view text, bool at_origin, std::vector<int32_t>& ids) const {
    std::string normalized(text);
    if (p_.normalizer) p_.normalizer->normalize(normalized);
    std::vector<AddedTokens::Segment> segments;
    p_.added.split(normalized, true, segments);
    std::vector<PreToken> pieces;
    for (const auto& seg : segments) {
        if (seg.id >= 0) {
            ids.push_back(seg.id);
            continue;
        }
        pieces.clear();
        pieces.push_back({normalized.substr(seg.begin, seg.end - seg.begin), at_origin && seg.begin == 0});
        if (p_.pre_tokenizer) p_.pre_tokenizer->pre_tokenize(pieces);
        for (const auto& piece : pieces) p_.model->tokenize(piece.text, ids);
    }
}

std::vector<int32_t> PipelineTokenizer::encode(std::string_view text, bool add_special) const {
    if (auto bad = utf8::first_invalid(text))
        throw Error(p_.source, "text to encode is not valid UTF-8 (byte " + std::to_string(*bad) + ")");
    std::vector<int32_t> ids;
    ids.reserve(text.size() / 3 + 4);
    std::vector<AddedTokens::Segment> segments;
    p_.added.split(text, false, segments);
    for (const auto& seg : segments) {
        if (seg.id >= 0)
            ids.push_back(seg.id);
        else
            encode_text(text.substr(seg.begin, seg.end - seg.begin), seg.begin == 0, ids);
    }
    p_.post_processor.apply(ids, add_special);
    return ids;
}

std::string PipelineTokenizer::decode(const std::vector<int32_t>& ids, bool skip_special) const {
    std::vector<std::string> tokens;
    tokens.reserve(ids.size());
    for (int32_t id : ids) {
        const std::string* s = p_.added.decode_form(id);
        if (!s) s = p_.model->id_to_token(id);
        if (!s)
            throw Error(p_.source, "cannot decode token id " + std::to_string(id) + ": not in the vocabulary (size " +
                                       std::to_string(vocab_size_) + ")");
        if (skip_special && p_.added.is_special_content(*s)) continue;
        tokens.push_back(*s);
    }
    if (p_.decoder) return p_.decoder->decode(std::move(tokens));
    std::string out;
    for (size_t i = 0; i < tokens.size(); ++i) {
        if (i) out += ' ';
        out += tokens[i];
    }
    return out;
}

bool PipelineTokenizer::is_special(int32_t id) const {
    const AddedToken* t = p_.added.find(id);
    return t && t->special;
}

std::optional<int32_t> PipelineTokenizer::token_to_id(std::string_view token) const {
    if (auto id = p_.added.find(token)) return id;
    return p_.model->token_to_id(token);
}

std::string PipelineTokenizer::id_to_token(int32_t id) const {
    if (const AddedToken* t = p_.added.find(id)) return t->content;
    if (const std::string* s = p_.model->id_to_token(id)) return *s;
    throw Error(p_.source, "token id " + std::to_string(id) + " is not in the vocabulary (size " +
                               std::to_string(vocab_size_) + ")");
}

}  // namespace awq
