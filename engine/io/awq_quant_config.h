#pragma once
// The quantization_config an AutoAWQ-quantized Hugging Face folder carries in config.json
// (quant_method "awq"). Describes how the packed qweight/qzeros/scales tensors are laid out; reading
// it does not dequantize anything.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace awq {

struct AwqQuantConfig {
    int bits = 4;
    int64_t group_size = 128;  // -1 in the file: one group spanning all input features
    bool zero_point = true;
    std::string version = "gemm";  // lower-cased: "gemm", "gemv", "exllama", ...
    std::vector<std::string> modules_to_not_convert;

    // Values packed into one int32 of qweight / qzeros.
    int pack_factor() const { return 32 / bits; }
    // The group length for a linear with `in_features` inputs (resolves group_size -1).
    int64_t group_size_for(int64_t in_features) const { return group_size == -1 ? in_features : group_size; }
    // True when the linear named `module` (e.g. "model.layers.0.mlp.down_proj") stays unquantized:
    // AutoAWQ and transformers skip a module whose name contains any modules_to_not_convert entry.
    bool keeps_float(const std::string& module) const;

    // nullopt when the config has no quantization_config; throws awq::Error naming `source` for another
    // quant_method (e.g. "gptq") or a malformed AWQ entry (bits other than 4, group_size 0, ...).
    static std::optional<AwqQuantConfig> from_model_config(const nlohmann::json& config, const std::string& source);
};

}  // namespace awq
