#include <cstdio>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "core/error.h"
#include "eval/perplexity.h"
#include "io/gguf_reader.h"
#include "io/gguf_vocab_reader.h"
#include "tokenizer/tokenizer.h"

namespace awq::cli {

void add_tokenize_command(CLI::App& app, Context&) {
    struct Opts {
        std::string model, text, file;
        bool no_special = false, count = false;
    };
    auto o = std::make_shared<Opts>();
    auto* cmd = app.add_subcommand("tokenize", "Print the token ids of a text (JSON list) with the model's tokenizer");
    cmd->add_option("model", o->model, "Hugging Face model folder or .gguf file")->required();
    auto* t = cmd->add_option("--text,-t", o->text, "text to tokenize");
    auto* f = cmd->add_option("--file,-f", o->file, "file to tokenize");
    t->excludes(f);
    cmd->add_flag("--no-special", o->no_special, "do not add BOS/EOS");
    cmd->add_flag("--count", o->count, "print only the number of tokens");
    cmd->callback([o] {
        std::unique_ptr<Tokenizer> tok;
        if (std::filesystem::is_directory(o->model)) tok = Tokenizer::from_hf_folder(o->model);
        else tok = Tokenizer::from_gguf_vocab(read_gguf_vocab(GgufReader(o->model)), o->model);
        const std::string text = o->file.empty() ? o->text : read_text_file(o->file);
        auto ids = tok->encode(text, !o->no_special);
        if (o->count) std::printf("%zu\n", ids.size());
        else std::printf("%s\n", nlohmann::json(ids).dump().c_str());
    });
}

}  // namespace awq::cli
