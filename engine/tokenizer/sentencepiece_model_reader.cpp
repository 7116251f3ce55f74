#include "tokenizer/sentencepiece_model_reader.h"

#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace awq {

namespace {

// Minimal protobuf wire-format reader: varints, fixed32/64 and length-delimited fields; anything else
// (groups) is malformed for this schema.
class Wire {
public:
    Wire(const uint8_t* p, size_t n, const std::string& path) : p_(p), end_(p + n), path_(path) {}
    bool done() const { return p_ >= end_; }
    uint64_t varint() {
        uint64_t v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (p_ >= end_) fail("truncated varint");
            uint8_t b = *p_++;
            v |= (uint64_t)(b & 0x7f) << shift;
            if (!(b & 0x80)) return v;
        }
        fail("varint longer than 10 bytes");
        return 0;
    }
    Wire sub() {
        uint64_t n = varint();
        if (n > (uint64_t)(end_ - p_)) fail("field length runs past the end of the file");
        Wire w(p_, n, path_);
        p_ += n;
        return w;
    }
    std::string bytes() {
        Wire w = sub();
        return std::string(reinterpret_cast<const char*>(w.p_), w.end_ - w.p_);
    }
    float fixed32_float() {
        if (end_ - p_ < 4) fail("truncated fixed32");
        float f;
        std::memcpy(&f, p_, 4);
        p_ += 4;
        return f;
    }
    void skip(int wire_type) {
        switch (wire_type) {
            case 0: varint(); break;
            case 1: advance(8); break;
            case 2: sub(); break;
            case 5: advance(4); break;
            default: fail("unsupported protobuf wire type " + std::to_string(wire_type));
        }
    }
    [[noreturn]] void fail(const std::string& what) const { throw Error(path_, "malformed sentencepiece model: " + what); }

private:
    void advance(size_t n) {
        if ((size_t)(end_ - p_) < n) fail("truncated field");
        p_ += n;
    }
    const uint8_t* p_;
    const uint8_t* end_;
    std::string path_;
};

}  // namespace

GgufVocab read_sentencepiece_model(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path, "cannot open sentencepiece model");
    std::ostringstream ss;
    ss << in.rdbuf();
    const std::string data = ss.str();
    Wire w(reinterpret_cast<const uint8_t*>(data.data()), data.size(), path);

    GgufVocab v;
    v.model = "llama";
    v.pre = "default";
    int64_t model_type = 1;  // TrainerSpec default: UNIGRAM
    int64_t unk = 0, bos = 1, eos = 2, pad = -1;
    while (!w.done()) {
        const uint64_t key = w.varint();
        const int field = (int)(key >> 3), type = (int)(key & 7);
        if (field == 1 && type == 2) {  // SentencePiece {1: piece, 2: score, 3: type}
            Wire p = w.sub();
            std::string piece;
            float score = 0;
            int32_t ptype = 1;  // NORMAL
            while (!p.done()) {
                const uint64_t k = p.varint();
                const int f = (int)(k >> 3), t = (int)(k & 7);
                if (f == 1 && t == 2) piece = p.bytes();
                else if (f == 2 && t == 5) score = p.fixed32_float();
                else if (f == 3 && t == 0) ptype = (int32_t)p.varint();
                else p.skip(t);
            }
            v.tokens.push_back(std::move(piece));
            v.scores.push_back(score);
            v.token_types.push_back(ptype);
        } else if (field == 2 && type == 2) {  // TrainerSpec
            Wire t = w.sub();
            while (!t.done()) {
                const uint64_t k = t.varint();
                const int f = (int)(k >> 3), ty = (int)(k & 7);
                if (ty != 0) {
                    t.skip(ty);
                    continue;
                }
                const int64_t val = (int64_t)t.varint();
                if (f == 3) model_type = val;
                else if (f == 40) unk = (int32_t)val;
                else if (f == 41) bos = (int32_t)val;
                else if (f == 42) eos = (int32_t)val;
                else if (f == 43) pad = (int32_t)val;
            }
        } else {
            w.skip(type);
        }
    }
    if (v.tokens.empty()) throw Error(path, "sentencepiece model has no pieces");
    if (model_type != 2)
        throw Error(path, std::string("sentencepiece model type ") +
                              (model_type == 1 ? "UNIGRAM" : std::to_string(model_type)) + " is not supported (BPE is)");
    const int64_t n = (int64_t)v.tokens.size();
    auto id = [&](int64_t x) -> std::optional<int64_t> { return x >= 0 && x < n ? std::optional<int64_t>(x) : std::nullopt; };
    v.unk_id = id(unk);
    v.bos_id = id(bos);
    v.eos_id = id(eos);
    v.pad_id = id(pad);
    v.add_bos = true;  // Llama / Mistral tokenizers prepend BOS; tokenizer_config.json may override
    v.add_eos = false;
    return v;
}

}  // namespace awq
