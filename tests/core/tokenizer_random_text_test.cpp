// 200 random mixtures of odd whitespace (U+180E, U+0085, U+3000, ...), letters with marks, digits of all
// kinds, punctuation, CJK, emoji and special-token spellings, against HF tokenizers: this is where regex
// engines (PCRE2 here, Oniguruma in tokenizers) and split rules would part ways.
#include <gtest/gtest.h>

#include "io/gguf_reader.h"
#include "io/gguf_vocab_reader.h"
#include "tokenizer_golden.h"

namespace awq::test {
namespace {

void check_random(const Tokenizer& tok, const std::string& name) {
    const auto texts = read_json(tokenizer_data_dir() / "random_text.json")["texts"].get<std::vector<std::string>>();
    const auto golden = read_json(tokenizer_data_dir() / ("random_text_" + name + "_golden.json"))["ids"];
    ASSERT_EQ(golden.size(), texts.size());
    for (size_t i = 0; i < texts.size(); ++i)
        EXPECT_TRUE(same_ids(tok.encode(texts[i]), golden[i].get<std::vector<int32_t>>()))
            << name << " text " << i << ": " << nlohmann::json(texts[i]).dump();
}

TEST(TokenizerRandomText, TokenizerJsonFiles) {
    for (const char* name : {"bpe_gpt2", "bpe_llama3", "bpe_qwen2"})
        check_random(*Tokenizer::from_tokenizer_json((tokenizer_data_dir() / (std::string(name) + ".tokenizer.json")).string()),
                     name);
    check_random(*Tokenizer::from_tokenizer_json((tokenizer_data_dir() / "spm_bpe/legacy.tokenizer.json").string()),
                 "spm_legacy");
    check_random(
        *Tokenizer::from_tokenizer_json((tokenizer_data_dir() / "spm_bpe/metaspace_split.tokenizer.json").string()),
        "spm_metaspace_split");
}

TEST(TokenizerRandomText, GgufVocabularies) {
    check_random(*Tokenizer::from_gguf_vocab(
                     read_gguf_vocab(GgufReader((tokenizer_data_dir() / "spm_bpe/spm_bpe.gguf").string())), "spm"),
                 "spm_legacy");
    if (!std::filesystem::exists(default_gguf())) GTEST_SKIP() << default_gguf() << " is missing";
    check_random(*Tokenizer::from_gguf_vocab(read_gguf_vocab(GgufReader(default_gguf().string())), "SmolLM2"),
                 "smollm2");
}

}  // namespace
}  // namespace awq::test
