// SentencePiece BPE (Llama 2 / Mistral style, byte fallback) as tokenizer.json in its three HF shapes and
// as a GGUF "llama" vocabulary, against HF tokenizers/transformers (and, in the golden script, sentencepiece).
#include <gtest/gtest.h>

#include "core/error.h"
#include "io/gguf_reader.h"
#include "io/gguf_vocab_reader.h"
#include "tokenizer/sentencepiece_model_reader.h"
#include <fstream>
#include "tokenizer/pipeline_tokenizer.h"
#include "tokenizer/tokenizer_json_export.h"
#include "tokenizer/tokenizer_json_loader.h"
#include "tokenizer_golden.h"

namespace awq::test {
namespace {

std::filesystem::path spm_dir() { return tokenizer_data_dir() / "spm_bpe"; }

GgufVocab spm_vocab() { return read_gguf_vocab(GgufReader((spm_dir() / "spm_bpe.gguf").string())); }

// Legacy Llama 2 tokenizer.json: Prepend('▁') + Replace(' ', '▁') normalizer, BOS template.
TEST(SentencePieceBpe, LegacyLlamaTokenizerJson) {
    auto tok = Tokenizer::from_tokenizer_json((spm_dir() / "legacy.tokenizer.json").string());
    EXPECT_EQ(tok->bos_id(), 1);
    expect_matches_golden(*tok, load_golden("spm_legacy_golden.json"));
}

// transformers 5's LlamaTokenizer: Metaspace(prepend_scheme=first, split=false), merges in id order.
TEST(SentencePieceBpe, MetaspaceFirstTokenizerJson) {
    auto tok = Tokenizer::from_tokenizer_json((spm_dir() / "metaspace.tokenizer.json").string());
    expect_matches_golden(*tok, load_golden("spm_metaspace_golden.json"));
}

// Metaspace(always, split=true) pre-tokenizer and Metaspace decoder.
TEST(SentencePieceBpe, MetaspaceSplitTokenizerJson) {
    auto tok = Tokenizer::from_tokenizer_json((spm_dir() / "metaspace_split.tokenizer.json").string());
    expect_matches_golden(*tok, load_golden("spm_metaspace_split_golden.json"));
}

// The tokenizer.json transformers builds from the GGUF file.
TEST(SentencePieceBpe, TransformersGgufTokenizerJson) {
    auto tok = Tokenizer::from_tokenizer_json((spm_dir() / "transformers_gguf.tokenizer.json").string());
    expect_matches_golden(*tok, load_golden("spm_transformers_gguf_golden.json"));
}

// GGUF "llama" vocabulary (tokens + scores + types), merged by score: the legacy Llama 2 behaviour, which
// is also what sentencepiece itself produces (checked by the golden script on special-free text).
TEST(SentencePieceBpe, GgufVocabularyByScores) {
    const GgufVocab v = spm_vocab();
    ASSERT_EQ(v.model, "llama");
    auto tok = Tokenizer::from_gguf_vocab(v, "spm_bpe.gguf");
    EXPECT_EQ(tok->vocab_size(), 1000);
    EXPECT_EQ(tok->bos_id(), 1);
    EXPECT_EQ(tok->eos_id(), 2);
    EXPECT_TRUE(tok->is_special(*tok->token_to_id("<|im_start|>")));
    EXPECT_FALSE(tok->is_special(*tok->token_to_id("<sep>")));
    expect_matches_golden(*tok, load_golden("spm_legacy_golden.json"));
}

// The tokenizer.json we export for that vocabulary (merges derived from scores) gives the same tokens.
TEST(SentencePieceBpe, ExportedTokenizerJsonRoundTrips) {
    const GgufVocab v = spm_vocab();
    const nlohmann::json j = tokenizer_json_from_gguf_vocab(v);
    const nlohmann::json legacy = read_json(spm_dir() / "legacy.tokenizer.json");
    EXPECT_EQ(j["normalizer"], legacy["normalizer"]);
    EXPECT_EQ(j["decoder"], legacy["decoder"]);
    EXPECT_EQ(j["model"]["merges"], legacy["model"]["merges"]) << "merges differ from LlamaConverter's";
    PipelineTokenizer tok(tokenizer_parts_from_json(nlohmann::json::parse(j.dump()), "exported tokenizer.json"));
    expect_matches_golden(tok, load_golden("spm_legacy_golden.json"));

    const nlohmann::json c = tokenizer_config_from_gguf_vocab(v);
    EXPECT_EQ(c["add_bos_token"], true);
    EXPECT_EQ(c["bos_token"], "<s>");
    EXPECT_EQ(c["unk_token"], "<unk>");
    EXPECT_TRUE(c["pad_token"].is_null());
}


// The SentencePiece model file itself (tokenizer.model, as Llama 2 / Mistral folders ship it) gives the
// same vocabulary as its GGUF conversion and tokenizes to the same golden ids.
TEST(SentencePieceBpe, TokenizerModelFileMatchesGgufVocabulary) {
    const GgufVocab m = read_sentencepiece_model((spm_dir() / "spm_bpe.model").string());
    const GgufVocab g = spm_vocab();
    EXPECT_EQ(m.tokens, g.tokens);
    EXPECT_EQ(m.scores, g.scores);
    EXPECT_EQ(m.token_types, g.token_types);
    EXPECT_EQ(m.bos_id, g.bos_id);
    EXPECT_EQ(m.eos_id, g.eos_id);
    EXPECT_EQ(m.unk_id, g.unk_id);
    auto tok = Tokenizer::from_gguf_vocab(m, "spm_bpe.model");
    expect_matches_golden(*tok, load_golden("spm_legacy_golden.json"));
    // A folder with only tokenizer.model loads through it.
    const auto dir = std::filesystem::temp_directory_path() / "awq-spm-only-folder";
    std::filesystem::create_directories(dir);
    std::filesystem::copy_file(spm_dir() / "spm_bpe.model", dir / "tokenizer.model",
                               std::filesystem::copy_options::overwrite_existing);
    expect_matches_golden(*Tokenizer::from_hf_folder(dir.string()), load_golden("spm_legacy_golden.json"));
}

TEST(SentencePieceBpe, TruncatedModelFileIsAClearError) {
    const auto path = std::filesystem::temp_directory_path() / "awq-truncated.model";
    {
        std::ifstream in(spm_dir() / "spm_bpe.model", std::ios::binary);
        std::string data((std::istreambuf_iterator<char>(in)), {});
        std::ofstream(path, std::ios::binary).write(data.data(), (std::streamsize)data.size() / 2);
    }
    try {
        read_sentencepiece_model(path.string());
        FAIL() << "expected an error";
    } catch (const awq::Error& e) {
        const std::string m = e.what();
        EXPECT_NE(m.find(path.string()), std::string::npos) << m;
        EXPECT_NE(m.find("malformed sentencepiece model"), std::string::npos) << m;
    }
}

}  // namespace
}  // namespace awq::test
