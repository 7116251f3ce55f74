#include "core/model_config.h"

#include <fstream>

#include "core/error.h"

namespace awq {

bool is_supported_architecture(const std::string& a) {
    return a == "LlamaForCausalLM" || a == "MistralForCausalLM" || a == "Qwen2ForCausalLM";
}

namespace {

int64_t require_int(const nlohmann::json& j, const char* key, const std::string& src) {
    if (!j.contains(key) || j[key].is_null()) throw Error(src, std::string("missing key '") + key + "'");
    if (!j[key].is_number_integer()) throw Error(src, std::string("key '") + key + "' must be an integer");
    int64_t v = j[key].get<int64_t>();
    if (v <= 0) throw Error(src, std::string("key '") + key + "' must be positive, got " + std::to_string(v));
    return v;
}

double opt_number(const nlohmann::json& j, const char* key, double def, const std::string& src) {
    if (!j.contains(key) || j[key].is_null()) return def;
    if (!j[key].is_number()) throw Error(src, std::string("key '") + key + "' must be a number");
    return j[key].get<double>();
}

std::vector<int64_t> ids_of(const nlohmann::json& v) {
    std::vector<int64_t> out;
    if (v.is_number_integer()) out.push_back(v.get<int64_t>());
    else if (v.is_array())
        for (auto& e : v)
            if (e.is_number_integer()) out.push_back(e.get<int64_t>());
    return out;
}

}  // namespace

ModelConfig ModelConfig::from_json(const nlohmann::json& j, const std::string& src) {
    if (!j.is_object()) throw Error(src, "config is not a JSON object");
    ModelConfig c;
    c.raw = j;
    if (!j.contains("architectures") || !j["architectures"].is_array() || j["architectures"].empty() ||
        !j["architectures"][0].is_string())
        throw Error(src, "missing key 'architectures'");
    c.architecture = j["architectures"][0].get<std::string>();
    if (!is_supported_architecture(c.architecture))
        throw Error(src, "unsupported architecture '" + c.architecture +
                             "' (supported: LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM)");
    c.model_type = j.value("model_type", std::string());
    c.vocab_size = require_int(j, "vocab_size", src);
    c.hidden_size = require_int(j, "hidden_size", src);
    c.intermediate_size = require_int(j, "intermediate_size", src);
    c.num_hidden_layers = require_int(j, "num_hidden_layers", src);
    c.num_attention_heads = require_int(j, "num_attention_heads", src);
    c.num_key_value_heads = j.contains("num_key_value_heads") && !j["num_key_value_heads"].is_null()
                                ? require_int(j, "num_key_value_heads", src)
                                : c.num_attention_heads;
    if (j.contains("head_dim") && !j["head_dim"].is_null()) c.head_dim = require_int(j, "head_dim", src);
    else {
        if (c.hidden_size % c.num_attention_heads != 0)
            throw Error(src, "hidden_size " + std::to_string(c.hidden_size) + " is not divisible by num_attention_heads " +
                                 std::to_string(c.num_attention_heads));
        c.head_dim = c.hidden_size / c.num_attention_heads;
    }
    if (c.num_attention_heads % c.num_key_value_heads != 0)
        throw Error(src, "num_attention_heads " + std::to_string(c.num_attention_heads) +
                             " is not a multiple of num_key_value_heads " + std::to_string(c.num_key_value_heads));
    if (c.head_dim % 2 != 0) throw Error(src, "head_dim must be even for rotary embeddings");
    if (j.contains("max_position_embeddings")) c.max_position_embeddings = require_int(j, "max_position_embeddings", src);
    c.rms_norm_eps = opt_number(j, "rms_norm_eps", 1e-6, src);
    c.rope_theta = opt_number(j, "rope_theta", 10000.0, src);
    // transformers 5 moved rope settings under "rope_parameters"; accept both spellings.
    nlohmann::json rs = nullptr;
    if (j.contains("rope_scaling") && j["rope_scaling"].is_object()) rs = j["rope_scaling"];
    else if (j.contains("rope_parameters") && j["rope_parameters"].is_object()) rs = j["rope_parameters"];
    if (rs.is_object()) {
        if (rs.contains("rope_theta")) c.rope_theta = opt_number(rs, "rope_theta", c.rope_theta, src);
        std::string type = rs.value("rope_type", rs.value("type", std::string("default")));
        if (type == "default" || type.empty()) {
        } else if (type == "llama3" || type == "linear") {
            c.rope_scaling.type = type;
            c.rope_scaling.factor = opt_number(rs, "factor", 1.0, src);
            c.rope_scaling.low_freq_factor = opt_number(rs, "low_freq_factor", 1.0, src);
            c.rope_scaling.high_freq_factor = opt_number(rs, "high_freq_factor", 4.0, src);
            c.rope_scaling.original_max_position_embeddings =
                (int64_t)opt_number(rs, "original_max_position_embeddings", 8192, src);
        } else {
            throw Error(src, "unsupported rope scaling type '" + type + "' (supported: llama3, linear)");
        }
    }
    c.tie_word_embeddings = j.value("tie_word_embeddings", false);
    if (c.architecture == "Qwen2ForCausalLM") {
        c.attention_bias = true;
    } else {
        c.attention_bias = j.value("attention_bias", false);
        c.o_proj_bias = c.attention_bias;
    }
    c.mlp_bias = j.value("mlp_bias", false);
    if (j.contains("torch_dtype") && j["torch_dtype"].is_string()) c.torch_dtype = j["torch_dtype"];
    else if (j.contains("dtype") && j["dtype"].is_string()) c.torch_dtype = j["dtype"];
    if (j.contains("bos_token_id") && j["bos_token_id"].is_number_integer()) c.bos_token_id = j["bos_token_id"].get<int64_t>();
    if (j.contains("eos_token_id")) c.eos_token_ids = ids_of(j["eos_token_id"]);
    if (j.contains("pad_token_id") && j["pad_token_id"].is_number_integer()) c.pad_token_id = j["pad_token_id"].get<int64_t>();
    return c;
}

ModelConfig ModelConfig::from_file(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw Error(path, "cannot open config file");
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
        throw Error(path, std::string("invalid JSON: ") + e.what());
    }
    return from_json(j, path);
}

nlohmann::json ModelConfig::to_json() const {
    nlohmann::json j = raw.is_object() ? raw : nlohmann::json::object();
    j["architectures"] = {architecture};
    j["model_type"] = model_type;
    j["vocab_size"] = vocab_size;
    j["hidden_size"] = hidden_size;
    j["intermediate_size"] = intermediate_size;
    j["num_hidden_layers"] = num_hidden_layers;
    j["num_attention_heads"] = num_attention_heads;
    j["num_key_value_heads"] = num_key_value_heads;
    j["head_dim"] = head_dim;
    j["max_position_embeddings"] = max_position_embeddings;
    j["rms_norm_eps"] = rms_norm_eps;
    j["rope_theta"] = rope_theta;
    if (rope_scaling.type.empty()) {
        j["rope_scaling"] = nullptr;
    } else {
        j["rope_scaling"] = {{"rope_type", rope_scaling.type},
                             {"factor", rope_scaling.factor},
                             {"low_freq_factor", rope_scaling.low_freq_factor},
                             {"high_freq_factor", rope_scaling.high_freq_factor},
                             {"original_max_position_embeddings", rope_scaling.original_max_position_embeddings}};
    }
    j["tie_word_embeddings"] = tie_word_embeddings;
    if (architecture != "Qwen2ForCausalLM") j["attention_bias"] = attention_bias;
    j["mlp_bias"] = mlp_bias;
    j["torch_dtype"] = torch_dtype;
    if (bos_token_id) j["bos_token_id"] = *bos_token_id;
    if (eos_token_ids.size() == 1) j["eos_token_id"] = eos_token_ids[0];
    else if (!eos_token_ids.empty()) j["eos_token_id"] = eos_token_ids;
    if (pad_token_id) j["pad_token_id"] = *pad_token_id;
    return j;
}

}  // namespace awq
