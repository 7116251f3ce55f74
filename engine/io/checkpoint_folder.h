#pragma once
// A Hugging Face model folder read without torch: config.json, the optional generation_config.json, and
// the safetensors weights (one model.safetensors, or shards listed by model.safetensors.index.json), all
// memory-mapped and looked up by tensor name as one set. An AutoAWQ folder is recognised and its
// quantization_config exposed; its packed tensors are handed out as they are.
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/model_config.h"
#include "io/awq_quant_config.h"
#include "io/generation_defaults.h"
#include "io/safetensors_reader.h"

namespace awq {

class CheckpointFolder {
public:
    // Reads and validates everything up front; throws awq::Error naming the file at fault, e.g.
    // "<dir>/config.json: missing key 'hidden_size'", "<dir>/model-00002-of-00002.safetensors: missing shard
    // listed in model.safetensors.index.json for tensor '...'".
    explicit CheckpointFolder(const std::filesystem::path& dir);
    CheckpointFolder(const CheckpointFolder&) = delete;
    CheckpointFolder& operator=(const CheckpointFolder&) = delete;

    const std::string& dir() const { return dir_; }
    std::string config_path() const;
    const ModelConfig& config() const { return config_; }
    // Absent when the folder has no generation_config.json.
    const std::optional<GenerationDefaults>& generation() const { return generation_; }
    // Present when config.json has quantization_config.quant_method == "awq".
    const std::optional<AwqQuantConfig>& awq() const { return awq_; }
    bool is_awq() const { return awq_.has_value(); }

    bool is_sharded() const { return sharded_; }
    // The file weight errors are reported against: model.safetensors or model.safetensors.index.json.
    const std::string& weights_source() const { return weights_source_; }
    // The mapped weight files, in shard-name order.
    const std::vector<std::unique_ptr<SafetensorsReader>>& shards() const { return shards_; }

    // Across all shards; views stay valid while this folder lives.
    const TensorView* find(std::string_view name) const;
    // Throws awq::Error(weights_source(), "no tensor named '<name>'") when absent.
    const TensorView& tensor(std::string_view name) const;
    bool contains(std::string_view name) const { return find(name) != nullptr; }
    std::vector<std::string> tensor_names() const;  // sorted
    size_t tensor_count() const { return by_name_.size(); }

private:
    void open_single(const std::string& path);
    void open_sharded(const std::string& index_path);

    std::string dir_;
    ModelConfig config_;
    std::optional<GenerationDefaults> generation_;
    std::optional<AwqQuantConfig> awq_;
    bool sharded_ = false;
    std::string weights_source_;
    std::vector<std::unique_ptr<SafetensorsReader>> shards_;
    std::map<std::string, const TensorView*, std::less<>> by_name_;
};

}  // namespace awq
