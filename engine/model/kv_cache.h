#pragma once
// Key/value cache: one preallocated [B, n_kv_heads, capacity, head_dim] buffer per layer, so decode steps
// append in place instead of concatenating (no reallocation, no copies of the past).
#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

namespace awq {

struct KVCache {
    std::vector<at::Tensor> k, v;  // per layer
    int64_t length = 0;            // tokens already stored (same for every layer)
    int64_t capacity = 0;

    bool empty() const { return length == 0; }
};

}  // namespace awq
