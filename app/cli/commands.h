#pragma once
// Each subcommand registers its options and a callback that runs the engine; see one file per command.
#include <atomic>
#include <string>

#include <CLI/CLI.hpp>

#include "core/progress.h"
#include "model/llama_model.h"
#include "model/model_loader.h"

namespace awq::cli {

struct Context {
    std::atomic<bool>* cancel;
    int exit_code = 0;
};

// Options shared by commands that run a model.
struct RunOptions {
    std::string model;
    std::string device = "cpu";
    std::string dtype;  // default: float32 on the CPU, bfloat16 on CUDA
    bool offload = false;
    std::string kernel;  // --kernel (commands that add it): "" = the checkpoint's own layout
    bool unfused = false;  // --unfused: the reference decode step (LoadOptions::fast_decode off)
    ModelOptions model_options() const;
    LoadOptions load_options() const;
};
void add_run_options(CLI::App* cmd, RunOptions& o);
// --kernel gemm|gemv|fast|dense for commands that run a 4-bit (AWQ) model.
void add_kernel_option(CLI::App* cmd, RunOptions& o);

// Progress that prints "phase done/total" on stderr (one updating line) and honours Ctrl-C.
Progress stderr_progress(const Context& ctx, bool quiet = false);

void add_info_command(CLI::App& app, Context& ctx);
void add_convert_command(CLI::App& app, Context& ctx);
void add_generate_command(CLI::App& app, Context& ctx);
void add_chat_command(CLI::App& app, Context& ctx);
void add_ppl_command(CLI::App& app, Context& ctx);
void add_quantize_command(CLI::App& app, Context& ctx);
void add_tokenize_command(CLI::App& app, Context& ctx);

}  // namespace awq::cli
