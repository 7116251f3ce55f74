#pragma once
// The linear-layer interface every projection of a decoder block goes through. Implementations can be
// swapped per layer: dense (fp32/fp16/bf16), fake-quantized (AWQ search), packed 4-bit (kernels issue).
// y = x W^T (+ b), x [..., in], W [out, in].
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "model/decode_fusion.h"

namespace awq {

class Linear {
public:
    virtual ~Linear() = default;
    virtual at::Tensor forward(const at::Tensor& x) const = 0;
    virtual int64_t in_features() const = 0;
    virtual int64_t out_features() const = 0;
    // Dense weight [out, in] in the compute dtype (dequantized for quantized kinds).
    virtual at::Tensor dense_weight() const = 0;
    virtual at::Tensor bias() const = 0;  // undefined tensor when there is none
    virtual void to(at::Device device) = 0;
    virtual std::string kind() const = 0;   // "dense", "awq-gemm", ...
    virtual int64_t weight_bytes() const = 0;  // bytes of the stored weight representation
    // One linear computing [this; others...] stacked along the output dimension (Q/K/V and gate/up read the same
    // input: one call, one kernel launch, instead of three or two), or null when they cannot be merged
    // (different kinds, dtypes, devices, input sizes or quantization settings).
    virtual std::unique_ptr<Linear> merge_outputs(const std::vector<const Linear*>& others) const { return nullptr; }
    // Launch this layer's own kernels with programmatic dependent launch (decode_ops.h explains it); no effect on
    // kinds that call library kernels.
    virtual void set_programmatic_launch(bool) {}
    // forward() with the steps of `f` folded into the matmul (decode_fusion.h), rounded as the separate steps
    // round: e.g. SwiGLU's down projection taking gate_up = [.., 2 * in_features] with the SiLU in its input load.
    // An undefined tensor, with nothing written, when this layer cannot do that here (the caller then runs the
    // separate steps and forward()).
    virtual at::Tensor forward_fused(const at::Tensor& x, const DecodeFusion& f) const { return {}; }
    // The device tensors forward() reads on this layer's device, for a kernel that runs just before it to ask the
    // L2 cache for them (decode attention; decode_kernels.h). Empty when unknown.
    virtual std::vector<at::Tensor> read_tensors() const { return {}; }
};

// The bias of linears merged along the output dimension (Linear::merge_outputs): each part's bias, or zeros for
// a part without one, concatenated; undefined when no part has a bias.
at::Tensor stacked_bias(const std::vector<const Linear*>& parts, const at::TensorOptions& options);

// Plain dense weight, stored in the compute dtype. The weight is mutable so that AWQ can fold scales into it.
class DenseLinear : public Linear {
public:
    DenseLinear(at::Tensor weight, at::Tensor bias);
    at::Tensor forward(const at::Tensor& x) const override;
    int64_t in_features() const override;
    int64_t out_features() const override;
    at::Tensor dense_weight() const override { return weight_; }
    at::Tensor bias() const override { return bias_; }
    void to(at::Device device) override;
    std::string kind() const override { return "dense"; }
    int64_t weight_bytes() const override;
    std::unique_ptr<Linear> merge_outputs(const std::vector<const Linear*>& others) const override;
    std::vector<at::Tensor> read_tensors() const override { return {weight_, bias_}; }

    at::Tensor& weight() { return weight_; }
    at::Tensor& mutable_bias() { return bias_; }

private:
    at::Tensor weight_;
    at::Tensor bias_;
};

}  // namespace awq
