"""Times one layer's decode attention on the GPU (kernels/cuda/decode_attention.cu, decode_rope_cache.cu): the
rotary + KV-write kernel followed by the attention kernel, against the attention kernel with both folded in
(awq_decode_rope_attention), and the attention kernel alone. Each call reads a different layer's KV cache
(32 copies, so the reads come from DRAM as in a decode step); CUDA-graph timed, median microseconds per call.
Usage: python3 experiments/kernels/decode_attention_bench.py BUILD_DIR/libw4a16_bench.so [OUT.json]
       (also writes OUT.md); python3 experiments/kernels/decode_attention_bench.py --table OUT.json (the table again)"""
import ctypes
import json
import math
import sys


LAYERS = 32
P = ctypes.c_void_p
I = ctypes.c_int


def markdown(result):
    """The readable table of a result file."""
    lines = [f"# Decode attention, one layer ({result['device']})", "",
             "Median microseconds per call, CUDA-graph timed, K/V of 32 layer caches rotated (read from DRAM), fp16. "
             "`rope then attention`: awq_rope_kv_write + awq_decode_attention; `fused`: awq_decode_rope_attention; "
             "`attention only`: awq_decode_attention alone (its q already rotated). PDL = programmatic dependent launch.",
             "", "| shape | batch | q/kv heads | head_dim | capacity | position | rope then attention | fused | attention only "
             "| rope then attention (PDL) | fused (PDL) | attention only (PDL) |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in result["records"]:
        cells = [r["shape"], r["batch"], f"{r['q_heads']}/{r['kv_heads']}", r["head_dim"], r["capacity"], r["position"]]
        cells += [f"{r[f'{k}_pdl{p}_us']:.2f}" for p in (0, 1) for k in ("rope_then_attention", "rope_attention", "attention_only")]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def main():
    if sys.argv[1] == "--table":
        with open(sys.argv[2]) as f:
            sys.stdout.write(markdown(json.load(f)))
        return
    import torch
    from w4a16_bench import time_median
    so = ctypes.CDLL(sys.argv[1])
    so.awq_decode_last_error.restype = ctypes.c_char_p
    so.awq_decode_attention_scratch_floats.restype = ctypes.c_size_t
    so.awq_decode_attention_scratch_floats.argtypes = [I, I, I, I]
    so.awq_rope_kv_write.argtypes = [I, P, I, P, I, P, I, P, P, P, P, P, P, I, I, I, I, I, I, P]
    so.awq_decode_attention.argtypes = [I, P, P, P, P, P, P, I, I, I, I, I, ctypes.c_float, I, P, P]
    so.awq_decode_rope_attention.argtypes = [I, P, I, P, I, P, I, P, P, P, P, P, P, P, I, I, I, I, I,
                                             ctypes.c_float, I, P, P]  # ..., pdl, prefetch, stream
    records = []
    shapes = [("llama2-7b", 32, 32, 128), ("llama3-8b", 32, 8, 128), ("smollm2-135m", 9, 3, 64)]
    for name, nh, nkv, hd in shapes:
        for B, cap, pos in ((1, 256, 128), (1, 256, 192), (1, 256, 255), (8, 256, 192), (1, 1024, 700)):
            dt = torch.float16
            qkv = torch.randn(B, (nh + 2 * nkv) * hd, dtype=dt, device="cuda")
            stride = qkv.shape[1]
            q, k, v = qkv[:, : nh * hd], qkv[:, nh * hd: (nh + nkv) * hd], qkv[:, (nh + nkv) * hd:]
            caches = [(torch.randn(B, nkv, cap, hd, dtype=dt, device="cuda"),
                       torch.randn(B, nkv, cap, hd, dtype=dt, device="cuda")) for _ in range(LAYERS)]
            ang = torch.arange(cap, device="cuda")[:, None] * torch.rand(hd, device="cuda")[None, :]
            cos, sin = ang.cos().to(dt), ang.sin().to(dt)
            position = torch.tensor([pos], dtype=torch.int64, device="cuda")
            q_rot = torch.empty(B, nh, hd, dtype=dt, device="cuda")
            out = torch.empty(B, nh * hd, dtype=dt, device="cuda")
            nscr = so.awq_decode_attention_scratch_floats(B, nh, hd, cap)
            scratch = torch.empty(max(1, nscr), dtype=torch.float32, device="cuda")
            scale = 1.0 / math.sqrt(hd)

            def check(rc):
                if rc != 0:
                    raise RuntimeError(so.awq_decode_last_error().decode())

            def rope(i, pdl):
                kc, vc = caches[i % LAYERS]
                st = torch.cuda.current_stream().cuda_stream
                check(so.awq_rope_kv_write(0, q.data_ptr(), stride, k.data_ptr(), stride, v.data_ptr(), stride,
                                           cos.data_ptr(), sin.data_ptr(), position.data_ptr(), q_rot.data_ptr(),
                                           kc.data_ptr(), vc.data_ptr(), B, nh, nkv, hd, cap, pdl, st))

            def attention(i, pdl):
                kc, vc = caches[i % LAYERS]
                st = torch.cuda.current_stream().cuda_stream
                check(so.awq_decode_attention(0, q_rot.data_ptr(), kc.data_ptr(), vc.data_ptr(), position.data_ptr(),
                                              out.data_ptr(), scratch.data_ptr(), B, nh, nkv, hd, cap, scale, pdl, None, st))

            def fused(i, pdl):
                kc, vc = caches[i % LAYERS]
                st = torch.cuda.current_stream().cuda_stream
                check(so.awq_decode_rope_attention(0, q.data_ptr(), stride, k.data_ptr(), stride, v.data_ptr(), stride,
                                                   cos.data_ptr(), sin.data_ptr(), position.data_ptr(),
                                                   kc.data_ptr(), vc.data_ptr(), out.data_ptr(), scratch.data_ptr(),
                                                   B, nh, nkv, hd, cap, scale, pdl, None, st))

            row = dict(shape=name, batch=B, q_heads=nh, kv_heads=nkv, head_dim=hd, capacity=cap, position=pos)
            for pdl in (0, 1):
                row[f"rope_then_attention_pdl{pdl}_us"] = time_median(lambda i: (rope(i, pdl), attention(i, pdl)), LAYERS, True)
                row[f"rope_attention_pdl{pdl}_us"] = time_median(lambda i: fused(i, pdl), LAYERS, True)
                row[f"attention_only_pdl{pdl}_us"] = time_median(lambda i: attention(i, pdl), LAYERS, True)
            records.append(row)
            print(" ".join(f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()), flush=True)
    if len(sys.argv) > 2:
        result = dict(device=torch.cuda.get_device_name(), records=records)
        with open(sys.argv[2], "w") as f:
            json.dump(result, f, indent=1)
        with open(sys.argv[2].rsplit(".", 1)[0] + ".md", "w") as f:
            f.write(markdown(result))


if __name__ == "__main__":
    main()
