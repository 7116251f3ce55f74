#pragma once
// The sampling defaults a Hugging Face folder ships in generation_config.json. Every field is optional:
// a checkpoint that says nothing about top_k must not be given one silently.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace awq {

struct GenerationDefaults {
    std::optional<int64_t> bos_token_id;
    std::vector<int64_t> eos_token_ids;  // eos_token_id may be one id or a list
    std::optional<int64_t> pad_token_id;
    std::optional<bool> do_sample;
    std::optional<double> temperature;         // >= 0
    std::optional<int64_t> top_k;              // >= 0 (0 disables)
    std::optional<double> top_p;               // in [0, 1]
    std::optional<double> repetition_penalty;  // > 0
    std::optional<int64_t> max_new_tokens;     // >= 1
    std::optional<int64_t> max_length;         // >= 1 (prompt + new tokens)

    // A key that is absent or null stays unset; a key of the wrong type or out of range is an error
    // naming `source` and the key.
    static GenerationDefaults from_json(const nlohmann::json& j, const std::string& source);
    static GenerationDefaults from_file(const std::string& path);
};

}  // namespace awq
