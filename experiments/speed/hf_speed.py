#!/usr/bin/env python3
"""transformers' speed on the same model, dtype, device and token counts as engine_speed_bench.

Eager attention, batch of equal-length prompts. Two decode numbers: `generate()` (what users call) and a
bare forward loop over the KV cache (transformers' floor without generate()'s per-step overhead); the
benchmark compares the engine with the faster of the two. Prints one JSON object.
"""
import argparse
import json
import statistics
import time

import torch

SHAPES = {
    "llama2-7b": dict(vocab_size=32000, hidden_size=4096, intermediate_size=11008, num_hidden_layers=32,
                      num_attention_heads=32, num_key_value_heads=32, max_position_embeddings=4096,
                      rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=False),
    "smollm2-135m": dict(vocab_size=49152, hidden_size=576, intermediate_size=1536, num_hidden_layers=30,
                         num_attention_heads=9, num_key_value_heads=3, max_position_embeddings=8192,
                         rms_norm_eps=1e-5, rope_theta=100000.0, tie_word_embeddings=True),
}


def sync(dev):
    if dev.startswith("cuda"):
        torch.cuda.synchronize()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model"); ap.add_argument("--shape")
    ap.add_argument("--device", default="cuda"); ap.add_argument("--dtype", default="bfloat16")
    ap.add_argument("--prompt-len", type=int, default=512); ap.add_argument("--new-tokens", type=int, default=128)
    ap.add_argument("--batch", type=int, default=1); ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args()
    from transformers import AutoModelForCausalLM, LlamaConfig, LlamaForCausalLM
    dtype = getattr(torch, a.dtype)
    if a.model:
        model = AutoModelForCausalLM.from_pretrained(a.model, dtype=dtype, attn_implementation="eager").to(a.device)
    else:
        cfg = LlamaConfig(**SHAPES[a.shape], attn_implementation="eager")
        torch.set_default_dtype(dtype)
        with torch.device(a.device):
            model = LlamaForCausalLM(cfg)
        torch.set_default_dtype(torch.float32)
    model.eval()
    V = model.config.vocab_size
    ids = torch.tensor([[(i * 7919 + b * 104729 + 13) % V for i in range(a.prompt_len)] for b in range(a.batch)],
                       device=a.device)

    @torch.inference_mode()
    def loop_once():
        sync(a.device); t0 = time.perf_counter()
        out = model(ids, use_cache=True)
        nxt = out.logits[:, -1].argmax(-1, keepdim=True)
        sync(a.device); t1 = time.perf_counter()
        past = out.past_key_values
        for _ in range(a.new_tokens - 1):
            out = model(nxt, past_key_values=past, use_cache=True)
            past = out.past_key_values
            nxt = out.logits[:, -1].argmax(-1, keepdim=True)
        sync(a.device); t2 = time.perf_counter()
        return a.batch * a.prompt_len / (t1 - t0), a.batch * (a.new_tokens - 1) / (t2 - t1)

    @torch.inference_mode()
    def generate_once(prefill_s):
        sync(a.device); t0 = time.perf_counter()
        model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=a.new_tokens,
                       min_new_tokens=a.new_tokens, do_sample=False, pad_token_id=0)
        sync(a.device); t1 = time.perf_counter()
        return a.batch * (a.new_tokens - 1) / max(t1 - t0 - prefill_s, 1e-9)

    loop_once()  # warm-up
    runs = [loop_once() for _ in range(a.reps)]
    prefill = statistics.median(r[0] for r in runs)
    decode_loop = statistics.median(r[1] for r in runs)
    prefill_s = a.batch * a.prompt_len / prefill
    decode_generate = statistics.median(generate_once(prefill_s) for _ in range(a.reps))
    print(json.dumps({"impl": "transformers", "model": a.model or a.shape, "device": a.device, "dtype": a.dtype,
                      "batch": a.batch, "prompt_len": a.prompt_len, "new_tokens": a.new_tokens,
                      "prefill_tok_s": prefill, "decode_tok_s": max(decode_loop, decode_generate),
                      "decode_tok_s_forward_loop": decode_loop, "decode_tok_s_generate": decode_generate,
                      "transformers": __import__("transformers").__version__, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
