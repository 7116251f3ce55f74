#pragma once
// Which tensors a Llama-family checkpoint (Llama, Mistral, Qwen2) must contain, with which shapes and
// dtypes, in Hugging Face naming; and the check that a folder has them all before any model code runs.
#include <cstdint>
#include <string>
#include <vector>

#include "core/model_config.h"
#include "io/awq_quant_config.h"

namespace awq {

class CheckpointFolder;

enum class WeightKind {
    Float,       // F32 / F16 / BF16 / F64 (embeddings, norms, biases, unquantized linears)
    AwqPacked,   // I32: AWQ qweight / qzeros, 8 four-bit values per int32 (gemm or gemv layout)
    AwqScales,   // float (AutoAWQ writes F16): AWQ per-group scales
};

struct ExpectedTensor {
    std::string name;  // e.g. "model.layers.3.mlp.up_proj.weight"
    std::vector<int64_t> shape;
    WeightKind kind = WeightKind::Float;
    bool optional = false;  // lm_head.weight when tie_word_embeddings
};

// The tensors `config` needs. With `awq`, every linear not kept float by modules_to_not_convert is, instead
// of weight [out, in]: for version gemm qweight [in, out/8], qzeros [in/group, out/8], scales [in/group, out];
// for version gemv qweight [out, in/8], qzeros [out, zw], scales [out, zw*8] (zw: gemv_zeros_width in
// kernels/cpu/w4_layouts.h). Throws awq::Error(source, ...) when the AWQ layout cannot describe a linear
// (version other than gemm/gemv, in_features not divisible by group_size, out_features not divisible by 8,
// a gemv group size other than 32, 64, >= 128).
std::vector<ExpectedTensor> expected_llama_tensors(const ModelConfig& config, const AwqQuantConfig* awq,
                                                   const std::string& source);

// Checks that every expected tensor is present with the right shape and dtype; extra tensors are allowed.
// Throws awq::Error for the first problem, naming the file, e.g.
//   "<dir>/model.safetensors: tensor 'model.layers.3.mlp.up_proj.weight' has shape [576, 100], expected [1536, 576]"
//   "<dir>/model.safetensors.index.json: missing tensor 'model.norm.weight'"
// and says how many more problems there are.
void validate_llama_weights(const CheckpointFolder& folder);

}  // namespace awq
