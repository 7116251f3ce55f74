// GGUF reader: metadata of every value type and the tensor directory against the gguf Python package
// (tests/data/gguf/metadata.*), and a clear awq::Error naming file and problem for malformed files.
#include <gtest/gtest.h>

#include "gguf_test_support.h"
#include "io/gguf_dequant.h"
#include "io/gguf_model_config.h"
#include "io/gguf_reader.h"
#include "io/gguf_vocab_reader.h"

namespace awq {
namespace {

using test::error_of;
using test::GgufBuilder;
namespace fs = std::filesystem;

nlohmann::json value_as_json(const GgufValue& v) {
    switch (v.type) {
        case GgufValueType::UINT8: case GgufValueType::UINT16: case GgufValueType::UINT32: case GgufValueType::UINT64:
            return v.u;
        case GgufValueType::INT8: case GgufValueType::INT16: case GgufValueType::INT32: case GgufValueType::INT64:
            return v.i;
        case GgufValueType::FLOAT32: case GgufValueType::FLOAT64: return v.f;
        case GgufValueType::BOOL: return v.u != 0;
        case GgufValueType::STRING: return v.s;
        case GgufValueType::ARRAY: {
            nlohmann::json a = nlohmann::json::array();
            for (const GgufValue& e : v.array) a.push_back(value_as_json(e));
            return a;
        }
    }
    return nullptr;
}

TEST(GgufReader, MetadataOfEveryTypeMatchesGgufPackage) {
    const nlohmann::json want = test::read_json_file(test::gguf_data_dir() / "metadata.json");
    GgufReader g((test::gguf_data_dir() / "metadata.gguf").string());
    EXPECT_EQ(g.version(), want["version"].get<uint32_t>());
    EXPECT_EQ(g.alignment(), want["alignment"].get<uint64_t>());
    EXPECT_EQ(g.get_string("general.architecture"), want["architecture"].get<std::string>());
    int checked = 0;
    for (const auto& [key, w] : want["metadata"].items()) {
        SCOPED_TRACE(key);
        const GgufValue* v = g.find(key);
        ASSERT_NE(v, nullptr);
        EXPECT_EQ(gguf_value_type_name(v->type), w["type"].get<std::string>());
        if (w.contains("array_type")) EXPECT_EQ(gguf_value_type_name(v->array_type), w["array_type"].get<std::string>());
        const nlohmann::json got = value_as_json(*v);
        if (v->type == GgufValueType::FLOAT32 || v->type == GgufValueType::FLOAT64)
            EXPECT_DOUBLE_EQ(got.get<double>(), w["value"].get<double>());
        else if (w["value"].is_array() && w.value("array_type", "") == "FLOAT32")
            for (size_t i = 0; i < w["value"].size(); ++i) EXPECT_DOUBLE_EQ(got[i].get<double>(), w["value"][i].get<double>());
        else
            EXPECT_EQ(got, w["value"]);
        ++checked;
    }
    EXPECT_EQ(checked, 17);  // 13 value types (incl. ARRAY in four forms) + general.alignment

    ASSERT_EQ(g.tensors().size(), want["tensors"].size());
    for (size_t i = 0; i < g.tensors().size(); ++i) {
        const auto& t = g.tensors()[i];
        const auto& w = want["tensors"][i];
        EXPECT_EQ(t.name, w["name"].get<std::string>());
        EXPECT_EQ(ggml_type_name(t.type), w["type"].get<std::string>());
        EXPECT_EQ(t.shape, w["shape"].get<std::vector<int64_t>>());
        EXPECT_EQ(t.offset, w["offset"].get<uint64_t>());
        EXPECT_EQ(t.nbytes, w["nbytes"].get<uint64_t>());
        EXPECT_EQ(t.offset % 64, 0u);
    }
    EXPECT_EQ(g.dequantize(g.tensor("a")), (std::vector<float>{0, 1, 2, 3, 4, 5}));
    EXPECT_EQ(g.dequantize(g.tensor("b")), (std::vector<float>{0, 1, 2, 3}));
}

TEST(GgufReader, TypedGettersConvertAndComplain) {
    const std::string path = (test::gguf_data_dir() / "metadata.gguf").string();
    GgufReader g(path);
    EXPECT_EQ(g.get_int("t.uint8"), 200);
    EXPECT_EQ(g.get_int("t.int64"), -9000000000000000000LL);
    EXPECT_EQ(g.get_int_opt("t.absent"), std::nullopt);
    EXPECT_DOUBLE_EQ(g.get_float("t.int16"), -30000.0);
    EXPECT_TRUE(g.get_bool("t.bool"));
    EXPECT_EQ(g.get_string_array("t.array_string"), (std::vector<std::string>{"a", "", "Ġhello"}));
    EXPECT_EQ(g.get_int_array("t.array_int32"), (std::vector<int64_t>{1, -2, 3}));
    EXPECT_EQ(g.get_float_array("t.array_float32"), (std::vector<double>{0.5, -1.25}));

    EXPECT_EQ(error_of([&] { g.get_int("t.string"); }), path + ": metadata key 't.string' is STRING, expected an integer");
    EXPECT_EQ(error_of([&] { g.get_string("t.absent"); }), path + ": missing metadata key 't.absent'");
    EXPECT_EQ(error_of([&] { g.get_string_array("t.array_int32"); }),
              path + ": metadata key 't.array_int32' is ARRAY of INT32, expected ARRAY of STRING");
    EXPECT_HAS(error_of([&] { g.get_int("t.uint64"); }), "too large");
    EXPECT_HAS(error_of([&] { g.get_bool_opt("t.float32"); }), "is FLOAT32, expected BOOL");
    EXPECT_EQ(error_of([&] { g.tensor("zz"); }), path + ": no tensor named 'zz'");
}

// ---- malformed files ----------------------------------------------------------------------------------

class GgufReaderBadInput : public ::testing::Test {
protected:
    void SetUp() override { dir_ = test::gguf_scratch_dir(); }
    std::string write(const std::string& name, const std::string& bytes) {
        const fs::path p = dir_ / name;
        test::write_file_bytes(p, bytes);
        return p.string();
    }
    std::string open_error(const std::string& path) {
        return error_of([&] { GgufReader g(path); });
    }
    // A valid one-tensor file: F32 [2, 32] at offset 0.
    static GgufBuilder valid() {
        GgufBuilder b;
        b.kv_string("general.architecture", "llama");
        b.tensor("x", {2, 32}, 0, 0);
        b.data.assign(2 * 32 * 4, '\0');
        return b;
    }
    fs::path dir_;
};

TEST_F(GgufReaderBadInput, ValidBuilderFileOpens) {
    const std::string p = write("ok.gguf", valid().build());
    GgufReader g(p);
    ASSERT_EQ(g.tensors().size(), 1u);
    EXPECT_EQ(g.tensors()[0].shape, (std::vector<int64_t>{2, 32}));
}

TEST_F(GgufReaderBadInput, WrongMagic) {
    GgufBuilder b = valid();
    b.magic = "GGML";
    const std::string p = write("magic.gguf", b.build());
    EXPECT_EQ(open_error(p), p + ": not a GGUF file (bad magic)");
    const std::string empty = write("empty.gguf", "");
    EXPECT_EQ(open_error(empty), empty + ": not a GGUF file (bad magic)");
}

TEST_F(GgufReaderBadInput, UnsupportedVersion) {
    GgufBuilder b = valid();
    b.version = 1;
    const std::string p = write("v1.gguf", b.build());
    EXPECT_EQ(open_error(p), p + ": unsupported GGUF version 1 (supported: 2, 3)");
    b.version = 3u << 24;
    const std::string be = write("be.gguf", b.build());
    EXPECT_EQ(open_error(be), be + ": big-endian GGUF files are not supported");
}

TEST_F(GgufReaderBadInput, TruncatedFileAtEveryPlace) {
    // Cutting a real golden file anywhere must give an error naming the file, never a crash.
    const std::string full = test::read_file_bytes(test::gguf_data_dir() / "metadata.gguf");
    ASSERT_EQ(full.size(), 896u);  // data section: 'a' at [768, 792), 'b' at [832, 840), padding to 896
    for (size_t cut : {3, 10, 30, 200, 450, 700, 800, 839}) {
        SCOPED_TRACE(cut);
        const std::string p = write("cut.gguf", full.substr(0, cut));
        const std::string msg = open_error(p);
        EXPECT_EQ(msg.rfind(p + ": ", 0), 0u) << msg;
        EXPECT_TRUE(msg.find("end of file") != std::string::npos || msg.find("bad magic") != std::string::npos ||
                    msg.find("exceeds what the file") != std::string::npos || msg.find("more than the rest") != std::string::npos)
            << msg;
    }
    const std::string p = write("cut.gguf", full.substr(0, 839));
    EXPECT_EQ(open_error(p), p + ": tensor 'b' data range [832, 840) runs past end of file (839 bytes)");
}

TEST_F(GgufReaderBadInput, TensorOffsetPastEndOfFile) {
    GgufBuilder b;
    b.tensor("x", {2, 32}, 0, 4096);
    b.data.assign(256, '\0');
    const std::string p = write("offset.gguf", b.build());
    const std::string msg = open_error(p);
    EXPECT_HAS(msg, p + ": tensor 'x' data range [");
    EXPECT_HAS(msg, "runs past end of file");
    GgufBuilder huge;
    huge.tensor("x", {2, 32}, 0, ~uint64_t(0) - 31);
    const std::string ph = write("huge_offset.gguf", huge.build());
    EXPECT_HAS(open_error(ph), "tensor 'x' data offset");
}

TEST_F(GgufReaderBadInput, UnknownTensorType) {
    GgufBuilder b;
    b.tensor("x", {2, 32}, 99, 0);
    b.data.assign(256, '\0');
    const std::string p = write("type.gguf", b.build());
    EXPECT_EQ(open_error(p), p + ": unknown tensor type 99 for tensor 'x'");
    GgufBuilder retired;  // id 4 (old Q4_2) no longer exists in ggml
    retired.tensor("y", {32}, 4, 0);
    const std::string pr = write("retired.gguf", retired.build());
    EXPECT_EQ(open_error(pr), pr + ": unknown tensor type 4 for tensor 'y'");
}

TEST_F(GgufReaderBadInput, OverlappingTensors) {
    GgufBuilder b;
    b.tensor("a", {2, 32}, 0, 0);   // bytes [0, 256)
    b.tensor("b", {32}, 0, 224);    // bytes [224, 352)
    b.data.assign(512, '\0');
    const std::string p = write("overlap.gguf", b.build());
    const std::string msg = open_error(p);
    EXPECT_HAS(msg, p + ": tensors 'a' ");
    EXPECT_HAS(msg, "and 'b' ");
    EXPECT_HAS(msg, "overlap");
}

TEST_F(GgufReaderBadInput, RowNotAWholeNumberOfBlocks) {
    GgufBuilder b;
    b.tensor("q", {4, 33}, 2, 0);  // Q4_0 rows must be multiples of 32
    b.data.assign(1024, '\0');
    const std::string p = write("blocks.gguf", b.build());
    EXPECT_EQ(open_error(p), p + ": tensor 'q' has rows of 33 weights, not a multiple of the Q4_0 block size 32");
}

TEST_F(GgufReaderBadInput, MisalignedOffset) {
    GgufBuilder b;
    b.tensor("x", {8}, 0, 4);
    b.data.assign(64, '\0');
    const std::string p = write("align.gguf", b.build());
    EXPECT_EQ(open_error(p), p + ": tensor 'x' data offset 4 is not a multiple of the alignment 32");
}

TEST_F(GgufReaderBadInput, DimensionsThatOverflow) {
    GgufBuilder b;
    b.tensor("x", {1ull << 40, 1ull << 40}, 0, 0);
    const std::string p = write("overflow.gguf", b.build());
    EXPECT_EQ(open_error(p), p + ": tensor 'x' has dimensions whose product overflows");
    GgufBuilder d5;
    d5.tensor("x", {1, 1, 1, 1, 32}, 0, 0);
    const std::string p5 = write("dims5.gguf", d5.build());
    EXPECT_EQ(open_error(p5), p5 + ": tensor 'x' has 5 dimensions (at most 4 are allowed)");
}

TEST_F(GgufReaderBadInput, CountsLargerThanTheFile) {
    GgufBuilder b = valid();
    b.tensor_count_override = uint64_t(1) << 60;
    const std::string p = write("tcount.gguf", b.build());
    EXPECT_HAS(open_error(p), p + ": tensor count 1152921504606846976 exceeds what the file");
    GgufBuilder k = valid();
    k.kv_count_override = ~uint64_t(0);
    const std::string pk = write("kvcount.gguf", k.build());
    EXPECT_HAS(open_error(pk), pk + ": metadata count 18446744073709551615 exceeds what the file");
    GgufBuilder a;
    std::string arr;
    GgufBuilder::put<uint32_t>(arr, 8);
    GgufBuilder::put<uint64_t>(arr, uint64_t(1) << 59);
    a.kv_raw("big", 9, arr);
    const std::string pa = write("arr.gguf", a.build());
    EXPECT_HAS(open_error(pa), pa + ": metadata key 'big' claims 576460752303423488 array elements");
}

TEST_F(GgufReaderBadInput, StringLengthPastEndOfFile) {
    GgufBuilder b;
    std::string v;
    GgufBuilder::put<uint64_t>(v, 1000000);
    v += "short";
    b.kv_raw("general.name", 8, v);
    const std::string p = write("str.gguf", b.build());
    const std::string msg = open_error(p);
    EXPECT_HAS(msg, p + ": string length 1000000 at byte ");
    EXPECT_HAS(msg, "metadata key 'general.name'");
    EXPECT_HAS(msg, "runs past end of file");
}

TEST_F(GgufReaderBadInput, UnknownMetadataType) {
    GgufBuilder b;
    b.kv_raw("weird", 13, std::string(8, '\0'));
    const std::string p = write("kvtype.gguf", b.build());
    EXPECT_EQ(open_error(p), p + ": metadata key 'weird' has unknown value type 13");
    GgufBuilder a;
    std::string arr;
    GgufBuilder::put<uint32_t>(arr, 77);
    GgufBuilder::put<uint64_t>(arr, 1);
    a.kv_raw("arr", 9, arr + std::string(8, '\0'));
    const std::string pa = write("arrtype.gguf", a.build());
    EXPECT_EQ(open_error(pa), pa + ": metadata key 'arr' has an array of unknown value type 77");
}

TEST_F(GgufReaderBadInput, DeeplyNestedArrays) {
    std::string v;
    for (int i = 0; i < 100; ++i) {
        GgufBuilder::put<uint32_t>(v, 9);
        GgufBuilder::put<uint64_t>(v, 1);
    }
    GgufBuilder b;
    b.kv_raw("deep", 9, v.substr(0, v.size()));
    const std::string p = write("deep.gguf", b.build());
    EXPECT_HAS(open_error(p), p + ": metadata key 'deep' nests arrays deeper than");
}

TEST_F(GgufReaderBadInput, DuplicatesAndBadAlignment) {
    GgufBuilder b = valid();
    b.kv_string("general.architecture", "qwen2");
    const std::string p = write("dupkey.gguf", b.build());
    EXPECT_EQ(open_error(p), p + ": duplicate metadata key 'general.architecture'");
    GgufBuilder t = valid();
    t.tensor("x", {32}, 0, 256);
    t.data.append(128, '\0');
    const std::string pt = write("duptensor.gguf", t.build());
    EXPECT_EQ(open_error(pt), pt + ": duplicate tensor name 'x'");
    GgufBuilder al = valid();
    al.kv_u32("general.alignment", 48);
    const std::string pal = write("align48.gguf", al.build());
    EXPECT_EQ(open_error(pal), pal + ": general.alignment 48 is not a power of two");
}

// Random byte damage to real files: every outcome must be a clean open or an awq::Error, never a crash,
// a hang or another exception type (run under ASan to catch out-of-bounds reads).
TEST_F(GgufReaderBadInput, CorruptedBytesNeverCrash) {
    uint64_t state = 0x9E3779B97F4A7C15ull;
    auto next = [&] {
        state ^= state << 13, state ^= state >> 7, state ^= state << 17;
        return state;
    };
    int opened = 0, rejected = 0;
    for (const char* name : {"metadata.gguf", "dequant_Q4_K.gguf", "dequant_Q6_K.gguf", "tiny_qwen2.gguf"}) {
        const std::string original = test::read_file_bytes(test::gguf_data_dir() / name);
        for (int round = 0; round < 150; ++round) {
            std::string bytes = original;
            const int edits = 1 + static_cast<int>(next() % 4);
            for (int e = 0; e < edits; ++e) {
                // Mostly hit the header/metadata region, where the structure lives.
                const size_t span = next() % 4 == 0 ? bytes.size() : std::min<size_t>(bytes.size(), 1024);
                bytes[next() % span] = static_cast<char>(next());
            }
            const std::string p = write("fuzz.gguf", bytes);
            try {
                GgufReader g(p);
                for (const auto& t : g.tensors())
                    if (can_dequantize(t.type)) g.dequantize(t);
                try { model_config_from_gguf(g); } catch (const Error&) {}
                try { read_gguf_vocab(g); } catch (const Error&) {}
                ++opened;
            } catch (const Error& e) {
                EXPECT_EQ(std::string(e.what()).rfind(p + ": ", 0), 0u) << e.what();
                ++rejected;
            }
        }
    }
    EXPECT_GT(rejected, 50);
    EXPECT_GT(opened, 50);
}

TEST_F(GgufReaderBadInput, MissingFile) {
    const std::string p = (dir_ / "absent.gguf").string();
    EXPECT_HAS(open_error(p), p + ": cannot open");
}

}  // namespace
}  // namespace awq
