#pragma once
// GGUF (llama.cpp) -> Hugging Face folder: model.safetensors (dequantized, q/k rows restored to the HF
// layout), config.json, generation_config.json, tokenizer.json, tokenizer_config.json.
#include <string>

#include "core/progress.h"

namespace awq {

// dtype: "float16", "bfloat16" (or "float32"). The folder appears atomically: everything is written into a
// temporary sibling folder that is renamed to `out_dir` at the end, so an error or a cancel (awq::Cancelled)
// leaves nothing behind. `out_dir` must not exist or be empty. Every tensor is checked against the config
// (names, shapes, completeness) before anything is written.
void convert_gguf_to_hf(const std::string& gguf_path, const std::string& out_dir, const std::string& dtype,
                        const Progress& progress = {});

}  // namespace awq
