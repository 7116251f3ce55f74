#include "io/gguf_vocab_reader.h"

#include <limits>

#include "core/error.h"

namespace awq {

GgufVocab read_gguf_vocab(const GgufReader& g) {
    GgufVocab v;
    v.model = g.get_string("tokenizer.ggml.model");
    // llama.cpp treats a missing pre-tokenizer name as its "default" one.
    v.pre = g.get_string_opt("tokenizer.ggml.pre").value_or("default");
    v.tokens = g.get_string_array("tokenizer.ggml.tokens");
    const size_t n = v.tokens.size();
    if (n == 0) throw Error(g.path(), "metadata key 'tokenizer.ggml.tokens' is empty");

    if (g.has("tokenizer.ggml.scores")) {
        for (double s : g.get_float_array("tokenizer.ggml.scores")) v.scores.push_back(static_cast<float>(s));
        if (v.scores.size() != n)
            throw Error(g.path(), "tokenizer.ggml.scores has " + std::to_string(v.scores.size()) + " entries but there are " +
                                      std::to_string(n) + " tokens");
    }
    if (g.has("tokenizer.ggml.token_type")) {
        for (int64_t t : g.get_int_array("tokenizer.ggml.token_type")) {
            if (t < std::numeric_limits<int32_t>::min() || t > std::numeric_limits<int32_t>::max())
                throw Error(g.path(), "tokenizer.ggml.token_type value " + std::to_string(t) + " is out of range");
            v.token_types.push_back(static_cast<int32_t>(t));
        }
        if (v.token_types.size() != n)
            throw Error(g.path(), "tokenizer.ggml.token_type has " + std::to_string(v.token_types.size()) +
                                      " entries but there are " + std::to_string(n) + " tokens");
    }
    if (g.has("tokenizer.ggml.merges")) v.merges = g.get_string_array("tokenizer.ggml.merges");

    auto id = [&](const char* key) -> std::optional<int64_t> {
        std::optional<int64_t> i = g.get_int_opt(key);
        if (i && (*i < 0 || *i >= static_cast<int64_t>(n)))
            throw Error(g.path(), std::string("metadata key '") + key + "' = " + std::to_string(*i) +
                                      " is not a token id (vocabulary has " + std::to_string(n) + " tokens)");
        return i;
    };
    v.bos_id = id("tokenizer.ggml.bos_token_id");
    v.eos_id = id("tokenizer.ggml.eos_token_id");
    v.unk_id = id("tokenizer.ggml.unknown_token_id");
    v.pad_id = id("tokenizer.ggml.padding_token_id");
    v.add_bos = g.get_bool_opt("tokenizer.ggml.add_bos_token");
    v.add_eos = g.get_bool_opt("tokenizer.ggml.add_eos_token");
    v.chat_template = g.get_string_opt("tokenizer.chat_template").value_or("");
    return v;
}

}  // namespace awq
