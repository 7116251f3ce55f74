#include <cstdio>
#include <fstream>
#include <iostream>

#include <nlohmann/json.hpp>

#include "chat/chat_template.h"
#include "commands.h"
#include "core/error.h"
#include "eval/perplexity.h"
#include "generation_options.h"
#include "model/model_loader.h"
#include "tokenizer/tokenizer.h"

namespace awq::cli {

void print_generation_stats(const GenerationResult& r) {
    std::fprintf(stderr, "[%lld prompt tokens, %lld new tokens, stop: %s | prefill %.1f tok/s, decode %.1f tok/s]\n",
                 (long long)r.stats.prompt_tokens, (long long)r.stats.new_tokens, r.stop_reason.c_str(),
                 r.stats.prefill_tokens_per_s(), r.stats.decode_tokens_per_s());
}

void add_generate_command(CLI::App& app, Context& ctx) {
    struct Opts {
        RunOptions run;
        GenerationOptions gen;
        std::string prompt, prompt_file, json_out;
        bool chat = false, quiet = false;
    };
    auto o = std::make_shared<Opts>();
    auto* cmd = app.add_subcommand("generate", "Continue a prompt (streamed to stdout)");
    add_run_options(cmd, o->run);
    add_kernel_option(cmd, o->run);
    add_generation_options(cmd, o->gen);
    auto* p = cmd->add_option("--prompt,-p", o->prompt, "prompt text");
    auto* pf = cmd->add_option("--prompt-file", o->prompt_file, "read the prompt from a file");
    p->excludes(pf);
    cmd->add_flag("--chat", o->chat, "wrap the prompt as one user message with the model's chat template");
    cmd->add_flag("--quiet,-q", o->quiet, "print only the generated text");
    cmd->add_option("--json", o->json_out, "write tokens, text and speed as JSON to this file");
    cmd->callback([o, &ctx] {
        std::string prompt = o->prompt_file.empty() ? o->prompt : read_text_file(o->prompt_file);
        if (prompt.empty()) throw Error("--prompt", "empty prompt: give some text with --prompt or --prompt-file");
        Progress progress = stderr_progress(ctx, o->quiet);
        auto lm = load_model(o->run.model, o->run.model_options(), progress, o->run.load_options());
        std::vector<int32_t> ids;
        if (o->chat) {
            if (!lm->chat_template) throw Error(o->run.model, "the model has no chat template; drop --chat");
            std::string text = lm->chat_template->render({{"user", prompt}}, true, lm->bos_token, lm->eos_token);
            ids = lm->tokenizer->encode(text, /*add_special=*/false);
        } else {
            ids = lm->tokenizer->encode(prompt, true);
        }
        GenerationConfig cfg = o->gen.cfg;
        if (!o->gen.ignore_eos) cfg.eos_ids = lm->eos_ids;
        if (!o->quiet && !o->chat) std::fputs(prompt.c_str(), stdout);
        auto r = generate(*lm->model, *lm->tokenizer, ids, cfg, [](int32_t, const std::string& piece) {
            std::fputs(piece.c_str(), stdout);
            std::fflush(stdout);
        }, progress);
        std::fputs("\n", stdout);
        if (!o->quiet) print_generation_stats(r);
        if (!o->json_out.empty()) {
            nlohmann::json j = {{"prompt_ids", ids}, {"tokens", r.tokens}, {"text", r.text}, {"stop_reason", r.stop_reason},
                                {"prompt_tokens", r.stats.prompt_tokens}, {"new_tokens", r.stats.new_tokens},
                                {"prefill_tokens_per_s", r.stats.prefill_tokens_per_s()},
                                {"decode_tokens_per_s", r.stats.decode_tokens_per_s()},
                                {"kernel", lm->kernel.empty() ? nlohmann::json() : nlohmann::json(lm->kernel)}};
            std::ofstream(o->json_out) << j.dump(2) << "\n";
        }
    });
}

}  // namespace awq::cli
