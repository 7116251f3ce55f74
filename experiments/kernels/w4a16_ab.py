"""A/B timing for dispatch decisions: two option sets of awq_w4a16_matmul timed alternately (A, B, A, B, ...) for
R rounds per (shape, m), so that drift of the machine (clocks, temperature, neighbours) reaches both alike. The same
configuration timed at two moments of one w4a16_bench.py run differed by up to 15 % (NOTES.md v16), which is the
size of the effects a dispatch rule has to decide on.
Timing as w4a16_bench.py (time_call: CUDA graphs up to m = 256, weights rotated through >= 256 MB): each side is
captured once, then every round takes three samples of each side (order alternating between rounds).
--lib-b LIB_B: side B calls a second build of the library (its own packed weights and workspace): a code change
against the build before it, in one process.
Prints per (shape, m) the median microseconds of each side, the median and range of the per-round ratios B / A
(< 1: B faster), and writes OUT_PREFIX.json and OUT_PREFIX.md.
Usage: python3 w4a16_ab.py LIB OUT_PREFIX --a default --b wgmma=3,split_k=-1 [--lib-b LIB_B] [--shapes K:N,...]
       [--ms 64,128] [--rounds 5]"""
import json
import math
import statistics
import sys

import torch

from w4a16_bench import GROUP, ROTATE_BYTES, SHAPES, option, time_call
from w4a16_lib import FAST, Canonical, W4Lib


def parse_opts(text):
    """'wgmma=3,split_k=-1' -> {'wgmma': 3, 'split_k': -1}; 'default' or '' -> {} (the default call)."""
    out = {}
    for item in filter(None, ("" if text in (None, "default") else text).split(",")):
        key, value = item.split("=")
        out[key.strip()] = int(value)
    return out


def main():
    lib = W4Lib(sys.argv[1])
    lib_b = W4Lib(option("--lib-b")) if option("--lib-b") else lib
    prefix = sys.argv[2]
    a_opts, b_opts = parse_opts(option("--a")), parse_opts(option("--b"))
    shapes = ([tuple(int(v) for v in kn.split(":")) for kn in option("--shapes").split(",")]
              if option("--shapes") else SHAPES)
    ms = [int(v) for v in option("--ms").split(",")] if option("--ms") else [64, 128]
    rounds = int(option("--rounds") or 5)
    dev = torch.cuda.get_device_name()
    b_name = (b_opts or "default") if lib_b is lib else f"{b_opts or 'default'} of {option('--lib-b')}"
    print(f"device {dev}; A = {a_opts or 'default'}; B = {b_name}; {rounds} rounds", flush=True)
    records = []
    libs = dict(A=lib, B=lib_b)
    for (K, N) in shapes:
        canon = Canonical(N, K, GROUP, False, K * 7 + N)

        def packed(lb):  # the weight as lb packs it, rotated through >= ROTATE_BYTES; lb's workspace for this shape
            w = lb.pack(FAST, canon)
            lb.workspace(N, K)
            return [w] + [w.clone() for _ in range(math.ceil(ROTATE_BYTES / w.nbytes()) - 1)]

        copies = {"A": packed(lib)}
        copies["B"] = copies["A"] if lib_b is lib else packed(lib_b)
        nb = len(copies["A"])
        for M in ms:
            x = torch.randn(M, K, dtype=torch.float16, device="cuda")
            y = torch.empty(M, N, dtype=torch.float16, device="cuda")
            sides = {}
            for name, opts in (("A", a_opts), ("B", b_opts)):
                lb, cp = libs[name], copies[name]
                rc = lb.matmul(cp[0], x, y, **opts)
                sides[name] = dict(opts=opts, rc=rc, config=lb.config() if rc == 0 else lb.error(), us=[])
            if any(s["rc"] != 0 for s in sides.values()):
                print(f"K={K} N={N} M={M}: skipped, " + "; ".join(f"{k}: {s['config']}" for k, s in sides.items()))
                continue
            for name, s in sides.items():
                s["sample"] = time_call(lambda i, o=s["opts"], lb=libs[name], cp=copies[name]:
                                        lb.matmul(cp[i % nb], x, y, **o), nb, M <= 256)
            for r in range(rounds):
                for s in (list(sides.values())[::-1] if r % 2 else sides.values()):
                    s["us"].append(statistics.median(s["sample"]() for _ in range(3)))
            ratios = [b / a for a, b in zip(sides["A"]["us"], sides["B"]["us"])]
            rec = dict(K=K, N=N, M=M, a_us=statistics.median(sides["A"]["us"]),
                       b_us=statistics.median(sides["B"]["us"]), ratio=statistics.median(ratios),
                       ratio_min=min(ratios), ratio_max=max(ratios), a_config=sides["A"]["config"],
                       b_config=sides["B"]["config"], a_all=sides["A"]["us"], b_all=sides["B"]["us"])
            records.append(rec)
            print(f"K={K} N={N} M={M}: A {rec['a_us']:.1f} B {rec['b_us']:.1f} us, B/A {rec['ratio']:.3f} "
                  f"[{rec['ratio_min']:.3f}, {rec['ratio_max']:.3f}] | A: {rec['a_config']} | B: {rec['b_config']}",
                  flush=True)
        del copies
        torch.cuda.empty_cache()
    with open(prefix + ".json", "w") as f:
        json.dump(dict(device=dev, a=a_opts, b=b_opts, rounds=rounds, records=records), f, indent=1)
    lines = [f"# A/B: A = {a_opts or 'default'}, B = {b_name} ({dev}, {rounds} alternating rounds)\n",
             "Median microseconds per side; B / A = median of the per-round ratios (< 1: B faster), [min, max].\n",
             "| K x N | M | A | B | B / A | range | A config | B config |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in records:
        lines.append(f"| {r['K']} x {r['N']} | {r['M']} | {r['a_us']:.1f} | {r['b_us']:.1f} | {r['ratio']:.3f} | "
                     f"[{r['ratio_min']:.3f}, {r['ratio_max']:.3f}] | {r['a_config']} | {r['b_config']} |")
    with open(prefix + ".md", "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
