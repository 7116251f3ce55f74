// Quantization time and peak memory on a model with real shapes and random weights (cost does not depend
// on the values): total, per block, scale search and clip search. Prints one JSON object.
//   awq_quant_bench --shape llama2-7b --device cuda --dtype float16 [--samples 128] [--seqlen 512]
//                   [--w-bit 4] [--group-size 128] [--method awq] [--offload 1] [--blocks N]
#include <cstdio>
#include <string>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "../common/random_model.h"
#include "model/device_memory.h"
#include "quant/awq_quantizer.h"

using namespace awq;

int main(int argc, char** argv) {
    std::string shape = "llama2-7b";
    ModelOptions opt;
    opt.device = "cuda";
    opt.dtype = "float16";
    QuantConfig q;
    int64_t samples = 128, seqlen = 512;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string k = argv[i], v = argv[i + 1];
        if (k == "--shape") shape = v;
        else if (k == "--device") opt.device = v;
        else if (k == "--dtype") opt.dtype = v;
        else if (k == "--offload") opt.offload = v == "1";
        else if (k == "--samples") samples = std::stoll(v);
        else if (k == "--seqlen") seqlen = std::stoll(v);
        else if (k == "--w-bit") q.w_bit = std::stoi(v);
        else if (k == "--group-size") q.group_size = std::stoll(v);
        else if (k == "--method") q.method = v;
        else {
            std::fprintf(stderr, "unknown option %s\n", k.c_str());
            return 2;
        }
    }
    try {
        auto model = bench::random_model(shape, opt);
        at::manual_seed(0);
        at::Tensor ids = at::randint(0, model->config().vocab_size, {samples, seqlen}, at::kLong);
        QuantizeResult r = quantize_model(*model, ids, q);
        nlohmann::json out = {{"shape", shape}, {"device", opt.device}, {"dtype", opt.dtype}, {"offload", opt.offload},
                              {"method", q.method}, {"w_bit", q.w_bit}, {"group_size", q.group_size},
                              {"samples", samples}, {"seqlen", seqlen}, {"seconds", r.stats.seconds},
                              {"scale_search_seconds", r.stats.scale_search_seconds},
                              {"clip_search_seconds", r.stats.clip_search_seconds},
                              {"block_seconds", r.stats.block_seconds},
                              {"peak_device_gib", r.stats.peak_device_bytes / 1073741824.0},
                              {"peak_host_gib", r.stats.peak_host_bytes / 1073741824.0},
                              {"model_weight_gib", model->weight_bytes() / 1073741824.0}};
        std::printf("%s\n", out.dump().c_str());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
    return 0;
}
