"""Correctness of the W4A16 kernels on the GPU (issue 4, point 1).

Every layout (gemm, gemv, fast) x group (32, 64, 128) x asymmetric/symmetric x fp16/bf16 x
m in {1, 3, 16, 64, 255, 1024, 4096} x path (auto, direct, dequantize all at once and in steps of 256 rows),
against a float64 reference
computed from the canonical integers on fresh random inputs; outputs are filled with NaN before every call,
so an unwritten element fails the check. Tolerance: relative Frobenius error < 2e-3 (fp16) / 1e-2 (bf16);
the error of cuBLAS on the same (rounded) weights is printed beside it. Also: every fast-kernel tile
configuration and split-K, AutoAWQ's own Triton dequantizer on our gemm packing (must be bit-exact), and the
CPU reference (kernels/cpu) against float64.
Usage: python3 experiments/kernels/w4a16_check.py BUILD_DIR/libw4a16_bench.so [OUT_JSON]"""
import json
import sys
import time

import torch
import torch.nn.functional as F

from w4a16_lib import (DTYPES, FAST, GEMM, GEMV, PATH_AUTO, PATH_DEQUANT, PATH_DIRECT, Canonical, W4Lib,
                       load_autoawq_triton, wgmma_rows, wgmma_shapes)

TOL = {torch.float16: 2e-3, torch.bfloat16: 1e-2}
COPIES = 8  # AWQ_W4_SUMSQ_COPIES (w4a16.h): the residual fold's sums of squares are kept in this many copies
NAMES = {GEMM: "gemm", GEMV: "gemv", FAST: "fast"}
PATHS = {PATH_AUTO: "auto", PATH_DIRECT: "direct", PATH_DEQUANT: "dequant"}


def rel(a, b):
    return (torch.linalg.vector_norm(a.double() - b) / torch.linalg.vector_norm(b)).item()


def fast_cases(lib, specs, ms, seed):
    """Fast-layout weights (n, k, group, symmetric) x dtype x m: (w, sym, dtype, m, x, float64 reference), fresh inputs."""
    for (nn, kk, group, sym) in specs:
        canon = Canonical(nn, kk, group, sym, seed + group + kk)
        w = lib.pack(FAST, canon)
        wref = canon.dequant64()
        for dtype in (torch.float16, torch.bfloat16):
            for m in ms:
                x = torch.randn(m, kk, dtype=dtype, device="cuda")
                yield w, sym, dtype, m, x, x.double() @ wref.T


def poisoned(m, n, dtype):
    y = torch.empty(m, n, dtype=dtype, device="cuda")
    y.view(torch.int16).fill_(-1)  # 0xffff: NaN in fp16 and bf16
    return y


def main():
    lib = W4Lib(sys.argv[1])
    out_json = sys.argv[2] if len(sys.argv) > 2 else None
    torch.manual_seed(0)
    t0 = time.time()
    rows, failures = [], []
    n, k = 704, 2560  # n not a multiple of 128 (fast kernel falls back to 1 tile per warp), k/64 = 40 chunks
    Ms = [1, 3, 16, 64, 255, 1024, 4096]
    seed = 1
    for layout in (GEMM, GEMV, FAST):
        for group in (32, 64, 128):
            for sym in (False, True):
                canon = Canonical(n, k, group, sym, seed)
                seed += 1
                w = lib.pack(layout, canon)
                wref = canon.dequant64()
                for dtype in (torch.float16, torch.bfloat16):
                    for m in Ms:
                        x = torch.randn(m, k, dtype=dtype, device="cuda")
                        ref = x.double() @ wref.T
                        base = rel(F.linear(x, wref.to(dtype)), ref)
                        # dequant_rows = 256: W expanded and multiplied in steps of 256 rows (n = 704: 256, 256, 192)
                        for path, drows in ((PATH_AUTO, 0), (PATH_DIRECT, 0), (PATH_DEQUANT, 0), (PATH_DEQUANT, 256)):
                            y = poisoned(m, n, dtype)
                            rc = lib.matmul(w, x, y, path=path, dequant_rows=drows)
                            torch.cuda.synchronize()
                            finite = bool(torch.isfinite(y).all())
                            err = rel(y, ref) if rc == 0 else float("nan")
                            ok = rc == 0 and finite and err < TOL[dtype]
                            row = dict(layout=NAMES[layout], group=group, sym=sym, dtype=str(dtype)[6:], m=m,
                                       path=PATHS[path] + (f" rows={drows}" if drows else ""), rc=rc, err=err, cublas_err=base, finite=finite, ok=ok,
                                       config=lib.config() if rc == 0 else lib.error())
                            rows.append(row)
                            if not ok:
                                failures.append(row)
    print(f"main grid: {len(rows)} cases, {len(failures)} failures ({time.time() - t0:.0f} s)")
    cfg_rows = []
    # The dequantize path in slices needs only one slice of weight buffer: 64 KiB of counters + 128 * n floats of
    # split-K partials + rows * k * 2 (each rounded up to 256). With exactly that it runs; one byte less is refused.
    a256 = lambda v: (v + 255) // 256 * 256
    for layout in (GEMM, GEMV, FAST):
        canon = Canonical(n, k, 128, False, 50 + layout)
        w = lib.pack(layout, canon)
        x = torch.randn(300, k, dtype=torch.float16, device="cuda")
        ref = x.double() @ canon.dequant64().T
        need = 65536 + a256(128 * n * 4) + a256(256 * k * 2)
        for wsb, expect_ok in ((need, True), (need - 1, False)):
            y = poisoned(300, n, torch.float16)
            rc = lib.matmul(w, x, y, path=PATH_DEQUANT, dequant_rows=256, ws_bytes=wsb)
            torch.cuda.synchronize()
            err = rel(y, ref) if rc == 0 else float("nan")
            ok = (rc == 0 and bool(torch.isfinite(y).all()) and err < TOL[torch.float16]) if expect_ok else \
                (rc != 0 and "dequant_rows = 256" in lib.error())
            r = dict(what="dequant slices, small workspace", layout=NAMES[layout], ws_bytes=wsb, err=err, ok=ok,
                     config=lib.config() if rc == 0 else lib.error())
            cfg_rows.append(r)
            if not ok:
                failures.append(r)
    # Every fast tile configuration and split-K setting, both dtypes, both zero modes.
    for group, sym in ((128, False), (32, True), (64, False)):
        canon = Canonical(1024, 1536, group, sym, 100 + group)
        w = lib.pack(FAST, canon)
        wref = canon.dequant64()
        for dtype in (torch.float16, torch.bfloat16):
            for m in (1, 5, 16, 33, 64, 100):
                x = torch.randn(m, canon.k, dtype=dtype, device="cuda")
                ref = x.double() @ wref.T
                for tokens, stages_list in ((8, (2, 4, 8)), (16, (2, 4, 8)), (32, (3, 4)), (64, (3, 4))):
                    for stages in stages_list:
                        for wt in ((1, 2) if tokens == 64 or (tokens <= 16 and stages <= 4) else (1,)):
                            for split in (1, 3, 8, 0):
                                y = poisoned(m, canon.n, dtype)
                                rc = lib.matmul(w, x, y, path=PATH_DIRECT, split_k=split, tokens=tokens,
                                                stages=stages, warp_tiles=wt, pdl=int(split == 3), wgmma=-1)
                                torch.cuda.synchronize()
                                err = rel(y, ref) if rc == 0 else float("nan")
                                ok = rc == 0 and bool(torch.isfinite(y).all()) and err < TOL[dtype]
                                r = dict(group=group, sym=sym, dtype=str(dtype)[6:], m=m, tokens=tokens,
                                         stages=stages, warp_tiles=wt, split=split, err=err, ok=ok,
                                         config=lib.config() if rc == 0 else lib.error())
                                cfg_rows.append(r)
                                if not ok:
                                    failures.append(r)
    # k/64 odd (the decode kernel's last 128-k unit is half full) and group 64/32 meta spans, split or not.
    for group in (64, 32, 128):
        kk = 1344 if group != 128 else 1408  # 21 or 22 chunks; 1408 = 11 groups of 128
        canon = Canonical(512, kk, group, False, 200 + group)
        w = lib.pack(FAST, canon)
        wref = canon.dequant64()
        for dtype in (torch.float16, torch.bfloat16):
            for m in (1, 7, 16):
                x = torch.randn(m, kk, dtype=dtype, device="cuda")
                ref = x.double() @ wref.T
                # default kernel, then the cluster-split kernel with two 16-row tiles per warp
                for split, pdl, wt in ((1, 0, 0), (2, 1, 0), (5, 0, 0), (0, 1, 0), (8, 0, 0), (1, 0, 2), (3, 1, 2),
                                       (0, 0, 2)):
                    y = poisoned(m, canon.n, dtype)
                    shape = dict(warps=-1, warp_tiles=2, stages=4) if wt else {}
                    rc = lib.matmul(w, x, y, path=PATH_DIRECT, split_k=split, pdl=pdl, **shape)
                    torch.cuda.synchronize()
                    err = rel(y, ref) if rc == 0 else float("nan")
                    ok = rc == 0 and bool(torch.isfinite(y).all()) and err < TOL[dtype]
                    r = dict(group=group, k=kk, dtype=str(dtype)[6:], m=m, split=split, pdl=pdl, warp_tiles=wt,
                             err=err, ok=ok, config=lib.config() if rc == 0 else lib.error())
                    cfg_rows.append(r)
                    if not ok:
                        failures.append(r)
    # The cluster-split kernel with x in pieces and the sums of x by MMA (x_pieces = 1): every shape it has, K slices
    # of 1..12 units (so 1 to 4 non-empty pieces; half a unit at the end where k / 64 is odd), every group (256:
    # a group spans two units), both zero modes and dtypes, 1..16 tokens per block and several token blocks.
    # Also: x_pieces is refused where its kernel cannot run.
    for w, sym, dtype, m, x, ref in fast_cases(lib, ((1024, 1536, 128, False), (512, 1344, 64, False), (512, 1344, 32, True),
                                                (768, 2048, 256, False), (256, 4160, 64, True)),
                                          (1, 3, 8, 9, 16, 33, 100), 700):
        tokens = 0 if m <= 16 else 16 if m < 64 else 8  # 33: three blocks of 16 tokens, 100: thirteen of 8
        for wt, depth in ((1, 4), (2, 2), (2, 4)):
            for split in (1, 3, 8, 0):
                y = poisoned(m, w.n, dtype)
                rc = lib.matmul(w, x, y, path=PATH_DIRECT, split_k=split, tokens=tokens, stages=depth, warp_tiles=wt,
                                pdl=split & 1, x_pieces=1)
                torch.cuda.synchronize()
                err = rel(y, ref) if rc == 0 else float("nan")
                config = lib.config() if rc == 0 else lib.error()
                ok = rc == 0 and bool(torch.isfinite(y).all()) and err < TOL[dtype] and "xpieces" in config
                r = dict(what="x_pieces", group=w.group, sym=sym, k=w.k, n=w.n, dtype=str(dtype)[6:], m=m, tokens=tokens,
                         wt=wt, depth=depth, split=split, err=err, ok=ok, config=config)
                cfg_rows.append(r)
                if not ok:
                    failures.append(r)
    canon = Canonical(512, 1536, 128, False, 799)
    w = lib.pack(FAST, canon)
    x = torch.randn(64, 1536, dtype=torch.float16, device="cuda")
    for kw in (dict(), dict(tokens=32), dict(wgmma=1), dict(warps=2), dict(split_k=-1), dict(path=PATH_DEQUANT),
               dict(warp_tiles=1, stages=8, tokens=16), dict(x_pieces=2)):
        y = poisoned(64, 512, torch.float16)
        args = dict(path=PATH_DIRECT, x_pieces=1)
        args.update(kw)
        rc = lib.matmul(w, x, y, **args)
        ok = rc != 0 and "x_pieces" in lib.error()
        r = dict(what="x_pieces refusal", args=str(kw), ok=ok, config=lib.config() if rc == 0 else lib.error())
        cfg_rows.append(r)
        if not ok:
            failures.append(r)
    # stream-K's early arrival (split_k = -3) has instances for the A-from-registers stream-K shapes only
    y = poisoned(64, 512, torch.float16)
    rc = lib.matmul(w, x, y, path=PATH_DIRECT, wgmma=3, split_k=-3)
    r = dict(what="early arrival refusal", ok=rc != 0 and "early arrival" in lib.error(),
             config=lib.config() if rc == 0 else lib.error())
    cfg_rows.append(r)
    if not r["ok"]:
        failures.append(r)
    print(f"x_pieces: {sum(r.get('what', '').startswith('x_pieces') for r in cfg_rows)} cases, "
          f"{sum(r.get('what', '').startswith('x_pieces') and not r['ok'] for r in cfg_rows)} failures "
          f"({time.time() - t0:.0f} s)")
    # The warp-split decode kernel at every warp count and depth: K ranges that split unevenly, warps left
    # without units, a half 128-k unit at the end (k/64 odd), group 32/64 spans, 1..16 tokens.
    for w, sym, dtype, m, x, ref in fast_cases(lib, ((1024, 1536, 128, False), (512, 1344, 64, False), (512, 1344, 32, True),
                                                     (256, 4160, 64, True), (768, 2048, 256, False)),
                                               (1, 5, 8, 9, 16), 300):
        for warps in (1, 2, 3, 5, 8):
            for wt, depth in ((1, 4), (1, 8), (2, 2), (2, 4)):
                y = poisoned(m, w.n, dtype)
                rc = lib.matmul(w, x, y, path=PATH_DIRECT, warps=warps, warp_tiles=wt, stages=depth, pdl=warps & 1)
                torch.cuda.synchronize()
                err = rel(y, ref) if rc == 0 else float("nan")
                ok = rc == 0 and bool(torch.isfinite(y).all()) and err < TOL[dtype]
                r = dict(group=w.group, sym=sym, k=w.k, dtype=str(dtype)[6:], m=m, warps=warps, wt=wt, depth=depth,
                         err=err, ok=ok, config=lib.config() if rc == 0 else lib.error())
                cfg_rows.append(r)
                if not ok:
                    failures.append(r)
    # The wgmma kernel at every block shape (tokens = its N, warpgroups, tiles per warp, depth), K split or not,
    # m from below one block to several token blocks, every group size, asymmetric and symmetric, both dtypes.
    # k = 1344 and 2112 (odd k / 64) exist to be refused by the warp-specialized kernel (wg = 3, whole 128-k units);
    # 1408 and 2176 run it at group 32 and 64.
    for (nn, kk, group, sym) in ((1024, 1536, 128, False), (1024, 1344, 32, True), (512, 2112, 64, False),
                                 (1024, 1408, 32, True), (512, 2176, 64, False)):
        canon = Canonical(nn, kk, group, sym, 600 + group + kk)
        w = lib.pack(FAST, canon)
        wref = canon.dequant64()
        for dtype in (torch.float16, torch.bfloat16):
            for m in (1, 9, 16, 33, 64, 100, 255, 300):
                x = torch.randn(m, kk, dtype=dtype, device="cuda")
                ref = x.double() @ wref.T
                for (tn, wg, wn, st) in wgmma_shapes():
                    if nn % wgmma_rows(wg, wn) or (wg < 3 and kk in (1408, 2176)):
                        continue
                    # wg 3-5: split -1 = stream-K, -2 = persistent tiles, mc 2 = x multicast to pairs of row blocks
                    for (split, mc) in (((-1, 0), (-2, 0), (1, 0), (3, 0), (1, 2)) if wg >= 3 else ((1, 0), (3, 0))):
                        y = poisoned(m, nn, dtype)
                        rc = lib.matmul(w, x, y, path=PATH_DIRECT, wgmma=wg, tokens=tn, warp_tiles=wn, stages=st,
                                        split_k=split, pdl=int(m == 33), x_multicast=mc)
                        torch.cuda.synchronize()
                        if rc != 0 and mc and (nn // wgmma_rows(wg, wn)) % 2 and "x_multicast" in lib.error():
                            continue  # an odd number of row blocks cannot pair (refused)
                        if rc != 0 and split > 1 and "cannot reduce" in lib.error():
                            continue  # this shape's pipeline memory cannot hold the K-slice reduction (refused)
                        if wg >= 3 and kk % 128:  # must be refused, with the reason
                            ok = rc != 0 and "k % 128" in lib.error()
                            r = dict(what="wgmma_refusal", k=kk, n=nn, m=m, tokens=tn, wg=wg, ok=ok,
                                     config=lib.config() if rc == 0 else lib.error())
                            cfg_rows.append(r)
                            if not ok:
                                failures.append(r)
                            continue
                        err = rel(y, ref) if rc == 0 else float("nan")
                        ok = rc == 0 and bool(torch.isfinite(y).all()) and err < TOL[dtype]
                        config = lib.config() if rc == 0 else lib.error()
                        if ok and wg >= 3 and split == -1:  # stream-K ran, and its sums do not depend on block order
                            y2 = poisoned(m, nn, dtype)
                            lib.matmul(w, x, y2, path=PATH_DIRECT, wgmma=wg, tokens=tn, warp_tiles=wn, stages=st,
                                       split_k=-1)
                            torch.cuda.synchronize()
                            ok = "streamk=" in config and torch.equal(y, y2)
                        if ok and split == -2:
                            ok = "persistent=" in config
                        if ok and mc:
                            ok = "mc=2" in config
                        if ok and wg in (4, 5):
                            ok = ("areg" if wg == 4 else "tokm") in config
                        r = dict(what="wgmma", group=group, sym=sym, k=kk, n=nn, dtype=str(dtype)[6:], m=m, tokens=tn,
                                 wg=wg, wn=wn, stages=st, split=split, mc=mc, err=err, ok=ok, config=config)
                        cfg_rows.append(r)
                        if not ok:
                            failures.append(r)
    print(f"wgmma shapes: {sum(r.get('what') == 'wgmma' for r in cfg_rows)} cases, "
          f"{sum(r.get('what') == 'wgmma' and not r['ok'] for r in cfg_rows)} failures ({time.time() - t0:.0f} s)")
    # Model shapes at the batches of the warp-specialized kernel, run twice (same bits): the default dispatch,
    # stream-K (a block's range covers parts of two or three tiles, several blocks meet in one tile) and x multicast.
    for (nn, kk, group, sym) in ((11008, 4096, 128, False), (4096, 14336, 128, True), (4096, 4096, 64, False)):
        canon = Canonical(nn, kk, group, sym, 900 + kk)
        w = lib.pack(FAST, canon)
        wref = canon.dequant64()
        for dtype in (torch.float16, torch.bfloat16):
            for m in (64, 65, 128, 200, 256, 512):
                x = torch.randn(m, kk, dtype=dtype, device="cuda")
                ref = x.double() @ wref.T
                for mode, kw, tag in (("default", {}, ""), ("stream-K", dict(wgmma=3, split_k=-1), "streamk="),
                                      ("x multicast", dict(wgmma=3, x_multicast=2), "mc=2"),
                                      ("A from registers", dict(wgmma=4), "areg"),
                                      ("A from registers, stream-K", dict(wgmma=4, split_k=-1), "streamk="),
                                      ("A from registers, persistent tiles", dict(wgmma=4, split_k=-2), "persistent="),
                                      ("A from registers, stream-K, early arrival", dict(wgmma=4, split_k=-3), "early"),
                                      ("tokens as M", dict(wgmma=5), "tokm"),
                                      ("tokens as M, stream-K", dict(wgmma=5, split_k=-1), "streamk=")):
                    ys = []
                    for _ in range(2):
                        y = poisoned(m, nn, dtype)
                        rc = lib.matmul(w, x, y, **kw)
                        torch.cuda.synchronize()
                        ys.append(y)
                    err = rel(ys[0], ref) if rc == 0 else float("nan")
                    config = lib.config() if rc == 0 else lib.error()
                    ok = (rc == 0 and bool(torch.isfinite(ys[0]).all()) and err < TOL[dtype] and
                          torch.equal(ys[0], ys[1]) and tag in config)
                    r = dict(what="default at model shape", mode=mode, group=group, sym=sym, k=kk, n=nn,
                             dtype=str(dtype)[6:], m=m, err=err, ok=ok, config=config)
                    cfg_rows.append(r)
                    if not ok:
                        failures.append(r)
    print(f"model shapes: {sum(r.get('what') == 'default at model shape' for r in cfg_rows)} cases, "
          f"{sum(r.get('what') == 'default at model shape' and not r['ok'] for r in cfg_rows)} failures")
    # SwiGLU's SiLU fused into the input (x_gated): x rows are [gate | up]; the reference rounds silu(gate) to the
    # dtype, multiplies by up and rounds again, as the separate SiLU kernel does. Other paths must refuse it.
    for (nn, kk, group) in ((1024, 1536, 128), (512, 1344, 64), (768, 2048, 32)):
        canon = Canonical(nn, kk, group, False, 400 + group)
        w = lib.pack(FAST, canon)
        wref = canon.dequant64()
        for dtype in (torch.float16, torch.bfloat16):
            gu = torch.randn(1, 2 * kk, dtype=dtype, device="cuda") * 2
            g, u = gu[:, :kk].float(), gu[:, kk:].float()
            xin = ((g / (1 + torch.exp(-g))).to(dtype).float() * u).to(dtype)
            ref = xin.double() @ wref.T
            y = poisoned(1, canon.n, dtype)
            rc = lib.matmul(w, gu, y, x_gated=1, pdl=1)
            torch.cuda.synchronize()
            err = rel(y, ref) if rc == 0 else float("nan")
            ok = rc == 0 and bool(torch.isfinite(y).all()) and err < TOL[dtype]
            r = dict(what="x_gated", group=group, k=kk, dtype=str(dtype)[6:], err=err, ok=ok,
                     config=lib.config() if rc == 0 else lib.error())
            cfg_rows.append(r)
            if not ok:
                failures.append(r)
        x2 = torch.randn(2, 2 * kk, dtype=torch.float16, device="cuda")
        y2 = poisoned(2, canon.n, torch.float16)
        refused = lib.matmul(w, x2, y2, x_gated=1) != 0 and "x_gated" in lib.error()
        cfg_rows.append(dict(what="x_gated refused for m=2", ok=refused))
        if not refused:
            failures.append(cfg_rows[-1])
    # Residual + RMSNorm fold. Output side: residual' = dtype(residual + dtype(y)) exactly, y as usual, per 16-row
    # tile the sum of residual'^2 (float64 reference, fp32 rounding tolerance). Input side: x is a residual h with
    # such tile sums; the input is dtype(w * dtype(h * rsqrt(mean + eps))), as the RMSNorm kernel rounds it (the
    # reference takes the same rsqrt from the float64 mean, so one rounding step of h * inv may differ).
    for (nn, kk, group) in ((4096, 4096, 128), (1024, 1536, 64), (768, 2048, 32), (2048, 11008, 128)):
        canon = Canonical(nn, kk, group, False, 500 + group)
        w = lib.pack(FAST, canon)
        wref = canon.dequant64()
        for dtype in (torch.float16, torch.bfloat16):
            for warps in (0, 2, 8):
                x = torch.randn(1, kk, dtype=dtype, device="cuda")
                res = torch.randn(1, nn, dtype=dtype, device="cuda")
                res0 = res.clone()
                sq = torch.full((COPIES, nn // 16), float("nan"), dtype=torch.float32, device="cuda")
                y = poisoned(1, nn, dtype)
                rc = lib.matmul(w, x, y, pdl=1, warps=warps, residual=res, sumsq_out=sq)
                torch.cuda.synchronize()
                ref = x.double() @ wref.T
                want_res = (res0.float() + y.float()).to(dtype)
                want_sq = (want_res.double() ** 2).reshape(-1, 16).sum(1).expand(COPIES, -1)  # every copy
                ok = rc == 0 and rel(y, ref) < TOL[dtype] and torch.equal(res, want_res) and \
                    bool(((sq.double() - want_sq).abs() <= 1e-5 * want_sq + 1e-6).all())
                r = dict(what="residual fold", group=group, k=kk, n=nn, dtype=str(dtype)[6:], warps=warps, ok=ok,
                         config=lib.config() if rc == 0 else lib.error())
                cfg_rows.append(r)
                if not ok:
                    failures.append(r)
                # Input side: x = h (a residual), its tile sums, the norm weight.
                h = torch.randn(1, kk, dtype=dtype, device="cuda") * 3
                sums = (h.double() ** 2).reshape(-1, 16).sum(1).float().expand(COPIES, -1).contiguous()
                nw = (torch.rand(kk, device="cuda") + 0.5).to(dtype)
                eps = 1e-5
                inv = torch.rsqrt((h.double() ** 2).mean() + eps)
                xin = (nw.double() * (h.double() * inv).to(dtype).double()).to(dtype)
                # norm_on_output: the input is dtype(w * h) and y is scaled by the same rsqrt (reference: float64
                # inv * (dtype(w * h) @ W^T)); and both against the exact float64 RMSNorm + matmul, where the two
                # roundings must land equally close (the output-side one no more than 1.5x the input-side error).
                exact = (nw.double() * h.double() * inv) @ wref.T
                errs = {}
                for post in (0, 1):
                    want = (inv * ((nw.double() * h.double()).to(dtype).double() @ wref.T)) if post else \
                        xin.double() @ wref.T
                    y = poisoned(1, nn, dtype)
                    rc = lib.matmul(w, h, y, pdl=1, warps=warps, sumsq_in=sums, norm_weight=nw, norm_eps=eps,
                                    norm_on_output=post)
                    torch.cuda.synchronize()
                    if kk > 8192:  # a lane sums 16 of the k/16 partials: refused with the reason
                        r = dict(what="normed input refused for k > 8192", k=kk, post=post,
                                 ok=rc != 0 and "8192" in lib.error())
                        cfg_rows.append(r)
                        if not r["ok"]:
                            failures.append(r)
                        continue
                    err = rel(y, want) if rc == 0 else float("nan")
                    errs[post] = rel(y, exact) if rc == 0 else float("nan")
                    ok = rc == 0 and bool(torch.isfinite(y).all()) and err < TOL[dtype]
                    r = dict(what="normed input" + (" (rsqrt on y)" if post else ""), group=group, k=kk, n=nn,
                             dtype=str(dtype)[6:], warps=warps, err=err, err_vs_exact=errs[post], ok=ok,
                             config=lib.config() if rc == 0 else lib.error())
                    cfg_rows.append(r)
                    if not ok:
                        failures.append(r)
                if kk <= 8192:
                    # Overflow fallback of norm_on_output: three entries of h at 30000 with norm weight 4 make
                    # dtype(w * h) infinite in fp16 (not in bf16) while the RMSNorm stays finite; the warps holding
                    # them must redo their slice the input-side way and still land on the exact result.
                    hb, nwb = h.clone(), nw.clone()
                    idx = torch.randperm(kk, device="cuda")[:3]
                    hb[0, idx] = 30000.0
                    nwb[idx] = 4.0
                    sums_b = (hb.double() ** 2).reshape(-1, 16).sum(1).float().expand(COPIES, -1).contiguous()
                    inv_b = torch.rsqrt((hb.double() ** 2).mean() + eps)
                    exact_b = (nwb.double() * hb.double() * inv_b) @ wref.T
                    y = poisoned(1, nn, dtype)
                    rc = lib.matmul(w, hb, y, pdl=1, warps=warps, sumsq_in=sums_b, norm_weight=nwb, norm_eps=eps,
                                    norm_on_output=1)
                    torch.cuda.synchronize()
                    err = rel(y, exact_b) if rc == 0 else float("nan")
                    ok = rc == 0 and bool(torch.isfinite(y).all()) and err < TOL[dtype]
                    r = dict(what="rsqrt on y, w * h overflows fp16 in 3 entries", group=group, k=kk, n=nn,
                             dtype=str(dtype)[6:], warps=warps, err=err, ok=ok,
                             config=lib.config() if rc == 0 else lib.error())
                    cfg_rows.append(r)
                    if not ok:
                        failures.append(r)
                if len(errs) == 2:
                    r = dict(what="rsqrt on y as close to the exact norm + matmul as rsqrt on x", group=group, k=kk,
                             dtype=str(dtype)[6:], warps=warps, err_x=errs[0], err_y=errs[1],
                             ok=errs[1] <= 1.5 * errs[0] + 1e-7)
                    cfg_rows.append(r)
                    if not r["ok"]:
                        failures.append(r)
        x2 = torch.randn(2, kk, dtype=torch.float16, device="cuda")
        y2 = poisoned(2, nn, torch.float16)
        res2 = torch.zeros(2, nn, dtype=torch.float16, device="cuda")
        sq2 = torch.zeros(COPIES, nn // 16, dtype=torch.float32, device="cuda")
        refused = lib.matmul(w, x2, y2, residual=res2, sumsq_out=sq2) != 0 and "fold" in lib.error()
        cfg_rows.append(dict(what="fold refused for m=2", ok=refused))
        if not refused:
            failures.append(cfg_rows[-1])
    print(f"fast configurations: {len(cfg_rows)} cases, {sum(not r['ok'] for r in cfg_rows)} failures")

    # Same inputs twice: split-K sums partials in a fixed order, so results must be bitwise identical.
    canon = Canonical(4096, 4096, 128, False, 7)
    w = lib.pack(FAST, canon)
    x = torch.randn(1, 4096, dtype=torch.float16, device="cuda")
    y1, y2 = poisoned(1, 4096, torch.float16), poisoned(1, 4096, torch.float16)
    lib.matmul(w, x, y1)
    cfg_det = lib.config()
    lib.matmul(w, x, y2)
    torch.cuda.synchronize()
    deterministic = bool(torch.equal(y1, y2))
    print(f"deterministic repeat ({cfg_det}): {deterministic}")
    if not deterministic:
        failures.append(dict(test="deterministic"))

    # AutoAWQ's own Triton dequantizer reads our gemm packing: must equal the canonical weights exactly.
    awq = load_autoawq_triton()
    peer = []
    if awq is not None:
        for group in (32, 64, 128):
            canon = Canonical(512, 1024, group, False, 300 + group)
            w = lib.pack(GEMM, canon)
            qw, sc, qz = w.awq_tensors()
            deq = awq.awq_dequantize_triton(qw, sc, qz)  # [k, n] fp16
            exact = canon.dequant64().T.to(torch.float16)
            max_diff = (deq.float() - exact.float()).abs().max().item()
            x = torch.randn(16, canon.k, dtype=torch.float16, device="cuda")
            y = poisoned(16, canon.n, torch.float16)
            lib.matmul(w, x, y, path=PATH_DIRECT)
            yt = awq.awq_gemm_triton(x, qw, sc, qz, split_k_iters=8)
            torch.cuda.synchronize()
            d = rel(y, yt.double())
            peer.append(dict(group=group, triton_dequant_max_abs_diff=max_diff, ours_vs_triton_gemm_rel=d))
            print(f"AutoAWQ triton, group {group}: dequantize max |diff| = {max_diff}, our gemm vs theirs rel = {d:.2e}")
            if max_diff != 0.0 or d > 2e-3:
                failures.append(dict(test="autoawq", group=group, max_diff=max_diff, rel=d))

    # The CPU reference of kernels/cpu against float64.
    canon = Canonical(128, 512, 64, False, 11)
    x = torch.randn(3, 512, dtype=torch.float16)
    cpu_err = rel(lib.reference_cpu(canon, x), (x.double() @ canon.dequant64("cpu").T))
    print(f"CPU reference vs float64: rel {cpu_err:.2e}")
    if cpu_err > 1e-6:
        failures.append(dict(test="cpu_reference", err=cpu_err))

    # Summary: worst error per layout / dtype / path over groups, symmetry and m.
    print("\n| layout | dtype | path | cases | worst rel err | worst cuBLAS-fp16/bf16 err | all finite | pass |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for layout in ("gemm", "gemv", "fast"):
        for dt in ("float16", "bfloat16"):
            for path in ("auto", "direct", "dequant"):
                sel = [r for r in rows if r["layout"] == layout and r["dtype"] == dt and r["path"] == path]
                print(f"| {layout} | {dt} | {path} | {len(sel)} | {max(r['err'] for r in sel):.2e} | "
                      f"{max(r['cublas_err'] for r in sel):.2e} | {all(r['finite'] for r in sel)} | "
                      f"{sum(r['ok'] for r in sel)}/{len(sel)} |")
    print(f"\nTOTAL failures: {len(failures)}")
    for f in failures[:20]:
        print("FAIL", f)
    if out_json:
        with open(out_json, "w") as f:
            json.dump(dict(grid=rows, fast_configs=cfg_rows, autoawq=peer, cpu_reference_err=cpu_err,
                           deterministic=deterministic, failures=failures,
                           device=torch.cuda.get_device_name()), f, indent=1)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
