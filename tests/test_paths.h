#pragma once
// Where tests find their inputs. Defined by tests/CMakeLists.txt.
#include <filesystem>
#include <string>

namespace awq::test {
inline std::filesystem::path source_dir() { return AWQ_SOURCE_DIR; }
inline std::filesystem::path data_dir() { return AWQ_TEST_DATA_DIR; }          // committed golden files
inline std::filesystem::path shared_data_dir() { return AWQ_SHARED_DATA_DIR; }  // ../shared/data
inline std::filesystem::path models_dir() { return AWQ_MODELS_DIR; }            // made by scripts/setup.sh
inline std::filesystem::path build_dir() { return AWQ_BUILD_DIR; }
inline std::string python() { return AWQ_PYTHON; }
// Default model: the GGUF the setup installs, and the Hugging Face folder the test fixture converts it to.
inline std::filesystem::path default_gguf() { return models_dir() / "SmolLM2-135M-Instruct.Q4_1.gguf"; }
inline std::filesystem::path scratch_dir() { return build_dir() / "test-scratch"; }
}  // namespace awq::test
