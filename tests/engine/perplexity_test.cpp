// Perplexity on WikiText-2 test (first 8 windows of 2048 tokens) equals transformers' value on the same
// windows to 0.1 % relative, with the same tokenization.
#include <gtest/gtest.h>

#include <cmath>

#include "engine_test_support.h"
#include "eval/perplexity.h"
#include "model/model_loader.h"
#include "tokenizer/tokenizer.h"

namespace awq {
namespace {

using namespace awq::test;

TEST(Perplexity, WikiText2FirstWindowsMatchTransformers) {
    AWQ_REQUIRE_DEFAULT_MODEL();
    AWQ_REQUIRE_PYTHON();
    const fs::path data = shared_data_dir() / "wikitext-2-raw/wiki.test.raw";
    if (!fs::exists(data)) GTEST_SKIP() << data << " absent (see ../shared/data/README.md)";
    const fs::path model = default_hf_model();
    const fs::path ref_file = scratch_dir() / "ref-ppl-wikitext2-8x2048.json";
    {
        ScratchLock lock;
        if (!fs::exists(ref_file))
            ASSERT_EQ(run_reference("ppl --model '" + model.string() + "' --data '" + data.string() +
                                    "' --seqlen 2048 --windows 8 --out '" + ref_file.string() + "'"),
                      0);
    }
    nlohmann::json ref = read_json_file(ref_file);

    auto lm = load_model(model.string(), ModelOptions{});
    PerplexityOptions opt;
    opt.seqlen = 2048;
    opt.max_windows = 8;
    PerplexityResult r = perplexity_of_file(*lm->model, *lm->tokenizer, data.string(), opt);
    EXPECT_EQ(r.total_tokens, ref["total_tokens"].get<int64_t>()) << "tokenization differs from transformers";
    EXPECT_EQ(r.windows, 8);
    const double expected = ref["perplexity"].get<double>();
    EXPECT_NEAR(r.perplexity, expected, expected * 1e-3);
    std::printf("WikiText-2 test, 8 x 2048 tokens: engine %.4f, transformers %.4f (rel diff %.2e)\n", r.perplexity,
                expected, std::abs(r.perplexity - expected) / expected);
}

TEST(Perplexity, RejectsImpossibleOptions) {
    AWQ_REQUIRE_PYTHON();
    auto lm = load_model(tiny_model("qwen2").string(), ModelOptions{});
    std::vector<int32_t> ids(100, 5);
    PerplexityOptions opt;
    opt.seqlen = 1;
    EXPECT_THROW(perplexity(*lm->model, ids, opt), Error);
    opt.seqlen = 200;  // longer than the text
    try {
        perplexity(*lm->model, ids, opt);
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("fewer than one window"), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace awq
