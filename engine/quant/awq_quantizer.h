#pragma once
// The AWQ pipeline over a loaded model, block by block (AutoAWQ's order and groups for Llama-family blocks):
//   1. run block i in float on the calibration hidden states, capturing each linear's input; its float output
//      is block i+1's input (as AutoAWQ does);
//   2. search scales for (input_norm -> q,k,v), (v -> o, only without grouped-query attention),
//      (post_norm -> gate,up), (up -> down) on the float weights, then fold all of them;
//   3. search and apply clipping for every linear but q and k;
//   4. quantize every linear (not in modules_to_not_convert) and keep its integer form; the model's dense
//      weights become the dequantized values, so the model in memory is the quantized model.
// With method "rtn" steps 2-3 are skipped. Only one block's weights and activations are on the compute
// device at a time when the model offloads.
#include <map>
#include <string>

#include <ATen/core/Tensor.h>

#include "core/progress.h"
#include "quant/awq_evidence.h"
#include "quant/quant_config.h"
#include "quant/quantized_weight.h"

namespace awq {

class LlamaModel;

struct QuantizeStats {
    double seconds = 0;
    double scale_search_seconds = 0;
    double clip_search_seconds = 0;
    std::vector<double> block_seconds;
    int64_t peak_device_bytes = 0;  // CUDA caching allocator peak (0 on the CPU)
    int64_t peak_host_bytes = 0;    // max resident set size of the process
};

struct QuantizeResult {
    std::map<std::string, QuantizedWeight> linears;  // "model.layers.3.mlp.up_proj" -> integer form (on the CPU)
    QuantEvidence evidence;
    QuantizeStats stats;
};

// `calib_ids` int64 [samples, seqlen]. Reports "block i/n: phase" progress and honours cancellation at
// every phase (throws awq::Cancelled; the model is then partly modified and must be discarded).
QuantizeResult quantize_model(LlamaModel& model, const at::Tensor& calib_ids, const QuantConfig& cfg,
                              const Progress& progress = {});

// Full linear name ("model.layers.3.self_attn.q_proj") is kept in float by modules_to_not_convert.
bool keeps_float(const QuantConfig& cfg, const std::string& linear_name);

}  // namespace awq
