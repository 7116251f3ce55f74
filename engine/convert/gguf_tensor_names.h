#pragma once
// GGUF tensor names (llama.cpp's) <-> Hugging Face parameter names for Llama-family models.
#include <optional>
#include <string>

namespace awq {

// "blk.3.attn_q.weight" -> "model.layers.3.self_attn.q_proj.weight"; std::nullopt for a name with no
// Hugging Face counterpart (e.g. "rope_freqs.weight").
std::optional<std::string> hf_tensor_name(const std::string& gguf_name);

}  // namespace awq
