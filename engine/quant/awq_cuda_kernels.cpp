#include "quant/awq_cuda_kernels.h"

#include "quant/awq_linear.h"

#ifdef AWQ_HAVE_CUDA
#include <cstdint>
#include <limits>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include <ATen/ATen.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include "core/error.h"
#include "cuda/w4a16.h"
#endif

namespace awq {

#ifdef AWQ_HAVE_CUDA
namespace {

awq_w4_layout kernel_layout(AwqLayout l) {
    switch (l) {
        case AwqLayout::Gemm: return AWQ_W4_GEMM;
        case AwqLayout::Gemv: return AWQ_W4_GEMV;
        case AwqLayout::Fast: return AWQ_W4_FAST;
    }
    return AWQ_W4_GEMM;
}

struct DeviceWorkspace {
    at::Tensor buffer;                 // uint8, zero-filled when made (the kernels return their counters to zero)
    std::vector<at::Tensor> retired;  // outgrown buffers: graphs captured before the growth still use them
};

// The workspace of device `dev`, at least `need` bytes. Growing allocates and zero-fills on `stream`, which a
// stream being captured into a CUDA graph must not do (the allocation and memset would become part of the graph,
// and the pointer baked into earlier graphs would change), hence the error.
std::pair<void*, size_t> workspace_for(int dev, size_t need, cudaStream_t stream, const std::string& where) {
    static std::mutex mu;
    static std::unordered_map<int, DeviceWorkspace> spaces;
    std::lock_guard<std::mutex> lock(mu);
    DeviceWorkspace& ws = spaces[dev];
    const size_t have = ws.buffer.defined() ? (size_t)ws.buffer.numel() : 0;
    if (have < need) {
        cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
        if (cudaError_t e = cudaStreamIsCapturing(stream, &status); e != cudaSuccess)
            throw Error(where, std::string("cudaStreamIsCapturing failed: ") + cudaGetErrorString(e));
        if (status != cudaStreamCaptureStatusNone)
            throw Error(where, "the W4A16 kernel workspace of cuda:" + std::to_string(dev) + " must grow from " +
                                   std::to_string(have) + " to " + std::to_string(need) +
                                   " bytes while the stream is being captured into a CUDA graph; run one step "
                                   "through every layer before capturing");
        if (ws.buffer.defined()) ws.retired.push_back(std::move(ws.buffer));
        ws.buffer = at::zeros({(int64_t)need}, at::TensorOptions().dtype(at::kByte).device(at::Device(at::kCUDA, dev)));
    }
    return {ws.buffer.data_ptr(), (size_t)ws.buffer.numel()};
}

std::string shape_of(const at::Tensor& t) {
    std::string s = "[";
    for (int64_t i = 0; i < t.dim(); ++i) s += (i ? ", " : "") + std::to_string(t.size(i));
    return s + "]";
}

at::Tensor dense_forward(const AwqLinear& layer, const at::Tensor& x) {
    const at::Tensor w = layer.dense_weight(), b = layer.bias();
    return b.defined() ? at::linear(x, w, b) : at::linear(x, w);
}

// y = x W^T (+ b), with the steps of `fusion` folded in when given (only the fast layout's one-token decode
// kernel does those; kernel_forward_fused checks).
at::Tensor matmul_forward(const AwqLinear& layer, const at::Tensor& x_in, const DecodeFusion* fusion) {
    const bool gated = fusion && fusion->silu_gated;
    const PackedW4& p = layer.packed();
    const std::string& where = layer.name();
    if (x_in.scalar_type() != layer.dtype())
        throw Error(where, std::string("input dtype ") + c10::toString(x_in.scalar_type()) +
                               " does not match the layer's compute dtype " + c10::toString(layer.dtype()));
    const int64_t width = gated ? 2 * p.in_features : p.in_features;
    if (x_in.dim() < 1 || x_in.size(-1) != width)
        throw Error(where, "input has shape " + shape_of(x_in) + ", expected [..., " + std::to_string(width) + "]");
    if (p.qweight.device() != x_in.device())
        throw Error(where, "input is on " + x_in.device().str() + " but the packed weight is on " + p.qweight.device().str());

    const c10::cuda::CUDAGuard guard(x_in.device());
    at::Tensor x = x_in.contiguous();
    // The kernels load x with 16-byte vectors; a view starting mid-row (e.g. x[:, 1:]) may not be aligned.
    if (reinterpret_cast<uintptr_t>(x.data_ptr()) % 16 != 0) x = x.clone(at::MemoryFormat::Contiguous);
    const int64_t m = x.numel() / width;
    if (m > std::numeric_limits<int>::max())
        throw Error(where, "too many tokens for one W4A16 call: " + std::to_string(m));

    awq_w4_weight w{};
    w.layout = kernel_layout(p.layout);
    w.n = (int)p.out_features;
    w.k = (int)p.in_features;
    w.group = (int)p.group_size;
    w.qweight = p.qweight.data_ptr();
    w.qzeros = p.qzeros.defined() ? p.qzeros.data_ptr() : nullptr;
    w.scales = p.scales.data_ptr();
    w.zeros_width = p.layout == AwqLayout::Gemv ? (int)p.qzeros.size(1) : 0;

    const int dev = x.device().index();
    const cudaStream_t stream = c10::cuda::getCurrentCUDAStream(x.device().index()).stream();
    // Before any allocation: a capture that would need a larger workspace fails cleanly.
    const auto [ws, ws_bytes] = workspace_for(dev, awq_w4a16_workspace_bytes(w.n, w.k), stream, where);

    std::vector<int64_t> out_shape = x.sizes().vec();
    out_shape.back() = p.out_features;
    at::Tensor y = at::empty(out_shape, x.options());
    if (m == 0) return y;
    // Programmatic dependent launch when the model asks for it (LlamaModel::set_fused_decode): the decode step's
    // kernels then overlap each one's launch and weight streaming with the tail of the previous one.
    awq_w4_options opt = {};  // path AUTO, everything else off
    opt.pdl = layer.programmatic_launch() ? 1 : 0;
    opt.x_gated = gated ? 1 : 0;
    if (fusion && fusion->residual.defined()) {
        opt.residual = fusion->residual.data_ptr();
        opt.sumsq_out = fusion->sumsq_out.data_ptr<float>();
    }
    if (fusion && fusion->sumsq_in.defined()) {
        opt.sumsq_in = fusion->sumsq_in.data_ptr<float>();
        opt.norm_weight = fusion->norm_weight.data_ptr();
        opt.norm_eps = (float)fusion->norm_eps;
        opt.norm_on_output = fusion->norm_on_output ? 1 : 0;
    }
    const awq_dtype dt = x.scalar_type() == at::kHalf ? AWQ_DTYPE_F16 : AWQ_DTYPE_BF16;
    if (awq_w4a16_matmul(&w, x.data_ptr(), (int)m, dt, y.data_ptr(), ws, ws_bytes, stream, &opt) != 0)
        throw Error(where, awq_w4a16_last_error());
    if (const at::Tensor b = layer.bias(); b.defined()) y.add_(b);
    return y;
}

at::Tensor kernel_forward(const AwqLinear& layer, const at::Tensor& x) {
    // Layers the kernels cannot run (float32 compute, odd shapes) keep the dense path; see the header.
    if (!layer.kernel_problem().empty()) return dense_forward(layer, x);
    return matmul_forward(layer, x, nullptr);
}

static_assert(AWQ_W4_SUMSQ_COPIES == 8, "decode_sumsq_floats (decode_fusion.h) assumes the kernels' copies");

// One token through the fast layout: the steps of `f` ride in the decode kernel. Anything else: undefined, with
// nothing written (the caller runs the separate kernels and forward()).
at::Tensor kernel_forward_fused(const AwqLinear& layer, const at::Tensor& x, const DecodeFusion& f) {
    const int64_t k = layer.in_features(), n = layer.out_features();
    const int64_t width = f.silu_gated ? 2 * k : k;
    if (!layer.kernel_problem().empty() || layer.layout() != AwqLayout::Fast || x.scalar_type() != layer.dtype() ||
        x.dim() < 1 || x.size(-1) != width || x.numel() != width)
        return {};
    auto fp32_vector = [&](const at::Tensor& t, int64_t len) {
        return t.defined() && t.is_contiguous() && t.scalar_type() == at::kFloat && t.numel() == len &&
               t.device() == x.device();
    };
    if (f.residual.defined()) {
        if (layer.bias().defined() || !f.residual.is_contiguous() || f.residual.scalar_type() != layer.dtype() ||
            f.residual.numel() != n || f.residual.device() != x.device() || n % 16 != 0 ||
            !fp32_vector(f.sumsq_out, decode_sumsq_floats(n)))
            return {};
    }
    if (f.sumsq_in.defined()) {
        if (f.silu_gated || k % 16 != 0 || k > 8192 || !fp32_vector(f.sumsq_in, decode_sumsq_floats(k)) || !f.norm_weight.defined() ||
            !f.norm_weight.is_contiguous() || f.norm_weight.scalar_type() != layer.dtype() || f.norm_weight.numel() != k ||
            f.norm_weight.device() != x.device() || !x.is_contiguous())
            return {};
    }
    return matmul_forward(layer, x, &f);
}

}  // namespace

bool cuda_kernels_available() { return true; }

void install_cuda_kernels() {
    AwqLinear::set_cuda_forward(&kernel_forward);
    AwqLinear::set_cuda_fused_forward(&kernel_forward_fused);
}

#else

bool cuda_kernels_available() { return false; }

void install_cuda_kernels() {}

#endif

}  // namespace awq
