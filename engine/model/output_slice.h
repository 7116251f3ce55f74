#pragma once
// A view of some output rows of a merged linear (Linear::merge_outputs): after DecoderBlock::merge_projections
// the q/k/v and gate/up slots hold these, so every per-slot accessor (dense weight, kind, bias) keeps working
// while the block computes the merged linear once. The merged linear owns the weights and counts their bytes.
#include <memory>

#include "model/linear.h"

namespace awq {

class OutputSlice : public Linear {
public:
    OutputSlice(std::shared_ptr<const Linear> merged, int64_t offset, int64_t size);

    // Runs the whole merged linear and keeps this slice (correct, not fast: the block calls the merged one).
    at::Tensor forward(const at::Tensor& x) const override;
    int64_t in_features() const override { return merged_->in_features(); }
    int64_t out_features() const override { return size_; }
    at::Tensor dense_weight() const override;
    at::Tensor bias() const override;
    void to(at::Device) override {}  // the block moves the merged linear
    std::string kind() const override { return merged_->kind(); }
    int64_t weight_bytes() const override { return 0; }

private:
    std::shared_ptr<const Linear> merged_;
    int64_t offset_, size_;
};

}  // namespace awq
