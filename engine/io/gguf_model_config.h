#pragma once
// Architecture hyper-parameters from GGUF metadata (`<arch>.*` keys), expressed as the Hugging Face
// config.json a converted model would carry.
#include <string>

#include "core/model_config.h"
#include "io/gguf_reader.h"

namespace awq {

// general.architecture "llama" -> LlamaForCausalLM, "qwen2" -> Qwen2ForCausalLM; anything else is
// "unsupported architecture 'X'". Errors name the GGUF file and the metadata key at fault.
ModelConfig model_config_from_gguf(const GgufReader& gguf);

// The `general.architecture` value after checking it is one of the supported ones.
std::string gguf_architecture(const GgufReader& gguf);

}  // namespace awq
