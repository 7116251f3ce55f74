#include <cstdio>
#include <fstream>
#include <iostream>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "eval/perplexity.h"
#include "model/model_loader.h"

namespace awq::cli {

void add_ppl_command(CLI::App& app, Context& ctx) {
    struct Opts {
        RunOptions run;
        std::string data;
        PerplexityOptions ppl;
        std::string json_out;
    };
    auto o = std::make_shared<Opts>();
    auto* cmd = app.add_subcommand("ppl", "Perplexity on a text file (tokenized once, non-overlapping windows)");
    add_run_options(cmd, o->run);
    add_kernel_option(cmd, o->run);
    cmd->add_option("--data", o->data, "text file, e.g. ../shared/data/wikitext-2-raw/wiki.test.raw")->required();
    cmd->add_option("--seqlen", o->ppl.seqlen, "tokens per window")->capture_default_str();
    cmd->add_option("--max-windows", o->ppl.max_windows, "score at most this many windows (0 = all)")->capture_default_str();
    cmd->add_option("--json", o->json_out, "also write the result as JSON to this file");
    cmd->callback([o, &ctx] {
        Progress progress = stderr_progress(ctx);
        auto lm = load_model(o->run.model, o->run.model_options(), progress, o->run.load_options());
        PerplexityResult r = perplexity_of_file(*lm->model, *lm->tokenizer, o->data, o->ppl, progress);
        std::printf("perplexity %.4f over %lld windows of %lld tokens (%lld predicted tokens, %lld in the text), %.1f s\n",
                    r.perplexity, (long long)r.windows, (long long)o->ppl.seqlen, (long long)r.predicted_tokens,
                    (long long)r.total_tokens, r.seconds);
        if (!lm->kernel.empty())
            std::printf("4-bit linears: %s layout, kernel %s\n", lm->awq_layout.c_str(), lm->kernel.c_str());
        if (!o->json_out.empty()) {
            nlohmann::json j = {{"model", o->run.model}, {"data", o->data}, {"seqlen", o->ppl.seqlen},
                                {"windows", r.windows}, {"perplexity", r.perplexity}, {"mean_nll", r.mean_nll},
                                {"predicted_tokens", r.predicted_tokens}, {"total_tokens", r.total_tokens},
                                {"window_nll", r.window_nll}, {"seconds", r.seconds},
                                {"device", o->run.device}, {"dtype", o->run.model_options().dtype},
                                {"tokens_per_s", r.seconds > 0 ? (double)(r.windows * o->ppl.seqlen) / r.seconds : 0.0},
                                // What the 4-bit linears ran (null for float models): see LoadedModel::kernel.
                                {"kernel", lm->kernel.empty() ? nlohmann::json() : nlohmann::json(lm->kernel)},
                                {"awq_layout", lm->awq_layout.empty() ? nlohmann::json() : nlohmann::json(lm->awq_layout)}};
            std::ofstream(o->json_out) << j.dump(2) << "\n";
        }
    });
}

}  // namespace awq::cli
