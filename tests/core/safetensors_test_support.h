#pragma once
// Shared by the safetensors and checkpoint-folder tests: the golden files made by
// tests/reference/make_safetensors_golden.py, and tools to build broken copies of them in a scratch dir.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "test_paths.h"

namespace awq::test {

namespace fs = std::filesystem;

inline fs::path safetensors_data_dir() { return data_dir() / "safetensors"; }

inline nlohmann::json safetensors_expected() {
    std::ifstream in(safetensors_data_dir() / "expected.json");
    if (!in) throw std::runtime_error("missing " + (safetensors_data_dir() / "expected.json").string() +
                                      " (run tests/reference/make_safetensors_golden.py)");
    return nlohmann::json::parse(in);
}

inline std::string read_bytes(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + p.string());
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

inline void write_bytes(const fs::path& p, const std::string& bytes) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), (std::streamsize)bytes.size());
    if (!out) throw std::runtime_error("cannot write " + p.string());
}

// A scratch folder private to the running test (ctest may run tests in parallel processes).
inline fs::path fresh_scratch_dir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    fs::path d = scratch_dir() / "safetensors" /
                 (std::string(info->test_suite_name()) + "." + info->name() + "." + std::to_string(::getpid()));
    fs::remove_all(d);
    fs::create_directories(d);
    return d;
}

inline std::string hex_of(const uint8_t* p, size_t n) {
    static const char* digits = "0123456789abcdef";
    std::string s(2 * n, '0');
    for (size_t i = 0; i < n; ++i) s[2 * i] = digits[p[i] >> 4], s[2 * i + 1] = digits[p[i] & 15];
    return s;
}

// Same hash as the reference script writes for folder tensors.
inline std::string fnv1a64_hex(const uint8_t* p, size_t n) {
    uint64_t h = 0xCBF29CE484222325ull;
    for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001B3ull;
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", (unsigned long long)h);
    return buf;
}

inline uint64_t header_length_of(const std::string& file) {
    uint64_t n;
    std::memcpy(&n, file.data(), 8);
    return n;
}

inline std::string with_header_length(std::string file, uint64_t n) {
    std::memcpy(file.data(), &n, 8);
    return file;
}

// A safetensors file with a new header text and the original data section.
inline std::string with_header_text(const std::string& file, const std::string& header) {
    const uint64_t n = header_length_of(file);
    std::string out(8, '\0');
    const uint64_t m = header.size();
    std::memcpy(out.data(), &m, 8);
    return out + header + file.substr(8 + n);
}

inline nlohmann::json header_of(const std::string& file) {
    return nlohmann::json::parse(file.substr(8, header_length_of(file)));
}

// Copies `src` to `dst` after letting `edit` change its parsed header.
inline void rewrite_header(const fs::path& src, const fs::path& dst, const std::function<void(nlohmann::json&)>& edit) {
    const std::string file = read_bytes(src);
    nlohmann::json h = header_of(file);
    edit(h);
    write_bytes(dst, with_header_text(file, h.dump()));
}

inline void edit_json_file(const fs::path& p, const std::function<void(nlohmann::json&)>& edit) {
    nlohmann::json j = nlohmann::json::parse(read_bytes(p));
    edit(j);
    write_bytes(p, j.dump(2));
}

inline ::testing::AssertionResult assert_contains(const char* hay_expr, const char* needle_expr,
                                                 const std::string& hay, const std::string& needle) {
    if (hay.find(needle) != std::string::npos) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << hay_expr << " does not contain " << needle_expr << "\n  text:   \""
                                         << hay << "\"\n  wanted: \"" << needle << "\"";
}
#define EXPECT_CONTAINS(hay, needle) EXPECT_PRED_FORMAT2(::awq::test::assert_contains, hay, needle)

// Runs `f`, expects an awq::Error, and returns its message (empty, with a test failure, otherwise).
template <class F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (const awq::Error& e) {
        return e.what();
    } catch (const std::exception& e) {
        ADD_FAILURE() << "expected awq::Error, got another exception: " << e.what();
        return "";
    }
    ADD_FAILURE() << "expected awq::Error, nothing was thrown";
    return "";
}

}  // namespace awq::test
