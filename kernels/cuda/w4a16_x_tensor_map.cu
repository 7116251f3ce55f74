// The TMA descriptor of an activation matrix x [m, k] (row-major, fp16 or bf16) as the warp-specialized wgmma
// kernel reads it: boxes of 64 k x `box_rows` tokens in the 128-byte swizzle, rows past m filled with zeros.
// cuTensorMapEncodeTiled is a driver function: fetched through the runtime, so nothing links libcuda.
#include <cudaTypedefs.h>

#include "w4a16_internal.h"

namespace awq::cuda {

bool encode_x_tensor_map(CUtensorMap* map, const void* x, int m, int k, int box_rows, awq_dtype dtype) {
    static const PFN_cuTensorMapEncodeTiled_v12000 encode = [] {
        void* fn = nullptr;
        cudaDriverEntryPointQueryResult found{};
        if (cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &fn, 12000, cudaEnableDefault, &found) !=
                cudaSuccess ||
            found != cudaDriverEntryPointSuccess)
            return (PFN_cuTensorMapEncodeTiled_v12000) nullptr;
        return reinterpret_cast<PFN_cuTensorMapEncodeTiled_v12000>(fn);
    }();
    if (!encode || m <= 0 || k <= 0 || box_rows <= 0 || box_rows > 256) return false;
    const cuuint64_t dims[2] = {(cuuint64_t)k, (cuuint64_t)m};
    const cuuint64_t strides[1] = {(cuuint64_t)k * 2};  // bytes between rows
    const cuuint32_t box[2] = {64, (cuuint32_t)box_rows};
    const cuuint32_t elem_strides[2] = {1, 1};
    const CUtensorMapDataType type =
        dtype == AWQ_DTYPE_F16 ? CU_TENSOR_MAP_DATA_TYPE_FLOAT16 : CU_TENSOR_MAP_DATA_TYPE_BFLOAT16;
    return encode(map, type, 2, const_cast<void*>(x), dims, strides, box, elem_strides, CU_TENSOR_MAP_INTERLEAVE_NONE,
                  CU_TENSOR_MAP_SWIZZLE_128B, CU_TENSOR_MAP_L2_PROMOTION_L2_256B,
                  CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE) == CUDA_SUCCESS;
}

}  // namespace awq::cuda
