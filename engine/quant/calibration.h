#pragma once
// Calibration data the way AutoAWQ builds it: texts are tokenized one by one (stripped; texts longer than
// `seqlen` tokens and empty ones are skipped), the first `n_samples` usable texts are concatenated, and the
// token stream is cut into consecutive blocks of `seqlen`; the blocks form one batch.
#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace awq {

class Tokenizer;

struct CalibrationConfig {
    std::string path;                 // .txt (one text per non-empty line) or .jsonl (a "text" field per line)
    std::vector<std::string> texts;   // used when path is empty
    int64_t n_samples = 128;          // texts taken
    int64_t seqlen = 512;             // tokens per block
    bool shuffle = true;              // shuffle the texts with `seed` before taking them
    uint64_t seed = 42;
};

struct CalibrationData {
    at::Tensor ids;                  // int64 [blocks, seqlen]
    std::vector<std::string> texts;  // the texts used, in order (to reproduce the run elsewhere)
    int64_t tokens = 0;              // tokens in the concatenation (blocks * seqlen of them are used)
    std::string source;
};

std::vector<std::string> read_calibration_texts(const std::string& path);  // errors name the file and line
CalibrationData build_calibration(const Tokenizer& tok, const CalibrationConfig& cfg);

}  // namespace awq
