#include "generate/generator.h"

#include <algorithm>
#include <chrono>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include "core/error.h"
#include "generate/cuda_graph_decoder.h"
#include "model/llama_model.h"
#include "tokenizer/tokenizer.h"

namespace awq {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Last-position logits of every row as fp32 vectors on the CPU (this also synchronises the device).
std::vector<std::vector<float>> rows_of(const at::Tensor& logits) {
    at::Tensor l = logits.select(1, logits.size(1) - 1).to(at::kCPU, at::kFloat).contiguous();
    std::vector<std::vector<float>> out(l.size(0));
    const float* p = l.data_ptr<float>();
    for (int64_t b = 0; b < l.size(0); ++b) out[b].assign(p + b * l.size(1), p + (b + 1) * l.size(1));
    return out;
}

at::Tensor ids_tensor(const std::vector<std::vector<int32_t>>& rows) {
    const int64_t B = (int64_t)rows.size(), T = (int64_t)rows[0].size();
    at::Tensor t = at::empty({B, T}, at::kLong);
    auto a = t.accessor<int64_t, 2>();
    for (int64_t b = 0; b < B; ++b)
        for (int64_t i = 0; i < T; ++i) a[b][i] = rows[b][i];
    return t;
}

void check_prompt(const LlamaModel& model, const std::vector<int32_t>& prompt) {
    if (prompt.empty()) throw Error("prompt", "empty prompt: at least one token is needed");
    const int64_t V = model.config().vocab_size;
    for (int32_t id : prompt)
        if (id < 0 || id >= V)
            throw Error("prompt", "token id " + std::to_string(id) + " outside the vocabulary (size " + std::to_string(V) + ")");
}

// The decode steps of one generation: replayed from a CUDA graph when asked for and possible, eager otherwise.
// Greedy generation on a graph picks the tokens on the device and keeps the next step queued while the host
// reads this one's tokens (CudaGraphDecoder device_greedy); other sampling reads the logits every step.
class DecodeSteps {
public:
    DecodeSteps(LlamaModel& model, const GenerationConfig& cfg) : model_(model), budget_(cfg.max_new_tokens - 1) {
        if (cfg.cuda_graph && cfg.max_new_tokens > 1) {
            if (CudaGraphDecoder::supported(model)) want_graph_ = true;
            else if (model.device().is_cuda()) fallback_ = model.offload() ? "the model is offloaded (weights move per block)" : "this build has no CUDA support";
        }
        want_greedy_ = want_graph_ && cfg.device_greedy && cfg.sampling.temperature == 0.0f &&
                       cfg.sampling.repetition_penalty == 1.0f;
    }
    // Cache for `tokens` tokens (padded when a graph will attend over its whole capacity).
    KVCache make_cache(int64_t batch, int64_t tokens) const {
        return model_.make_cache(batch, want_graph_ ? CudaGraphDecoder::padded_capacity(tokens) : tokens);
    }
    // After the prefill: capture the step (its time is reported apart from prefill and decode).
    void prepare(KVCache& cache, GenerationStats& stats) {
        cache_ = &cache;
        if (want_graph_) {
            auto t0 = Clock::now();
            try {
                graph_ = std::make_unique<CudaGraphDecoder>(model_, cache, want_greedy_);
            } catch (const Error& e) {
                fallback_ = e.what();
            }
            stats.graph_setup_seconds = seconds_since(t0);
        }
        stats.cuda_graph = graph_ != nullptr;
        stats.device_greedy = device_greedy();
        stats.graph_fallback = fallback_;
    }
    bool device_greedy() const { return graph_ && want_greedy_; }
    // Host sampling: the logits of one step on `ids`.
    at::Tensor step(const at::Tensor& ids) { return graph_ ? graph_->step(ids) : model_.forward(ids, cache_, true); }
    // Device greedy: the tokens of the next step, whose input is `first_ids` on the first call and the
    // previous step's tokens after that. Keeps one more step queued behind it while the budget allows.
    std::vector<int32_t> greedy_step(const std::vector<int32_t>& first_ids) {
        constexpr int64_t kAhead = 2;
        while (queued_ < std::min(budget_, read_ + kAhead)) {
            graph_->queue_greedy_step(queued_ == 0 ? first_ids : std::vector<int32_t>{});
            ++queued_;
        }
        return graph_->greedy_tokens(read_++);
    }

private:
    LlamaModel& model_;
    KVCache* cache_ = nullptr;
    bool want_graph_ = false, want_greedy_ = false;
    int64_t budget_ = 0;             // decode steps the generation may run (the first token comes from the prefill)
    int64_t queued_ = 0, read_ = 0;  // device greedy: steps queued, steps whose tokens were read
    std::string fallback_;
    std::unique_ptr<CudaGraphDecoder> graph_;
};

}  // namespace

std::vector<std::vector<int32_t>> generate_ids(LlamaModel& model, const std::vector<std::vector<int32_t>>& prompts,
                                               const GenerationConfig& cfg, GenerationStats* stats,
                                               const Progress& progress) {
    if (prompts.empty()) throw Error("prompt", "no prompts given");
    for (auto& p : prompts) {
        check_prompt(model, p);
        if (p.size() != prompts[0].size()) throw Error("prompt", "batched prompts must have equal length");
    }
    if (cfg.max_new_tokens < 1) throw Error("--max-new-tokens", "must be >= 1");
    const int64_t B = (int64_t)prompts.size(), T = (int64_t)prompts[0].size();
    c10::InferenceMode no_grad;
    DecodeSteps decoder(model, cfg);
    KVCache cache = decoder.make_cache(B, T + cfg.max_new_tokens);
    GenerationStats local_stats;
    if (!stats) stats = &local_stats;
    std::vector<Sampler> samplers;
    for (int64_t b = 0; b < B; ++b) {
        SamplingConfig sc = cfg.sampling;
        sc.seed += (uint64_t)b;
        samplers.emplace_back(sc);
    }
    std::vector<std::vector<int32_t>> history = prompts, out(B);
    std::vector<bool> done(B, false);

    auto t0 = Clock::now();
    auto rows = rows_of(model.forward(ids_tensor(prompts), &cache, /*last_only=*/true));
    stats->prompt_tokens = B * T;
    stats->prefill_seconds = seconds_since(t0);
    decoder.prepare(cache, *stats);
    auto t1 = Clock::now();
    int64_t decode_steps = 0;
    std::vector<int32_t> device_ids;  // device greedy: the tokens of the last step
    for (int64_t step = 0; step < cfg.max_new_tokens; ++step) {
        progress.check_cancel();
        std::vector<std::vector<int32_t>> next(B, std::vector<int32_t>(1));
        for (int64_t b = 0; b < B; ++b) {
            int32_t id = step > 0 && decoder.device_greedy() ? device_ids[b] : samplers[b].sample(rows[b], history[b]);
            next[b][0] = id;
            if (done[b]) continue;
            if (std::find(cfg.eos_ids.begin(), cfg.eos_ids.end(), id) != cfg.eos_ids.end()) {
                done[b] = true;
                continue;
            }
            out[b].push_back(id);
            history[b].push_back(id);
        }
        progress.report("generating", step + 1, cfg.max_new_tokens);
        if (std::all_of(done.begin(), done.end(), [](bool d) { return d; }) || step + 1 == cfg.max_new_tokens) break;
        if (decoder.device_greedy()) {
            std::vector<int32_t> first(B);
            for (int64_t b = 0; b < B; ++b) first[b] = next[b][0];
            device_ids = decoder.greedy_step(first);
        } else {
            rows = rows_of(decoder.step(ids_tensor(next)));
        }
        ++decode_steps;
    }
    stats->decode_seconds = seconds_since(t1);
    stats->batch = B;
    stats->decode_steps = decode_steps;
    stats->new_tokens = 0;
    for (auto& o : out) stats->new_tokens += (int64_t)o.size();
    return out;
}

namespace {

// Longest suffix of `text` that is a proper prefix of some stop string: that much must be held back.
size_t pending_stop_prefix(const std::string& text, const std::vector<std::string>& stops) {
    size_t hold = 0;
    for (const auto& s : stops)
        for (size_t n = std::min(s.size() - 1, text.size()); n > hold; --n)
            if (text.compare(text.size() - n, n, s, 0, n) == 0) {
                hold = n;
                break;
            }
    return hold;
}

}  // namespace

GenerationResult generate(LlamaModel& model, const Tokenizer& tok, const std::vector<int32_t>& prompt,
                          const GenerationConfig& cfg, const TokenCallback& on_token, const Progress& progress) {
    check_prompt(model, prompt);
    if (cfg.max_new_tokens < 1) throw Error("--max-new-tokens", "must be >= 1");
    for (auto& s : cfg.stop_strings)
        if (s.empty()) throw Error("--stop", "stop strings must not be empty");
    c10::InferenceMode no_grad;
    GenerationResult res;
    res.stop_reason = "length";
    const int64_t T = (int64_t)prompt.size();
    DecodeSteps decoder(model, cfg);
    KVCache cache = decoder.make_cache(1, T + cfg.max_new_tokens);
    Sampler sampler(cfg.sampling);
    std::vector<int32_t> history = prompt;
    StreamDecoder stream(tok, /*skip_special=*/true);
    std::string text;      // complete text so far
    size_t emitted = 0;    // bytes of `text` handed to the callback

    auto t0 = Clock::now();
    std::vector<float> row = rows_of(model.forward(ids_tensor({prompt}), &cache, true))[0];
    res.stats.prompt_tokens = T;
    res.stats.prefill_seconds = seconds_since(t0);
    decoder.prepare(cache, res.stats);
    auto t1 = Clock::now();
    int32_t device_id = 0;  // device greedy: the token of the last step
    for (int64_t step = 0; step < cfg.max_new_tokens; ++step) {
        if (progress.cancelled()) {
            res.stop_reason = "cancelled";
            break;
        }
        int32_t id = step > 0 && decoder.device_greedy() ? device_id : sampler.sample(row, history);
        if (std::find(cfg.eos_ids.begin(), cfg.eos_ids.end(), id) != cfg.eos_ids.end()) {
            res.stop_reason = "eos";
            break;
        }
        res.tokens.push_back(id);
        history.push_back(id);
        text += stream.push(id);
        bool stop = false;
        for (const auto& s : cfg.stop_strings) {
            size_t at = text.find(s, emitted > s.size() ? emitted - s.size() : 0);
            if (at != std::string::npos) {
                text.resize(at);
                stop = true;
            }
        }
        size_t hold = stop ? 0 : pending_stop_prefix(text, cfg.stop_strings);
        std::string piece = text.size() - hold > emitted ? text.substr(emitted, text.size() - hold - emitted) : "";
        emitted += piece.size();
        if (on_token) on_token(id, piece);
        progress.report("generating", step + 1, cfg.max_new_tokens);
        if (stop) {
            res.stop_reason = "stop_string";
            break;
        }
        if (step + 1 == cfg.max_new_tokens) break;
        if (decoder.device_greedy()) device_id = decoder.greedy_step({id})[0];
        else row = rows_of(decoder.step(ids_tensor({{id}})))[0];
        ++res.stats.decode_steps;
    }
    if (res.stop_reason != "stop_string") {
        text += stream.flush();
        if (on_token && text.size() > emitted) on_token(-1, text.substr(emitted));
    }
    res.stats.decode_seconds = seconds_since(t1);
    res.stats.new_tokens = (int64_t)res.tokens.size();
    res.text = text;
    return res;
}

}  // namespace awq
