// f16 instances of the warp-specialized wgmma W4A16 kernel (one file per element type so the two compile in parallel).
#include "w4a16_fast_wgmma_ws.cuh"

namespace awq::cuda {
template cudaError_t ws_dispatch<half>(const FastParams&, const CUtensorMap*, const FastConfig&, bool, dim3, cudaStream_t,
                                     int*);
}
