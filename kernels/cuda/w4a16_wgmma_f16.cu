// f16 instances of the wgmma W4A16 kernel (one file per element type so the two compile in parallel).
#include "w4a16_fast_wgmma.cuh"

namespace awq::cuda {
template cudaError_t wgmma_dispatch<half>(const FastParams&, const FastConfig&, bool, dim3, cudaStream_t, int*);
}
