#!/usr/bin/env python3
"""Interoperability of our AWQ checkpoints with AutoAWQ (PyPI autoawq 0.2.9) and transformers.

  autoawq_interop.py setup --venv DIR
      (run with the project's Python) makes a scratch venv that sees the project's packages (torch,
      transformers, safetensors) and pip-installs autoawq==0.2.9 into it without dependencies. Exit 3 when
      the package registry cannot be reached (the caller skips), 1 on other failures.
  autoawq_interop.py check-export --export DIR --ours FILE --out FILE.json
      (run with the scratch venv's Python) checks an export of ours with AutoAWQ's own code:
        - gemm: awq.utils.packing_utils.unpack_awq + reverse_awq_order give our integers, dequantize_gemm
          gives our dequantized weights bit for bit (fp16 as AutoAWQ computes it, and fp32);
        - gemm and gemv: WQLinear_GEMM/GEMV.from_linear (AutoAWQ's packers) fed our integers produce our
          qweight/qzeros/scales/bias bit for bit (AutoAWQ has no Python dequantizer for gemv);
        - transformers reads config.json's quantization_config into an AwqConfig with our values;
        - transformers' Llama/Qwen2/Mistral modelling code with the export's tensors (quantized linears
          dequantized by AutoAWQ's dequantize_gemm, or, for gemv, from the integers verified above) gives our
          engine's logits;
        - transformers' own AWQ loading when the installed version can do it on this machine (else the reason).
      FILE (written by tests/engine/awq_interop_test.cpp) holds, per quantized linear M, M.q (u8 [out, in]),
      M.zeros (u8 [out, groups]), M.scales (f16 [out, groups]), M.dense (f32 [out, in], our dequantized weight
      as the engine computes it after re-importing the export), plus ids (i64) and logits (f32) of the engine.
  autoawq_interop.py make-checkpoint --model DIR --version gemm|gemv --group G --out DIR --reference FILE
      (scratch venv) an AWQ checkpoint made the way AutoAWQ makes one: round-to-nearest integers (AutoAWQ's
      pseudo_quantize_tensor formula, fp16 scales), packed by AutoAWQ's WQLinear_*.from_linear, float tensors
      in fp16, config.json with AutoAWQ's quantization_config. FILE gets, per linear M, M.dense (f32, AutoAWQ's
      dequantize_gemm of the same integers) and ids/logits from transformers' modelling code with those weights.
"""
import argparse
import importlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import types

AUTOAWQ_VERSION = "0.2.9"
STAMP = ".autoawq-ready"


# ---------------------------------------------------------------------------------------------- setup
def cmd_setup(a):
    venv = os.path.abspath(a.venv)
    if os.path.exists(os.path.join(venv, STAMP)):
        return 0
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.check_call([sys.executable, "-m", "venv", "--system-site-packages", venv])
    vpy = os.path.join(venv, "bin", "python")
    # --system-site-packages exposes the base interpreter's packages, not this (project) venv's: a .pth file
    # adds the project's site-packages after the scratch venv's own, so torch/transformers come from there
    # and autoawq only lives in the scratch venv.
    purelib = subprocess.check_output([vpy, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                      text=True).strip()
    with open(os.path.join(purelib, "_awqlab_project_venv.pth"), "w") as f:
        f.write(sysconfig.get_paths()["purelib"] + "\n")
    r = subprocess.run([vpy, "-m", "pip", "install", "--disable-pip-version-check", "--no-deps",
                        f"autoawq=={AUTOAWQ_VERSION}"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        out = (r.stdout + r.stderr).strip()
        network = any(s in out for s in ("No matching distribution", "Could not find a version", "ConnectionError",
                                         "Failed to establish", "Temporary failure in name resolution",
                                         "Network is unreachable", "Max retries exceeded", "ProxyError"))
        print(f"pip install autoawq=={AUTOAWQ_VERSION} failed:\n" + "\n".join(out.splitlines()[-8:]))
        return 3 if network else 1
    r = subprocess.run([vpy, "-c", "import importlib.metadata as m; print(m.version('autoawq'))"],
                       capture_output=True, text=True)
    if r.returncode != 0 or r.stdout.strip() != AUTOAWQ_VERSION:
        print("autoawq not importable after install:", r.stdout, r.stderr)
        return 1
    open(os.path.join(venv, STAMP), "w").close()
    return 0


# ------------------------------------------------------------------------------------- AutoAWQ access
def import_autoawq():
    """AutoAWQ's packing and linear-module files, without running awq/__init__.py (it imports the whole
    quantization stack: datasets, accelerate, CUDA extension probing). The packages on the way are made
    as plain namespace modules pointing at the installed sources."""
    import torch  # noqa: F401  (before AutoAWQ, which assumes it)
    spec = importlib.util.find_spec("awq")
    if spec is None or spec.origin is None:
        raise SystemExit("autoawq is not installed in this interpreter")
    root = os.path.dirname(spec.origin)
    for pkg in ("awq", "awq.utils", "awq.modules", "awq.modules.linear"):
        m = types.ModuleType(pkg)
        m.__path__ = [os.path.join(root, *pkg.split(".")[1:])]
        sys.modules[pkg] = m
    # awq/utils/utils.py imports accelerate at module level; the function the linear modules use from it
    # (get_best_device) does not touch it. A placeholder stands in while AutoAWQ's files are imported and is
    # removed afterwards, so that transformers still sees accelerate as absent.
    placeholder = importlib.util.find_spec("accelerate") is None
    if placeholder:
        sys.modules["accelerate"] = types.ModuleType("accelerate")
    try:
        packing = importlib.import_module("awq.utils.packing_utils")
        gemm = importlib.import_module("awq.modules.linear.gemm")
        gemv = importlib.import_module("awq.modules.linear.gemv")
    finally:
        if placeholder:
            del sys.modules["accelerate"]
    import importlib.metadata as md
    return packing, gemm.WQLinear_GEMM, gemv.WQLinear_GEMV, md.version("autoawq")


def quantized_modules(names):
    return sorted({n[: -len(".qweight")] for n in names if n.endswith(".qweight")})


def group_for(qc, in_features):
    g = qc["group_size"]
    return in_features if g == -1 else g


def linear_from(weight, bias):
    import torch
    lin = torch.nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None)
    with torch.no_grad():
        lin.weight.copy_(weight)
        if bias is not None:
            lin.bias.copy_(bias.float())
    return lin


def autoawq_pack(WQ, version, q, zeros, scales, bias, group):
    """AutoAWQ's own packer (WQLinear_*.from_linear) on integers q [out, in], zeros/scales [out, groups]:
    it recovers the integers as round((w + z*s) / s) from w = (q - z) * s, exact in fp32 for 4-bit values
    and fp16 scales."""
    import torch
    s = scales.float()
    z = zeros.float()
    w = (q.float() - z.repeat_interleave(group, dim=1)) * s.repeat_interleave(group, dim=1)
    lin = linear_from(w, bias)
    if version == "gemm":
        return WQ.from_linear(lin, 4, group, init_only=False, scales=s.t().contiguous(), zeros=z.t().contiguous())
    return WQ.from_linear(lin, 4, group, init_only=False, scales=s, zeros=z)


def same(a, b):
    import torch
    return a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b)


# ------------------------------------------------------------------------------ transformers modelling
def reference_logits(config_dict, tensors, dense, ids):
    """Logits of transformers' modelling code (fp32, eager attention) with `tensors` for everything but the
    quantized linears, whose weights come from `dense` (module -> [out, in] fp32)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM
    cfg = dict(config_dict)
    for k in ("quantization_config", "torch_dtype", "dtype"):
        cfg.pop(k, None)
    config = AutoConfig.for_model(cfg.pop("model_type"), **cfg)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32, attn_implementation="eager")
    sd = {}
    for k, v in tensors.items():
        if k.endswith((".qweight", ".qzeros", ".scales")):
            continue
        sd[k] = v.float()
    for m, w in dense.items():
        sd[m + ".weight"] = w.float()
    if "lm_head.weight" not in sd:
        sd["lm_head.weight"] = sd["model.embed_tokens.weight"]
    missing, unexpected = model.load_state_dict(sd, strict=False)
    missing = [k for k in missing if "rotary" not in k]
    if missing or unexpected:
        raise SystemExit(f"state dict mismatch: missing {missing[:5]}, unexpected {unexpected[:5]}")
    model.eval()
    with torch.inference_mode():
        return model(ids).logits.float()


def transformers_native_load(export_dir, ids, ours_logits):
    """transformers' own AWQ path, when it can run here."""
    import transformers
    from transformers.utils import import_utils as iu
    missing = [name for name, ok in (("gptqmodel", iu.is_gptqmodel_available()),
                                     ("accelerate", iu.is_accelerate_available())) if not ok]
    if missing:
        import torch
        return {"ran": False,
                "reason": f"transformers {transformers.__version__} loads AWQ checkpoints only through "
                          f"{' and '.join(missing)} (AwqQuantizer.validate_environment), not installed here "
                          f"(gptqmodel 7.7.0, the PyPI release when this test was written, requires torch>=2.14.1; "
                          f"this environment has torch {torch.__version__})"}
    import torch
    from transformers import AutoModelForCausalLM
    try:
        model = AutoModelForCausalLM.from_pretrained(export_dir, device_map="cpu", dtype=torch.float16)
        with torch.inference_mode():
            logits = model(ids).logits.float()
        return {"ran": True, "max_abs_logit_diff": float((logits - ours_logits).abs().max())}
    except Exception as e:  # report, do not hide: the C++ test prints it
        return {"ran": False, "reason": f"transformers could not load the export on the CPU: {type(e).__name__}: {e}"}


# ------------------------------------------------------------------------------------------ commands
def cmd_check_export(a):
    import torch
    from safetensors.torch import load_file
    packing, GEMM, GEMV, awq_version = import_autoawq()
    config = json.load(open(os.path.join(a.export, "config.json")))
    qc = config["quantization_config"]
    version = qc["version"]
    tensors = load_file(os.path.join(a.export, "model.safetensors"))
    ours = load_file(a.ours)
    res = {"autoawq_version": awq_version, "version": version, "modules": 0, "unpack_exact": 0, "dequant_exact": 0,
           "repack_exact": 0, "mismatches": []}
    dense = {}
    for m in quantized_modules(tensors):
        res["modules"] += 1
        q, z, s, d = ours[m + ".q"], ours[m + ".zeros"], ours[m + ".scales"], ours[m + ".dense"]
        out_f, in_f = q.shape
        group = group_for(qc, in_f)
        qweight, qzeros, scales = tensors[m + ".qweight"], tensors[m + ".qzeros"], tensors[m + ".scales"]
        bias = tensors.get(m + ".bias")
        if version == "gemm":
            iw, iz = packing.unpack_awq(qweight, qzeros, 4)
            iw, iz = packing.reverse_awq_order(iw, iz, 4)
            iw, iz = torch.bitwise_and(iw, 15), torch.bitwise_and(iz, 15)
            if torch.equal(iw.t().to(torch.uint8), q) and torch.equal(iz.t().to(torch.uint8), z):
                res["unpack_exact"] += 1
            else:
                res["mismatches"].append(f"{m}: unpack_awq/reverse_awq_order integers differ")
            w16 = packing.dequantize_gemm(qweight, qzeros, scales, 4, group)          # AutoAWQ's fp16 path
            w32 = packing.dequantize_gemm(qweight, qzeros, scales.float(), 4, group)  # same, fp32 scales
            if same(w16.t(), d.half()) and same(w32.t().contiguous(), d):
                res["dequant_exact"] += 1
            else:
                res["mismatches"].append(f"{m}: dequantize_gemm differs (max fp32 diff "
                                         f"{float((w32.t() - d).abs().max()):.3g})")
            dense[m] = w32.t().contiguous()
        else:
            dense[m] = d
        lin = autoawq_pack(GEMM if version == "gemm" else GEMV, version, q, z, s, bias, group)
        ok = same(lin.qweight, qweight) and same(lin.qzeros, qzeros) and same(lin.scales, scales)
        if bias is not None:
            ok = ok and same(lin.bias, bias)
        if ok:
            res["repack_exact"] += 1
        else:
            res["mismatches"].append(f"{m}: AutoAWQ's {version} packer gives other tensors")

    from transformers import AwqConfig, AutoConfig
    cfg = AutoConfig.from_pretrained(a.export)
    tq = cfg.quantization_config
    tq = tq if isinstance(tq, dict) else tq.to_dict()
    awq_cfg = AwqConfig.from_dict(dict(tq))
    fmt = getattr(awq_cfg, "format", "")
    fmt = str(getattr(fmt, "value", fmt))
    res["transformers_config"] = {"bits": awq_cfg.bits, "group_size": awq_cfg.group_size,
                                  "zero_point": awq_cfg.zero_point, "format": fmt,
                                  "modules_to_not_convert": awq_cfg.modules_to_not_convert}
    res["transformers_config_ok"] = (awq_cfg.bits == 4 and awq_cfg.group_size == qc["group_size"]
                                     and awq_cfg.zero_point == qc["zero_point"] and fmt == version)

    ids, ours_logits = ours["ids"], ours["logits"]
    logits = reference_logits(config, tensors, dense, ids)
    res["e2e_max_abs_logit_diff"] = float((logits - ours_logits).abs().max())
    res["e2e_weights"] = "AutoAWQ dequantize_gemm" if version == "gemm" else "integers verified by AutoAWQ's gemv packer"
    res["transformers_load"] = transformers_native_load(a.export, ids, ours_logits)
    json.dump(res, open(a.out, "w"), indent=2)
    print(json.dumps({k: v for k, v in res.items() if k != "mismatches"}, indent=1))
    return 0


def rtn_fp16(w, group):
    """Round-to-nearest, AutoAWQ's pseudo_quantize_tensor formula (zero point), with the scales rounded to
    fp16 before the integers are computed (AutoAWQ quantizes an fp16 model). Returns q, zeros, scales."""
    import torch
    out_f, in_f = w.shape
    x = w.double().reshape(-1, group)
    mx, mn = x.amax(dim=1, keepdim=True), x.amin(dim=1, keepdim=True)
    s = ((mx - mn).clamp(min=1e-5) / 15).half().double()
    z = (-torch.round(mn / s)).clamp(0, 15)
    q = (torch.round(x / s) + z).clamp(0, 15)
    return (q.reshape(out_f, in_f).to(torch.uint8), z.reshape(out_f, -1).to(torch.uint8),
            s.reshape(out_f, -1).half())


def probe_ids():
    import torch
    return torch.tensor([[(t * 37 + b * 101 + 11) % 512 for t in range(13)] for b in range(2)])


def cmd_make_checkpoint(a):
    import torch
    from safetensors.torch import save_file
    from transformers import AutoModelForCausalLM
    packing, GEMM, GEMV, awq_version = import_autoawq()
    model = AutoModelForCausalLM.from_pretrained(a.model, dtype=torch.float32)
    tied = bool(model.config.tie_word_embeddings)
    sd = {k: v.detach().clone() for k, v in model.state_dict().items()}
    out_sd, ref = {}, {}
    linears = [n for n, mod in model.named_modules() if isinstance(mod, torch.nn.Linear) and n != "lm_head"]
    for m in linears:
        w = sd[m + ".weight"].half().float()
        bias = sd.get(m + ".bias")
        group = w.shape[1] if a.group == -1 else a.group
        q, z, s = rtn_fp16(w, group)
        lin_gemm = autoawq_pack(GEMM, "gemm", q, z, s, bias, group)
        lin = lin_gemm if a.version == "gemm" else autoawq_pack(GEMV, "gemv", q, z, s, bias, group)
        out_sd[m + ".qweight"] = lin.qweight.contiguous()
        out_sd[m + ".qzeros"] = lin.qzeros.contiguous()
        out_sd[m + ".scales"] = lin.scales.contiguous()
        if bias is not None:
            out_sd[m + ".bias"] = lin.bias.contiguous()
        # AutoAWQ's dequantization of the same integers (its gemm path; it has none for gemv).
        ref[m + ".dense"] = packing.dequantize_gemm(lin_gemm.qweight, lin_gemm.qzeros, lin_gemm.scales.float(),
                                                    4, group).t().contiguous()
    done = {m + suffix for m in linears for suffix in (".weight", ".bias")}
    for k, v in sd.items():
        if k in done or (tied and k == "lm_head.weight"):
            continue
        out_sd[k] = v.half().contiguous()
    os.makedirs(a.out, exist_ok=True)
    save_file(out_sd, os.path.join(a.out, "model.safetensors"), metadata={"format": "pt"})
    config = model.config.to_dict()
    config["torch_dtype"] = "float16"
    config.pop("dtype", None)
    # What AutoAWQ's save_quantized writes (AwqConfig.to_transformers_dict()).
    config["quantization_config"] = {"quant_method": "awq", "zero_point": True, "group_size": a.group, "bits": 4,
                                     "version": a.version, "modules_to_not_convert": None}
    json.dump(config, open(os.path.join(a.out, "config.json"), "w"), indent=2)
    for f in ("tokenizer.json", "tokenizer_config.json", "generation_config.json"):
        if os.path.exists(os.path.join(a.model, f)):
            shutil.copy(os.path.join(a.model, f), os.path.join(a.out, f))
    tensors = {k: v for k, v in out_sd.items()}
    ids = probe_ids()
    dense = {k[: -len(".dense")]: v for k, v in ref.items()}
    ref["logits"] = reference_logits(config, tensors, dense, ids).contiguous()
    ref["ids"] = ids
    save_file(ref, a.reference)
    print(json.dumps({"autoawq_version": awq_version, "version": a.version, "group": a.group,
                      "linears": len(linears)}))
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("setup"); p.add_argument("--venv", required=True)
    p = sub.add_parser("check-export"); p.add_argument("--export", required=True); p.add_argument("--ours", required=True)
    p.add_argument("--out", required=True)
    p = sub.add_parser("make-checkpoint"); p.add_argument("--model", required=True)
    p.add_argument("--version", choices=["gemm", "gemv"], required=True); p.add_argument("--group", type=int, required=True)
    p.add_argument("--out", required=True); p.add_argument("--reference", required=True)
    a = ap.parse_args()
    sys.exit({"setup": cmd_setup, "check-export": cmd_check_export, "make-checkpoint": cmd_make_checkpoint}[a.cmd](a))


if __name__ == "__main__":
    main()
