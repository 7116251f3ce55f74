// The AWQ pipeline on real checkpoints: deterministic, evidence complete and consistent with the model in
// memory, AWQ better than RTN on the default model, clear errors for impossible configurations, cancellation.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include "engine_test_support.h"
#include "eval/perplexity.h"
#include "model/model_loader.h"
#include "io/atomic_write.h"
#include "quant/awq_export.h"
#include "quant/awq_quantizer.h"
#include "quant/calibration.h"
#include "tokenizer/tokenizer.h"

namespace awq {
namespace {

using namespace awq::test;

at::Tensor random_calibration(int64_t samples, int64_t len, int64_t vocab, uint64_t seed) {
    at::manual_seed(seed);
    return at::randint(0, vocab, {samples, len}, at::kLong);
}

QuantConfig small_awq(int bits = 4, int64_t group = 32) {
    QuantConfig q;
    q.w_bit = bits;
    q.group_size = group;
    return q;
}

TEST(AwqQuantizer, DeterministicWithCompleteEvidence) {
    AWQ_REQUIRE_PYTHON();
    const fs::path dir = tiny_model("llama");
    auto a = load_model(dir.string(), ModelOptions{});
    auto b = load_model(dir.string(), ModelOptions{});
    at::Tensor ids = random_calibration(4, 32, a->config.vocab_size, 3);
    QuantizeResult ra = quantize_model(*a->model, ids, small_awq());
    QuantizeResult rb = quantize_model(*b->model, ids, small_awq());
    const int64_t n_blocks = a->config.num_hidden_layers;
    ASSERT_EQ(ra.linears.size(), (size_t)(n_blocks * 7));
    for (auto& [name, q] : ra.linears) {
        const QuantizedWeight& qb = rb.linears.at(name);
        EXPECT_TRUE(at::equal(q.q, qb.q) && at::equal(q.scales, qb.scales) && at::equal(q.zeros, qb.zeros)) << name;
    }
    // The model in memory is the quantized model: its dense weights are the dequantized integers.
    c10::InferenceMode guard;
    for (int64_t i = 0; i < n_blocks; ++i)
        for (int s = 0; s < kNumLinearSlots; ++s) {
            const std::string name = "model.layers." + std::to_string(i) + "." + linear_slot_name((LinearSlot)s);
            EXPECT_TRUE(at::equal(a->model->block(i).linear((LinearSlot)s).dense_weight(),
                                  ra.linears.at(name).dequantize(at::kFloat)))
                << name;
        }
    ASSERT_EQ(ra.evidence.linears.size(), (size_t)(n_blocks * 7));
    ASSERT_EQ(ra.evidence.blocks.size(), (size_t)n_blocks);
    for (const auto& l : ra.evidence.linears) {
        EXPECT_EQ(l.saliency.dim(), 1);
        EXPECT_FALSE(l.top_channels.empty());
        EXPECT_GT(l.rtn_error, 0);
        EXPECT_GT(l.awq_error, 0);
        const bool is_qk = l.name.find("q_proj") != std::string::npos || l.name.find("k_proj") != std::string::npos;
        EXPECT_EQ(l.clip_shrink.defined(), !is_qk) << l.name;
        EXPECT_EQ(l.grid_loss.size(), 20u) << l.name;  // no GQA in this model: v -> o is searched too
        EXPECT_GE(l.best_ratio, 0.0);
        EXPECT_LT(l.best_ratio, 1.0);
        // The chosen ratio has the smallest loss of the grid.
        const double best = *std::min_element(l.grid_loss.begin(), l.grid_loss.end());
        EXPECT_DOUBLE_EQ(l.grid_loss[(size_t)std::llround(l.best_ratio * 20)], best) << l.name;
    }
    // Saved and read back.
    const fs::path path = scratch_dir() / "evidence-test.safetensors";
    ra.evidence.save(path.string());
    QuantEvidence e = QuantEvidence::load(path.string());
    ASSERT_EQ(e.linears.size(), ra.evidence.linears.size());
    const LinearEvidence* l = e.find("model.layers.1.mlp.down_proj");
    ASSERT_NE(l, nullptr);
    EXPECT_TRUE(at::equal(l->saliency, ra.evidence.find("model.layers.1.mlp.down_proj")->saliency));
    EXPECT_TRUE(at::equal(l->clip_shrink, ra.evidence.find("model.layers.1.mlp.down_proj")->clip_shrink));
    EXPECT_EQ(e.blocks[2].awq_error, ra.evidence.blocks[2].awq_error);
}

TEST(AwqQuantizer, GqaModelSkipsVToOAndRtnSkipsSearches) {
    AWQ_REQUIRE_PYTHON();
    auto lm = load_model(tiny_model("qwen2").string(), ModelOptions{});
    QuantizeResult r = quantize_model(*lm->model, random_calibration(2, 32, lm->config.vocab_size, 4), small_awq());
    EXPECT_TRUE(r.evidence.find("model.layers.0.self_attn.o_proj")->grid_loss.empty());
    EXPECT_EQ(r.evidence.find("model.layers.0.self_attn.q_proj")->grid_loss.size(), 20u);
    auto lm2 = load_model(tiny_model("qwen2").string(), ModelOptions{});
    QuantConfig rtn = small_awq();
    rtn.method = "rtn";
    QuantizeResult r2 = quantize_model(*lm2->model, random_calibration(2, 32, lm->config.vocab_size, 4), rtn);
    for (const auto& l : r2.evidence.linears) {
        EXPECT_TRUE(l.grid_loss.empty());
        EXPECT_FALSE(l.clip_shrink.defined());
        EXPECT_EQ(l.rtn_error, l.awq_error);
    }
}

TEST(AwqQuantizer, ImpossibleConfigurationsAreClearErrors) {
    AWQ_REQUIRE_PYTHON();
    auto lm = load_model(tiny_model("qwen2").string(), ModelOptions{});
    at::Tensor ids = random_calibration(2, 16, lm->config.vocab_size, 5);
    auto message = [&](const QuantConfig& q) {
        try {
            quantize_model(*lm->model, ids, q);
        } catch (const Error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    EXPECT_NE(message(small_awq(4, 128)).find("does not divide the input width 64"), std::string::npos)
        << message(small_awq(4, 128));
    EXPECT_NE(message(small_awq(9, 32)).find("--w-bit"), std::string::npos);
    EXPECT_NE(message(small_awq(1, 32)).find("--w-bit"), std::string::npos);
    QuantConfig bad_method = small_awq();
    bad_method.method = "gptq";
    EXPECT_NE(message(bad_method).find("--method"), std::string::npos);
    QuantConfig nothing_left = small_awq();
    nothing_left.modules_to_not_convert = {"self_attn", "mlp"};
    EXPECT_NE(message(nothing_left).find("no linear layer is left to quantize"), std::string::npos) << message(nothing_left);
}

// A model whose linears are already quantized has no float linear layers AWQ could work on.
TEST(AwqQuantizer, AlreadyQuantizedModelIsAClearError) {
    AWQ_REQUIRE_PYTHON();
    auto lm = load_model(tiny_model("llama").string(), ModelOptions{});
    QuantizeResult r = quantize_model(*lm->model, random_calibration(2, 16, lm->config.vocab_size, 7), small_awq());
    const fs::path out = scratch_dir() / "already-quantized";
    awq::remove_tree(out.string());
    export_awq_checkpoint(*lm->model, r.linears, small_awq(), tiny_model("llama").string(), out.string());
    auto q = load_model(out.string(), ModelOptions{});
    try {
        quantize_model(*q->model, random_calibration(2, 16, lm->config.vocab_size, 7), small_awq());
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("AWQ needs float weights"), std::string::npos) << e.what();
    }
}

TEST(AwqQuantizer, CancellationStopsAtABlockBoundary) {
    AWQ_REQUIRE_PYTHON();
    auto lm = load_model(tiny_model("llama").string(), ModelOptions{});
    std::atomic<bool> cancel{false};
    Progress p;
    p.cancel = &cancel;
    std::string last;
    p.on_progress = [&](const ProgressEvent& e) {
        last = e.phase;
        if (e.phase.rfind("block 2/", 0) == 0) cancel = true;
    };
    EXPECT_THROW(quantize_model(*lm->model, random_calibration(2, 16, lm->config.vocab_size, 6), small_awq(), p), Cancelled);
    EXPECT_EQ(last.rfind("block 2/", 0), 0u) << last;
}

class DefaultModelAwq : public ::testing::Test {
protected:
    void SetUp() override {
        if (!fs::exists(default_gguf())) GTEST_SKIP() << "default model absent: run scripts/setup.sh";
        calib_ = shared_data_dir() / "wikitext-2/wiki.valid.tokens";
        test_ = shared_data_dir() / "wikitext-2-raw/wiki.test.raw";
        if (!fs::exists(calib_) || !fs::exists(test_)) GTEST_SKIP() << "WikiText-2 files absent under " << shared_data_dir();
    }
    fs::path calib_, test_;
};

TEST_F(DefaultModelAwq, CalibrationTooShortSaysWhatIsNeeded) {
    auto lm = load_model(default_hf_model().string(), ModelOptions{});
    CalibrationConfig cc;
    cc.texts = {"a short text", "another one"};
    cc.n_samples = 128;
    try {
        build_calibration(*lm->tokenizer, cc);
        FAIL() << "expected an error";
    } catch (const Error& e) {
        const std::string m = e.what();
        EXPECT_NE(m.find("too little calibration text: 2 usable texts"), std::string::npos) << m;
        EXPECT_NE(m.find("128 samples"), std::string::npos) << m;
    }
    cc.path = calib_.string();
    cc.n_samples = 16;
    cc.seqlen = 256;
    CalibrationData d = build_calibration(*lm->tokenizer, cc);
    EXPECT_EQ(d.texts.size(), 16u);
    EXPECT_EQ(d.ids.size(1), 256);
    EXPECT_EQ(d.ids.size(0), d.tokens / 256);
    CalibrationData again = build_calibration(*lm->tokenizer, cc);
    EXPECT_TRUE(at::equal(d.ids, again.ids)) << "same seed, same calibration";
}

// The point of AWQ: at 3 bits, activation-aware scaling and clipping beat plain round-to-nearest, both
// in each block's output error and in perplexity. (Group 64: the model's hidden size 576 is not a multiple
// of 128, which AutoAWQ refuses too.)
TEST_F(DefaultModelAwq, AwqBeatsRtnAtThreeBits) {
    const fs::path model = default_hf_model();
    PerplexityOptions po;
    po.seqlen = 512;
    po.max_windows = 2;
    double ppl[2];
    double block_err[2];
    for (int m = 0; m < 2; ++m) {
        auto lm = load_model(model.string(), ModelOptions{});
        CalibrationConfig cc;
        cc.path = calib_.string();
        // Small calibration: on the 2-core CI machine every block runs 20 grid forwards per group.
        cc.n_samples = 8;
        cc.seqlen = 128;
        CalibrationData d = build_calibration(*lm->tokenizer, cc);
        QuantConfig q;
        q.w_bit = 3;
        q.group_size = 64;
        q.method = m == 0 ? "rtn" : "awq";
        QuantizeResult r = quantize_model(*lm->model, d.ids, q);
        block_err[m] = 0;
        for (const auto& b : r.evidence.blocks) block_err[m] += b.awq_error / r.evidence.blocks.size();
        ppl[m] = perplexity_of_file(*lm->model, *lm->tokenizer, test_.string(), po).perplexity;
        std::printf("w3 g64 %s: mean block error %.4f, perplexity (2 x 512) %.3f, %.1f s\n", q.method.c_str(),
                    block_err[m], ppl[m], r.stats.seconds);
    }
    EXPECT_LT(block_err[1], block_err[0]);
    EXPECT_LT(ppl[1], ppl[0]);
}

}  // namespace
}  // namespace awq
