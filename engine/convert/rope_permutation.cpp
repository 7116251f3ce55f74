#include "convert/rope_permutation.h"

#include <cstring>
#include <string>
#include <vector>

#include "core/error.h"

namespace awq {

namespace {

// to_hf selects the direction. Works one head at a time through a head-sized scratch buffer.
void move_rows(float* data, int64_t rows, int64_t cols, int64_t n_heads, bool to_hf) {
    if (n_heads <= 0 || rows % n_heads != 0 || (rows / n_heads) % 2 != 0)
        throw Error("rope permutation: " + std::to_string(rows) + " rows cannot be split into " +
                    std::to_string(n_heads) + " heads of even size");
    const int64_t d = rows / n_heads, half = d / 2;
    const size_t row_bytes = static_cast<size_t>(cols) * sizeof(float);
    std::vector<float> head(static_cast<size_t>(d * cols));
    for (int64_t h = 0; h < n_heads; ++h) {
        float* base = data + h * d * cols;
        std::memcpy(head.data(), base, static_cast<size_t>(d) * row_bytes);
        for (int64_t i = 0; i < half; ++i)
            for (int64_t s = 0; s < 2; ++s) {
                const int64_t hf_row = s * half + i, gguf_row = 2 * i + s;
                const int64_t dst = to_hf ? hf_row : gguf_row, src = to_hf ? gguf_row : hf_row;
                std::memcpy(base + dst * cols, head.data() + src * cols, row_bytes);
            }
    }
}

}  // namespace

void unpermute_rope_rows(float* data, int64_t rows, int64_t cols, int64_t n_heads) {
    move_rows(data, rows, cols, n_heads, true);
}

void permute_rope_rows(float* data, int64_t rows, int64_t cols, int64_t n_heads) {
    move_rows(data, rows, cols, n_heads, false);
}

}  // namespace awq
