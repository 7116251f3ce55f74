#pragma once
// GGUF v2/v3 files (llama.cpp's model format) over a memory map: metadata, tensor directory and
// dequantization to float. Everything is validated when the file is opened, so a truncated or hostile
// file fails there with an awq::Error("<path>", "<problem>") and later accessors can trust the layout.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/mapped_file.h"
#include "io/ggml_type.h"

namespace awq {

enum class GgufValueType : uint32_t {
    UINT8 = 0, INT8 = 1, UINT16 = 2, INT16 = 3, UINT32 = 4, INT32 = 5, FLOAT32 = 6, BOOL = 7,
    STRING = 8, ARRAY = 9, UINT64 = 10, INT64 = 11, FLOAT64 = 12,
};
std::string gguf_value_type_name(GgufValueType t);  // "UINT32", "ARRAY", ...

// One metadata value. Which member holds it depends on `type`: unsigned integers and BOOL in `u`,
// signed integers in `i`, FLOAT32/FLOAT64 in `f`, STRING in `s`, ARRAY in `array` (all elements of
// `array_type`; arrays may nest).
struct GgufValue {
    GgufValueType type = GgufValueType::UINT8;
    uint64_t u = 0;
    int64_t i = 0;
    double f = 0.0;
    std::string s;
    GgufValueType array_type = GgufValueType::UINT8;
    std::vector<GgufValue> array;

    bool is_integer() const;  // any of the 8 integer types
    bool is_float() const { return type == GgufValueType::FLOAT32 || type == GgufValueType::FLOAT64; }
    std::string describe_type() const;  // "UINT32", "ARRAY of STRING"
};

struct GgufTensorInfo {
    std::string name;
    std::vector<int64_t> shape;  // Hugging Face / PyTorch order: outermost first (GGUF stores innermost first)
    GgmlType type = GgmlType::F32;
    uint64_t offset = 0;  // absolute byte offset of the data in the file
    uint64_t nbytes = 0;

    int64_t numel() const;
    int64_t row_length() const { return shape.empty() ? 1 : shape.back(); }  // GGUF's ne[0]
};

class GgufReader {
public:
    using TensorInfo = GgufTensorInfo;

    explicit GgufReader(const std::string& path);  // maps and validates the whole file

    const std::string& path() const { return file_->path(); }
    uint32_t version() const { return version_; }
    uint64_t alignment() const { return alignment_; }
    uint64_t data_start() const { return data_start_; }

    // ---- metadata (keys in file order) ----
    const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return metadata_; }
    bool has(const std::string& key) const { return find(key) != nullptr; }
    const GgufValue* find(const std::string& key) const;  // nullptr when absent
    const GgufValue& get(const std::string& key) const;   // throws "missing metadata key 'k'"
    // Typed getters: throw "<path>: metadata key 'k' is <TYPE>, expected <what>" on a type mismatch.
    int64_t get_int(const std::string& key) const;        // any integer type that fits int64
    double get_float(const std::string& key) const;       // FLOAT32/64 or any integer
    bool get_bool(const std::string& key) const;
    std::string get_string(const std::string& key) const;
    std::vector<std::string> get_string_array(const std::string& key) const;
    std::vector<int64_t> get_int_array(const std::string& key) const;
    std::vector<double> get_float_array(const std::string& key) const;
    // The same, but std::nullopt when the key is absent (a present key of the wrong type still throws).
    std::optional<int64_t> get_int_opt(const std::string& key) const;
    std::optional<double> get_float_opt(const std::string& key) const;
    std::optional<bool> get_bool_opt(const std::string& key) const;
    std::optional<std::string> get_string_opt(const std::string& key) const;

    // ---- tensors (file order) ----
    const std::vector<TensorInfo>& tensors() const { return tensors_; }
    const TensorInfo* find_tensor(const std::string& name) const;  // nullptr when absent
    const TensorInfo& tensor(const std::string& name) const;       // throws "no tensor named 'x'"
    const uint8_t* tensor_data(const TensorInfo& t) const { return file_->data() + t.offset; }

    // Dequantizes the whole tensor into floats in `shape` order (row-major, outermost first).
    // Throws naming the file, the tensor and its type when the type is not supported.
    std::vector<float> dequantize(const TensorInfo& t) const;
    void dequantize(const TensorInfo& t, float* out, size_t out_len) const;  // out_len must equal numel()

private:
    void parse();

    std::unique_ptr<MappedFile> file_;
    uint32_t version_ = 0;
    uint64_t alignment_ = 32;
    uint64_t data_start_ = 0;
    std::vector<std::pair<std::string, GgufValue>> metadata_;
    std::unordered_map<std::string, size_t> metadata_index_;
    std::vector<TensorInfo> tensors_;
    std::unordered_map<std::string, size_t> tensor_index_;
};

}  // namespace awq
