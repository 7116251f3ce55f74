#pragma once
// Running AutoAWQ-format checkpoints (ours or anyone's; versions gemm and gemv): the LinearFactory that
// LlamaModel uses to build an AwqLinear from each quantized linear's qweight/qzeros/scales (+ bias). The
// weights stay packed in memory; the CPU path dequantizes each layer once, on first use.
#include "model/llama_model.h"

namespace awq {

class CheckpointFolder;

// For a folder with quantization_config (folder.is_awq()) whose weights passed validate_llama_weights.
// Returns null for linears kept float by modules_to_not_convert (LlamaModel then reads their .weight).
// Errors name the file and the layer. The folder must outlive the model's construction (tensors are copied).
LinearFactory awq_linear_factory(const CheckpointFolder& folder);

}  // namespace awq
