// The safetensors reader against files written by the Python safetensors package (numpy and torch
// front ends), and against broken copies of them.
#include <gtest/gtest.h>

#include <cmath>
#include <unistd.h>

#include "core/half.h"
#include "io/safetensors_reader.h"
#include "safetensors_test_support.h"

namespace awq {
namespace {

using namespace awq::test;

// Every tensor the reference lists: dtype, shape, raw bytes and (for float dtypes) fp32 values.
void expect_matches_reference(const std::string& file_name) {
    const nlohmann::json exp = safetensors_expected().at(file_name);
    const fs::path path = safetensors_data_dir() / file_name;
    SafetensorsReader r(path.string());

    EXPECT_EQ(r.tensors().size(), exp["tensors"].size());
    std::map<std::string, std::string> meta = exp["metadata"].get<std::map<std::string, std::string>>();
    EXPECT_EQ(r.metadata(), meta);

    for (auto it = exp["tensors"].begin(); it != exp["tensors"].end(); ++it) {
        SCOPED_TRACE(file_name + ": " + it.key());
        const nlohmann::json& e = it.value();
        const TensorView& t = r.tensor(it.key());
        EXPECT_EQ(t.name, it.key());
        EXPECT_STREQ(dtype_name(t.dtype), e["dtype"].get<std::string>().c_str());
        EXPECT_EQ(t.shape, e["shape"].get<std::vector<int64_t>>());
        EXPECT_EQ(t.file, path.string());
        EXPECT_EQ(t.nbytes, (size_t)t.numel() * dtype_size(t.dtype));
        EXPECT_EQ(hex_of(t.data, t.nbytes), e["hex"].get<std::string>());
        EXPECT_GE(t.offset, r.data_start());
        EXPECT_LE(t.offset + t.nbytes, r.file_size());

        if (e.contains("f32_bits")) {
            ASSERT_TRUE(dtype_is_float(t.dtype));
            const std::vector<float> v = to_float(t);
            const auto bits = e["f32_bits"].get<std::vector<uint32_t>>();
            ASSERT_EQ(v.size(), bits.size());
            for (size_t i = 0; i < v.size(); ++i) {
                const float want = bits_to_float(bits[i]);
                if (std::isnan(want)) EXPECT_TRUE(std::isnan(v[i])) << "element " << i;
                else EXPECT_EQ(float_to_bits(v[i]), bits[i]) << "element " << i << ": " << v[i] << " vs " << want;
            }
        } else {
            const std::string msg = error_of([&] { to_float(t); });
            EXPECT_CONTAINS(msg, (path.string() + ": tensor '" + it.key() + "': cannot convert dtype " +
                                       e["dtype"].get<std::string>()));
        }
    }
}

TEST(SafetensorsReader, NumpyWrittenFileMatchesReference) { expect_matches_reference("numpy_dtypes.safetensors"); }

TEST(SafetensorsReader, TorchWrittenFileMatchesReference) { expect_matches_reference("torch_dtypes.safetensors"); }

TEST(SafetensorsReader, DtypesParseAndAreSized) {
    EXPECT_EQ(parse_dtype("BF16"), DType::BF16);
    EXPECT_EQ(dtype_size(DType::F8_E4M3), 1u);
    EXPECT_TRUE(dtype_is_fp8(DType::F8_E5M2));
    EXPECT_FALSE(dtype_is_float(DType::F8_E5M2));
    EXPECT_FALSE(parse_dtype("float16").has_value());  // the spelling in the format is "F16"
    EXPECT_FALSE(parse_dtype("F4").has_value());
}

TEST(SafetensorsReader, TensorsComeInFileOrder) {
    SafetensorsReader r((safetensors_data_dir() / "numpy_dtypes.safetensors").string());
    for (size_t i = 1; i < r.tensors().size(); ++i) EXPECT_LE(r.tensors()[i - 1].offset, r.tensors()[i].offset);
    const TensorView& scalar = r.tensor("scalar_f32");
    EXPECT_TRUE(scalar.shape.empty());
    EXPECT_EQ(scalar.numel(), 1);
    const TensorView& empty = r.tensor("empty_f32");
    EXPECT_EQ(empty.numel(), 0);
    EXPECT_EQ(empty.nbytes, 0u);
    EXPECT_TRUE(to_float(empty).empty());
}

TEST(SafetensorsReader, MissingTensorNamesFileAndTensor) {
    const std::string path = (safetensors_data_dir() / "numpy_dtypes.safetensors").string();
    SafetensorsReader r(path);
    EXPECT_EQ(r.find("nope"), nullptr);
    EXPECT_EQ(error_of([&] { r.tensor("nope"); }), path + ": no tensor named 'nope'");
}

TEST(SafetensorsReader, MissingFileIsAnError) {
    const fs::path dir = fresh_scratch_dir();
    const std::string path = (dir / "absent.safetensors").string();
    EXPECT_CONTAINS(error_of([&] { SafetensorsReader r(path); }), (path + ": cannot open"));
    fs::remove_all(dir);
}

// ---- broken copies of the golden numpy file ----

class BrokenSafetensors : public ::testing::Test {
protected:
    void SetUp() override {
        good_path = safetensors_data_dir() / "numpy_dtypes.safetensors";
        good = read_bytes(good_path);
        dir = fresh_scratch_dir();
        bad = (dir / "bad.safetensors").string();
    }
    void TearDown() override { fs::remove_all(dir); }
    std::string open_error(const std::string& bytes) {
        write_bytes(bad, bytes);
        return error_of([&] { SafetensorsReader r(bad); });
    }
    std::string open_error_with(const std::function<void(nlohmann::json&)>& edit) {
        rewrite_header(good_path, bad, edit);
        return error_of([&] { SafetensorsReader r(bad); });
    }
    fs::path good_path, dir;
    std::string good, bad;
};

TEST_F(BrokenSafetensors, FileShorterThanLengthField) {
    EXPECT_EQ(open_error(good.substr(0, 5)),
              bad + ": file is 5 bytes, too short for a safetensors header (needs at least 8)");
    EXPECT_CONTAINS(open_error(""), (bad + ": file is 0 bytes"));
}

TEST_F(BrokenSafetensors, TruncatedInsideHeader) {
    const uint64_t n = header_length_of(good);
    const size_t cut = 8 + n / 2;
    EXPECT_EQ(open_error(good.substr(0, cut)), bad + ": header length " + std::to_string(n) +
                                                   " runs past end of file (file is " + std::to_string(cut) + " bytes)");
}

TEST_F(BrokenSafetensors, HeaderLengthLargerThanFile) {
    EXPECT_EQ(open_error(with_header_length(good, good.size())),
              bad + ": header length " + std::to_string(good.size()) + " runs past end of file (file is " +
                  std::to_string(good.size()) + " bytes)");
    // A length that would wrap around when 8 is added must not slip through.
    EXPECT_CONTAINS(open_error(with_header_length(good, ~0ull)), ("runs past end of file"));
}

TEST_F(BrokenSafetensors, HeaderLengthOverLimit) {
    // A sparse 200 MB file whose length field claims a 150 MB header: inside the file, but not credible.
    std::string head = with_header_length(good.substr(0, 8), 150'000'000);
    write_bytes(bad, head);
    fs::resize_file(bad, 200'000'000);
    EXPECT_EQ(error_of([&] { SafetensorsReader r(bad); }),
              bad + ": header length 150000000 is over the 100000000-byte limit");
}

TEST_F(BrokenSafetensors, TruncatedInsideData) {
    SafetensorsReader ref(good_path.string());
    const TensorView* last = nullptr;
    for (const TensorView& t : ref.tensors())
        if (!last || t.offset + t.nbytes > last->offset + last->nbytes) last = &t;
    ASSERT_NE(last, nullptr);
    const size_t cut = good.size() - 10;
    const size_t begin = last->offset - ref.data_start(), end = begin + last->nbytes;
    ASSERT_GT(end, cut - ref.data_start());
    EXPECT_EQ(open_error(good.substr(0, cut)),
              bad + ": tensor '" + last->name + "': data range [" + std::to_string(begin) + ", " + std::to_string(end) +
                  ") runs past end of file (" + std::to_string(cut - ref.data_start()) + " bytes of data)");
}

TEST_F(BrokenSafetensors, HeaderNotJson) {
    const uint64_t n = header_length_of(good);
    std::string text = "this is not json";
    text.resize(n, ' ');
    std::string bytes = good;
    bytes.replace(8, n, text);
    EXPECT_CONTAINS(open_error(bytes), (bad + ": header is not valid JSON: "));
    EXPECT_EQ(open_error(with_header_text(good, "[1, 2, 3]")), bad + ": header is not a JSON object");
    EXPECT_CONTAINS(open_error(with_header_text(good, "")), (bad + ": header is not valid JSON: "));
}

TEST_F(BrokenSafetensors, HeaderNotUtf8) {
    const std::string header = "{\"caf\xe9\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}";
    EXPECT_CONTAINS(open_error(with_header_text(good, header)), (bad + ": header is not valid JSON: "));
}

TEST_F(BrokenSafetensors, TensorNamedTwice) {
    const std::string header = "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
                               "\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}";
    EXPECT_EQ(open_error(with_header_text(good, header)), bad + ": header contains the key 'a' twice");
}

TEST_F(BrokenSafetensors, OffsetsRunPastEnd) {
    const std::string size = std::to_string(good.size() - 8 - header_length_of(good));
    const std::string msg = open_error_with([&](nlohmann::json& h) {
        const uint64_t data = good.size() - 8 - header_length_of(good);
        h["f32"]["data_offsets"] = {data - 40, data - 40 + 84};  // right size, starts too late
    });
    const uint64_t data = std::stoull(size);
    // The rewritten header has a different length but the data section is the same.
    EXPECT_EQ(msg, bad + ": tensor 'f32': data range [" + std::to_string(data - 40) + ", " + std::to_string(data + 44) +
                       ") runs past end of file (" + size + " bytes of data)");
}

TEST_F(BrokenSafetensors, OffsetsDisagreeWithShapeAndDtype) {
    std::vector<uint64_t> off;
    const std::string msg = open_error_with([&](nlohmann::json& h) {
        h["f32"]["shape"] = {3, 8};
        off = h["f32"]["data_offsets"].get<std::vector<uint64_t>>();
    });
    EXPECT_EQ(msg, bad + ": tensor 'f32': data range [" + std::to_string(off[0]) + ", " + std::to_string(off[1]) +
                       ") holds 84 bytes but shape [3, 8] of F32 needs 96 bytes");
    EXPECT_CONTAINS(open_error_with([](nlohmann::json& h) { h["i16"]["dtype"] = "I32"; }), (bad + ": tensor 'i16': data range"));
}

TEST_F(BrokenSafetensors, BeginAfterEnd) {
    EXPECT_EQ(open_error_with([](nlohmann::json& h) { h["u8"]["data_offsets"] = {20, 11}; }),
              bad + ": tensor 'u8': data_offsets [20, 11] have begin after end");
}

TEST_F(BrokenSafetensors, OverlappingTensors) {
    std::vector<uint64_t> f32, i64;
    const std::string msg = open_error_with([&](nlohmann::json& h) {
        f32 = h["f32"]["data_offsets"].get<std::vector<uint64_t>>();
        // i64 (40 bytes) moved to start 4 bytes into f32's 84 bytes.
        i64 = {f32[0] + 4, f32[0] + 44};
        h["i64"]["data_offsets"] = i64;
    });
    auto range = [](const std::vector<uint64_t>& v) {
        return "[" + std::to_string(v[0]) + ", " + std::to_string(v[1]) + ")";
    };
    EXPECT_EQ(msg, bad + ": tensors 'f32' " + range(f32) + " and 'i64' " + range(i64) + " overlap");
}

TEST_F(BrokenSafetensors, UnknownDtype) {
    EXPECT_CONTAINS(open_error_with([](nlohmann::json& h) { h["u8"]["dtype"] = "F7"; }), (bad + ": tensor 'u8': unknown dtype 'F7' (supported: F64, F32"));
    EXPECT_EQ(open_error_with([](nlohmann::json& h) { h["u8"]["dtype"] = 8; }),
              bad + ": tensor 'u8': 'dtype' is not a string");
}

TEST_F(BrokenSafetensors, BadShapes) {
    EXPECT_EQ(open_error_with([](nlohmann::json& h) { h["u8"]["shape"] = {3, -3}; }),
              bad + ": tensor 'u8': shape [3,-3] has an entry that is not a non-negative integer");
    EXPECT_EQ(open_error_with([](nlohmann::json& h) { h["u8"]["shape"] = {3.0, 3}; }),
              bad + ": tensor 'u8': shape [3.0,3] has an entry that is not a non-negative integer");
    EXPECT_EQ(open_error_with([](nlohmann::json& h) { h["u8"]["shape"] = {1ull << 40, 1ull << 40}; }),
              bad + ": tensor 'u8': shape [1099511627776, 1099511627776] has too many elements");
    EXPECT_EQ(open_error_with([](nlohmann::json& h) { h["u8"]["shape"] = "3x3"; }),
              bad + ": tensor 'u8': 'shape' is not an array");
}

TEST_F(BrokenSafetensors, MissingOrMalformedFields) {
    EXPECT_EQ(open_error_with([](nlohmann::json& h) { h["u8"].erase("dtype"); }), bad + ": tensor 'u8': missing 'dtype'");
    EXPECT_EQ(open_error_with([](nlohmann::json& h) { h["u8"].erase("shape"); }), bad + ": tensor 'u8': missing 'shape'");
    EXPECT_EQ(open_error_with([](nlohmann::json& h) { h["u8"].erase("data_offsets"); }),
              bad + ": tensor 'u8': missing 'data_offsets'");
    EXPECT_EQ(open_error_with([](nlohmann::json& h) { h["u8"]["data_offsets"] = {0}; }),
              bad + ": tensor 'u8': 'data_offsets' [0] is not [begin, end] with non-negative integers");
    EXPECT_EQ(open_error_with([](nlohmann::json& h) { h["u8"] = "tensor"; }),
              bad + ": tensor 'u8': entry is not a JSON object");
    EXPECT_EQ(open_error_with([](nlohmann::json& h) { h["__metadata__"]["format"] = 1; }),
              bad + ": '__metadata__' value for key 'format' is not a string");
}

TEST_F(BrokenSafetensors, GapsBetweenTensorsAreAccepted) {
    // Dropping a tensor from the header leaves its bytes unreferenced; every other view is still exact.
    rewrite_header(good_path, bad, [](nlohmann::json& h) { h.erase("f32"); });
    SafetensorsReader r(bad);
    SafetensorsReader ref(good_path.string());
    EXPECT_EQ(r.tensors().size(), ref.tensors().size() - 1);
    const TensorView& a = r.tensor("f16");
    const TensorView& b = ref.tensor("f16");
    EXPECT_EQ(hex_of(a.data, a.nbytes), hex_of(b.data, b.nbytes));
}

}  // namespace
}  // namespace awq
