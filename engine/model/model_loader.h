#pragma once
// Everything needed to use a checkpoint: the model, its tokenizer, chat template and generation defaults.
// Accepts a Hugging Face folder (safetensors, single or sharded) or a GGUF file (dequantized on load).
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/model_config.h"
#include "core/progress.h"
#include "model/llama_model.h"

namespace awq {

class Tokenizer;
class ChatTemplate;

struct LoadedModel {
    std::string path;
    std::string format;  // "hf" or "gguf"
    ModelConfig config;
    std::unique_ptr<LlamaModel> model;
    std::unique_ptr<Tokenizer> tokenizer;
    std::unique_ptr<ChatTemplate> chat_template;  // null when the checkpoint has none
    std::string bos_token, eos_token;             // texts passed to the chat template
    std::vector<int32_t> eos_ids;                 // generation stops at any of these
    // AWQ checkpoints (empty for float ones): the in-memory 4-bit layout ("gemm", "gemv", "fast") and what the
    // quantized linears run: that layout's CUDA kernel ("gemm", ...), "dense" (dequantized once, at::linear: the
    // CPU, --kernel dense, float32 compute) or, when only some layers can use the kernel, e.g. "gemm (3 of 210
    // linears dense)".
    std::string awq_layout, kernel;

    LoadedModel();
    ~LoadedModel();
};

// Only the architecture config of a Hugging Face folder or GGUF file (cheap; validates like load_model).
ModelConfig read_model_config(const std::string& path);

// Choices that only apply to some checkpoints (ModelOptions applies to every model).
struct LoadOptions {
    // AWQ checkpoints: "" (the checkpoint's layout, its CUDA kernel on CUDA devices), "gemm", "gemv", "fast"
    // (repacked into that layout at load; its kernel on CUDA), "dense" (dequantize once, at::linear). See
    // AwqKernelChoice in quant/awq_import.h. Anything but "" on a float checkpoint is an error.
    std::string kernel;
    // Inference on CUDA (generate, chat, ppl): merge q/k/v and gate/up (LlamaModel::merge_projections) and launch
    // the fused decode kernels and the 4-bit kernels with programmatic dependent launch. Off: the unfused
    // reference decode step (for comparisons). Ignored on the CPU and with offload; never for quantization,
    // which needs the separate projections.
    bool fast_decode = false;
};

std::unique_ptr<LoadedModel> load_model(const std::string& path, const ModelOptions& options, const Progress& progress = {},
                                        const LoadOptions& load = {});

}  // namespace awq
