#include "io/safetensors_writer.h"

#include <cstring>
#include <filesystem>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/half.h"
#include "io/atomic_write.h"

namespace awq {

DType safetensors_dtype_from_torch(const std::string& t, const std::string& where) {
    if (t == "float32") return DType::F32;
    if (t == "float16") return DType::F16;
    if (t == "bfloat16") return DType::BF16;
    throw Error(where, "unsupported dtype '" + t + "' (supported: float16, bfloat16, float32)");
}

namespace {

void check_float_target(const std::string& path, const std::string& name, DType dtype) {
    if (dtype != DType::F32 && dtype != DType::F16 && dtype != DType::BF16)
        throw Error(path, "tensor '" + name + "': cannot convert floats to " + dtype_name(dtype) +
                              " (supported: F32, F16, BF16)");
}

void encode(const float* src, size_t n, DType dtype, uint8_t* dst) {
    switch (dtype) {
        case DType::F32:
            std::memcpy(dst, src, n * 4);
            return;
        case DType::F16:
            for (size_t i = 0; i < n; ++i) {
                const uint16_t h = float_to_fp16(src[i]);
                dst[2 * i] = static_cast<uint8_t>(h);
                dst[2 * i + 1] = static_cast<uint8_t>(h >> 8);
            }
            return;
        case DType::BF16:
            for (size_t i = 0; i < n; ++i) {
                const uint16_t h = float_to_bf16(src[i]);
                dst[2 * i] = static_cast<uint8_t>(h);
                dst[2 * i + 1] = static_cast<uint8_t>(h >> 8);
            }
            return;
        default:
            return;  // add_entry admits only the three dtypes above
    }
}

}  // namespace

SafetensorsWriter::SafetensorsWriter(std::string path) : path_(std::move(path)) {}

SafetensorsWriter::Entry& SafetensorsWriter::add_entry(const std::string& name, DType dtype,
                                                       std::vector<int64_t> shape) {
    if (name.empty()) throw Error(path_, "tensor with an empty name");
    if (name == "__metadata__") throw Error(path_, "'__metadata__' is reserved and cannot name a tensor");
    for (const Entry& e : entries_)
        if (e.name == name) throw Error(path_, "tensor '" + name + "' added twice");
    uint64_t numel = 1;
    for (int64_t d : shape) {
        if (d < 0) throw Error(path_, "tensor '" + name + "' has a negative dimension");
        if (__builtin_mul_overflow(numel, static_cast<uint64_t>(d), &numel))
            throw Error(path_, "tensor '" + name + "' is too large");
    }
    Entry& e = entries_.emplace_back();
    e.name = name;
    e.dtype = dtype;
    e.shape = std::move(shape);
    e.numel = numel;
    return e;
}

void SafetensorsWriter::add(const std::string& name, DType dtype, std::vector<int64_t> shape,
                            std::span<const float> data) {
    check_float_target(path_, name, dtype);
    Entry& e = add_entry(name, dtype, std::move(shape));
    if (data.size() != e.numel) {
        const std::string msg = "tensor '" + name + "' has shape of " + std::to_string(e.numel) + " elements but " +
                                std::to_string(data.size()) + " values were given";
        entries_.pop_back();
        throw Error(path_, msg);
    }
    e.bytes.resize(e.numel * dtype_size(dtype));
    encode(data.data(), data.size(), dtype, e.bytes.data());
}

void SafetensorsWriter::add_raw(const std::string& name, DType dtype, std::vector<int64_t> shape,
                                std::span<const uint8_t> bytes) {
    Entry& e = add_entry(name, dtype, std::move(shape));
    if (bytes.size() != e.numel * dtype_size(dtype)) {
        const std::string msg = "tensor '" + name + "' needs " + std::to_string(e.numel * dtype_size(dtype)) +
                                " bytes of " + dtype_name(dtype) + " but " + std::to_string(bytes.size()) +
                                " were given";
        entries_.pop_back();
        throw Error(path_, msg);
    }
    e.bytes.assign(bytes.begin(), bytes.end());
}

void SafetensorsWriter::add_raw(const std::string& name, DType dtype, std::vector<int64_t> shape,
                                std::span<const uint16_t> halves) {
    if (dtype_size(dtype) != 2)
        throw Error(path_, "tensor '" + name + "': 16-bit values given for a " + dtype_name(dtype) + " tensor");
    std::vector<uint8_t> bytes(halves.size() * 2);
    for (size_t i = 0; i < halves.size(); ++i) {
        bytes[2 * i] = static_cast<uint8_t>(halves[i]);
        bytes[2 * i + 1] = static_cast<uint8_t>(halves[i] >> 8);
    }
    add_raw(name, dtype, std::move(shape), std::span<const uint8_t>(bytes));
}

void SafetensorsWriter::add_lazy(const std::string& name, DType dtype, std::vector<int64_t> shape,
                                 Producer producer) {
    if (!producer) throw Error(path_, "tensor '" + name + "' has no producer");
    check_float_target(path_, name, dtype);
    Entry& e = add_entry(name, dtype, std::move(shape));
    e.producer = std::move(producer);
}

void SafetensorsWriter::set_metadata(const std::string& key, const std::string& value) { metadata_[key] = value; }

void SafetensorsWriter::write(const Progress& progress) const {
    nlohmann::ordered_json header = nlohmann::ordered_json::object();
    header["__metadata__"] = metadata_;
    uint64_t offset = 0;
    for (const Entry& e : entries_) {
        const uint64_t n = e.numel * dtype_size(e.dtype);
        header[e.name] = {{"dtype", dtype_name(e.dtype)}, {"shape", e.shape}, {"data_offsets", {offset, offset + n}}};
        offset += n;
    }
    std::string text = header.dump();
    // Pad so the tensor data starts 8-byte aligned (8-byte length prefix + header).
    text.append((8 - text.size() % 8) % 8, ' ');

    progress.check_cancel();
    AtomicFile out(path_);
    uint8_t len[8];
    for (int i = 0; i < 8; ++i) len[i] = static_cast<uint8_t>(static_cast<uint64_t>(text.size()) >> (8 * i));
    out.write(len, 8);
    out.write(text);

    const std::string phase = "write " + std::filesystem::path(path_).filename().string();
    std::vector<float> floats;
    std::vector<uint8_t> bytes;
    for (size_t k = 0; k < entries_.size(); ++k) {
        progress.check_cancel();
        progress.report(phase, static_cast<int64_t>(k), static_cast<int64_t>(entries_.size()));
        const Entry& e = entries_[k];
        if (!e.producer) {
            out.write(e.bytes.data(), e.bytes.size());
            continue;
        }
        floats.assign(e.numel, 0.0f);
        e.producer(floats.data(), floats.size());
        bytes.resize(e.numel * dtype_size(e.dtype));
        encode(floats.data(), floats.size(), e.dtype, bytes.data());
        out.write(bytes.data(), bytes.size());
    }
    progress.check_cancel();
    out.commit();
    progress.report(phase, static_cast<int64_t>(entries_.size()), static_cast<int64_t>(entries_.size()));
}

}  // namespace awq
