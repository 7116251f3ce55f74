#include "model/linear.h"

#include <ATen/ATen.h>

namespace awq {

DenseLinear::DenseLinear(at::Tensor weight, at::Tensor bias) : weight_(std::move(weight)), bias_(std::move(bias)) {}

at::Tensor DenseLinear::forward(const at::Tensor& x) const {
    return bias_.defined() ? at::linear(x, weight_, bias_) : at::linear(x, weight_);
}

int64_t DenseLinear::in_features() const { return weight_.size(1); }
int64_t DenseLinear::out_features() const { return weight_.size(0); }

void DenseLinear::to(at::Device device) {
    weight_ = weight_.to(device);
    if (bias_.defined()) bias_ = bias_.to(device);
}

int64_t DenseLinear::weight_bytes() const {
    return weight_.numel() * weight_.element_size() + (bias_.defined() ? bias_.numel() * bias_.element_size() : 0);
}

}  // namespace awq
