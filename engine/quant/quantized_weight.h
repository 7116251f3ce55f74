#pragma once
// The integer form of one quantized linear, W [out, in]: what the quantizer produces and every packed layout
// (AutoAWQ gemm/gemv, our fast layout) is made from. Groups run along `in`.
//     w[o][i] = (q[o][i] - zeros[o][i / group]) * scales[o][i / group]
// Symmetric quantization uses the same formula with q stored offset by 2^(bits-1) and every zero equal to
// 2^(bits-1), which is how AutoAWQ-format checkpoints must carry it anyway.
#include <cstdint>

#include <ATen/core/Tensor.h>

namespace awq {

struct QuantizedWeight {
    int bits = 4;
    int64_t group_size = 128;  // resolved: > 0 and divides in_features
    bool zero_point = true;
    at::Tensor q;       // uint8 [out, in], values 0 .. 2^bits - 1
    at::Tensor scales;  // float16 [out, in / group]
    at::Tensor zeros;   // uint8 [out, in / group]
    at::Tensor bias;    // undefined, or [out]

    int64_t out_features() const { return q.size(0); }
    int64_t in_features() const { return q.size(1); }
    // Dense weight [out, in] in `dtype`, computed in fp32 from the fp16 scales (exactly what kernels compute).
    at::Tensor dequantize(at::ScalarType dtype) const;
};

}  // namespace awq
