#pragma once
// Which Hugging Face parameter each GGUF tensor becomes, checked against the model config (names, shapes,
// completeness, dequantizable types) before any data is touched, and how to produce its values in the
// Hugging Face layout. Shared by the converter and anything that loads GGUF weights directly.
#include <cstdint>
#include <string>
#include <vector>

#include "core/model_config.h"
#include "io/gguf_reader.h"

namespace awq {

struct GgufHfTensor {
    const GgufTensorInfo* gguf = nullptr;  // points into the GgufReader's tensor list
    std::string hf_name;                   // e.g. "model.layers.0.self_attn.q_proj.weight"
    int64_t rope_heads = 0;                // > 0: undo llama.cpp's q/k row permutation with this many heads
};

// Throws awq::Error(gguf path, ...) for a tensor with no HF counterpart, a wrong shape, a layer index past
// the config, an undequantizable type, a missing required tensor or one the config does not use.
// rope_freqs.weight is skipped (config.json's rope_scaling carries it).
std::vector<GgufHfTensor> plan_gguf_hf_tensors(const GgufReader& gguf, const ModelConfig& config);

// Dequantizes `t` into `out` (numel floats, HF shape, row-major) and restores the HF row order.
void read_gguf_hf_tensor(const GgufReader& gguf, const GgufHfTensor& t, float* out, size_t numel);

}  // namespace awq
