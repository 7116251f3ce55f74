#pragma once
// Next-token choice from one row of logits: repetition penalty, then temperature, top-k, top-p (the order
// transformers applies them). temperature == 0 means greedy (argmax, first index on ties, like torch.argmax).
#include <cstdint>
#include <random>
#include <vector>

namespace awq {

struct SamplingConfig {
    float temperature = 0.0f;
    int top_k = 0;               // 0 = off
    float top_p = 1.0f;          // 1 = off
    float repetition_penalty = 1.0f;  // 1 = off; > 1 discourages tokens already in the sequence
    uint64_t seed = 0;
};

class Sampler {
public:
    explicit Sampler(const SamplingConfig& cfg);
    // `logits` is modified in place. `history` = prompt + generated so far (for the repetition penalty).
    int32_t sample(std::vector<float>& logits, const std::vector<int32_t>& history);

private:
    SamplingConfig cfg_;
    std::mt19937_64 rng_;
};

}  // namespace awq
