"""ctypes access to libw4a16_bench.so (kernels/cuda + kernels/cpu packers) for the check and benchmark
scripts: random canonical 4-bit weights, packing through the C++ packers, device upload, and calls."""
import ctypes
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

GEMM, GEMV, FAST = 0, 1, 2
LAYOUTS = {"gemm": GEMM, "gemv": GEMV, "fast": FAST}
PATH_AUTO, PATH_DIRECT, PATH_DEQUANT = 0, 1, 2
DTYPES = {torch.float16: 0, torch.bfloat16: 1}


def wgmma_shapes():
    """The wgmma kernels' block shapes [(tokens, warpgroups, tiles per warp, depth)], read from AWQ_WGMMA_SHAPES in
    kernels/cuda/w4a16_fast_wgmma.cuh and AWQ_WS_SHAPES in w4a16_fast_wgmma_ws.cuh (warpgroups 3: the
    warp-specialized kernel, 4: the same with A from registers, 5: tokens as M - the wgmma option that selects each; left out when
    W4_NO_WS is set) so the scripts cannot drift from the instances."""
    import re
    here = os.path.dirname(os.path.abspath(__file__))
    def shapes(name, macro, fields):
        text = open(os.path.join(here, "../../kernels/cuda", name)).read()
        block = text[text.index("#define " + macro):]
        block = block[:block.index("\n\n")]
        return [tuple(int(v) for v in t) for t in re.findall(r"X\(" + ", ".join([r"(\d+)"] * fields) + r"\)", block)]
    ws = [] if os.environ.get("W4_NO_WS") else shapes("w4a16_fast_wgmma_ws.cuh", "AWQ_WS_SHAPES", 4)
    return shapes("w4a16_fast_wgmma.cuh", "AWQ_WGMMA_SHAPES", 4) + [(tn, 3 + ra, wn, st) for (tn, wn, st, ra) in ws]


def wgmma_rows(wg, wn):
    """Rows per block of a wgmma shape (the warp-specialized kernel, wg = 3-5, has two consumer warpgroups)."""
    return 64 * (2 if wg >= 3 else wg) * wn


class W4Weight(ctypes.Structure):
    _fields_ = [("layout", ctypes.c_int), ("n", ctypes.c_int), ("k", ctypes.c_int), ("group", ctypes.c_int),
                ("qweight", ctypes.c_void_p), ("qzeros", ctypes.c_void_p), ("scales", ctypes.c_void_p),
                ("zeros_width", ctypes.c_int)]


class W4Options(ctypes.Structure):
    _fields_ = [("path", ctypes.c_int), ("split_k", ctypes.c_int), ("tokens", ctypes.c_int),
                ("stages", ctypes.c_int), ("warp_tiles", ctypes.c_int), ("pdl", ctypes.c_int),
                ("warps", ctypes.c_int), ("x_gated", ctypes.c_int), ("residual", ctypes.c_void_p),
                ("sumsq_out", ctypes.c_void_p), ("sumsq_in", ctypes.c_void_p), ("norm_weight", ctypes.c_void_p),
                ("norm_eps", ctypes.c_float), ("norm_on_output", ctypes.c_int), ("wgmma", ctypes.c_int),
                ("x_multicast", ctypes.c_int), ("dequant_rows", ctypes.c_int), ("x_pieces", ctypes.c_int)]


class Canonical:
    """W [n, k]: q uint8 [n, k], zeros uint8 [n, k/g], scales fp16 bits uint16 [n, k/g]."""

    def __init__(self, n, k, group, symmetric, seed):
        rng = np.random.default_rng(seed)
        self.n, self.k, self.group, self.symmetric = n, k, group, symmetric
        self.q = rng.integers(0, 16, size=(n, k), dtype=np.uint8)
        ng = k // group
        self.zeros = np.full((n, ng), 8, np.uint8) if symmetric else rng.integers(0, 16, (n, ng), dtype=np.uint8)
        self.scales = rng.uniform(2e-3, 2e-2, size=(n, ng)).astype(np.float16).view(np.uint16)

    def dequant64(self, device="cuda"):
        q = torch.from_numpy(self.q).to(device, torch.float64)
        z = torch.from_numpy(self.zeros).to(device, torch.float64).repeat_interleave(self.group, 1)
        s = torch.from_numpy(self.scales.view(np.float16)).to(device, torch.float64).repeat_interleave(self.group, 1)
        return (q - z) * s


class Packed:
    """One packed layout on the GPU plus its descriptor."""

    def __init__(self, lib, layout, canon):
        sizes = (ctypes.c_size_t * 3)()
        zw = ctypes.c_int()
        lib.check(lib.so.w4shim_sizes(layout, canon.n, canon.k, canon.group, int(canon.symmetric), sizes,
                                      ctypes.byref(zw)))
        bufs = [np.zeros(max(1, s), np.uint8) for s in sizes]
        ptr = lambda a: a.ctypes.data_as(ctypes.c_void_p)
        lib.check(lib.so.w4shim_pack(layout, canon.n, canon.k, canon.group, ptr(canon.q), ptr(canon.zeros),
                                     ptr(canon.scales), ptr(bufs[0]), ptr(bufs[1]), ptr(bufs[2])))
        self.layout, self.n, self.k, self.group, self.zeros_width = layout, canon.n, canon.k, canon.group, zw.value
        self.host = [b[:s] for b, s in zip(bufs, sizes)]
        self.sizes = list(sizes)
        self.upload()

    def upload(self):
        self.dev = [torch.from_numpy(h).cuda() if len(h) else None for h in self.host]
        self.desc = W4Weight(self.layout, self.n, self.k, self.group, self.dev[0].data_ptr(),
                             self.dev[1].data_ptr() if self.dev[1] is not None else None, self.dev[2].data_ptr(),
                             self.zeros_width)

    def clone(self):
        c = Packed.__new__(Packed)
        c.__dict__.update(self.__dict__)
        c.dev = [d.clone() if d is not None else None for d in self.dev]
        c.desc = W4Weight(self.layout, self.n, self.k, self.group, c.dev[0].data_ptr(),
                          c.dev[1].data_ptr() if c.dev[1] is not None else None, c.dev[2].data_ptr(), self.zeros_width)
        return c

    def nbytes(self):
        return sum(self.sizes)

    # AutoAWQ tensors (gemm layout only): qweight int32 [k, n/8], scales fp16 [k/g, n], qzeros int32 [k/g, n/8]
    def awq_tensors(self):
        assert self.layout == GEMM
        return (self.dev[0].view(torch.int32).view(self.k, self.n // 8),
                self.dev[2].view(torch.float16).view(self.k // self.group, self.n),
                self.dev[1].view(torch.int32).view(self.k // self.group, self.n // 8))


class W4Lib:
    def __init__(self, path):
        self.so = ctypes.CDLL(os.path.abspath(path))
        self.so.w4shim_error.restype = ctypes.c_char_p
        self.so.awq_w4a16_last_error.restype = ctypes.c_char_p
        self.so.awq_w4a16_last_config.restype = ctypes.c_char_p
        self.so.awq_w4a16_workspace_bytes.restype = ctypes.c_size_t
        self.so.awq_w4a16_workspace_bytes.argtypes = [ctypes.c_int, ctypes.c_int]
        self.so.awq_w4a16_matmul.argtypes = [ctypes.POINTER(W4Weight), ctypes.c_void_p, ctypes.c_int, ctypes.c_int,
                                             ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p,
                                             ctypes.POINTER(W4Options)]
        self.so.awq_w4a16_dequantize.argtypes = [ctypes.POINTER(W4Weight), ctypes.c_int, ctypes.c_void_p,
                                                 ctypes.c_void_p]
        self.so.w4shim_reference.argtypes = [ctypes.c_int] * 3 + [ctypes.c_void_p] * 4 + [ctypes.c_int,
                                                                                             ctypes.c_void_p]
        self.ws = None

    def check(self, rc):
        if rc != 0:
            raise RuntimeError(self.so.w4shim_error().decode())

    def workspace(self, n, k):
        need = self.so.awq_w4a16_workspace_bytes(n, k)
        if self.ws is None or self.ws.numel() < need:
            self.ws = torch.zeros(need, dtype=torch.uint8, device="cuda")
        return self.ws

    def pack(self, layout, canon):
        return Packed(self, layout, canon)

    def pack_many(self, jobs):
        """[(layout, canon)] -> [Packed]; the C++ packers run in parallel threads (ctypes drops the GIL)."""
        with ThreadPoolExecutor(max_workers=min(16, os.cpu_count() or 4)) as ex:
            return list(ex.map(lambda j: self.pack(*j), jobs))

    def matmul(self, w, x, y, path=PATH_AUTO, split_k=0, tokens=0, stages=0, warp_tiles=0, pdl=0, ws=True, warps=0,
               x_gated=0, residual=None, sumsq_out=None, sumsq_in=None, norm_weight=None, norm_eps=0.0,
               norm_on_output=0, wgmma=0, x_multicast=0, dequant_rows=0, x_pieces=0, ws_bytes=None):
        """residual / sumsq_out / sumsq_in / norm_weight: torch tensors for the residual + RMSNorm fold (w4a16.h).
        ws_bytes: tell the call its workspace has only this many bytes (default: awq_w4a16_workspace_bytes)."""
        ptr = lambda t: t.data_ptr() if t is not None else None
        opt = W4Options(path, split_k, tokens, stages, warp_tiles, pdl, warps, x_gated, ptr(residual), ptr(sumsq_out),
                        ptr(sumsq_in), ptr(norm_weight), norm_eps, norm_on_output, wgmma, x_multicast, dequant_rows,
                        x_pieces)
        wsb = self.workspace(w.n, w.k) if ws else None
        rc = self.so.awq_w4a16_matmul(ctypes.byref(w.desc), x.data_ptr(), x.shape[0], DTYPES[x.dtype], y.data_ptr(),
                                      wsb.data_ptr() if ws else None,
                                      (wsb.numel() if ws_bytes is None else ws_bytes) if ws else 0,
                                      torch.cuda.current_stream().cuda_stream, ctypes.byref(opt))
        return rc

    def stream_read(self, t, out):
        return self.so.bench_stream_read(ctypes.c_void_p(t.data_ptr()), ctypes.c_size_t(t.numel() * t.element_size()),
                                         ctypes.c_void_p(out.data_ptr()),
                                         ctypes.c_void_p(torch.cuda.current_stream().cuda_stream))

    def pattern_read(self, w, out, warps, tpw, depth):
        """The decode kernel's access pattern over packed fast weight `w`, without its arithmetic."""
        return self.so.bench_pattern_read(ctypes.c_void_p(w.dev[0].data_ptr()), ctypes.c_void_p(w.dev[2].data_ptr()),
                                          w.n, w.k, warps, tpw, depth, ctypes.c_void_p(out.data_ptr()),
                                          ctypes.c_void_p(torch.cuda.current_stream().cuda_stream))

    def empty(self):
        return self.so.bench_empty(ctypes.c_void_p(torch.cuda.current_stream().cuda_stream))

    def error(self):
        return self.so.awq_w4a16_last_error().decode()

    def config(self):
        return self.so.awq_w4a16_last_config().decode()

    def reference_cpu(self, canon, x):
        xf = np.ascontiguousarray(x.float().cpu().numpy())
        y = np.zeros((x.shape[0], canon.n), np.float32)
        ptr = lambda a: a.ctypes.data_as(ctypes.c_void_p)
        self.check(self.so.w4shim_reference(canon.n, canon.k, canon.group, ptr(canon.q), ptr(canon.zeros),
                                            ptr(canon.scales), ptr(xf), x.shape[0], ptr(y)))
        return torch.from_numpy(y)


def load_autoawq_triton(tarball=os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../.whl/autoawq-0.2.9.tar.gz")):
    """AutoAWQ's Triton GEMM/dequantize (awq/modules/triton/gemm.py from the PyPI sdist), imported by path so
    that the package's own __init__ (which needs transformers etc.) is not run. None if unavailable."""
    import importlib.util
    import tarfile
    dst = "/tmp/autoawq_src"
    member = "autoawq-0.2.9/awq/modules/triton/gemm.py"
    try:
        if not os.path.exists(os.path.join(dst, member)):
            with tarfile.open(tarball) as tf:
                tf.extract(member, dst)
        spec = importlib.util.spec_from_file_location("awq_triton_gemm", os.path.join(dst, member))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return mod
    except Exception as e:  # noqa: BLE001 - report and go on without the peer
        print(f"AutoAWQ Triton unavailable: {e}")
        return None
