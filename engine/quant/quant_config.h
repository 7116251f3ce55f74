#pragma once
// Every knob of a quantization run, validated once (errors name the option), so the pipeline, the CLI and
// the workbench share one definition.
#include <cstdint>
#include <string>
#include <vector>

namespace awq {

struct QuantConfig {
    int w_bit = 4;                 // 2..8
    int64_t group_size = 128;      // -1 (one group per output row), 32, 64, 128, 256
    bool zero_point = true;        // asymmetric with integer zero points; false = symmetric
    std::string method = "awq";    // "awq" or "rtn" (round-to-nearest: the same path with both searches off)
    bool search_scales = true;     // AWQ's per-input-channel scale search
    bool search_clip = true;       // AWQ's weight clipping search
    bool duo_scaling = true;       // scales from activations and weights (AutoAWQ's default)
    int n_grid = 20;               // grid points of the scale search (ratios k / n_grid)
    int clip_grid = 20;            // clip search: max |w| * (1 - i / clip_grid)
    double clip_max_shrink = 0.5;  // ... for i < clip_max_shrink * clip_grid
    int64_t clip_sample_tokens = 512;  // tokens (strided) the clip search evaluates
    // Arithmetic of the clip search's error: "model" (products, partial sums and squared errors rounded to the model's
    // dtype, as AutoAWQ computes them in fp16) or "float32" (exact). The default follows AutoAWQ because it measured
    // better: SmolLM2 w3 g64 WikiText-2 perplexity 49.79 with "model" vs 52.09 with "float32" (AutoAWQ 49.76),
    // experiments/results/autoawq_side_by_side.md.
    std::string clip_precision = "model";
    std::vector<std::string> modules_to_not_convert;  // substrings of linear names kept in float
    std::string version = "gemm";  // export layout: "gemm", "gemv", "fast"

    bool searches() const { return method == "awq" && (search_scales || search_clip); }
    int64_t group_for(int64_t in_features) const { return group_size == -1 ? in_features : group_size; }
    void validate() const;  // throws awq::Error("--w-bit", ...), ...
};

}  // namespace awq
