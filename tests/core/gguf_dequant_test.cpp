// Dequantization of every supported GGUF type equals the gguf Python package (gguf.quants.dequantize) bit
// for bit on the golden files of tests/reference/make_gguf_golden.py; other types fail with their name.
#include <gtest/gtest.h>

#include <cmath>

#include "convert/rope_permutation.h"
#include "gguf_test_support.h"
#include "io/ggml_type.h"
#include "io/gguf_dequant.h"
#include "io/gguf_reader.h"

namespace awq {
namespace {

using test::error_of;

class GgufDequantGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(GgufDequantGolden, EqualsGgufPackage) {
    const std::string type = GetParam();
    const auto gguf_path = test::gguf_data_dir() / ("dequant_" + type + ".gguf");
    const std::string raw = test::read_file_bytes(test::gguf_data_dir() / ("dequant_" + type + ".expected.f32"));
    std::vector<float> want(raw.size() / 4);
    std::memcpy(want.data(), raw.data(), raw.size());

    GgufReader g(gguf_path.string());
    const GgufTensorInfo& t = g.tensor("weight");
    EXPECT_EQ(ggml_type_name(t.type), type);
    EXPECT_EQ(t.shape, (std::vector<int64_t>{3, 512}));
    const std::vector<float> got = g.dequantize(t);
    ASSERT_EQ(got.size(), want.size());
    size_t differ = 0, first = 0;
    for (size_t i = 0; i < got.size(); ++i)
        if (std::memcmp(&got[i], &want[i], 4) != 0 && differ++ == 0) first = i;
    EXPECT_EQ(differ, 0u) << "first difference at " << first << ": " << got[first] << " vs " << want[first];
    // Values must be real numbers, apart from the infinities written on purpose into F16/BF16.
    size_t nonfinite = 0;
    for (float v : got) nonfinite += !std::isfinite(v);
    EXPECT_EQ(nonfinite, (type == "F16" || type == "BF16") ? 2u : 0u);

    // The tensor after it is found at the right offset.
    EXPECT_EQ(g.dequantize(g.tensor("tail")), (std::vector<float>{-2.5f, -1.5f, -0.5f, 0.5f, 1.5f}));
}

INSTANTIATE_TEST_SUITE_P(AllSupportedTypes, GgufDequantGolden,
                         ::testing::Values("F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q4_K", "Q6_K"));

TEST(GgufDequant, TypeTableEqualsGgufPackage) {
    const nlohmann::json types = test::read_json_file(test::gguf_data_dir() / "ggml_types.json");
    ASSERT_GE(types.size(), 30u);
    for (const auto& t : types) {
        SCOPED_TRACE(t.dump());
        const GgmlTypeInfo* info = ggml_type_info(t["id"].get<uint32_t>());
        ASSERT_NE(info, nullptr);
        EXPECT_EQ(std::string(info->name), t["name"].get<std::string>());
        EXPECT_EQ(info->block_size, t["block_size"].get<int64_t>());
        EXPECT_EQ(info->type_size, t["type_size"].get<int64_t>());
    }
    EXPECT_EQ(ggml_type_info(4u), nullptr);
    EXPECT_EQ(ggml_type_info(99u), nullptr);
}

TEST(GgufDequant, UnsupportedTypeIsNamed) {
    const auto dir = test::gguf_scratch_dir();
    test::GgufBuilder b;
    b.tensor("blk.0.ffn_up.weight", {1, 256}, 13, 0);  // Q5_K
    b.data.assign(176, '\0');
    const std::string p = b.write(dir / "q5k.gguf");
    GgufReader g(p);
    EXPECT_EQ(error_of([&] { g.dequantize(g.tensor("blk.0.ffn_up.weight")); }),
              p + ": tensor 'blk.0.ffn_up.weight' has type Q5_K, which cannot be dequantized (supported: F32, F16, "
                  "BF16, Q8_0, Q4_0, Q4_1, Q4_K, Q6_K)");
    std::vector<float> out(256);
    EXPECT_HAS(error_of([&] { dequantize_row(GgmlType::IQ2_XS, nullptr, out.data(), 256); }),
               "tensor type IQ2_XS is not supported");
    EXPECT_HAS(error_of([&] { dequantize_row(GgmlType::Q4_0, nullptr, out.data(), 33); }),
               "33 weights is not a whole number of Q4_0 blocks");
    GgufReader small((test::gguf_data_dir() / "metadata.gguf").string());
    EXPECT_HAS(error_of([&] { small.dequantize(small.tensor("a"), out.data(), 10); }),
               "tensor 'a' has 6 elements but the output buffer holds 10");
}

// The inverse permutation, checked against the rows llama.cpp's permute moves: with n_head heads of d rows,
// GGUF row h*d + 2i + s holds HF row h*d + s*d/2 + i.
TEST(RopePermutation, InverseOfLlamaCppPermute) {
    const int64_t heads = 3, d = 8, cols = 2, rows = heads * d;
    std::vector<float> gguf(rows * cols);
    for (int64_t h = 0; h < heads; ++h)
        for (int64_t i = 0; i < d / 2; ++i)
            for (int64_t s = 0; s < 2; ++s)
                for (int64_t c = 0; c < cols; ++c)
                    gguf[(h * d + 2 * i + s) * cols + c] = static_cast<float>((h * d + s * d / 2 + i) * 10 + c);
    std::vector<float> hf = gguf;
    unpermute_rope_rows(hf.data(), rows, cols, heads);
    for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c) EXPECT_EQ(hf[r * cols + c], static_cast<float>(r * 10 + c)) << r << "," << c;
    permute_rope_rows(hf.data(), rows, cols, heads);
    EXPECT_EQ(hf, gguf);
    EXPECT_HAS(error_of([&] { unpermute_rope_rows(hf.data(), rows, cols, 5); }), "cannot be split into 5 heads");
}

}  // namespace
}  // namespace awq
