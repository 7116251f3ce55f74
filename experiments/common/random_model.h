#pragma once
// Models with the shapes of real checkpoints and random weights made directly on the compute device, for
// speed and memory measurements (time does not depend on the values).
#include <cstdint>
#include <memory>
#include <string>

#include "model/llama_model.h"
#include "quant/awq_packing.h"

namespace awq::bench {

ModelConfig shape_config(const std::string& name);  // "llama2-7b", "smollm2-135m"
// Dense weights in the compute dtype; `linears` (optional) replaces the block linears (see random_awq_linears).
std::unique_ptr<LlamaModel> random_model(const std::string& shape, const ModelOptions& opt,
                                         const LinearFactory& linears = {});

// Block linears stored 4-bit in `layout` (zero points, `group`), as AwqLinear: random packed words, random
// fp16 scales in [1e-3, 1e-2] and random zeros, made on the device and distinct for every layer (shared weights
// would sit in L2 and flatter the speed). The packed shapes come from pack_w4 on an all-zero weight of each
// distinct (out, in), so they follow the layouts as defined in one place.
LinearFactory random_awq_linears(const ModelConfig& cfg, AwqLayout layout, int64_t group);

}  // namespace awq::bench
