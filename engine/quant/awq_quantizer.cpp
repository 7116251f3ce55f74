#include "quant/awq_quantizer.h"

#include <chrono>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include "core/error.h"
#include "model/device_memory.h"
#include "model/llama_model.h"
#include "quant/awq_clip_search.h"
#include "quant/awq_scale_search.h"
#include "quant/pseudo_quantize.h"
#include "quant/scale_folding.h"

namespace awq {

bool keeps_float(const QuantConfig& cfg, const std::string& name) {
    for (const auto& m : cfg.modules_to_not_convert)
        if (!m.empty() && name.find(m) != std::string::npos) return true;
    return false;
}

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

constexpr LinearSlot kAllSlots[] = {LinearSlot::Q, LinearSlot::K, LinearSlot::V, LinearSlot::O,
                                    LinearSlot::Gate, LinearSlot::Up, LinearSlot::Down};

std::string linear_name(int64_t block, LinearSlot s) {
    return "model.layers." + std::to_string(block) + "." + linear_slot_name(s);
}

DenseLinear& dense(DecoderBlock& b, LinearSlot s, int64_t block) {
    auto* d = dynamic_cast<DenseLinear*>(&b.linear(s));
    if (!d)
        throw Error(linear_name(block, s), "AWQ needs float weights, but this linear is '" + b.linear(s).kind() +
                                               "' (the model is already quantized)");
    return *d;
}

// The group of linears sharing one input, and where its scales fold to.
struct ScaleGroup {
    const char* name;
    std::vector<LinearSlot> slots;
    LinearSlot input_of;      // whose captured input the group reads
    bool prev_is_norm;        // fold into an RMSNorm weight (input/post) or into the previous linear
    LinearSlot prev_linear;   // when !prev_is_norm
    bool input_norm;          // which norm when prev_is_norm
};

const std::vector<ScaleGroup>& llama_groups() {
    static const std::vector<ScaleGroup> g = {
        {"qkv", {LinearSlot::Q, LinearSlot::K, LinearSlot::V}, LinearSlot::Q, true, LinearSlot::Q, true},
        {"o", {LinearSlot::O}, LinearSlot::O, false, LinearSlot::V, false},
        {"gate_up", {LinearSlot::Gate, LinearSlot::Up}, LinearSlot::Gate, true, LinearSlot::Q, false},
        {"down", {LinearSlot::Down}, LinearSlot::Down, false, LinearSlot::Up, false},
    };
    return g;
}

// Input captured for a slot: q/k/v share one, gate/up share one.
LinearSlot input_slot(LinearSlot s) {
    if (s == LinearSlot::K || s == LinearSlot::V) return LinearSlot::Q;
    if (s == LinearSlot::Up) return LinearSlot::Gate;
    return s;
}

// A strided subset of at most n token rows of x [.., in], as [rows, in].
at::Tensor token_sample(const at::Tensor& x, int64_t n) {
    at::Tensor f = x.reshape({-1, x.size(-1)});
    const int64_t step = std::max<int64_t>(1, f.size(0) / n);
    return f.slice(0, 0, f.size(0), step);
}

double rel_error(const at::Tensor& ref, const at::Tensor& got) {
    const double den = ref.to(at::kFloat).norm().item<double>();
    return den > 0 ? (ref - got).to(at::kFloat).norm().item<double>() / den : 0.0;
}

void check_config(LlamaModel& model, const QuantConfig& cfg) {
    cfg.validate();
    int64_t quantizable = 0;
    for (int64_t i = 0; i < model.num_blocks(); ++i)
        for (LinearSlot s : kAllSlots) {
            DenseLinear& l = dense(model.block(i), s, i);
            const int64_t in = l.in_features(), g = cfg.group_for(in);
            if (keeps_float(cfg, linear_name(i, s))) continue;
            ++quantizable;
            if (in % g != 0)
                throw Error("--group-size", "group size " + std::to_string(g) + " does not divide the input width " +
                                                std::to_string(in) + " of " + linear_name(i, s));
        }
    if (quantizable == 0)
        throw Error("--modules-to-not-convert", "no linear layer is left to quantize (the model has " +
                                                    std::to_string(model.num_blocks() * kNumLinearSlots) +
                                                    " linears, all excluded)");
}

}  // namespace

QuantizeResult quantize_model(LlamaModel& model, const at::Tensor& calib_ids, const QuantConfig& cfg, const Progress& progress) {
    check_config(model, cfg);
    if (calib_ids.dim() != 2 || calib_ids.size(0) < 1 || calib_ids.size(1) < 2)
        throw Error("calibration", "calibration ids must be [samples, seqlen] with at least one sample");
    c10::InferenceMode guard;
    const auto t_start = Clock::now();
    reset_peak_device_memory(model.device());
    QuantizeResult res;
    const bool awq = cfg.method == "awq";
    const int64_t n_blocks = model.num_blocks(), B = calib_ids.size(0), T = calib_ids.size(1);
    // Sequences per forward call: bounds activation memory (attention, MLP intermediate) to ~16k tokens.
    const int64_t chunk = std::max<int64_t>(1, 16384 / T);

    at::Tensor x = model.embed(calib_ids);
    const AttentionContext ctx = model.context(0, T);
    for (int64_t i = 0; i < n_blocks; ++i) {
        const auto t_block = Clock::now();
        auto phase = [&](const std::string& p) {
            progress.check_cancel();
            progress.report("block " + std::to_string(i + 1) + "/" + std::to_string(n_blocks) + ": " + p, i, n_blocks);
        };
        phase("capture");
        DecoderBlock& b = model.block(i);
        if (model.offload()) b.to(model.device());
        const QuantSpec spec{cfg.w_bit, 0, cfg.zero_point};
        auto spec_for = [&](LinearSlot s) {
            QuantSpec sp = spec;
            sp.group = cfg.group_for(b.linear(s).in_features());
            return sp;
        };

        // 1. Float run of the block, capturing the linears' inputs; its output feeds the next block.
        std::map<LinearSlot, std::vector<at::Tensor>> caps;
        b.set_input_hook([&](LinearSlot s, const at::Tensor& in) {
            if (s == input_slot(s)) caps[s].push_back(in);
        });
        std::vector<at::Tensor> outs;
        for (int64_t c = 0; c < B; c += chunk) outs.push_back(b.forward(x.narrow(0, c, std::min(chunk, B - c)), ctx));
        b.set_input_hook({});
        at::Tensor fp_out = at::cat(outs);
        outs.clear();
        std::map<LinearSlot, at::Tensor> input;
        for (auto& [s, v] : caps) input[s] = at::cat(v);
        caps.clear();

        std::map<LinearSlot, at::Tensor> original;
        for (LinearSlot s : kAllSlots) original[s] = dense(b, s, i).weight().clone();
        const at::Tensor orig_in_norm = b.input_norm_weight().clone(), orig_post_norm = b.post_norm_weight().clone();
        std::map<LinearSlot, at::Tensor> saliency;
        for (auto& [s, in] : input) saliency[s] = channel_mean_abs(in);

        // 2. Scale search on the float weights, then fold every group's scales.
        std::map<LinearSlot, at::Tensor> scales;  // per input slot
        std::map<LinearSlot, ScaleSearchResult> searched;
        if (awq && cfg.search_scales) {
            const auto t_search = Clock::now();
            for (const ScaleGroup& g : llama_groups()) {
                bool excluded = false;
                for (LinearSlot s : g.slots) excluded |= keeps_float(cfg, linear_name(i, s));
                if (excluded) continue;
                // v -> o only when both have the same shape (not under grouped-query attention), as AutoAWQ.
                if (g.input_of == LinearSlot::O &&
                    dense(b, LinearSlot::V, i).weight().sizes() != dense(b, LinearSlot::O, i).weight().sizes())
                    continue;
                phase(std::string("scale search ") + g.name);
                std::vector<DenseLinear*> lin;
                for (LinearSlot s : g.slots) lin.push_back(&dense(b, s, i));
                const at::Tensor& in = input.at(g.input_of);
                InspectFn inspect;
                if (g.input_of == LinearSlot::Q)
                    inspect = [&](int64_t b0, int64_t b1) { return b.attention(in.narrow(0, b0, b1 - b0), ctx); };
                else if (g.input_of == LinearSlot::Gate)
                    inspect = [&](int64_t b0, int64_t b1) { return b.mlp(in.narrow(0, b0, b1 - b0)); };
                else
                    inspect = [&, s = g.input_of](int64_t b0, int64_t b1) { return b.linear(s).forward(in.narrow(0, b0, b1 - b0)); };
                searched[g.input_of] = search_scales(lin, saliency.at(g.input_of), B, chunk, inspect, spec_for(g.slots[0]), cfg);
            }
            for (const ScaleGroup& g : llama_groups()) {
                auto it = searched.find(g.input_of);
                if (it == searched.end()) continue;
                const at::Tensor& s = it->second.scales;
                std::vector<DenseLinear*> lin;
                for (LinearSlot sl : g.slots) lin.push_back(&dense(b, sl, i));
                if (g.prev_is_norm) fold_scales_into_norm(g.input_norm ? b.input_norm_weight() : b.post_norm_weight(), lin, s);
                else fold_scales_into_linear(dense(b, g.prev_linear, i), lin, s);
                scales[g.input_of] = s;
            }
            res.stats.scale_search_seconds += since(t_search);
        }
        auto scaled_input = [&](LinearSlot s) {
            LinearSlot is = input_slot(s);
            auto it = scales.find(is);
            return it == scales.end() ? input.at(is) : input.at(is) / it->second.view({1, 1, -1});
        };

        // 3. Clip search (not for q/k).
        std::map<LinearSlot, at::Tensor> shrink;
        if (awq && cfg.search_clip) {
            const auto t_clip = Clock::now();
            for (LinearSlot s : kAllSlots) {
                if (s == LinearSlot::Q || s == LinearSlot::K || keeps_float(cfg, linear_name(i, s))) continue;
                phase(std::string("clip search ") + linear_slot_name(s));
                at::Tensor& w = dense(b, s, i).weight();
                ClipResult cr = search_clip(w, scaled_input(s), spec_for(s), cfg);
                apply_clip(w, cr.max_val, spec_for(s).group);
                shrink[s] = cr.shrink.cpu();
            }
            res.stats.clip_search_seconds += since(t_clip);
        }

        // 4. Quantize; the dense weight becomes the dequantized one. Then the evidence.
        phase("quantize");
        for (LinearSlot s : kAllSlots) {
            const std::string name = linear_name(i, s);
            DenseLinear& l = dense(b, s, i);
            LinearEvidence ev;
            ev.name = name;
            ev.block = i;
            ev.saliency = saliency.at(input_slot(s)).cpu();
            ev.top_channels = top_channels(ev.saliency);
            if (auto it = searched.find(input_slot(s)); it != searched.end()) {
                ev.grid_loss = it->second.losses;
                ev.best_ratio = it->second.best_ratio;
                ev.scales = it->second.scales.to(at::kFloat).cpu();
            }
            if (auto it = shrink.find(s); it != shrink.end()) ev.clip_shrink = it->second;
            if (!keeps_float(cfg, name)) {
                QuantizedWeight qw = quantize_weight(l.weight(), spec_for(s), l.bias());
                l.weight().copy_(qw.dequantize(l.weight().scalar_type()));
                qw.q = qw.q.cpu();
                qw.scales = qw.scales.cpu();
                qw.zeros = qw.zeros.cpu();
                if (qw.bias.defined()) qw.bias = qw.bias.cpu().clone();
                res.linears[name] = std::move(qw);
                // Relative output error on a token sample: plain RTN of the float weight vs the AWQ result.
                at::Tensor xs = token_sample(input.at(input_slot(s)), 2048);
                at::Tensor xa = token_sample(scaled_input(s), 2048);
                at::Tensor ref = at::linear(xs, original.at(s));
                ev.rtn_error = rel_error(ref, at::linear(xs, pseudo_quantize(original.at(s), spec_for(s))));
                ev.awq_error = awq ? rel_error(ref, at::linear(xa, l.weight())) : ev.rtn_error;
            }
            res.evidence.linears.push_back(std::move(ev));
        }

        // Whole-block output error on a few sequences: AWQ block now, then the same block with RTN weights.
        phase("evidence");
        BlockEvidence be;
        be.index = i;
        {
            const int64_t k = std::min<int64_t>(B, 8);
            at::Tensor xin = x.narrow(0, 0, k), ref = fp_out.narrow(0, 0, k);
            be.awq_error = rel_error(ref, b.forward(xin, ctx));
            if (awq) {
                std::map<LinearSlot, at::Tensor> awq_w;
                for (LinearSlot s : kAllSlots) awq_w[s] = dense(b, s, i).weight().clone();
                at::Tensor awq_in_norm = b.input_norm_weight().clone(), awq_post_norm = b.post_norm_weight().clone();
                for (LinearSlot s : kAllSlots) {
                    at::Tensor& w = dense(b, s, i).weight();
                    w.copy_(keeps_float(cfg, linear_name(i, s)) ? original.at(s) : pseudo_quantize(original.at(s), spec_for(s)));
                }
                b.input_norm_weight().copy_(orig_in_norm);
                b.post_norm_weight().copy_(orig_post_norm);
                // v's bias was divided by o's scales; undo for the RTN run.
                at::Tensor vb = dense(b, LinearSlot::V, i).mutable_bias();
                at::Tensor vb_saved = vb.defined() ? vb.clone() : at::Tensor();
                if (vb.defined() && scales.count(LinearSlot::O)) vb.mul_(scales.at(LinearSlot::O).to(vb.scalar_type()));
                be.rtn_error = rel_error(ref, b.forward(xin, ctx));
                for (LinearSlot s : kAllSlots) dense(b, s, i).weight().copy_(awq_w.at(s));
                b.input_norm_weight().copy_(awq_in_norm);
                b.post_norm_weight().copy_(awq_post_norm);
                if (vb.defined()) vb.copy_(vb_saved);
            } else {
                be.rtn_error = be.awq_error;
            }
        }
        if (model.offload()) b.to(at::kCPU);
        x = fp_out;
        be.seconds = since(t_block);
        res.stats.block_seconds.push_back(be.seconds);
        res.evidence.blocks.push_back(be);
    }
    progress.report("quantized", n_blocks, n_blocks);
    res.stats.seconds = since(t_start);
    res.stats.peak_device_bytes = peak_device_memory(model.device());
    res.stats.peak_host_bytes = peak_host_memory();
    res.evidence.summary = {{"method", cfg.method}, {"w_bit", cfg.w_bit}, {"group_size", cfg.group_size},
                            {"zero_point", cfg.zero_point}, {"search_scales", cfg.search_scales},
                            {"search_clip", cfg.search_clip}, {"duo_scaling", cfg.duo_scaling}, {"n_grid", cfg.n_grid}, {"clip_precision", cfg.clip_precision},
                            {"calibration_samples", B}, {"calibration_seqlen", T}, {"seconds", res.stats.seconds},
                            {"scale_search_seconds", res.stats.scale_search_seconds},
                            {"clip_search_seconds", res.stats.clip_search_seconds},
                            {"peak_device_bytes", res.stats.peak_device_bytes}, {"peak_host_bytes", res.stats.peak_host_bytes},
                            {"architecture", model.config().architecture}, {"dtype", compute_dtype_name(model.dtype())}};
    return res;
}

}  // namespace awq
