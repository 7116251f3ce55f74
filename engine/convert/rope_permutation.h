#pragma once
// llama.cpp's converter stores the q/k projections of Llama-architecture models with each head's rows
// reordered: Hugging Face keeps the two rotary halves of a head apart (rows [0, d/2) pair with
// [d/2, d)), llama.cpp interleaves them (rows 2i, 2i+1 form a pair). These functions move rows between
// the two layouts, head by head, for a row-major [rows, cols] matrix (cols = 1 for a bias).
#include <cstdint>

namespace awq {

// GGUF (interleaved) -> Hugging Face (halves): HF row h*d + s*(d/2) + i = GGUF row h*d + 2*i + s.
void unpermute_rope_rows(float* data, int64_t rows, int64_t cols, int64_t n_heads);
// Hugging Face -> GGUF, the converter's forward direction (for tests and round trips).
void permute_rope_rows(float* data, int64_t rows, int64_t cols, int64_t n_heads);

}  // namespace awq
