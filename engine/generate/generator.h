#pragma once
// Autoregressive generation over a KV cache: one batched prefill of the prompt, then one token per step,
// streaming each token to a callback, stopping at EOS, a stop string, the token limit or cancellation.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/progress.h"
#include "generate/sampler.h"

namespace awq {

class LlamaModel;
class Tokenizer;

struct GenerationConfig {
    int64_t max_new_tokens = 128;
    SamplingConfig sampling;
    std::vector<int32_t> eos_ids;          // generation stops when one is produced (not included in text)
    std::vector<std::string> stop_strings;  // generation stops when the text contains one (text cut before it)
    // Replay decode steps from a captured CUDA graph (CudaGraphDecoder) when the model runs on CUDA without
    // offload; elsewhere, or when capture fails, the eager path runs (GenerationStats says which and why).
    bool cuda_graph = true;
    // With the graph and greedy sampling (temperature 0, no repetition penalty): pick each token on the device
    // and queue the next step before the host has read this one's token. Same tokens as the host sampler; off
    // reads the logits back every step (for comparison).
    bool device_greedy = true;
};

struct GenerationStats {
    int64_t prompt_tokens = 0;
    int64_t new_tokens = 0;    // generated tokens over all rows
    int64_t batch = 1;
    int64_t decode_steps = 0;  // forward passes after the prefill (each yields `batch` tokens)
    double prefill_seconds = 0;  // prompt forward + first token
    double decode_seconds = 0;   // the decode_steps forward passes
    bool cuda_graph = false;          // decode steps were replayed from a CUDA graph
    double graph_setup_seconds = 0;   // warm-up + capture (after the prefill, outside both timings)
    std::string graph_fallback;       // why a requested CUDA graph was not used (empty when used or not asked)
    bool device_greedy = false;       // tokens were picked on the device, steps queued ahead (GenerationConfig)
    double prefill_tokens_per_s() const { return prefill_seconds > 0 ? prompt_tokens / prefill_seconds : 0; }
    double decode_tokens_per_s() const { return decode_seconds > 0 ? batch * decode_steps / decode_seconds : 0; }
};

struct GenerationResult {
    std::vector<int32_t> tokens;  // generated ids (EOS excluded)
    std::string text;             // decoded, cut at a stop string
    std::string stop_reason;      // "eos", "stop_string", "length", "cancelled"
    GenerationStats stats;
};

// Called with each new token id and the text it completes (may be empty while a UTF-8 character or a
// possible stop string is pending).
using TokenCallback = std::function<void(int32_t id, const std::string& text)>;

GenerationResult generate(LlamaModel& model, const Tokenizer& tok, const std::vector<int32_t>& prompt,
                          const GenerationConfig& cfg, const TokenCallback& on_token = {}, const Progress& progress = {});

// Token-level batched generation (equal-length prompts, no text): for benchmarks and exactness tests.
// Returns [batch][new tokens]; stops each row at EOS (when eos_ids is set) or at max_new_tokens.
std::vector<std::vector<int32_t>> generate_ids(LlamaModel& model, const std::vector<std::vector<int32_t>>& prompts,
                                               const GenerationConfig& cfg, GenerationStats* stats = nullptr,
                                               const Progress& progress = {});

}  // namespace awq
