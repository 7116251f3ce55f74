"""Where a kernel's warps wait, from Nsight Compute's source page (profile_ws.sh SOURCE=1 writes it as CSV).

Groups the warp-stall samples of every SASS instruction by how often the instruction ran: in a kernel whose loop runs
once per 128-k unit, instructions executed (units x warps) times are the main loop, those executed (segments x warps)
times the per-tile epilogue (stream-K fix-up), and so on. Then the instructions with the most samples and their top
stall reasons.
Usage: python3 experiments/kernels/ncu_source_summary.py SASS.csv[.gz] [--top N]"""
import collections
import csv
import gzip
import sys

SAMPLES = "Warp Stall Sampling (All Samples)"


def main():
    path = sys.argv[1]
    top = int(sys.argv[sys.argv.index("--top") + 1]) if "--top" in sys.argv else 20
    with (gzip.open(path, "rt") if path.endswith(".gz") else open(path)) as f:
        rows = list(csv.reader(f))
    kernel, header, data = rows[0], rows[1], rows[2:]
    ix = {h: i for i, h in enumerate(header)}
    stalls = [h for h in header if h.startswith("stall_") and "Not Issued" not in h]
    num = lambda r, h: int(r[ix[h]] or 0)
    total = sum(num(r, SAMPLES) for r in data)
    print(kernel[1] if len(kernel) > 1 else path)
    print(f"{len(data)} SASS instructions, {total} warp samples")
    by_reason = collections.Counter()
    for r in data:
        for h in stalls:
            by_reason[h[6:]] += num(r, h)
    print("stall reasons: " + ", ".join(f"{k} {100 * v / total:.1f} %" for k, v in by_reason.most_common(8)))
    groups, count = collections.Counter(), collections.Counter()
    for r in data:
        ex = num(r, "Instructions Executed")
        groups[ex] += num(r, SAMPLES)
        count[ex] += 1
    print("\nby execution count (instructions that ran the same number of times):")
    for ex, v in groups.most_common(10):
        print(f"  executed {ex:8d} x  {count[ex]:4d} instructions  {v:6d} samples  {100 * v / total:5.1f} %")
    print(f"\ntop {top} instructions:")
    for r in sorted(data, key=lambda r: -num(r, SAMPLES))[:top]:
        s = num(r, SAMPLES)
        why = ", ".join(f"{h[6:]} {num(r, h)}" for h in sorted(stalls, key=lambda h: -num(r, h))[:3] if num(r, h))
        print(f"  {s:6d} {100 * s / total:5.1f} %  {r[1].strip()[:58]:58s}  x{num(r, 'Instructions Executed'):<7d} {why}")


if __name__ == "__main__":
    main()
