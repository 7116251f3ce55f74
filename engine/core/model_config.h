#pragma once
// The architecture hyper-parameters of a Llama-family checkpoint, read from a Hugging Face config.json
// (or built from GGUF metadata) and validated once, so the model code can trust every field.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace awq {

// Supported: LlamaForCausalLM (incl. Llama 3 "llama3" rope scaling), MistralForCausalLM, Qwen2ForCausalLM.
bool is_supported_architecture(const std::string& architecture);

struct RopeScaling {
    std::string type;  // "" (none), "llama3", "linear"
    double factor = 1.0;
    double low_freq_factor = 1.0;
    double high_freq_factor = 4.0;
    int64_t original_max_position_embeddings = 8192;
};

struct ModelConfig {
    std::string architecture;  // e.g. "LlamaForCausalLM"
    std::string model_type;    // "llama", "mistral", "qwen2"
    int64_t vocab_size = 0;
    int64_t hidden_size = 0;
    int64_t intermediate_size = 0;
    int64_t num_hidden_layers = 0;
    int64_t num_attention_heads = 0;
    int64_t num_key_value_heads = 0;
    int64_t head_dim = 0;  // defaults to hidden_size / num_attention_heads
    int64_t max_position_embeddings = 2048;
    double rms_norm_eps = 1e-6;
    double rope_theta = 10000.0;
    RopeScaling rope_scaling;
    bool tie_word_embeddings = false;
    bool attention_bias = false;  // bias on q/k/v (Qwen2 always; Llama when attention_bias=true)
    bool o_proj_bias = false;     // Llama attention_bias=true also puts a bias on o_proj; Qwen2 does not
    bool mlp_bias = false;
    std::string torch_dtype = "float32";
    std::optional<int64_t> bos_token_id;
    std::vector<int64_t> eos_token_ids;
    std::optional<int64_t> pad_token_id;
    nlohmann::json raw;  // the whole original config (kept for export, e.g. quantization_config)

    // Validates every field; `source` (a path) is named in errors such as "missing key 'hidden_size'",
    // "unsupported architecture 'GPT2LMHeadModel'".
    static ModelConfig from_json(const nlohmann::json& j, const std::string& source);
    static ModelConfig from_file(const std::string& config_json_path);
    // A config.json that transformers loads: the raw fields updated with ours.
    nlohmann::json to_json() const;
};

}  // namespace awq
