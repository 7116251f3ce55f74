// Lossy UTF-8 decoding (used by the ByteLevel decoder) against Python's bytes.decode('utf-8', 'replace'),
// which follows the same maximal-subpart rule as Rust's from_utf8_lossy in HF tokenizers.
#include <gtest/gtest.h>

#include "tokenizer/utf8.h"
#include "tokenizer_golden.h"

namespace awq::test {
namespace {

std::string from_hex(const std::string& h) {
    std::string out;
    for (size_t i = 0; i + 1 < h.size(); i += 2) out += static_cast<char>(std::stoi(h.substr(i, 2), nullptr, 16));
    return out;
}

TEST(Utf8, LossyDecodingMatchesPython) {
    const auto j = read_json(tokenizer_data_dir() / "utf8_lossy_golden.json");
    ASSERT_GT(j["cases"].size(), 20u);
    for (const auto& c : j["cases"]) {
        const std::string bytes = from_hex(c[0]);
        const std::string want = c[1];
        EXPECT_EQ(utf8::to_valid_lossy(bytes), want) << "bytes " << c[0];
        const bool valid = want == bytes;
        EXPECT_EQ(!utf8::first_invalid(bytes).has_value(), valid) << "bytes " << c[0];
    }
}

}  // namespace
}  // namespace awq::test
