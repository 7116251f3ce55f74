#include "io/awq_quant_config.h"

#include <cctype>

#include "core/error.h"

namespace awq {

bool AwqQuantConfig::keeps_float(const std::string& module) const {
    for (const auto& key : modules_to_not_convert)
        if (!key.empty() && module.find(key) != std::string::npos) return true;
    return false;
}

std::optional<AwqQuantConfig> AwqQuantConfig::from_model_config(const nlohmann::json& config, const std::string& src) {
    if (!config.is_object() || !config.contains("quantization_config") || config["quantization_config"].is_null())
        return std::nullopt;
    const auto& q = config["quantization_config"];
    if (!q.is_object()) throw Error(src, "'quantization_config' is not a JSON object");
    if (!q.contains("quant_method") || !q["quant_method"].is_string())
        throw Error(src, "'quantization_config' has no 'quant_method'");
    std::string method = q["quant_method"].get<std::string>();
    if (method != "awq")
        throw Error(src, "quantization method '" + method + "' is not supported (only awq)");

    AwqQuantConfig c;
    // transformers spells the fields bits/group_size; AutoAWQ's own quant_config used w_bit/q_group_size.
    auto pick = [&](const char* a, const char* b) -> const nlohmann::json* {
        if (q.contains(a) && !q[a].is_null()) return &q[a];
        if (q.contains(b) && !q[b].is_null()) return &q[b];
        return nullptr;
    };
    if (const auto* v = pick("bits", "w_bit")) {
        if (!v->is_number_integer()) throw Error(src, "quantization_config.bits must be an integer");
        c.bits = v->get<int>();
    }
    if (c.bits != 4)
        throw Error(src, "quantization_config.bits " + std::to_string(c.bits) + " is not supported (AWQ packs 4-bit)");
    if (const auto* v = pick("group_size", "q_group_size")) {
        if (!v->is_number_integer()) throw Error(src, "quantization_config.group_size must be an integer");
        c.group_size = v->get<int64_t>();
    }
    if (c.group_size <= 0 && c.group_size != -1)
        throw Error(src, "quantization_config.group_size must be positive or -1, got " + std::to_string(c.group_size));
    if (q.contains("zero_point") && !q["zero_point"].is_null()) {
        if (!q["zero_point"].is_boolean()) throw Error(src, "quantization_config.zero_point must be true or false");
        c.zero_point = q["zero_point"].get<bool>();
    }
    if (q.contains("version") && !q["version"].is_null()) {
        if (!q["version"].is_string()) throw Error(src, "quantization_config.version must be a string");
        c.version = q["version"].get<std::string>();
        for (char& ch : c.version) ch = (char)std::tolower((unsigned char)ch);  // AutoAWQ wrote "GEMM"
    }
    if (q.contains("modules_to_not_convert") && !q["modules_to_not_convert"].is_null()) {
        const auto& m = q["modules_to_not_convert"];
        if (!m.is_array()) throw Error(src, "quantization_config.modules_to_not_convert must be a list of strings");
        for (const auto& s : m) {
            if (!s.is_string()) throw Error(src, "quantization_config.modules_to_not_convert must be a list of strings");
            c.modules_to_not_convert.push_back(s.get<std::string>());
        }
    }
    return c;
}

}  // namespace awq
