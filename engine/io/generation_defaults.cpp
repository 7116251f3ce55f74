#include "io/generation_defaults.h"

#include <fstream>

#include "core/error.h"

namespace awq {

namespace {

bool present(const nlohmann::json& j, const char* key) { return j.contains(key) && !j[key].is_null(); }

std::optional<int64_t> opt_int(const nlohmann::json& j, const char* key, int64_t min, const std::string& src) {
    if (!present(j, key)) return std::nullopt;
    if (!j[key].is_number_integer()) throw Error(src, std::string("key '") + key + "' must be an integer");
    int64_t v = j[key].get<int64_t>();
    if (v < min)
        throw Error(src, std::string("key '") + key + "' must be at least " + std::to_string(min) + ", got " +
                             std::to_string(v));
    return v;
}

std::optional<double> opt_number(const nlohmann::json& j, const char* key, const std::string& src) {
    if (!present(j, key)) return std::nullopt;
    if (!j[key].is_number()) throw Error(src, std::string("key '") + key + "' must be a number");
    return j[key].get<double>();
}

[[noreturn]] void out_of_range(const char* key, double v, const char* want, const std::string& src) {
    throw Error(src, std::string("key '") + key + "' must be " + want + ", got " + nlohmann::json(v).dump());
}

}  // namespace

GenerationDefaults GenerationDefaults::from_json(const nlohmann::json& j, const std::string& src) {
    if (!j.is_object()) throw Error(src, "generation config is not a JSON object");
    GenerationDefaults g;
    g.bos_token_id = opt_int(j, "bos_token_id", 0, src);
    g.pad_token_id = opt_int(j, "pad_token_id", 0, src);
    if (present(j, "eos_token_id")) {
        const auto& e = j["eos_token_id"];
        auto take = [&](const nlohmann::json& v) {
            if (!v.is_number_integer() || v.get<int64_t>() < 0)
                throw Error(src, "key 'eos_token_id' must be a non-negative integer or a list of them");
            g.eos_token_ids.push_back(v.get<int64_t>());
        };
        if (e.is_array()) {
            for (const auto& v : e) take(v);
        } else {
            take(e);
        }
    }
    if (present(j, "do_sample")) {
        if (!j["do_sample"].is_boolean()) throw Error(src, "key 'do_sample' must be true or false");
        g.do_sample = j["do_sample"].get<bool>();
    }
    g.temperature = opt_number(j, "temperature", src);
    if (g.temperature && !(*g.temperature >= 0)) out_of_range("temperature", *g.temperature, ">= 0", src);
    g.top_k = opt_int(j, "top_k", 0, src);
    g.top_p = opt_number(j, "top_p", src);
    if (g.top_p && !(*g.top_p >= 0 && *g.top_p <= 1)) out_of_range("top_p", *g.top_p, "in [0, 1]", src);
    g.repetition_penalty = opt_number(j, "repetition_penalty", src);
    if (g.repetition_penalty && !(*g.repetition_penalty > 0))
        out_of_range("repetition_penalty", *g.repetition_penalty, "> 0", src);
    g.max_new_tokens = opt_int(j, "max_new_tokens", 1, src);
    g.max_length = opt_int(j, "max_length", 1, src);
    return g;
}

GenerationDefaults GenerationDefaults::from_file(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw Error(path, "cannot open generation config");
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
        throw Error(path, std::string("invalid JSON: ") + e.what());
    }
    return from_json(j, path);
}

}  // namespace awq
