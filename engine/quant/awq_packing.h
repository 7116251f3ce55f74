#pragma once
// The bridge between the engine's tensors and the plain-array 4-bit layouts of kernels/cpu/w4_layouts.h
// (which own every bit-layout fact; nothing here packs a nibble itself):
//   QuantizedWeight (uint8 q, fp16 scales, uint8 zeros)  <->  W4Canonical  <->  PackedW4 (the tensors of
//   one layout: what AwqLinear holds, the exporter writes and the importer reads).
#include <cstdint>
#include <string>

#include <ATen/core/Tensor.h>

#include "cpu/w4_layouts.h"
#include "quant/quantized_weight.h"

namespace awq {

enum class AwqLayout { Gemm, Gemv, Fast };

// "gemm", "gemv", "fast"; throws awq::Error(where, ...) for anything else.
AwqLayout parse_awq_layout(const std::string& name, const std::string& where);
const char* awq_layout_name(AwqLayout layout);

// The packed tensors of one 4-bit linear W [out, in], on the CPU or a device:
//   gemm: qweight int32 [in, out/8], qzeros int32 [in/group, out/8], scales fp16 [in/group, out]  (AutoAWQ files)
//   gemv: qweight int32 [out, in/8], qzeros int32 [out, zw],          scales fp16 [out, zw*8]     (AutoAWQ files)
//   fast: qweight int32 [ceil(in/128), out/16, 2, 32, 4] (unit-major; zero padding when in % 128 == 64),
//         scales int32 [in/group, out/16, 8] (two fp16 per word), qzeros uint8 [in/group, out/16, 8],
//         undefined when every zero is 8 (the kernel then uses 8).
// Int32 tensors carry the uint32 words of w4_layouts.h bit for bit.
struct PackedW4 {
    AwqLayout layout = AwqLayout::Gemm;
    int64_t out_features = 0, in_features = 0, group_size = 0;
    at::Tensor qweight, qzeros, scales;

    int64_t bytes() const;  // stored bytes of the three tensors
    PackedW4 to(at::Device device) const;
};

// `where` (a linear's name) prefixes every error. Needs bits == 4, CPU tensors of the documented dtypes.
W4Canonical to_canonical(const QuantizedWeight& w, const std::string& where);
// zero_point: what the checkpoint/quantizer declares; a weight whose zeros are not all 8 is asymmetric whatever
// the flag says (loaders always apply the stored zeros), so it is then reported as zero_point = true.
QuantizedWeight from_canonical(const W4Canonical& c, bool zero_point);

PackedW4 pack_w4(const W4Canonical& c, AwqLayout layout, const std::string& where);
W4Canonical unpack_w4(const PackedW4& p, const std::string& where);  // copies device tensors to the CPU

// Wraps the tensors a checkpoint holds for one linear (file layouts gemm and gemv), checking dtypes (int32
// qweight/qzeros; scales fp16, or bf16/fp32 holding values that fp16 represents exactly) and shapes against
// out/in/group. Errors name `where` (e.g. "<file>: 'model.layers.0.mlp.up_proj'").
PackedW4 packed_w4_from_tensors(AwqLayout layout, int64_t out_features, int64_t in_features, int64_t group_size,
                                const at::Tensor& qweight, const at::Tensor& qzeros, const at::Tensor& scales,
                                const std::string& where);

}  // namespace awq
