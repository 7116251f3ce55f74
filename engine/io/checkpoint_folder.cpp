#include "io/checkpoint_folder.h"

#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace awq {

namespace fs = std::filesystem;

namespace {

constexpr const char* kSingleName = "model.safetensors";
constexpr const char* kIndexName = "model.safetensors.index.json";

nlohmann::json read_json(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw Error(path, "cannot open");
    try {
        return nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
        throw Error(path, std::string("invalid JSON: ") + e.what());
    }
}

// Shard names come from a downloaded file; one that climbs out of the folder is refused, not followed.
bool is_plain_file_name(const std::string& s) {
    return !s.empty() && s != "." && s != ".." && s.find('/') == std::string::npos &&
           s.find('\\') == std::string::npos && s.find('\0') == std::string::npos;
}

}  // namespace

CheckpointFolder::CheckpointFolder(const fs::path& dir) : dir_(dir.string()) {
    if (!fs::is_directory(dir)) throw Error(dir_, "not a directory");
    config_ = ModelConfig::from_file(config_path());
    awq_ = AwqQuantConfig::from_model_config(config_.raw, config_path());
    const fs::path gen = dir / "generation_config.json";
    if (fs::exists(gen)) generation_ = GenerationDefaults::from_file(gen.string());

    // transformers prefers the single file when both are present; do the same.
    const fs::path single = dir / kSingleName;
    const fs::path index = dir / kIndexName;
    if (fs::exists(single)) open_single(single.string());
    else if (fs::exists(index)) open_sharded(index.string());
    else {
        std::string hint;
        if (fs::exists(dir / "pytorch_model.bin") || fs::exists(dir / "pytorch_model.bin.index.json"))
            hint = " (found pytorch_model.bin: convert it to safetensors first; pickle files are not read)";
        throw Error(dir_, std::string("no ") + kSingleName + " or " + kIndexName + hint);
    }
}

std::string CheckpointFolder::config_path() const { return (fs::path(dir_) / "config.json").string(); }

void CheckpointFolder::open_single(const std::string& path) {
    weights_source_ = path;
    shards_.push_back(std::make_unique<SafetensorsReader>(path));
    for (const TensorView& t : shards_.back()->tensors()) by_name_.emplace(t.name, &t);
}

void CheckpointFolder::open_sharded(const std::string& index_path) {
    sharded_ = true;
    weights_source_ = index_path;
    const nlohmann::json idx = read_json(index_path);
    if (!idx.is_object() || !idx.contains("weight_map") || !idx["weight_map"].is_object())
        throw Error(index_path, "missing 'weight_map' object");
    const auto& wm = idx["weight_map"];
    if (wm.empty()) throw Error(index_path, "'weight_map' lists no tensors");

    std::map<std::string, std::vector<std::string>> by_shard;  // shard file -> tensors the index puts there
    std::map<std::string, std::string> shard_of;
    for (auto it = wm.begin(); it != wm.end(); ++it) {
        if (!it.value().is_string())
            throw Error(index_path, "weight_map entry for tensor '" + it.key() + "' is not a file name");
        const std::string shard = it.value().get<std::string>();
        if (!is_plain_file_name(shard))
            throw Error(index_path, "weight_map puts tensor '" + it.key() + "' in '" + shard +
                                        "', which is not a file name inside the folder");
        by_shard[shard].push_back(it.key());
        shard_of[it.key()] = shard;
    }

    // Check all shards exist before mapping any, so the first error is the missing file.
    for (const auto& [shard, names] : by_shard) {
        const fs::path p = fs::path(dir_) / shard;
        if (!fs::is_regular_file(p))
            throw Error(p.string(), std::string("missing shard listed in ") + kIndexName + " for tensor '" +
                                        names.front() + "'" +
                                        (names.size() > 1 ? " and " + std::to_string(names.size() - 1) + " more" : ""));
    }
    for (const auto& [shard, names] : by_shard) {
        const fs::path p = fs::path(dir_) / shard;
        shards_.push_back(std::make_unique<SafetensorsReader>(p.string()));
        const SafetensorsReader& r = *shards_.back();
        for (const std::string& name : names)
            if (!r.contains(name))
                throw Error(r.path(), "tensor '" + name + "' listed in " + kIndexName + " is not in this shard");
        // A tensor the index does not assign here would be loaded by some tools and ignored by others.
        for (const TensorView& t : r.tensors()) {
            auto s = shard_of.find(t.name);
            if (s == shard_of.end())
                throw Error(r.path(), "tensor '" + t.name + "' is in this shard but not listed in " + kIndexName);
            if (s->second != shard)
                throw Error(r.path(), "tensor '" + t.name + "' is in this shard but " + kIndexName + " assigns it to '" +
                                          s->second + "'");
            by_name_.emplace(t.name, &t);
        }
    }
}

const TensorView* CheckpointFolder::find(std::string_view name) const {
    auto it = by_name_.find(name);
    return it == by_name_.end() ? nullptr : it->second;
}

const TensorView& CheckpointFolder::tensor(std::string_view name) const {
    const TensorView* t = find(name);
    if (!t) throw Error(weights_source_, "no tensor named '" + std::string(name) + "'");
    return *t;
}

std::vector<std::string> CheckpointFolder::tensor_names() const {
    std::vector<std::string> out;
    out.reserve(by_name_.size());
    for (const auto& [name, t] : by_name_) out.push_back(name);
    return out;
}

}  // namespace awq
