// fp16 instances of the fast W4A16 kernel (split from bf16 so the two compile in parallel).
#include "w4a16_fast.cuh"
#include "w4a16_fast_small.cuh"
#include "w4a16_fast_decode.cuh"

namespace awq::cuda {
template cudaError_t fast_dispatch<half>(const FastParams&, const FastConfig&, bool, dim3, cudaStream_t, int*);
template cudaError_t fast_small_dispatch<half>(const FastParams&, const FastConfig&, bool, dim3, size_t, cudaStream_t,
                                                 int*);
template cudaError_t fast_decode_dispatch<half>(const FastParams&, const FastConfig&, bool, dim3, size_t,
                                                    cudaStream_t, int*);
}
