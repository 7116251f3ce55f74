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

at::Tensor stacked_bias(const std::vector<const Linear*>& parts, const at::TensorOptions& options) {
    bool any = false;
    for (const Linear* l : parts) any = any || l->bias().defined();
    if (!any) return at::Tensor();
    std::vector<at::Tensor> biases;
    for (const Linear* l : parts) {
        const at::Tensor b = l->bias();
        biases.push_back(b.defined() ? b : at::zeros({l->out_features()}, options));
    }
    return at::cat(biases);
}

std::unique_ptr<Linear> DenseLinear::merge_outputs(const std::vector<const Linear*>& others) const {
    std::vector<at::Tensor> weights{weight_};
    std::vector<const Linear*> all{this};
    for (const Linear* o : others) {
        const auto* d = dynamic_cast<const DenseLinear*>(o);
        if (!d || d->weight_.size(1) != weight_.size(1) || d->weight_.scalar_type() != weight_.scalar_type() ||
            d->weight_.device() != weight_.device())
            return nullptr;
        all.push_back(d);
        weights.push_back(d->weight_);
    }
    return std::make_unique<DenseLinear>(at::cat(weights), stacked_bias(all, weight_.options()));
}

}  // namespace awq
