#!/usr/bin/env python3
"""Pairs engine and transformers results (JSON lines) into experiments/results/<name>.json and .md."""
import json
import sys


def main():
    src, name, machine = sys.argv[1], sys.argv[2], sys.argv[3]
    rows = [json.loads(l) for l in open(src) if l.strip().startswith("{")]
    key = lambda r: (r["model"], r["device"], r["dtype"], r["batch"])
    eng = {key(r): r for r in rows if r["impl"] == "awqlab"}
    ref = {key(r): r for r in rows if r["impl"] == "transformers"}
    pairs = []
    for k, e in eng.items():
        h = ref.get(k)
        p = {"model": k[0], "device": k[1], "dtype": k[2], "batch": k[3], "prompt_len": e["prompt_len"],
             "new_tokens": e["new_tokens"], "engine": e, "transformers": h}
        if h:
            p["prefill_ratio"] = e["prefill_tok_s"] / h["prefill_tok_s"]
            p["decode_ratio"] = e["decode_tok_s"] / h["decode_tok_s"]
        pairs.append(p)
    out = {"machine": machine, "results": pairs}
    import os; os.makedirs("experiments/results", exist_ok=True)
    json.dump(out, open(f"experiments/results/{name}.json", "w"), indent=2)
    lines = [f"# Engine speed vs transformers ({machine})", "",
             "Median of repetitions; prefill = tokens/s of the prompt forward pass, decode = generated tokens/s "
             "(greedy, KV cache). transformers: eager attention, faster of generate() and a bare forward loop.", "",
             "| model | device | dtype | batch | prompt | new | prefill engine | prefill HF | ratio | decode engine | decode HF | ratio |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for p in pairs:
        h = p["transformers"] or {}
        f = lambda x: f"{x:.1f}" if isinstance(x, (int, float)) else "-"
        r = lambda x: f"{x:.2f}x" if x else "-"
        lines.append(f"| {p['model']} | {p['device']} | {p['dtype']} | {p['batch']} | {p['prompt_len']} | {p['new_tokens']} | "
                     f"{f(p['engine']['prefill_tok_s'])} | {f(h.get('prefill_tok_s'))} | {r(p.get('prefill_ratio'))} | "
                     f"{f(p['engine']['decode_tok_s'])} | {f(h.get('decode_tok_s'))} | {r(p.get('decode_ratio'))} |")
    open(f"experiments/results/{name}.md", "w").write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
