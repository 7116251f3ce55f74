// AWQ packing, export and import: a tiny model quantized (float64 round-to-nearest reference), exported in
// AutoAWQ gemm/gemv format and loaded back through load_model gives exactly the logits of the in-memory
// fake-quantized model, for Qwen2 (biases), Llama 3 (tied embeddings) and Mistral; AwqLinear computes what the
// dequantized weight computes in every layout; bad configurations and damaged folders give clear errors and
// leave nothing behind.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <random>

#include <ATen/ATen.h>

#include "awq_io_test_support.h"
#include "core/error.h"
#include "io/gguf_reader.h"
#include "io/gguf_vocab_reader.h"
#include "io/safetensors_reader.h"
#include "io/safetensors_writer.h"
#include "quant/awq_linear.h"
#include "quant/awq_packing.h"
#include "tokenizer/tokenizer.h"

namespace awq {
namespace {

using namespace awq::test;

// Every entry of the folder's parent that belongs to `dir` (the folder itself or its temporaries).
std::vector<std::string> leftovers(const fs::path& dir) {
    std::vector<std::string> out;
    const std::string name = dir.filename().string();
    for (const auto& e : fs::directory_iterator(dir.parent_path())) {
        const std::string n = e.path().filename().string();
        if (n == name || n.rfind(name + ".tmp-", 0) == 0) out.push_back(e.path().string());
    }
    return out;
}

QuantConfig config(const std::string& version, bool zero_point, int64_t group) {
    QuantConfig c;
    c.version = version;
    c.zero_point = zero_point;
    c.group_size = group;
    c.method = "rtn";
    return c;
}

// ---- QuantConfig ------------------------------------------------------------------------------------

TEST(QuantConfigValidate, NamesTheOption) {
    QuantConfig ok;
    EXPECT_NO_THROW(ok.validate());
    auto bad = [](auto edit) {
        QuantConfig c;
        edit(c);
        return error_of([&] { c.validate(); });
    };
    EXPECT_EQ(bad([](QuantConfig& c) { c.w_bit = 9; }), "--w-bit: must be between 2 and 8, got 9");
    EXPECT_EQ(bad([](QuantConfig& c) { c.w_bit = 1; }), "--w-bit: must be between 2 and 8, got 1");
    EXPECT_EQ(bad([](QuantConfig& c) { c.group_size = 100; }),
              "--group-size: must be -1 (per output channel), 32, 64, 128 or 256, got 100");
    EXPECT_EQ(bad([](QuantConfig& c) { c.method = "gptq"; }), "--method: must be awq or rtn, got 'gptq'");
    EXPECT_EQ(bad([](QuantConfig& c) { c.version = "marlin"; }), "--version: must be gemm, gemv or fast, got 'marlin'");
    EXPECT_EQ(bad([](QuantConfig& c) { c.n_grid = 0; }), "--n-grid: must be positive, got 0");
    EXPECT_EQ(bad([](QuantConfig& c) { c.clip_grid = -3; }), "--clip-grid: must be positive, got -3");
    EXPECT_EQ(bad([](QuantConfig& c) { c.clip_max_shrink = 1.0; }),
              "--clip-max-shrink: must be between 0 and 1 (exclusive), got 1");
    EXPECT_EQ(bad([](QuantConfig& c) { c.clip_sample_tokens = 0; }), "--clip-sample-tokens: must be positive, got 0");
    EXPECT_EQ(bad([](QuantConfig& c) { c.modules_to_not_convert = {""}; }),
              "--modules-to-not-convert: contains an empty name (it would match every layer)");
    for (int b = 2; b <= 8; ++b)
        for (int64_t g : {-1, 32, 64, 128, 256}) {
            QuantConfig c;
            c.w_bit = b;
            c.group_size = g;
            EXPECT_NO_THROW(c.validate()) << b << " " << g;
        }
}

// ---- AwqLinear --------------------------------------------------------------------------------------

QuantizedWeight random_quantized(int64_t out, int64_t in, int64_t group, bool zero_point, uint64_t seed) {
    at::manual_seed(seed);
    return rtn_reference(at::randn({out, in}) * 0.05, 4, group, zero_point);
}

TEST(AwqLinear, EveryLayoutComputesTheDequantizedWeight) {
    c10::InferenceMode guard;
    for (AwqLayout layout : {AwqLayout::Gemm, AwqLayout::Gemv, AwqLayout::Fast})
        for (int64_t group : {32, 64, 128})
            for (bool zp : {true, false}) {
                QuantizedWeight w = random_quantized(48, 256, group, zp, 7 + group);
                w.bias = at::randn({48});
                AwqLinear lin(w, layout, at::kFloat, at::kCPU, "test.linear");
                const std::string what = std::string(awq_layout_name(layout)) + " g" + std::to_string(group) + (zp ? " zp" : " sym");
                EXPECT_EQ(lin.kind(), std::string("awq-") + awq_layout_name(layout));
                EXPECT_EQ(lin.in_features(), 256);
                EXPECT_EQ(lin.out_features(), 48);
                // 4 bits per weight, 2 bytes per scale, zero points: 4 bits (gemm, fast) or a padded row (gemv).
                const int64_t ng = 256 / group;
                int64_t zero_bytes = 48 * ng / 2;
                if (layout == AwqLayout::Gemv) zero_bytes = 48 * (int64_t)gemv_zeros_width(256, group) * 4;
                if (layout == AwqLayout::Fast && !zp) zero_bytes = 0;
                const int64_t scale_bytes =
                    layout == AwqLayout::Gemv ? 48 * (int64_t)gemv_zeros_width(256, group) * 8 * 2 : 48 * ng * 2;
                EXPECT_EQ(lin.weight_bytes(), 48 * 256 / 2 + scale_bytes + zero_bytes + 48 * 4) << what;

                at::Tensor x = at::randn({3, 5, 256});
                at::Tensor expected = at::linear(x, w.dequantize(at::kFloat), w.bias);
                EXPECT_TRUE(at::equal(lin.forward(x), expected)) << what;
                EXPECT_TRUE(at::equal(lin.dense_weight(), w.dequantize(at::kFloat))) << what;

                QuantizedWeight back = lin.quantized();
                EXPECT_TRUE(at::equal(back.q, w.q)) << what;
                EXPECT_TRUE(at::equal(back.zeros, w.zeros)) << what;
                EXPECT_TRUE(at::equal(back.scales, w.scales)) << what;
                EXPECT_TRUE(at::equal(back.bias, w.bias)) << what;
                EXPECT_EQ(back.zero_point, zp) << what;
                EXPECT_EQ(back.group_size, group);
            }
}

TEST(AwqLinear, ComputeDtypeAndNoKernelByDefault) {
    c10::InferenceMode guard;
    QuantizedWeight w = random_quantized(32, 128, 64, true, 3);
    AwqLinear lin(w, AwqLayout::Gemm, at::kBFloat16, at::kCPU);
    EXPECT_EQ(lin.dense_weight().scalar_type(), at::kBFloat16);
    EXPECT_TRUE(at::equal(lin.dense_weight(), w.dequantize(at::kBFloat16)));
    EXPECT_EQ(AwqLinear::cuda_forward(), nullptr);
    lin.drop_dense_cache();
    at::Tensor x = at::randn({2, 128}).to(at::kBFloat16);
    EXPECT_TRUE(at::equal(lin.forward(x), at::linear(x, w.dequantize(at::kBFloat16))));
}

TEST(AwqLinear, RejectsWhatTheLayoutsCannotHold) {
    QuantizedWeight w3 = rtn_reference(at::randn({16, 64}), 3, 32, true);
    EXPECT_EQ(error_of([&] { AwqLinear(w3, AwqLayout::Gemm, at::kFloat, at::kCPU, "m.x"); }),
              "m.x: only 4-bit weights can be packed into the AWQ layouts, this one has 3 bits");
    QuantizedWeight odd = random_quantized(12, 64, 32, true, 1);  // 12 outputs: not a multiple of 8
    EXPECT_EQ(error_of([&] { AwqLinear(odd, AwqLayout::Gemm, at::kFloat, at::kCPU, "m.y"); }),
              "m.y: w4 gemm layout: out_features 12 is not a multiple of 8");
    QuantizedWeight g16 = random_quantized(16, 64, 16, true, 1);  // AutoAWQ's gemv has no 16-wide groups
    EXPECT_EQ(error_of([&] { AwqLinear(g16, AwqLayout::Gemv, at::kFloat, at::kCPU, "m.z"); }),
              "m.z: w4 gemv layout: AutoAWQ's gemv layout supports group sizes 32, 64 and >= 128, not 16");
}

// ---- export + import round trip ---------------------------------------------------------------------

struct RoundTripCase {
    std::string arch, version;
    bool zero_point;
    int64_t group;
};

std::string case_name(const RoundTripCase& c) {
    return c.arch + "_" + c.version + (c.zero_point ? "_zp" : "_sym") + "_g" + (c.group < 0 ? "ch" : std::to_string(c.group));
}

void PrintTo(const RoundTripCase& c, std::ostream* os) { *os << case_name(c); }

class AwqRoundTrip : public ::testing::TestWithParam<RoundTripCase> {};

TEST_P(AwqRoundTrip, ReimportGivesIdenticalLogits) {
    AWQ_REQUIRE_PYTHON();
    const RoundTripCase& p = GetParam();
    const fs::path src = tiny_model_with_tokenizer(p.arch);
    const QuantConfig cfg = config(p.version, p.zero_point, p.group);
    FakeQuantized fq = fake_quantize(src, cfg);
    const at::Tensor ids = probe_ids();
    const at::Tensor expected = logits_of(*fq.lm->model, ids);

    const fs::path out = fresh_dir("roundtrip-" + case_name(p));
    std::vector<std::string> phases;
    Progress progress;
    progress.on_progress = [&](const ProgressEvent& e) { phases.push_back(e.phase); };
    nlohmann::json calib = {{"samples", 0}, {"note", "rtn test"}};
    export_awq_checkpoint(*fq.lm->model, fq.linears, cfg, src.string(), out.string(), progress, calib);
    EXPECT_EQ(leftovers(out), std::vector<std::string>{out.string()});
    EXPECT_FALSE(phases.empty());

    // What other tools read.
    const nlohmann::json config_json = read_json_file(out / "config.json");
    const nlohmann::json& qc = config_json["quantization_config"];
    EXPECT_EQ(qc["quant_method"], "awq");
    EXPECT_EQ(qc["bits"], 4);
    EXPECT_EQ(qc["group_size"], p.group);
    EXPECT_EQ(qc["zero_point"], true);  // symmetric weights are stored with zero point 8 (see awq_export.h)
    EXPECT_EQ(qc["version"], p.version);
    EXPECT_TRUE(qc["modules_to_not_convert"].is_null());
    EXPECT_EQ(config_json["torch_dtype"], "float16");
    EXPECT_TRUE(fs::exists(out / "tokenizer.json"));
    EXPECT_TRUE(fs::exists(out / "generation_config.json"));
    const nlohmann::json prov = read_json_file(out / "awqlab.json");
    EXPECT_EQ(prov["quant_config"]["zero_point"], p.zero_point);
    EXPECT_EQ(prov["quant_config"]["version"], p.version);
    EXPECT_EQ(prov["calibration"], calib);
    EXPECT_EQ(prov["checkpoint"]["quantized_linears"], 21);

    SafetensorsReader st((out / "model.safetensors").string());
    const bool tied = fq.lm->config.tie_word_embeddings;
    EXPECT_EQ(st.contains("lm_head.weight"), !tied);
    for (const TensorView& t : st.tensors()) {
        if (t.name.ends_with(".qweight") || t.name.ends_with(".qzeros")) EXPECT_EQ(t.dtype, DType::I32) << t.name;
        else EXPECT_EQ(t.dtype, DType::F16) << t.name;
    }

    auto lm = load_model(out.string(), ModelOptions{});
    const at::Tensor got = logits_of(*lm->model, ids);
    EXPECT_TRUE(at::equal(got, expected)) << "max |diff| = " << (got - expected).abs().max().item<double>();
    int awq_layers = 0;
    for (int64_t i = 0; i < lm->model->num_blocks(); ++i)
        for (int s = 0; s < kNumLinearSlots; ++s) {
            const Linear& lin = lm->model->block(i).linear((LinearSlot)s);
            ASSERT_EQ(lin.kind(), "awq-" + p.version);
            const auto& a = dynamic_cast<const AwqLinear&>(lin);
            const QuantizedWeight& want =
                fq.linears.at("model.layers." + std::to_string(i) + "." + linear_slot_name((LinearSlot)s));
            const QuantizedWeight back = a.quantized();
            EXPECT_TRUE(at::equal(back.q, want.q) && at::equal(back.zeros, want.zeros) && at::equal(back.scales, want.scales));
            ++awq_layers;
        }
    EXPECT_EQ(awq_layers, 21);
    std::printf("%s: export -> import logits identical (%lld values), %lld packed bytes vs %lld fp32\n",
                case_name(p).c_str(), (long long)got.numel(), (long long)lm->model->weight_bytes(),
                (long long)fq.lm->model->weight_bytes());
}

INSTANTIATE_TEST_SUITE_P(
    TinyModels, AwqRoundTrip,
    ::testing::Values(RoundTripCase{"qwen2", "gemm", true, 32}, RoundTripCase{"qwen2", "gemv", false, -1},
                      RoundTripCase{"qwen2", "gemm", false, -1}, RoundTripCase{"qwen2", "gemv", true, 32},
                      RoundTripCase{"llama3", "gemm", true, -1}, RoundTripCase{"llama3", "gemv", true, 32},
                      RoundTripCase{"mistral", "gemm", false, 32}, RoundTripCase{"mistral", "gemv", true, -1}),
    [](const ::testing::TestParamInfo<RoundTripCase>& i) { return case_name(i.param); });

// The default model (SmolLM2-135M, 30 blocks): hidden 576 is not a multiple of 128, so g64.
TEST(AwqExport, DefaultModelRoundTrip) {
    AWQ_REQUIRE_DEFAULT_MODEL();
    const fs::path src = default_hf_model();
    const QuantConfig cfg = config("gemm", true, 64);
    FakeQuantized fq = fake_quantize(src, cfg);
    ASSERT_EQ(fq.linears.size(), 210u);
    std::vector<int32_t> prompt = fq.lm->tokenizer->encode("The capital of France is Paris, and the capital of Italy is");
    const at::Tensor ids = at::tensor(std::vector<int64_t>(prompt.begin(), prompt.end())).unsqueeze(0);
    const at::Tensor expected = logits_of(*fq.lm->model, ids);

    const fs::path out = fresh_dir("default-model-g64");
    auto t0 = std::chrono::steady_clock::now();
    export_awq_checkpoint(*fq.lm->model, fq.linears, cfg, src.string(), out.string());
    auto t1 = std::chrono::steady_clock::now();
    auto lm = load_model(out.string(), ModelOptions{});
    auto t2 = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < lm->model->num_blocks(); ++i)
        for (int s = 0; s < kNumLinearSlots; ++s) lm->model->block(i).linear((LinearSlot)s).dense_weight();
    auto t3 = std::chrono::steady_clock::now();
    const at::Tensor got = logits_of(*lm->model, ids);
    EXPECT_TRUE(at::equal(got, expected)) << "max |diff| = " << (got - expected).abs().max().item<double>();
    EXPECT_EQ(lm->model->block(29).linear(LinearSlot::Down).kind(), "awq-gemm");
    auto secs = [](auto a, auto b) { return std::chrono::duration<double>(b - a).count(); };
    const double src_mb = fs::file_size(src / "model.safetensors") / 1e6, out_mb = fs::file_size(out / "model.safetensors") / 1e6;
    std::printf("SmolLM2-135M w4 g64 gemm: export %.2f s, import %.2f s, dequantize all linears %.2f s; "
                "model.safetensors %.1f MB (fp16 source %.1f MB); logits identical over %lld values\n",
                secs(t0, t1), secs(t1, t2), secs(t2, t3), out_mb, src_mb, (long long)got.numel());
}

// modules_to_not_convert: the listed linears stay dense in the export and after import.
TEST(AwqExport, ModulesKeptFloat) {
    AWQ_REQUIRE_PYTHON();
    const fs::path src = tiny_model_with_tokenizer("qwen2");
    QuantConfig cfg = config("gemm", true, 32);
    cfg.modules_to_not_convert = {"mlp.down_proj", "model.layers.1.self_attn.q_proj"};
    FakeQuantized fq = fake_quantize(src, cfg);
    EXPECT_EQ(fq.linears.size(), 21u - 4u);
    const fs::path out = fresh_dir("keep-float");
    export_awq_checkpoint(*fq.lm->model, fq.linears, cfg, src.string(), out.string());
    EXPECT_EQ(read_json_file(out / "config.json")["quantization_config"]["modules_to_not_convert"],
              nlohmann::json(cfg.modules_to_not_convert));
    SafetensorsReader st((out / "model.safetensors").string());
    EXPECT_TRUE(st.contains("model.layers.2.mlp.down_proj.weight"));
    EXPECT_FALSE(st.contains("model.layers.2.mlp.down_proj.qweight"));
    EXPECT_TRUE(st.contains("model.layers.1.self_attn.q_proj.weight"));
    EXPECT_TRUE(st.contains("model.layers.0.self_attn.q_proj.qweight"));
    auto lm = load_model(out.string(), ModelOptions{});
    EXPECT_EQ(lm->model->block(2).linear(LinearSlot::Down).kind(), "dense");
    EXPECT_EQ(lm->model->block(1).linear(LinearSlot::Q).kind(), "dense");
    EXPECT_EQ(lm->model->block(1).linear(LinearSlot::K).kind(), "awq-gemm");
    EXPECT_TRUE(at::equal(logits_of(*lm->model, probe_ids()), logits_of(*fq.lm->model, probe_ids())));
}

// A GGUF source (the model was loaded from llama.cpp's format): the tokenizer files are made from its vocabulary.
TEST(AwqExport, TokenizerFromGgufSource) {
    AWQ_REQUIRE_PYTHON();
    AWQ_REQUIRE_DEFAULT_MODEL();
    const fs::path src = tiny_model_with_tokenizer("llama3");
    const QuantConfig cfg = config("gemm", true, 32);
    FakeQuantized fq = fake_quantize(src, cfg);
    const fs::path out = fresh_dir("gguf-source");
    export_awq_checkpoint(*fq.lm->model, fq.linears, cfg, default_gguf().string(), out.string());
    EXPECT_TRUE(fs::exists(out / "tokenizer.json"));
    EXPECT_TRUE(fs::exists(out / "tokenizer_config.json"));
    EXPECT_TRUE(fs::exists(out / "generation_config.json"));
    auto lm = load_model(out.string(), ModelOptions{});
    GgufReader g(default_gguf().string());
    const auto from_gguf = Tokenizer::from_gguf_vocab(read_gguf_vocab(g), default_gguf().string());
    const std::string text = "Quantized weights, 4 bits each: ünïcödé too.";
    EXPECT_EQ(lm->tokenizer->encode(text), from_gguf->encode(text));
    EXPECT_EQ(read_json_file(out / "awqlab.json")["checkpoint"]["companion_files"],
              nlohmann::json({"tokenizer.json", "tokenizer_config.json", "generation_config.json"}));
}

// ---- bad input ----------------------------------------------------------------------------------

class AwqExportErrors : public ::testing::Test {
protected:
    void SetUp() override {
        if (!python_available()) GTEST_SKIP() << "reference Python absent: run scripts/setup.sh";
        src_ = tiny_model_with_tokenizer("qwen2");
        cfg_ = config("gemm", true, 32);
        fq_ = fake_quantize(src_, cfg_);
    }
    std::string export_error(const QuantConfig& cfg, const fs::path& out, const Progress& progress = {}) {
        return error_of([&] { export_awq_checkpoint(*fq_.lm->model, fq_.linears, cfg, src_.string(), out.string(), progress); });
    }
    fs::path src_;
    QuantConfig cfg_;
    FakeQuantized fq_;
};

TEST_F(AwqExportErrors, ExistingNonEmptyFolder) {
    const fs::path out = fresh_dir("non-empty");
    fs::create_directories(out);
    std::ofstream(out / "keep.txt") << "mine";
    EXPECT_EQ(export_error(cfg_, out), out.string() + ": output folder already exists and is not empty");
    EXPECT_EQ(leftovers(out), std::vector<std::string>{out.string()});
    EXPECT_EQ(std::distance(fs::directory_iterator(out), fs::directory_iterator()), 1);
}

// Cancelled while packing, while writing tensors, and after model.safetensors is complete (the temporary
// folder then holds a finished file that must go too).
TEST_F(AwqExportErrors, CancelMidwayLeavesNothing) {
    struct When {
        std::string phase;
        bool at_end;
    };
    for (const When w : {When{"pack", false}, When{"write", false}, When{"write", true}}) {
        const std::string tag = w.phase + (w.at_end ? "-end" : "");
        const fs::path out = fresh_dir("cancelled-" + tag);
        std::atomic<bool> cancel{false};
        int events = 0;
        Progress progress;
        progress.cancel = &cancel;
        progress.on_progress = [&](const ProgressEvent& e) {
            if (e.phase.rfind(w.phase, 0) != 0) return;
            ++events;
            if (w.at_end ? e.done == e.total : events == 5) cancel = true;
        };
        EXPECT_THROW(export_awq_checkpoint(*fq_.lm->model, fq_.linears, cfg_, src_.string(), out.string(), progress),
                     Cancelled)
            << tag;
        if (!w.at_end) EXPECT_EQ(events, 5) << tag;
        EXPECT_TRUE(cancel.load()) << tag;
        EXPECT_TRUE(leftovers(out).empty()) << tag << ": " << (leftovers(out).empty() ? "" : leftovers(out)[0]);
    }
}

TEST_F(AwqExportErrors, ThreeBitRefused) {
    QuantConfig c = cfg_;
    c.w_bit = 3;
    const fs::path out = fresh_dir("w3");
    EXPECT_EQ(export_error(c, out),
              "--w-bit: export needs w_bit 4 (AutoAWQ formats are 4-bit); w3 models can be evaluated but not exported");
    EXPECT_TRUE(leftovers(out).empty());
    EXPECT_EQ(error_of([&] { check_awq_exportable(fq_.lm->config, c); }), export_error(c, out));
}

TEST_F(AwqExportErrors, GroupSizeNotDividingInFeatures) {
    QuantConfig c = cfg_;
    c.group_size = 64;  // down_proj has 160 inputs
    const fs::path out = fresh_dir("g64");
    EXPECT_EQ(export_error(c, out),
              "--group-size: 'model.layers.0.mlp.down_proj' has 160 input features, not a multiple of group size 64");
    EXPECT_TRUE(leftovers(out).empty());
}

TEST_F(AwqExportErrors, FastLayoutAndAmbiguousModulesRefused) {
    QuantConfig c = cfg_;
    c.version = "fast";
    EXPECT_EQ(export_error(c, fresh_dir("fast")),
              "--version: 'fast' is this engine's in-memory kernel layout, not a checkpoint format other tools read; "
              "export gemm (the engine repacks it for its kernels when loading)");
    c = cfg_;
    c.modules_to_not_convert = {"mlp"};  // substring for AutoAWQ/vLLM, but neither prefix nor suffix for transformers
    EXPECT_EQ(export_error(c, fresh_dir("ambiguous")),
              "--modules-to-not-convert: 'mlp' keeps 'model.layers.0.mlp.down_proj' float for AutoAWQ and vLLM "
              "(substring match) but not for transformers (prefix up to a '.' or suffix match), so loaders would "
              "disagree on its weights; use a suffix such as 'mlp.down_proj' or the full name");
    c.modules_to_not_convert = {"model.layers.1"};  // would also catch layers.10.. for AutoAWQ on bigger models
    EXPECT_NO_THROW(check_awq_exportable(fq_.lm->config, c));  // 3 layers: no disagreement here
    c.modules_to_not_convert = {"layers.*"};
    EXPECT_EQ(export_error(c, fresh_dir("regex")),
              "--modules-to-not-convert: 'layers.*' is not a plain module name (letters, digits, '_', '.', '-'): "
              "AutoAWQ and vLLM match entries as substrings, transformers as regular expressions, so anything else is ambiguous");
    c.modules_to_not_convert = {"proj"};
    EXPECT_EQ(export_error(c, fresh_dir("all-float")),
              "--modules-to-not-convert: keeps every linear layer float: there is nothing to export as AWQ");
}

TEST_F(AwqExportErrors, LinearsMustMatchTheModel) {
    const fs::path out = fresh_dir("linears");
    auto with = [&](auto edit) {
        auto linears = fq_.linears;
        edit(linears);
        return error_of([&] { export_awq_checkpoint(*fq_.lm->model, linears, cfg_, src_.string(), out.string()); });
    };
    EXPECT_EQ(with([](auto& m) { m.erase("model.layers.2.mlp.up_proj"); }),
              "model.layers.2.mlp.up_proj: no quantized weights given (and modules_to_not_convert does not keep it float)");
    EXPECT_EQ(with([](auto& m) { m["model.layers.7.mlp.up_proj"] = m.at("model.layers.2.mlp.up_proj"); }),
              "model.layers.7.mlp.up_proj: is not a linear layer of this model");
    EXPECT_EQ(with([](auto& m) { m["model.layers.0.mlp.up_proj"] = m.at("model.layers.0.mlp.down_proj"); }),
              "model.layers.0.mlp.up_proj: quantized weight has shape [64, 160], the model needs [160, 64]");
    EXPECT_EQ(with([](auto& m) { m.at("model.layers.0.mlp.up_proj").bits = 8; }),
              "model.layers.0.mlp.up_proj: quantized with 8 bits, the config says 4");
    QuantConfig sym = cfg_;
    sym.zero_point = false;
    EXPECT_EQ(error_of([&] { export_awq_checkpoint(*fq_.lm->model, fq_.linears, sym, src_.string(), out.string()); }),
              "model.layers.0.mlp.down_proj: the config is symmetric (zero_point false) but this weight has zero points other than 8");
    EXPECT_TRUE(leftovers(out).empty());
}

// Damaged AWQ folders: errors name the file and the tensor before any weight is used.
class AwqImportErrors : public AwqExportErrors {
protected:
    void SetUp() override {
        AwqExportErrors::SetUp();
        if (IsSkipped()) return;
        good_ = fresh_dir("import-good");
        export_awq_checkpoint(*fq_.lm->model, fq_.linears, cfg_, src_.string(), good_.string());
    }
    // A copy of the good export whose model.safetensors went through `edit(name, dtype, shape, bytes)`.
    fs::path damaged(const std::string& tag,
                     const std::function<void(const std::string&, DType&, std::vector<int64_t>&, std::vector<uint8_t>&)>& edit) {
        const fs::path d = fresh_dir("import-" + tag);
        fs::create_directories(d);
        for (const auto& e : fs::directory_iterator(good_))
            if (e.path().filename() != "model.safetensors") fs::copy_file(e.path(), d / e.path().filename());
        SafetensorsReader in((good_ / "model.safetensors").string());
        SafetensorsWriter w((d / "model.safetensors").string());
        for (const TensorView& t : in.tensors()) {
            DType dt = t.dtype;
            std::vector<int64_t> shape = t.shape;
            std::vector<uint8_t> bytes(t.data, t.data + t.nbytes);
            edit(t.name, dt, shape, bytes);
            w.add_raw(t.name, dt, shape, bytes);
        }
        w.write();
        return d;
    }
    std::string load_error(const fs::path& d) {
        return error_of([&] { load_model(d.string(), ModelOptions{}); });
    }
    fs::path good_;
};

TEST_F(AwqImportErrors, WrongPackedShapeOrDtype) {
    const std::string qw = "model.layers.1.mlp.up_proj.qweight";
    fs::path d = damaged("shape", [&](const std::string& n, DType&, std::vector<int64_t>& shape, std::vector<uint8_t>&) {
        if (n == qw) std::swap(shape[0], shape[1]);
    });
    EXPECT_EQ(load_error(d), (d / "model.safetensors").string() + ": tensor '" + qw + "' has shape [20, 64], expected [64, 20]");
    d = damaged("dtype", [&](const std::string& n, DType& dt, std::vector<int64_t>&, std::vector<uint8_t>&) {
        if (n == qw) dt = DType::F32;
    });
    EXPECT_EQ(load_error(d), (d / "model.safetensors").string() + ": tensor '" + qw + "' has dtype F32, expected I32");
    const std::string sc = "model.layers.0.self_attn.k_proj.scales";
    d = damaged("scales", [&](const std::string& n, DType& dt, std::vector<int64_t>&, std::vector<uint8_t>& b) {
        if (n == sc) dt = DType::I16;
    });
    EXPECT_EQ(load_error(d), (d / "model.safetensors").string() + ": tensor '" + sc +
                                 "' has dtype I16, expected a float dtype (F32, F16, BF16)");
}

// Scales stored in fp32 (some tools do) load when fp16 holds them exactly, and are refused otherwise.
TEST_F(AwqImportErrors, Fp32ScalesOnlyWhenExact) {
    const std::string sc = "model.layers.0.self_attn.k_proj.scales";
    auto widen = [&](bool perturb) {
        return [&, perturb](const std::string& n, DType& dt, std::vector<int64_t>&, std::vector<uint8_t>& b) {
            if (n != sc) return;
            std::vector<uint8_t> f(b.size() * 2);
            for (size_t i = 0; i < b.size() / 2; ++i) {
                float v = fp16_to_float((uint16_t)(b[2 * i] | b[2 * i + 1] << 8));
                if (perturb && i == 3) v = std::nextafter(v, 1.0f);
                std::memcpy(&f[4 * i], &v, 4);
            }
            b = f;
            dt = DType::F32;
        };
    };
    fs::path d = damaged("f32-exact", widen(false));
    auto lm = load_model(d.string(), ModelOptions{});
    EXPECT_TRUE(at::equal(logits_of(*lm->model, probe_ids()), logits_of(*fq_.lm->model, probe_ids())));
    d = damaged("f32-inexact", widen(true));
    EXPECT_EQ(load_error(d), (d / "model.safetensors").string() +
                                 ": 'model.layers.0.self_attn.k_proj': scales are stored as Float with values float16 "
                                 "cannot represent exactly");
}

TEST_F(AwqImportErrors, UnsupportedVersionAndGemvShapes) {
    const fs::path d = damaged("version", [](const std::string&, DType&, std::vector<int64_t>&, std::vector<uint8_t>&) {});
    const std::string cfg = (d / "config.json").string();
    auto set_version = [&](const std::string& v) {
        nlohmann::json j = read_json_file(cfg);
        j["quantization_config"]["version"] = v;
        std::ofstream(cfg) << j.dump(2);
    };
    set_version("gemv_fast");
    EXPECT_EQ(load_error(d), cfg + ": AWQ version 'gemv_fast' is not supported (gemm and gemv are)");
    // gemm tensors declared gemv: q_proj is square, so its qweight [in, out/8] even has the gemv shape
    // [out, in/8]; the per-row zero points and scales give it away.
    set_version("GEMV");
    const std::string err = load_error(d);
    const std::string want = (d / "model.safetensors").string() +
                             ": tensor 'model.layers.0.self_attn.q_proj.qzeros' has shape [2, 8], expected [64, 4] (and ";
    EXPECT_EQ(err.substr(0, want.size()), want) << err;
}

}  // namespace
}  // namespace awq
