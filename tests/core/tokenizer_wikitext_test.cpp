// The whole WikiText-2 test file (1.3 MB) through real tokenizers: same token count and same first/last
// 100 ids as HF tokenizers, and fast (SmolLM2: well under 10 s).
#include <gtest/gtest.h>

#include <chrono>
#include <iostream>

#include "io/gguf_reader.h"
#include "io/gguf_vocab_reader.h"
#include "tokenizer_golden.h"

namespace awq::test {
namespace {

std::filesystem::path wiki_path() { return shared_data_dir() / "wikitext-2-raw" / "wiki.test.raw"; }

void check_wiki(const Tokenizer& tok, const std::string& golden_file, const std::string& label) {
    const auto g = read_json(tokenizer_data_dir() / golden_file);
    const std::string text = read_file_bytes(wiki_path());
    const auto t0 = std::chrono::steady_clock::now();
    const std::vector<int32_t> ids = tok.encode(text, false);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::cout << "[ wikitext ] " << label << ": " << ids.size() << " tokens in " << seconds
              << " s (HF tokenizers: " << g["hf_seconds"].get<double>() << " s)\n";
    ::testing::Test::RecordProperty(label + "_tokens", std::to_string(ids.size()));
    ::testing::Test::RecordProperty(label + "_seconds", std::to_string(seconds));

    ASSERT_EQ(ids.size(), g["count"].get<size_t>());
    const auto first = g["first"].get<std::vector<int32_t>>(), last = g["last"].get<std::vector<int32_t>>();
    EXPECT_TRUE(same_ids(std::vector<int32_t>(ids.begin(), ids.begin() + first.size()), first));
    EXPECT_TRUE(same_ids(std::vector<int32_t>(ids.end() - last.size(), ids.end()), last));
    EXPECT_LT(seconds, 10.0);
    // Nothing is lost: decoding gives the file back byte for byte.
    EXPECT_EQ(tok.decode(ids), text);
}

TEST(TokenizerWikiText, SmolLM2MatchesHfAndIsFast) {
    if (!std::filesystem::exists(wiki_path())) GTEST_SKIP() << wiki_path() << " is missing";
    if (!std::filesystem::exists(default_gguf())) GTEST_SKIP() << default_gguf() << " is missing";
    auto tok = Tokenizer::from_gguf_vocab(read_gguf_vocab(GgufReader(default_gguf().string())), "SmolLM2");
    check_wiki(*tok, "smollm2_wikitext2_test_golden.json", "smollm2");
}

// No pre-tokenizer: each stretch of text is one long word for BPE; byte fallback for rare characters.
TEST(TokenizerWikiText, SentencePieceMatchesHf) {
    if (!std::filesystem::exists(wiki_path())) GTEST_SKIP() << wiki_path() << " is missing";
    const auto dir = tokenizer_data_dir() / "spm_bpe";
    auto json_tok = Tokenizer::from_tokenizer_json((dir / "legacy.tokenizer.json").string());
    check_wiki(*json_tok, "spm_legacy_wikitext2_test_golden.json", "spm_tokenizer_json");
    auto gguf_tok = Tokenizer::from_gguf_vocab(read_gguf_vocab(GgufReader((dir / "spm_bpe.gguf").string())), "spm");
    check_wiki(*gguf_tok, "spm_legacy_wikitext2_test_golden.json", "spm_gguf_scores");
}

}  // namespace
}  // namespace awq::test
