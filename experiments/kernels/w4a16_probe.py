"""Runs one fast-kernel configuration a few times on a real shape, for a profiler (ncu) to look at.
Usage: python3 experiments/kernels/w4a16_probe.py LIB K N M [reps] [--warps W] [--tiles 1|2] [--split S] [--depth D] [--pdl] [--read]
       python3 experiments/kernels/w4a16_probe.py LIB K N M [reps] --opts default|wgmma=3,split_k=-1,...  [--cublas]
(--read: the harness's plain streaming read of the same bytes instead, the floor to compare against;
 --opts: the library's default dispatch (PATH_AUTO) plus the named options, as w4a16_ab.py takes them;
 --cublas: torch.matmul on the fp16 weights of the same shape, the baseline)"""
import sys

import torch

from w4a16_ab import parse_opts
from w4a16_lib import FAST, PATH_DIRECT, Canonical, W4Lib


def option(name, default=0):
    return int(sys.argv[sys.argv.index(name) + 1]) if name in sys.argv else default


args = [a for i, a in enumerate(sys.argv) if not a.startswith("--") and not (i > 0 and sys.argv[i - 1].startswith("--"))]
lib = W4Lib(args[1])
K, N, M = int(args[2]), int(args[3]), int(args[4])
reps = int(args[5]) if len(args) > 5 else 5
opts = parse_opts(sys.argv[sys.argv.index("--opts") + 1]) if "--opts" in sys.argv else dict(path=PATH_DIRECT, warps=option("--warps"), warp_tiles=option("--tiles"), split_k=option("--split"), stages=option("--depth"),
            pdl=int("--pdl" in sys.argv))
canon = Canonical(N, K, 128, False, 1)
ws = [lib.pack(FAST, canon)]
ws += [ws[0].clone() for _ in range(7)]  # rotate so the profiled launch reads from DRAM
x = torch.randn(M, K, dtype=torch.float16, device="cuda")
y = torch.empty(M, N, dtype=torch.float16, device="cuda")
wf = [torch.randn(K, N, dtype=torch.float16, device="cuda") for _ in range(3)] if "--cublas" in sys.argv else []
sink = torch.zeros(4096, dtype=torch.int32, device="cuda")
for i in range(reps):
    if "--cublas" in sys.argv:
        torch.matmul(x, wf[i % len(wf)], out=y)
    elif "--read" in sys.argv:
        assert lib.stream_read(ws[i % len(ws)].dev[0], sink) == 0
    else:
        assert lib.matmul(ws[i % len(ws)], x, y, **opts) == 0, lib.error()
torch.cuda.synchronize()
print("probe", K, N, M, "cublas" if "--cublas" in sys.argv else "read floor" if "--read" in sys.argv else lib.config())
