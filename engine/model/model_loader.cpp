#include "model/model_loader.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <unordered_map>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "chat/chat_template.h"
#include "convert/gguf_hf_tensors.h"
#include "core/error.h"
#include "io/checkpoint_folder.h"
#include "io/gguf_model_config.h"
#include "io/gguf_reader.h"
#include "io/gguf_vocab_reader.h"
#include "io/llama_weight_layout.h"
#include "quant/awq_cuda_kernels.h"
#include "quant/awq_import.h"
#include "quant/awq_linear.h"
#include "tokenizer/tokenizer.h"

namespace fs = std::filesystem;

namespace awq {

LoadedModel::LoadedModel() = default;
LoadedModel::~LoadedModel() = default;

namespace {

at::ScalarType torch_dtype_of(const TensorView& v) {
    switch (v.dtype) {
        case DType::F32: return at::kFloat;
        case DType::F16: return at::kHalf;
        case DType::BF16: return at::kBFloat16;
        case DType::F64: return at::kDouble;
        default: throw Error(v.file, "tensor '" + v.name + "' has dtype " + dtype_name(v.dtype) + ", expected a float type");
    }
}

// Copies out of the mapping: the mapped bytes are read-only and not necessarily aligned.
at::Tensor tensor_from_view(const TensorView& v) {
    at::Tensor t = at::empty(v.shape, at::TensorOptions().dtype(torch_dtype_of(v)));
    std::memcpy(t.data_ptr(), v.data, v.nbytes);
    return t;
}

// A special token's text in tokenizer_config.json: a string or {"content": "..."}.
std::string token_text(const nlohmann::json& j, const char* key) {
    if (!j.contains(key)) return "";
    const auto& v = j[key];
    if (v.is_string()) return v.get<std::string>();
    if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"].get<std::string>();
    return "";
}

nlohmann::json read_json(const fs::path& p) {
    std::ifstream in(p);
    if (!in) throw Error(p.string(), "cannot open");
    try {
        return nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
        throw Error(p.string(), std::string("invalid JSON: ") + e.what());
    }
}

// tokenizer_config.json "chat_template" may be one string or a list of {name, template}; newer
// transformers write chat_template.jinja beside it instead.
std::string chat_template_source(const fs::path& dir, const nlohmann::json& tok_cfg) {
    if (fs::exists(dir / "chat_template.jinja")) {
        std::ifstream in(dir / "chat_template.jinja");
        return std::string(std::istreambuf_iterator<char>(in), {});
    }
    if (!tok_cfg.contains("chat_template")) return "";
    const auto& c = tok_cfg["chat_template"];
    if (c.is_string()) return c.get<std::string>();
    if (c.is_array())
        for (const auto& e : c)
            if (e.value("name", "") == "default" && e.contains("template")) return e["template"].get<std::string>();
    return "";
}

const char* kNotAwq = "not an AWQ checkpoint; quantize it first with awqlab-cli quantize (--kernel applies to 4-bit models)";

// What the AWQ linears of a loaded model run (LoadedModel::awq_layout, kernel).
void describe_awq_linears(LoadedModel& lm, bool kernels_installed) {
    int64_t total = 0, dense = 0;
    std::string layout;
    LlamaModel& m = *lm.model;
    for (int64_t i = 0; i < m.num_blocks(); ++i)
        for (int s = 0; s < kNumLinearSlots; ++s) {
            const auto* a = dynamic_cast<const AwqLinear*>(&m.block(i).linear((LinearSlot)s));
            if (!a) continue;
            ++total;
            if (layout.empty()) layout = awq_layout_name(a->layout());
            if (!kernels_installed || !a->kernel_enabled()) ++dense;
        }
    lm.awq_layout = layout;
    if (total == 0 || dense == total) lm.kernel = "dense";
    else if (dense == 0) lm.kernel = layout;
    else lm.kernel = layout + " (" + std::to_string(dense) + " of " + std::to_string(total) + " linears dense)";
}

void add_unique(std::vector<int32_t>& v, int64_t id) {
    if (id >= 0 && std::find(v.begin(), v.end(), (int32_t)id) == v.end()) v.push_back((int32_t)id);
}

std::unique_ptr<LoadedModel> load_hf(const std::string& path, const ModelOptions& opt, const LoadOptions& load,
                                     const Progress& progress) {
    auto lm = std::make_unique<LoadedModel>();
    lm->path = path;
    lm->format = "hf";
    CheckpointFolder folder(path);
    if (!load.kernel.empty() && !folder.is_awq()) throw Error(path, kNotAwq);
    validate_llama_weights(folder);  // for AWQ folders: the packed tensors of the declared version, too
    lm->config = folder.config();
    lm->tokenizer = Tokenizer::from_hf_folder(path);

    nlohmann::json tok_cfg = nlohmann::json::object();
    const fs::path dir(path);
    if (fs::exists(dir / "tokenizer_config.json")) tok_cfg = read_json(dir / "tokenizer_config.json");
    lm->bos_token = token_text(tok_cfg, "bos_token");
    lm->eos_token = token_text(tok_cfg, "eos_token");
    std::string tmpl = chat_template_source(dir, tok_cfg);
    if (!tmpl.empty()) lm->chat_template = std::make_unique<ChatTemplate>(tmpl, (dir / "tokenizer_config.json").string());

    for (int64_t id : lm->config.eos_token_ids) add_unique(lm->eos_ids, id);
    if (folder.generation())
        for (int64_t id : folder.generation()->eos_token_ids) add_unique(lm->eos_ids, id);
    if (auto e = lm->tokenizer->eos_id()) add_unique(lm->eos_ids, *e);

    TensorSource src = [&](const std::string& name) -> at::Tensor {
        const TensorView* v = folder.find(name);
        return v ? tensor_from_view(*v) : at::Tensor();
    };
    // AutoAWQ folders: quantized linears stay packed (AwqLinear, in the chosen layout); everything else loads
    // as usual. On CUDA they run the W4A16 kernels unless --kernel dense.
    LinearFactory linears;
    bool kernels = false;
    if (folder.is_awq()) {
        AwqKernelChoice choice;
        choice.kernel = load.kernel;
        choice.compute_device = parse_compute_device(opt.device);
        linears = awq_linear_factory(folder, choice);
        kernels = choice.compute_device.is_cuda() && load.kernel != "dense" && cuda_kernels_available();
        if (kernels) install_cuda_kernels();
    }
    lm->model = std::make_unique<LlamaModel>(lm->config, src, opt, progress, linears);
    if (folder.is_awq()) describe_awq_linears(*lm, kernels);
    return lm;
}

std::unique_ptr<LoadedModel> load_gguf(const std::string& path, const ModelOptions& opt, const Progress& progress) {
    auto lm = std::make_unique<LoadedModel>();
    lm->path = path;
    lm->format = "gguf";
    GgufReader gguf(path);
    lm->config = model_config_from_gguf(gguf);
    GgufVocab vocab = read_gguf_vocab(gguf);
    lm->tokenizer = Tokenizer::from_gguf_vocab(vocab, path);
    if (!vocab.chat_template.empty()) lm->chat_template = std::make_unique<ChatTemplate>(vocab.chat_template, path);
    if (vocab.bos_id) lm->bos_token = vocab.tokens.at(*vocab.bos_id);
    if (vocab.eos_id) {
        lm->eos_token = vocab.tokens.at(*vocab.eos_id);
        add_unique(lm->eos_ids, *vocab.eos_id);
    }
    for (int64_t id : lm->config.eos_token_ids) add_unique(lm->eos_ids, id);

    // Checked against the config (names, shapes, completeness) before any weight is dequantized.
    std::unordered_map<std::string, GgufHfTensor> by_hf;
    for (auto& t : plan_gguf_hf_tensors(gguf, lm->config)) by_hf[t.hf_name] = t;
    TensorSource src = [&](const std::string& name) -> at::Tensor {
        auto it = by_hf.find(name);
        if (it == by_hf.end()) return at::Tensor();
        at::Tensor t = at::empty(it->second.gguf->shape, at::kFloat);
        read_gguf_hf_tensor(gguf, it->second, t.data_ptr<float>(), (size_t)t.numel());
        return t;
    };
    lm->model = std::make_unique<LlamaModel>(lm->config, src, opt, progress);
    return lm;
}

}  // namespace

ModelConfig read_model_config(const std::string& path) {
    if (!fs::exists(path)) throw Error(path, "no such file or folder");
    if (fs::is_directory(path)) return ModelConfig::from_file((fs::path(path) / "config.json").string());
    return model_config_from_gguf(GgufReader(path));
}

std::unique_ptr<LoadedModel> load_model(const std::string& path, const ModelOptions& options, const Progress& progress,
                                        const LoadOptions& load) {
    // Reject impossible options before touching (possibly large) files.
    const at::Device device = parse_compute_device(options.device);
    const at::ScalarType dtype = parse_compute_dtype(options.dtype);
    const std::string& k = load.kernel;
    if (!k.empty() && k != "gemm" && k != "gemv" && k != "fast" && k != "dense")
        throw Error("--kernel", "must be gemm, gemv, fast or dense, got '" + k + "'");
    if (device.is_cuda() && (k == "gemm" || k == "gemv" || k == "fast")) {
        if (!cuda_kernels_available())
            throw Error("--kernel", "this build has no CUDA W4A16 kernels (configured without AWQ_CUDA); use --kernel dense");
        if (dtype != at::kHalf && dtype != at::kBFloat16)
            throw Error("--kernel", "the W4A16 kernels compute in float16 or bfloat16, not " + compute_dtype_name(dtype) +
                                        "; pass --dtype float16 or bfloat16, or use --kernel dense");
    }
    if (!fs::exists(path)) throw Error(path, "no such file or folder");
    std::unique_ptr<LoadedModel> lm;
    if (fs::is_directory(path)) {
        lm = load_hf(path, options, load, progress);
    } else {
        if (!k.empty()) throw Error(path, kNotAwq);
        lm = load_gguf(path, options, progress);
    }
    LlamaModel& m = *lm->model;
    if (m.device().is_cuda() && !m.offload()) {
        if (load.fast_decode) m.merge_projections();
        m.set_fused_decode(load.fast_decode, DecodeKernelOptions{load.fast_decode});
    }
    return lm;
}

}  // namespace awq
