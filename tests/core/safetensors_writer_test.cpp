// The safetensors writer: files load in the reference Python `safetensors` package with the intended
// values, follow the format's layout rules, and appear atomically (cancel / error leave nothing behind).
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <sys/stat.h>

#include "gguf_test_support.h"
#include "io/safetensors_reader.h"
#include "io/safetensors_writer.h"

namespace awq {
namespace {

using test::error_of;
namespace fs = std::filesystem;

// Values that exercise rounding: ties, subnormals, overflow, signed zero.
std::vector<float> probe_values() {
    return {0.0f, -0.0f, 1.0f, -2.5f, 0.1f, 1.0009765625f /* fp16 tie */, 65519.0f, 70000.0f, 1e-7f, -3e-5f,
            3.14159265f, 1.00390625f /* bf16 tie */, 1e30f, -1e-30f};
}

bool no_temporaries(const fs::path& dir) {
    for (const auto& e : fs::directory_iterator(dir))
        if (e.path().filename().string().find(".tmp-") != std::string::npos) return false;
    return true;
}

std::string run_capture(const std::string& cmd) {
    std::string out;
    FILE* p = ::popen(cmd.c_str(), "r");
    if (!p) return out;
    std::array<char, 65536> buf{};
    size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
    ::pclose(p);
    return out;
}

TEST(SafetensorsWriter, WritesFloatHalfBfloatRawAndLazyTensors) {
    const fs::path dir = test::gguf_scratch_dir();
    const std::string path = (dir / "out.safetensors").string();
    const std::vector<float> v = probe_values();
    const int64_t n = static_cast<int64_t>(v.size());
    SafetensorsWriter w(path);
    w.add("a.f32", DType::F32, {2, n / 2}, v);
    w.add("b.f16", DType::F16, {n}, v);
    w.add("c.bf16", DType::BF16, {1, n}, v);
    std::vector<uint16_t> halves{0x3c00, 0xc000, 0x0001};
    w.add_raw("d.raw16", DType::F16, {3}, std::span<const uint16_t>(halves));
    std::vector<int32_t> ints{7, -1, 123456};
    w.add_raw("e.i32", DType::I32, {3},
              std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(ints.data()), ints.size() * 4));
    w.add_lazy("f.lazy", DType::F16, {2, 3}, [](float* out, size_t k) {
        for (size_t i = 0; i < k; ++i) out[i] = 0.5f * static_cast<float>(i);
    });
    w.set_metadata("source", "unit test");
    std::vector<std::string> phases;
    Progress progress;
    progress.on_progress = [&](const ProgressEvent& e) { phases.push_back(e.phase + " " + std::to_string(e.done)); };
    w.write(progress);
    EXPECT_EQ(phases.front(), "write out.safetensors 0");
    EXPECT_EQ(phases.back(), "write out.safetensors 6");
    EXPECT_TRUE(no_temporaries(dir));
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0644u);

    // Layout: header length multiple of 8 once the 8-byte prefix is counted, padding is spaces, tensors
    // back to back in insertion order.
    const std::string bytes = test::read_file_bytes(path);
    uint64_t hlen = 0;
    std::memcpy(&hlen, bytes.data(), 8);
    EXPECT_EQ((8 + hlen) % 8, 0u);
    const std::string header = bytes.substr(8, hlen);
    EXPECT_EQ(header.find_last_not_of(' '), header.rfind('}'));
    const nlohmann::json h = nlohmann::json::parse(header);
    EXPECT_EQ(h["__metadata__"], (nlohmann::json{{"format", "pt"}, {"source", "unit test"}}));
    EXPECT_EQ(h["a.f32"]["data_offsets"], (nlohmann::json{0, 4 * n}));
    EXPECT_EQ(h["b.f16"]["data_offsets"], (nlohmann::json{4 * n, 6 * n}));
    EXPECT_EQ(bytes.size(), 8 + hlen + 4 * n + 2 * n + 2 * n + 6 + 12 + 12);

    // The project's reader sees the same.
    SafetensorsReader r(path);
    ASSERT_EQ(r.tensors().size(), 6u);
    EXPECT_EQ(r.tensor("c.bf16").shape, (std::vector<int64_t>{1, n}));
    EXPECT_EQ(r.tensor("e.i32").dtype, DType::I32);

    if (!test::python_available()) GTEST_SKIP() << "no Python at " << test::python() << ": skipping the load in safetensors";
    const std::string out = run_capture(test::python() + " " + (test::source_dir() / "tests/reference/read_safetensors.py").string() +
                                        " " + path);
    ASSERT_FALSE(out.empty()) << "read_safetensors.py printed nothing";
    const nlohmann::json py = nlohmann::json::parse(out);
    EXPECT_EQ(py["metadata"]["format"], "pt");
    const auto& t = py["tensors"];
    EXPECT_EQ(t["a.f32"]["dtype"], "float32");
    EXPECT_EQ(t["b.f16"]["dtype"], "float16");
    EXPECT_EQ(t["c.bf16"]["dtype"], "bfloat16");
    EXPECT_EQ(t["a.f32"]["shape"], (nlohmann::json{2, n / 2}));
    for (int64_t i = 0; i < n; ++i) {
        SCOPED_TRACE(v[i]);
        EXPECT_EQ(t["a.f32"]["values"][i].get<double>(), static_cast<double>(v[i]));
        // fp16 / bf16 output must equal torch's .to(dtype) rounding of the same floats.
        EXPECT_EQ(t["b.f16"]["values"][i], t["a.f32"]["as_float16"][i]);
        EXPECT_EQ(t["c.bf16"]["values"][i], t["a.f32"]["as_bfloat16"][i]);
    }
    EXPECT_EQ(t["d.raw16"]["values"], (nlohmann::json{1.0, -2.0, 5.960464477539063e-08}));
    EXPECT_EQ(t["e.i32"]["values"], (nlohmann::json{7, -1, 123456}));
    EXPECT_EQ(t["f.lazy"]["values"], (nlohmann::json{0.0, 0.5, 1.0, 1.5, 2.0, 2.5}));
}

TEST(SafetensorsWriter, CancelLeavesNoFileAndKeepsTheOldOne) {
    const fs::path dir = test::gguf_scratch_dir();
    const std::string path = (dir / "m.safetensors").string();
    test::write_file_bytes(path, "old contents");
    std::atomic<bool> cancel{false};
    Progress progress;
    progress.cancel = &cancel;
    SafetensorsWriter w(path);
    w.add_lazy("x", DType::F16, {4}, [&](float* out, size_t k) {
        std::fill(out, out + k, 1.0f);
        cancel = true;  // the user presses cancel while the first tensor is produced
    });
    w.add("y", DType::F32, {1}, std::vector<float>{2.0f});
    EXPECT_THROW(w.write(progress), Cancelled);
    EXPECT_EQ(test::read_file_bytes(path), "old contents");
    EXPECT_TRUE(no_temporaries(dir));

    SafetensorsWriter failing((dir / "f.safetensors").string());
    failing.add_lazy("x", DType::F32, {2}, [](float*, size_t) { throw Error("producer", "dequantization failed"); });
    EXPECT_EQ(error_of([&] { failing.write(); }), "producer: dequantization failed");
    EXPECT_FALSE(fs::exists(dir / "f.safetensors"));
    EXPECT_TRUE(no_temporaries(dir));
}

TEST(SafetensorsWriter, RejectsBadTensors) {
    const fs::path dir = test::gguf_scratch_dir();
    const std::string path = (dir / "bad.safetensors").string();
    SafetensorsWriter w(path);
    w.add("x", DType::F32, {2}, std::vector<float>{1, 2});
    EXPECT_EQ(error_of([&] { w.add("x", DType::F32, {1}, std::vector<float>{1}); }), path + ": tensor 'x' added twice");
    EXPECT_EQ(error_of([&] { w.add("y", DType::F16, {3}, std::vector<float>{1, 2}); }),
              path + ": tensor 'y' has shape of 3 elements but 2 values were given");
    EXPECT_EQ(error_of([&] { w.add("__metadata__", DType::F32, {1}, std::vector<float>{1}); }),
              path + ": '__metadata__' is reserved and cannot name a tensor");
    EXPECT_EQ(error_of([&] { w.add("z", DType::I32, {1}, std::vector<float>{1}); }),
              path + ": tensor 'z': cannot convert floats to I32 (supported: F32, F16, BF16)");
    EXPECT_EQ(w.tensor_count(), 1u);  // failed adds leave nothing behind
    EXPECT_EQ(error_of([] { safetensors_dtype_from_torch("float8", "dtype"); }),
              "dtype: unsupported dtype 'float8' (supported: float16, bfloat16, float32)");
    SafetensorsWriter nowhere((dir / "no/such/dir/x.safetensors").string());
    EXPECT_HAS(error_of([&] { nowhere.write(); }), "no/such/dir/x.safetensors: cannot create a temporary file");
}

}  // namespace
}  // namespace awq
