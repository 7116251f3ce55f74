#pragma once
// GGUF block formats -> float. Supported: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q4_K, Q6_K; any other type is
// an awq::Error naming it, never a guess.
#include <cstdint>
#include <string>

#include "io/ggml_type.h"

namespace awq {

bool can_dequantize(GgmlType type);
std::string dequantizable_type_names();  // "F32, F16, ..." for error messages

// Bytes that `n` weights of `type` occupy; `n` must be a whole number of blocks.
int64_t ggml_row_bytes(GgmlType type, int64_t n);

// Converts `n` consecutive weights (a whole number of blocks) stored at `src` into `dst`.
void dequantize_row(GgmlType type, const uint8_t* src, float* dst, int64_t n);

}  // namespace awq
