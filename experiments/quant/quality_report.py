#!/usr/bin/env python3
"""Collects run_quality_sweep.sh outputs into experiments/results/NAME.json and NAME.md."""
import json
import os
import sys


def main():
    tmp, name, machine, configs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4].split()
    fp16 = json.load(open(os.path.join(tmp, "fp16.json")))
    rows = []
    for c in configs:
        b, g = c.split(":")
        r = {"w_bit": int(b), "group_size": int(g)}
        for m in ("rtn", "awq"):
            r[m] = json.load(open(os.path.join(tmp, f"w{b}_g{g}_{m}.json")))
        if "perplexity" in r["rtn"] and "perplexity" in r["awq"]:
            r["awq_beats_rtn"] = r["awq"]["perplexity"] < r["rtn"]["perplexity"]
        rows.append(r)
    os.makedirs("experiments/results", exist_ok=True)
    json.dump({"machine": machine, "fp16": fp16, "rows": rows}, open(f"experiments/results/{name}.json", "w"), indent=2)
    lines = [f"# AWQ vs RTN perplexity ({machine})", "",
             f"WikiText-2 test, seqlen 2048, {fp16['windows']} windows; calibration: WikiText-2 validation "
             "(128 texts, blocks of 512 tokens). FP16 perplexity: " + f"{fp16['perplexity']:.4f}.", "",
             "| config | RTN ppl | AWQ ppl | AWQ better | AWQ quantize s | scale search s | clip search s | peak GPU GiB |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        cfg = f"w{r['w_bit']} g{r['group_size']}"
        if "error" in r["awq"] or "error" in r["rtn"]:
            lines.append(f"| {cfg} | - | - | - | {r['awq'].get('error', r['rtn'].get('error'))} | | | |")
            continue
        a = r["awq"]
        lines.append(f"| {cfg} | {r['rtn']['perplexity']:.4f} | {a['perplexity']:.4f} | "
                     f"{'yes' if r['awq_beats_rtn'] else 'NO'} | {a['seconds']:.1f} | {a['scale_search_seconds']:.1f} | "
                     f"{a['clip_search_seconds']:.1f} | {a['peak_device_bytes'] / 2**30:.2f} |")
    open(f"experiments/results/{name}.md", "w").write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
