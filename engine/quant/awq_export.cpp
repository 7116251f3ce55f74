#include "quant/awq_export.h"

#include <cctype>
#include <cmath>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <ftw.h>
#include <span>

#include <ATen/ATen.h>

#include "core/error.h"
#include "io/atomic_write.h"
#include "io/awq_quant_config.h"
#include "io/gguf_reader.h"
#include "io/gguf_vocab_reader.h"
#include "io/llama_weight_layout.h"
#include "io/safetensors_writer.h"
#include "model/llama_model.h"
#include "quant/awq_packing.h"
#include "tokenizer/tokenizer_json_export.h"

#ifndef AWQLAB_VERSION
#define AWQLAB_VERSION "0.1"
#endif

namespace fs = std::filesystem;

namespace awq {

namespace {

// Version of awqlab.json's own layout; bump when fields change meaning.
constexpr int kProvenanceVersion = 1;

struct LinearRef {
    int64_t block = 0;
    LinearSlot slot = LinearSlot::Q;
    int64_t out = 0, in = 0;
    bool bias = false;
};

std::map<std::string, LinearRef> linear_refs(const ModelConfig& c) {
    const int64_t hidden = c.hidden_size, q_dim = c.num_attention_heads * c.head_dim,
                  kv_dim = c.num_key_value_heads * c.head_dim, inter = c.intermediate_size;
    std::map<std::string, LinearRef> out;
    for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
        const std::string p = "model.layers." + std::to_string(i) + ".";
        auto add = [&](LinearSlot s, int64_t o, int64_t in, bool bias) {
            out[p + linear_slot_name(s)] = LinearRef{i, s, o, in, bias};
        };
        add(LinearSlot::Q, q_dim, hidden, c.attention_bias);
        add(LinearSlot::K, kv_dim, hidden, c.attention_bias);
        add(LinearSlot::V, kv_dim, hidden, c.attention_bias);
        add(LinearSlot::O, hidden, q_dim, c.o_proj_bias);
        add(LinearSlot::Gate, inter, hidden, c.mlp_bias);
        add(LinearSlot::Up, inter, hidden, c.mlp_bias);
        add(LinearSlot::Down, hidden, inter, c.mlp_bias);
    }
    return out;
}

bool plain_module_pattern(const std::string& p) {
    if (p.empty()) return false;
    for (char ch : p)
        if (!(std::isalnum((unsigned char)ch) || ch == '_' || ch == '.' || ch == '-')) return false;
    return true;
}

// transformers 5 (quantizers_utils.should_convert_module): the pattern matches from the start of the name up
// to a module boundary, or the name ends with it. For plain names its regex reduces to this.
bool transformers_skips(const std::string& name, const std::string& key) {
    if (name.rfind(key, 0) == 0 &&
        (key.back() == '.' || name.size() == key.size() || name[key.size()] == '.'))
        return true;
    return name.size() >= key.size() && name.compare(name.size() - key.size(), key.size(), key) == 0;
}

AwqQuantConfig file_quant_config(const QuantConfig& cfg) {
    AwqQuantConfig a;
    a.bits = cfg.w_bit;
    a.group_size = cfg.group_size;
    a.zero_point = true;  // see the header: symmetric weights are stored with zero points 8
    a.version = cfg.version;
    a.modules_to_not_convert = cfg.modules_to_not_convert;
    return a;
}

std::string dump_json(const nlohmann::json& j, const std::string& what, const std::string& where) {
    try {
        return j.dump(2) + "\n";
    } catch (const nlohmann::json::exception& e) {
        throw Error(where, "cannot write " + what + ": " + e.what());
    }
}

std::string utc_now() {
    std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::string shape_text(const at::Tensor& t) {
    std::string s = "[";
    for (int64_t i = 0; i < t.dim(); ++i) s += (i ? ", " : "") + std::to_string(t.size(i));
    return s + "]";
}

nlohmann::json generation_from_config(const ModelConfig& cfg) {
    nlohmann::json gen = {{"_from_model_config", true}};
    if (cfg.bos_token_id) gen["bos_token_id"] = *cfg.bos_token_id;
    if (cfg.eos_token_ids.size() == 1) gen["eos_token_id"] = cfg.eos_token_ids[0];
    else if (!cfg.eos_token_ids.empty()) gen["eos_token_id"] = cfg.eos_token_ids;
    if (cfg.pad_token_id) gen["pad_token_id"] = *cfg.pad_token_id;
    return gen;
}

// Tokenizer and generation files next to the weights: copied from a Hugging Face folder, made from the
// vocabulary of a GGUF file. Returns the names written.
std::vector<std::string> write_companion_files(const std::string& source, const ModelConfig& cfg,
                                               const AtomicDirectory& dir) {
    std::vector<std::string> written;
    if (!source.empty() && fs::is_regular_file(source)) {
        GgufReader g(source);
        const GgufVocab vocab = read_gguf_vocab(g);
        write_file_atomically(dir.file("tokenizer.json"),
                              dump_json(tokenizer_json_from_gguf_vocab(vocab), "tokenizer.json", source));
        write_file_atomically(dir.file("tokenizer_config.json"),
                              dump_json(tokenizer_config_from_gguf_vocab(vocab), "tokenizer_config.json", source));
        written = {"tokenizer.json", "tokenizer_config.json"};
    } else if (!source.empty()) {
        static const char* kFiles[] = {"tokenizer.json",      "tokenizer_config.json", "chat_template.jinja",
                                       "special_tokens_map.json", "tokenizer.model",   "vocab.json",
                                       "merges.txt",          "added_tokens.json",     "generation_config.json"};
        for (const char* name : kFiles) {
            const fs::path from = fs::path(source) / name;
            if (!fs::is_regular_file(from)) continue;
            std::error_code ec;
            fs::copy_file(from, dir.file(name), fs::copy_options::overwrite_existing, ec);
            if (ec) throw Error(from.string(), "cannot copy into the export: " + ec.message());
            written.push_back(name);
        }
    }
    if (!fs::exists(dir.file("generation_config.json"))) {
        write_file_atomically(dir.file("generation_config.json"),
                              dump_json(generation_from_config(cfg), "generation_config.json", source));
        written.push_back("generation_config.json");
    }
    return written;
}

}  // namespace

std::vector<std::string> llama_linear_names(const ModelConfig& config) {
    std::vector<std::string> names;
    for (int64_t i = 0; i < config.num_hidden_layers; ++i)
        for (int s = 0; s < kNumLinearSlots; ++s)
            names.push_back("model.layers." + std::to_string(i) + "." + linear_slot_name((LinearSlot)s));
    return names;
}

bool kept_float_for_export(const std::string& module, const std::vector<std::string>& patterns) {
    bool by_substring = false, by_transformers = false;
    std::string sub_key, tf_key;
    for (const std::string& key : patterns) {
        if (!plain_module_pattern(key))
            throw Error("--modules-to-not-convert",
                        "'" + key + "' is not a plain module name (letters, digits, '_', '.', '-'): AutoAWQ and vLLM "
                        "match entries as substrings, transformers as regular expressions, so anything else is ambiguous");
        if (!by_substring && module.find(key) != std::string::npos) by_substring = true, sub_key = key;
        if (!by_transformers && transformers_skips(module, key)) by_transformers = true, tf_key = key;
    }
    if (by_substring != by_transformers)
        throw Error("--modules-to-not-convert",
                    "'" + sub_key + "' keeps '" + module +
                        "' float for AutoAWQ and vLLM (substring match) but not for transformers (prefix up to a '.' or "
                        "suffix match), so loaders would disagree on its weights; use a suffix such as '" +
                        module.substr(module.rfind('.', module.rfind('.') - 1) + 1) + "' or the full name");
    return by_substring;
}

void check_awq_exportable(const ModelConfig& model, const QuantConfig& cfg) {
    cfg.validate();
    if (cfg.w_bit != 4)
        throw Error("--w-bit", "export needs w_bit 4 (AutoAWQ formats are 4-bit); w" + std::to_string(cfg.w_bit) +
                                   " models can be evaluated but not exported");
    if (cfg.version == "fast")
        throw Error("--version",
                    "'fast' is this engine's in-memory kernel layout, not a checkpoint format other tools read; "
                    "export gemm (the engine repacks it for its kernels when loading)");
    int64_t quantized = 0;
    for (const auto& [name, ref] : linear_refs(model)) {
        if (kept_float_for_export(name, cfg.modules_to_not_convert)) continue;
        ++quantized;
        const int64_t group = cfg.group_for(ref.in);
        if (ref.in % group != 0)
            throw Error("--group-size", "'" + name + "' has " + std::to_string(ref.in) +
                                            " input features, not a multiple of group size " + std::to_string(group));
    }
    if (quantized == 0)
        throw Error("--modules-to-not-convert", "keeps every linear layer float: there is nothing to export as AWQ");
    // The layout's own shape rules (out_features % 8, gemv group sizes), phrased for the option that chose it.
    const AwqQuantConfig file_cfg = file_quant_config(cfg);
    try {
        expected_llama_tensors(model, &file_cfg, "export");
    } catch (const Error& e) {
        std::string msg = e.what();
        const std::string prefix = "export: ";
        if (msg.rfind(prefix, 0) == 0) msg = msg.substr(prefix.size());
        throw Error("--version", cfg.version + " layout: " + msg);
    }
}

nlohmann::json quant_config_json(const QuantConfig& c) {
    return {{"w_bit", c.w_bit},
            {"group_size", c.group_size},
            {"zero_point", c.zero_point},
            {"method", c.method},
            {"search_scales", c.search_scales},
            {"search_clip", c.search_clip},
            {"duo_scaling", c.duo_scaling},
            {"n_grid", c.n_grid},
            {"clip_grid", c.clip_grid},
            {"clip_max_shrink", c.clip_max_shrink},
            {"clip_sample_tokens", c.clip_sample_tokens},
            {"clip_precision", c.clip_precision},
            {"modules_to_not_convert", c.modules_to_not_convert},
            {"version", c.version}};
}

namespace {

// Everything written into the temporary folder, then the commit (rename into place).
void write_export(LlamaModel& model, const std::map<std::string, QuantizedWeight>& linears, const QuantConfig& cfg,
                  const std::string& source, const std::string& out_dir, const Progress& progress,
                  const nlohmann::json& calibration, const QuantEvidence* evidence, AtomicDirectory& dir,
                  const std::vector<std::string>& quantized_names, const std::vector<std::string>& float_names,
                  const std::map<std::string, LinearRef>& refs) {
    const ModelConfig& mc = model.config();
    const AwqLayout layout = parse_awq_layout(cfg.version, "--version");

    // Pack first (the writer needs the bytes); checking symmetric weights on the way.
    std::map<std::string, PackedW4> packed;
    for (size_t i = 0; i < quantized_names.size(); ++i) {
        progress.check_cancel();
        progress.report("pack " + std::string(awq_layout_name(layout)), (int64_t)i, (int64_t)quantized_names.size());
        const std::string& name = quantized_names[i];
        const W4Canonical c = to_canonical(linears.at(name), name);
        if (!cfg.zero_point && !c.symmetric())
            throw Error(name, "the config is symmetric (zero_point false) but this weight has zero points other than 8");
        packed[name] = pack_w4(c, layout, name);
    }
    progress.report("pack " + std::string(awq_layout_name(layout)), (int64_t)quantized_names.size(),
                    (int64_t)quantized_names.size());

    const std::string st_path = dir.file("model.safetensors");
    auto float_tensor = [&](const std::string& name) -> at::Tensor {
        if (name == "model.embed_tokens.weight") return model.embed_weight();
        if (name == "model.norm.weight") return model.final_norm_weight();
        if (name == "lm_head.weight") return model.lm_head().dense_weight();
        const std::string pre = "model.layers.";
        if (name.rfind(pre, 0) == 0) {
            const size_t dot = name.find('.', pre.size());
            const int64_t b = std::stoll(name.substr(pre.size(), dot - pre.size()));
            const std::string rest = name.substr(dot + 1);
            if (rest == "input_layernorm.weight") return model.block(b).input_norm_weight();
            if (rest == "post_attention_layernorm.weight") return model.block(b).post_norm_weight();
            const std::string module = name.substr(0, name.rfind('.'));
            const auto ref = refs.find(module);
            if (ref != refs.end()) {
                const Linear& lin = model.block(ref->second.block).linear(ref->second.slot);
                if (name.ends_with(".weight")) return lin.dense_weight();
                if (name.ends_with(".bias")) {
                    const auto q = linears.find(module);
                    if (q != linears.end() && q->second.bias.defined()) return q->second.bias;
                    return lin.bias();
                }
            }
        }
        return at::Tensor();
    };

    const AwqQuantConfig file_cfg = file_quant_config(cfg);
    SafetensorsWriter writer(st_path);
    for (const ExpectedTensor& e : expected_llama_tensors(mc, &file_cfg, out_dir)) {
        if (e.optional && mc.tie_word_embeddings) continue;  // lm_head shares the embedding
        const std::string module = e.name.substr(0, e.name.rfind('.'));
        const std::string field = e.name.substr(e.name.rfind('.') + 1);
        if (e.kind != WeightKind::Float) {
            const PackedW4& p = packed.at(module);
            const at::Tensor& t = field == "qweight" ? p.qweight : field == "qzeros" ? p.qzeros : p.scales;
            if (t.sizes().vec() != e.shape)
                throw Error(e.name, "packed tensor has shape " + shape_text(t) + ", the layout expects another");
            const at::Tensor c = t.contiguous();
            writer.add_raw(e.name, field == "scales" ? DType::F16 : DType::I32, e.shape,
                           std::span<const uint8_t>(static_cast<const uint8_t*>(c.data_ptr()),
                                                    (size_t)(c.numel() * c.element_size())));
            if (field == "scales") packed.erase(module);  // the writer holds its own copy of the bytes now
            continue;
        }
        at::Tensor t = float_tensor(e.name);
        if (!t.defined()) throw Error(e.name, "the model has no such tensor, but the checkpoint needs it");
        if (t.sizes().vec() != e.shape)
            throw Error(e.name, "model tensor has shape " + shape_text(t) + ", the config needs another");
        const std::string name = e.name;
        writer.add_lazy(name, DType::F16, e.shape, [t, name](float* out, size_t n) {
            at::Tensor c = t.detach().to(at::kCPU, at::kFloat).contiguous();
            const float* src = c.data_ptr<float>();
            for (size_t i = 0; i < n; ++i) {
                // fp16 saturates at 65504; anything beyond would be written as inf.
                if (!(std::fabs(src[i]) <= 65504.0f))
                    throw Error(name, "value " + std::to_string(src[i]) + " cannot be stored as float16");
                out[i] = src[i];
            }
        });
    }
    writer.write(progress);
    progress.check_cancel();

    nlohmann::json config = mc.to_json();
    config["torch_dtype"] = "float16";
    if (config.contains("dtype")) config["dtype"] = "float16";
    nlohmann::json qc = {{"quant_method", "awq"},
                         {"bits", 4},
                         {"group_size", cfg.group_size},
                         {"zero_point", true},
                         {"version", cfg.version},
                         {"modules_to_not_convert", nullptr}};
    if (!cfg.modules_to_not_convert.empty()) qc["modules_to_not_convert"] = cfg.modules_to_not_convert;
    config["quantization_config"] = qc;
    write_file_atomically(dir.file("config.json"), dump_json(config, "config.json", out_dir));

    const std::vector<std::string> companions = write_companion_files(source, mc, dir);

    nlohmann::json prov = {
        {"awqlab_export_version", kProvenanceVersion},
        {"tool", "AWQ Lab"},
        {"tool_version", AWQLAB_VERSION},
        {"created_utc", utc_now()},
        {"source", source},
        {"quant_config", quant_config_json(cfg)},
        {"checkpoint",
         {{"format", "autoawq"},
          {"version", cfg.version},
          {"config_zero_point", true},
          {"symmetric_stored_as_zero_point_8", !cfg.zero_point},
          {"quantized_linears", quantized_names.size()},
          {"float_linears", float_names},
          {"companion_files", companions}}},
        {"calibration", calibration}};
    write_file_atomically(dir.file("awqlab.json"), dump_json(prov, "awqlab.json", out_dir));
    if (evidence) evidence->save(dir.file("awq_evidence.safetensors"));

    progress.check_cancel();
    dir.commit();
}

}  // namespace

void export_awq_checkpoint(LlamaModel& model, const std::map<std::string, QuantizedWeight>& linears,
                           const QuantConfig& cfg, const std::string& source, const std::string& out_dir,
                           const Progress& progress, const nlohmann::json& calibration, const QuantEvidence* evidence) {
    const ModelConfig& mc = model.config();
    check_awq_exportable(mc, cfg);
    const auto refs = linear_refs(mc);

    // Every linear is either quantized (in `linears`) or kept float, never both, never neither.
    std::vector<std::string> quantized_names, float_names;
    for (const auto& [name, ref] : refs) {
        const bool kept = kept_float_for_export(name, cfg.modules_to_not_convert);
        const auto it = linears.find(name);
        if (kept) {
            if (it != linears.end())
                throw Error(name, "has quantized weights but modules_to_not_convert keeps it float");
            float_names.push_back(name);
            continue;
        }
        if (it == linears.end()) throw Error(name, "no quantized weights given (and modules_to_not_convert does not keep it float)");
        const QuantizedWeight& w = it->second;
        if (w.bits != cfg.w_bit)
            throw Error(name, "quantized with " + std::to_string(w.bits) + " bits, the config says " + std::to_string(cfg.w_bit));
        if (!w.q.defined() || w.q.dim() != 2 || w.q.size(0) != ref.out || w.q.size(1) != ref.in)
            throw Error(name, "quantized weight has shape " + (w.q.defined() ? shape_text(w.q) : std::string("(none)")) +
                                  ", the model needs [" + std::to_string(ref.out) + ", " + std::to_string(ref.in) + "]");
        if (w.group_size != cfg.group_for(ref.in))
            throw Error(name, "quantized with group size " + std::to_string(w.group_size) + ", the config says " +
                                  std::to_string(cfg.group_for(ref.in)));
        if (w.bias.defined() && !ref.bias)
            throw Error(name, "quantized weight has a bias but the model config has none for this layer");
        quantized_names.push_back(name);
    }
    for (const auto& [name, w] : linears)
        if (!refs.count(name)) throw Error(name, "is not a linear layer of this model");
    if (mc.tie_word_embeddings && !model.lm_head_tied())
        throw Error("lm_head", "the config ties it to the embeddings but the model's lm_head is a separate weight");
    if (!source.empty() && !fs::exists(source)) throw Error(source, "no such file or folder");
    progress.check_cancel();

    AtomicDirectory dir(out_dir);  // a cancel or error removes the temporary folder
    write_export(model, linears, cfg, source, out_dir, progress, calibration, evidence, dir, quantized_names, float_names,
                 refs);
    progress.report("export " + out_dir, 1, 1);
}

}  // namespace awq
