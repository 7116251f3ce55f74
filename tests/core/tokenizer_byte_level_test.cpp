// Byte-level BPE tokenizer.json files with the GPT-2, Llama 3 and Qwen2 split regexes (trained by
// make_tokenizer_golden.py with HF tokenizers), against HF tokenizers' own output.
#include <gtest/gtest.h>

#include "tokenizer_golden.h"

namespace awq::test {
namespace {

void check(const std::string& name) {
    auto tok = Tokenizer::from_tokenizer_json((tokenizer_data_dir() / (name + ".tokenizer.json")).string());
    expect_matches_golden(*tok, load_golden(name + "_golden.json"));
}

// Prefix space, <s> $A </s>, and added tokens with lstrip / rstrip / single_word / normalized flags.
TEST(ByteLevelBpe, Gpt2RegexWithAddedTokenFlags) {
    check("bpe_gpt2");
    auto tok = Tokenizer::from_tokenizer_json((tokenizer_data_dir() / "bpe_gpt2.tokenizer.json").string());
    EXPECT_EQ(tok->bos_id(), tok->token_to_id("<s>"));
    EXPECT_EQ(tok->eos_id(), tok->token_to_id("</s>"));
    EXPECT_TRUE(tok->is_special(*tok->token_to_id("<mask>")));
    EXPECT_FALSE(tok->is_special(*tok->token_to_id("<sw>")));
}

// Split(Llama 3 regex) + ByteLevel without regex, ignore_merges, Sequence[ByteLevel, Template] post-processor.
TEST(ByteLevelBpe, Llama3SplitRegex) { check("bpe_llama3"); }

// Split(Qwen2 regex: single digits) + ByteLevel, no post-processor.
TEST(ByteLevelBpe, Qwen2SplitRegex) { check("bpe_qwen2"); }

}  // namespace
}  // namespace awq::test
