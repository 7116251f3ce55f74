#pragma once
// What the workbench shows about a quantization run, saved beside every quantized model
// (awq_evidence.safetensors: tensors + a JSON summary in the metadata, format version 1):
// - per linear: the saliency vector (mean |x| per input channel on the calibration activations) and its
//   top 1 % channels, the scale-search loss at every grid point and the chosen ratio, the chosen scales,
//   the clip decision per (row, group), and the relative output error ||Wx - Q(W)x|| / ||Wx|| for RTN and AWQ;
// - per block: the relative error of the whole block's output, RTN vs AWQ.
#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

namespace awq {

struct LinearEvidence {
    std::string name;                   // "model.layers.3.mlp.up_proj"
    int64_t block = 0;
    at::Tensor saliency;                // float32 [in]
    std::vector<int64_t> top_channels;  // top 1 % of saliency (at least one), most salient first
    std::vector<double> grid_loss;      // scale-search loss per ratio k / n_grid (empty: no search)
    double best_ratio = -1;             // chosen ratio (-1: no search)
    at::Tensor scales;                  // float32 [in], the folded AWQ scales (undefined: none)
    at::Tensor clip_shrink;             // uint8 [out, groups]: max |w| was cut to (1 - i / clip_grid) (undefined: no clip)
    double rtn_error = 0;               // relative output error of plain RTN
    double awq_error = 0;               // relative output error after AWQ (equal to rtn_error for method rtn)
};

struct BlockEvidence {
    int64_t index = 0;
    double rtn_error = 0;  // ||block_fp(x) - block_rtn(x)|| / ||block_fp(x)||
    double awq_error = 0;
    double seconds = 0;
};

struct QuantEvidence {
    nlohmann::json summary;  // config, calibration, timings, model
    std::vector<LinearEvidence> linears;
    std::vector<BlockEvidence> blocks;

    const LinearEvidence* find(const std::string& name) const;
    void save(const std::string& path) const;  // atomic
    static QuantEvidence load(const std::string& path);  // errors name the file
};

// Indices of the top `fraction` of `saliency` (at least one), largest first.
std::vector<int64_t> top_channels(const at::Tensor& saliency, double fraction = 0.01);

}  // namespace awq
