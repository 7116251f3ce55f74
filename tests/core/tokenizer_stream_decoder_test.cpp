// StreamDecoder: the chunks it returns, concatenated, are exactly the HF decode of all ids, and every
// chunk is valid UTF-8 (characters split over tokens, such as emoji, are held back until complete).
#include <gtest/gtest.h>

#include "io/gguf_reader.h"
#include "io/gguf_vocab_reader.h"
#include "tokenizer/utf8.h"
#include "tokenizer_golden.h"

namespace awq::test {
namespace {

void check_stream(const Tokenizer& tok, const std::string& golden_file) {
    const Golden g = load_golden(golden_file);
    for (bool skip : {false, true}) {
        SCOPED_TRACE(golden_file + (skip ? " skip_special" : " keep special"));
        const auto& ids = g.cases[0].ids;
        StreamDecoder stream(tok, skip);
        std::string all;
        size_t held = 0;
        for (int32_t id : ids) {
            const std::string chunk = stream.push(id);
            EXPECT_FALSE(utf8::first_invalid(chunk).has_value());
            EXPECT_EQ(chunk.find(utf8::kReplacementChar), std::string::npos) << "chunk with U+FFFD: " << chunk;
            held += chunk.empty();
            all += chunk;
        }
        all += stream.flush();
        EXPECT_EQ(all, skip ? g.cases[0].decode_skip_special : g.cases[0].decode);
        EXPECT_GT(held, 0u) << "no token was held back: the test text should split characters over tokens";
    }
}

TEST(StreamDecoder, ByteLevelBpe) {
    for (const char* name : {"bpe_gpt2", "bpe_llama3", "bpe_qwen2"}) {
        auto tok = Tokenizer::from_tokenizer_json((tokenizer_data_dir() / (std::string(name) + ".tokenizer.json")).string());
        check_stream(*tok, std::string(name) + "_golden.json");
    }
}

TEST(StreamDecoder, SentencePieceByteFallback) {
    auto legacy = Tokenizer::from_tokenizer_json((tokenizer_data_dir() / "spm_bpe/legacy.tokenizer.json").string());
    check_stream(*legacy, "spm_legacy_golden.json");
    auto split = Tokenizer::from_tokenizer_json((tokenizer_data_dir() / "spm_bpe/metaspace_split.tokenizer.json").string());
    check_stream(*split, "spm_metaspace_split_golden.json");
}

TEST(StreamDecoder, SmolLM2) {
    if (!std::filesystem::exists(default_gguf())) GTEST_SKIP() << default_gguf() << " is missing";
    auto tok = Tokenizer::from_gguf_vocab(read_gguf_vocab(GgufReader(default_gguf().string())), "SmolLM2");
    check_stream(*tok, "smollm2_golden.json");
}

}  // namespace
}  // namespace awq::test
