#include <cstdio>
#include <iostream>
#include <unistd.h>

#include "chat/chat_template.h"
#include "commands.h"
#include "core/error.h"
#include "generation_options.h"
#include "model/model_loader.h"
#include "tokenizer/tokenizer.h"

namespace awq::cli {

void print_generation_stats(const GenerationResult& r);

// One assistant turn: render the whole conversation with the model's template, generate, stream.
static std::string chat_turn(LoadedModel& lm, std::vector<ChatMessage>& history, const GenerationConfig& cfg,
                             const Progress& progress, bool stats) {
    std::string text = lm.chat_template->render(history, /*add_generation_prompt=*/true, lm.bos_token, lm.eos_token);
    auto ids = lm.tokenizer->encode(text, /*add_special=*/false);
    auto r = generate(*lm.model, *lm.tokenizer, ids, cfg, [](int32_t, const std::string& piece) {
        std::fputs(piece.c_str(), stdout);
        std::fflush(stdout);
    }, progress);
    std::fputs("\n", stdout);
    if (stats) print_generation_stats(r);
    history.push_back({"assistant", r.text});
    return r.text;
}

void add_chat_command(CLI::App& app, Context& ctx) {
    struct Opts {
        RunOptions run;
        GenerationOptions gen;
        std::string system;
        std::vector<std::string> messages;
        bool stats = false;
    };
    auto o = std::make_shared<Opts>();
    o->gen.cfg.max_new_tokens = 256;
    auto* cmd = app.add_subcommand("chat", "Chat with the model using its own chat template "
                                           "(interactive on a terminal: /reset, /quit; or --message for scripted turns)");
    add_run_options(cmd, o->run);
    add_kernel_option(cmd, o->run);
    add_generation_options(cmd, o->gen);
    cmd->add_option("--system", o->system, "system prompt");
    cmd->add_option("--message,-m", o->messages, "user message(s) to answer in turn, without reading stdin");
    cmd->add_flag("--stats", o->stats, "print speed after each answer");
    cmd->callback([o, &ctx] {
        Progress progress = stderr_progress(ctx);
        auto lm = load_model(o->run.model, o->run.model_options(), progress, o->run.load_options());
        if (!lm->chat_template) throw Error(o->run.model, "the model has no chat template");
        GenerationConfig cfg = o->gen.cfg;
        if (!o->gen.ignore_eos) cfg.eos_ids = lm->eos_ids;
        std::vector<ChatMessage> history;
        if (!o->system.empty()) history.push_back({"system", o->system});
        if (!o->messages.empty()) {
            for (const auto& m : o->messages) {
                if (m.empty()) throw Error("--message", "empty message");
                std::printf("user: %s\nassistant: ", m.c_str());
                history.push_back({"user", m});
                chat_turn(*lm, history, cfg, progress, o->stats);
            }
            return;
        }
        const bool tty = isatty(STDIN_FILENO);
        std::string line;
        while (true) {
            if (tty) std::fputs("\nuser> ", stdout), std::fflush(stdout);
            if (!std::getline(std::cin, line)) break;
            if (line == "/quit" || line == "/exit") break;
            if (line == "/reset") {
                history.erase(history.begin() + (o->system.empty() ? 0 : 1), history.end());
                continue;
            }
            if (line.empty()) continue;
            history.push_back({"user", line});
            if (tty) std::fputs("assistant> ", stdout);
            ctx.cancel->store(false);
            chat_turn(*lm, history, cfg, progress, o->stats);
        }
    });
}

}  // namespace awq::cli
