"""Locates a wrong wgmma kernel result: runs tiny cases (one 64-k chunk, then more) and prints which output rows
(mod 64) and tokens are off, so a fragment-layout or descriptor mistake shows its pattern in one device call.
Usage: python3 experiments/kernels/wgmma_diag.py BUILD_DIR/libw4a16_bench.so"""
import sys

import torch

from w4a16_lib import FAST, PATH_DIRECT, Canonical, W4Lib


def main():
    lib = W4Lib(sys.argv[1])
    torch.manual_seed(0)
    for (n, k, m, tn, wg) in ((64, 64, 16, 16, 1), (128, 64, 16, 16, 2), (128, 128, 8, 16, 2), (128, 256, 16, 16, 2),
                              (128, 512, 64, 64, 2), (256, 1024, 200, 256, 2)):
        canon = Canonical(n, k, 64 if k % 128 else 128, False, n + k)
        w = lib.pack(FAST, canon)
        x = torch.randn(m, k, dtype=torch.float16, device="cuda")
        ref = x.double() @ canon.dequant64().T
        y = torch.full((m, n), float("nan"), dtype=torch.float16, device="cuda")
        rc = lib.matmul(w, x, y, path=PATH_DIRECT, wgmma=wg, tokens=tn, split_k=1)
        torch.cuda.synchronize()
        if rc:
            print(f"n={n} k={k} m={m}: rc={rc} {lib.error()}")
            continue
        err = (y.double() - ref).abs()
        scale = ref.abs().mean().item()
        bad = err > 0.02 * scale + 1e-3
        rel = (torch.linalg.vector_norm(y.double() - ref) / torch.linalg.vector_norm(ref)).item()
        print(f"n={n} k={k} m={m} tn={tn} wg={wg} [{lib.config()}]: rel {rel:.2e}, bad {int(bad.sum())}/{bad.numel()}, "
              f"nan {int(torch.isnan(y).sum())}")
        if bad.any():
            print("  bad per token:", bad.sum(1).tolist()[:32])
            print("  bad per row%64:", bad.reshape(m, -1, 64).sum((0, 1)).tolist())
            # is y a permutation of ref? find for a few bad entries the closest ref entry
            for (t, r) in bad.nonzero().tolist()[:6]:
                v = y[t, r].double()
                d = (ref - v).abs()
                j = int(d.argmin())
                print(f"  y[{t},{r}]={v.item():.4f} ref={ref[t, r].item():.4f}; closest ref at token {j // n} row {j % n}"
                      f" ({ref.flatten()[j].item():.4f})")


if __name__ == "__main__":
    main()
