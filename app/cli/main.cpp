// awqlab-cli: the headless front end over the AWQ Lab engine, for scripts and the GPU machine.
// Every subcommand prints results to stdout, diagnostics and progress to stderr, and exits non-zero on error.
#include <atomic>
#include <csignal>
#include <iostream>

#include <CLI/CLI.hpp>

#include "commands.h"
#include "core/error.h"

namespace {
std::atomic<bool> g_cancel{false};
void on_sigint(int) {
    if (g_cancel.exchange(true)) std::_Exit(130);  // second Ctrl-C: leave now
}
}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"AWQ Lab command-line tool: inspect, convert, run and evaluate Llama-family checkpoints"};
    app.require_subcommand(1);
    app.set_version_flag("--version", "awqlab-cli 0.1");
    awq::cli::Context ctx{&g_cancel};
    awq::cli::add_info_command(app, ctx);
    awq::cli::add_convert_command(app, ctx);
    awq::cli::add_generate_command(app, ctx);
    awq::cli::add_chat_command(app, ctx);
    awq::cli::add_ppl_command(app, ctx);
    awq::cli::add_quantize_command(app, ctx);
    awq::cli::add_tokenize_command(app, ctx);
    std::signal(SIGINT, on_sigint);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    } catch (const awq::Cancelled&) {
        std::cerr << "cancelled\n";
        return 130;
    } catch (const awq::Error& e) {
        std::cerr << "error: " << e.what() << "\n";
        return 1;
    } catch (const std::exception& e) {
        std::cerr << "error: " << e.what() << "\n";
        return 1;
    }
    return ctx.exit_code;
}
