#pragma once
// CPU reference for the W4A16 kernels: dequantize the 4-bit weight exactly ((q - zero) * scale in fp32,
// which is exact: a 5-bit integer times an fp16 scale fits in fp32's mantissa), then y = x W^T in fp32.
// The GPU checks and the unit tests compare against this; CPU-only machines can run it.
#include <vector>

#include "w4_layouts.h"

namespace awq {

std::vector<float> dequantize(const W4Canonical& w);  // [n * k] row-major

// y[m][n] = sum_k x[m][k] * w[n][k]; x is [m, k], w is [n, k], y is [m, n]; fp32 accumulation.
void matmul_xwt(const float* x, int m, const float* w, int n, int k, float* y);

// One reference per layout: read the packed form, dequantize, multiply.
void w4a16_reference(const W4Canonical& w, const float* x, int m, float* y);
void w4a16_reference(const W4Gemm& w, const float* x, int m, float* y);
void w4a16_reference(const W4Gemv& w, const float* x, int m, float* y);
void w4a16_reference(const W4Fast& w, const float* x, int m, float* y);

}  // namespace awq
