#pragma once
#include <CLI/CLI.hpp>

#include "generate/generator.h"

namespace awq::cli {

struct GenerationOptions {
    GenerationConfig cfg;
    bool ignore_eos = false;
};

inline void add_generation_options(CLI::App* cmd, GenerationOptions& g) {
    cmd->add_option("--max-new-tokens,-n", g.cfg.max_new_tokens, "tokens to generate at most")->capture_default_str();
    cmd->add_option("--temperature", g.cfg.sampling.temperature, "0 = greedy")->capture_default_str();
    cmd->add_option("--top-k", g.cfg.sampling.top_k, "0 = off")->capture_default_str();
    cmd->add_option("--top-p", g.cfg.sampling.top_p, "1 = off")->capture_default_str();
    cmd->add_option("--repetition-penalty", g.cfg.sampling.repetition_penalty, "1 = off")->capture_default_str();
    cmd->add_option("--seed", g.cfg.sampling.seed, "random seed for sampling")->capture_default_str();
    cmd->add_option("--stop", g.cfg.stop_strings, "stop when the text contains this string (repeatable)");
    cmd->add_flag("--ignore-eos", g.ignore_eos, "do not stop at the end-of-sequence token");
}

}  // namespace awq::cli
