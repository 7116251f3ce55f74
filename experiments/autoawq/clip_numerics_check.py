"""Does the precision of AutoAWQ's clip search change which clip it picks? Runs AutoAWQ 0.2.9's own
`_compute_best_clip` on real inputs of the default model twice: as AutoAWQ runs it (fp16 weights and activations,
so products, partial sums and squared errors are fp16), and with the same tensors in fp32 (what our search
computes). Inputs: the o_proj and down_proj inputs of a few blocks on the exact calibration blocks (weights as in
the checkpoint: o_proj is never rescaled under grouped-query attention, so its clip search sees exactly these).

  PYTHONPATH=<autoawq site> python clip_numerics_check.py MODEL_DIR CALIB_JSON --layers 3 15 --w-bit 3
Prints the mean chosen shrink step (0..9, max|w| * (1 - step/20)) per linear for both precisions.
"""
import argparse
import json
import sys
import types

import torch
import transformers  # noqa: F401  (before the datasets stub, as in autoawq_quantize.py)

_datasets = types.ModuleType("datasets")
_datasets.load_dataset = None  # never called: no calibration data is loaded here
sys.modules.setdefault("datasets", _datasets)
from awq.quantize.quantizer import AwqQuantizer  # noqa: E402
from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("calib_json")
    ap.add_argument("--layers", type=int, nargs="+", default=[3, 15])
    ap.add_argument("--w-bit", type=int, default=3)
    ap.add_argument("--group-size", type=int, default=64)
    ap.add_argument("--seqlen", type=int, default=512)
    a = ap.parse_args()
    torch.manual_seed(0)

    tok = AutoTokenizer.from_pretrained(a.model)
    ids = torch.cat([torch.tensor(tok.encode(t.strip())) for t in json.load(open(a.calib_json))])
    n = ids.numel() // a.seqlen
    ids = ids[: n * a.seqlen].view(n, a.seqlen)
    model = AutoModelForCausalLM.from_pretrained(a.model, torch_dtype=torch.float32).eval()
    last = max(a.layers)
    model.model.layers = model.model.layers[: last + 1]
    feats = {}

    def hook(name):
        return lambda m, inp, out: feats.setdefault(name, []).append(inp[0].detach())

    for i in a.layers:
        model.model.layers[i].self_attn.o_proj.register_forward_hook(hook(f"{i}.o_proj"))
        model.model.layers[i].mlp.down_proj.register_forward_hook(hook(f"{i}.down_proj"))
    with torch.no_grad():
        for b in range(0, n, 4):
            model.model(ids[b:b + 4])

    q = AwqQuantizer.__new__(AwqQuantizer)  # only the fields the clip search reads
    q.w_bit, q.group_size, q.zero_point = a.w_bit, a.group_size, True
    print(f"w{a.w_bit} g{a.group_size}, {n} blocks of {a.seqlen} tokens")
    for name, xs in feats.items():
        i, lin = name.split(".")
        w = getattr(model.model.layers[int(i)].self_attn if lin == "o_proj" else model.model.layers[int(i)].mlp, lin).weight
        x = torch.cat(xs).half()  # the checkpoint is fp16; AutoAWQ captures fp16 activations
        w16 = w.detach().half()
        res = {}
        for label, dt in (("fp16 (AutoAWQ as run)", torch.float16), ("fp32 (same code, fp32 tensors)", torch.float32)):
            wt, xt = w16.to(dt), x.to(dt)
            best = AwqQuantizer._compute_best_clip(q, wt, xt).squeeze(-1).float()
            org = w16.float().view(w.shape[0], -1, a.group_size).abs().amax(-1)
            step = torch.round((1 - best / org) * 20)
            res[label] = step.mean().item()
        print(f"layer {i} {lin:9s} " + "  ".join(f"{k}: mean step {v:.3f}" for k, v in res.items()))


if __name__ == "__main__":
    main()
