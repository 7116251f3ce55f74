#include "quant/awq_evidence.h"

#include <cstring>

#include <ATen/ATen.h>

#include "core/error.h"
#include "io/safetensors_reader.h"
#include "io/safetensors_writer.h"

namespace awq {

namespace {

constexpr const char* kFormat = "awqlab-evidence";
constexpr int kVersion = 1;

std::span<const uint8_t> bytes_of(const at::Tensor& t) {
    return {static_cast<const uint8_t*>(t.data_ptr()), (size_t)(t.numel() * t.element_size())};
}

at::Tensor tensor_of(const TensorView& v, at::ScalarType type) {
    at::Tensor t = at::empty(v.shape, at::TensorOptions().dtype(type));
    std::memcpy(t.data_ptr(), v.data, v.nbytes);
    return t;
}

}  // namespace

const LinearEvidence* QuantEvidence::find(const std::string& name) const {
    for (const auto& l : linears)
        if (l.name == name) return &l;
    return nullptr;
}

std::vector<int64_t> top_channels(const at::Tensor& saliency, double fraction) {
    const int64_t n = saliency.numel();
    const int64_t k = std::max<int64_t>(1, (int64_t)(n * fraction));
    at::Tensor idx = std::get<1>(saliency.to(at::kFloat).cpu().topk(k));
    return std::vector<int64_t>(idx.data_ptr<int64_t>(), idx.data_ptr<int64_t>() + k);
}

void QuantEvidence::save(const std::string& path) const {
    SafetensorsWriter w(path);
    // Tensors must outlive write(): keep contiguous CPU copies here.
    std::vector<at::Tensor> keep;
    auto add = [&](const std::string& name, const at::Tensor& t, DType dt) {
        if (!t.defined()) return;
        at::Tensor c = t.cpu().contiguous();
        keep.push_back(c);
        w.add_raw(name, dt, c.sizes().vec(), bytes_of(keep.back()));
    };
    nlohmann::json lin = nlohmann::json::array(), blk = nlohmann::json::array();
    for (const auto& l : linears) {
        add(l.name + ".saliency", l.saliency.to(at::kFloat), DType::F32);
        if (l.scales.defined()) add(l.name + ".scales", l.scales.to(at::kFloat), DType::F32);
        if (l.clip_shrink.defined()) add(l.name + ".clip_shrink", l.clip_shrink.to(at::kByte), DType::U8);
        lin.push_back({{"name", l.name}, {"block", l.block}, {"top_channels", l.top_channels}, {"grid_loss", l.grid_loss},
                       {"best_ratio", l.best_ratio}, {"rtn_error", l.rtn_error}, {"awq_error", l.awq_error}});
    }
    for (const auto& b : blocks)
        blk.push_back({{"index", b.index}, {"rtn_error", b.rtn_error}, {"awq_error", b.awq_error}, {"seconds", b.seconds}});
    nlohmann::json meta = {{"format", kFormat}, {"version", kVersion}, {"summary", summary}, {"linears", lin}, {"blocks", blk}};
    w.set_metadata("awqlab_evidence", meta.dump());
    w.write();
}

QuantEvidence QuantEvidence::load(const std::string& path) {
    SafetensorsReader r(path);
    auto it = r.metadata().find("awqlab_evidence");
    if (it == r.metadata().end()) throw Error(path, "not an AWQ Lab evidence file (no 'awqlab_evidence' metadata)");
    nlohmann::json meta;
    try {
        meta = nlohmann::json::parse(it->second);
    } catch (const nlohmann::json::exception& e) {
        throw Error(path, std::string("evidence metadata is not valid JSON: ") + e.what());
    }
    if (meta.value("format", "") != kFormat) throw Error(path, "not an AWQ Lab evidence file");
    if (meta.value("version", 0) != kVersion)
        throw Error(path, "evidence format version " + std::to_string(meta.value("version", 0)) + " is not supported (this build reads " +
                              std::to_string(kVersion) + ")");
    QuantEvidence e;
    try {
        e.summary = meta["summary"];
        for (const auto& j : meta.at("linears")) {
            LinearEvidence l;
            l.name = j.at("name");
            l.block = j.at("block");
            l.top_channels = j.at("top_channels").get<std::vector<int64_t>>();
            l.grid_loss = j.at("grid_loss").get<std::vector<double>>();
            l.best_ratio = j.at("best_ratio");
            l.rtn_error = j.at("rtn_error");
            l.awq_error = j.at("awq_error");
            l.saliency = tensor_of(r.tensor(l.name + ".saliency"), at::kFloat);
            if (auto* v = r.find(l.name + ".scales")) l.scales = tensor_of(*v, at::kFloat);
            if (auto* v = r.find(l.name + ".clip_shrink")) l.clip_shrink = tensor_of(*v, at::kByte);
            e.linears.push_back(std::move(l));
        }
        for (const auto& j : meta.at("blocks"))
            e.blocks.push_back({j.at("index"), j.at("rtn_error"), j.at("awq_error"), j.at("seconds")});
    } catch (const nlohmann::json::exception& ex) {
        throw Error(path, std::string("malformed evidence metadata: ") + ex.what());
    }
    return e;
}

}  // namespace awq
