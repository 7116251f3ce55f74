// The engine computes what transformers computes: logits of every position within 1e-3 (fp32, CPU) and
// identical 40-token greedy continuations, for the default model (converted from GGUF) and for small
// random Qwen2 (q/k/v bias), Mistral, Llama 2-style (no GQA) and Llama 3 (rope scaling, tied embeddings) models.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include "engine_test_support.h"
#include "generate/generator.h"
#include "model/model_loader.h"

namespace awq {
namespace {

using namespace awq::test;

struct Compared {
    double max_abs_diff = 0;
    int prompts = 0;
};

Compared compare_with_reference(const fs::path& model_dir) {
    fs::path ref = reference_logits(model_dir);
    nlohmann::json meta = read_json_file(ref / "meta.json");
    ModelOptions opt;  // fp32 on the CPU
    auto lm = load_model(model_dir.string(), opt);
    Compared c;
    for (const auto& p : meta["prompts"]) {
        std::vector<int32_t> ids = p["ids"].get<std::vector<int32_t>>();
        const int64_t T = p["shape"][0], V = p["shape"][1];
        at::Tensor expected = at::empty({T, V}, at::kFloat);
        std::ifstream in(ref / p["logits_file"].get<std::string>(), std::ios::binary);
        in.read(reinterpret_cast<char*>(expected.data_ptr<float>()), T * V * sizeof(float));
        EXPECT_TRUE(in.good()) << "short reference file for prompt " << c.prompts;

        at::Tensor x = at::tensor(std::vector<int64_t>(ids.begin(), ids.end())).unsqueeze(0);
        at::Tensor got;
        {
            c10::InferenceMode guard;
            got = lm->model->forward(x).squeeze(0).to(at::kFloat);
        }
        EXPECT_EQ(got.size(0), T);
        EXPECT_EQ(got.size(1), V);
        double d = (got - expected).abs().max().item<double>();
        c.max_abs_diff = std::max(c.max_abs_diff, d);
        EXPECT_LT(d, 1e-3) << model_dir << " prompt " << c.prompts;

        GenerationConfig g;
        g.max_new_tokens = (int64_t)p["greedy"].size();
        auto out = generate_ids(*lm->model, {ids}, g);
        EXPECT_EQ(out[0], p["greedy"].get<std::vector<int32_t>>()) << model_dir << " prompt " << c.prompts;
        ++c.prompts;
    }
    return c;
}

TEST(ModelExactness, DefaultModelMatchesTransformers) {
    AWQ_REQUIRE_DEFAULT_MODEL();
    AWQ_REQUIRE_PYTHON();
    Compared c = compare_with_reference(default_hf_model());
    EXPECT_GE(c.prompts, 5);
    std::printf("SmolLM2-135M-Instruct: %d prompts, max |logit diff| vs transformers = %.3g\n", c.prompts, c.max_abs_diff);
}

class TinyArchitecture : public ::testing::TestWithParam<std::string> {};

TEST_P(TinyArchitecture, MatchesTransformers) {
    AWQ_REQUIRE_PYTHON();
    Compared c = compare_with_reference(tiny_model(GetParam()));
    EXPECT_GE(c.prompts, 5);
    std::printf("tiny %s: %d prompts, max |logit diff| vs transformers = %.3g\n", GetParam().c_str(), c.prompts,
                c.max_abs_diff);
}

INSTANTIATE_TEST_SUITE_P(Architectures, TinyArchitecture, ::testing::Values("qwen2", "mistral", "llama", "llama3"));

}  // namespace
}  // namespace awq
