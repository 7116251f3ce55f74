#include "io/safetensors_reader.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <set>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/half.h"

namespace awq {

// The format is little-endian; reading it by memcpy is only right on a little-endian host.
static_assert(std::endian::native == std::endian::little, "safetensors reader assumes a little-endian host");

namespace {

// Same limit as the reference implementation: a header this large is a corrupt length, not a real model.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

struct DTypeInfo {
    DType dtype;
    const char* name;
    size_t size;
};

constexpr DTypeInfo kDTypes[] = {
    {DType::F64, "F64", 8},         {DType::F32, "F32", 4},         {DType::F16, "F16", 2},
    {DType::BF16, "BF16", 2},       {DType::F8_E4M3, "F8_E4M3", 1}, {DType::F8_E5M2, "F8_E5M2", 1},
    {DType::I64, "I64", 8},         {DType::I32, "I32", 4},         {DType::I16, "I16", 2},
    {DType::I8, "I8", 1},           {DType::U64, "U64", 8},         {DType::U32, "U32", 4},
    {DType::U16, "U16", 2},         {DType::U8, "U8", 1},           {DType::BOOL, "BOOL", 1},
};

const DTypeInfo& info_of(DType d) {
    for (const auto& i : kDTypes)
        if (i.dtype == d) return i;
    throw Error("dtype", "internal error: unknown DType value " + std::to_string((int)d));
}

std::string supported_dtype_list() {
    std::string s;
    for (const auto& i : kDTypes) s += (s.empty() ? "" : ", ") + std::string(i.name);
    return s;
}

std::string range_string(uint64_t a, uint64_t b) { return "[" + std::to_string(a) + ", " + std::to_string(b) + ")"; }

// A JSON value that must be a non-negative integer (shape dims, offsets); nlohmann keeps non-negative
// literals as unsigned, so a signed value here is negative.
std::optional<uint64_t> as_unsigned(const nlohmann::json& v) {
    if (v.is_number_unsigned()) return v.get<uint64_t>();
    return std::nullopt;
}

nlohmann::json parse_header_json(const char* begin, const char* end, const std::string& path) {
    // nlohmann silently keeps the last of two equal keys; a header naming a tensor (or a field) twice is
    // ambiguous, so track the keys of every open object and refuse repeats.
    std::vector<std::set<std::string>> open_objects;
    std::string duplicate;
    auto cb = [&](int /*depth*/, nlohmann::json::parse_event_t ev, nlohmann::json& parsed) {
        using E = nlohmann::json::parse_event_t;
        if (ev == E::object_start) open_objects.emplace_back();
        else if (ev == E::object_end) {
            if (!open_objects.empty()) open_objects.pop_back();
        } else if (ev == E::key && !open_objects.empty() && parsed.is_string()) {
            const auto& k = parsed.get_ref<const std::string&>();
            if (!open_objects.back().insert(k).second && duplicate.empty()) duplicate = k;
        }
        return true;
    };
    nlohmann::json j;
    try {
        // The parser also rejects ill-formed UTF-8 inside strings.
        j = nlohmann::json::parse(begin, end, cb);
    } catch (const nlohmann::json::exception& e) {
        throw Error(path, std::string("header is not valid JSON: ") + e.what());
    }
    if (!j.is_object()) throw Error(path, "header is not a JSON object");
    if (!duplicate.empty()) throw Error(path, "header contains the key '" + duplicate + "' twice");
    return j;
}

}  // namespace

std::optional<DType> parse_dtype(std::string_view name) {
    for (const auto& i : kDTypes)
        if (name == i.name) return i.dtype;
    return std::nullopt;
}

const char* dtype_name(DType d) { return info_of(d).name; }
size_t dtype_size(DType d) { return info_of(d).size; }

bool dtype_is_float(DType d) { return d == DType::F64 || d == DType::F32 || d == DType::F16 || d == DType::BF16; }
bool dtype_is_fp8(DType d) { return d == DType::F8_E4M3 || d == DType::F8_E5M2; }

std::string shape_to_string(const std::vector<int64_t>& shape) {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

int64_t TensorView::numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;  // cannot overflow: the reader checked the product on open
    return n;
}

std::vector<float> to_float(const TensorView& t) {
    const size_t n = (size_t)t.numel();
    std::vector<float> out(n);
    // memcpy per element: the data section offset makes no alignment promise.
    switch (t.dtype) {
    case DType::F32:
        if (n) std::memcpy(out.data(), t.data, n * 4);
        break;
    case DType::F64:
        for (size_t i = 0; i < n; ++i) {
            double v;
            std::memcpy(&v, t.data + 8 * i, 8);
            out[i] = (float)v;
        }
        break;
    case DType::F16:
        for (size_t i = 0; i < n; ++i) {
            uint16_t h;
            std::memcpy(&h, t.data + 2 * i, 2);
            out[i] = fp16_to_float(h);
        }
        break;
    case DType::BF16:
        for (size_t i = 0; i < n; ++i) {
            uint16_t h;
            std::memcpy(&h, t.data + 2 * i, 2);
            out[i] = bf16_to_float(h);
        }
        break;
    default:
        throw Error(t.file, "tensor '" + t.name + "': cannot convert dtype " + dtype_name(t.dtype) +
                                " to float (supported: F64, F32, F16, BF16)");
    }
    return out;
}

SafetensorsReader::SafetensorsReader(const std::string& path) : file_(std::make_unique<MappedFile>(path)) {
    const uint8_t* base = file_->data();
    const uint64_t file_size = file_->size();
    if (file_size < 8)
        throw Error(path, "file is " + std::to_string(file_size) +
                              " bytes, too short for a safetensors header (needs at least 8)");
    uint64_t header_len;
    std::memcpy(&header_len, base, 8);
    if (header_len > file_size - 8)
        throw Error(path, "header length " + std::to_string(header_len) + " runs past end of file (file is " +
                              std::to_string(file_size) + " bytes)");
    if (header_len > kMaxHeaderBytes)
        throw Error(path, "header length " + std::to_string(header_len) + " is over the " +
                              std::to_string(kMaxHeaderBytes) + "-byte limit");
    data_start_ = 8 + (size_t)header_len;
    const uint64_t data_size = file_size - data_start_;

    const char* hbegin = reinterpret_cast<const char*>(base + 8);
    nlohmann::json header = parse_header_json(hbegin, hbegin + header_len, path);

    struct Range {
        uint64_t begin, end;
        size_t index;
    };
    std::vector<Range> ranges;
    for (auto it = header.begin(); it != header.end(); ++it) {
        const std::string& name = it.key();
        const nlohmann::json& e = it.value();
        if (name == "__metadata__") {
            if (!e.is_object()) throw Error(path, "'__metadata__' is not a JSON object of strings");
            for (auto m = e.begin(); m != e.end(); ++m) {
                if (!m.value().is_string())
                    throw Error(path, "'__metadata__' value for key '" + m.key() + "' is not a string");
                metadata_[m.key()] = m.value().get<std::string>();
            }
            continue;
        }
        const std::string where = "tensor '" + name + "': ";
        if (!e.is_object()) throw Error(path, where + "entry is not a JSON object");

        if (!e.contains("dtype")) throw Error(path, where + "missing 'dtype'");
        if (!e["dtype"].is_string()) throw Error(path, where + "'dtype' is not a string");
        const std::string dtype_str = e["dtype"].get<std::string>();
        std::optional<DType> dtype = parse_dtype(dtype_str);
        if (!dtype)
            throw Error(path, where + "unknown dtype '" + dtype_str + "' (supported: " + supported_dtype_list() + ")");

        if (!e.contains("shape")) throw Error(path, where + "missing 'shape'");
        if (!e["shape"].is_array()) throw Error(path, where + "'shape' is not an array");
        std::vector<int64_t> shape;
        uint64_t numel = 1;
        bool overflow = false;
        for (const auto& d : e["shape"]) {
            std::optional<uint64_t> v = as_unsigned(d);
            if (!v || *v > (uint64_t)std::numeric_limits<int64_t>::max())
                throw Error(path, where + "shape " + e["shape"].dump() + " has an entry that is not a non-negative integer");
            shape.push_back((int64_t)*v);
            if (*v != 0 && numel > std::numeric_limits<uint64_t>::max() / *v) overflow = true;
            else numel *= *v;
        }
        const size_t esize = dtype_size(*dtype);
        // A zero dimension makes the tensor empty even if other dimensions multiplied past 2^64.
        if (std::find(shape.begin(), shape.end(), 0) != shape.end()) overflow = false, numel = 0;
        if (overflow || numel > (uint64_t)std::numeric_limits<int64_t>::max() / esize)
            throw Error(path, where + "shape " + shape_to_string(shape) + " has too many elements");
        const uint64_t need = numel * esize;

        if (!e.contains("data_offsets")) throw Error(path, where + "missing 'data_offsets'");
        const auto& off = e["data_offsets"];
        std::optional<uint64_t> b, en;
        if (off.is_array() && off.size() == 2) b = as_unsigned(off[0]), en = as_unsigned(off[1]);
        if (!b || !en)
            throw Error(path, where + "'data_offsets' " + off.dump() + " is not [begin, end] with non-negative integers");
        if (*b > *en)
            throw Error(path, where + "data_offsets [" + std::to_string(*b) + ", " + std::to_string(*en) +
                                  "] have begin after end");
        if (*en - *b != need)
            throw Error(path, where + "data range " + range_string(*b, *en) + " holds " + std::to_string(*en - *b) +
                                  " bytes but shape " + shape_to_string(shape) + " of " + dtype_name(*dtype) +
                                  " needs " + std::to_string(need) + " bytes");
        if (*en > data_size)
            throw Error(path, where + "data range " + range_string(*b, *en) + " runs past end of file (" +
                                  std::to_string(data_size) + " bytes of data)");

        TensorView t;
        t.name = name;
        t.dtype = *dtype;
        t.shape = std::move(shape);
        t.offset = data_start_ + (size_t)*b;
        t.data = base + t.offset;
        t.nbytes = (size_t)need;
        t.file = path;
        ranges.push_back({*b, *en, tensors_.size()});
        tensors_.push_back(std::move(t));
    }

    // Overlapping tensors would alias each other's bytes. Gaps and trailing bytes are harmless (every view
    // is still exactly its own bytes), so unlike the reference writer's strict layout they are accepted.
    std::sort(ranges.begin(), ranges.end(), [](const Range& x, const Range& y) {
        return x.begin != y.begin ? x.begin < y.begin : x.end < y.end;
    });
    const Range* prev = nullptr;  // the non-empty range reaching furthest so far
    for (const Range& r : ranges) {
        if (r.begin == r.end) continue;  // an empty tensor owns no bytes
        if (prev && r.begin < prev->end) {
            const TensorView& a = tensors_[prev->index];
            const TensorView& c = tensors_[r.index];
            throw Error(path, "tensors '" + a.name + "' " + range_string(prev->begin, prev->end) + " and '" + c.name +
                                  "' " + range_string(r.begin, r.end) + " overlap");
        }
        if (!prev || r.end > prev->end) prev = &r;
    }

    std::vector<TensorView> ordered;
    ordered.reserve(tensors_.size());
    for (const Range& r : ranges) ordered.push_back(std::move(tensors_[r.index]));
    tensors_ = std::move(ordered);
    for (size_t i = 0; i < tensors_.size(); ++i) index_.emplace(tensors_[i].name, i);
}

const TensorView* SafetensorsReader::find(std::string_view name) const {
    auto it = index_.find(name);
    return it == index_.end() ? nullptr : &tensors_[it->second];
}

const TensorView& SafetensorsReader::tensor(std::string_view name) const {
    const TensorView* t = find(name);
    if (!t) throw Error(path(), "no tensor named '" + std::string(name) + "'");
    return *t;
}

}  // namespace awq
