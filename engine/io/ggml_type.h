#pragma once
// The tensor element types a GGUF file may declare (ggml's type ids) with their block geometry, so the
// reader can size every tensor before touching its data. Ids that ggml retired are absent on purpose:
// a file that uses them is rejected as "unknown tensor type".
#include <cstdint>
#include <string>

namespace awq {

enum class GgmlType : uint32_t {
    F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q8_1 = 9,
    Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, Q8_K = 15,
    IQ2_XXS = 16, IQ2_XS = 17, IQ3_XXS = 18, IQ1_S = 19, IQ4_NL = 20, IQ3_S = 21, IQ2_S = 22, IQ4_XS = 23,
    I8 = 24, I16 = 25, I32 = 26, I64 = 27, F64 = 28, IQ1_M = 29, BF16 = 30,
    TQ1_0 = 34, TQ2_0 = 35, MXFP4 = 39, NVFP4 = 40, Q1_0 = 41,
};

struct GgmlTypeInfo {
    GgmlType type;
    const char* name;    // as ggml and the gguf Python package spell it, e.g. "Q4_K"
    int64_t block_size;  // weights per block
    int64_t type_size;   // bytes per block
};

// nullptr when `id` is not a type this build knows.
const GgmlTypeInfo* ggml_type_info(uint32_t id);
const GgmlTypeInfo& ggml_type_info(GgmlType type);
std::string ggml_type_name(GgmlType type);

}  // namespace awq
