// Interoperability is shown, not claimed: AutoAWQ 0.2.9 (PyPI, installed without dependencies into a scratch
// venv under the build folder) reads our exports with its own unpacking/dequantization and packers and must
// reproduce our integers, packed tensors and dequantized weights bit for bit; transformers' modelling code
// with the export's tensors must give our logits; and checkpoints packed by AutoAWQ's code load in our
// engine with AutoAWQ's dequantized weights exactly. tests/reference/autoawq_interop.py does the Python side.
// Skipped with a message when Python is absent or pip cannot reach the package registry.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <sys/wait.h>

#include <ATen/ATen.h>

#include "awq_io_test_support.h"
#include "io/safetensors_reader.h"
#include "io/safetensors_writer.h"
#include "quant/awq_linear.h"

namespace awq {
namespace {

using namespace awq::test;

fs::path interop_script() { return source_dir() / "tests/reference/autoawq_interop.py"; }
fs::path venv_dir() { return scratch_dir() / "autoawq-venv"; }

std::string read_text(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// Runs `python autoawq_interop.py args`, output into `log`; returns the exit code.
int run_script(const std::string& python, const std::string& args, const fs::path& log) {
    const std::string cmd = "'" + python + "' '" + interop_script().string() + "' " + args + " > '" + log.string() + "' 2>&1";
    const int st = std::system(cmd.c_str());
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

DType st_dtype(at::ScalarType t) {
    switch (t) {
        case at::kByte: return DType::U8;
        case at::kHalf: return DType::F16;
        case at::kFloat: return DType::F32;
        case at::kLong: return DType::I64;
        default: throw std::runtime_error("unexpected dtype");
    }
}

void add_tensor(SafetensorsWriter& w, const std::string& name, const at::Tensor& t) {
    at::Tensor c = t.detach().to(at::kCPU).contiguous();
    w.add_raw(name, st_dtype(c.scalar_type()), c.sizes().vec(),
              std::span<const uint8_t>(static_cast<const uint8_t*>(c.data_ptr()), (size_t)(c.numel() * c.element_size())));
}

at::Tensor read_tensor(const SafetensorsReader& r, const std::string& name) {
    const TensorView& v = r.tensor(name);
    at::ScalarType t = v.dtype == DType::F32 ? at::kFloat : v.dtype == DType::I64 ? at::kLong : at::kHalf;
    at::Tensor out = at::empty(v.shape, at::TensorOptions().dtype(t));
    std::memcpy(out.data_ptr(), v.data, v.nbytes);
    return out;
}

class AwqInterop : public ::testing::Test {
protected:
    void SetUp() override {
        AWQ_REQUIRE_PYTHON();
        ScratchLock lock;
        const fs::path log = scratch_dir() / "autoawq-setup.log";
        const int rc = run_script(python(), "setup --venv '" + venv_dir().string() + "'", log);
        if (rc == 3) GTEST_SKIP() << "pip cannot reach the package registry to install autoawq 0.2.9:\n" << read_text(log);
        ASSERT_EQ(rc, 0) << "setting up the AutoAWQ venv failed:\n" << read_text(log);
        venv_python_ = (venv_dir() / "bin/python").string();
    }
    std::string venv_python_;
};

struct ExportCase {
    std::string arch, version;
    bool zero_point;
    int64_t group;
};

std::string case_name(const ExportCase& c) {
    return c.arch + "_" + c.version + (c.zero_point ? "_zp" : "_sym") + "_g" + (c.group < 0 ? "ch" : std::to_string(c.group));
}

void PrintTo(const ExportCase& c, std::ostream* os) { *os << case_name(c); }

class AwqInteropExport : public AwqInterop, public ::testing::WithParamInterface<ExportCase> {};

TEST_P(AwqInteropExport, AutoAwqReadsOurExport) {
    const ExportCase& p = GetParam();
    QuantConfig cfg;
    cfg.version = p.version;
    cfg.zero_point = p.zero_point;
    cfg.group_size = p.group;
    cfg.method = "rtn";
    if (p.arch == "smollm2") AWQ_REQUIRE_DEFAULT_MODEL();
    const fs::path src = source_model(p.arch);
    FakeQuantized fq = fake_quantize(src, cfg);
    const int n_linears = (int)fq.linears.size();
    const fs::path work = fresh_dir("interop-" + case_name(p));
    fs::create_directories(work);
    const fs::path out = work / "export";
    export_awq_checkpoint(*fq.lm->model, fq.linears, cfg, src.string(), out.string());

    // Our side, as the engine sees the export after importing it.
    auto lm = load_model(out.string(), ModelOptions{});
    const at::Tensor ids = probe_ids();
    SafetensorsWriter ours((work / "ours.safetensors").string());
    for (const auto& [name, q] : fq.linears) {
        const size_t dot = std::string("model.layers.").size();
        const int64_t block = std::stoll(name.substr(dot, name.find('.', dot) - dot));
        const std::string slot_name = name.substr(name.find('.', dot) + 1);
        int slot = 0;
        while (linear_slot_name((LinearSlot)slot) != slot_name) ++slot;
        const auto& lin = dynamic_cast<const AwqLinear&>(lm->model->block(block).linear((LinearSlot)slot));
        add_tensor(ours, name + ".q", q.q);
        add_tensor(ours, name + ".zeros", q.zeros);
        add_tensor(ours, name + ".scales", q.scales);
        add_tensor(ours, name + ".dense", lin.dense_weight());
    }
    add_tensor(ours, "ids", ids);
    add_tensor(ours, "logits", logits_of(*lm->model, ids));
    ours.write();

    const fs::path result = work / "result.json", log = work / "check.log";
    const int rc = run_script(venv_python_,
                              "check-export --export '" + out.string() + "' --ours '" + (work / "ours.safetensors").string() +
                                  "' --out '" + result.string() + "'",
                              log);
    ASSERT_EQ(rc, 0) << read_text(log);
    const nlohmann::json r = read_json_file(result);
    EXPECT_EQ(r["autoawq_version"], "0.2.9");
    EXPECT_EQ(r["modules"], n_linears);
    EXPECT_EQ(r["repack_exact"], n_linears) << "AutoAWQ's " << p.version << " packer disagrees";
    if (p.version == "gemm") {
        EXPECT_EQ(r["unpack_exact"], n_linears);
        EXPECT_EQ(r["dequant_exact"], n_linears);
    }
    EXPECT_TRUE(r["mismatches"].empty()) << r["mismatches"].dump(1);
    EXPECT_TRUE(r["transformers_config_ok"].get<bool>()) << r["transformers_config"].dump();
    const double e2e = r["e2e_max_abs_logit_diff"].get<double>();
    EXPECT_LT(e2e, 1e-3);
    const nlohmann::json& native = r["transformers_load"];
    if (native["ran"].get<bool>()) EXPECT_LT(native["max_abs_logit_diff"].get<double>(), 5e-2);
    const std::string n = std::to_string(n_linears);
    std::printf("%s: AutoAWQ %s: %d/%s repacked bit-exact%s; transformers modelling code vs engine max |logit diff| "
                "%.3g (%s)\n  transformers' own AWQ loading: %s\n",
                case_name(p).c_str(), r["autoawq_version"].get<std::string>().c_str(), r["repack_exact"].get<int>(),
                n.c_str(),
                p.version == "gemm" ? (", " + std::to_string(r["unpack_exact"].get<int>()) + "/" + n + " unpack_awq and " +
                                       std::to_string(r["dequant_exact"].get<int>()) + "/" + n + " dequantize_gemm bit-exact")
                                          .c_str()
                                    : "",
                e2e, r["e2e_weights"].get<std::string>().c_str(),
                native["ran"].get<bool>() ? ("ran, max |logit diff| " + std::to_string(native["max_abs_logit_diff"].get<double>())).c_str()
                                          : ("skipped: " + native["reason"].get<std::string>()).c_str());
}

INSTANTIATE_TEST_SUITE_P(Models, AwqInteropExport,
                         ::testing::Values(ExportCase{"qwen2", "gemm", true, 32}, ExportCase{"qwen2", "gemv", true, 32},
                                           ExportCase{"llama3", "gemm", false, -1}, ExportCase{"mistral", "gemv", false, -1},
                                           ExportCase{"smollm2", "gemm", true, 64}),
                         [](const ::testing::TestParamInfo<ExportCase>& i) { return case_name(i.param); });

struct ImportCase {
    std::string arch, version;
    int64_t group;
};

void PrintTo(const ImportCase& c, std::ostream* os) { *os << c.arch << " " << c.version << " g" << c.group; }

class AwqInteropImport : public AwqInterop, public ::testing::WithParamInterface<ImportCase> {};

TEST_P(AwqInteropImport, WeLoadAutoAwqPackedCheckpoints) {
    const ImportCase& p = GetParam();
    const std::string tag = p.arch + "-" + p.version + "-g" + (p.group < 0 ? "ch" : std::to_string(p.group));
    const fs::path work = fresh_dir("autoawq-made-" + tag);
    fs::create_directories(work);
    const fs::path ckpt = work / "checkpoint", ref_file = work / "reference.safetensors", log = work / "make.log";
    const int rc = run_script(venv_python_,
                              "make-checkpoint --model '" + tiny_model_with_tokenizer(p.arch).string() + "' --version " +
                                  p.version + " --group " + std::to_string(p.group) + " --out '" + ckpt.string() +
                                  "' --reference '" + ref_file.string() + "'",
                              log);
    ASSERT_EQ(rc, 0) << read_text(log);

    auto lm = load_model(ckpt.string(), ModelOptions{});
    SafetensorsReader ref(ref_file.string());
    int exact = 0;
    for (int64_t i = 0; i < lm->model->num_blocks(); ++i)
        for (int s = 0; s < kNumLinearSlots; ++s) {
            const std::string name = "model.layers." + std::to_string(i) + "." + linear_slot_name((LinearSlot)s);
            const Linear& lin = lm->model->block(i).linear((LinearSlot)s);
            EXPECT_EQ(lin.kind(), "awq-" + p.version);
            if (at::equal(lin.dense_weight(), read_tensor(ref, name + ".dense"))) ++exact;
            else ADD_FAILURE() << name << ": dequantized weight differs from AutoAWQ's dequantize_gemm";
        }
    EXPECT_EQ(exact, 21);
    const at::Tensor ids = read_tensor(ref, "ids");
    const at::Tensor want = read_tensor(ref, "logits");
    const double diff = (logits_of(*lm->model, ids) - want).abs().max().item<double>();
    EXPECT_LT(diff, 1e-3);
    std::printf("%s (packed by AutoAWQ): %d/21 linears dequantize bit-exact to AutoAWQ's dequantize_gemm; max |logit "
                "diff| vs transformers = %.3g\n",
                tag.c_str(), exact, diff);
}

INSTANTIATE_TEST_SUITE_P(TinyModels, AwqInteropImport,
                         ::testing::Values(ImportCase{"qwen2", "gemm", 32}, ImportCase{"qwen2", "gemv", 32},
                                           ImportCase{"llama3", "gemv", -1}),
                         [](const ::testing::TestParamInfo<ImportCase>& i) {
                             return i.param.arch + "_" + i.param.version + "_g" +
                                    (i.param.group < 0 ? std::string("ch") : std::to_string(i.param.group));
                         });

}  // namespace
}  // namespace awq
