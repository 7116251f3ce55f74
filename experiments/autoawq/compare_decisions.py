"""Compares the search decisions of our quantizer (its evidence file) with AutoAWQ's (autoawq_quantize.py --trace),
block by block: the scale-search loss curves and chosen ratios of the qkv, gate_up and down groups, and the clip
steps chosen for v, o, gate, up and down.

  python compare_decisions.py OURS.evidence.safetensors AUTOAWQ_TRACE.json CONFIG [--out report.json]
CONFIG is the AutoAWQ result to compare (e.g. w3_g64). Needs `safetensors` and `torch`.
"""
import argparse
import json

import torch
from safetensors import safe_open

GROUPS = [("qkv", "self_attn.q_proj"), ("gate_up", "mlp.gate_proj"), ("down", "mlp.down_proj")]
CLIPPED = ["self_attn.v_proj", "self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("evidence")
    ap.add_argument("trace")
    ap.add_argument("config")
    ap.add_argument("--out", default="")
    a = ap.parse_args()

    f = safe_open(a.evidence, "pt")
    meta = json.loads(f.metadata()["awqlab_evidence"])
    ours = {l["name"]: l for l in meta["linears"]}
    n_blocks = 1 + max(l["block"] for l in meta["linears"])
    res = next(r for r in json.load(open(a.trace))["results"] if r["config"] == a.config)
    searches, clips = res["trace"]["scale_searches"], res["trace"]["clips"]
    if len(searches) != len(GROUPS) * n_blocks or (clips and len(clips) != len(CLIPPED) * n_blocks):
        raise SystemExit(f"trace has {len(searches)} searches / {len(clips)} clips for {n_blocks} blocks")

    rows, same_ratio, ratio0_rel, clip_mean = [], 0, [], {"ours": [], "autoawq": []}
    for b in range(n_blocks):
        for gi, (group, lin) in enumerate(GROUPS):
            o = ours[f"model.layers.{b}.{lin}"]
            t = searches[b * len(GROUPS) + gi]
            lo, lt = torch.tensor(o["grid_loss"]), torch.tensor(t["losses"])
            rel0 = float(lo[0] / lt[0] - 1)  # ratio 0 is the same computation in both: shows the inputs agree
            ratio0_rel.append(abs(rel0))
            same_ratio += o["best_ratio"] == t["best_ratio"]
            rows.append({"block": b, "group": group, "ours_ratio": o["best_ratio"], "autoawq_ratio": t["best_ratio"],
                         "loss_ratio0_rel_diff": rel0,
                         "ours_min_loss": float(lo.min()), "autoawq_min_loss": float(lt.min()),
                         # each side's loss at the other side's choice, relative to its own minimum
                         "ours_loss_at_autoawq_ratio": float(lo[round(t["best_ratio"] * len(lo))] / lo.min() - 1),
                         "autoawq_loss_at_ours_ratio": float(lt[round(o["best_ratio"] * len(lt))] / lt.min() - 1)})
        for ci, lin in enumerate(CLIPPED):
            if not clips:
                break
            name = f"model.layers.{b}.{lin}"
            so = f.get_tensor(name + ".clip_shrink").flatten().long()
            ht = torch.tensor(clips[b * len(CLIPPED) + ci]["shrink_hist"], dtype=torch.float64)
            ho = torch.bincount(so, minlength=len(ht)).double()
            steps = torch.arange(len(ht), dtype=torch.float64)
            clip_mean["ours"].append(float((ho * steps).sum() / ho.sum()))
            clip_mean["autoawq"].append(float((ht * steps).sum() / ht.sum()))
            rows.append({"block": b, "clip": lin, "ours_mean_step": clip_mean["ours"][-1],
                         "autoawq_mean_step": clip_mean["autoawq"][-1],
                         "ours_hist": ho.long().tolist(), "autoawq_hist": ht.long().tolist()})

    n = len(GROUPS) * n_blocks
    summary = {
        "config": a.config, "scale_searches": n, "same_ratio": same_ratio,
        "max_abs_rel_diff_loss_at_ratio0": max(ratio0_rel), "median_abs_rel_diff_loss_at_ratio0": sorted(ratio0_rel)[n // 2],
        "mean_clip_step_ours": sum(clip_mean["ours"]) / max(1, len(clip_mean["ours"])),
        "mean_clip_step_autoawq": sum(clip_mean["autoawq"]) / max(1, len(clip_mean["autoawq"])),
    }
    print(json.dumps(summary, indent=2))
    print("block group    ours  autoawq  loss@0 rel diff")
    for r in rows:
        if "group" in r:
            print(f"{r['block']:5d} {r['group']:8s} {r['ours_ratio']:.2f}  {r['autoawq_ratio']:.2f}     {r['loss_ratio0_rel_diff']:+.2e}")
    if a.out:
        json.dump({"summary": summary, "rows": rows}, open(a.out, "w"), indent=1)


if __name__ == "__main__":
    main()
