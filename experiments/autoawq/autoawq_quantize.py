"""Quantize a Hugging Face Llama-family folder with AutoAWQ 0.2.9 itself (the side-by-side reference for issue 3).

Runs in a scratch environment whose transformers is a 4.x release AutoAWQ supports (see run_side_by_side.sh), on
the exact calibration texts our CLI used (`awqlab-cli quantize --dump-calibration`), so both quantizers see the same
token blocks. For every requested config it
  * loads the model in fp16 on the device, warms the device up, and times `model.quantize(...)` (synchronized);
  * w4: AutoAWQ's own GEMM packing, `save_quantized(DIR)` (an AutoAWQ checkpoint our engine must import);
    other bit widths: AutoAWQ's WQLinear_GEMM is 4-bit only, so the search runs with `export_compatible=True`
    (scales and clipping applied, weights left in fp16) and the weights are then rounded with AutoAWQ's own
    `pseudo_quantize_tensor`, exactly as its `_apply_quant` would; the fake-quantized fp16 model is saved;
  * optionally a perplexity cross-check in Python on the quantized model in memory (Triton GEMM for w4).

  python autoawq_quantize.py --model DIR --calib-json calib.json --configs 4:64,3:64 --out-root /tmp/aa --json out.json
"""
import argparse
import json
import math
import shutil
import sys
import time
import types
from pathlib import Path

import torch
import transformers  # before the `datasets` stub: transformers probes for the real package at import

# AutoAWQ imports `datasets` only for load_dataset(), which a list of texts never reaches; the package is not
# installed in the scratch environment, so a stub that fails loudly stands in for it.
_datasets = types.ModuleType("datasets")


def _no_load_dataset(*args, **kwargs):
    raise RuntimeError("datasets is stubbed out: pass calib_data as a list of texts")


_datasets.load_dataset = _no_load_dataset
sys.modules.setdefault("datasets", _datasets)

import awq  # noqa: E402
from awq import AutoAWQForCausalLM  # noqa: E402
from awq.utils.calib_data import get_calib_dataset  # noqa: E402
from awq.utils.module import exclude_layers_to_not_quantize, get_named_linears  # noqa: E402
from transformers import AutoTokenizer  # noqa: E402

class Trace:
    """Records AutoAWQ's search decisions (for comparing them with our evidence file): every grid loss of each scale
    search, and the shrink step each clip search chose per (output row, group)."""

    def __init__(self):
        self.losses, self.searches, self.clips = [], [], []

    def install(self):
        from awq.quantize.quantizer import AwqQuantizer
        trace, compute_loss, best_scale, best_clip = self, AwqQuantizer._compute_loss, \
            AwqQuantizer._compute_best_scale, AwqQuantizer._compute_best_clip

        def _compute_loss(q, *a, **k):
            loss = compute_loss(q, *a, **k)
            trace.losses.append(loss)
            return loss

        def _compute_best_scale(q, *a, **k):
            trace.losses = []
            out = best_scale(q, *a, **k)
            best = min(range(len(trace.losses)), key=lambda i: (trace.losses[i], i))
            trace.searches.append({"losses": trace.losses, "best_ratio": best / len(trace.losses)})
            return out

        def _compute_best_clip(q, w, input_feat, n_grid=20, max_shrink=0.5, n_sample_token=512):
            best = best_clip(q, w, input_feat, n_grid=n_grid, max_shrink=max_shrink, n_sample_token=n_sample_token)
            org = w.reshape(w.shape[0], -1, q.group_size).abs().amax(-1)
            step = torch.round((1 - best.float().reshape(org.shape) / org.float()) * n_grid).to(torch.int64)
            trace.clips.append({"shape": list(org.shape),
                                "shrink_hist": torch.bincount(step.flatten().cpu(), minlength=int(max_shrink * n_grid)).tolist()})
            return best

        AwqQuantizer._compute_loss = _compute_loss
        AwqQuantizer._compute_best_scale = _compute_best_scale
        AwqQuantizer._compute_best_clip = _compute_best_clip


TRACE = Trace()


def pseudo_quantize_our_numerics(self, w: torch.Tensor):
    """AutoAWQ's zero-point pseudo_quantize_tensor with our engine's numerics (quant/pseudo_quantize.cpp): the scale
    rounded to fp16, then w / scale, the zero point and the rounding computed in fp32. Swapped in to test whether
    this numerical detail alone explains the perplexity gap between the two quantizers."""
    assert self.zero_point, "only the zero-point variant is replaced"
    shape, dtype = w.shape, w.dtype
    w = w.reshape(-1, self.group_size).float()
    levels = 2**self.w_bit - 1
    mx, mn = w.amax(dim=1, keepdim=True), w.amin(dim=1, keepdim=True)
    scales = ((mx - mn).clamp(min=1e-5) / levels).half().float()
    zeros = (-torch.round(mn / scales)).clamp(0, levels)
    w = ((torch.round(w / scales) + zeros).clamp(0, levels) - zeros) * scales
    return w.reshape(shape).to(dtype), scales.view(shape[0], -1).to(dtype), zeros.view(shape[0], -1).to(dtype)
class Decisions:
    """Our quantizer's decisions (its evidence file: chosen scales per scale group, chosen clip step per (row, group))
    injected into AutoAWQ's pipeline in place of its own searches ("ourscales", "oursclip"). Which pipeline and which
    decisions make the perplexity gap can then be told apart: AutoAWQ applying our decisions either reproduces our
    perplexity (our decisions are worse) or its own (our application of them differs)."""

    def __init__(self):
        self.path, self.scales, self.clips, self.names = None, False, False, {}

    def load(self, path):
        from safetensors import safe_open
        self.path = path
        f = safe_open(path, "pt")
        self.tensors = {k: f.get_tensor(k) for k in f.keys()}

    def configure(self, model, flags):
        self.scales, self.clips = "ourscales" in flags, "oursclip" in flags
        if (self.scales or self.clips) and self.path is None:
            raise SystemExit("ourscales/oursclip need --decisions EVIDENCE")
        # Parameters and modules keep their identity through AutoAWQ's .to()/.cpu() moves and in-place updates.
        self.names = {id(m): n for n, m in model.model.named_modules()}
        self.names.update({id(p): n[: -len(".weight")] for n, p in model.model.named_parameters()})

    def install(self):
        from awq.quantize.quantizer import AwqQuantizer
        dec, best_scale, best_clip = self, AwqQuantizer._compute_best_scale, AwqQuantizer._compute_best_clip

        def _compute_best_scale(q, x, w_mean, x_mean, module2inspect, linears2scale, fp16_output, kwargs={}):
            if not dec.scales:
                return best_scale(q, x, w_mean, x_mean, module2inspect, linears2scale, fp16_output, kwargs)
            name = dec.names[id(linears2scale[0])]
            return dec.tensors[name + ".scales"].to(torch.float16).cpu()

        def _compute_best_clip(q, w, input_feat, n_grid=20, max_shrink=0.5, n_sample_token=512):
            if not dec.clips:
                return best_clip(q, w, input_feat, n_grid=n_grid, max_shrink=max_shrink, n_sample_token=n_sample_token)
            step = dec.tensors[dec.names[id(w)] + ".clip_shrink"].to(w.device).long()  # [out, groups]
            org = w.reshape(w.shape[0], -1, q.group_size).abs().amax(dim=-1)  # fp16, as AutoAWQ
            best = org.clone()
            for i in range(int(max_shrink * n_grid)):  # the same fp16 products AutoAWQ forms per grid point
                best = torch.where(step == i, org * (1 - i / n_grid), best)
            return best.unsqueeze(-1)

        AwqQuantizer._compute_best_scale = _compute_best_scale
        AwqQuantizer._compute_best_clip = _compute_best_clip


DECISIONS = Decisions()
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.model")


def sync(device):
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def warm_up(model, device):
    # First cuBLAS/cuDNN use in a process costs hundreds of ms; our CLI's timer also starts on a warm device.
    with torch.no_grad():
        model.model(torch.ones(1, 16, dtype=torch.long, device=device))
    sync(device)


@torch.no_grad()
def perplexity(model, tokenizer, path, seqlen, device):
    """Non-overlapping windows over the whole file, mean NLL over every predicted token (as `awqlab-cli ppl`)."""
    text = Path(path).read_bytes().decode("utf-8")
    ids = torch.tensor([tokenizer(text)["input_ids"]], device=device)
    n = ids.shape[1] // seqlen
    nll = 0.0
    for w in range(n):
        x = ids[:, w * seqlen:(w + 1) * seqlen]
        logits = model(x).logits[0, :-1].float()
        nll += torch.nn.functional.cross_entropy(logits, x[0, 1:], reduction="sum").item()
    return {"perplexity": math.exp(nll / (n * (seqlen - 1))), "windows": n, "total_tokens": int(ids.shape[1])}


def quantize_one(args, texts, w_bit, group_size, flags=()):
    """flags: "noclip" (apply_clip=False), "fake" (no GEMM packing even at 4 bits), "oursnum" (our rounding numerics),
    "ourscales"/"oursclip" (our search decisions from --decisions instead of AutoAWQ's searches)."""
    from awq.quantize.quantizer import AwqQuantizer
    apply_clip = "noclip" not in flags
    device = args.device
    tag = f"w{w_bit}_g{group_size}" + "".join("_" + f for f in flags)
    if not hasattr(AwqQuantizer, "_autoawq_pseudo_quantize"):
        AwqQuantizer._autoawq_pseudo_quantize = AwqQuantizer.pseudo_quantize_tensor
    AwqQuantizer.pseudo_quantize_tensor = (pseudo_quantize_our_numerics if "oursnum" in flags
                                           else AwqQuantizer._autoawq_pseudo_quantize)
    TRACE.searches, TRACE.clips = [], []
    out_dir = Path(args.out_root) / f"autoawq_{tag}"
    if out_dir.exists():
        shutil.rmtree(out_dir)
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    t0 = time.perf_counter()
    model = AutoAWQForCausalLM.from_pretrained(args.model, torch_dtype=torch.float16, device_map=device)
    load_s = time.perf_counter() - t0
    warm_up(model, device)
    DECISIONS.configure(model, flags)

    # The blocks AutoAWQ builds from these texts (outside the timed call), to show they match ours.
    blocks = get_calib_dataset(texts, tokenizer=tokenizer, n_samples=args.samples, max_seq_len=args.seqlen)
    quant_config = {"zero_point": True, "q_group_size": group_size, "w_bit": w_bit, "version": "GEMM"}
    packed = w_bit == 4 and "fake" not in flags  # WQLinear_GEMM raises NotImplementedError for any other width

    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    sync(device)
    t0 = time.perf_counter()
    model.quantize(tokenizer, quant_config=quant_config, calib_data=texts, max_calib_samples=args.samples,
                   max_calib_seq_len=args.seqlen, export_compatible=not packed, apply_clip=apply_clip)
    sync(device)
    quantize_s = time.perf_counter() - t0

    peak_gib = torch.cuda.max_memory_allocated() / 2**30 if device.startswith("cuda") else None
    fake_quant_s = 0.0
    if not packed:
        # What AutoAWQ's _apply_quant does to each linear, minus the packing: fp16 on the device, then
        # pseudo_quantize_tensor (round to the w_bit grid of each group, dequantize).
        t0 = time.perf_counter()
        model.model.to(device)
        for layer in model.quantizer.modules:
            linears = exclude_layers_to_not_quantize(get_named_linears(layer), model.quantizer.modules_to_not_convert)
            for linear in linears.values():
                linear.to(device).half()
                linear.weight.data = model.quantizer.pseudo_quantize_tensor(linear.weight.data)[0]
        sync(device)
        fake_quant_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    if packed:
        model.save_quantized(str(out_dir))
    else:
        model.model.save_pretrained(str(out_dir))
    for name in TOKENIZER_FILES:
        if (Path(args.model) / name).exists():
            shutil.copy(Path(args.model) / name, out_dir / name)
    save_s = time.perf_counter() - t0

    result = {
        "config": tag, "w_bit": w_bit, "group_size": group_size, "zero_point": True, "apply_clip": apply_clip,
        "numerics": "ours (fp16-rounded scale, fp32 division)" if "oursnum" in flags else "AutoAWQ's own",
        "export": "AutoAWQ GEMM checkpoint (save_quantized)" if packed else
                  "fp16 checkpoint of AutoAWQ's fake-quantized weights (export_compatible=True + pseudo_quantize_tensor)",
        "dir": str(out_dir), "calib_texts": len(texts), "calib_blocks": len(blocks),
        "calib_tokens": int(sum(b.numel() for b in blocks)),
        "load_seconds": load_s, "quantize_seconds": quantize_s, "fake_quant_seconds": fake_quant_s,
        "total_quantize_seconds": quantize_s + fake_quant_s, "save_seconds": save_s,
        "peak_device_gib_quantize": peak_gib,
    }
    if args.trace:
        result["trace"] = {"scale_searches": TRACE.searches, "clips": TRACE.clips}
    if args.eval_data:
        try:
            model.model.to(device).eval()
            t0 = time.perf_counter()
            p = perplexity(model.model, tokenizer, args.eval_data, args.ppl_seqlen, device)
            p["seconds"] = time.perf_counter() - t0
            p["evaluator"] = ("transformers " + transformers.__version__ +
                              (" + AutoAWQ WQLinear_GEMM (Triton)" if packed else " (fp16 fake-quantized weights)"))
            result["python_ppl"] = p
        except Exception as e:  # the cross-check is optional; the engine evaluates the saved folder
            result["python_ppl"] = {"error": f"{type(e).__name__}: {e}"}
    print(json.dumps({k: v for k, v in result.items() if k != "trace"}), flush=True)
    del model
    if device.startswith("cuda"):
        torch.cuda.empty_cache()
    return result


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--calib-json", required=True, help="JSON list of texts (awqlab-cli quantize --dump-calibration)")
    ap.add_argument("--configs", default="4:64,3:64", help="w_bit:group_size[:noclip][:fake][:oursnum][:ourscales][:oursclip],...")
    ap.add_argument("--decisions", default="", help="our evidence file, for the ourscales/oursclip flags")
    ap.add_argument("--trace", action="store_true", help="record every scale-search loss and clip choice")
    ap.add_argument("--samples", type=int, default=128)
    ap.add_argument("--seqlen", type=int, default=512)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--out-root", required=True)
    ap.add_argument("--eval-data", default="", help="also evaluate perplexity in Python on this text file")
    ap.add_argument("--ppl-seqlen", type=int, default=2048)
    ap.add_argument("--json", required=True)
    args = ap.parse_args()

    texts = json.loads(Path(args.calib_json).read_text(encoding="utf-8"))
    Path(args.out_root).mkdir(parents=True, exist_ok=True)
    import accelerate, huggingface_hub, tokenizers, triton  # noqa: E401  (versions for the report)
    report = {
        "versions": {"autoawq": awq.__version__, "transformers": transformers.__version__,
                     "tokenizers": tokenizers.__version__, "huggingface_hub": huggingface_hub.__version__,
                     "accelerate": accelerate.__version__, "torch": torch.__version__, "triton": triton.__version__},
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu",
        "settings": {"max_calib_samples": args.samples, "max_calib_seq_len": args.seqlen, "duo_scaling": True,
                     "apply_clip": True, "version": "GEMM", "dtype": "float16", "device": args.device},
        "results": [],
    }
    if args.trace:
        TRACE.install()
    if args.decisions:
        DECISIONS.load(args.decisions)
        DECISIONS.install()  # after TRACE: the trace then records the injected decisions
    for c in args.configs.split(","):
        parts = c.split(":")
        b, g, flags = int(parts[0]), int(parts[1]), tuple(parts[2:])
        try:
            report["results"].append(quantize_one(args, texts, b, g, flags))
        except Exception as e:
            import traceback
            traceback.print_exc()
            report["results"].append({"config": c, "error": f"{type(e).__name__}: {e}"})
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
