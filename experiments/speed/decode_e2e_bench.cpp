// End-to-end decode speed of a model with real shapes and random weights (made on the GPU; speed does not
// depend on the values): fp16 dense and 4-bit (each packed layout), eager and CUDA-graph decode, beside the
// bandwidth bound of each. Greedy generation through generate_ids, as users get it (host sampling or, in mode
// "graph", tokens picked on the device).
//
//   decode_e2e_bench [--shape llama2-7b] [--device cuda] [--batches 1,8] [--prompt-len 128] [--new-tokens 128]
//                    [--reps 5] [--group 128] [--variants fp16,gemm,gemv,fast] [--modes eager,graph-aten,graph-fused,graph-merged,graph-silu,graph-host,graph]
//                    [--machine "NVIDIA H200"] [--json FILE] [--md FILE] [--norm-on-output 1|0] [--prefetch-o 1|0]
//
// --norm-on-output 0: where the RMSNorm rides in the 4-bit matmuls, normalize their input as LlamaRMSNorm rounds
// it instead of scaling their output by the rsqrt (DecodeKernelOptions::norm_on_output), for A/B runs.
// --prefetch-o 0: the attention kernel does not ask the L2 for the o projection's weights
// (DecodeKernelOptions::prefetch_o_proj), for A/B runs.
//
// Bound: bytes one decode step must read (every block weight as stored, lm_head, final norm, the batch's
// embedding rows, and the K/V of the average context, prompt + new/2 tokens) divided by the device-to-device
// copy bandwidth measured in the same run (bytes read + written per second of a 1 GiB copy).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <nlohmann/json.hpp>
#include <torch/version.h>

#include "core/error.h"
#include "core/model_config.h"
#include "generate/generator.h"
#include "quant/awq_linear.h"
#include "../common/random_model.h"

#if __has_include("quant/awq_cuda_kernels.h")
#include "quant/awq_cuda_kernels.h"
#define AWQ_BENCH_HAS_KERNEL_HOOK 1
#endif
#ifdef AWQ_HAVE_CUDA
#include <c10/cuda/CUDAFunctions.h>
#include "cuda/w4a16.h"
#endif

using namespace awq;
using json = nlohmann::json;

namespace {

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : v[v.size() / 2];
}

std::vector<std::string> split(const std::string& s) {
    std::vector<std::string> out;
    std::stringstream ss(s);
    for (std::string x; std::getline(ss, x, ',');)
        if (!x.empty()) out.push_back(x);
    return out;
}

void sync(const at::Device& dev) {
#ifdef AWQ_HAVE_CUDA
    if (dev.is_cuda()) c10::cuda::device_synchronize();
#endif
    (void)dev;
}

// Device-to-device copy bandwidth, (read + write) bytes per second: median over 10 samples of 8 back-to-back
// copies of 1 GiB (so host timing overhead is well under 1%).
double copy_bandwidth(const at::Device& dev) {
    const int64_t n = dev.is_cuda() ? int64_t(1) << 30 : int64_t(1) << 26;  // CPU: smoke runs only
    const int copies = 8;
    at::Tensor a = at::empty({n}, at::TensorOptions().device(dev).dtype(at::kByte)).fill_(1);
    at::Tensor b = at::empty_like(a);
    for (int i = 0; i < 3; ++i) b.copy_(a);
    std::vector<double> bw;
    for (int i = 0; i < 10; ++i) {
        sync(dev);
        auto t0 = std::chrono::steady_clock::now();
        for (int c = 0; c < copies; ++c) b.copy_(a);
        sync(dev);
        double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        bw.push_back(2.0 * (double)n * copies / s);
    }
    return median(bw);
}

struct Args {
    std::string shape = "llama2-7b", device = "cuda", machine = "unknown", json_path, md_path;
    std::vector<int64_t> batches = {1, 8};
    int64_t prompt_len = 128, new_tokens = 128, reps = 5, group = 128;
    bool norm_on_output = DecodeKernelOptions{}.norm_on_output;
    bool prefetch_o = DecodeKernelOptions{}.prefetch_o_proj;
    std::vector<std::string> variants = {"fp16", "gemm", "gemv", "fast"}, modes = {"eager", "graph-aten", "graph-fused", "graph-merged", "graph-silu", "graph-host", "graph"};
};

// Bytes one decode step reads at batch B (see the header comment).
double step_bytes(LlamaModel& m, int64_t B, const Args& a) {
    const ModelConfig& c = m.config();
    const int64_t elem = at::elementSize(m.dtype());
    double bytes = 0;
    for (int64_t i = 0; i < m.num_blocks(); ++i) bytes += (double)m.block(i).weight_bytes();
    bytes += (double)m.lm_head().weight_bytes() + (double)m.final_norm_weight().numel() * elem;
    bytes += (double)B * c.hidden_size * elem;  // embedding rows
    const double ctx = (double)a.prompt_len + (double)a.new_tokens / 2.0;
    bytes += 2.0 * (double)m.num_blocks() * B * c.num_key_value_heads * c.head_dim * ctx * elem;  // K and V
    return bytes;
}

json run_case(LlamaModel& model, const std::string& variant, const std::string& mode, int64_t B, const Args& a,
              double copy_bw) {
    const int64_t V = model.config().vocab_size;
    std::vector<std::vector<int32_t>> prompts(B, std::vector<int32_t>(a.prompt_len));
    for (int64_t b = 0; b < B; ++b)
        for (int64_t i = 0; i < a.prompt_len; ++i) prompts[b][i] = (int32_t)((i * 7919 + b * 104729 + 13) % V);
    GenerationConfig g;
    g.max_new_tokens = a.new_tokens;
    // Graph modes replay, each adding one thing to the one before: "graph-aten" the unfused reference step,
    // "graph-fused" the fused decode kernels (decode_kernels.h), "graph-merged" merged q/k/v and gate/up and
    // programmatic dependent launch, "graph-silu" the SiLU fused into the down projection where the kernel can,
    // "graph-host" the rotary + KV write folded into attention, "graph" greedy tokens picked on the device with
    // the next step queued ahead (every other mode copies the logits to the host and samples there each step).
    // Merging cannot be undone, so the merged modes come last (any mode after them runs merged).
    static const std::vector<std::string> order = {"eager", "graph-aten", "graph-fused", "graph-merged",
                                                   "graph-silu", "graph-host", "graph"};
    const auto rank = std::find(order.begin(), order.end(), mode) - order.begin();
    if (rank == (long)order.size()) throw Error("--modes", "unknown mode " + mode);
    auto from = [&](const char* m) { return rank >= std::find(order.begin(), order.end(), m) - order.begin(); };
    g.cuda_graph = mode != "eager";
    g.device_greedy = from("graph");
    const bool merged = from("graph-merged");
    if (merged) model.merge_projections();
    DecodeKernelOptions kopt;
    kopt.pdl = merged;
    kopt.silu_into_down = from("graph-silu");
    kopt.rope_into_attention = from("graph-host");
    kopt.norm_on_output = a.norm_on_output;
    kopt.prefetch_o_proj = a.prefetch_o;
    model.set_fused_decode(mode != "graph-aten", kopt);
    const std::string decode_path =
        mode == "eager" ? "eager"
                        : (model.fused_decode_problem().empty()
                               ? std::string("fused") + (merged ? " merged pdl" : "") +
                                     (kopt.silu_into_down ? " silu-in-down" : "") +
                                     (kopt.rope_into_attention ? " rope-in-attention" : "") +
                                     (kopt.norm_on_output ? " norm-fold(rsqrt on y)" : " norm-fold") +
                                     (kopt.prefetch_o_proj ? " o-prefetch" : "") +
                                     (g.device_greedy ? " device-greedy" : "")
                               : "aten: " + model.fused_decode_problem());
    {
        GenerationConfig w = g;
        w.max_new_tokens = 8;
        generate_ids(model, prompts, w);
    }
    std::vector<double> decode, prefill, setup;
    GenerationStats last;
    for (int64_t r = 0; r < a.reps; ++r) {
        GenerationStats s;
        generate_ids(model, prompts, g, &s);
        decode.push_back(s.decode_tokens_per_s());
        prefill.push_back(s.prefill_tokens_per_s());
        setup.push_back(s.graph_setup_seconds);
        last = s;
    }
    const double bytes = step_bytes(model, B, a);
    const double bound = (double)B * copy_bw / bytes;  // tokens/s if every step ran at copy bandwidth
    json j = {{"variant", variant}, {"mode", mode}, {"batch", B}, {"prompt_len", a.prompt_len},
              {"new_tokens", a.new_tokens}, {"decode_tok_s", median(decode)}, {"decode_runs", decode},
              {"prefill_tok_s", median(prefill)}, {"graph_used", last.cuda_graph}, {"device_greedy", last.device_greedy},
              {"graph_setup_s", median(setup)}, {"graph_fallback", last.graph_fallback}, {"decode_path", decode_path},
              {"bytes_per_step", bytes}, {"bound_tok_s", bound}, {"fraction_of_bound", median(decode) / bound},
              {"weight_bytes", (double)model.weight_bytes()}};
#ifdef AWQ_HAVE_CUDA
    if (variant != "fp16") j["last_kernel_config"] = awq_w4a16_last_config();
#endif
    std::fprintf(stderr, "%-5s %-5s B=%-2lld decode %8.1f tok/s  bound %8.1f  (%.0f%%)  graph=%d %s\n", variant.c_str(),
                 mode.c_str(), (long long)B, median(decode), bound, 100.0 * median(decode) / bound, (int)last.cuda_graph,
                 last.graph_fallback.c_str());
    return j;
}

const json* find(const json& results, const std::string& variant, const std::string& mode, int64_t B) {
    for (const auto& r : results)
        if (r["variant"] == variant && r["mode"] == mode && r["batch"] == B) return &r;
    return nullptr;
}

std::string fmt(double x, const char* f = "%.1f") {
    char buf[64];
    std::snprintf(buf, sizeof buf, f, x);
    return buf;
}

std::string markdown(const json& out) {
    std::ostringstream md;
    md << "# End-to-end decode, " << out["shape"].get<std::string>() << " shapes, random weights ("
       << out["machine"].get<std::string>() << ")\n\n"
       << "Greedy decode tokens/s (median of " << out["reps"].get<int64_t>() << " runs; prompt "
       << out["prompt_len"].get<int64_t>() << " tokens, " << out["new_tokens"].get<int64_t>()
       << " new tokens; every mode but \"graph\" copies the logits to the host and samples there each step, "
          "\"graph\" picks the tokens on the device and queues the next step ahead). 4-bit: group " << out["group"].get<int64_t>()
       << ", zero points, random packed weights distinct per layer; embeddings and lm_head fp16. Bound = batch x copy "
          "bandwidth / bytes read per step (weights as stored + lm_head + embedding rows + K/V at the average "
          "context); copy bandwidth measured in the same run: "
       << fmt(out["copy_bandwidth_GBps"].get<double>(), "%.0f") << " GB/s (read + write).\n\n"
       << "| weights | decode | batch | tok/s | bound tok/s | % of bound | MB read/step | graph setup s | note |\n"
       << "| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n";
    for (const auto& r : out["results"]) {
        std::string note = r["graph_fallback"].get<std::string>();
        if (r["mode"] != "eager" && r["mode"] != "graph-aten" && r.contains("decode_path") &&
            r["decode_path"].get<std::string>().rfind("fused", 0) != 0)
            note = r["decode_path"].get<std::string>() + (note.empty() ? "" : "; " + note);
        if (r.contains("last_kernel_config")) note = r["last_kernel_config"].get<std::string>() + (note.empty() ? "" : "; " + note);
        md << "| " << (r["variant"] == "fp16" ? std::string("fp16") : "4-bit " + r["variant"].get<std::string>()) << " | "
           << r["mode"].get<std::string>() << (r["mode"] != "eager" && !r["graph_used"].get<bool>() ? " (fell back)" : "")
           << " | " << r["batch"].get<int64_t>() << " | " << fmt(r["decode_tok_s"].get<double>()) << " | "
           << fmt(r["bound_tok_s"].get<double>()) << " | " << fmt(100 * r["fraction_of_bound"].get<double>(), "%.0f") << " | "
           << fmt(r["bytes_per_step"].get<double>() / 1e6, "%.0f") << " | " << fmt(r["graph_setup_s"].get<double>(), "%.3f")
           << " | " << note << " |\n";
    }
    if (out.contains("targets")) {
        md << "\nTargets (issue 4, point 3), batch 1:\n\n| check | value | target | met |\n| --- | --- | --- | --- |\n";
        for (const auto& t : out["targets"])
            md << "| " << t["check"].get<std::string>() << " | " << fmt(t["value"].get<double>(), "%.2f") << " | "
               << t["target"].get<std::string>() << " | " << (t["met"].get<bool>() ? "yes" : "no") << " |\n";
    }
    return md.str();
}

}  // namespace

int main(int argc, char** argv) {
    Args a;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string k = argv[i], v = argv[i + 1];
        if (k == "--shape") a.shape = v;
        else if (k == "--device") a.device = v;
        else if (k == "--machine") a.machine = v;
        else if (k == "--json") a.json_path = v;
        else if (k == "--md") a.md_path = v;
        else if (k == "--prompt-len") a.prompt_len = std::stoll(v);
        else if (k == "--new-tokens") a.new_tokens = std::stoll(v);
        else if (k == "--reps") a.reps = std::stoll(v);
        else if (k == "--group") a.group = std::stoll(v);
        else if (k == "--norm-on-output") a.norm_on_output = v != "0";
        else if (k == "--prefetch-o") a.prefetch_o = v != "0";
        else if (k == "--variants") a.variants = split(v);
        else if (k == "--modes") a.modes = split(v);
        else if (k == "--batches") {
            a.batches.clear();
            for (auto& b : split(v)) a.batches.push_back(std::stoll(b));
        } else {
            std::fprintf(stderr, "unknown option %s\n", k.c_str());
            return 2;
        }
    }
    try {
        c10::InferenceMode no_grad;
        ModelOptions opt;
        opt.device = a.device;
        opt.dtype = "float16";
        const at::Device dev = parse_compute_device(a.device);
        const double copy_bw = copy_bandwidth(dev);
        std::fprintf(stderr, "copy bandwidth: %.0f GB/s\n", copy_bw / 1e9);
        bool kernels = false;
#ifdef AWQ_BENCH_HAS_KERNEL_HOOK
        kernels = cuda_kernels_available();
        install_cuda_kernels();
#endif
        json results = json::array();
        for (const std::string& variant : a.variants) {
            std::unique_ptr<LlamaModel> model;
            if (variant == "fp16") {
                model = bench::random_model(a.shape, opt);
            } else {
                if (!kernels && dev.is_cuda()) {  // the dense fallback's speed would say nothing about 4-bit
                    std::fprintf(stderr, "skipping 4-bit %s: no 4-bit CUDA kernels in this build\n", variant.c_str());
                    continue;
                }
                const ModelConfig cfg = bench::shape_config(a.shape);
                model = bench::random_model(a.shape, opt,
                                            bench::random_awq_linears(cfg, parse_awq_layout(variant, "--variants"), a.group));
            }
            sync(dev);
            for (int64_t B : a.batches)
                for (const std::string& mode : a.modes) results.push_back(run_case(*model, variant, mode, B, a, copy_bw));
        }
        json out = {{"bench", "decode_e2e"}, {"machine", a.machine}, {"shape", a.shape}, {"device", a.device},
                    {"prompt_len", a.prompt_len}, {"new_tokens", a.new_tokens}, {"reps", a.reps}, {"group", a.group},
                    {"copy_bandwidth_GBps", copy_bw / 1e9},
                    {"norm_on_output", a.norm_on_output}, {"prefetch_o_proj", a.prefetch_o}, {"torch", TORCH_VERSION}, {"results", results}};
        // Targets at batch 1: 4-bit fast (graph when measured) vs our best fp16, and vs its own bound.
        json targets = json::array();
        const json* fast = find(results, "fast", "graph", 1);
        if (!fast) fast = find(results, "fast", "eager", 1);
        // Our best fp16 at batch 1, whichever decode mode gave it.
        const json* fp16 = nullptr;
        for (const auto& r : results)
            if (r["variant"] == "fp16" && r["batch"] == 1 && (!fp16 || r["decode_tok_s"] > (*fp16)["decode_tok_s"])) fp16 = &r;
        if (fast && fp16) {
            double r = (*fast)["decode_tok_s"].get<double>() / (*fp16)["decode_tok_s"].get<double>();
            targets.push_back({{"check", "4-bit fast " + (*fast)["mode"].get<std::string>() + " / fp16 " +
                                             (*fp16)["mode"].get<std::string>() + " (our best fp16)"},
                               {"value", r}, {"target", ">= 2.5"}, {"met", r >= 2.5}});
            for (const char* m : {"eager", "graph-aten", "graph-fused"}) {
                const json* other = find(results, "fp16", m, 1);
                if (!other || other == fp16) continue;
                double re = (*fast)["decode_tok_s"].get<double>() / (*other)["decode_tok_s"].get<double>();
                targets.push_back({{"check", "4-bit fast " + (*fast)["mode"].get<std::string>() + " / fp16 " + m},
                                   {"value", re}, {"target", "(info)"}, {"met", re >= 2.5}});
            }
        }
        if (fast) {
            double f = (*fast)["fraction_of_bound"].get<double>();
            targets.push_back({{"check", "4-bit fast " + (*fast)["mode"].get<std::string>() + " / 4-bit bound"},
                               {"value", f}, {"target", ">= 0.50"}, {"met", f >= 0.5}});
        }
        out["targets"] = targets;
        std::printf("%s\n", out.dump().c_str());
        if (!a.json_path.empty()) std::ofstream(a.json_path) << out.dump(2) << "\n";
        const std::string md = markdown(out);
        if (!a.md_path.empty()) std::ofstream(a.md_path) << md;
        std::fprintf(stderr, "\n%s", md.c_str());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
    return 0;
}
