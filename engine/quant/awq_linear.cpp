#include "quant/awq_linear.h"

#include <atomic>

#include <ATen/ATen.h>

#include "core/error.h"

namespace awq {

namespace {

std::atomic<AwqLinear::CudaForward> g_cuda_forward{nullptr};
std::atomic<AwqLinear::CudaFusedForward> g_cuda_fused_forward{nullptr};

}  // namespace

void AwqLinear::set_cuda_forward(CudaForward f) { g_cuda_forward.store(f); }
AwqLinear::CudaForward AwqLinear::cuda_forward() { return g_cuda_forward.load(); }
void AwqLinear::set_cuda_fused_forward(CudaFusedForward f) { g_cuda_fused_forward.store(f); }
AwqLinear::CudaFusedForward AwqLinear::cuda_fused_forward() { return g_cuda_fused_forward.load(); }

AwqLinear::AwqLinear(const QuantizedWeight& w, AwqLayout layout, at::ScalarType dtype, at::Device device,
                     std::string name)
    : AwqLinear(pack_w4(to_canonical(w, name), layout, name), w.zero_point, w.bias, dtype, device, name) {}

AwqLinear::AwqLinear(PackedW4 packed, bool zero_point, at::Tensor bias, at::ScalarType dtype, at::Device device,
                     std::string name)
    : packed_(packed.to(device)), zero_point_(zero_point), dtype_(dtype), device_(device), name_(std::move(name)) {
    if (bias.defined()) {
        if (bias.dim() != 1 || bias.size(0) != packed_.out_features)
            throw Error(name_, "bias has " + std::to_string(bias.numel()) + " elements, expected " +
                                   std::to_string(packed_.out_features));
        bias_ = bias.to(device_, dtype_);
    }
}

std::string AwqLinear::kind() const { return std::string("awq-") + awq_layout_name(packed_.layout); }

int64_t AwqLinear::weight_bytes() const {
    return packed_.bytes() + (bias_.defined() ? bias_.numel() * bias_.element_size() : 0);
}

std::vector<at::Tensor> AwqLinear::read_tensors() const {
    if (kernel_enabled_ && cuda_forward() && kernel_problem().empty())
        return {packed_.qweight, packed_.scales, packed_.qzeros, bias_};
    std::lock_guard<std::mutex> lock(cache_mutex_);
    return {dense_, bias_};
}

QuantizedWeight AwqLinear::quantized() const {
    QuantizedWeight w = from_canonical(unpack_w4(packed_, name_), zero_point_);
    if (bias_.defined()) w.bias = bias_.to(at::kCPU);
    return w;
}

at::Tensor AwqLinear::dense_weight() const {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    if (!dense_.defined()) {
        // Bias is not part of the dense weight; dequantize only the integers.
        QuantizedWeight w = from_canonical(unpack_w4(packed_, name_), zero_point_);
        dense_ = w.dequantize(dtype_).to(device_);
    }
    return dense_;
}

void AwqLinear::drop_dense_cache() {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    dense_ = at::Tensor();
}

std::string AwqLinear::kernel_problem() const {
    const int64_t n = packed_.out_features, k = packed_.in_features, g = packed_.group_size;
    if (dtype_ != at::kHalf && dtype_ != at::kBFloat16)
        return std::string("the W4A16 kernels need a float16 or bfloat16 compute dtype, not ") + c10::toString(dtype_);
    if (n % 64 != 0 || k % 64 != 0)
        return "the W4A16 kernels need out_features and in_features that are multiples of 64 (got " +
               std::to_string(n) + " x " + std::to_string(k) + ")";
    if (g <= 0 || k % g != 0 || !(g == 32 || g % 64 == 0))
        return "the W4A16 kernels need a group size of 32 or a multiple of 64 dividing in_features, not " + std::to_string(g);
    if (packed_.layout == AwqLayout::Fast && (g & (g - 1)) != 0)
        return "the fast kernels need a power-of-two group size, not " + std::to_string(g) + " (use gemm or gemv)";
    return "";
}

at::Tensor AwqLinear::forward(const at::Tensor& x) const {
    if (x.is_cuda() && kernel_enabled_)
        if (CudaForward f = cuda_forward()) return f(*this, x);
    at::Tensor w = dense_weight();
    return bias_.defined() ? at::linear(x, w, bias_) : at::linear(x, w);
}

at::Tensor AwqLinear::forward_fused(const at::Tensor& x, const DecodeFusion& fusion) const {
    if (x.is_cuda() && kernel_enabled_)
        if (CudaFusedForward f = cuda_fused_forward()) return f(*this, x, fusion);
    return {};
}

std::unique_ptr<Linear> AwqLinear::merge_outputs(const std::vector<const Linear*>& others) const {
    std::vector<const AwqLinear*> all{this};
    std::vector<const Linear*> parts{this};
    for (const Linear* o : others) {
        const auto* a = dynamic_cast<const AwqLinear*>(o);
        if (!a) return nullptr;
        const PackedW4& p = a->packed_;
        if (p.layout != packed_.layout || p.group_size != packed_.group_size || p.in_features != packed_.in_features ||
            a->zero_point_ != zero_point_ || a->dtype_ != dtype_ || a->device_ != device_ ||
            p.qzeros.defined() != packed_.qzeros.defined() || p.qweight.device() != packed_.qweight.device())
            return nullptr;
        all.push_back(a);
        parts.push_back(a);
    }
    // The output dimension of each packed tensor (awq_packing.h): gemv is output-major, gemm and fast output-minor.
    const int64_t dim = packed_.layout == AwqLayout::Gemv ? 0 : 1;
    std::vector<at::Tensor> qw, qz, sc;
    PackedW4 m;
    m.layout = packed_.layout;
    m.in_features = packed_.in_features;
    m.group_size = packed_.group_size;
    std::string name;
    for (const AwqLinear* a : all) {
        m.out_features += a->packed_.out_features;
        qw.push_back(a->packed_.qweight);
        if (a->packed_.qzeros.defined()) qz.push_back(a->packed_.qzeros);
        sc.push_back(a->packed_.scales);
        name += (name.empty() ? "" : "+") + a->name_;
    }
    m.qweight = at::cat(qw, dim);
    if (!qz.empty()) m.qzeros = at::cat(qz, dim);
    m.scales = at::cat(sc, dim);
    const at::Tensor b = stacked_bias(parts, at::TensorOptions().dtype(dtype_).device(device_));
    auto merged = std::make_unique<AwqLinear>(std::move(m), zero_point_, b, dtype_, device_, name);
    merged->kernel_enabled_ = kernel_enabled_;
    merged->pdl_ = pdl_;
    return merged;
}

void AwqLinear::to(at::Device device) {
    if (device == device_) return;
    packed_ = packed_.to(device);
    if (bias_.defined()) bias_ = bias_.to(device);
    std::lock_guard<std::mutex> lock(cache_mutex_);
    if (dense_.defined()) dense_ = dense_.to(device);
    device_ = device;
}

}  // namespace awq
