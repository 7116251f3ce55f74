"""Summary of ab_solo.sh: per (shape, m), every build's median time over all its rounds, and each column's time over
the first one's. Where w4a16_ab.py's two sides are the same options, both sides' samples count for the build (column
NAME); else each side is its own column (NAME.A, NAME.B).
Usage: python3 ab_solo_summary.py OUT_DIR "NAME1 NAME2 ..."   (writes OUT_DIR/solo_summary.{json,md})"""
import glob
import json
import statistics
import sys


def main():
    out, names = sys.argv[1], sys.argv[2].split()
    samples, configs, device, cols = {}, {}, "", []
    for name in names:
        for path in sorted(glob.glob(f"{out}/solo_{name}_r*.json")):
            d = json.load(open(path))
            device = d["device"]
            sides = [(name, ("a_all", "b_all"))] if d["a"] == d["b"] else [(name + ".A", ("a_all",)),
                                                                             (name + ".B", ("b_all",))]
            for col, _ in sides:
                if col not in cols:
                    cols.append(col)
            for r in d["records"]:
                key = (r["K"], r["N"], r["M"])
                for col, fields in sides:
                    samples.setdefault((col, key), []).extend(sum((r[f] for f in fields), []))
                    configs[(col, key)] = r[fields[0][0] + "_config"]
    names = cols
    keys = sorted({k for (_, k) in samples})
    rows = []
    lines = [f"# Solo A/B: {', '.join(names)} ({device}); median us over all rounds, ratio to {names[0]}", "",
             "| K x N | M | " + " | ".join(names) + " | " + " | ".join(f"{n} / {names[0]}" for n in names[1:]) +
             f" | {names[0]} config |",
             "|---|---|" + "---|" * (2 * len(names))]
    for key in keys:
        med = {n: statistics.median(samples[(n, key)]) for n in names if (n, key) in samples}
        if names[0] not in med:
            continue
        rows.append(dict(K=key[0], N=key[1], M=key[2], us=med, config=configs[(names[0], key)],
                         ratio={n: med[n] / med[names[0]] for n in med}))
        lines.append(f"| {key[0]} x {key[1]} | {key[2]} | " + " | ".join(f"{med.get(n, float('nan')):.1f}" for n in names)
                     + " | " + " | ".join(f"{med.get(n, float('nan')) / med[names[0]]:.3f}" for n in names[1:])
                     + f" | {configs[(names[0], key)]} |")
    json.dump(dict(device=device, builds=names, rows=rows), open(f"{out}/solo_summary.json", "w"), indent=1)
    open(f"{out}/solo_summary.md", "w").write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
