"""Reads w4a16_bench.py JSON files and tells, per (K, N, M), how the default call did against the alternatives the
same run timed: the previous default (`fast no-wgmma`), the wgmma kernel forced, and the best swept block shape.
It is what the dispatch rules (wgmma_by_default, pick_wgmma_shape in kernels/cuda/w4a16_launch.cu) are tuned from.
Usage: python3 experiments/kernels/w4a16_dispatch_report.py RESULTS.json [MORE.json ...] [--md OUT.md]"""
import json
import sys


def load(paths):
    rows, device, bw = {}, None, None
    for p in paths:
        with open(p) as f:
            d = json.load(f)
        device, bw = d["device"], d["copy_tbps"]
        for r in d["records"]:
            rows.setdefault((r["K"], r["N"], r["M"]), {})[r["variant"]] = r
    return rows, device, bw


def main():
    args = [a for a in sys.argv[1:]]
    md_out = None
    if "--md" in args:
        i = args.index("--md")
        md_out = args[i + 1]
        del args[i:i + 2]
    rows, device, bw = load(args)
    lines = [f"# Default dispatch against the alternatives ({device}, copy {bw:.2f} TB/s)\n",
             "Times in microseconds. `default / best` > 1 means a timed alternative beat what the default ran.\n",
             "| K x N | M | cuBLAS | default | config | no-wgmma | wgmma forced | ws forced | best swept | best config | "
             "default / no-wgmma | default / best | x cuBLAS |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    worse = []
    for (K, N, M) in sorted(rows):
        v = rows[(K, N, M)]
        f, c = v.get("fast"), v.get("cublas_fp16")
        if not f or not c or M < 4:
            continue
        fm, fw, fs = v.get("fast_mma"), v.get("fast_wgmma"), v.get("fast_ws")
        swept = [r for k, r in v.items() if k.startswith("fast:")]
        best = min(swept + [f] + [r for r in (fm, fw, fs) if r], key=lambda r: r["us"])
        fmt = lambda r: f"{r['us']:.1f}" if r else "-"
        ratio_m = f["us"] / fm["us"] if fm else float("nan")
        lines.append(f"| {K} x {N} | {M} | {c['us']:.1f} | {f['us']:.1f} | {f['config']} | {fmt(fm)} | {fmt(fw)} | {fmt(fs)} | "
                     f"{best['us']:.1f} | {best['config']} | {ratio_m:.2f} | {f['us'] / best['us']:.2f} | "
                     f"{c['us'] / f['us']:.2f} |")
        if fm and ratio_m > 1.03:
            worse.append(f"{K}x{N} m={M}: default {f['us']:.1f} ({f['config']}) vs no-wgmma {fm['us']:.1f} "
                         f"({fm['config']})")
    lines += ["", f"Cases where the default is > 3 % slower than the previous default: {len(worse)}", ""]
    lines += [f"- {w}" for w in worse]
    md = "\n".join(lines)
    print(md)
    if md_out:
        with open(md_out, "w") as f:
            f.write(md + "\n")


if __name__ == "__main__":
    main()
