"""W4A16 benchmark (issue 4, point 2): our three kernel versions against cuBLAS fp16 (torch F.linear) and
AutoAWQ's default Triton path, group 128 asymmetric, fp16 activations, on the issue's shapes and m.

Timing: median over many repetitions; m <= 256 inside a CUDA graph (one graph replays R calls, time per call
= replay time / R), larger m eagerly with events around batches of back-to-back calls. Every variant of one
(shape, m) is prepared first (warm-up, graph capture), then timed in ROUNDS interleaved rounds (one sample per
variant per round, the order rotated and reversed between rounds), and its time is the median of its samples:
the GPU's clock and power state drift over a run by up to ~25 % at m >= 256, and timing the variants one after
another charged that drift to whichever ran first (NOTES.md v18). Every timed call
rotates through enough copies of the weights that they cannot stay in the 60 MB L2 (>= 256 MB in total), so
the numbers are DRAM numbers. Bytes counted: the weight as stored (4-bit: packed weights + scales + zeros;
fp16: n*k*2) + x + y. Copy bandwidth is measured in the same run (device-to-device copy, read + write).
Usage: python3 experiments/kernels/w4a16_bench.py BUILD_DIR/libw4a16_bench.so OUT_PREFIX [--quick] [--no-sweep]
       [--shapes K:N,K:N,...] [--ms 1,8,...]   (e.g. the merged decode projections of a 7B model)
--no-sweep: only the headline variants (no tuning sweeps of block shapes): a short confirmation run."""
import json
import math
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

from w4a16_lib import (FAST, GEMM, GEMV, PATH_AUTO, PATH_DEQUANT, PATH_DIRECT, Canonical, W4Lib, load_autoawq_triton,
                       wgmma_rows, wgmma_shapes)

SHAPES = [(4096, 4096), (4096, 11008), (11008, 4096), (4096, 14336), (14336, 4096), (8192, 28672)]  # (K, N)
MS = [1, 4, 16, 64, 256, 1024, 4096]
GROUP = 128
ROTATE_BYTES = 256 << 20


def events_time(fn, iters):
    ts = []
    for _ in range(iters):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        ts.append(a.elapsed_time(b) * 1e3)
    return statistics.median(ts)


ROUNDS = 15


def time_call(fn, nbuf, use_graph):
    """fn(i) does one call on buffer set i % nbuf (bind loop variables as default arguments: an eager sampler
    calls fn after the loop that made it has moved on). Returns a sampler: each call of it times one graph replay (or
    one batch) and returns microseconds per call. Warm-up and capture happen here, not in the samples."""
    for i in range(max(3, nbuf)):
        fn(i)
    torch.cuda.synchronize()
    if not use_graph:  # batches of back-to-back calls, so host launch overhead stays hidden
        batch = max(nbuf, 10)

        def run_batch():
            for i in range(batch):
                fn(i)

        return lambda: events_time(run_batch, 1) / batch
    reps = max(nbuf, 20)
    g = torch.cuda.CUDAGraph()
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        with torch.cuda.graph(g):
            for i in range(reps):
                fn(i)
    torch.cuda.current_stream().wait_stream(s)
    g.replay()
    torch.cuda.synchronize()
    return lambda: events_time(g.replay, 1) / reps


def time_median(fn, nbuf, use_graph, samples=ROUNDS):
    """time_call's sampler, `samples` times in a row: median microseconds per call (one variant on its own)."""
    sample = time_call(fn, nbuf, use_graph)
    return statistics.median(sample() for _ in range(samples))


def run_interleaved(samplers):
    """{name: sampler} -> {name: median microseconds}, ROUNDS rounds with every variant once per round."""
    names = list(samplers)
    samples = {n: [] for n in names}
    for r in range(ROUNDS):
        order = names[r % len(names):] + names[:r % len(names)]
        for n in (order[::-1] if r % 2 else order):
            samples[n].append(samplers[n]())
    return {n: statistics.median(v) for n, v in samples.items()}


def copy_bandwidth():
    a = torch.empty(1 << 31, dtype=torch.uint8, device="cuda")
    b = torch.empty_like(a)
    for _ in range(3):
        b.copy_(a)
    t = events_time(lambda: b.copy_(a), 20)
    del a, b
    return 2 * (1 << 31) / (t * 1e-6) / 1e12


def option(name):
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else None


def main():
    global SHAPES, MS
    lib = W4Lib(sys.argv[1])
    prefix = sys.argv[2]
    quick = "--quick" in sys.argv
    no_sweep = "--no-sweep" in sys.argv
    if option("--shapes"):
        SHAPES = [tuple(int(v) for v in kn.split(":")) for kn in option("--shapes").split(",")]
    if option("--ms"):
        MS = [int(v) for v in option("--ms").split(",")]
    awq = load_autoawq_triton()
    dev = torch.cuda.get_device_name()
    bw = copy_bandwidth()
    print(f"device {dev}; copy bandwidth {bw:.2f} TB/s")
    records = []
    t_start = time.time()
    for (K, N) in SHAPES:
        canon = Canonical(N, K, GROUP, False, K * 7 + N)
        packed = dict(zip(("gemm", "gemv", "fast"), lib.pack_many([(GEMM, canon), (GEMV, canon), (FAST, canon)])))
        wbytes4 = packed["fast"].nbytes()
        nb4 = max(1, math.ceil(ROTATE_BYTES / wbytes4))
        copies = {name: [p] + [p.clone() for _ in range(nb4 - 1)] for name, p in packed.items()}
        w16 = canon.dequant64().to(torch.float16)
        nb16 = max(1, math.ceil(ROTATE_BYTES / (N * K * 2)))
        w16s = [w16] + [w16.clone() for _ in range(nb16 - 1)]
        del w16
        lib.workspace(N, K)
        for M in MS:
            if quick and M not in (1, 16, 64, 256, 4096):
                continue
            x = torch.randn(M, K, dtype=torch.float16, device="cuda")
            ys = torch.empty(M, N, dtype=torch.float16, device="cuda")
            graph = M <= 256
            io = M * K * 2 + M * N * 2
            res, pending = {}, {}

            def add(name, sampler, wb, cfg=""):  # timed later, interleaved with the others of this (shape, m)
                pending[name] = (sampler, wb, cfg)

            add("cublas_fp16", time_call(lambda i: F.linear(x, w16s[i % nb16]), nb16, graph), N * K * 2)
            if M == 1:  # floors of this harness: an empty launch, and streaming the 4-bit bytes with plain loads
                sink = torch.zeros(4096, dtype=torch.int32, device="cuda")
                add("empty_launch", time_call(lambda i: lib.empty(), 1, True), 0)
                add("read_floor", time_call(lambda i: lib.stream_read(copies["fast"][i % nb4].dev[0], sink), nb4, True),
                    wbytes4)
                # the decode kernel's access pattern alone (warps, tiles per warp, depth), no arithmetic
                for wp_, tp_, dp_ in () if no_sweep else (
                        (1, 1, 4), (2, 1, 4), (4, 1, 4), (8, 1, 4), (2, 1, 8), (4, 1, 8), (1, 2, 4),
                        (2, 2, 2), (2, 2, 4), (4, 2, 2), (4, 2, 4), (8, 2, 2), (2, 2, 8), (4, 2, 8)):
                    add(f"pattern_w{wp_}_t{tp_}_d{dp_}",
                        time_call(lambda i, a=(wp_, tp_, dp_): lib.pattern_read(copies["fast"][i % nb4], sink, *a), nb4, True),
                        wbytes4)
            for name in ("fast", "gemm", "gemv"):
                cp = copies[name]
                rc = lib.matmul(cp[0], x, ys)
                if rc != 0:
                    print(f"{name} M={M}: {lib.error()}")
                    continue
                cfg = lib.config()
                add(name, time_call(lambda i, cp=cp: lib.matmul(cp[i % nb4], x, ys), nb4, graph), wbytes4, cfg)
            if M >= 4:  # the wgmma kernel (one warpgroup, the rest of its shape by its heuristic), at every m
                cp = copies["fast"]
                if lib.matmul(cp[0], x, ys, wgmma=1) == 0:
                    add("fast_wgmma", time_call(lambda i, cp=cp: lib.matmul(cp[i % nb4], x, ys, wgmma=1), nb4, graph), wbytes4,
                        lib.config())
            if M >= 16 and not os.environ.get("W4_NO_WS"):  # the warp-specialized wgmma kernel (its heuristic)
                cp = copies["fast"]
                if lib.matmul(cp[0], x, ys, wgmma=3) == 0:
                    add("fast_ws", time_call(lambda i, cp=cp: lib.matmul(cp[i % nb4], x, ys, wgmma=3), nb4, graph), wbytes4,
                        lib.config())
                # ... one block per tile, K unsplit; stream-K; x multicast to pairs of row blocks
                # ... and with A from registers (wgmma = 4): its heuristic, one tile per block, stream-K
                for name, kw in (("fast_ws_tile", dict(split_k=1)), ("fast_ws_sk", dict(split_k=-1)),
                                 ("fast_ws_mc", dict(x_multicast=2)), ("fast_wsr", dict(wgmma=4)),
                                 ("fast_wsr_tile", dict(wgmma=4, split_k=1)), ("fast_wsr_sk", dict(wgmma=4, split_k=-1)),
                                 # 64 tokens, 3 stages: two blocks per SM (its own rule, and stream-K)
                                 ("fast_wsr2", dict(wgmma=4, tokens=64, stages=3)),
                                 ("fast_wsr2_sk", dict(wgmma=4, tokens=64, stages=3, split_k=-1)),
                                 # tokens as M (wgmma = 5: 64 tokens x 128 rows per consumer): its rule, stream-K
                                 ("fast_tm", dict(wgmma=5, tokens=64)), ("fast_tm_sk", dict(wgmma=5, tokens=64, split_k=-1))):
                    if kw.get("tokens") == 64 and M > 128:
                        continue
                    kw = dict(dict(wgmma=3), **kw)
                    if lib.matmul(cp[0], x, ys, **kw) == 0:
                        add(name, time_call(lambda i, cp=cp, kw=kw: lib.matmul(cp[i % nb4], x, ys, **kw), nb4, graph),
                            wbytes4, lib.config())
            if M >= 9:  # without the wgmma kernel: the mma.sync kernels or dequantize + cuBLAS, as before it
                cp = copies["fast"]
                if lib.matmul(cp[0], x, ys, wgmma=-1) == 0:
                    add("fast_mma", time_call(lambda i, cp=cp: lib.matmul(cp[i % nb4], x, ys, wgmma=-1), nb4, graph), wbytes4,
                        lib.config())
            if M >= 1024:  # dequantize + cuBLAS: all of W at once, and in slices of 2048 rows (options.dequant_rows)
                cp = copies["fast"]
                for name, kw in (("fast_deq", dict(path=PATH_DEQUANT)),
                                 ("fast_deq_rows", dict(path=PATH_DEQUANT, dequant_rows=2048))):
                    if lib.matmul(cp[0], x, ys, **kw) == 0:
                        add(name, time_call(lambda i, cp=cp, kw=kw: lib.matmul(cp[i % nb4], x, ys, **kw), nb4, graph),
                            wbytes4, lib.config())
            if M <= 16:  # the cluster-split kernel with x in pieces and the sums of x by MMA (options.x_pieces)
                cp = copies["fast"]
                if lib.matmul(cp[0], x, ys, x_pieces=1) == 0:
                    add("fast_xp", time_call(lambda i, cp=cp: lib.matmul(cp[i % nb4], x, ys, x_pieces=1), nb4, graph),
                        wbytes4, lib.config())
            if M <= 64:  # the default configuration again, launched with programmatic dependent launch
                cp = copies["fast"]
                if lib.matmul(cp[0], x, ys, pdl=1) == 0:
                    add("fast_pdl", time_call(lambda i, cp=cp: lib.matmul(cp[i % nb4], x, ys, pdl=1), nb4, graph), wbytes4,
                        lib.config())
            if awq is not None:
                tens = [c.awq_tensors() for c in copies["gemm"]]
                if M < 1024:  # AutoAWQ's WQLinear_GEMM forward: Triton GEMM below 1024 tokens
                    f = lambda i, tens=tens: awq.awq_gemm_triton(x, *tens[i % nb4], split_k_iters=8)
                else:  # ... and Triton dequantize + torch.matmul from 1024 on
                    f = lambda i, tens=tens: torch.matmul(x, awq.awq_dequantize_triton(*tens[i % nb4]))
                add("autoawq_triton", time_call(f, nb4, graph), wbytes4)
            # Tuning sweeps for the fast kernel (recorded, not part of the headline table).
            sweeps = []
            if M in (1, 8, 16):
                # the cluster-split kernel (warps=-1) and the warp-split decode kernel (warps, depth)
                sweeps += [dict(path=PATH_DIRECT, warps=-1)]
                sweeps += [dict(path=PATH_DIRECT, warps=-1, split_k=s) for s in (2, 4)]
                sweeps += [dict(path=PATH_DIRECT, warps=-1, pdl=1)]
                sweeps += [dict(path=PATH_DIRECT, warps=w, warp_tiles=wt, stages=d) for w in (1, 2, 3, 4, 6, 8)
                           for wt, d in ((1, 4), (1, 8), (2, 2), (2, 4))]
                if M == 1:  # decode steps launch with programmatic dependent launch
                    sweeps += [dict(path=PATH_DIRECT, warps=w, warp_tiles=wt, stages=d, pdl=1) for w in (2, 3, 4, 6, 8)
                               for wt, d in ((1, 4), (2, 2), (2, 4))]
            if M in (1, 4, 8, 16):  # the cluster-split kernel with two 16-row tiles per warp (half the x traffic)
                sweeps += [dict(path=PATH_DIRECT, warps=-1, warp_tiles=2, stages=d, split_k=s, pdl=pd)
                           for d in (2, 4) for s in (0, 1, 2, 4) for pd in (0, 1)]
            if M in (64, 256):
                sweeps += [dict(path=PATH_DIRECT, tokens=64, warp_tiles=wt, stages=3, split_k=s)
                           for wt in (1, 2) for s in (1, 2, 4)]
            if M >= 64:
                sweeps += [dict(path=PATH_DEQUANT)]
            if M >= 4:  # the wgmma kernel's block shapes near this m, K split by the heuristic and not at all
                for (tn, wg, wn, st) in wgmma_shapes():
                    if tn > 4 * M or tn < min(M, 256) // 4 or N % wgmma_rows(wg, wn):
                        continue
                    splits = (0, 1) if M <= 256 else (1,)
                    if wg >= 3:  # the warp-specialized kernel: its split rule (split 0) against fixed splits
                        splits = (0, 1, 2, 3, 4) if M <= 512 else (0, 1)
                    sweeps += [dict(path=PATH_DIRECT, wgmma=wg, tokens=tn, warp_tiles=wn, stages=st, split_k=sp)
                               for sp in splits]
            if quick:
                sweeps = sweeps[:6]
            if no_sweep:
                sweeps = []
            for sw in sweeps:
                cp = copies["fast"]
                if lib.matmul(cp[0], x, ys, **sw) != 0:
                    continue
                cfg = lib.config()
                add("fast:" + cfg, time_call(lambda i, cp=cp, sw=sw: lib.matmul(cp[i % nb4], x, ys, **sw), nb4, graph), wbytes4, cfg)
            times = run_interleaved({n: v[0] for n, v in pending.items()})
            for name, (_, wb, cfg) in pending.items():
                us = res[name] = times[name]
                records.append(dict(K=K, N=N, M=M, variant=name, us=us, tbps=(wb + io) / (us * 1e-6) / 1e12,
                                    tflops=2 * M * N * K / (us * 1e-6) / 1e12, config=cfg))
            del pending
            line = " ".join(f"{k}={v:.1f}" for k, v in res.items() if ":" not in k)
            best = min((v, k) for k, v in res.items() if k.startswith("fast:") or k == "fast")
            print(f"K={K} N={N} M={M}: {line} | best fast {best[0]:.1f} ({best[1]}) [{time.time() - t_start:.0f}s]",
                  flush=True)
        del copies, w16s, packed
        torch.cuda.empty_cache()

    # Headline table.
    def get(K, N, M, v):
        for r in records:
            if (r["K"], r["N"], r["M"], r["variant"]) == (K, N, M, v):
                return r
        return None

    lines = [f"# W4A16 kernels benchmark\n",
             f"Machine: {dev} (through the device tool); measured copy bandwidth {bw:.2f} TB/s (read + write). "
             f"Group 128, asymmetric, fp16 activations. Times in microseconds, median of {ROUNDS} samples taken in "
             f"rounds interleaved over all variants of a (shape, m); m <= 256 in CUDA graphs; "
             f"weights rotated through >= 256 MB so they come from DRAM. Speed-ups are cuBLAS time / our time.\n",
             "Columns: `fast` = default call (no PDL); `fast+pdl` = same kernel launched with programmatic dependent launch "
             "(weights stream while the previous kernel finishes; the benchmark's previous kernel is the same matmul); "
             "`read floor` = plain 16-byte loads of the same 4-bit bytes in the same harness (M=1 rows).\n",
             "`fast wgmma` = the wgmma kernel forced (options.wgmma = 1, shape by its heuristic); `fast no-wgmma` = "
             "options.wgmma = -1 (the mma.sync kernels, dequantize + cuBLAS above m = 128); `fast ws` = the "
             "warp-specialized wgmma kernel (options.wgmma = 3); `dequant` / `dequant 2048` (m >= 1024) = dequantize + cuBLAS, all "
             "of W at once / in slices of 2048 rows (options.dequant_rows); `x pieces` (m <= 16) = the cluster-split kernel with "
             "its x slice in pieces and the sums of x by MMA (options.x_pieces = 1, its own K-slice rule); `config` = what the default call ran. The sweeps in "
             "the JSON time the other block shapes.\n",
             "| K x N | M | cuBLAS fp16 | fast | fast TB/s | fast TFLOP/s | x cuBLAS | x AutoAWQ | fast+pdl | x cuBLAS (pdl) | read floor | fast wgmma | fast ws | fast no-wgmma | dequant | dequant 2048 | x pieces | gemm | gemv | AutoAWQ-Triton | config |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for (K, N) in SHAPES:
        for M in MS:
            c, f = get(K, N, M, "cublas_fp16"), get(K, N, M, "fast")
            if not c or not f:
                continue
            g, v, a = get(K, N, M, "gemm"), get(K, N, M, "gemv"), get(K, N, M, "autoawq_triton")
            pd = get(K, N, M, "fast_pdl")
            rf = get(K, N, M, "read_floor")
            fm, fn, fw = get(K, N, M, "fast_wgmma"), get(K, N, M, "fast_mma"), get(K, N, M, "fast_ws")
            fd, fdr, fxp = get(K, N, M, "fast_deq"), get(K, N, M, "fast_deq_rows"), get(K, N, M, "fast_xp")
            fmt = lambda r: f"{r['us']:.1f}" if r else "-"
            lines.append(f"| {K} x {N} | {M} | {c['us']:.1f} | {f['us']:.1f} | {f['tbps']:.2f} | {f['tflops']:.0f} | "
                         f"{c['us'] / f['us']:.2f} | {(a['us'] / f['us']) if a else float('nan'):.2f} | {fmt(pd)} | "
                         f"{(c['us'] / pd['us']) if pd else float('nan'):.2f} | {fmt(rf)} | {fmt(fm)} | {fmt(fw)} | {fmt(fn)} | "
                         f"{fmt(fd)} | {fmt(fdr)} | {fmt(fxp)} | {fmt(g)} | {fmt(v)} | "
                         f"{fmt(a)} | {f['config']} |")
    # Targets of issue 4 (fast, group 128, shapes >= 4096 x 11008).
    lines += ["", "## Targets (fast layout, group 128, K*N >= 4096*11008)", "",
              "| K x N | M=1 x cuBLAS (>= 3.5) | M=1 TB/s / copy (>= 75 %) | M=16 x cuBLAS (>= 3.5) | "
              "M=64 (>= 2) | M=256 (>= 1.1) | M=1024 (>= 0.95) | M=4096 (>= 0.95) | M=1 with PDL x cuBLAS |",
              "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for (K, N) in SHAPES:
        if K * N < 4096 * 11008:
            continue
        sp = lambda M, v="fast": (get(K, N, M, "cublas_fp16")["us"] / get(K, N, M, v)["us"]) if get(K, N, M, v) else float("nan")
        f1 = get(K, N, 1, "fast")
        bw1 = f"{f1['tbps'] / bw * 100:.0f} %" if f1 else "-"
        lines.append(f"| {K} x {N} | {sp(1):.2f} | {bw1} | {sp(16):.2f} | {sp(64):.2f} | "
                     f"{sp(256):.2f} | {sp(1024):.2f} | {sp(4096):.2f} | {sp(1, 'fast_pdl'):.2f} |")
    md = "\n".join(lines)
    print("\n" + md)
    with open(prefix + ".json", "w") as fjs:
        json.dump(dict(device=dev, copy_tbps=bw, group=GROUP, records=records), fjs, indent=1)
    with open(prefix + ".md", "w") as fmd:
        fmd.write(md + "\n")


if __name__ == "__main__":
    main()
