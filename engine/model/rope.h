#pragma once
// Rotary position embedding as Hugging Face Llama computes it: inverse frequencies in fp32 (with Llama 3
// or linear scaling), cos/sin of position * inv_freq in fp32, then cast to the activation dtype; applied
// with the "rotate half" convention (pairs are (i, i + head_dim/2)).
#include <ATen/core/Tensor.h>

#include "core/model_config.h"

namespace awq {

class Rope {
public:
    Rope(const ModelConfig& cfg, at::Device device);
    // cos/sin [T, head_dim] in `dtype` for positions start .. start+T-1.
    std::pair<at::Tensor, at::Tensor> tables(int64_t start, int64_t length, at::ScalarType dtype) const;
    void to(at::Device device);

private:
    at::Tensor inv_freq_;  // fp32 [head_dim/2]
};

// x [B, heads, T, head_dim]; cos/sin [T, head_dim].
at::Tensor apply_rope(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin);

}  // namespace awq
