// Generation semantics on a real checkpoint (tiny random Qwen2 made by transformers): the KV cache gives
// the same logits as a full forward pass, batched prefill equals per-row runs, sampling is seeded and
// honours top-k / top-p / temperature, stop strings, EOS, streaming and cancellation.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include "chat/chat_template.h"
#include "engine_test_support.h"
#include "generate/generator.h"
#include "model/model_loader.h"
#include "tokenizer/tokenizer.h"

namespace awq {
namespace {

using namespace awq::test;

at::Tensor ids_of(const std::vector<int64_t>& v) { return at::tensor(v).unsqueeze(0); }

class Generation : public ::testing::Test {
protected:
    void SetUp() override {
        if (!python_available()) GTEST_SKIP() << "reference Python absent: run scripts/setup.sh";
        lm_ = load_model(tiny_model("qwen2").string(), ModelOptions{});
    }
    std::unique_ptr<LoadedModel> lm_;
};

TEST_F(Generation, KvCacheDecodeEqualsFullForward) {
    c10::InferenceMode guard;
    std::vector<int64_t> ids = {3, 17, 99, 250, 7, 42, 11, 300, 5, 77};
    at::Tensor full = lm_->model->forward(ids_of(ids));  // [1, 10, V]
    KVCache cache = lm_->model->make_cache(1, 16);
    // Prefill 6 tokens, then 1 token at a time, then a 2-token chunk on top of the cache (masked prefill).
    at::Tensor a = lm_->model->forward(ids_of({ids.begin(), ids.begin() + 6}), &cache);
    at::Tensor b = lm_->model->forward(ids_of({ids[6]}), &cache);
    at::Tensor c = lm_->model->forward(ids_of({ids[7]}), &cache);
    at::Tensor d = lm_->model->forward(ids_of({ids.begin() + 8, ids.end()}), &cache);
    at::Tensor inc = at::cat({a, b, c, d}, 1);
    EXPECT_EQ(cache.length, 10);
    EXPECT_LT((inc - full).abs().max().item<double>(), 1e-4);
}

TEST_F(Generation, BatchedPrefillEqualsRowByRow) {
    c10::InferenceMode guard;
    std::vector<int64_t> r0 = {1, 2, 3, 4, 5}, r1 = {400, 300, 200, 100, 0};
    at::Tensor batch = at::stack({at::tensor(r0), at::tensor(r1)});
    at::Tensor both = lm_->model->forward(batch);
    EXPECT_LT((both[0] - lm_->model->forward(ids_of(r0))[0]).abs().max().item<double>(), 1e-5);
    EXPECT_LT((both[1] - lm_->model->forward(ids_of(r1))[0]).abs().max().item<double>(), 1e-5);
    GenerationConfig g;
    g.max_new_tokens = 12;
    auto together = generate_ids(*lm_->model, {{1, 2, 3, 4, 5}, {400, 300, 200, 100, 0}}, g);
    EXPECT_EQ(together[0], generate_ids(*lm_->model, {{1, 2, 3, 4, 5}}, g)[0]);
    EXPECT_EQ(together[1], generate_ids(*lm_->model, {{400, 300, 200, 100, 0}}, g)[0]);
}

TEST_F(Generation, SamplingIsSeededAndTopKOneIsGreedy) {
    GenerationConfig greedy;
    greedy.max_new_tokens = 20;
    GenerationConfig s = greedy;
    s.sampling.temperature = 1.5f;
    s.sampling.seed = 7;
    std::vector<std::vector<int32_t>> prompt = {{10, 20, 30}};
    auto a = generate_ids(*lm_->model, prompt, s);
    auto b = generate_ids(*lm_->model, prompt, s);
    EXPECT_EQ(a, b) << "same seed, same tokens";
    s.sampling.seed = 8;
    auto c = generate_ids(*lm_->model, prompt, s);
    EXPECT_NE(a, c) << "a different seed should change a 20-token sample at temperature 1.5";
    GenerationConfig k1 = s;
    k1.sampling.top_k = 1;
    EXPECT_EQ(generate_ids(*lm_->model, prompt, k1), generate_ids(*lm_->model, prompt, greedy));
    GenerationConfig p0 = s;
    p0.sampling.top_p = 1e-6f;  // nucleus of one token
    EXPECT_EQ(generate_ids(*lm_->model, prompt, p0), generate_ids(*lm_->model, prompt, greedy));
}

TEST(SamplerTest, RepetitionPenaltyAndTopP) {
    SamplingConfig c;
    c.repetition_penalty = 2.0f;
    Sampler s(c);
    std::vector<float> logits = {1.0f, 1.5f, -1.0f};
    EXPECT_EQ(s.sample(logits, {1}), 0);  // 1.5 / 2 = 0.75 < 1.0
    EXPECT_FLOAT_EQ(logits[1], 0.75f);
    std::vector<float> neg = {-1.0f, -1.5f};
    Sampler(c).sample(neg, {0});
    EXPECT_FLOAT_EQ(neg[0], -2.0f);  // negative logits are multiplied
    // top-p 0.5 over probabilities {0.6, 0.3, 0.1} keeps only the first token.
    SamplingConfig p;
    p.temperature = 1.0f;
    p.top_p = 0.5f;
    Sampler sp(p);
    for (int i = 0; i < 50; ++i) {
        std::vector<float> l = {std::log(0.6f), std::log(0.3f), std::log(0.1f)};
        EXPECT_EQ(sp.sample(l, {}), 0);
    }
    SamplingConfig bad;
    bad.top_p = 0.0f;
    EXPECT_THROW(Sampler{bad}, Error);
}

TEST_F(Generation, EmptyPromptAndBadIdsAreClearErrors) {
    GenerationConfig g;
    try {
        generate_ids(*lm_->model, {{}}, g);
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("empty prompt"), std::string::npos) << e.what();
    }
    try {
        generate_ids(*lm_->model, {{1, 100000}}, g);
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("outside the vocabulary"), std::string::npos) << e.what();
    }
}

TEST_F(Generation, CancellationStopsGeneration) {
    std::atomic<bool> cancel{false};
    Progress p;
    p.cancel = &cancel;
    int steps = 0;
    p.on_progress = [&](const ProgressEvent&) {
        if (++steps == 3) cancel = true;
    };
    GenerationConfig g;
    g.max_new_tokens = 50;
    EXPECT_THROW(generate_ids(*lm_->model, {{1, 2, 3}}, g, nullptr, p), Cancelled);
    EXPECT_EQ(steps, 3);
}

class TextGeneration : public ::testing::Test {
protected:
    void SetUp() override {
        if (!std::filesystem::exists(default_gguf())) GTEST_SKIP() << "default model absent: run scripts/setup.sh";
        lm_ = load_model(default_hf_model().string(), ModelOptions{});
    }
    std::unique_ptr<LoadedModel> lm_;
};

TEST_F(TextGeneration, StreamedTextEqualsResultAndStopStringsCut) {
    auto ids = lm_->tokenizer->encode("The three primary colors are red,", true);
    GenerationConfig g;
    g.max_new_tokens = 30;
    std::string streamed;
    int calls = 0;
    auto r = generate(*lm_->model, *lm_->tokenizer, ids, g, [&](int32_t, const std::string& piece) {
        streamed += piece;
        ++calls;
    });
    EXPECT_EQ(streamed, r.text);
    EXPECT_GE(calls, (int)r.tokens.size());
    EXPECT_EQ(r.text, lm_->tokenizer->decode(r.tokens, true));
    ASSERT_GT(r.text.size(), 4u);
    // Stop at a string that occurs in the greedy text: the result is cut right before it.
    std::string stop = r.text.substr(r.text.size() / 2, 3);
    g.stop_strings = {stop};
    std::string streamed2;
    auto r2 = generate(*lm_->model, *lm_->tokenizer, ids, g,
                       [&](int32_t, const std::string& piece) { streamed2 += piece; });
    EXPECT_EQ(r2.stop_reason, "stop_string");
    EXPECT_EQ(r2.text, r.text.substr(0, r.text.find(stop)));
    EXPECT_EQ(streamed2, r2.text);
}

TEST_F(TextGeneration, StopsAtEos) {
    // A chat turn of an instruct model ends with its end-of-turn token well before 200 tokens.
    ASSERT_TRUE(lm_->chat_template);
    std::string text = lm_->chat_template->render({{"user", "Say hello."}}, true, lm_->bos_token, lm_->eos_token);
    GenerationConfig g;
    g.max_new_tokens = 200;
    g.eos_ids = lm_->eos_ids;
    auto r = generate(*lm_->model, *lm_->tokenizer, lm_->tokenizer->encode(text, false), g);
    EXPECT_EQ(r.stop_reason, "eos") << r.text;
    EXPECT_FALSE(r.text.empty());
}

}  // namespace
}  // namespace awq
