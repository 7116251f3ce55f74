#pragma once
// A .safetensors file, memory-mapped and validated once on open, so that every TensorView it hands out
// points at exactly numel * dtype-size bytes inside the file. Layout: u64 little-endian header length N,
// N bytes of UTF-8 JSON {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}},
// then the data section that the offsets are relative to.
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/mapped_file.h"

namespace awq {

// Every dtype the format defines up to F8; anything else in a header is an error.
enum class DType : uint8_t { F64, F32, F16, BF16, F8_E4M3, F8_E5M2, I64, I32, I16, I8, U64, U32, U16, U8, BOOL };

std::optional<DType> parse_dtype(std::string_view name);  // "F16" -> DType::F16; nullopt when unknown
const char* dtype_name(DType dtype);                      // DType::F16 -> "F16"
size_t dtype_size(DType dtype);                           // bytes per element
// The dtypes to_float() converts (F64, F32, F16, BF16): what model weights may be stored as.
bool dtype_is_float(DType dtype);
// F8_E4M3 / F8_E5M2 are read (listed, sized, bounds-checked) but flagged: nothing in the engine computes
// with them, so to_float() and the weight check reject them with a message naming the dtype.
bool dtype_is_fp8(DType dtype);

std::string shape_to_string(const std::vector<int64_t>& shape);  // "[576, 100]"

// A view into a mapped file; valid while the SafetensorsReader (or CheckpointFolder) that made it lives.
struct TensorView {
    std::string name;
    DType dtype = DType::F32;
    std::vector<int64_t> shape;  // [] for a scalar
    const uint8_t* data = nullptr;  // not necessarily aligned to the element size
    size_t nbytes = 0;
    std::string file;  // path of the file the bytes live in, for error messages
    size_t offset = 0; // byte offset of `data` inside `file`

    int64_t numel() const;
};

// F64/F32/F16/BF16 -> fp32 values in row-major order; throws awq::Error naming file and tensor otherwise.
std::vector<float> to_float(const TensorView& tensor);

class SafetensorsReader {
public:
    // Maps and validates the whole header; throws awq::Error("<path>", "<problem>") on anything malformed.
    explicit SafetensorsReader(const std::string& path);
    SafetensorsReader(const SafetensorsReader&) = delete;
    SafetensorsReader& operator=(const SafetensorsReader&) = delete;

    const std::string& path() const { return file_->path(); }
    size_t file_size() const { return file_->size(); }
    size_t data_start() const { return data_start_; }  // 8 + header length

    // In file (data offset) order.
    const std::vector<TensorView>& tensors() const { return tensors_; }
    const TensorView* find(std::string_view name) const;  // nullptr when absent
    // Throws awq::Error(path, "no tensor named '<name>'") when absent.
    const TensorView& tensor(std::string_view name) const;
    bool contains(std::string_view name) const { return find(name) != nullptr; }

    // The optional "__metadata__" string map (empty when absent).
    const std::map<std::string, std::string>& metadata() const { return metadata_; }

private:
    std::unique_ptr<MappedFile> file_;
    size_t data_start_ = 0;
    std::vector<TensorView> tensors_;
    std::map<std::string, size_t, std::less<>> index_;
    std::map<std::string, std::string> metadata_;
};

}  // namespace awq
