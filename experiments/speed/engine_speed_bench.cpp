// Prefill and decode speed of the engine, for a real checkpoint or for a model with given shapes and random
// weights (speed does not depend on the values). Prints one JSON object on stdout.
//   engine_speed_bench --model DIR | --shape llama2-7b|smollm2-135m  [--device cuda] [--dtype bfloat16]
//                      [--prompt-len 512] [--new-tokens 128] [--batch 1] [--reps 3]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <nlohmann/json.hpp>

#include "core/model_config.h"
#include "generate/generator.h"
#include "model/model_loader.h"
#include "../common/random_model.h"

using namespace awq;

namespace {

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
    std::string model_dir, shape, device = "cuda", dtype = "bfloat16";
    int64_t prompt_len = 512, new_tokens = 128, batch = 1, reps = 3;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string k = argv[i], v = argv[i + 1];
        if (k == "--model") model_dir = v;
        else if (k == "--shape") shape = v;
        else if (k == "--device") device = v;
        else if (k == "--dtype") dtype = v;
        else if (k == "--prompt-len") prompt_len = std::stoll(v);
        else if (k == "--new-tokens") new_tokens = std::stoll(v);
        else if (k == "--batch") batch = std::stoll(v);
        else if (k == "--reps") reps = std::stoll(v);
        else {
            std::fprintf(stderr, "unknown option %s\n", k.c_str());
            return 2;
        }
    }
    try {
        ModelOptions opt;
        opt.device = device;
        opt.dtype = dtype;
        std::unique_ptr<LoadedModel> lm;
        std::unique_ptr<LlamaModel> random_model;
        LlamaModel* model = nullptr;
        if (!model_dir.empty()) {
            lm = load_model(model_dir, opt);
            model = lm->model.get();
        } else {
            random_model = bench::random_model(shape, opt);
            model = random_model.get();
        }
        const int64_t V = model->config().vocab_size;
        std::vector<std::vector<int32_t>> prompts(batch, std::vector<int32_t>(prompt_len));
        for (int64_t b = 0; b < batch; ++b)
            for (int64_t i = 0; i < prompt_len; ++i) prompts[b][i] = (int32_t)((i * 7919 + b * 104729 + 13) % V);
        GenerationConfig g;
        g.max_new_tokens = new_tokens;
        // Warm-up (allocator, kernels' first launch), then timed repetitions.
        { GenerationConfig w = g; w.max_new_tokens = 8; GenerationStats s; generate_ids(*model, prompts, w, &s); }
        std::vector<double> prefill, decode;
        for (int64_t r = 0; r < reps; ++r) {
            GenerationStats s;
            generate_ids(*model, prompts, g, &s);
            prefill.push_back(s.prefill_tokens_per_s());
            decode.push_back(s.decode_tokens_per_s());
        }
        nlohmann::json out = {{"impl", "awqlab"}, {"model", model_dir.empty() ? shape : model_dir}, {"device", device},
                              {"dtype", dtype}, {"batch", batch}, {"prompt_len", prompt_len}, {"new_tokens", new_tokens},
                              {"prefill_tok_s", median(prefill)}, {"decode_tok_s", median(decode)},
                              {"prefill_runs", prefill}, {"decode_runs", decode}};
        std::printf("%s\n", out.dump().c_str());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
    return 0;
}
