// GGUF "gpt2" vocabularies with each supported tokenizer.ggml.pre name: the pre-tokenizer the name stands
// for must reproduce HF tokenizers on a tokenizer.json with that split (and so must our export of it).
#include <gtest/gtest.h>

#include "io/gguf_reader.h"
#include "io/gguf_vocab_reader.h"
#include "tokenizer/pipeline_tokenizer.h"
#include "tokenizer/tokenizer_json_export.h"
#include "tokenizer/tokenizer_json_loader.h"
#include "tokenizer_golden.h"

namespace awq::test {
namespace {

void check_gguf_and_export(const GgufVocab& v, const std::string& golden) {
    const Golden g = load_golden(golden);
    {
        SCOPED_TRACE("from_gguf_vocab, pre " + v.pre);
        expect_matches_golden(*Tokenizer::from_gguf_vocab(v, "vocabulary with pre " + v.pre), g);
    }
    {
        SCOPED_TRACE("exported tokenizer.json, pre " + v.pre);
        PipelineTokenizer tok(tokenizer_parts_from_json(tokenizer_json_from_gguf_vocab(v), "export"));
        expect_matches_golden(tok, g);
    }
}

// "llama-bpe": Llama 3's split regex, ignore_merges, BOS added.
TEST(GgufPreTokenizer, LlamaBpe) {
    check_gguf_and_export(gguf_vocab_from_tokenizer_json(tokenizer_data_dir() / "bpe_llama3.tokenizer.json",
                                                         "llama-bpe", "<|begin_of_text|>", true),
                          "bpe_llama3_golden.json");
}

// "qwen2": Qwen2's split regex (digits one by one), nothing added.
TEST(GgufPreTokenizer, Qwen2) {
    check_gguf_and_export(
        gguf_vocab_from_tokenizer_json(tokenizer_data_dir() / "bpe_qwen2.tokenizer.json", "qwen2", std::nullopt, false),
        "bpe_qwen2_golden.json");
}

// "gpt2" and "default": GPT-2's ByteLevel regex -- what transformers builds for any GGUF without a known
// split, so SmolLM2's vocabulary under these names must match transformers' GGUF tokenizer.
TEST(GgufPreTokenizer, Gpt2AndDefault) {
    if (!std::filesystem::exists(default_gguf())) GTEST_SKIP() << default_gguf() << " is missing";
    GgufVocab v = read_gguf_vocab(GgufReader(default_gguf().string()));
    for (const char* pre : {"gpt2", "default"}) {
        v.pre = pre;
        check_gguf_and_export(v, "smollm2_transformers_gguf_golden.json");
    }
}

}  // namespace
}  // namespace awq::test
