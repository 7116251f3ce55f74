#!/usr/bin/env python3
"""Checks a Hugging Face folder made by AWQ Lab's GGUF converter against the reference `gguf` package.

  check_gguf_conversion.py GGUF HF_DIR            every tensor of HF_DIR/model.safetensors must equal, bit for
                                                  bit, gguf.quants.dequantize + the inverse of llama.cpp's q/k
                                                  permutation, cast to config.json's torch_dtype (numpy for
                                                  float16, torch for bfloat16); config.json must match metadata
  check_gguf_conversion.py GGUF HF_DIR --logits   also: transformers on HF_DIR and llama.cpp (llama-cpp-python)
                                                  on GGUF must predict the same next tokens for a fixed text

Prints one JSON line with the findings; exit status 0 when everything matches.
"""
import json
import pathlib
import sys

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from make_gguf_golden import hf_tensors  # noqa: E402

TEXT = ("The quick brown fox jumps over the lazy dog. Paris is the capital of France, and Berlin is the "
        "capital of Germany. Water boils at one hundred degrees Celsius at sea level.")


def cast_bits(x, dtype):
    if dtype == "float32":
        return x.astype(np.float32).view(np.uint32)
    if dtype == "float16":
        return x.astype(np.float16).view(np.uint16)
    import torch
    return torch.from_numpy(np.ascontiguousarray(x)).to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)


def check_weights(gguf_path, hf_dir, report):
    import gguf
    cfg = json.load(open(hf_dir / "config.json"))
    dtype = cfg["torch_dtype"]
    f = gguf.GGUFReader(str(gguf_path)).fields
    arch = f["general.architecture"].contents()
    want = {"hidden_size": f"{arch}.embedding_length", "intermediate_size": f"{arch}.feed_forward_length",
            "num_hidden_layers": f"{arch}.block_count", "num_attention_heads": f"{arch}.attention.head_count",
            "num_key_value_heads": f"{arch}.attention.head_count_kv", "rope_theta": f"{arch}.rope.freq_base",
            "rms_norm_eps": f"{arch}.attention.layer_norm_rms_epsilon",
            "max_position_embeddings": f"{arch}.context_length"}
    bad_cfg = {k: (cfg.get(k), f[m].contents()) for k, m in want.items()
               if m in f and not np.isclose(cfg.get(k, np.nan), f[m].contents(), rtol=1e-6)}
    report["config_mismatches"] = bad_cfg
    import torch
    from safetensors.torch import load_file
    st = load_file(str(hf_dir / "model.safetensors"))  # torch: numpy has no bfloat16
    mismatched, checked, seen = [], 0, set()
    for t, name, x in hf_tensors(gguf_path):
        seen.add(name)
        if name not in st:
            mismatched.append(f"{name}: missing")
            continue
        got = st[name]
        got = got.view(torch.int16 if got.element_size() == 2 else torch.int32).numpy()
        got = got.view(np.uint16 if got.itemsize == 2 else np.uint32)
        exp = cast_bits(x, dtype)
        if list(got.shape) != list(x.shape) or not np.array_equal(got.reshape(-1), exp.reshape(-1)):
            mismatched.append(f"{name}: values differ ({t.tensor_type.name})")
        checked += 1
    extra = sorted(set(st) - seen)
    report.update(dtype=dtype, tensors_checked=checked, tensor_mismatches=mismatched, extra_tensors=extra,
                  tie_word_embeddings=cfg.get("tie_word_embeddings"))
    return not mismatched and not extra and not bad_cfg and checked > 0


def plain_cpu_buffers():
    """llama.cpp's reference logits from its plain CPU kernels: no weight repacking into "extra" buffer types. On
    CPUs with AMX, llama-cpp-python 0.3.35-0.3.36 (built natively by pip) repacks Q4_1 weights for its AMX matmul,
    which crashed with SIGSEGV in ggml_backend_amx_mul_mat on a development machine with AMX (amx_tile, amx_int8)
    (2026-12-07); the plain kernels compute the same model."""
    import llama_cpp.llama_cpp as lc
    default = lc.llama_model_default_params
    if getattr(default, "_awq_plain", False) or "use_extra_bufts" not in dict(lc.llama_model_params._fields_):
        return

    def params():
        p = default()
        p.use_extra_bufts = False
        return p
    params._awq_plain = True
    lc.llama_model_default_params = params


def check_logits(gguf_path, hf_dir, report):
    import torch
    plain_cpu_buffers()
    from llama_cpp import Llama
    from transformers import AutoModelForCausalLM
    llm = Llama(model_path=str(gguf_path), n_ctx=256, logits_all=True, verbose=False, n_threads=2)
    ids = llm.tokenize(TEXT.encode(), add_bos=False)
    llm.eval(ids)
    ref = np.array(llm.scores[: len(ids)], dtype=np.float32)
    model = AutoModelForCausalLM.from_pretrained(str(hf_dir), dtype=torch.float32)
    with torch.no_grad():
        got = model(torch.tensor([ids])).logits[0].float().numpy()
    top_ref, top_got = ref.argmax(-1), got.argmax(-1)
    agree = float((top_ref == top_got).mean())
    # correlation of the logit vectors per position: wrong q/k layouts scramble attention and drop this far
    corr = float(np.mean([np.corrcoef(ref[i], got[i])[0, 1] for i in range(len(ids))]))
    nll = float(-torch.log_softmax(torch.from_numpy(got[:-1]), -1)[torch.arange(len(ids) - 1), torch.tensor(ids[1:])].mean())
    report.update(n_tokens=len(ids), top1_agreement=agree, mean_logit_correlation=corr, hf_mean_nll=nll,
                  max_abs_logit_diff=float(np.abs(ref - got).max()))
    return agree >= 0.9 and corr >= 0.99


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    gguf_path, hf_dir = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    report = {}
    ok = check_weights(gguf_path, hf_dir, report)
    if "--logits" in sys.argv[3:]:
        ok = check_logits(gguf_path, hf_dir, report) and ok
    report["ok"] = ok
    print(json.dumps(report))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
