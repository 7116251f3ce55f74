#include <cstdio>
#include <unistd.h>

#include "commands.h"

namespace awq::cli {

ModelOptions RunOptions::model_options() const {
    ModelOptions m;
    m.device = device;
    m.dtype = !dtype.empty() ? dtype : (device == "cpu" ? "float32" : "bfloat16");
    m.offload = offload;
    return m;
}

LoadOptions RunOptions::load_options() const {
    LoadOptions l;
    l.kernel = kernel;
    l.fast_decode = !unfused;
    return l;
}

void add_kernel_option(CLI::App* cmd, RunOptions& o) {
    cmd->add_option("--kernel", o.kernel,
                    "AWQ (4-bit) models: W4A16 kernel/layout to run on CUDA: gemm, gemv (AutoAWQ layouts), fast (ours, "
                    "repacked at load) or dense (dequantize once); default: the checkpoint's layout. On the CPU every "
                    "choice computes the same dense result")
        ->check(CLI::IsMember({"gemm", "gemv", "fast", "dense"}));
    cmd->add_flag("--unfused", o.unfused,
                  "CUDA: run the reference decode step (separate q/k/v and gate/up, ATen ops between the matmuls) "
                  "instead of the fused kernels with merged projections; for comparisons");
}

void add_run_options(CLI::App* cmd, RunOptions& o) {
    cmd->add_option("model", o.model, "Hugging Face model folder or .gguf file")->required();
    cmd->add_option("--device", o.device, "cpu or cuda[:N]")->capture_default_str();
    cmd->add_option("--dtype", o.dtype, "float32, bfloat16 or float16 (default: float32 on cpu, bfloat16 on cuda)");
    cmd->add_flag("--offload", o.offload, "keep block weights on the CPU, move each block to the GPU while it runs");
}

Progress stderr_progress(const Context& ctx, bool quiet) {
    Progress p;
    p.cancel = ctx.cancel;
    if (!quiet && isatty(STDERR_FILENO)) {
        p.on_progress = [](const ProgressEvent& e) {
            std::fprintf(stderr, "\r%s %lld/%lld   ", e.phase.c_str(), (long long)e.done, (long long)e.total);
            if (e.done == e.total) std::fprintf(stderr, "\n");
            std::fflush(stderr);
        };
    }
    return p;
}

}  // namespace awq::cli
