#include <cstdio>
#include <filesystem>

#include "commands.h"
#include "core/model_config.h"
#include "io/checkpoint_folder.h"
#include "io/gguf_model_config.h"
#include "io/gguf_reader.h"
#include "io/gguf_vocab_reader.h"

namespace awq::cli {

namespace {

int64_t parameter_count(const ModelConfig& c) {
    const int64_t h = c.hidden_size, kv = c.num_key_value_heads * c.head_dim, q = c.num_attention_heads * c.head_dim;
    int64_t per_layer = h * q + 2 * h * kv + q * h + 3 * h * c.intermediate_size + 2 * h;
    if (c.attention_bias) per_layer += q + 2 * kv;
    int64_t n = c.num_hidden_layers * per_layer + c.vocab_size * h + h;
    if (!c.tie_word_embeddings) n += c.vocab_size * h;
    return n;
}

void print_config(const ModelConfig& c) {
    std::printf("architecture      %s\n", c.architecture.c_str());
    std::printf("parameters        %.1f M\n", parameter_count(c) / 1e6);
    std::printf("layers            %lld\n", (long long)c.num_hidden_layers);
    std::printf("hidden size       %lld\n", (long long)c.hidden_size);
    std::printf("intermediate size %lld\n", (long long)c.intermediate_size);
    std::printf("attention heads   %lld (kv heads %lld, head dim %lld)\n", (long long)c.num_attention_heads,
                (long long)c.num_key_value_heads, (long long)c.head_dim);
    std::printf("vocabulary        %lld\n", (long long)c.vocab_size);
    std::printf("context length    %lld\n", (long long)c.max_position_embeddings);
    std::printf("rope theta        %g%s\n", c.rope_theta,
                c.rope_scaling.type.empty() ? "" : (" (" + c.rope_scaling.type + " scaling)").c_str());
    std::printf("tied embeddings   %s\n", c.tie_word_embeddings ? "yes" : "no");
}

}  // namespace

void add_info_command(CLI::App& app, Context&) {
    auto path = std::make_shared<std::string>();
    auto* cmd = app.add_subcommand("info", "Describe a checkpoint (Hugging Face folder or GGUF file)");
    cmd->add_option("model", *path, "Hugging Face model folder or .gguf file")->required();
    cmd->callback([path] {
        if (std::filesystem::is_directory(*path)) {
            CheckpointFolder f(*path);
            std::printf("format            Hugging Face folder (%s%zu tensors)\n", f.is_sharded() ? "sharded, " : "",
                        f.tensor_count());
            print_config(f.config());
            std::printf("dtype             %s\n", f.config().torch_dtype.c_str());
            if (f.is_awq()) {
                const auto& q = *f.awq();
                std::printf("quantization      AWQ w%d g%d %s, version %s\n", (int)q.bits, (int)q.group_size,
                            q.zero_point ? "zero-point" : "symmetric", q.version.c_str());
            }
        } else {
            GgufReader g(*path);
            std::printf("format            GGUF v%u (%zu tensors)\n", g.version(), g.tensors().size());
            print_config(model_config_from_gguf(g));
            GgufVocab v = read_gguf_vocab(g);
            std::printf("tokenizer         %s (pre %s), %zu tokens\n", v.model.c_str(), v.pre.c_str(), v.tokens.size());
            std::printf("chat template     %s\n", v.chat_template.empty() ? "none" : "yes");
        }
    });
}

}  // namespace awq::cli
