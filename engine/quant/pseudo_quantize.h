#pragma once
// Group-wise integer quantization of a weight matrix W [out, in] (groups of `group` consecutive inputs):
//   asymmetric: scale = max(max - min, 1e-5) / (2^b - 1), zero = clamp(-round(min / scale), 0, 2^b - 1),
//               q = clamp(round(w / scale) + zero, 0, 2^b - 1)
//   symmetric:  scale = max(|w|max, 1e-5) / (2^(b-1) - 1), q = clamp(round(w / scale), -2^(b-1), 2^(b-1) - 1)
// w' = (q - zero) * scale. Rounding is half-to-even (torch.round). Scales are rounded to fp16 BEFORE q is
// computed, because fp16 is what a checkpoint stores: the fake-quantized weights used while searching and
// evaluating are then exactly what the exported checkpoint dequantizes to.
#include <cstdint>

#include <ATen/core/Tensor.h>

#include "quant/quantized_weight.h"

namespace awq {

struct QuantSpec {
    int bits = 4;
    int64_t group = 128;  // > 0, divides in
    bool zero_point = true;
};

// Dequantized W' in w's dtype (w may be [out, in] or [..., in] with in % group == 0).
at::Tensor pseudo_quantize(const at::Tensor& w, const QuantSpec& spec);

// The integer form (symmetric values offset by 2^(bits-1), zeros = 2^(bits-1)).
QuantizedWeight quantize_weight(const at::Tensor& w, const QuantSpec& spec, const at::Tensor& bias = {});

}  // namespace awq
