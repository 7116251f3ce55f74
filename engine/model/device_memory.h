#pragma once
// Peak memory of the current process: the CUDA caching allocator's peak on a GPU, the resident set on the host.
#include <cstdint>

#include <ATen/core/Tensor.h>

namespace awq {

void reset_peak_device_memory(at::Device device);
int64_t peak_device_memory(at::Device device);  // bytes allocated at the peak since the last reset; 0 on the CPU
int64_t peak_host_memory();                     // max resident set size, bytes

}  // namespace awq
