#pragma once
// Running AutoAWQ-format checkpoints (ours or anyone's; versions gemm and gemv): the LinearFactory that
// LlamaModel uses to build an AwqLinear from each quantized linear's qweight/qzeros/scales (+ bias). The
// weights stay packed in memory; the CPU path dequantizes each layer once, on first use.
#include <string>

#include "model/llama_model.h"

namespace awq {

class CheckpointFolder;

// How the quantized linears of a checkpoint are built and run (the --kernel option).
struct AwqKernelChoice {
    // "": keep the checkpoint's layout and run its CUDA kernel where the layer allows (else the dense fallback);
    // "gemm", "gemv", "fast": repack into that layout (through the canonical form) and require its CUDA kernel
    // on CUDA devices (a layer it cannot run is an error); "dense": keep the layout, always the dense fallback.
    // On the CPU every choice computes with the dense fallback (bit for bit the same logits).
    std::string kernel;
    // Where the model computes; the factory's device argument is the CPU when blocks are offloaded.
    at::Device compute_device = at::Device(at::kCPU);
};

// For a folder with quantization_config (folder.is_awq()) whose weights passed validate_llama_weights.
// Returns null for linears kept float by modules_to_not_convert (LlamaModel then reads their .weight).
// Errors name the file and the layer. The folder must outlive the model's construction (tensors are copied).
LinearFactory awq_linear_factory(const CheckpointFolder& folder, const AwqKernelChoice& choice = {});

}  // namespace awq
