// SwiGLU's elementwise part: out = silu(gate) * up (decode_ops.h: awq_silu_mul).
// Layout: gate/up rows with strides (column ranges of one fused gate_up output are allowed), out [rows][cols]
// dense; one thread per 8-element (16-byte) vector. Bytes: rows * cols * 2 read twice, written once.
#include "decode_common.cuh"

namespace awq::cuda::decode {
namespace {

constexpr int kThreads = 256;

template <class T>
__global__ void __launch_bounds__(kThreads)
silu_mul_kernel(const T* gate, int gate_stride, const T* up, int up_stride, T* out, int rows, int cols) {
    pdl_wait();
    pdl_trigger();
    const int vecs_per_row = cols / 8;
    const size_t idx = (size_t)blockIdx.x * kThreads + threadIdx.x;
    if (idx >= (size_t)rows * vecs_per_row) return;
    const size_t r = idx / vecs_per_row, c = (idx % vecs_per_row) * 8;
    Vec8<T> g, u;
    g.load(gate + r * gate_stride + c);
    u.load(up + r * up_stride + c);
#pragma unroll
    for (int j = 0; j < 8; ++j) {
        g.v[j] = Elt<T>::to_float(silu_mul<T>(g.v[j], u.v[j]));  // at::silu stored in dtype, then the multiply
    }
    g.store(out + r * cols + c);
}

template <class T>
int run(const void* gate, int gate_stride, const void* up, int up_stride, void* out, int rows, int cols, bool pdl,
        cudaStream_t stream) {
    const size_t vecs = (size_t)rows * (cols / 8);
    const cudaError_t e = launch(silu_mul_kernel<T>, dim3((unsigned)((vecs + kThreads - 1) / kThreads)),
                                 dim3(kThreads), pdl, stream, static_cast<const T*>(gate), gate_stride,
                                 static_cast<const T*>(up), up_stride, static_cast<T*>(out), rows, cols);
    return e == cudaSuccess ? 0 : fail_cuda("silu_mul", e);
}

}  // namespace
}  // namespace awq::cuda::decode

extern "C" int awq_silu_mul(awq_dtype dtype, const void* gate, int gate_stride, const void* up, int up_stride,
                            void* out, int rows, int cols, int pdl, cudaStream_t stream) {
    using namespace awq::cuda::decode;
    if (rows < 0 || cols <= 0 || cols % 8 != 0 || gate_stride % 8 != 0 || up_stride % 8 != 0 || gate_stride < cols ||
        up_stride < cols)
        return fail("silu_mul: columns and strides must be multiples of 8, strides at least the columns");
    if (!gate || !up || !out || misaligned16(gate) || misaligned16(up) || misaligned16(out))
        return fail("silu_mul: pointers must be non-null and 16-byte aligned");
    if (rows == 0) return 0;
    return dtype == AWQ_DTYPE_F16 ? run<half>(gate, gate_stride, up, up_stride, out, rows, cols, pdl, stream)
                                  : run<__nv_bfloat16>(gate, gate_stride, up, up_stride, out, rows, cols, pdl, stream);
}
