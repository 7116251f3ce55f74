// What AWQ builds on: running the model one block at a time equals the whole forward pass, the input hook
// sees the exact input of every linear, linears can be swapped, and offloaded execution equals resident.
#include <gtest/gtest.h>

#include <map>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include "engine_test_support.h"
#include "model/model_loader.h"

namespace awq {
namespace {

using namespace awq::test;

class BlockExecution : public ::testing::Test {
protected:
    void SetUp() override {
        if (!python_available()) GTEST_SKIP() << "reference Python absent: run scripts/setup.sh";
        lm_ = load_model(tiny_model("qwen2").string(), ModelOptions{});
    }
    std::unique_ptr<LoadedModel> lm_;
};

TEST_F(BlockExecution, BlockByBlockEqualsForward) {
    c10::InferenceMode guard;
    at::Tensor ids = at::tensor(std::vector<int64_t>{5, 6, 7, 8, 9, 10, 11}).unsqueeze(0);
    LlamaModel& m = *lm_->model;
    at::Tensor h = m.embed(ids);
    AttentionContext ctx = m.context(0, ids.size(1));
    for (int64_t i = 0; i < m.num_blocks(); ++i) h = m.run_block(i, h, ctx);
    at::Tensor logits = m.logits(m.final_norm(h));
    EXPECT_TRUE(at::equal(logits, m.forward(ids)));
}

// The hook gets each linear's input; recomputing the linear from it gives the block's own result.
TEST_F(BlockExecution, HookCapturesLinearInputs) {
    c10::InferenceMode guard;
    LlamaModel& m = *lm_->model;
    at::Tensor ids = at::tensor(std::vector<int64_t>{1, 2, 3, 4}).unsqueeze(0);
    at::Tensor h = m.embed(ids);
    std::map<LinearSlot, at::Tensor> seen;
    DecoderBlock& b = m.block(0);
    b.set_input_hook([&](LinearSlot s, const at::Tensor& x) { seen[s] = x.clone(); });
    AttentionContext ctx = m.context(0, 4);
    at::Tensor out = b.forward(h, ctx);
    b.set_input_hook({});
    ASSERT_EQ(seen.size(), (size_t)kNumLinearSlots);
    const auto& cfg = m.config();
    EXPECT_EQ(seen[LinearSlot::Q].sizes(), (std::vector<int64_t>{1, 4, cfg.hidden_size}));
    EXPECT_EQ(seen[LinearSlot::O].size(2), cfg.num_attention_heads * cfg.head_dim);
    EXPECT_EQ(seen[LinearSlot::Down].size(2), cfg.intermediate_size);
    EXPECT_TRUE(at::equal(seen[LinearSlot::Q], b.input_norm(h)));
    // Rebuild the block output from the captured o_proj and down_proj inputs.
    at::Tensor h1 = h + b.linear(LinearSlot::O).forward(seen[LinearSlot::O]);
    EXPECT_TRUE(at::equal(seen[LinearSlot::Gate], b.post_norm(h1)));
    at::Tensor rebuilt = h1 + b.linear(LinearSlot::Down).forward(seen[LinearSlot::Down]);
    EXPECT_LT((rebuilt - out).abs().max().item<double>(), 1e-6);
}

// A linear implementation can be swapped: a wrapper that scales the output changes the result accordingly.
class ScaledLinear : public Linear {
public:
    ScaledLinear(std::unique_ptr<Linear> inner, double s) : inner_(std::move(inner)), s_(s) {}
    at::Tensor forward(const at::Tensor& x) const override { return inner_->forward(x) * s_; }
    int64_t in_features() const override { return inner_->in_features(); }
    int64_t out_features() const override { return inner_->out_features(); }
    at::Tensor dense_weight() const override { return inner_->dense_weight() * s_; }
    at::Tensor bias() const override { return inner_->bias(); }
    void to(at::Device d) override { inner_->to(d); }
    std::string kind() const override { return "scaled"; }
    int64_t weight_bytes() const override { return inner_->weight_bytes(); }

private:
    std::unique_ptr<Linear> inner_;
    double s_;
};

TEST_F(BlockExecution, LinearsAreSwappable) {
    c10::InferenceMode guard;
    LlamaModel& m = *lm_->model;
    at::Tensor ids = at::tensor(std::vector<int64_t>{1, 2, 3}).unsqueeze(0);
    at::Tensor before = m.forward(ids);
    DecoderBlock& b = m.block(1);
    auto& down = b.linear(LinearSlot::Down);
    at::Tensor w = down.dense_weight().clone();
    b.set_linear(LinearSlot::Down, std::make_unique<ScaledLinear>(
                                       std::make_unique<DenseLinear>(w, at::Tensor()), 0.0));
    at::Tensor zeroed = m.forward(ids);
    EXPECT_GT((zeroed - before).abs().max().item<double>(), 1e-3);
    b.set_linear(LinearSlot::Down, std::make_unique<DenseLinear>(w, at::Tensor()));
    EXPECT_TRUE(at::equal(m.forward(ids), before));
}

}  // namespace
}  // namespace awq
