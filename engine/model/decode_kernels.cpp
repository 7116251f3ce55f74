#include "model/decode_kernels.h"

#include "core/error.h"

#ifdef AWQ_HAVE_CUDA
#include <ATen/ATen.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include "cuda/decode_ops.h"
#endif

namespace awq {

std::string fused_decode_problem(const ModelConfig& cfg, at::Device device, at::ScalarType dtype) {
#ifndef AWQ_HAVE_CUDA
    (void)cfg, (void)device, (void)dtype;
    return "this build has no CUDA kernels";
#else
    if (!device.is_cuda()) return "the model is not on a CUDA device";
    if (dtype != at::kHalf && dtype != at::kBFloat16) return "the fused kernels need float16 or bfloat16";
    if (cfg.head_dim != 64 && cfg.head_dim != 128) return "head_dim " + std::to_string(cfg.head_dim) + " (needs 64 or 128)";
    if (cfg.hidden_size % 8 != 0 || cfg.intermediate_size % 8 != 0)
        return "hidden and intermediate sizes must be multiples of 8";
    if (cfg.num_attention_heads % cfg.num_key_value_heads != 0) return "query heads not a multiple of kv heads";
    return "";
#endif
}

#ifdef AWQ_HAVE_CUDA
namespace {

awq_dtype kernel_dtype(const at::Tensor& t) {
    if (t.scalar_type() == at::kHalf) return AWQ_DTYPE_F16;
    if (t.scalar_type() == at::kBFloat16) return AWQ_DTYPE_BF16;
    throw Error("decode", std::string("fused kernels need float16 or bfloat16, got ") + c10::toString(t.scalar_type()));
}

cudaStream_t stream_of(const at::Tensor& t) { return c10::cuda::getCurrentCUDAStream(t.device().index()).stream(); }

void check(int rc) {
    if (rc != 0) throw Error("decode", awq_decode_last_error());
}

// Rows of a [.., cols] tensor whose last dimension is contiguous: (rows, row stride).
std::pair<int64_t, int64_t> rows_of(const at::Tensor& t, const char* what) {
    if (t.stride(-1) != 1) throw Error("decode", std::string(what) + " must be contiguous in its last dimension");
    const int64_t cols = t.size(-1), rows = t.numel() / std::max<int64_t>(cols, 1);
    // Leading dimensions must collapse into one stride (e.g. [B, 1, cols] views of a [B, 1, 3 * cols] tensor).
    int64_t stride = cols;
    for (int64_t d = t.dim() - 2; d >= 0; --d)
        if (t.size(d) > 1) {
            stride = t.stride(d);
            break;
        }
    for (int64_t d = t.dim() - 2, expect = stride; d >= 0; --d) {
        if (t.size(d) > 1 && t.stride(d) != expect)
            throw Error("decode", std::string(what) + " has leading dimensions that do not collapse to rows");
        expect *= t.size(d);
    }
    return {rows, stride};
}

}  // namespace

at::Tensor fused_add_rms_norm(at::Tensor& residual, const at::Tensor& delta, const at::Tensor& weight, double eps,
                              const DecodeKernelOptions& opt) {
    if (!residual.is_contiguous() || (delta.defined() && (!delta.is_contiguous() || delta.sizes() != residual.sizes())))
        throw Error("decode", "add_rms_norm needs contiguous residual and delta of one shape");
    const c10::cuda::CUDAGuard guard(residual.device());
    at::Tensor out = at::empty_like(residual);
    const int64_t hidden = residual.size(-1);
    check(awq_add_rms_norm(kernel_dtype(residual), residual.data_ptr(), delta.defined() ? delta.data_ptr() : nullptr,
                           weight.contiguous().data_ptr(), out.data_ptr(), (int)(residual.numel() / hidden),
                           (int)hidden, (float)eps, opt.pdl, stream_of(residual)));
    return out;
}

namespace {

// The L2 prefetch hint for `tensors` (the defined ones; at most 4, contiguous, on `device`): null when there is
// nothing to ask for, or when they do not all fit in half the device's L2. Only whole sets: the fp16 7B o
// projection (33.5 MB) prefetched up to 25 MB made fp16 decode slower (H200: 239.4 -> 232.8 tok/s), the 4-bit
// one (8.7 MB) whole made it faster (599.9 -> 606.0).
std::unique_ptr<awq_l2_prefetch> l2_ranges(const std::vector<at::Tensor>& tensors, at::Device device) {
    if (tensors.empty()) return nullptr;
    auto pf = std::make_unique<awq_l2_prefetch>();
    *pf = {};
    const int64_t budget = (int64_t)at::cuda::getDeviceProperties(device.index())->l2CacheSize / 2;
    int64_t total = 0;
    int n = 0;
    for (const at::Tensor& t : tensors) {
        if (!t.defined()) continue;
        if (n == 4 || t.device() != device || !t.is_contiguous()) return nullptr;
        const int64_t bytes = t.numel() * (int64_t)t.element_size();
        pf->ptr[n] = t.data_ptr();
        pf->bytes[n] = (size_t)bytes;
        total += bytes;
        ++n;
    }
    return n && total <= budget ? std::move(pf) : nullptr;
}

// The shapes fused_rope_kv_write and fused_rope_attention take; returns {B, q heads, row strides of q, k, v}.
struct RopeShapes {
    int64_t batch, q_heads, kv_heads, head_dim, capacity, q_stride, k_stride, v_stride;
};
RopeShapes rope_shapes(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& cos_table,
                       const at::Tensor& sin_table, const at::Tensor& position, const at::Tensor& k_cache,
                       const at::Tensor& v_cache) {
    if (!k_cache.is_contiguous() || !v_cache.is_contiguous() || k_cache.dim() != 4 || v_cache.sizes() != k_cache.sizes())
        throw Error("decode", "KV caches must be contiguous [batch, kv_heads, capacity, head_dim]");
    const int64_t B = k_cache.size(0), nkv = k_cache.size(1), cap = k_cache.size(2), hd = k_cache.size(3);
    const auto [qrows, qs] = rows_of(q, "q");
    const auto [krows, ks] = rows_of(k, "k");
    const auto [vrows, vs] = rows_of(v, "v");
    if (qrows != B || krows != B || vrows != B || k.size(-1) != nkv * hd || v.size(-1) != nkv * hd || q.size(-1) % hd)
        throw Error("decode", "q/k/v do not match the KV cache");
    if (!cos_table.is_contiguous() || cos_table.size(0) != cap || cos_table.size(1) != hd || !sin_table.is_contiguous())
        throw Error("decode", "rotary tables must be contiguous [capacity, head_dim]");
    if (position.scalar_type() != at::kLong || position.numel() != 1 || position.device() != k_cache.device())
        throw Error("decode", "position must be one int64 on the cache's device");
    return {B, q.size(-1) / hd, nkv, hd, cap, qs, ks, vs};
}

}  // namespace

at::Tensor fused_rope_kv_write(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& cos_table,
                               const at::Tensor& sin_table, const at::Tensor& position, at::Tensor& k_cache,
                               at::Tensor& v_cache, const DecodeKernelOptions& opt) {
    const RopeShapes r = rope_shapes(q, k, v, cos_table, sin_table, position, k_cache, v_cache);
    const c10::cuda::CUDAGuard guard(k_cache.device());
    at::Tensor q_out = at::empty({r.batch, r.q_heads, r.head_dim}, q.options());
    check(awq_rope_kv_write(kernel_dtype(q), q.data_ptr(), (int)r.q_stride, k.data_ptr(), (int)r.k_stride, v.data_ptr(),
                            (int)r.v_stride, cos_table.data_ptr(), sin_table.data_ptr(), position.data_ptr<int64_t>(),
                            q_out.data_ptr(), k_cache.data_ptr(), v_cache.data_ptr(), (int)r.batch, (int)r.q_heads,
                            (int)r.kv_heads, (int)r.head_dim, (int)r.capacity, opt.pdl, stream_of(k_cache)));
    return q_out;
}

at::Tensor fused_rope_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& cos_table,
                                const at::Tensor& sin_table, const at::Tensor& position, at::Tensor& k_cache,
                                at::Tensor& v_cache, double scale, const DecodeKernelOptions& opt,
                                const std::vector<at::Tensor>& prefetch) {
    const RopeShapes r = rope_shapes(q, k, v, cos_table, sin_table, position, k_cache, v_cache);
    const c10::cuda::CUDAGuard guard(k_cache.device());
    at::Tensor out = at::empty({r.batch, 1, r.q_heads * r.head_dim}, q.options());
    const size_t nscratch =
        awq_decode_attention_scratch_floats((int)r.batch, (int)r.q_heads, (int)r.head_dim, (int)r.capacity);
    at::Tensor scratch;
    if (nscratch) scratch = at::empty({(int64_t)nscratch}, q.options().dtype(at::kFloat));
    check(awq_decode_rope_attention(kernel_dtype(q), q.data_ptr(), (int)r.q_stride, k.data_ptr(), (int)r.k_stride,
                                    v.data_ptr(), (int)r.v_stride, cos_table.data_ptr(), sin_table.data_ptr(),
                                    position.data_ptr<int64_t>(), k_cache.data_ptr(), v_cache.data_ptr(), out.data_ptr(),
                                    nscratch ? scratch.data_ptr<float>() : nullptr, (int)r.batch, (int)r.q_heads,
                                    (int)r.kv_heads, (int)r.head_dim, (int)r.capacity, (float)scale, opt.pdl,
                                    l2_ranges(prefetch, k_cache.device()).get(), stream_of(k_cache)));
    return out;
}

at::Tensor fused_decode_attention(const at::Tensor& q, const at::Tensor& k_cache, const at::Tensor& v_cache,
                                  const at::Tensor& position, double scale, const DecodeKernelOptions& opt,
                                  const std::vector<at::Tensor>& prefetch) {
    if (!q.is_contiguous() || q.dim() != 3 || !k_cache.is_contiguous() || !v_cache.is_contiguous())
        throw Error("decode", "attention needs contiguous q [batch, heads, head_dim] and caches");
    const int64_t B = q.size(0), nh = q.size(1), hd = q.size(2), nkv = k_cache.size(1), cap = k_cache.size(2);
    const c10::cuda::CUDAGuard guard(q.device());
    at::Tensor out = at::empty({B, 1, nh * hd}, q.options());
    const size_t nscratch = awq_decode_attention_scratch_floats((int)B, (int)nh, (int)hd, (int)cap);
    at::Tensor scratch;
    if (nscratch) scratch = at::empty({(int64_t)nscratch}, q.options().dtype(at::kFloat));
    check(awq_decode_attention(kernel_dtype(q), q.data_ptr(), k_cache.data_ptr(), v_cache.data_ptr(),
                               position.data_ptr<int64_t>(), out.data_ptr(),
                               nscratch ? scratch.data_ptr<float>() : nullptr, (int)B, (int)nh, (int)nkv, (int)hd,
                               (int)cap, (float)scale, opt.pdl, l2_ranges(prefetch, q.device()).get(), stream_of(q)));
    return out;
}

at::Tensor fused_silu_mul(const at::Tensor& gate, const at::Tensor& up, const DecodeKernelOptions& opt) {
    const auto [rows, gs] = rows_of(gate, "gate");
    const auto [urows, us] = rows_of(up, "up");
    if (urows != rows || up.size(-1) != gate.size(-1)) throw Error("decode", "gate and up shapes differ");
    const c10::cuda::CUDAGuard guard(gate.device());
    at::Tensor out = at::empty(gate.sizes(), gate.options());
    check(awq_silu_mul(kernel_dtype(gate), gate.data_ptr(), (int)gs, up.data_ptr(), (int)us, out.data_ptr(), (int)rows,
                       (int)gate.size(-1), opt.pdl, stream_of(gate)));
    return out;
}

#else

at::Tensor fused_add_rms_norm(at::Tensor&, const at::Tensor&, const at::Tensor&, double, const DecodeKernelOptions&) {
    throw Error("decode", "this build has no CUDA kernels");
}
at::Tensor fused_rope_kv_write(const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&,
                               const at::Tensor&, const at::Tensor&, at::Tensor&, at::Tensor&, const DecodeKernelOptions&) {
    throw Error("decode", "this build has no CUDA kernels");
}
at::Tensor fused_decode_attention(const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&, double,
                                  const DecodeKernelOptions&, const std::vector<at::Tensor>&) {
    throw Error("decode", "this build has no CUDA kernels");
}
at::Tensor fused_rope_attention(const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&,
                                const at::Tensor&, const at::Tensor&, at::Tensor&, at::Tensor&, double,
                                const DecodeKernelOptions&, const std::vector<at::Tensor>&) {
    throw Error("decode", "this build has no CUDA kernels");
}
at::Tensor fused_silu_mul(const at::Tensor&, const at::Tensor&, const DecodeKernelOptions&) {
    throw Error("decode", "this build has no CUDA kernels");
}

#endif

}  // namespace awq
