#include <cstdio>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "core/error.h"
#include "eval/perplexity.h"
#include "model/model_loader.h"
#include "quant/awq_export.h"
#include "quant/awq_quantizer.h"
#include "quant/calibration.h"
#include "tokenizer/tokenizer.h"

namespace awq::cli {

void add_quantize_command(CLI::App& app, Context& ctx) {
    struct Opts {
        RunOptions run;
        std::string out;
        QuantConfig q;
        CalibrationConfig calib;
        bool no_zero_point = false, no_scale_search = false, no_clip_search = false, no_duo = false, no_shuffle = false;
        std::string eval_ppl, dump_calibration, json_out, evidence_out;
        int64_t ppl_windows = 0, ppl_seqlen = 2048;
    };
    auto o = std::make_shared<Opts>();
    auto* cmd = app.add_subcommand("quantize", "Quantize a model with AWQ or round-to-nearest, evaluate and/or export it "
                                               "as an AutoAWQ-format checkpoint");
    add_run_options(cmd, o->run);
    cmd->add_option("--out,-o", o->out, "write the quantized checkpoint here (atomically; must not exist)");
    cmd->add_option("--method", o->q.method, "awq or rtn")->capture_default_str();
    cmd->add_option("--w-bit", o->q.w_bit, "bits per weight, 2..8")->capture_default_str();
    cmd->add_option("--group-size", o->q.group_size, "-1 (per output channel), 32, 64, 128, 256")->capture_default_str();
    cmd->add_flag("--no-zero-point", o->no_zero_point, "symmetric quantization (no zero points)");
    cmd->add_flag("--no-scale-search", o->no_scale_search, "AWQ without the activation-aware scale search");
    cmd->add_flag("--no-clip-search", o->no_clip_search, "AWQ without the weight clipping search");
    cmd->add_flag("--no-duo-scaling", o->no_duo, "scales from activations only (s = x_mean^r)");
    cmd->add_option("--n-grid", o->q.n_grid, "scale search grid points")->capture_default_str();
    cmd->add_option("--clip-precision", o->q.clip_precision,
                    "clip search error arithmetic: model (the model dtype, as AutoAWQ) or float32")->capture_default_str();
    cmd->add_option("--modules-to-not-convert", o->q.modules_to_not_convert, "keep linears whose name contains this in float");
    cmd->add_option("--version", o->q.version, "export layout: gemm, gemv or fast")->capture_default_str();
    cmd->add_option("--calib", o->calib.path, "calibration text (.txt: one text per line; .jsonl: a \"text\" field)")->required();
    cmd->add_option("--calib-samples", o->calib.n_samples, "texts to use")->capture_default_str();
    cmd->add_option("--calib-seqlen", o->calib.seqlen, "tokens per calibration block")->capture_default_str();
    cmd->add_option("--seed", o->calib.seed, "shuffle seed for the calibration texts")->capture_default_str();
    cmd->add_flag("--no-shuffle", o->no_shuffle, "take calibration texts in file order");
    cmd->add_option("--dump-calibration", o->dump_calibration, "write the calibration texts used (JSON list) to this file");
    cmd->add_option("--eval-ppl", o->eval_ppl, "after quantizing, perplexity on this text file");
    cmd->add_option("--ppl-windows", o->ppl_windows, "windows for --eval-ppl (0 = all)")->capture_default_str();
    cmd->add_option("--ppl-seqlen", o->ppl_seqlen, "window length for --eval-ppl")->capture_default_str();
    cmd->add_option("--evidence", o->evidence_out, "also write the evidence file here (it is always inside --out)");
    cmd->add_option("--json", o->json_out, "write a JSON summary (timings, memory, perplexity) to this file");
    cmd->callback([o, &ctx] {
        QuantConfig q = o->q;
        q.zero_point = !o->no_zero_point;
        q.search_scales = !o->no_scale_search;
        q.search_clip = !o->no_clip_search;
        q.duo_scaling = !o->no_duo;
        q.validate();
        if (!o->out.empty()) {
            // Everything export would refuse is refused now, before minutes of quantization.
            check_awq_exportable(read_model_config(o->run.model), q);
            if (std::filesystem::exists(o->out) && !std::filesystem::is_empty(o->out))
                throw Error(o->out, "output folder exists and is not empty");
        }
        CalibrationConfig cc = o->calib;
        cc.shuffle = !o->no_shuffle;
        Progress progress = stderr_progress(ctx);
        ModelOptions mo = o->run.model_options();
        if (o->run.dtype.empty() && o->run.device != "cpu") mo.dtype = "float16";  // AutoAWQ quantizes in fp16
        auto lm = load_model(o->run.model, mo, progress);
        CalibrationData calib = build_calibration(*lm->tokenizer, cc);
        std::fprintf(stderr, "calibration: %lld blocks of %lld tokens from %zu texts of %s\n", (long long)calib.ids.size(0),
                     (long long)cc.seqlen, calib.texts.size(), calib.source.c_str());
        if (!o->dump_calibration.empty()) std::ofstream(o->dump_calibration) << nlohmann::json(calib.texts).dump() << "\n";

        QuantizeResult r = quantize_model(*lm->model, calib.ids, q, progress);
        r.evidence.summary["calibration_source"] = calib.source;
        r.evidence.summary["calibration_texts"] = calib.texts.size();
        r.evidence.summary["model"] = o->run.model;
        std::printf("quantized %zu linears (%s w%d g%lld%s) in %.1f s (scale search %.1f s, clip search %.1f s); "
                    "peak device memory %.2f GiB, peak host memory %.2f GiB\n",
                    r.linears.size(), q.method.c_str(), q.w_bit, (long long)q.group_size, q.zero_point ? "" : " sym",
                    r.stats.seconds, r.stats.scale_search_seconds, r.stats.clip_search_seconds,
                    r.stats.peak_device_bytes / 1073741824.0, r.stats.peak_host_bytes / 1073741824.0);
        double rtn = 0, awq = 0;
        for (const auto& b : r.evidence.blocks) rtn += b.rtn_error, awq += b.awq_error;
        if (!r.evidence.blocks.empty())
            std::printf("mean block output error: RTN %.4f, %s %.4f\n", rtn / r.evidence.blocks.size(), q.method.c_str(),
                        awq / r.evidence.blocks.size());
        nlohmann::json summary = r.evidence.summary;
        if (!o->evidence_out.empty()) r.evidence.save(o->evidence_out);
        if (!o->out.empty()) {
            export_awq_checkpoint(*lm->model, r.linears, q, o->run.model, o->out, progress, r.evidence.summary, &r.evidence);
            std::printf("wrote %s\n", o->out.c_str());
        }
        if (!o->eval_ppl.empty()) {
            PerplexityOptions po;
            po.seqlen = o->ppl_seqlen;
            po.max_windows = o->ppl_windows;
            PerplexityResult p = perplexity_of_file(*lm->model, *lm->tokenizer, o->eval_ppl, po, progress);
            std::printf("perplexity %.4f over %lld windows of %lld tokens\n", p.perplexity, (long long)p.windows,
                        (long long)po.seqlen);
            summary["perplexity"] = p.perplexity;
            summary["ppl_windows"] = p.windows;
            summary["ppl_seqlen"] = po.seqlen;
            summary["ppl_data"] = o->eval_ppl;
        }
        if (!o->json_out.empty()) std::ofstream(o->json_out) << summary.dump(2) << "\n";
    });
}

}  // namespace awq::cli
