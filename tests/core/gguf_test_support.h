#pragma once
// Shared by the GGUF tests: golden-file paths (tests/reference/make_gguf_golden.py), a scratch folder per
// test, a byte-level GGUF builder for malformed files, and error-message assertions.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "test_paths.h"

namespace awq::test {

namespace fs = std::filesystem;

inline fs::path gguf_data_dir() { return data_dir() / "gguf"; }

inline std::string read_file_bytes(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + p.string() + " (run tests/reference/make_gguf_golden.py)");
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

inline nlohmann::json read_json_file(const fs::path& p) { return nlohmann::json::parse(read_file_bytes(p)); }

inline void write_file_bytes(const fs::path& p, const std::string& bytes) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) throw std::runtime_error("cannot write " + p.string());
}

inline fs::path gguf_scratch_dir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    fs::path d = scratch_dir() / "gguf" /
                 (std::string(info->test_suite_name()) + "." + info->name() + "." + std::to_string(::getpid()));
    fs::remove_all(d);
    fs::create_directories(d);
    return d;
}

inline bool python_available() { return fs::exists(python()); }

// Runs `f`, expects an awq::Error and returns its message (adds a failure when nothing or something else is thrown).
template <class F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (const awq::Error& e) {
        return e.what();
    } catch (const std::exception& e) {
        ADD_FAILURE() << "expected awq::Error, got another exception: " << e.what();
        return {};
    }
    ADD_FAILURE() << "expected awq::Error, nothing was thrown";
    return {};
}

inline ::testing::AssertionResult gguf_assert_contains(const char* hay_expr, const char* needle_expr,
                                                      const std::string& hay, const std::string& needle) {
    if (hay.find(needle) != std::string::npos) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << hay_expr << " does not contain " << needle_expr << "\n  text:   \"" << hay
                                         << "\"\n  wanted: \"" << needle << "\"";
}
#define EXPECT_HAS(hay, needle) EXPECT_PRED_FORMAT2(::awq::test::gguf_assert_contains, hay, needle)

// Writes GGUF files byte by byte, including ones no correct writer would produce.
class GgufBuilder {
public:
    std::string magic = "GGUF";
    uint32_t version = 3;
    uint64_t alignment = 32;
    // When set, written instead of the real counts.
    std::optional<uint64_t> tensor_count_override, kv_count_override;

    template <class T>
    static void put(std::string& b, T v) {
        b.append(reinterpret_cast<const char*>(&v), sizeof v);
    }
    static void put_str(std::string& b, const std::string& s) {
        put<uint64_t>(b, s.size());
        b += s;
    }

    // A metadata entry whose value bytes the caller encodes (after the uint32 type).
    void kv_raw(const std::string& key, uint32_t type, const std::string& value_bytes) {
        put_str(kv_, key);
        put<uint32_t>(kv_, type);
        kv_ += value_bytes;
        ++n_kv_;
    }
    void kv_string(const std::string& key, const std::string& v) {
        std::string b;
        put_str(b, v);
        kv_raw(key, 8, b);
    }
    void kv_u32(const std::string& key, uint32_t v) {
        std::string b;
        put(b, v);
        kv_raw(key, 4, b);
    }
    void kv_f32(const std::string& key, float v) {
        std::string b;
        put(b, v);
        kv_raw(key, 6, b);
    }
    void kv_bool(const std::string& key, bool v) { kv_raw(key, 7, std::string(1, v ? '\1' : '\0')); }
    void kv_string_array(const std::string& key, const std::vector<std::string>& v) {
        std::string b;
        put<uint32_t>(b, 8);
        put<uint64_t>(b, v.size());
        for (const auto& s : v) put_str(b, s);
        kv_raw(key, 9, b);
    }

    // dims in Hugging Face order (outermost first); offset relative to the data section.
    void tensor(const std::string& name, std::vector<uint64_t> hf_dims, uint32_t type, uint64_t offset) {
        std::string b;
        put_str(b, name);
        put<uint32_t>(b, static_cast<uint32_t>(hf_dims.size()));
        for (auto it = hf_dims.rbegin(); it != hf_dims.rend(); ++it) put<uint64_t>(b, *it);
        put<uint32_t>(b, type);
        put<uint64_t>(b, offset);
        infos_ += b;
        ++n_tensors_;
    }
    std::string data;  // the data section

    std::string build() const {
        std::string b = magic;
        put<uint32_t>(b, version);
        put<uint64_t>(b, tensor_count_override.value_or(n_tensors_));
        put<uint64_t>(b, kv_count_override.value_or(n_kv_));
        b += kv_;
        b += infos_;
        b.append((alignment - b.size() % alignment) % alignment, '\0');
        return b + data;
    }
    std::string write(const fs::path& p) const {
        write_file_bytes(p, build());
        return p.string();
    }

private:
    std::string kv_, infos_;
    uint64_t n_kv_ = 0, n_tensors_ = 0;
};

}  // namespace awq::test
