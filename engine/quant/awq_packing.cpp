#include "quant/awq_packing.h"

#include <cstring>
#include <limits>
#include <vector>

#include <ATen/ATen.h>

#include "core/error.h"

namespace awq {

namespace {

std::string shape_str(const at::Tensor& t) {
    std::string s = "[";
    for (int64_t i = 0; i < t.dim(); ++i) s += (i ? ", " : "") + std::to_string(t.size(i));
    return s + "]";
}

std::string shape_str(const std::vector<int64_t>& v) {
    std::string s = "[";
    for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
    return s + "]";
}

int to_int(int64_t v, const std::string& where, const char* what) {
    if (v <= 0 || v > std::numeric_limits<int>::max())
        throw Error(where, std::string(what) + " " + std::to_string(v) + " is out of range for a 4-bit weight");
    return (int)v;
}

// Copies a CPU tensor of element type T (any strides) into a vector.
template <class T>
std::vector<T> to_vector(const at::Tensor& t) {
    at::Tensor c = t.to(at::kCPU).contiguous();
    std::vector<T> v((size_t)c.numel());
    if (!v.empty()) std::memcpy(v.data(), c.data_ptr(), v.size() * sizeof(T));
    return v;
}

template <class T>
at::Tensor from_vector(const std::vector<T>& v, std::vector<int64_t> shape, at::ScalarType dtype) {
    at::Tensor t = at::empty(shape, at::TensorOptions().dtype(dtype));
    if (!v.empty()) std::memcpy(t.data_ptr(), v.data(), v.size() * sizeof(T));
    return t;
}

// The kernels' packers name only the layout in their errors; say which linear they were packing.
template <class F>
auto named(const std::string& where, F&& f) -> decltype(f()) {
    try {
        return f();
    } catch (const Error& e) {
        throw Error(where, e.what());
    }
}

void expect(const at::Tensor& t, const char* name, at::ScalarType dtype, const std::vector<int64_t>& shape,
            const std::string& where) {
    if (!t.defined()) throw Error(where, std::string("missing ") + name);
    if (t.scalar_type() != dtype)
        throw Error(where, std::string(name) + " has dtype " + c10::toString(t.scalar_type()) + ", expected " +
                               c10::toString(dtype));
    if (t.sizes().vec() != shape)
        throw Error(where, std::string(name) + " has shape " + shape_str(t) + ", expected " + shape_str(shape));
}

}  // namespace

AwqLayout parse_awq_layout(const std::string& name, const std::string& where) {
    if (name == "gemm") return AwqLayout::Gemm;
    if (name == "gemv") return AwqLayout::Gemv;
    if (name == "fast") return AwqLayout::Fast;
    throw Error(where, "unknown 4-bit layout '" + name + "' (use gemm, gemv or fast)");
}

const char* awq_layout_name(AwqLayout layout) {
    switch (layout) {
        case AwqLayout::Gemm: return "gemm";
        case AwqLayout::Gemv: return "gemv";
        case AwqLayout::Fast: return "fast";
    }
    return "?";
}

int64_t PackedW4::bytes() const {
    int64_t n = 0;
    for (const at::Tensor* t : {&qweight, &qzeros, &scales})
        if (t->defined()) n += t->numel() * t->element_size();
    return n;
}

PackedW4 PackedW4::to(at::Device device) const {
    PackedW4 p = *this;
    for (at::Tensor* t : {&p.qweight, &p.qzeros, &p.scales})
        if (t->defined()) *t = t->to(device);
    return p;
}

W4Canonical to_canonical(const QuantizedWeight& w, const std::string& where) {
    if (w.bits != 4)
        throw Error(where, "only 4-bit weights can be packed into the AWQ layouts, this one has " +
                               std::to_string(w.bits) + " bits");
    if (!w.q.defined() || w.q.dim() != 2) throw Error(where, "quantized weight q must be a 2-D tensor [out, in]");
    const int64_t out = w.q.size(0), in = w.q.size(1);
    if (w.group_size <= 0 || in % w.group_size != 0)
        throw Error(where, "group size " + std::to_string(w.group_size) + " does not divide in_features " +
                               std::to_string(in));
    const int64_t groups = in / w.group_size;
    expect(w.q, "q", at::kByte, {out, in}, where);
    expect(w.scales, "scales", at::kHalf, {out, groups}, where);
    expect(w.zeros, "zeros", at::kByte, {out, groups}, where);
    W4Canonical c;
    c.n = to_int(out, where, "out_features");
    c.k = to_int(in, where, "in_features");
    c.group = to_int(w.group_size, where, "group size");
    c.q = to_vector<uint8_t>(w.q);
    c.zeros = to_vector<uint8_t>(w.zeros);
    c.scales = to_vector<uint16_t>(w.scales);
    named(where, [&] { c.validate("4-bit weight"); return 0; });
    return c;
}

QuantizedWeight from_canonical(const W4Canonical& c, bool zero_point) {
    QuantizedWeight w;
    w.bits = 4;
    w.group_size = c.group;
    w.zero_point = zero_point || !c.symmetric();
    w.q = from_vector(c.q, {c.n, c.k}, at::kByte);
    w.scales = from_vector(c.scales, {c.n, c.groups()}, at::kHalf);
    w.zeros = from_vector(c.zeros, {c.n, c.groups()}, at::kByte);
    return w;
}

PackedW4 pack_w4(const W4Canonical& c, AwqLayout layout, const std::string& where) {
    PackedW4 p;
    p.layout = layout;
    p.out_features = c.n;
    p.in_features = c.k;
    p.group_size = c.group;
    const int64_t n = c.n, k = c.k, ng = c.groups();
    switch (layout) {
        case AwqLayout::Gemm: {
            const W4Gemm g = named(where, [&] { return pack_gemm(c); });
            p.qweight = from_vector(g.qweight, {k, n / 8}, at::kInt);
            p.qzeros = from_vector(g.qzeros, {ng, n / 8}, at::kInt);
            p.scales = from_vector(g.scales, {ng, n}, at::kHalf);
            break;
        }
        case AwqLayout::Gemv: {
            const W4Gemv g = named(where, [&] { return pack_gemv(c); });
            p.qweight = from_vector(g.qweight, {n, k / 8}, at::kInt);
            p.qzeros = from_vector(g.qzeros, {n, (int64_t)g.zeros_width}, at::kInt);
            p.scales = from_vector(g.scales, {n, (int64_t)g.zeros_width * 8}, at::kHalf);
            break;
        }
        case AwqLayout::Fast: {
            const W4Fast f = named(where, [&] { return pack_fast(c); });
            // Unit-major (w4_layouts.h): ceil(k / 128) units of 128 k; a half-filled last unit is zero padding.
            p.qweight = from_vector(f.qweight, {(k + 127) / 128, n / 16, 2, 32, 4}, at::kInt);
            p.scales = from_vector(f.scales, {ng, n / 16, 8}, at::kInt);
            if (f.has_zeros) p.qzeros = from_vector(f.zeros, {ng, n / 16, 8}, at::kByte);
            break;
        }
    }
    return p;
}

W4Canonical unpack_w4(const PackedW4& p, const std::string& where) {
    const int n = to_int(p.out_features, where, "out_features"), k = to_int(p.in_features, where, "in_features"),
              group = to_int(p.group_size, where, "group size");
    switch (p.layout) {
        case AwqLayout::Gemm: {
            W4Gemm g;
            g.n = n, g.k = k, g.group = group;
            g.qweight = to_vector<int32_t>(p.qweight);
            g.qzeros = to_vector<int32_t>(p.qzeros);
            g.scales = to_vector<uint16_t>(p.scales);
            return named(where, [&] { return unpack_gemm(g); });
        }
        case AwqLayout::Gemv: {
            W4Gemv g;
            g.n = n, g.k = k, g.group = group;
            g.zeros_width = p.qzeros.defined() && p.qzeros.dim() == 2 ? (int)p.qzeros.size(1) : 0;
            g.qweight = to_vector<int32_t>(p.qweight);
            g.qzeros = to_vector<int32_t>(p.qzeros);
            g.scales = to_vector<uint16_t>(p.scales);
            return named(where, [&] { return unpack_gemv(g); });
        }
        case AwqLayout::Fast: {
            W4Fast f;
            f.n = n, f.k = k, f.group = group;
            f.has_zeros = p.qzeros.defined();
            f.qweight = to_vector<uint32_t>(p.qweight);
            f.scales = to_vector<uint32_t>(p.scales);
            if (f.has_zeros) f.zeros = to_vector<uint8_t>(p.qzeros);
            return named(where, [&] { return unpack_fast(f); });
        }
    }
    throw Error(where, "unknown 4-bit layout");
}

PackedW4 packed_w4_from_tensors(AwqLayout layout, int64_t out, int64_t in, int64_t group, const at::Tensor& qweight,
                                const at::Tensor& qzeros, const at::Tensor& scales, const std::string& where) {
    if (layout == AwqLayout::Fast)
        throw Error(where, "the 'fast' layout is this engine's in-memory kernel layout, not a checkpoint format");
    if (group <= 0 || in % group != 0)
        throw Error(where, "group size " + std::to_string(group) + " does not divide in_features " + std::to_string(in));
    if (out % 8 != 0) throw Error(where, "out_features " + std::to_string(out) + " is not a multiple of 8");
    if (in % 8 != 0 && layout == AwqLayout::Gemv)
        throw Error(where, "in_features " + std::to_string(in) + " is not a multiple of 8");
    const int64_t ng = in / group;
    PackedW4 p;
    p.layout = layout;
    p.out_features = out;
    p.in_features = in;
    p.group_size = group;
    std::vector<int64_t> qw_shape, qz_shape, sc_shape;
    if (layout == AwqLayout::Gemm) {
        qw_shape = {in, out / 8};
        qz_shape = {ng, out / 8};
        sc_shape = {ng, out};
    } else {
        const int64_t zw = named(where, [&] { return (int64_t)gemv_zeros_width(to_int(in, where, "in_features"),
                                                                              to_int(group, where, "group size")); });
        qw_shape = {out, in / 8};
        qz_shape = {out, zw};
        sc_shape = {out, zw * 8};
    }
    expect(qweight, "qweight", at::kInt, qw_shape, where);
    expect(qzeros, "qzeros", at::kInt, qz_shape, where);
    if (!scales.defined()) throw Error(where, "missing scales");
    if (scales.sizes().vec() != sc_shape)
        throw Error(where, "scales has shape " + shape_str(scales) + ", expected " + shape_str(sc_shape));
    at::Tensor s = scales;
    if (s.scalar_type() != at::kHalf) {
        if (!at::isFloatingType(s.scalar_type()))
            throw Error(where, std::string("scales has dtype ") + c10::toString(s.scalar_type()) + ", expected float16");
        // The kernels and the dequantization use fp16 scales; converting is only allowed when nothing changes.
        s = scales.to(at::kHalf);
        if (!at::equal(s.to(at::kDouble), scales.to(at::kDouble)))
            throw Error(where, std::string("scales are stored as ") + c10::toString(scales.scalar_type()) +
                                   " with values float16 cannot represent exactly");
    }
    p.qweight = qweight.contiguous();
    p.qzeros = qzeros.contiguous();
    p.scales = s.contiguous();
    return p;
}

}  // namespace awq
