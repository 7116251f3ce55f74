"""Runs one fast-kernel configuration a few times on a real shape, for a profiler (ncu) to look at.
Usage: python3 experiments/kernels/w4a16_probe.py LIB K N M [reps]"""
import sys

import torch

from w4a16_lib import FAST, Canonical, W4Lib

lib = W4Lib(sys.argv[1])
K, N, M = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
reps = int(sys.argv[5]) if len(sys.argv) > 5 else 5
canon = Canonical(N, K, 128, False, 1)
ws = [lib.pack(FAST, canon)]
ws += [ws[0].clone() for _ in range(7)]  # rotate so the profiled launch reads from DRAM
x = torch.randn(M, K, dtype=torch.float16, device="cuda")
y = torch.empty(M, N, dtype=torch.float16, device="cuda")
for i in range(reps):
    assert lib.matmul(ws[i % len(ws)], x, y) == 0, lib.error()
torch.cuda.synchronize()
print("probe", K, N, M, lib.config())
