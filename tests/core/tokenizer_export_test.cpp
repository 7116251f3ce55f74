// Folders written by the tokenizer.json / tokenizer_config.json exporter, loaded by the reference
// libraries themselves (HF tokenizers and transformers' AutoTokenizer, via
// tests/reference/check_exported_tokenizer.py) and compared with the golden files.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdlib>

#include "io/gguf_reader.h"
#include "io/gguf_vocab_reader.h"
#include "tokenizer/tokenizer_json_export.h"
#include "tokenizer_golden.h"

namespace awq::test {
namespace {

void write_text(const std::filesystem::path& p, const std::string& s) {
    std::ofstream out(p, std::ios::binary);
    out << s;
}

// The configured Python, else the project's .venv (a torch-free build is configured without one).
std::string reference_python() {
    if (std::filesystem::exists(python())) return python();
    const auto venv = source_dir() / ".venv" / "bin" / "python";
    return std::filesystem::exists(venv) ? venv.string() : std::string();
}

std::filesystem::path write_folder(const GgufVocab& v, const std::string& name) {
    const auto dir = scratch_dir() / ("tokenizer_export_" + name);
    std::filesystem::create_directories(dir);
    write_text(dir / "tokenizer.json", tokenizer_json_from_gguf_vocab(v).dump());
    write_text(dir / "tokenizer_config.json", tokenizer_config_from_gguf_vocab(v).dump(2));
    return dir;
}

// Our own HF-folder loader on the exported folder (tokenizer_config.json decides bos/eos and BOS adding).
void check_with_our_loader(const GgufVocab& v, const std::string& name, const std::string& golden) {
    auto tok = Tokenizer::from_hf_folder(write_folder(v, name).string());
    EXPECT_EQ(tok->bos_id(), v.bos_id ? std::optional<int32_t>(*v.bos_id) : std::nullopt);
    EXPECT_EQ(tok->eos_id(), v.eos_id ? std::optional<int32_t>(*v.eos_id) : std::nullopt);
    expect_matches_golden(*tok, load_golden(golden));
}

// Writes the exported folder and runs the checker; skips when Python or its packages are absent.
void check_with_reference(const GgufVocab& v, const std::string& name, const std::string& golden) {
    const std::string py = reference_python();
    if (py.empty()) GTEST_SKIP() << "no Python at " << python() << " or in .venv (run scripts/setup.sh)";
    const auto dir = write_folder(v, name);
    const std::string log = (dir / "check.log").string();
    const std::string cmd = "\"" + py + "\" \"" +
                            (source_dir() / "tests/reference/check_exported_tokenizer.py").string() + "\" \"" +
                            dir.string() + "\" \"" + (tokenizer_data_dir() / golden).string() + "\" > \"" + log +
                            "\" 2>&1";
    const int rc = std::system(cmd.c_str());
    const int status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
    if (status == 77) GTEST_SKIP() << "reference libraries unavailable: " << read_file_bytes(log);
    EXPECT_EQ(status, 0) << read_file_bytes(log);
}

TEST(TokenizerExport, SmolLM2FolderLoadsInOurLoader) {
    if (!std::filesystem::exists(default_gguf())) GTEST_SKIP() << default_gguf() << " is missing";
    check_with_our_loader(read_gguf_vocab(GgufReader(default_gguf().string())), "smollm2_own", "smollm2_golden.json");
}

TEST(TokenizerExport, SentencePieceFolderLoadsInOurLoader) {
    check_with_our_loader(read_gguf_vocab(GgufReader((tokenizer_data_dir() / "spm_bpe/spm_bpe.gguf").string())),
                          "spm_own", "spm_legacy_golden.json");
}

TEST(TokenizerExport, LlamaBpeFolderLoadsInTransformersAndMatches) {
    check_with_reference(gguf_vocab_from_tokenizer_json(tokenizer_data_dir() / "bpe_llama3.tokenizer.json", "llama-bpe",
                                                        "<|begin_of_text|>", true),
                         "llama3", "bpe_llama3_golden.json");
}

TEST(TokenizerExport, SmolLM2FolderLoadsInTransformersAndMatches) {
    if (!std::filesystem::exists(default_gguf())) GTEST_SKIP() << default_gguf() << " is missing";
    check_with_reference(read_gguf_vocab(GgufReader(default_gguf().string())), "smollm2", "smollm2_golden.json");
}

TEST(TokenizerExport, SentencePieceFolderLoadsInTransformersAndMatches) {
    check_with_reference(read_gguf_vocab(GgufReader((tokenizer_data_dir() / "spm_bpe/spm_bpe.gguf").string())),
                         "spm", "spm_legacy_golden.json");
}

}  // namespace
}  // namespace awq::test
