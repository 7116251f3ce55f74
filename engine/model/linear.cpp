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

std::unique_ptr<Linear> DenseLinear::merge_outputs(const std::vector<const Linear*>& others) const {
    std::vector<at::Tensor> weights{weight_}, biases;
    std::vector<const DenseLinear*> all{this};
    for (const Linear* o : others) {
        const auto* d = dynamic_cast<const DenseLinear*>(o);
        if (!d || d->weight_.size(1) != weight_.size(1) || d->weight_.scalar_type() != weight_.scalar_type() ||
            d->weight_.device() != weight_.device())
            return nullptr;
        all.push_back(d);
        weights.push_back(d->weight_);
    }
    at::Tensor bias;
    bool any_bias = false;
    for (const DenseLinear* d : all) any_bias = any_bias || d->bias_.defined();
    if (any_bias) {  // a missing bias is a zero one
        for (const DenseLinear* d : all)
            biases.push_back(d->bias_.defined() ? d->bias_ : at::zeros({d->weight_.size(0)}, weight_.options()));
        bias = at::cat(biases);
    }
    return std::make_unique<DenseLinear>(at::cat(weights), bias);
}

}  // namespace awq
