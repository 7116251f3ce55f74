#include "model/decoder_block.h"

#include <ATen/ATen.h>

#include "model/output_slice.h"
#include "model/rope.h"
#include "core/error.h"

namespace awq {

const char* linear_slot_name(LinearSlot s) {
    switch (s) {
        case LinearSlot::Q: return "self_attn.q_proj";
        case LinearSlot::K: return "self_attn.k_proj";
        case LinearSlot::V: return "self_attn.v_proj";
        case LinearSlot::O: return "self_attn.o_proj";
        case LinearSlot::Gate: return "mlp.gate_proj";
        case LinearSlot::Up: return "mlp.up_proj";
        case LinearSlot::Down: return "mlp.down_proj";
    }
    return "?";
}

// Matches transformers' LlamaRMSNorm: statistics in fp32, cast back before the weight multiply.
at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps) {
    at::Tensor xf = x.to(at::kFloat);
    at::Tensor var = xf.pow(2).mean(-1, /*keepdim=*/true);
    xf = xf * at::rsqrt(var + eps);
    return weight * xf.to(x.scalar_type());
}

DecoderBlock::DecoderBlock(const ModelConfig& cfg, at::Tensor input_norm, at::Tensor post_norm,
                           std::array<std::unique_ptr<Linear>, kNumLinearSlots> linears)
    : cfg_(&cfg), input_norm_w_(std::move(input_norm)), post_norm_w_(std::move(post_norm)), linears_(std::move(linears)) {}

at::Tensor DecoderBlock::input_norm(const at::Tensor& x) const { return rms_norm(x, input_norm_w_, cfg_->rms_norm_eps); }
at::Tensor DecoderBlock::post_norm(const at::Tensor& x) const { return rms_norm(x, post_norm_w_, cfg_->rms_norm_eps); }

at::Tensor DecoderBlock::attention(const at::Tensor& x, const AttentionContext& ctx) const {
    const int64_t B = x.size(0), T = x.size(1);
    const int64_t nh = cfg_->num_attention_heads, nkv = cfg_->num_key_value_heads, hd = cfg_->head_dim;
    if (hook_) {
        hook_(LinearSlot::Q, x);
        hook_(LinearSlot::K, x);
        hook_(LinearSlot::V, x);
    }
    auto [q, k, v] = project_qkv(x);
    q = q.reshape({B, T, nh, hd}).transpose(1, 2);
    k = k.reshape({B, T, nkv, hd}).transpose(1, 2);
    v = v.reshape({B, T, nkv, hd}).transpose(1, 2);
    q = apply_rope(q, ctx.cos, ctx.sin);
    k = apply_rope(k, ctx.cos, ctx.sin);

    if (ctx.k_cache && ctx.position.defined()) {
        ctx.k_cache->index_copy_(2, ctx.position, k);
        ctx.v_cache->index_copy_(2, ctx.position, v);
        k = *ctx.k_cache;
        v = *ctx.v_cache;
    } else if (ctx.k_cache) {
        ctx.k_cache->narrow(2, ctx.past, T).copy_(k);
        ctx.v_cache->narrow(2, ctx.past, T).copy_(v);
        k = ctx.k_cache->narrow(2, 0, ctx.past + T);
        v = ctx.v_cache->narrow(2, 0, ctx.past + T);
    }
    const double scale = 1.0 / std::sqrt((double)hd);
    at::Tensor out;
    const bool gqa = nh != nkv;
    if (ctx.mask.defined()) {
        out = at::scaled_dot_product_attention(q, k, v, ctx.mask, 0.0, false, scale, gqa);
    } else {
        // T == 1 (decode) attends to everything; otherwise past is empty and the mask is plain causal.
        out = at::scaled_dot_product_attention(q, k, v, {}, 0.0, ctx.causal && T > 1, scale, gqa);
    }
    out = out.transpose(1, 2).reshape({B, T, nh * hd});
    if (hook_) hook_(LinearSlot::O, out);
    return linear(LinearSlot::O).forward(out);
}

std::array<at::Tensor, 3> DecoderBlock::project_qkv(const at::Tensor& x) const {
    if (!qkv_) return {linear(LinearSlot::Q).forward(x), linear(LinearSlot::K).forward(x), linear(LinearSlot::V).forward(x)};
    const int64_t qn = cfg_->num_attention_heads * cfg_->head_dim, kvn = cfg_->num_key_value_heads * cfg_->head_dim;
    const at::Tensor qkv = qkv_->forward(x);
    return {qkv.narrow(-1, 0, qn), qkv.narrow(-1, qn, kvn), qkv.narrow(-1, qn + kvn, kvn)};
}

std::array<at::Tensor, 2> DecoderBlock::project_gate_up(const at::Tensor& x) const {
    if (!gate_up_) return {linear(LinearSlot::Gate).forward(x), linear(LinearSlot::Up).forward(x)};
    const int64_t f = cfg_->intermediate_size;
    const at::Tensor gu = gate_up_->forward(x);
    return {gu.narrow(-1, 0, f), gu.narrow(-1, f, f)};
}

at::Tensor DecoderBlock::mlp(const at::Tensor& x) const {
    if (hook_) {
        hook_(LinearSlot::Gate, x);
        hook_(LinearSlot::Up, x);
    }
    const auto [gate, up] = project_gate_up(x);
    at::Tensor h = at::silu(gate) * up;
    if (hook_) hook_(LinearSlot::Down, h);
    return linear(LinearSlot::Down).forward(h);
}

at::Tensor DecoderBlock::forward(const at::Tensor& x, const AttentionContext& ctx) const {
    at::Tensor h = x + attention(input_norm(x), ctx);
    return h + mlp(post_norm(h));
}

at::Tensor DecoderBlock::decode_fused(at::Tensor& residual, const at::Tensor& pending, at::Tensor& sumsq,
                                      const StaticDecodeInputs& in, at::Tensor& k_cache, at::Tensor& v_cache) const {
    const DecodeKernelOptions& opt = in.kernels;
    const double eps = cfg_->rms_norm_eps;
    const int64_t H = cfg_->hidden_size, qn = cfg_->num_attention_heads * cfg_->head_dim,
                  kvn = cfg_->num_key_value_heads * cfg_->head_dim;
    const bool fold = opt.norm_into_matmul && residual.numel() == H;  // one token
    auto sums_buffer = [&] { return at::empty({decode_sumsq_floats(H)}, residual.options().dtype(at::kFloat)); };
    auto normed = [&](const at::Tensor& sums, const at::Tensor& weight) {
        DecodeFusion f;
        f.sumsq_in = sums;
        f.norm_weight = weight;
        f.norm_eps = eps;
        f.norm_on_output = opt.norm_on_output;
        return f;
    };

    // Attention input: the RMSNorm rides in the merged q/k/v matmul when the previous block left its sums.
    at::Tensor q, k, v;
    at::Tensor qkv_out;
    if (fold && qkv_ && sumsq.defined()) qkv_out = qkv_->forward_fused(residual, normed(sumsq, input_norm_w_));
    if (qkv_out.defined()) {
        q = qkv_out.narrow(-1, 0, qn), k = qkv_out.narrow(-1, qn, kvn), v = qkv_out.narrow(-1, qn + kvn, kvn);
    } else {
        const at::Tensor x = fused_add_rms_norm(residual, pending, input_norm_w_, eps, opt);
        const auto r = project_qkv(x);  // the attention kernels take the merged output's row strides
        q = r[0], k = r[1], v = r[2];
    }
    sumsq = at::Tensor();
    const double scale = 1.0 / std::sqrt((double)cfg_->head_dim);
    at::Tensor attn;
    const std::vector<at::Tensor> o_weights =
        opt.prefetch_o_proj ? linear(LinearSlot::O).read_tensors() : std::vector<at::Tensor>{};
    if (opt.rope_into_attention) {
        attn = fused_rope_attention(q, k, v, in.cos_table, in.sin_table, in.position, k_cache, v_cache, scale, opt,
                                    o_weights);
    } else {
        const at::Tensor q_rot = fused_rope_kv_write(q, k, v, in.cos_table, in.sin_table, in.position, k_cache, v_cache, opt);
        attn = fused_decode_attention(q_rot, k_cache, v_cache, in.position, scale, opt, o_weights);
    }

    // o projection: added into the residual by the matmul itself when it can, with the sums for the MLP's norm.
    at::Tensor o, o_sums;
    if (fold) {
        DecodeFusion f;
        f.residual = residual;
        f.sumsq_out = sums_buffer();
        if (linear(LinearSlot::O).forward_fused(attn, f).defined()) o_sums = f.sumsq_out;
    }
    if (!o_sums.defined()) o = linear(LinearSlot::O).forward(attn);
    at::Tensor gu;
    if (o_sums.defined() && gate_up_) gu = gate_up_->forward_fused(residual, normed(o_sums, post_norm_w_));
    if (!gu.defined()) {
        const at::Tensor x2 = fused_add_rms_norm(residual, o, post_norm_w_, eps, opt);
        if (!gate_up_) {  // separate gate and up projections
            const auto [gate, up] = project_gate_up(x2);
            return linear(LinearSlot::Down).forward(fused_silu_mul(gate, up, opt));
        }
        gu = gate_up_->forward(x2);
    }
    // The down projection takes the merged [gate | up] output whole with the SiLU in its input load (when asked
    // and it can), and adds its output into the residual itself when it can.
    const int64_t inter = cfg_->intermediate_size;
    auto silu_mul = [&] { return fused_silu_mul(gu.narrow(-1, 0, inter), gu.narrow(-1, inter, inter), opt); };
    DecodeFusion f;
    f.silu_gated = opt.silu_into_down;
    const at::Tensor down_in = f.silu_gated ? gu : silu_mul();
    if (fold) {
        f.residual = residual;
        f.sumsq_out = sums_buffer();
        if (linear(LinearSlot::Down).forward_fused(down_in, f).defined()) {
            sumsq = f.sumsq_out;
            return {};
        }
        f.residual = f.sumsq_out = at::Tensor();
    }
    if (!f.silu_gated) return linear(LinearSlot::Down).forward(down_in);
    if (at::Tensor y = linear(LinearSlot::Down).forward_fused(gu, f); y.defined()) return y;
    return linear(LinearSlot::Down).forward(silu_mul());
}

void DecoderBlock::to(at::Device device) {
    input_norm_w_ = input_norm_w_.to(device);
    post_norm_w_ = post_norm_w_.to(device);
    for (auto& l : linears_) l->to(device);
    if (qkv_) qkv_->to(device);
    if (gate_up_) gate_up_->to(device);
}

int64_t DecoderBlock::weight_bytes() const {
    int64_t n = (input_norm_w_.numel() + post_norm_w_.numel()) * input_norm_w_.element_size();
    for (auto& l : linears_) n += l->weight_bytes();  // merged slots are views that count nothing
    if (qkv_) n += qkv_->weight_bytes();
    if (gate_up_) n += gate_up_->weight_bytes();
    return n;
}

namespace {

// Merges `slots` of `linears` into one linear and replaces them with views of it; null when they cannot merge.
std::shared_ptr<Linear> merge_slots(std::array<std::unique_ptr<Linear>, kNumLinearSlots>& linears,
                                    std::initializer_list<LinearSlot> slots) {
    std::vector<const Linear*> rest;
    for (auto it = slots.begin() + 1; it != slots.end(); ++it) rest.push_back(linears[(int)*it].get());
    std::shared_ptr<Linear> merged = linears[(int)*slots.begin()]->merge_outputs(rest);
    if (!merged) return nullptr;
    int64_t offset = 0;
    for (LinearSlot s : slots) {
        const int64_t n = linears[(int)s]->out_features();
        linears[(int)s] = std::make_unique<OutputSlice>(merged, offset, n);
        offset += n;
    }
    return merged;
}

}  // namespace

bool DecoderBlock::merge_projections() {
    if (hook_) throw Error("merge projections", "a block with an input hook (calibration) keeps separate projections");
    if (!qkv_) qkv_ = merge_slots(linears_, {LinearSlot::Q, LinearSlot::K, LinearSlot::V});
    if (!gate_up_) gate_up_ = merge_slots(linears_, {LinearSlot::Gate, LinearSlot::Up});
    return qkv_ && gate_up_;
}

void DecoderBlock::set_programmatic_launch(bool enabled) {
    for (auto& l : linears_) l->set_programmatic_launch(enabled);
    if (qkv_) qkv_->set_programmatic_launch(enabled);
    if (gate_up_) gate_up_->set_programmatic_launch(enabled);
}

void DecoderBlock::set_linear(LinearSlot s, std::unique_ptr<Linear> l) {
    // Replacing one part of a merged linear: the other parts stay views of it, and the block goes back to
    // calling each slot.
    if (s == LinearSlot::Q || s == LinearSlot::K || s == LinearSlot::V) qkv_.reset();
    if (s == LinearSlot::Gate || s == LinearSlot::Up) gate_up_.reset();
    linears_[(int)s] = std::move(l);
}

}  // namespace awq
