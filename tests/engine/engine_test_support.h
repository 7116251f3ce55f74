#pragma once
// Shared fixtures of the engine tests: the default model converted to a Hugging Face folder, tiny random
// models of other architectures, and reference outputs computed by transformers (tests/reference/
// hf_reference.py) on exactly those folders. Everything is made once under the build folder, guarded by
// a file lock so that parallel ctest processes do not race.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <sys/file.h>
#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "convert/gguf_to_hf.h"
#include "test_paths.h"

namespace awq::test {

namespace fs = std::filesystem;

class ScratchLock {
public:
    ScratchLock() {
        fs::create_directories(scratch_dir());
        fd_ = ::open((scratch_dir() / ".lock").c_str(), O_CREAT | O_RDWR, 0644);
        if (fd_ >= 0) ::flock(fd_, LOCK_EX);
    }
    ~ScratchLock() {
        if (fd_ >= 0) ::close(fd_);
    }

private:
    int fd_ = -1;
};

inline bool python_available() { return fs::exists(python()); }

// Runs the reference script; returns its exit status.
inline int run_reference(const std::string& args) {
    std::string cmd = "'" + python() + "' '" + (source_dir() / "tests/reference/hf_reference.py").string() + "' " + args +
                      " > '" + (scratch_dir() / "reference.log").string() + "' 2>&1";
    return std::system(cmd.c_str());
}

// The default model as the Hugging Face folder `awqlab-cli convert` makes (fp16 safetensors).
inline fs::path default_hf_model() {
    ScratchLock lock;
    fs::path out = scratch_dir() / "smollm2-135m-instruct-hf";
    if (!fs::exists(out / "config.json")) convert_gguf_to_hf(default_gguf().string(), out.string(), "float16");
    return out;
}

inline fs::path tiny_model(const std::string& arch) {
    ScratchLock lock;
    fs::path out = scratch_dir() / ("tiny-" + arch);
    if (!fs::exists(out / "config.json")) {
        int rc = run_reference("make-tiny --arch " + arch + " --out '" + out.string() + "'");
        if (rc != 0) throw std::runtime_error("hf_reference.py make-tiny failed; see " + (scratch_dir() / "reference.log").string());
    }
    return out;
}

// transformers' logits and greedy continuations for `model_dir` (meta.json + logits_i.bin).
inline fs::path reference_logits(const fs::path& model_dir) {
    ScratchLock lock;
    fs::path out = scratch_dir() / ("ref-logits-" + model_dir.filename().string());
    if (!fs::exists(out / "meta.json")) {
        int rc = run_reference("logits --model '" + model_dir.string() + "' --out '" + out.string() + "'");
        if (rc != 0) throw std::runtime_error("hf_reference.py logits failed; see " + (scratch_dir() / "reference.log").string());
    }
    return out;
}

inline nlohmann::json read_json_file(const fs::path& p) {
    std::ifstream in(p);
    return nlohmann::json::parse(in);
}

#define AWQ_REQUIRE_DEFAULT_MODEL()                                                                         \
    do {                                                                                                    \
        if (!std::filesystem::exists(awq::test::default_gguf()))                                            \
            GTEST_SKIP() << "default model " << awq::test::default_gguf() << " absent: run scripts/setup.sh"; \
    } while (0)

#define AWQ_REQUIRE_PYTHON()                                                                                \
    do {                                                                                                    \
        if (!awq::test::python_available())                                                                 \
            GTEST_SKIP() << "reference Python " << awq::test::python() << " absent: run scripts/setup.sh";   \
    } while (0)

}  // namespace awq::test
