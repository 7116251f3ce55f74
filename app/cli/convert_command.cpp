#include <cstdio>

#include "commands.h"
#include "convert/gguf_to_hf.h"

namespace awq::cli {

void add_convert_command(CLI::App& app, Context& ctx) {
    struct Opts {
        std::string gguf, out, dtype = "float16";
    };
    auto o = std::make_shared<Opts>();
    auto* cmd = app.add_subcommand("convert", "Convert a GGUF file into a Hugging Face folder that transformers loads");
    cmd->add_option("model", o->gguf, "input .gguf file")->required();
    cmd->add_option("out_dir", o->out, "output folder (must not exist; written atomically)")->required();
    cmd->add_option("--dtype", o->dtype, "float16, bfloat16 or float32")->capture_default_str();
    cmd->callback([o, &ctx] {
        convert_gguf_to_hf(o->gguf, o->out, o->dtype, stderr_progress(ctx));
        std::printf("wrote %s\n", o->out.c_str());
    });
}

}  // namespace awq::cli
