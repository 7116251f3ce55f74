// encode/decode are const and shared between threads (the GUI and a background evaluation may use the
// same tokenizer): concurrent use from a cold start gives the HF results in every thread.
#include <gtest/gtest.h>

#include <thread>

#include "tokenizer_golden.h"

namespace awq::test {
namespace {

TEST(TokenizerThreads, ConcurrentEncodeDecodeMatchGolden) {
    auto tok = Tokenizer::from_tokenizer_json((tokenizer_data_dir() / "bpe_llama3.tokenizer.json").string());
    const Golden g = load_golden("bpe_llama3_golden.json");
    std::vector<int> mismatches(4, 0);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int round = 0; round < 5; ++round)
                for (const auto& c : g.cases) {
                    mismatches[t] += tok->encode(c.text, true) != c.ids;
                    mismatches[t] += tok->decode(c.ids, false) != c.decode;
                }
        });
    for (auto& th : threads) th.join();
    for (int t = 0; t < 4; ++t) EXPECT_EQ(mismatches[t], 0) << "thread " << t;
}

}  // namespace
}  // namespace awq::test
