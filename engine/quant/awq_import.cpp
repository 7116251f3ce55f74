#include "quant/awq_import.h"

#include <cstring>

#include <ATen/ATen.h>

#include "core/error.h"
#include "io/checkpoint_folder.h"
#include "quant/awq_linear.h"
#include "quant/awq_packing.h"

namespace awq {

namespace {

at::ScalarType torch_dtype(const TensorView& v) {
    switch (v.dtype) {
        case DType::I32: return at::kInt;
        case DType::F32: return at::kFloat;
        case DType::F16: return at::kHalf;
        case DType::BF16: return at::kBFloat16;
        case DType::F64: return at::kDouble;
        default:
            throw Error(v.file, "tensor '" + v.name + "' has dtype " + dtype_name(v.dtype) + ", which an AWQ layer cannot use");
    }
}

// Copies out of the mapping: the mapped bytes are read-only and not necessarily aligned.
at::Tensor read_tensor(const TensorView& v) {
    at::Tensor t = at::empty(v.shape, at::TensorOptions().dtype(torch_dtype(v)));
    if (v.nbytes) std::memcpy(t.data_ptr(), v.data, v.nbytes);
    return t;
}

}  // namespace

LinearFactory awq_linear_factory(const CheckpointFolder& folder, const AwqKernelChoice& choice) {
    if (!folder.awq()) throw Error(folder.config_path(), "not an AWQ checkpoint (no quantization_config)");
    const AwqQuantConfig awq = *folder.awq();
    if (awq.version != "gemm" && awq.version != "gemv")
        throw Error(folder.config_path(), "AWQ version '" + awq.version + "' is not supported (gemm and gemv are)");
    const AwqLayout layout = parse_awq_layout(awq.version, folder.config_path());
    const bool repack = choice.kernel == "gemm" || choice.kernel == "gemv" || choice.kernel == "fast";
    if (!choice.kernel.empty() && !repack && choice.kernel != "dense")
        throw Error("--kernel", "must be gemm, gemv, fast or dense, got '" + choice.kernel + "'");
    const AwqLayout target = repack ? parse_awq_layout(choice.kernel, "--kernel") : layout;
    const CheckpointFolder* f = &folder;
    return [f, awq, layout, target, choice, repack](const std::string& name, at::Device device,
                                                    at::ScalarType dtype) -> std::unique_ptr<Linear> {
        if (awq.keeps_float(name)) return nullptr;
        const TensorView& qw = f->tensor(name + ".qweight");
        const TensorView& qz = f->tensor(name + ".qzeros");
        const TensorView& sc = f->tensor(name + ".scales");
        const std::string where = qw.file + ": '" + name + "'";
        if (qw.shape.size() != 2) throw Error(where, "qweight must be 2-D, has shape " + shape_to_string(qw.shape));
        // gemm stores W^T [in, out/8], gemv W [out, in/8].
        const int64_t pack = awq.pack_factor();
        const int64_t out = layout == AwqLayout::Gemm ? qw.shape[1] * pack : qw.shape[0];
        const int64_t in = layout == AwqLayout::Gemm ? qw.shape[0] : qw.shape[1] * pack;
        PackedW4 p = packed_w4_from_tensors(layout, out, in, awq.group_size_for(in), read_tensor(qw), read_tensor(qz),
                                            read_tensor(sc), where);
        if (target != layout) p = pack_w4(unpack_w4(p, where), target, where);
        at::Tensor bias;
        if (const TensorView* b = f->find(name + ".bias")) bias = read_tensor(*b);
        auto lin = std::make_unique<AwqLinear>(std::move(p), awq.zero_point, bias, dtype, device, name);
        if (choice.kernel == "dense") {
            lin->set_kernel_enabled(false);
        } else if (choice.compute_device.is_cuda()) {
            if (const std::string why = lin->kernel_problem(); !why.empty()) {
                // Asked for by name: refuse rather than silently run something else.
                if (repack) throw Error(where, why + " (--kernel " + choice.kernel + "; --kernel dense runs any layer)");
                lin->set_kernel_enabled(false);
            }
        }
        return lin;
    };
}

}  // namespace awq
