#pragma once
// Perplexity the standard way (as in the AWQ/GPTQ evaluations): the whole text is tokenized once, cut into
// non-overlapping windows of `seqlen` tokens (the incomplete tail is dropped), each window is scored
// independently, and ppl = exp(mean NLL over every predicted token of every window).
#include <cstdint>
#include <string>
#include <vector>

#include "core/progress.h"

namespace awq {

class LlamaModel;
class Tokenizer;

struct PerplexityOptions {
    int64_t seqlen = 2048;
    int64_t max_windows = 0;  // 0 = all windows
};

struct PerplexityResult {
    double perplexity = 0;
    double mean_nll = 0;
    int64_t windows = 0;
    int64_t predicted_tokens = 0;  // windows * (seqlen - 1)
    int64_t total_tokens = 0;      // tokens in the whole text
    std::vector<double> window_nll;  // mean NLL of each window
    double seconds = 0;
};

PerplexityResult perplexity(LlamaModel& model, const std::vector<int32_t>& tokens, const PerplexityOptions& opt,
                            const Progress& progress = {});

// Reads and tokenizes `path` (with the tokenizer's default special tokens, like tokenizer(text) in Python).
PerplexityResult perplexity_of_file(LlamaModel& model, const Tokenizer& tok, const std::string& path,
                                    const PerplexityOptions& opt, const Progress& progress = {});

std::string read_text_file(const std::string& path);  // throws awq::Error naming the file

}  // namespace awq
