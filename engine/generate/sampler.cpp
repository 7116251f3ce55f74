#include "generate/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <unordered_set>

#include "core/error.h"

namespace awq {

Sampler::Sampler(const SamplingConfig& cfg) : cfg_(cfg), rng_(cfg.seed) {
    if (cfg.temperature < 0) throw Error("--temperature", "must be >= 0");
    if (cfg.top_k < 0) throw Error("--top-k", "must be >= 0");
    if (!(cfg.top_p > 0 && cfg.top_p <= 1)) throw Error("--top-p", "must be in (0, 1]");
    if (!(cfg.repetition_penalty > 0)) throw Error("--repetition-penalty", "must be > 0");
}

int32_t Sampler::sample(std::vector<float>& logits, const std::vector<int32_t>& history) {
    const int64_t V = (int64_t)logits.size();
    if (cfg_.repetition_penalty != 1.0f) {
        std::unordered_set<int32_t> seen(history.begin(), history.end());
        for (int32_t id : seen) {
            if (id < 0 || id >= V) continue;
            float& l = logits[id];
            l = l < 0 ? l * cfg_.repetition_penalty : l / cfg_.repetition_penalty;
        }
    }
    if (cfg_.temperature == 0.0f)
        return (int32_t)(std::max_element(logits.begin(), logits.end()) - logits.begin());

    for (float& l : logits) l /= cfg_.temperature;
    std::vector<int32_t> idx(V);
    std::iota(idx.begin(), idx.end(), 0);
    int64_t keep = V;
    if (cfg_.top_k > 0 && cfg_.top_k < V) keep = cfg_.top_k;
    // Sort only what top-k can keep; top-p then works on that sorted prefix.
    std::partial_sort(idx.begin(), idx.begin() + keep, idx.end(),
                      [&](int32_t a, int32_t b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); });
    const float mx = logits[idx[0]];
    std::vector<double> p(keep);
    double sum = 0;
    for (int64_t i = 0; i < keep; ++i) sum += (p[i] = std::exp((double)logits[idx[i]] - mx));
    for (auto& x : p) x /= sum;
    if (cfg_.top_p < 1.0f) {
        // Keep the smallest prefix whose mass reaches top_p (at least one token).
        double c = 0;
        int64_t n = 0;
        while (n < keep) {
            c += p[n++];
            if (c >= cfg_.top_p) break;
        }
        keep = n;
        p.resize(keep);
    }
    std::discrete_distribution<int64_t> dist(p.begin(), p.end());
    return idx[dist(rng_)];
}

}  // namespace awq
