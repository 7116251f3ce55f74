"""Compares two AutoAWQ-GEMM w4 checkpoints of the same model (ours exported by `awqlab-cli quantize --out`, and
AutoAWQ's `save_quantized`) tensor by tensor, with AutoAWQ's own `dequantize_gemm`: where do the quantized models
differ? Per linear: relative Frobenius difference of the dequantized weights, the share of identical integer codes,
and the difference of the folded scale (the per-input-channel factor between the two, which is 1 where both chose
the same AWQ scales); per RMSNorm weight: relative difference.

  PYTHONPATH=<autoawq site> python compare_weights.py OURS_DIR AUTOAWQ_DIR [--out report.json]
"""
import argparse
import json
import sys
import types
from pathlib import Path

import torch
import transformers  # noqa: F401  (before the datasets stub)

_ds = types.ModuleType("datasets")
_ds.load_dataset = None
sys.modules.setdefault("datasets", _ds)
from awq.utils.packing_utils import dequantize_gemm, reverse_awq_order, unpack_awq  # noqa: E402
from safetensors.torch import load_file  # noqa: E402

LINEARS = ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
           "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"]


def load_dir(d):
    t = {}
    for f in sorted(Path(d).glob("*.safetensors")):
        if f.name != "awq_evidence.safetensors":
            t.update(load_file(str(f)))
    return t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ours")
    ap.add_argument("autoawq")
    ap.add_argument("--group-size", type=int, default=64)
    ap.add_argument("--out", default="")
    a = ap.parse_args()
    o, r = load_dir(a.ours), load_dir(a.autoawq)
    n_blocks = 1 + max(int(k.split(".")[2]) for k in r if k.startswith("model.layers."))
    rows = []
    for b in range(n_blocks):
        for lin in LINEARS:
            p = f"model.layers.{b}.{lin}."
            wo = dequantize_gemm(o[p + "qweight"], o[p + "qzeros"], o[p + "scales"], 4, a.group_size).float()
            wr = dequantize_gemm(r[p + "qweight"], r[p + "qzeros"], r[p + "scales"], 4, a.group_size).float()
            io, _ = reverse_awq_order(*unpack_awq(o[p + "qweight"], o[p + "qzeros"], 4), 4)
            ir, _ = reverse_awq_order(*unpack_awq(r[p + "qweight"], r[p + "qzeros"], 4), 4)
            # [in, out]: a per-input-channel factor between the two = different AWQ scales for this input
            ratio = (wo.abs().sum(1) / wr.abs().sum(1).clamp_min(1e-12))
            rows.append({"block": b, "linear": lin,
                         "rel_diff": float((wo - wr).norm() / wr.norm()),
                         "same_codes": float(((io & 15) == (ir & 15)).float().mean()),
                         "channel_factor_spread": float(ratio.max() / ratio.min())})
        for norm in ("input_layernorm", "post_attention_layernorm"):
            k = f"model.layers.{b}.{norm}.weight"
            rows.append({"block": b, "norm": norm, "rel_diff": float((o[k].float() - r[k].float()).norm() / r[k].float().norm())})
    others = {k: float((o[k].float() - r[k].float()).norm() / r[k].float().norm())
              for k in r if not k.startswith("model.layers.") and k in o}
    summary = {}
    for lin in LINEARS:
        rs = [x for x in rows if x.get("linear") == lin]
        summary[lin] = {"mean_rel_diff": sum(x["rel_diff"] for x in rs) / len(rs),
                        "mean_same_codes": sum(x["same_codes"] for x in rs) / len(rs)}
    print(json.dumps({"summary": summary, "others": others}, indent=1))
    for x in rows:
        if "linear" in x and x["rel_diff"] > 0.05:
            print(f"block {x['block']:2d} {x['linear']:17s} rel diff {x['rel_diff']:.4f}  same codes {x['same_codes']:.3f}  "
                  f"channel factor spread {x['channel_factor_spread']:.3f}")
    if a.out:
        Path(a.out).write_text(json.dumps({"summary": summary, "others": others, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
