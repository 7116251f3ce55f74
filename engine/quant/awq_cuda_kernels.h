#pragma once
// Runs AwqLinear on CUDA through the W4A16 kernels of kernels/cuda/w4a16.h (in the layer's own packed layout:
// gemm, gemv or fast). install_cuda_kernels() registers the implementation with AwqLinear::set_cuda_forward;
// without it (or in a build without CUDA kernels) AwqLinear dequantizes once and uses at::linear.
//
// What the registered forward does with x [..., in] on a CUDA device:
// - float16/bfloat16 x of the layer's dtype: y = x W^T (+ bias) by awq_w4a16_matmul on the current stream
//   (m = all leading dimensions multiplied), kernel and path chosen by the launcher (AUTO), with programmatic
//   dependent launch when the layer asks for it (AwqLinear::set_programmatic_launch). Any other x dtype than
//   the layer's: awq::Error naming the layer.
// - a layer the kernels cannot run (AwqLinear::kernel_problem(): float32 compute dtype, shapes that are not
//   multiples of 64, a non-power-of-two group with the fast layout): the dense fallback, as without kernels.
//   The loader (model_loader.h, --kernel) refuses such layers up front when a kernel is asked for explicitly.
// - a kernel failure: awq::Error(layer name, awq_w4a16_last_error()).
//
// Workspace: one zero-filled device buffer per GPU, shared by every layer on it (calls on one device must be
// stream-ordered, as the engine's single stream is), made on first use and grown when a larger layer shows up.
// It never grows while the stream is being captured into a CUDA graph: run one warm-up step through every layer
// before capturing; a layer larger than anything seen before is an awq::Error during capture. Outgrown buffers
// are kept alive so that graphs captured earlier never point at freed memory.
namespace awq {

// True when this build has the CUDA kernels (awq_engine compiled with AWQ_HAVE_CUDA).
bool cuda_kernels_available();
// Registers the CUDA forward with AwqLinear (idempotent, thread-safe); no-op without CUDA kernels.
void install_cuda_kernels();

}  // namespace awq
