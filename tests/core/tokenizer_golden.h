#pragma once
// Golden files written by tests/reference/make_tokenizer_golden.py (HF tokenizers / transformers) and the
// checks every tokenizer test runs against them.
#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "test_paths.h"
#include "tokenizer/gguf_vocab.h"
#include "tokenizer/tokenizer.h"

namespace awq::test {

inline std::filesystem::path tokenizer_data_dir() { return data_dir() / "tokenizer"; }

inline std::string read_file_bytes(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

inline nlohmann::json read_json(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) throw std::runtime_error("missing golden file " + p.string());
    return nlohmann::json::parse(in);
}

struct GoldenCase {
    std::string text;
    std::vector<int32_t> ids, ids_no_special;
    std::string decode, decode_skip_special;
};

struct Golden {
    std::string name;
    std::vector<GoldenCase> cases;  // cases[0] is tests/data/tokenizer/test_text.txt
    struct Prefix {
        size_t k, bytes;
        std::string tail;  // last 24 characters of decode(ids[:k])
    };
    std::vector<Prefix> prefixes;
};

inline Golden load_golden(const std::string& file) {
    const nlohmann::json j = read_json(tokenizer_data_dir() / file);
    Golden g;
    g.name = file;
    for (const auto& c : j.at("cases"))
        g.cases.push_back({c.at("text"), c.at("ids").get<std::vector<int32_t>>(),
                           c.at("ids_no_special").get<std::vector<int32_t>>(), c.at("decode"),
                           c.at("decode_skip_special")});
    for (const auto& p : j.at("decode_prefixes")) g.prefixes.push_back({p[0], p[1], p[2]});
    return g;
}

// "ids differ at 17: got 345, want 346" with some context, instead of two 800-element dumps.
inline ::testing::AssertionResult same_ids(const std::vector<int32_t>& got, const std::vector<int32_t>& want) {
    if (got == want) return ::testing::AssertionSuccess();
    size_t i = 0;
    while (i < got.size() && i < want.size() && got[i] == want[i]) ++i;
    auto around = [&](const std::vector<int32_t>& v) {
        std::string s;
        for (size_t k = i >= 3 ? i - 3 : 0; k < v.size() && k < i + 5; ++k) s += std::to_string(v[k]) + " ";
        return s;
    };
    return ::testing::AssertionFailure() << "lengths " << got.size() << " vs " << want.size() << "; first difference at "
                                         << i << ": got [" << around(got) << "] want [" << around(want) << "]";
}

inline std::string tail_chars(const std::string& s, size_t n) {
    size_t pos = s.size();
    while (pos > 0 && n > 0) {
        --pos;
        if ((static_cast<unsigned char>(s[pos]) & 0xC0) != 0x80) --n;
    }
    return s.substr(pos);
}

// Every case: encode with/without special tokens, decode with/without skipping them, and the decodes
// of prefixes that end inside multi-byte characters.
inline void expect_matches_golden(const Tokenizer& tok, const Golden& g) {
    ASSERT_FALSE(g.cases.empty());
    EXPECT_EQ(g.cases[0].text, read_file_bytes(tokenizer_data_dir() / "test_text.txt"))
        << g.name << " was made from another test_text.txt: rerun make_tokenizer_golden.py";
    for (size_t i = 0; i < g.cases.size(); ++i) {
        const GoldenCase& c = g.cases[i];
        SCOPED_TRACE(g.name + " case " + std::to_string(i) + ": " + nlohmann::json(c.text.substr(0, 60)).dump());
        EXPECT_TRUE(same_ids(tok.encode(c.text, true), c.ids)) << "encode(add_special=true)";
        EXPECT_TRUE(same_ids(tok.encode(c.text, false), c.ids_no_special)) << "encode(add_special=false)";
        EXPECT_EQ(tok.decode(c.ids, false), c.decode);
        EXPECT_EQ(tok.decode(c.ids, true), c.decode_skip_special);
    }
    const auto& full = g.cases[0].ids;
    for (const auto& p : g.prefixes) {
        ASSERT_LE(p.k, full.size());
        const std::string d = tok.decode(std::vector<int32_t>(full.begin(), full.begin() + p.k), false);
        EXPECT_EQ(d.size(), p.bytes) << g.name << " decode of the first " << p.k << " ids";
        EXPECT_EQ(tail_chars(d, 24), p.tail) << g.name << " decode of the first " << p.k << " ids";
    }
}

// Splices a GGUF-style vocabulary (tokens by id, "a b" merges) into a tokenizer.json pipeline file.
inline nlohmann::json with_vocab(nlohmann::json pipeline, const std::vector<std::string>& tokens,
                                 const std::vector<std::string>& merges) {
    nlohmann::json vocab = nlohmann::json::object();
    for (size_t i = 0; i < tokens.size(); ++i) vocab[tokens[i]] = i;
    nlohmann::json m = nlohmann::json::array();
    for (const auto& s : merges) {
        const size_t sp = s.find(' ');
        m.push_back({s.substr(0, sp), s.substr(sp + 1)});
    }
    pipeline["model"]["vocab"] = std::move(vocab);
    pipeline["model"]["merges"] = std::move(m);
    return pipeline;
}

// A GGUF "gpt2" vocabulary with the same tokens, merges and special tokens as a byte-level tokenizer.json,
// as llama.cpp's converter would write it (added special tokens become CONTROL tokens).
inline GgufVocab gguf_vocab_from_tokenizer_json(const std::filesystem::path& p, const std::string& pre,
                                                const std::optional<std::string>& bos, bool add_bos) {
    const nlohmann::json j = read_json(p);
    GgufVocab v;
    v.model = "gpt2";
    v.pre = pre;
    const auto& vocab = j["model"]["vocab"];
    v.tokens.resize(vocab.size());
    for (auto it = vocab.begin(); it != vocab.end(); ++it) v.tokens.at(it.value().get<size_t>()) = it.key();
    v.token_types.assign(v.tokens.size(), 1);
    for (const auto& t : j["added_tokens"])
        if (t["special"].get<bool>()) v.token_types.at(t["id"].get<size_t>()) = 3;
    for (const auto& m : j["model"]["merges"]) v.merges.push_back(m[0].get<std::string>() + " " + m[1].get<std::string>());
    if (bos) {
        for (size_t i = 0; i < v.tokens.size(); ++i)
            if (v.tokens[i] == *bos) v.bos_id = static_cast<int64_t>(i);
    }
    v.add_bos = add_bos;
    return v;
}

}  // namespace awq::test
