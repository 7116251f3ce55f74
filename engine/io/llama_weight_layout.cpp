#include "io/llama_weight_layout.h"

#include "core/error.h"
#include "cpu/w4_layouts.h"
#include "io/checkpoint_folder.h"

namespace awq {

namespace {

struct Problem {
    std::string where, what;
};

}  // namespace

std::vector<ExpectedTensor> expected_llama_tensors(const ModelConfig& c, const AwqQuantConfig* awq,
                                                   const std::string& source) {
    if (awq && awq->version != "gemm" && awq->version != "gemv")
        throw Error(source, "AWQ version '" + awq->version + "' is not supported (gemm and gemv are)");
    std::vector<ExpectedTensor> out;
    auto add = [&](std::string name, std::vector<int64_t> shape, WeightKind kind = WeightKind::Float) {
        out.push_back({std::move(name), std::move(shape), kind, false});
    };
    auto linear = [&](const std::string& module, int64_t out_f, int64_t in_f, bool bias) {
        if (awq && !awq->keeps_float(module)) {
            const int64_t group = awq->group_size_for(in_f);
            const int64_t pack = awq->pack_factor();
            if (in_f % group != 0)
                throw Error(source, "'" + module + "' has " + std::to_string(in_f) +
                                        " input features, not a multiple of AWQ group_size " + std::to_string(group));
            if (out_f % pack != 0)
                throw Error(source, "'" + module + "' has " + std::to_string(out_f) +
                                        " output features, not a multiple of the AWQ pack factor " + std::to_string(pack));
            if (awq->version == "gemm") {
                add(module + ".qweight", {in_f, out_f / pack}, WeightKind::AwqPacked);
                add(module + ".qzeros", {in_f / group, out_f / pack}, WeightKind::AwqPacked);
                add(module + ".scales", {in_f / group, out_f}, WeightKind::AwqScales);
            } else {
                // gemv keeps W as [out, in] with 8 inputs per int32, and pads zeros/scales per row to the width
                // AutoAWQ's one-token kernel reads (kernels/cpu/w4_layouts.h).
                if (in_f % pack != 0)
                    throw Error(source, "'" + module + "' has " + std::to_string(in_f) +
                                            " input features, not a multiple of the AWQ pack factor " + std::to_string(pack));
                int64_t zw = 0;
                try {
                    zw = gemv_zeros_width((int)in_f, (int)group);
                } catch (const Error& e) {
                    throw Error(source, "'" + module + "': " + e.what());
                }
                add(module + ".qweight", {out_f, in_f / pack}, WeightKind::AwqPacked);
                add(module + ".qzeros", {out_f, zw}, WeightKind::AwqPacked);
                add(module + ".scales", {out_f, zw * pack}, WeightKind::AwqScales);
            }
        } else {
            add(module + ".weight", {out_f, in_f});
        }
        if (bias) add(module + ".bias", {out_f});
    };

    const int64_t hidden = c.hidden_size, q_dim = c.num_attention_heads * c.head_dim,
                  kv_dim = c.num_key_value_heads * c.head_dim, inter = c.intermediate_size;
    add("model.embed_tokens.weight", {c.vocab_size, hidden});
    for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
        const std::string p = "model.layers." + std::to_string(i) + ".";
        add(p + "input_layernorm.weight", {hidden});
        linear(p + "self_attn.q_proj", q_dim, hidden, c.attention_bias);
        linear(p + "self_attn.k_proj", kv_dim, hidden, c.attention_bias);
        linear(p + "self_attn.v_proj", kv_dim, hidden, c.attention_bias);
        linear(p + "self_attn.o_proj", hidden, q_dim, c.o_proj_bias);
        add(p + "post_attention_layernorm.weight", {hidden});
        linear(p + "mlp.gate_proj", inter, hidden, c.mlp_bias);
        linear(p + "mlp.up_proj", inter, hidden, c.mlp_bias);
        linear(p + "mlp.down_proj", hidden, inter, c.mlp_bias);
    }
    add("model.norm.weight", {hidden});
    // AutoAWQ never quantizes lm_head, so it is a plain weight either way.
    out.push_back({"lm_head.weight", {c.vocab_size, hidden}, WeightKind::Float, c.tie_word_embeddings});
    return out;
}

void validate_llama_weights(const CheckpointFolder& folder) {
    const auto& awq = folder.awq();
    const auto expected = expected_llama_tensors(folder.config(), awq ? &*awq : nullptr, folder.config_path());
    std::vector<Problem> problems;
    for (const ExpectedTensor& e : expected) {
        const TensorView* t = folder.find(e.name);
        if (!t) {
            if (e.optional) continue;
            std::string hint;
            // The usual cause of a missing qweight is an unquantized (or differently quantized) folder.
            if (e.kind != WeightKind::Float && e.name.ends_with(".qweight")) {
                std::string module = e.name.substr(0, e.name.size() - 8);
                if (folder.contains(module + ".weight"))
                    hint = " (found '" + module + ".weight': the folder's config says AWQ but this linear is not quantized)";
            }
            problems.push_back({folder.weights_source(), "missing tensor '" + e.name + "'" + hint});
            continue;
        }
        if (t->shape != e.shape) {
            problems.push_back({t->file, "tensor '" + e.name + "' has shape " + shape_to_string(t->shape) +
                                             ", expected " + shape_to_string(e.shape)});
            continue;
        }
        bool ok = e.kind == WeightKind::AwqPacked ? t->dtype == DType::I32 : dtype_is_float(t->dtype);
        if (!ok) {
            std::string want = e.kind == WeightKind::AwqPacked ? "I32" : "a float dtype (F32, F16, BF16)";
            std::string why = dtype_is_fp8(t->dtype) ? " (FP8 weights are not supported)" : "";
            problems.push_back({t->file, "tensor '" + e.name + "' has dtype " + dtype_name(t->dtype) + ", expected " +
                                             want + why});
        }
    }
    if (!problems.empty()) {
        std::string more = problems.size() > 1 ? " (and " + std::to_string(problems.size() - 1) + " more problems)" : "";
        throw Error(problems.front().where, problems.front().what + more);
    }
}

}  // namespace awq
