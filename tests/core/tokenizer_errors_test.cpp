// Bad tokenizer inputs fail with an awq::Error that names the file and the construct at fault.
#include <gtest/gtest.h>

#include "core/error.h"
#include "tokenizer/gguf_vocab.h"
#include "tokenizer_golden.h"

namespace awq::test {
namespace {

template <class F>
void expect_error(F&& f, const std::vector<std::string>& parts) {
    try {
        f();
        ADD_FAILURE() << "no awq::Error thrown";
    } catch (const awq::Error& e) {
        for (const auto& p : parts) EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
    }
}

std::filesystem::path scratch(const std::string& name) {
    std::filesystem::create_directories(scratch_dir() / "tokenizer_errors");
    return scratch_dir() / "tokenizer_errors" / name;
}

std::string write(const std::string& name, const std::string& content) {
    const auto p = scratch(name);
    std::ofstream(p, std::ios::binary) << content;
    return p.string();
}

nlohmann::json valid_json() { return read_json(tokenizer_data_dir() / "bpe_qwen2.tokenizer.json"); }

TEST(TokenizerErrors, MissingFile) {
    const std::string missing = (scratch_dir() / "no_such_dir" / "tokenizer.json").string();
    expect_error([&] { Tokenizer::from_tokenizer_json(missing); }, {missing, "not found"});
    expect_error([&] { Tokenizer::from_hf_folder((scratch_dir() / "no_such_dir").string()); }, {missing});
}

TEST(TokenizerErrors, InvalidJson) {
    const std::string p = write("invalid.json", "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}");
    expect_error([&] { Tokenizer::from_tokenizer_json(p); }, {p, "invalid JSON"});
}

TEST(TokenizerErrors, UnsupportedModelType) {
    auto j = valid_json();
    j["model"]["type"] = "WordPiece";
    const std::string p = write("wordpiece.json", j.dump());
    expect_error([&] { Tokenizer::from_tokenizer_json(p); }, {p, "model type 'WordPiece' is not supported"});
}

TEST(TokenizerErrors, MergeWithUnknownToken) {
    auto j = valid_json();
    j["model"]["merges"].push_back({"zzz_not_a_token", "a"});
    const std::string p = write("bad_merge.json", j.dump());
    expect_error([&] { Tokenizer::from_tokenizer_json(p); }, {p, "unknown token 'zzz_not_a_token'"});

    auto k = valid_json();
    k["model"]["merges"].push_back("a b c");
    const std::string q = write("bad_merge_string.json", k.dump());
    expect_error([&] { Tokenizer::from_tokenizer_json(q); }, {q, "model.merges["});
}

TEST(TokenizerErrors, UnsupportedPipelineParts) {
    auto j = valid_json();
    j["normalizer"] = {{"type", "NFKC"}};
    std::string p = write("nfkc.json", j.dump());
    expect_error([&] { Tokenizer::from_tokenizer_json(p); }, {p, "normalizer", "'NFKC'"});

    j = valid_json();
    j["pre_tokenizer"] = {{"type", "Whitespace"}};
    p = write("whitespace.json", j.dump());
    expect_error([&] { Tokenizer::from_tokenizer_json(p); }, {p, "pre_tokenizer", "'Whitespace'"});

    j = valid_json();
    j["decoder"] = {{"type", "WordPiece"}, {"prefix", "##"}, {"cleanup", true}};
    p = write("wordpiece_decoder.json", j.dump());
    expect_error([&] { Tokenizer::from_tokenizer_json(p); }, {p, "decoder", "'WordPiece'"});

    j = valid_json();
    j["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "(unclosed";
    p = write("bad_regex.json", j.dump());
    expect_error([&] { Tokenizer::from_tokenizer_json(p); }, {p, "cannot compile regex"});

    j = valid_json();
    j["model"]["dropout"] = 0.1;
    p = write("dropout.json", j.dump());
    expect_error([&] { Tokenizer::from_tokenizer_json(p); }, {p, "dropout"});
}

TEST(TokenizerErrors, BadTextAndIds) {
    const std::string p = (tokenizer_data_dir() / "bpe_qwen2.tokenizer.json").string();
    auto tok = Tokenizer::from_tokenizer_json(p);
    expect_error([&] { tok->encode(std::string("ok \xC3\x28 bad")); }, {p, "not valid UTF-8", "byte 3"});
    expect_error([&] { tok->decode({1, 99999}); }, {p, "99999"});
    expect_error([&] { tok->decode({-1}); }, {p, "-1"});
    expect_error([&] { tok->id_to_token(99999); }, {p, "99999"});
}

TEST(TokenizerErrors, BadGgufVocabulary) {
    GgufVocab v;
    v.model = "gpt2";
    v.pre = "smollm";
    v.tokens = {"a", "b", "ab"};
    v.merges = {"a b"};
    EXPECT_EQ(Tokenizer::from_gguf_vocab(v, "ok.gguf")->encode("abab", false), (std::vector<int32_t>{2, 2}));

    GgufVocab w = v;
    w.pre = "made-up";
    expect_error([&] { Tokenizer::from_gguf_vocab(w, "x.gguf"); }, {"x.gguf", "tokenizer.ggml.pre 'made-up'"});
    w = v;
    w.model = "bert";
    expect_error([&] { Tokenizer::from_gguf_vocab(w, "x.gguf"); }, {"x.gguf", "tokenizer.ggml.model 'bert'"});
    w = v;
    w.token_types = {1, 1};
    expect_error([&] { Tokenizer::from_gguf_vocab(w, "x.gguf"); }, {"x.gguf", "token_type"});
    w = v;
    w.merges = {"a c"};
    expect_error([&] { Tokenizer::from_gguf_vocab(w, "x.gguf"); }, {"x.gguf", "unknown token 'c'"});
    w = v;
    w.merges = {"a b c"};
    expect_error([&] { Tokenizer::from_gguf_vocab(w, "x.gguf"); }, {"x.gguf", "tokenizer.ggml.merges[0]"});
    w = v;
    w.bos_id = 7;
    expect_error([&] { Tokenizer::from_gguf_vocab(w, "x.gguf"); }, {"x.gguf", "bos_token_id = 7"});
    w = v;
    w.model = "llama";
    expect_error([&] { Tokenizer::from_gguf_vocab(w, "x.gguf"); }, {"x.gguf", "scores"});
}

}  // namespace
}  // namespace awq::test
