#include "eval/perplexity.h"

#include <chrono>
#include <cmath>
#include <fstream>
#include <sstream>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include "core/error.h"
#include "model/llama_model.h"
#include "tokenizer/tokenizer.h"

namespace awq {

std::string read_text_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path, "cannot open text file");
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

PerplexityResult perplexity(LlamaModel& model, const std::vector<int32_t>& tokens, const PerplexityOptions& opt,
                            const Progress& progress) {
    if (opt.seqlen < 2) throw Error("--seqlen", "must be at least 2");
    if (opt.max_windows < 0) throw Error("--max-windows", "must be >= 0");
    const int64_t total = (int64_t)tokens.size();
    int64_t windows = total / opt.seqlen;
    if (windows == 0)
        throw Error("perplexity", "text has " + std::to_string(total) + " tokens, fewer than one window of " +
                                      std::to_string(opt.seqlen));
    if (opt.max_windows > 0) windows = std::min(windows, opt.max_windows);

    c10::InferenceMode no_grad;
    auto t0 = std::chrono::steady_clock::now();
    PerplexityResult r;
    r.total_tokens = total;
    double nll_sum = 0;
    at::Tensor all = at::from_blob(const_cast<int32_t*>(tokens.data()), {total}, at::kInt).to(at::kLong);
    for (int64_t w = 0; w < windows; ++w) {
        progress.check_cancel();
        progress.report("perplexity", w, windows);
        at::Tensor ids = all.narrow(0, w * opt.seqlen, opt.seqlen).unsqueeze(0);
        at::Tensor logits = model.forward(ids).squeeze(0);  // [seqlen, V]
        at::Tensor logp = at::log_softmax(logits.narrow(0, 0, opt.seqlen - 1).to(at::kFloat), -1);
        at::Tensor target = ids.squeeze(0).narrow(0, 1, opt.seqlen - 1).to(logp.device()).unsqueeze(1);
        double window_sum = -logp.gather(1, target).sum().item<double>();
        r.window_nll.push_back(window_sum / (opt.seqlen - 1));
        nll_sum += window_sum;
    }
    progress.report("perplexity", windows, windows);
    r.windows = windows;
    r.predicted_tokens = windows * (opt.seqlen - 1);
    r.mean_nll = nll_sum / (double)r.predicted_tokens;
    r.perplexity = std::exp(r.mean_nll);
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return r;
}

PerplexityResult perplexity_of_file(LlamaModel& model, const Tokenizer& tok, const std::string& path,
                                    const PerplexityOptions& opt, const Progress& progress) {
    const std::string text = read_text_file(path);
    progress.report("tokenizing " + path, 0, 1);
    std::vector<int32_t> ids = tok.encode(text, /*add_special=*/true);
    return perplexity(model, ids, opt, progress);
}

}  // namespace awq
