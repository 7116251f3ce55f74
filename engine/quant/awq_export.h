#pragma once
// Writes a quantized model as an AutoAWQ-format Hugging Face folder that transformers, vLLM and AutoAWQ load:
//   model.safetensors  for each quantized linear X: X.qweight int32, X.qzeros int32, X.scales fp16 (+ X.bias
//                      fp16) in the AutoAWQ layout of cfg.version ("gemm" or "gemv"); every other tensor
//                      (embeddings, the norms as they are in the model, i.e. with AWQ's scales folded in,
//                      lm_head unless tied, linears kept float by modules_to_not_convert) as fp16
//   config.json        the model's config, torch_dtype float16, and quantization_config {quant_method "awq",
//                      bits, group_size, zero_point, version, modules_to_not_convert}
//   tokenizer files, chat_template.jinja, generation_config.json copied from the source (made from the
//                      vocabulary when the source is a GGUF file; a minimal generation config when absent)
//   awqlab.json        our provenance: tool version, the full QuantConfig, the calibration summary
// The folder appears atomically: a cancel (awq::Cancelled) or an error leaves nothing behind.
// Float tensors are stored as fp16 (as AutoAWQ stores them), so re-importing gives bit-identical logits to the
// in-memory model whenever its float tensors hold fp16 values (a model computing in fp16, or in fp32 with
// fp16-valued norms/embeddings); the quantized linears are exact in any compute dtype.
//
// What is refused, rather than written in a form some loader reads wrong:
// - w_bit other than 4: every AutoAWQ format packs 4-bit values (w3 models can be evaluated, not exported).
// - version "fast": our kernel layout exists in memory only (AwqLinear repacks gemm/gemv into it); no other
//   tool reads it, and vLLM ignores `version`, so a file in it could be misread. Export gemm instead.
// - modules_to_not_convert entries that the loaders would apply differently: AutoAWQ and vLLM match them as
//   substrings of the module name, transformers (5.x) as a prefix ending at a module boundary or a suffix; an
//   entry that keeps a linear float under one rule but not the other is an error naming both.
// Symmetric quantization (zero_point = false) is exported with every zero point stored as 8 and
// quantization_config.zero_point = true: AutoAWQ's loader and vLLM's AWQ kernels always apply the stored
// zeros (and vLLM's fast Marlin path needs zero_point = true), so this is the form all of them compute
// exactly; awqlab.json records that the quantizer ran symmetric. AutoAWQ itself cannot export symmetric
// checkpoints (its packers require zero points).
// "gemv" checkpoints load in AutoAWQ and transformers (format gemv) but not in vLLM, which only reads gemm.
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/model_config.h"
#include "core/progress.h"
#include "quant/awq_evidence.h"
#include "quant/quant_config.h"
#include "quant/quantized_weight.h"

namespace awq {

class LlamaModel;

// The linears of a Llama-family model in checkpoint order: "model.layers.0.self_attn.q_proj", ...
std::vector<std::string> llama_linear_names(const ModelConfig& config);

// True when `module` stays float under `patterns` (the substring rule of AutoAWQ, vLLM and our loader).
// Throws awq::Error("--modules-to-not-convert", ...) when transformers' rule decides differently for it, or
// when a pattern is not a plain module name (letters, digits, '_', '.', '-').
bool kept_float_for_export(const std::string& module, const std::vector<std::string>& patterns);

// Everything that can be checked before quantizing (so a run that cannot be exported fails in seconds, not
// after hours): cfg valid, w_bit 4, version gemm/gemv, every quantized linear's shape fits the layout and
// its group size, modules_to_not_convert unambiguous, at least one linear quantized.
void check_awq_exportable(const ModelConfig& model, const QuantConfig& cfg);

// The full QuantConfig as JSON (awqlab.json, evidence files).
nlohmann::json quant_config_json(const QuantConfig& cfg);

// `linears`: the quantized weight of every linear not kept float, keyed by module name (e.g.
// "model.layers.3.mlp.up_proj"); a bias there wins over the model's. `source`: the original Hugging Face
// folder (or GGUF file) the tokenizer and generation config come from. `calibration`: stored in awqlab.json
// as given (null when unknown). `out_dir` must not exist or be empty.
void export_awq_checkpoint(LlamaModel& model, const std::map<std::string, QuantizedWeight>& linears,
                           const QuantConfig& cfg, const std::string& source, const std::string& out_dir,
                           const Progress& progress = {}, const nlohmann::json& calibration = nullptr,
                           const QuantEvidence* evidence = nullptr);  // saved as awq_evidence.safetensors inside the folder

}  // namespace awq
