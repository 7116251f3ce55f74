#include "model/device_memory.h"

#include <sys/resource.h>

#if __has_include(<c10/cuda/CUDACachingAllocator.h>) && __has_include(<cuda_runtime_api.h>)
#include <c10/cuda/CUDACachingAllocator.h>
#define AWQ_HAVE_CUDA_ALLOCATOR 1
#endif

namespace awq {

void reset_peak_device_memory(at::Device device) {
#ifdef AWQ_HAVE_CUDA_ALLOCATOR
    if (device.is_cuda()) c10::cuda::CUDACachingAllocator::resetPeakStats(device.index() < 0 ? 0 : device.index());
#else
    (void)device;
#endif
}

int64_t peak_device_memory(at::Device device) {
#ifdef AWQ_HAVE_CUDA_ALLOCATOR
    if (device.is_cuda()) {
        auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device.index() < 0 ? 0 : device.index());
        return stats.allocated_bytes[(size_t)c10::CachingAllocator::StatType::AGGREGATE].peak;
    }
#else
    (void)device;
#endif
    return 0;
}

int64_t peak_host_memory() {
    struct rusage ru {};
    getrusage(RUSAGE_SELF, &ru);
    return (int64_t)ru.ru_maxrss * 1024;
}

}  // namespace awq
