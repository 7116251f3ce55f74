#include "io/gguf_reader.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "core/error.h"
#include "io/gguf_dequant.h"

namespace awq {

namespace {

constexpr uint32_t kMaxDims = 4;          // GGML_MAX_DIMS
constexpr int kMaxArrayNesting = 8;       // GGUF allows nesting; real files use none, so keep recursion shallow
constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 4 + 8;  // name length, n_dims, type, offset
constexpr uint64_t kMinKvBytes = 8 + 4 + 1;              // key length, type, smallest value

bool known_value_type(uint32_t t) { return t <= static_cast<uint32_t>(GgufValueType::FLOAT64); }

// Smallest encoding of one value of type t, used to reject element counts the file cannot hold.
uint64_t min_value_bytes(GgufValueType t) {
    switch (t) {
        case GgufValueType::UINT8: case GgufValueType::INT8: case GgufValueType::BOOL: return 1;
        case GgufValueType::UINT16: case GgufValueType::INT16: return 2;
        case GgufValueType::UINT32: case GgufValueType::INT32: case GgufValueType::FLOAT32: return 4;
        case GgufValueType::UINT64: case GgufValueType::INT64: case GgufValueType::FLOAT64: return 8;
        case GgufValueType::STRING: return 8;
        case GgufValueType::ARRAY: return 4 + 8;
    }
    return 1;
}

// Bounds-checked little-endian reads over the mapped bytes.
class Cursor {
public:
    Cursor(const uint8_t* data, size_t size, const std::string& path) : data_(data), size_(size), path_(path) {}

    uint64_t pos() const { return pos_; }
    uint64_t remaining() const { return size_ - pos_; }

    void need(uint64_t n, const std::string& what) const {
        if (n > remaining())
            throw Error(path_, "unexpected end of file at byte " + std::to_string(pos_) + " while reading " + what +
                                   " (file is " + std::to_string(size_) + " bytes)");
    }
    template <typename T>
    T read(const std::string& what) {
        need(sizeof(T), what);
        T v;
        std::memcpy(&v, data_ + pos_, sizeof(T));
        pos_ += sizeof(T);
        return v;
    }
    std::string str(const std::string& what) {
        const uint64_t at = pos_;
        const uint64_t len = read<uint64_t>("the length of " + what);
        if (len > remaining())
            throw Error(path_, "string length " + std::to_string(len) + " at byte " + std::to_string(at) + " (" + what +
                                   ") runs past end of file (" + std::to_string(size_) + " bytes)");
        std::string s(reinterpret_cast<const char*>(data_ + pos_), static_cast<size_t>(len));
        pos_ += len;
        return s;
    }

private:
    const uint8_t* data_;
    uint64_t size_;
    uint64_t pos_ = 0;
    const std::string& path_;
};

GgufValue read_value(Cursor& c, GgufValueType type, const std::string& key, int depth, const std::string& path) {
    GgufValue v;
    v.type = type;
    const std::string what = "the value of metadata key '" + key + "'";
    switch (type) {
        case GgufValueType::UINT8: v.u = c.read<uint8_t>(what); break;
        case GgufValueType::INT8: v.i = c.read<int8_t>(what); break;
        case GgufValueType::UINT16: v.u = c.read<uint16_t>(what); break;
        case GgufValueType::INT16: v.i = c.read<int16_t>(what); break;
        case GgufValueType::UINT32: v.u = c.read<uint32_t>(what); break;
        case GgufValueType::INT32: v.i = c.read<int32_t>(what); break;
        case GgufValueType::UINT64: v.u = c.read<uint64_t>(what); break;
        case GgufValueType::INT64: v.i = c.read<int64_t>(what); break;
        case GgufValueType::FLOAT32: v.f = c.read<float>(what); break;
        case GgufValueType::FLOAT64: v.f = c.read<double>(what); break;
        case GgufValueType::BOOL: v.u = c.read<uint8_t>(what) != 0 ? 1 : 0; break;
        case GgufValueType::STRING: v.s = c.str(what); break;
        case GgufValueType::ARRAY: {
            if (depth >= kMaxArrayNesting)
                throw Error(path, "metadata key '" + key + "' nests arrays deeper than " +
                                      std::to_string(kMaxArrayNesting) + " levels");
            const uint32_t et = c.read<uint32_t>("the element type of metadata key '" + key + "'");
            if (!known_value_type(et))
                throw Error(path, "metadata key '" + key + "' has an array of unknown value type " + std::to_string(et));
            v.array_type = static_cast<GgufValueType>(et);
            const uint64_t count = c.read<uint64_t>("the element count of metadata key '" + key + "'");
            if (count > c.remaining() / min_value_bytes(v.array_type))
                throw Error(path, "metadata key '" + key + "' claims " + std::to_string(count) +
                                      " array elements, more than the rest of the file can hold");
            v.array.reserve(static_cast<size_t>(count));
            for (uint64_t k = 0; k < count; ++k) v.array.push_back(read_value(c, v.array_type, key, depth + 1, path));
            break;
        }
    }
    return v;
}

bool mul_overflows(uint64_t a, uint64_t b, uint64_t& out) { return __builtin_mul_overflow(a, b, &out); }
bool add_overflows(uint64_t a, uint64_t b, uint64_t& out) { return __builtin_add_overflow(a, b, &out); }

std::string range_text(uint64_t a, uint64_t b) { return "[" + std::to_string(a) + ", " + std::to_string(b) + ")"; }

}  // namespace

std::string gguf_value_type_name(GgufValueType t) {
    static const char* const names[] = {"UINT8", "INT8",  "UINT16", "INT16",  "UINT32", "INT32",  "FLOAT32",
                                        "BOOL",  "STRING", "ARRAY", "UINT64", "INT64",  "FLOAT64"};
    const auto i = static_cast<uint32_t>(t);
    return i < 13 ? names[i] : "type " + std::to_string(i);
}

bool GgufValue::is_integer() const {
    switch (type) {
        case GgufValueType::UINT8: case GgufValueType::INT8: case GgufValueType::UINT16: case GgufValueType::INT16:
        case GgufValueType::UINT32: case GgufValueType::INT32: case GgufValueType::UINT64: case GgufValueType::INT64:
            return true;
        default:
            return false;
    }
}

std::string GgufValue::describe_type() const {
    if (type != GgufValueType::ARRAY) return gguf_value_type_name(type);
    return "ARRAY of " + gguf_value_type_name(array_type);
}

int64_t GgufTensorInfo::numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;  // validated not to overflow when the file was opened
    return n;
}

GgufReader::GgufReader(const std::string& path) : file_(std::make_unique<MappedFile>(path)) { parse(); }

void GgufReader::parse() {
    const std::string& p = path();
    const uint8_t* data = file_->data();
    const uint64_t size = file_->size();
    if (size < 4 || std::memcmp(data, "GGUF", 4) != 0) throw Error(p, "not a GGUF file (bad magic)");
    Cursor c(data, size, p);
    c.read<uint32_t>("the magic");
    version_ = c.read<uint32_t>("the version");
    if (version_ != 2 && version_ != 3) {
        if (version_ == (2u << 24) || version_ == (3u << 24))
            throw Error(p, "big-endian GGUF files are not supported");
        throw Error(p, "unsupported GGUF version " + std::to_string(version_) + " (supported: 2, 3)");
    }
    const uint64_t n_tensors = c.read<uint64_t>("the tensor count");
    const uint64_t n_kv = c.read<uint64_t>("the metadata count");
    if (n_kv > c.remaining() / kMinKvBytes)
        throw Error(p, "metadata count " + std::to_string(n_kv) + " exceeds what the file (" + std::to_string(size) +
                           " bytes) can hold");
    if (n_tensors > c.remaining() / kMinTensorInfoBytes)
        throw Error(p, "tensor count " + std::to_string(n_tensors) + " exceeds what the file (" +
                           std::to_string(size) + " bytes) can hold");

    metadata_.reserve(static_cast<size_t>(n_kv));
    for (uint64_t k = 0; k < n_kv; ++k) {
        std::string key = c.str("metadata key #" + std::to_string(k));
        const uint32_t type = c.read<uint32_t>("the value type of metadata key '" + key + "'");
        if (!known_value_type(type))
            throw Error(p, "metadata key '" + key + "' has unknown value type " + std::to_string(type));
        GgufValue v = read_value(c, static_cast<GgufValueType>(type), key, 0, p);
        if (metadata_index_.count(key)) throw Error(p, "duplicate metadata key '" + key + "'");
        metadata_index_.emplace(key, metadata_.size());
        metadata_.emplace_back(std::move(key), std::move(v));
    }

    if (const GgufValue* a = find("general.alignment")) {
        if (!a->is_integer() || a->type == GgufValueType::INT8 || a->type == GgufValueType::INT16 ||
            a->type == GgufValueType::INT32 || a->type == GgufValueType::INT64)
            throw Error(p, "metadata key 'general.alignment' is " + a->describe_type() + ", expected an unsigned integer");
        alignment_ = a->u;
        if (alignment_ == 0 || (alignment_ & (alignment_ - 1)) != 0)
            throw Error(p, "general.alignment " + std::to_string(alignment_) + " is not a power of two");
    }

    tensors_.reserve(static_cast<size_t>(n_tensors));
    for (uint64_t k = 0; k < n_tensors; ++k) {
        TensorInfo t;
        t.name = c.str("the name of tensor #" + std::to_string(k));
        const std::string tn = "tensor '" + t.name + "'";
        const uint32_t n_dims = c.read<uint32_t>("the dimension count of " + tn);
        if (n_dims > kMaxDims)
            throw Error(p, tn + " has " + std::to_string(n_dims) + " dimensions (at most " + std::to_string(kMaxDims) +
                               " are allowed)");
        std::vector<int64_t> dims(n_dims);  // GGUF order: innermost first
        uint64_t numel = 1;
        for (uint32_t d = 0; d < n_dims; ++d) {
            const uint64_t n = c.read<uint64_t>("the dimensions of " + tn);
            if (mul_overflows(numel, n, numel) || numel > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
                throw Error(p, tn + " has dimensions whose product overflows");
            dims[d] = static_cast<int64_t>(n);
        }
        const uint32_t type = c.read<uint32_t>("the type of " + tn);
        const GgmlTypeInfo* ti = ggml_type_info(type);
        if (!ti) throw Error(p, "unknown tensor type " + std::to_string(type) + " for " + tn);
        t.type = ti->type;
        const uint64_t ne0 = n_dims ? static_cast<uint64_t>(dims[0]) : 1;
        if (ne0 % static_cast<uint64_t>(ti->block_size) != 0)
            throw Error(p, tn + " has rows of " + std::to_string(ne0) + " weights, not a multiple of the " + ti->name +
                               " block size " + std::to_string(ti->block_size));
        const uint64_t blocks = numel / static_cast<uint64_t>(ti->block_size);
        if (mul_overflows(blocks, static_cast<uint64_t>(ti->type_size), t.nbytes))
            throw Error(p, tn + " byte size overflows");
        t.offset = c.read<uint64_t>("the data offset of " + tn);  // relative for now
        t.shape.assign(dims.rbegin(), dims.rend());
        if (tensor_index_.count(t.name)) throw Error(p, "duplicate tensor name '" + t.name + "'");
        tensor_index_.emplace(t.name, tensors_.size());
        tensors_.push_back(std::move(t));
    }

    const uint64_t pad = (alignment_ - c.pos() % alignment_) % alignment_;
    data_start_ = c.pos() + pad;
    for (TensorInfo& t : tensors_) {
        const std::string tn = "tensor '" + t.name + "'";
        if (t.offset % alignment_ != 0)
            throw Error(p, tn + " data offset " + std::to_string(t.offset) + " is not a multiple of the alignment " +
                               std::to_string(alignment_));
        uint64_t begin = 0, end = 0;
        if (add_overflows(data_start_, t.offset, begin))
            throw Error(p, tn + " data offset " + std::to_string(t.offset) + " runs past end of file (" +
                               std::to_string(size) + " bytes)");
        if (add_overflows(begin, t.nbytes, end) || end > size)
            throw Error(p, tn + " data range " + range_text(begin, begin + t.nbytes) + " runs past end of file (" +
                               std::to_string(size) + " bytes)");
        t.offset = begin;
    }

    std::vector<const TensorInfo*> by_offset;
    for (const TensorInfo& t : tensors_)
        if (t.nbytes > 0) by_offset.push_back(&t);
    std::sort(by_offset.begin(), by_offset.end(),
              [](const TensorInfo* a, const TensorInfo* b) { return a->offset < b->offset; });
    for (size_t k = 1; k < by_offset.size(); ++k) {
        const TensorInfo* a = by_offset[k - 1];
        const TensorInfo* b = by_offset[k];
        if (b->offset < a->offset + a->nbytes)
            throw Error(p, "tensors '" + a->name + "' " + range_text(a->offset, a->offset + a->nbytes) + " and '" +
                               b->name + "' " + range_text(b->offset, b->offset + b->nbytes) + " overlap");
    }
}

const GgufValue* GgufReader::find(const std::string& key) const {
    auto it = metadata_index_.find(key);
    return it == metadata_index_.end() ? nullptr : &metadata_[it->second].second;
}

const GgufValue& GgufReader::get(const std::string& key) const {
    const GgufValue* v = find(key);
    if (!v) throw Error(path(), "missing metadata key '" + key + "'");
    return *v;
}

namespace {

[[noreturn]] void wrong_type(const std::string& path, const std::string& key, const GgufValue& v, const char* expected) {
    throw Error(path, "metadata key '" + key + "' is " + v.describe_type() + ", expected " + expected);
}

bool integer_value(const GgufValue& v, int64_t& out) {
    if (!v.is_integer()) return false;
    if (v.type == GgufValueType::UINT8 || v.type == GgufValueType::UINT16 || v.type == GgufValueType::UINT32 ||
        v.type == GgufValueType::UINT64) {
        if (v.u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return false;
        out = static_cast<int64_t>(v.u);
    } else {
        out = v.i;
    }
    return true;
}

}  // namespace

int64_t GgufReader::get_int(const std::string& key) const {
    const GgufValue& v = get(key);
    int64_t out = 0;
    if (!integer_value(v, out)) {
        if (v.is_integer()) throw Error(path(), "metadata key '" + key + "' value " + std::to_string(v.u) + " is too large");
        wrong_type(path(), key, v, "an integer");
    }
    return out;
}

double GgufReader::get_float(const std::string& key) const {
    const GgufValue& v = get(key);
    if (v.is_float()) return v.f;
    int64_t i = 0;
    if (integer_value(v, i)) return static_cast<double>(i);
    wrong_type(path(), key, v, "a number");
}

bool GgufReader::get_bool(const std::string& key) const {
    const GgufValue& v = get(key);
    if (v.type != GgufValueType::BOOL) wrong_type(path(), key, v, "BOOL");
    return v.u != 0;
}

std::string GgufReader::get_string(const std::string& key) const {
    const GgufValue& v = get(key);
    if (v.type != GgufValueType::STRING) wrong_type(path(), key, v, "STRING");
    return v.s;
}

std::vector<std::string> GgufReader::get_string_array(const std::string& key) const {
    const GgufValue& v = get(key);
    if (v.type != GgufValueType::ARRAY || v.array_type != GgufValueType::STRING)
        wrong_type(path(), key, v, "ARRAY of STRING");
    std::vector<std::string> out;
    out.reserve(v.array.size());
    for (const GgufValue& e : v.array) out.push_back(e.s);
    return out;
}

std::vector<int64_t> GgufReader::get_int_array(const std::string& key) const {
    const GgufValue& v = get(key);
    if (v.type != GgufValueType::ARRAY) wrong_type(path(), key, v, "an ARRAY of integers");
    std::vector<int64_t> out;
    out.reserve(v.array.size());
    for (const GgufValue& e : v.array) {
        int64_t i = 0;
        if (!integer_value(e, i)) wrong_type(path(), key, v, "an ARRAY of integers that fit int64");
        out.push_back(i);
    }
    return out;
}

std::vector<double> GgufReader::get_float_array(const std::string& key) const {
    const GgufValue& v = get(key);
    if (v.type != GgufValueType::ARRAY) wrong_type(path(), key, v, "an ARRAY of numbers");
    std::vector<double> out;
    out.reserve(v.array.size());
    for (const GgufValue& e : v.array) {
        int64_t i = 0;
        if (e.is_float()) out.push_back(e.f);
        else if (integer_value(e, i)) out.push_back(static_cast<double>(i));
        else wrong_type(path(), key, v, "an ARRAY of numbers");
    }
    return out;
}

std::optional<int64_t> GgufReader::get_int_opt(const std::string& key) const {
    return has(key) ? std::optional<int64_t>(get_int(key)) : std::nullopt;
}
std::optional<double> GgufReader::get_float_opt(const std::string& key) const {
    return has(key) ? std::optional<double>(get_float(key)) : std::nullopt;
}
std::optional<bool> GgufReader::get_bool_opt(const std::string& key) const {
    return has(key) ? std::optional<bool>(get_bool(key)) : std::nullopt;
}
std::optional<std::string> GgufReader::get_string_opt(const std::string& key) const {
    return has(key) ? std::optional<std::string>(get_string(key)) : std::nullopt;
}

const GgufTensorInfo* GgufReader::find_tensor(const std::string& name) const {
    auto it = tensor_index_.find(name);
    return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

const GgufTensorInfo& GgufReader::tensor(const std::string& name) const {
    const TensorInfo* t = find_tensor(name);
    if (!t) throw Error(path(), "no tensor named '" + name + "'");
    return *t;
}

std::vector<float> GgufReader::dequantize(const TensorInfo& t) const {
    std::vector<float> out(static_cast<size_t>(t.numel()));
    dequantize(t, out.data(), out.size());
    return out;
}

void GgufReader::dequantize(const TensorInfo& t, float* out, size_t out_len) const {
    if (!can_dequantize(t.type))
        throw Error(path(), "tensor '" + t.name + "' has type " + ggml_type_name(t.type) +
                                ", which cannot be dequantized (supported: " + dequantizable_type_names() + ")");
    if (out_len != static_cast<size_t>(t.numel()))
        throw Error(path(), "tensor '" + t.name + "' has " + std::to_string(t.numel()) +
                                " elements but the output buffer holds " + std::to_string(out_len));
    const GgmlTypeInfo& ti = ggml_type_info(t.type);
    // Guards against a TensorInfo that did not come from this file.
    if (t.offset > file_->size() || t.nbytes > file_->size() - t.offset ||
        t.nbytes != static_cast<uint64_t>(t.numel() / ti.block_size * ti.type_size))
        throw Error(path(), "tensor '" + t.name + "' does not describe data inside this file");
    dequantize_row(t.type, tensor_data(t), out, t.numel());
}

}  // namespace awq
