#include "convert/gguf_tensor_names.h"

#include <cctype>
#include <utility>

namespace awq {

namespace {

constexpr std::pair<const char*, const char*> kGlobal[] = {
    {"token_embd", "model.embed_tokens"},
    {"output_norm", "model.norm"},
    {"output", "lm_head"},
};

constexpr std::pair<const char*, const char*> kPerLayer[] = {
    {"attn_q", "self_attn.q_proj"},   {"attn_k", "self_attn.k_proj"},         {"attn_v", "self_attn.v_proj"},
    {"attn_output", "self_attn.o_proj"}, {"ffn_gate", "mlp.gate_proj"},     {"ffn_up", "mlp.up_proj"},
    {"ffn_down", "mlp.down_proj"},    {"attn_norm", "input_layernorm"},       {"ffn_norm", "post_attention_layernorm"},
};

}  // namespace

std::optional<std::string> hf_tensor_name(const std::string& name) {
    std::string suffix;
    std::string stem;
    if (name.size() > 7 && name.compare(name.size() - 7, 7, ".weight") == 0) suffix = ".weight";
    else if (name.size() > 5 && name.compare(name.size() - 5, 5, ".bias") == 0) suffix = ".bias";
    else return std::nullopt;
    stem = name.substr(0, name.size() - suffix.size());

    for (const auto& [g, hf] : kGlobal)
        if (stem == g) return std::string(hf) + suffix;

    if (stem.rfind("blk.", 0) != 0) return std::nullopt;
    size_t p = 4;
    const size_t digits_begin = p;
    while (p < stem.size() && std::isdigit(static_cast<unsigned char>(stem[p]))) ++p;
    if (p == digits_begin || p - digits_begin > 9 || p >= stem.size() || stem[p] != '.') return std::nullopt;
    if (stem[digits_begin] == '0' && p - digits_begin > 1) return std::nullopt;  // "blk.01" is no layer name
    const std::string layer = stem.substr(digits_begin, p - digits_begin);
    const std::string part = stem.substr(p + 1);
    for (const auto& [g, hf] : kPerLayer)
        if (part == g) return "model.layers." + layer + "." + hf + suffix;
    return std::nullopt;
}

}  // namespace awq
