#pragma once
// Writes a .safetensors file: an 8-byte little-endian header length, a JSON header (dtype, shape,
// data_offsets per tensor, "__metadata__" {"format": "pt"}) padded with spaces to a multiple of 8, then the
// tensors back to back in the order they were added. The file appears atomically (temp + fsync + rename).
#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "core/progress.h"
#include "io/safetensors_reader.h"  // DType

namespace awq {

// "float32" / "float16" / "bfloat16" (torch spelling) -> F32 / F16 / BF16, the dtypes the writer can
// produce from floats; anything else throws naming `where`.
DType safetensors_dtype_from_torch(const std::string& torch_dtype, const std::string& where);

class SafetensorsWriter {
public:
    // Fills `out` (numel floats, row-major) when write() reaches the tensor; lets callers stream tensors
    // that are produced on demand (e.g. dequantized) without holding them all in memory.
    using Producer = std::function<void(float* out, size_t numel)>;

    explicit SafetensorsWriter(std::string path);  // errors from add*/write name this path

    // dtype must be F32, F16 or BF16. Floats are converted to `dtype` now (round to nearest even), so
    // only the stored bytes are kept.
    void add(const std::string& name, DType dtype, std::vector<int64_t> shape, std::span<const float> data);
    // Bytes already in `dtype`'s little-endian encoding (any dtype, e.g. packed I32 or fp16 bit patterns).
    void add_raw(const std::string& name, DType dtype, std::vector<int64_t> shape,
                 std::span<const uint8_t> bytes);
    void add_raw(const std::string& name, DType dtype, std::vector<int64_t> shape,
                 std::span<const uint16_t> halves);  // any 16-bit dtype (F16/BF16 bit patterns, I16, U16)
    // dtype must be F32, F16 or BF16.
    void add_lazy(const std::string& name, DType dtype, std::vector<int64_t> shape, Producer producer);
    void set_metadata(const std::string& key, const std::string& value);  // default: format = pt

    size_t tensor_count() const { return entries_.size(); }
    // Reports "write <file name>" per tensor and honours progress' cancel flag; a cancel or error leaves
    // no file behind (an existing file at `path` stays untouched).
    void write(const Progress& progress = {}) const;

private:
    struct Entry {
        std::string name;
        DType dtype;
        std::vector<int64_t> shape;
        uint64_t numel = 0;
        std::vector<uint8_t> bytes;  // when not lazy
        Producer producer;           // when lazy
    };
    Entry& add_entry(const std::string& name, DType dtype, std::vector<int64_t> shape);

    std::string path_;
    std::vector<Entry> entries_;
    std::map<std::string, std::string> metadata_{{"format", "pt"}};
};

}  // namespace awq
