#!/usr/bin/env python3
"""Golden files for the GGUF reader/dequantizer tests, made with the reference `gguf` package (PyPI `gguf`).

Writes into tests/data/gguf/:
  dequant_<TYPE>.gguf            one tensor "weight" of that type (random data) + a small F32 tensor "tail"
  dequant_<TYPE>.expected.f32    gguf.quants.dequantize of "weight" as read back by gguf.GGUFReader
                                 (raw little-endian float32, Hugging Face order: outermost dimension first)
  metadata.gguf / metadata.json  every metadata value type (0-12, nested arrays), general.alignment = 64
  ggml_types.json                the package's ggml type table (id, name, block size, type size)
  llama3_rope.gguf (+ _bad)      metadata + rope_freqs.weight as llama.cpp writes it for Llama 3.1 rope scaling
  llama3_rope.json               the rope_scaling a converter must recover (transformers' config.json form)
  tiny_<arch>.gguf               a 2-layer random "llama" (q/k permuted the way llama.cpp's converter does)
  tiny_<arch>.expected.safetensors  and "qwen2" (biases, no permutation) model; the expected file holds the
                                 Hugging Face tensors a converter must produce (float32)
  smollm2_reference.json         (when the default model exists) per-tensor statistics of the default model
                                 after gguf dequantization and the inverse of llama.cpp's q/k permutation

Usage: .venv/bin/python tests/reference/make_gguf_golden.py [--model models/SmolLM2-135M-Instruct.Q4_1.gguf]
"""
import argparse
import json
import math
import pathlib

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
from gguf.constants import GGML_QUANT_SIZES

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "data" / "gguf"
TYPES = [T.F32, T.F16, T.BF16, T.Q8_0, T.Q4_0, T.Q4_1, T.Q4_K, T.Q6_K]
ROWS, COLS = 3, 512  # Hugging Face shape of "weight"; 512 = two Q4_K/Q6_K super-blocks per row


def random_weights(rng, n):
    x = rng.normal(0.0, 0.05, n).astype(np.float32)
    x[rng.integers(0, n, 8)] *= 20.0  # a few outliers, as real weights have
    return x


def random_k_blocks(rng, qtype, n_blocks):
    """Random block bytes for types the package cannot quantize; the fp16 scales are kept finite and small."""
    _, type_size = GGML_QUANT_SIZES[qtype]
    blocks = rng.integers(0, 256, (n_blocks, type_size), dtype=np.uint8)
    def fp16_bytes(lo, hi):
        return np.frombuffer(rng.uniform(lo, hi, n_blocks).astype(np.float16).tobytes(), np.uint8).reshape(n_blocks, 2)
    if qtype == T.Q4_K:  # d, dmin, scales[12], qs[128]
        blocks[:, 0:2] = fp16_bytes(1e-4, 2e-3)
        blocks[:, 2:4] = fp16_bytes(1e-4, 2e-3)
    elif qtype == T.Q6_K:  # ql[128], qh[64], scales[16] (int8), d
        blocks[:, 208:210] = fp16_bytes(1e-4, 2e-3)
    else:
        raise ValueError(qtype)
    return blocks


def make_dequant_case(rng, qtype):
    block_size, type_size = GGML_QUANT_SIZES[qtype]
    n = ROWS * COLS
    w = gguf.GGUFWriter(str(OUT / f"dequant_{qtype.name}.gguf"), "golden")
    if qtype in (T.Q4_K, T.Q6_K):
        raw = random_k_blocks(rng, qtype, n // block_size).reshape(ROWS, COLS // block_size * type_size)
        w.add_tensor("weight", raw, raw_dtype=qtype)
    elif qtype in (T.F16, T.BF16):
        x = random_weights(rng, n)
        # edge values: signed zero, fp16 subnormals, large values and infinities
        x[:8] = [0.0, -0.0, 6e-8, -3e-6, 1e-5, 65504.0, np.inf, -np.inf]
        q = gguf.quants.quantize(x.reshape(ROWS, COLS), qtype)
        w.add_tensor("weight", q, raw_dtype=qtype)
    elif qtype == T.F32:
        w.add_tensor("weight", random_weights(rng, n).reshape(ROWS, COLS))
    else:
        q = gguf.quants.quantize(random_weights(rng, n).reshape(ROWS, COLS), qtype)
        w.add_tensor("weight", q, raw_dtype=qtype)
    w.add_tensor("tail", np.arange(5, dtype=np.float32) - 2.5)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()

    r = gguf.GGUFReader(str(OUT / f"dequant_{qtype.name}.gguf"))
    t = next(t for t in r.tensors if t.name == "weight")
    assert t.tensor_type == qtype, (t.tensor_type, qtype)
    values = gguf.quants.dequantize(t.data, qtype).astype(np.float32).reshape(-1)
    assert values.size == n
    values.astype("<f4").tofile(OUT / f"dequant_{qtype.name}.expected.f32")


def make_metadata_case():
    path = OUT / "metadata.gguf"
    w = gguf.GGUFWriter(str(path), "golden")
    V = gguf.GGUFValueType
    expected = {}
    def kv(key, value, vtype, sub_type=None, json_value=None):
        w.add_key_value(key, value, vtype, sub_type=sub_type)
        expected[key] = {"type": vtype.name, "value": value if json_value is None else json_value}
        if sub_type is not None:
            expected[key]["array_type"] = sub_type.name
    kv("t.uint8", 200, V.UINT8)
    kv("t.int8", -100, V.INT8)
    kv("t.uint16", 60000, V.UINT16)
    kv("t.int16", -30000, V.INT16)
    kv("t.uint32", 4000000000, V.UINT32)
    kv("t.int32", -2000000000, V.INT32)
    kv("t.float32", 0.15625, V.FLOAT32)
    kv("t.bool", True, V.BOOL)
    kv("t.string", "héllo wörld ✓", V.STRING)
    kv("t.uint64", 18000000000000000000, V.UINT64)
    kv("t.int64", -9000000000000000000, V.INT64)
    kv("t.float64", 3.141592653589793, V.FLOAT64)
    kv("t.array_int32", [1, -2, 3], V.ARRAY, sub_type=V.INT32)
    kv("t.array_string", ["a", "", "Ġhello"], V.ARRAY, sub_type=V.STRING)
    kv("t.array_float32", [0.5, -1.25], V.ARRAY, sub_type=V.FLOAT32)
    kv("t.array_nested", [[1, 2], [3]], V.ARRAY)  # an ARRAY of ARRAYs of INT32 (the writer infers INT32)
    expected["t.array_nested"]["array_type"] = "ARRAY"
    w.add_custom_alignment(64)
    expected["general.alignment"] = {"type": "UINT32", "value": 64}
    w.add_tensor("a", np.arange(6, dtype=np.float32).reshape(2, 3))
    w.add_tensor("b", np.arange(4, dtype=np.float16).reshape(1, 1, 4))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()

    r = gguf.GGUFReader(str(path))
    tensors = []
    for t in r.tensors:
        tensors.append({"name": t.name, "type": t.tensor_type.name,
                        "shape": [int(d) for d in reversed(t.shape.tolist())],  # HF order
                        "offset": int(t.data_offset), "nbytes": int(t.n_bytes)})
    json.dump({"version": 3, "alignment": 64, "metadata": expected, "tensors": tensors,
               "architecture": "golden"}, open(OUT / "metadata.json", "w"), indent=1, ensure_ascii=False)


def make_type_table():
    rows = [{"id": int(t.value), "name": t.name, "block_size": GGML_QUANT_SIZES[t][0],
             "type_size": GGML_QUANT_SIZES[t][1]} for t in T if t in GGML_QUANT_SIZES]
    json.dump(rows, open(OUT / "ggml_types.json", "w"), indent=1)


# ---- default model -------------------------------------------------------------------------------------

HF_GLOBAL = {"token_embd": "model.embed_tokens", "output_norm": "model.norm", "output": "lm_head"}
HF_LAYER = {"attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
            "attn_output": "self_attn.o_proj", "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj",
            "ffn_down": "mlp.down_proj", "attn_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm"}


def hf_name(name):
    stem, suffix = name.rsplit(".", 1)
    if stem in HF_GLOBAL:
        return f"{HF_GLOBAL[stem]}.{suffix}"
    _, layer, part = stem.split(".")
    return f"model.layers.{layer}.{HF_LAYER[part]}.{suffix}"


def llama_cpp_permute(w, n_head):
    """llama.cpp convert_hf_to_gguf.py's LlamaModel.permute (HF -> GGUF)."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def llama_cpp_unpermute(w, n_head):
    """Its inverse (GGUF -> HF): view rows as (head, pair index, half) and swap back."""
    return w.reshape(n_head, w.shape[0] // n_head // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def hf_tensors(gguf_path):
    """Yields (gguf tensor, HF name, float32 array in HF layout) like a correct converter would."""
    r = gguf.GGUFReader(str(gguf_path))
    f = r.fields
    arch = f["general.architecture"].contents()
    n_head = int(f[f"{arch}.attention.head_count"].contents())
    n_kv = int(f[f"{arch}.attention.head_count_kv"].contents())
    for t in r.tensors:
        shape = [int(d) for d in reversed(t.shape.tolist())]
        x = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32).reshape(shape)
        if arch == "llama" and ".attn_q." in t.name:
            x = llama_cpp_unpermute(x, n_head)
        elif arch == "llama" and ".attn_k." in t.name:
            x = llama_cpp_unpermute(x, n_kv)
        yield t, hf_name(t.name), x


def make_model_reference(model):
    import torch  # only for torch's float -> bfloat16 rounding, the reference for bf16 output

    rng = np.random.default_rng(1234)
    chk = rng.normal(size=(12, 8)).astype(np.float32)
    assert np.array_equal(llama_cpp_unpermute(llama_cpp_permute(chk, 3), 3), chk)

    r = gguf.GGUFReader(str(model))
    f = r.fields
    meta = {k: f[k].contents() for k in [
        "general.architecture", "llama.block_count", "llama.embedding_length", "llama.feed_forward_length",
        "llama.attention.head_count", "llama.attention.head_count_kv", "llama.context_length",
        "llama.rope.freq_base", "llama.attention.layer_norm_rms_epsilon", "llama.vocab_size",
        "tokenizer.ggml.model", "tokenizer.ggml.pre", "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id",
        "tokenizer.ggml.padding_token_id", "tokenizer.ggml.unknown_token_id", "tokenizer.ggml.add_bos_token",
        "tokenizer.chat_template"] if k in f}
    names = {t.name for t in r.tensors}
    tokens = f["tokenizer.ggml.tokens"].contents()
    vocab = {"n_tokens": len(tokens), "first_tokens": tokens[:5], "last_token": tokens[-1],
             "n_merges": len(f["tokenizer.ggml.merges"].contents()),
             "first_merges": f["tokenizer.ggml.merges"].contents()[:3],
             "token_type_counts": {str(k): int(v) for k, v in zip(*np.unique(f["tokenizer.ggml.token_type"].contents(), return_counts=True))}}
    out = {"file": model.name, "metadata": meta, "has_output_weight": "output.weight" in names, "vocab": vocab,
           "tensors": []}
    for t, hf, x in hf_tensors(model):
        flat = x.reshape(-1)
        rows = x.reshape(x.shape[0], -1) if x.ndim > 1 else x.reshape(-1, 1)
        idx = sorted({0, flat.size - 1, *rng.integers(0, flat.size, 6).tolist()})
        samples = flat[idx]
        f16 = samples.astype(np.float16).view(np.uint16)
        bf16 = torch.from_numpy(samples.copy()).to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)
        out["tensors"].append({
            "gguf_name": t.name, "hf_name": hf, "type": t.tensor_type.name, "shape": list(x.shape),
            "all_finite": bool(np.isfinite(flat).all()),
            "sum": float(flat.astype(np.float64).sum()),
            "abs_sum": float(np.abs(flat.astype(np.float64)).sum()),
            # permutation-sensitive: sum over rows of (row + 1) * row sum
            "row_weighted_sum": float((rows.astype(np.float64).sum(axis=1) * (np.arange(rows.shape[0]) + 1)).sum()),
            "samples": [{"index": int(i), "f32_bits": int(v.view(np.uint32)), "f16_bits": int(h), "bf16_bits": int(b)}
                        for i, v, h, b in zip(idx, samples, f16, bf16)],
        })
    json.dump(out, open(OUT / "smollm2_reference.json", "w"), separators=(",", ":"), ensure_ascii=False)


def make_tiny_model(rng, arch):
    """A small model written the way llama.cpp's converter writes one, from known Hugging Face weights."""
    from safetensors.numpy import save_file
    hidden, heads, kv_heads, ffn, layers, vocab = 32, 2, 1, 64, 2, 40
    head_dim = hidden // heads
    tokens = ["<unk>", "<s>", "</s>"] + [f"t{i}" for i in range(vocab - 3)]
    w = gguf.GGUFWriter(str(OUT / f"tiny_{arch}.gguf"), arch)
    w.add_block_count(layers)
    w.add_context_length(256)
    w.add_embedding_length(hidden)
    w.add_feed_forward_length(ffn)
    w.add_head_count(heads)
    w.add_head_count_kv(kv_heads)
    w.add_rope_freq_base(50000.0)
    w.add_layer_norm_rms_eps(1e-6)
    w.add_rope_dimension_count(head_dim)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("default")
    w.add_token_list(tokens)
    w.add_token_types([3, 3, 3] + [1] * (vocab - 3))
    w.add_token_merges(["t 1", "t 2"])
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_chat_template("{{ messages }}")

    expected = {}
    def add(gguf_name, hf_name, x, qtype, n_perm_heads=0):
        x = x.astype(np.float32)
        stored = llama_cpp_permute(x, n_perm_heads) if n_perm_heads else x
        if qtype == T.F32:
            w.add_tensor(gguf_name, stored)
        elif qtype == T.F16:
            w.add_tensor(gguf_name, stored.astype(np.float16))
        else:
            w.add_tensor(gguf_name, gguf.quants.quantize(stored, qtype), raw_dtype=qtype)
        # what the file really holds, read back with the reference package, then un-permuted
        back = gguf.quants.dequantize(gguf.quants.quantize(stored, qtype), qtype).astype(np.float32).reshape(x.shape)
        expected[hf_name] = llama_cpp_unpermute(back, n_perm_heads) if n_perm_heads else back
        if qtype == T.F32:
            assert np.array_equal(expected[hf_name], x)
    r = lambda *shape: rng.normal(0, 0.1, shape).astype(np.float32)
    permute = arch == "llama"
    add("token_embd.weight", "model.embed_tokens.weight", r(vocab, hidden), T.Q8_0)
    for l in range(layers):
        p, h = f"blk.{l}.", f"model.layers.{l}."
        add(p + "attn_norm.weight", h + "input_layernorm.weight", 1 + r(hidden), T.F32)
        add(p + "attn_q.weight", h + "self_attn.q_proj.weight", r(heads * head_dim, hidden), T.F32, heads if permute else 0)
        add(p + "attn_k.weight", h + "self_attn.k_proj.weight", r(kv_heads * head_dim, hidden), T.F16, kv_heads if permute else 0)
        add(p + "attn_v.weight", h + "self_attn.v_proj.weight", r(kv_heads * head_dim, hidden), T.Q8_0)
        if arch == "qwen2":
            add(p + "attn_q.bias", h + "self_attn.q_proj.bias", r(heads * head_dim), T.F32)
            add(p + "attn_k.bias", h + "self_attn.k_proj.bias", r(kv_heads * head_dim), T.F32)
            add(p + "attn_v.bias", h + "self_attn.v_proj.bias", r(kv_heads * head_dim), T.F32)
        add(p + "attn_output.weight", h + "self_attn.o_proj.weight", r(hidden, heads * head_dim), T.Q4_0)
        add(p + "ffn_norm.weight", h + "post_attention_layernorm.weight", 1 + r(hidden), T.F32)
        add(p + "ffn_gate.weight", h + "mlp.gate_proj.weight", r(ffn, hidden), T.Q4_1)
        add(p + "ffn_up.weight", h + "mlp.up_proj.weight", r(ffn, hidden), T.Q8_0)
        add(p + "ffn_down.weight", h + "mlp.down_proj.weight", r(hidden, ffn), T.F16)
    add("output_norm.weight", "model.norm.weight", 1 + r(hidden), T.F32)
    if arch == "llama":  # untied head; the qwen2 model ties it to the embedding
        add("output.weight", "lm_head.weight", r(vocab, hidden), T.Q8_0)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    save_file(expected, str(OUT / f"tiny_{arch}.expected.safetensors"), metadata={"format": "pt"})
    (OUT / f"tiny_{arch}.expected.safetensors").chmod(0o644)


def llama3_rope_factors(theta, head_dim, factor, low, high, old_ctx):
    """The per-frequency divisors llama.cpp's converter stores as rope_freqs.weight for Llama 3.1 models."""
    freqs = 1.0 / (theta ** (np.arange(0, head_dim, 2, dtype=np.float32) / head_dim))
    low_wavelen, high_wavelen = old_ctx / low, old_ctx / high
    out = []
    for freq in freqs:
        wavelen = 2 * math.pi / freq
        if wavelen < high_wavelen:
            out.append(1.0)
        elif wavelen > low_wavelen:
            out.append(factor)
        else:
            smooth = (old_ctx / wavelen - low) / (high - low)
            out.append(1 / ((1 - smooth) / factor + smooth))
    return np.array(out, dtype=np.float32)


def make_llama3_rope_case():
    scaling = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
               "original_max_position_embeddings": 8192}
    theta, hidden, heads = 500000.0, 256, 4
    table = llama3_rope_factors(theta, hidden // heads, scaling["factor"], scaling["low_freq_factor"],
                                scaling["high_freq_factor"], scaling["original_max_position_embeddings"])
    for name, t in (("llama3_rope", table), ("llama3_rope_bad", table * np.float32(1.01))):
        w = gguf.GGUFWriter(str(OUT / f"{name}.gguf"), "llama")
        w.add_block_count(1)
        w.add_context_length(131072)
        w.add_embedding_length(hidden)
        w.add_feed_forward_length(512)
        w.add_head_count(heads)
        w.add_head_count_kv(heads)
        w.add_rope_freq_base(theta)
        w.add_layer_norm_rms_eps(1e-5)
        w.add_vocab_size(128256)
        w.add_tensor("rope_freqs.weight", t)
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()
    json.dump({"rope_scaling": scaling, "rope_theta": theta}, open(OUT / "llama3_rope.json", "w"), indent=1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=str(ROOT / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf"))
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(20251122)
    for qtype in TYPES:
        make_dequant_case(rng, qtype)
    make_metadata_case()
    make_type_table()
    make_llama3_rope_case()
    make_tiny_model(rng, "llama")
    make_tiny_model(rng, "qwen2")
    model = pathlib.Path(args.model)
    if model.exists():
        make_model_reference(model)
    else:
        print(f"skipping the default-model reference: {model} not found")


if __name__ == "__main__":
    main()
