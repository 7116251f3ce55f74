// bf16 instances of the fast W4A16 kernel.
#include "w4a16_fast.cuh"
#include "w4a16_fast_small.cuh"
#include "w4a16_fast_decode.cuh"

namespace awq::cuda {
template cudaError_t fast_dispatch<__nv_bfloat16>(const FastParams&, const FastConfig&, bool, dim3, cudaStream_t,
                                                  int*);
template cudaError_t fast_small_dispatch<__nv_bfloat16>(const FastParams&, const FastConfig&, bool, dim3, size_t, cudaStream_t,
                                                 int*);
template cudaError_t fast_decode_dispatch<__nv_bfloat16>(const FastParams&, const FastConfig&, bool, dim3, size_t,
                                                    cudaStream_t, int*);
}
