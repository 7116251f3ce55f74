#pragma once
// Models with the shapes of real checkpoints and random weights made directly on the compute device, for
// speed and memory measurements (time does not depend on the values).
#include <memory>
#include <string>

#include "model/llama_model.h"

namespace awq::bench {

ModelConfig shape_config(const std::string& name);  // "llama2-7b", "smollm2-135m"
std::unique_ptr<LlamaModel> random_model(const std::string& shape, const ModelOptions& opt);

}  // namespace awq::bench
