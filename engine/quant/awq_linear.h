#pragma once
// A linear layer whose weight is stored 4-bit packed (AutoAWQ gemm/gemv or our fast layout): what a quantized
// model holds in memory after quantization or after importing an AutoAWQ checkpoint.
//
// Forward: through the CUDA W4A16 kernel when one is registered (set_cuda_forward, done by
// install_cuda_kernels() in quant/awq_cuda_kernels.h), the layer allows it (kernel_enabled) and the input is on
// a CUDA device; otherwise the weight is dequantized once on the CPU into the compute dtype, cached, and used
// with at::linear. The cached dense weight is exactly QuantizedWeight::dequantize(dtype) of the same
// integers, so a model made of AwqLinear computes bit for bit what the fake-quantized model computes.
#include <cstdint>
#include <mutex>
#include <string>

#include <ATen/core/Tensor.h>

#include "model/linear.h"
#include "quant/awq_packing.h"
#include "quant/quantized_weight.h"

namespace awq {

class AwqLinear : public Linear {
public:
    // The seam for the kernels issue: y = x W^T (+ b) for x on a CUDA device, from layer.packed() (already on
    // that device). Null (the default) means "no kernel": forward() then uses the cached dense weight.
    using CudaForward = at::Tensor (*)(const AwqLinear& layer, const at::Tensor& x);
    static void set_cuda_forward(CudaForward f);
    static CudaForward cuda_forward();
    // The same seam for forward_fused: the result, or an undefined tensor when the kernel cannot fold `f`.
    using CudaFusedForward = at::Tensor (*)(const AwqLinear& layer, const at::Tensor& x, const DecodeFusion& f);
    static void set_cuda_fused_forward(CudaFusedForward f);
    static CudaFusedForward cuda_fused_forward();

    // Packs `w` (4-bit, CPU) into `layout`; the bias comes from w.bias. `name` names the layer in errors.
    AwqLinear(const QuantizedWeight& w, AwqLayout layout, at::ScalarType dtype, at::Device device,
              std::string name = "awq linear");
    // Already packed (e.g. read from a checkpoint); `zero_point` as the checkpoint declares it.
    AwqLinear(PackedW4 packed, bool zero_point, at::Tensor bias, at::ScalarType dtype, at::Device device,
              std::string name = "awq linear");

    at::Tensor forward(const at::Tensor& x) const override;
    at::Tensor forward_fused(const at::Tensor& x, const DecodeFusion& f) const override;
    int64_t in_features() const override { return packed_.in_features; }
    int64_t out_features() const override { return packed_.out_features; }
    at::Tensor dense_weight() const override;  // the cached dequantized weight (made on first use)
    at::Tensor bias() const override { return bias_; }
    void to(at::Device device) override;
    std::string kind() const override;  // "awq-gemm", "awq-gemv", "awq-fast"
    // Packed tensors plus the bias, as stored (the dense cache is a compute-time copy and not counted).
    int64_t weight_bytes() const override;
    // Same layout, group, zero-point flag, dtype, device and in_features: the packed tensors concatenated along
    // the output dimension (every layout's tiles are per output column block, so this is exactly the packing of
    // the stacked weights); the kernel and launch settings of this layer carry over.
    std::unique_ptr<Linear> merge_outputs(const std::vector<const Linear*>& others) const override;
    void set_programmatic_launch(bool enabled) override { pdl_ = enabled; }
    // The packed tensors and the bias when the CUDA kernel runs this layer, else the dense cache (if made).
    std::vector<at::Tensor> read_tensors() const override;
    bool programmatic_launch() const { return pdl_; }

    const PackedW4& packed() const { return packed_; }
    AwqLayout layout() const { return packed_.layout; }
    int64_t group_size() const { return packed_.group_size; }
    bool zero_point() const { return zero_point_; }
    at::ScalarType dtype() const { return dtype_; }
    const std::string& name() const { return name_; }
    // The integer form, unpacked from the stored layout on the CPU (bias included, in the compute dtype).
    QuantizedWeight quantized() const;
    // Frees the dense cache (it is rebuilt on the next dense use).
    void drop_dense_cache();

    // Whether forward() may hand CUDA inputs to the registered kernel (default true). False keeps this layer on
    // the dense fallback whatever is registered (--kernel dense, or a shape the kernels cannot run).
    void set_kernel_enabled(bool enabled) { kernel_enabled_ = enabled; }
    bool kernel_enabled() const { return kernel_enabled_; }
    // Why the CUDA W4A16 kernels (kernels/cuda/w4a16.h) cannot run this layer, or "" when they can: they need
    // out/in features multiples of 64, a group of 32 or a multiple of 64 (a power of two for the fast layout)
    // and a float16 or bfloat16 compute dtype (they are W4A16).
    std::string kernel_problem() const;

private:
    PackedW4 packed_;
    bool zero_point_ = true;
    at::Tensor bias_;  // compute dtype, on device_, or undefined
    at::ScalarType dtype_;
    at::Device device_;
    std::string name_;
    bool kernel_enabled_ = true;
    bool pdl_ = false;
    mutable std::mutex cache_mutex_;
    mutable at::Tensor dense_;  // [out, in] in dtype_ on device_, or undefined until first use
};

}  // namespace awq
