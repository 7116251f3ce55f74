#pragma once
// Fixtures of the AWQ export/import tests: tiny random models (tests/reference/hf_reference.py make-tiny)
// with a small tokenizer added, quantized round-to-nearest by a float64 reference, and the in-memory
// fake-quantized model (dense dequantized linears) that an export + re-import must reproduce exactly.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <ftw.h>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include "core/error.h"
#include "core/half.h"
#include "io/atomic_write.h"
#include "engine_test_support.h"
#include "model/linear.h"
#include "model/model_loader.h"
#include "quant/awq_export.h"
#include "quant/quant_config.h"
#include "quant/quantized_weight.h"

namespace awq::test {

// Round to nearest, ties to even (torch.round), in float64.
inline double round_half_even(double v) { return std::nearbyint(v); }

// Round-to-nearest quantization of W [out, in] (any float dtype) in float64, with the scale rounded to fp16
// before the integers are computed so that stored scale and integers agree (as the kernels read them).
// Asymmetric (AutoAWQ's formula): s = max(max - min, 1e-5) / (2^b - 1), z = clamp(round(-min / s), 0, 2^b - 1),
//   q = clamp(round(w / s) + z, 0, 2^b - 1).
// Symmetric: s = max(max |w|, 1e-5) / (2^(b-1) - 1), q = clamp(round(w / s), -2^(b-1), 2^(b-1) - 1) + 2^(b-1),
//   z = 2^(b-1).
inline QuantizedWeight rtn_reference(const at::Tensor& weight, int bits, int64_t group, bool zero_point) {
    at::Tensor w = weight.detach().to(at::kCPU, at::kDouble).contiguous();
    const int64_t out = w.size(0), in = w.size(1), ng = in / group;
    QuantizedWeight r;
    r.bits = bits;
    r.group_size = group;
    r.zero_point = zero_point;
    r.q = at::empty({out, in}, at::kByte);
    r.scales = at::empty({out, ng}, at::kHalf);
    r.zeros = at::empty({out, ng}, at::kByte);
    const double* W = w.data_ptr<double>();
    uint8_t* Q = r.q.data_ptr<uint8_t>();
    uint8_t* Z = r.zeros.data_ptr<uint8_t>();
    uint16_t* S = reinterpret_cast<uint16_t*>(r.scales.data_ptr());
    const double maxq = (1 << bits) - 1, half = 1 << (bits - 1);
    for (int64_t o = 0; o < out; ++o)
        for (int64_t g = 0; g < ng; ++g) {
            const double* v = W + o * in + g * group;
            double mx = v[0], mn = v[0], amax = 0;
            for (int64_t i = 0; i < group; ++i) {
                mx = std::max(mx, v[i]);
                mn = std::min(mn, v[i]);
                amax = std::max(amax, std::fabs(v[i]));
            }
            const double s_exact = zero_point ? std::max(mx - mn, 1e-5) / maxq : std::max(amax, 1e-5) / (half - 1);
            const uint16_t s16 = float_to_fp16((float)s_exact);
            const double s = fp16_to_float(s16);
            const double z = zero_point ? std::clamp(round_half_even(-mn / s), 0.0, maxq) : half;
            S[o * ng + g] = s16;
            Z[o * ng + g] = (uint8_t)z;
            for (int64_t i = 0; i < group; ++i) {
                double q = zero_point ? std::clamp(round_half_even(v[i] / s) + z, 0.0, maxq)
                                      : std::clamp(round_half_even(v[i] / s), -half, half - 1) + half;
                Q[o * in + g * group + i] = (uint8_t)q;
            }
        }
    return r;
}

// tiny-<arch> plus a small BPE tokenizer.json (load_model needs one; make-tiny saves none), made once.
inline fs::path tiny_model_with_tokenizer(const std::string& arch) {
    const fs::path src = tiny_model(arch);
    ScratchLock lock;
    const fs::path out = scratch_dir() / ("awqio-tiny-" + arch);
    if (!fs::exists(out / "tokenizer.json")) {
        fs::create_directories(out);
        for (const auto& e : fs::directory_iterator(src))
            if (e.is_regular_file()) fs::copy_file(e.path(), out / e.path().filename(), fs::copy_options::overwrite_existing);
        fs::copy_file(data_dir() / "tokenizer" / "bpe_qwen2.tokenizer.json", out / "tokenizer.json.tmp",
                      fs::copy_options::overwrite_existing);
        fs::rename(out / "tokenizer.json.tmp", out / "tokenizer.json");
    }
    return out;
}

// "smollm2": the default model converted to a Hugging Face folder (has its own tokenizer); else a tiny model.
inline fs::path source_model(const std::string& arch) {
    return arch == "smollm2" ? default_hf_model() : tiny_model_with_tokenizer(arch);
}

inline void round_to_fp16_in_place(const at::Tensor& t) {
    if (t.defined()) t.copy_(t.to(at::kHalf).to(t.scalar_type()));
}

// The model as an AWQ export would store it, computed in fp32: float tensors rounded to fp16 (the export
// writes fp16), every linear not kept float replaced by its dequantized RTN weight.
struct FakeQuantized {
    std::unique_ptr<LoadedModel> lm;
    std::map<std::string, QuantizedWeight> linears;
};

inline FakeQuantized fake_quantize(const fs::path& dir, const QuantConfig& cfg) {
    c10::InferenceMode guard;
    FakeQuantized f;
    f.lm = load_model(dir.string(), ModelOptions{});
    LlamaModel& m = *f.lm->model;
    round_to_fp16_in_place(m.embed_weight());
    round_to_fp16_in_place(m.final_norm_weight());
    if (!m.lm_head_tied()) round_to_fp16_in_place(m.lm_head().dense_weight());
    for (int64_t i = 0; i < m.num_blocks(); ++i) {
        DecoderBlock& b = m.block(i);
        round_to_fp16_in_place(b.input_norm_weight());
        round_to_fp16_in_place(b.post_norm_weight());
        for (int s = 0; s < kNumLinearSlots; ++s) {
            const std::string name = "model.layers." + std::to_string(i) + "." + linear_slot_name((LinearSlot)s);
            Linear& lin = b.linear((LinearSlot)s);
            at::Tensor bias = lin.bias();
            round_to_fp16_in_place(bias);
            bool kept = false;
            for (const auto& p : cfg.modules_to_not_convert) kept = kept || name.find(p) != std::string::npos;
            if (kept) {
                round_to_fp16_in_place(lin.dense_weight());
                continue;
            }
            const int64_t in = lin.in_features();
            const int64_t group = cfg.group_for(in);
            if (in % group != 0) continue;  // tests of bad group sizes never get to quantize this one
            QuantizedWeight q = rtn_reference(lin.dense_weight(), cfg.w_bit, group, cfg.zero_point);
            if (bias.defined()) q.bias = bias.clone();
            b.set_linear((LinearSlot)s, std::make_unique<DenseLinear>(q.dequantize(at::kFloat), bias));
            f.linears[name] = std::move(q);
        }
    }
    return f;
}

// The message of the awq::Error that f throws, or "(no error)".
inline std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    return "(no error)";
}

// Two fixed prompts of token ids (the tiny models have a 512-token vocabulary).
inline at::Tensor probe_ids() {
    std::vector<int64_t> v;
    for (int b = 0; b < 2; ++b)
        for (int t = 0; t < 13; ++t) v.push_back((t * 37 + b * 101 + 11) % 512);
    return at::tensor(v).view({2, 13});
}

inline at::Tensor logits_of(LlamaModel& m, const at::Tensor& ids) {
    c10::InferenceMode guard;
    return m.forward(ids);
}

inline void remove_tree(const fs::path& p) { awq::remove_tree(p.string()); }

// A fresh, not yet existing folder under the scratch dir, private to the running test: ctest runs tests in
// parallel processes, and two tests of one fixture asking for the same name must not remove each other's folder.
inline fs::path fresh_dir(const std::string& name) {
    const ::testing::TestInfo* t = ::testing::UnitTest::GetInstance()->current_test_info();
    const std::string owner = t ? std::string(t->test_suite_name()) + "." + t->name() : "no-test";
    const fs::path d = scratch_dir() / "awqio" / owner / name;
    remove_tree(d);
    fs::create_directories(d.parent_path());
    return d;
}

}  // namespace awq::test
