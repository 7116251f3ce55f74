#include "model/output_slice.h"

#include <ATen/ATen.h>

namespace awq {

OutputSlice::OutputSlice(std::shared_ptr<const Linear> merged, int64_t offset, int64_t size)
    : merged_(std::move(merged)), offset_(offset), size_(size) {}

at::Tensor OutputSlice::forward(const at::Tensor& x) const { return merged_->forward(x).narrow(-1, offset_, size_).contiguous(); }

at::Tensor OutputSlice::dense_weight() const { return merged_->dense_weight().narrow(0, offset_, size_); }

at::Tensor OutputSlice::bias() const {
    const at::Tensor b = merged_->bias();
    return b.defined() ? b.narrow(0, offset_, size_) : b;
}

}  // namespace awq
