#!/usr/bin/env python3
"""Golden files for the torch-free safetensors reader and Hugging Face folder reader.

Writes tests/data/safetensors/:
  numpy_dtypes.safetensors   every dtype numpy has, written by safetensors.numpy (incl. scalar, empty,
                             fp16 specials), with __metadata__
  torch_dtypes.safetensors   BF16 / F8_E4M3 / F8_E5M2 (no numpy dtype), written by safetensors.torch
  tiny_llama_sharded/        LlamaForCausalLM saved by transformers save_pretrained in 2 shards + index,
                             with a generation_config.json
  tiny_qwen2/                Qwen2ForCausalLM (q/k/v biases, tied embeddings), bf16, one model.safetensors
  tiny_llama_awq/            a folder in the AutoAWQ GEMM layout (qweight/qzeros/scales, config with
                             quantization_config). AutoAWQ itself is not installable here, so the tensors are
                             random with the shapes/dtypes AutoAWQ's WQLinear_GEMM registers.
  expected.json              what the reference libraries say each file contains: per tensor dtype, shape,
                             the raw bytes (hex, small files) or their FNV-1a 64 hash (folders), and the
                             fp32 bit patterns that torch/numpy convert float tensors to.

Run: .venv/bin/python tests/reference/make_safetensors_golden.py
"""
import json
import os
import shutil
import sys

import numpy as np
import torch
from safetensors.numpy import save_file as np_save_file
from safetensors.torch import save_file as torch_save_file
from safetensors import safe_open

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "data", "safetensors")

ST_DTYPE = {
    np.dtype(np.float64): "F64", np.dtype(np.float32): "F32", np.dtype(np.float16): "F16",
    np.dtype(np.int64): "I64", np.dtype(np.int32): "I32", np.dtype(np.int16): "I16", np.dtype(np.int8): "I8",
    np.dtype(np.uint64): "U64", np.dtype(np.uint32): "U32", np.dtype(np.uint16): "U16", np.dtype(np.uint8): "U8",
    np.dtype(np.bool_): "BOOL",
    torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
    torch.float8_e4m3fn: "F8_E4M3", torch.float8_e5m2: "F8_E5M2", torch.int64: "I64", torch.int32: "I32",
    torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8", torch.bool: "BOOL",
}


def fnv1a64(data: bytes) -> str:
    h = 0xCBF29CE484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return "%016x" % h


def torch_bytes(t: torch.Tensor) -> bytes:
    return t.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()


def torch_f32_bits(t: torch.Tensor):
    return t.float().contiguous().numpy().reshape(-1).view(np.uint32).tolist()


def np_entry(a: np.ndarray, with_hex=True):
    e = {"dtype": ST_DTYPE[a.dtype], "shape": list(a.shape)}
    raw = np.ascontiguousarray(a).tobytes()
    e["hex" if with_hex else "fnv1a64"] = raw.hex() if with_hex else fnv1a64(raw)
    if a.dtype in (np.float64, np.float32, np.float16):
        e["f32_bits"] = a.astype(np.float32).reshape(-1).view(np.uint32).tolist()
    return e


def torch_entry(t: torch.Tensor, with_hex=True, with_floats=True):
    e = {"dtype": ST_DTYPE[t.dtype], "shape": list(t.shape)}
    raw = torch_bytes(t)
    e["hex" if with_hex else "fnv1a64"] = raw.hex() if with_hex else fnv1a64(raw)
    if with_floats and t.dtype in (torch.float64, torch.float32, torch.float16, torch.bfloat16):
        e["f32_bits"] = torch_f32_bits(t)
    return e


def make_numpy_file(expected):
    rng = np.random.default_rng(1234)
    f16_special = np.array([0.0, -0.0, 1.0, -2.5, 65504.0, -65504.0, np.inf, -np.inf, np.nan,
                            2.0 ** -24, -(2.0 ** -24), 2.0 ** -14, 6.1e-5, 0.1, 3.14159], dtype=np.float16)
    tensors = {
        "f64": rng.standard_normal((2, 3)).astype(np.float64) * 1e3,
        "f32": np.concatenate([rng.standard_normal(17).astype(np.float32),
                               np.array([np.inf, -np.inf, 1e-40, -0.0], dtype=np.float32)]).reshape(3, 7),
        "f16": np.concatenate([f16_special, rng.standard_normal(6).astype(np.float16)]).reshape(3, 7),
        "i64": rng.integers(-2**62, 2**62, size=(5,), dtype=np.int64),
        "i32": rng.integers(-2**31, 2**31 - 1, size=(2, 2, 2), dtype=np.int32),
        "i16": rng.integers(-2**15, 2**15 - 1, size=(6,), dtype=np.int16),
        "i8": rng.integers(-128, 127, size=(7,), dtype=np.int8),
        "u64": rng.integers(0, 2**63, size=(3,), dtype=np.uint64),
        "u32": rng.integers(0, 2**32 - 1, size=(4,), dtype=np.uint32),
        "u16": rng.integers(0, 2**16 - 1, size=(5,), dtype=np.uint16),
        "u8": rng.integers(0, 255, size=(3, 3), dtype=np.uint8),
        "bool": rng.integers(0, 2, size=(2, 5)).astype(np.bool_),
        "scalar_f32": np.array(42.5, dtype=np.float32),
        "empty_f32": np.zeros((0, 4), dtype=np.float32),
    }
    # One key only: the Rust writer emits __metadata__ in hash-map order, so two keys would make the
    # committed file differ from run to run.
    meta = {"format": "np"}
    path = os.path.join(OUT, "numpy_dtypes.safetensors")
    np_save_file(tensors, path, metadata=meta)
    expected["numpy_dtypes.safetensors"] = {
        "metadata": meta, "tensors": {k: np_entry(v) for k, v in tensors.items()}}


def make_torch_file(expected):
    g = torch.Generator().manual_seed(99)
    bf16 = torch.cat([torch.tensor([0.0, -0.0, 1.0, -3.5, float("inf"), float("-inf"), float("nan"),
                                    1e-40, 3.0e38, 1.0e-3]),
                      torch.randn(20, generator=g)]).to(torch.bfloat16).reshape(5, 6)
    tensors = {
        "bf16": bf16,
        "f16_t": torch.randn(2, 4, generator=g).to(torch.float16),
        "f8_e4m3": torch.randn(8, generator=g).to(torch.float8_e4m3fn),
        "f8_e5m2": torch.randn(2, 4, generator=g).to(torch.float8_e5m2),
    }
    meta = {"format": "pt"}
    path = os.path.join(OUT, "torch_dtypes.safetensors")
    torch_save_file(tensors, path, metadata=meta)
    expected["torch_dtypes.safetensors"] = {
        "metadata": meta, "tensors": {k: torch_entry(v) for k, v in tensors.items()}}


def shard_map(folder):
    """tensor name -> shard file, as the saved folder records it (index, or the single file)."""
    idx = os.path.join(folder, "model.safetensors.index.json")
    if os.path.exists(idx):
        with open(idx) as f:
            return json.load(f)["weight_map"]
    with safe_open(os.path.join(folder, "model.safetensors"), "np") as f:
        return {k: "model.safetensors" for k in f.keys()}


def folder_expectation(folder, state, float_bits_for=()):
    """What the reference libraries say the saved folder holds: config, generation config, every tensor."""
    from transformers import AutoConfig, GenerationConfig
    cfg = AutoConfig.from_pretrained(folder)
    exp = {
        "config": {
            "architecture": cfg.architectures[0], "vocab_size": cfg.vocab_size, "hidden_size": cfg.hidden_size,
            "intermediate_size": cfg.intermediate_size, "num_hidden_layers": cfg.num_hidden_layers,
            "num_attention_heads": cfg.num_attention_heads, "num_key_value_heads": cfg.num_key_value_heads,
            "tie_word_embeddings": bool(cfg.tie_word_embeddings),
        },
        "tensors": {},
    }
    gen_path = os.path.join(folder, "generation_config.json")
    if os.path.exists(gen_path):
        gc = GenerationConfig.from_pretrained(folder)
        eos = gc.eos_token_id
        exp["generation"] = {
            "bos_token_id": gc.bos_token_id, "eos_token_ids": eos if isinstance(eos, list) else ([] if eos is None else [eos]),
            "pad_token_id": gc.pad_token_id, "do_sample": gc.do_sample, "temperature": gc.temperature,
            "top_k": gc.top_k, "top_p": gc.top_p, "repetition_penalty": gc.repetition_penalty,
            "max_new_tokens": gc.max_new_tokens,
        }
    smap = shard_map(folder)
    for name, t in state.items():
        if name not in smap:
            continue  # tied weights transformers did not save
        e = torch_entry(t, with_hex=False, with_floats=name in float_bits_for)
        e["shard"] = smap[name]
        exp["tensors"][name] = e
    assert set(exp["tensors"]) == set(smap), "saved tensors differ from the state dict"
    return exp


def make_llama_sharded(expected):
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                      tie_word_embeddings=False, bos_token_id=1, eos_token_id=2)
    model = LlamaForCausalLM(cfg).to(torch.float32).eval()
    model.generation_config = GenerationConfig(bos_token_id=1, eos_token_id=[2, 3], pad_token_id=0, do_sample=True,
                                               temperature=0.7, top_k=20, top_p=0.9, repetition_penalty=1.1,
                                               max_new_tokens=32)
    folder = os.path.join(OUT, "tiny_llama_sharded")
    model.save_pretrained(folder, max_shard_size="16KB")
    shards = [f for f in os.listdir(folder) if f.endswith(".safetensors")]
    assert len(shards) >= 2, f"expected a sharded save, got {shards}"
    state = {k: v.detach() for k, v in model.state_dict().items()}
    expected["tiny_llama_sharded"] = folder_expectation(
        folder, state, float_bits_for=("model.layers.1.mlp.up_proj.weight", "model.norm.weight"))


def make_qwen2(expected):
    from transformers import Qwen2Config, Qwen2ForCausalLM
    torch.manual_seed(1)
    cfg = Qwen2Config(vocab_size=48, hidden_size=16, intermediate_size=24, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=1, max_position_embeddings=64,
                      tie_word_embeddings=True)
    model = Qwen2ForCausalLM(cfg).to(torch.bfloat16).eval()
    with torch.no_grad():  # biases start at zero; make them distinguishable
        for layer in model.model.layers:
            for proj in (layer.self_attn.q_proj, layer.self_attn.k_proj, layer.self_attn.v_proj):
                proj.bias.normal_()
    folder = os.path.join(OUT, "tiny_qwen2")
    model.save_pretrained(folder)
    state = {k: v.detach() for k, v in model.state_dict().items()}
    expected["tiny_qwen2"] = folder_expectation(
        folder, state, float_bits_for=("model.layers.0.self_attn.k_proj.bias", "model.embed_tokens.weight"))


def make_llama_awq(expected):
    from transformers import LlamaConfig
    g = torch.Generator().manual_seed(7)
    cfg = LlamaConfig(vocab_size=32, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                      num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=64,
                      tie_word_embeddings=False)
    group, pack = 8, 8
    # What AutoAWQ's save_quantized puts in config.json (AwqConfig.to_transformers_dict()).
    qcfg = {"quant_method": "awq", "zero_point": True, "group_size": group, "bits": 4, "version": "gemm",
            "modules_to_not_convert": ["down_proj"]}
    H, I, V = cfg.hidden_size, cfg.intermediate_size, cfg.vocab_size
    state = {
        "model.embed_tokens.weight": torch.randn(V, H, generator=g).half(),
        "model.norm.weight": torch.ones(H).half(),
        "lm_head.weight": torch.randn(V, H, generator=g).half(),
        "model.layers.0.input_layernorm.weight": torch.ones(H).half(),
        "model.layers.0.post_attention_layernorm.weight": torch.ones(H).half(),
        "model.layers.0.mlp.down_proj.weight": torch.randn(H, I, generator=g).half(),
    }
    linears = {"self_attn.q_proj": (H, H), "self_attn.k_proj": (H, H), "self_attn.v_proj": (H, H),
               "self_attn.o_proj": (H, H), "mlp.gate_proj": (I, H), "mlp.up_proj": (I, H)}
    for mod, (out_f, in_f) in linears.items():
        p = f"model.layers.0.{mod}."
        # WQLinear_GEMM buffers: qweight int32 [in, out/8], qzeros int32 [in/group, out/8], scales fp16 [in/group, out]
        state[p + "qweight"] = torch.randint(-2**31, 2**31 - 1, (in_f, out_f // pack), generator=g, dtype=torch.int32)
        state[p + "qzeros"] = torch.randint(-2**31, 2**31 - 1, (in_f // group, out_f // pack), generator=g,
                                            dtype=torch.int32)
        state[p + "scales"] = (torch.rand(in_f // group, out_f, generator=g) * 0.01).half()
    folder = os.path.join(OUT, "tiny_llama_awq")
    os.makedirs(folder)
    d = cfg.to_dict()
    d["architectures"] = ["LlamaForCausalLM"]
    d["torch_dtype"] = "float16"
    d["quantization_config"] = qcfg
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(d, f, indent=2, sort_keys=True)
    torch_save_file(state, os.path.join(folder, "model.safetensors"), metadata={"format": "pt"})
    exp = folder_expectation(folder, state, float_bits_for=("model.layers.0.mlp.up_proj.scales",))
    exp["awq"] = {k: qcfg[k] for k in ("bits", "group_size", "zero_point", "version", "modules_to_not_convert")}
    expected["tiny_llama_awq"] = exp


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    expected = {}
    make_numpy_file(expected)
    make_torch_file(expected)
    make_llama_sharded(expected)
    make_qwen2(expected)
    make_llama_awq(expected)
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
    total = sum(os.path.getsize(os.path.join(dp, fn)) for dp, _, fns in os.walk(OUT) for fn in fns)
    print(f"wrote {OUT} ({total} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
