#!/usr/bin/env python3
"""Reference outputs from Hugging Face transformers, for the engine's exactness tests and benchmarks.

  hf_reference.py logits   --model DIR --out DIR [--greedy 40] [--texts FILE.json]
      Tokenizes each text with the model's own tokenizer (or uses fixed ids for models without one),
      writes logits of every position (float32, fp32 model on the CPU) and a greedy continuation.
  hf_reference.py ppl      --model DIR --data FILE --seqlen 2048 [--windows N] --out FILE.json
      Perplexity the standard way: whole text tokenized once, non-overlapping windows, mean NLL, exp.
  hf_reference.py make-tiny --arch qwen2|mistral|llama|llama3 --out DIR [--seed 0]
      A small model with random weights, saved with save_pretrained (safetensors), for exactness tests
      of architectures other than the default model's.
"""
import argparse
import json
import math
import os
import sys

import torch

DEFAULT_TEXTS = [
    "The capital of France is",
    "def fibonacci(n):\n    if n < 2:\n        return n\n",
    "In 1905, Albert Einstein published four papers that",
    "Quantization reduces the memory footprint of large language models by",
    "日本の首都は東京です。 Emoji: 🚀✨ and numbers 3.14159, 42!",
]


def load_model(path):
    from transformers import AutoModelForCausalLM
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32, attn_implementation="eager")
    model.eval()
    return model


def prompt_ids(path, texts, vocab_size):
    tok_file = os.path.join(path, "tokenizer.json")
    if os.path.exists(tok_file):
        from transformers import AutoTokenizer
        tok = AutoTokenizer.from_pretrained(path)
        return [tok(t)["input_ids"] for t in texts]
    # Tiny random models have no tokenizer: fixed pseudo-random ids.
    g = torch.Generator().manual_seed(1234)
    return [torch.randint(0, vocab_size, (5 + 3 * i,), generator=g).tolist() for i in range(len(texts))]


@torch.inference_mode()
def cmd_logits(a):
    model = load_model(a.model)
    texts = DEFAULT_TEXTS
    if a.texts:
        texts = json.load(open(a.texts))
    os.makedirs(a.out, exist_ok=True)
    meta = {"model": a.model, "prompts": []}
    for i, ids in enumerate(prompt_ids(a.model, texts, model.config.vocab_size)):
        x = torch.tensor([ids])
        logits = model(x).logits[0].float().contiguous()
        fname = f"logits_{i}.bin"
        logits.numpy().tofile(os.path.join(a.out, fname))
        # Greedy continuation with the KV cache, never stopping at EOS (so lengths are comparable).
        out = model(x, use_cache=True)
        past = out.past_key_values
        nxt = int(out.logits[0, -1].argmax())
        greedy = [nxt]
        for _ in range(a.greedy - 1):
            out = model(torch.tensor([[nxt]]), past_key_values=past, use_cache=True)
            past = out.past_key_values
            nxt = int(out.logits[0, -1].argmax())
            greedy.append(nxt)
        meta["prompts"].append({"ids": ids, "shape": list(logits.shape), "logits_file": fname, "greedy": greedy})
    with open(os.path.join(a.out, "meta.json"), "w") as f:
        json.dump(meta, f)


@torch.inference_mode()
def cmd_ppl(a):
    from transformers import AutoTokenizer
    model = load_model(a.model).to(a.device)
    tok = AutoTokenizer.from_pretrained(a.model)
    text = open(a.data, encoding="utf-8", newline="").read()  # the file byte for byte (it has CRLF line ends)
    ids = torch.tensor([tok(text)["input_ids"]], device=a.device)
    n = ids.shape[1] // a.seqlen
    if a.windows:
        n = min(n, a.windows)
    nll_sum, window_nll = 0.0, []
    for w in range(n):
        x = ids[:, w * a.seqlen:(w + 1) * a.seqlen]
        logits = model(x).logits[0, :-1].float()
        nll = torch.nn.functional.cross_entropy(logits, x[0, 1:], reduction="sum").item()
        window_nll.append(nll / (a.seqlen - 1))
        nll_sum += nll
    mean = nll_sum / (n * (a.seqlen - 1))
    res = {"perplexity": math.exp(mean), "mean_nll": mean, "windows": n, "seqlen": a.seqlen,
           "total_tokens": ids.shape[1], "window_nll": window_nll, "first_ids": ids[0, :16].tolist(), "device": a.device}
    with open(a.out, "w") as f:
        json.dump(res, f, indent=2)
    print(json.dumps({k: res[k] for k in ("perplexity", "windows", "total_tokens")}))


TINY_CORPUS = (
    "The quick brown fox jumps over the lazy dog. Quantization maps weights to a few bits. "
    "def add(a, b):\n    return a + b\n 12345 67890 Hello, world! Activation-aware weight quantization. "
    "日本語のテキスト 🚀 café naïve résumé. The capital of France is Paris. ") * 20


def save_tiny_tokenizer(out, vocab_size):
    """A small byte-level BPE tokenizer (trained here, nothing downloaded) so tiny models run end to end."""
    from tokenizers import Tokenizer, models, pre_tokenizers, decoders, trainers
    from transformers import PreTrainedTokenizerFast
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size - 2, special_tokens=["<|endoftext|>", "<|im_start|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator([TINY_CORPUS], trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>", bos_token="<|endoftext|>")
    fast.save_pretrained(out)


def cmd_make_tiny(a):
    torch.manual_seed(a.seed)
    common = dict(vocab_size=512, hidden_size=64, intermediate_size=160, num_hidden_layers=3,
                  num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                  initializer_range=0.2, rms_norm_eps=1e-6, tie_word_embeddings=False)
    if a.arch == "qwen2":
        from transformers import Qwen2Config as C, Qwen2ForCausalLM as M
        cfg = C(**common, rope_theta=1000000.0)
    elif a.arch == "mistral":
        from transformers import MistralConfig as C, MistralForCausalLM as M
        cfg = C(**common, rope_theta=10000.0, sliding_window=None)
    elif a.arch == "llama":  # Llama 2 style: no grouped-query attention, untied head
        from transformers import LlamaConfig as C, LlamaForCausalLM as M
        cfg = C(**{**common, "num_key_value_heads": 4}, rope_theta=10000.0)
    elif a.arch == "llama3":
        from transformers import LlamaConfig as C, LlamaForCausalLM as M
        cfg = C(**{**common, "tie_word_embeddings": True}, rope_theta=500000.0,
                rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                              "high_freq_factor": 4.0, "original_max_position_embeddings": 64})
    else:
        sys.exit(f"unknown arch {a.arch}")
    model = M(cfg)
    save_tiny_tokenizer(a.out, cfg.vocab_size)
    with torch.no_grad():  # biases (Qwen2 q/k/v) start at zero; make them matter
        for name, p in model.named_parameters():
            if name.endswith(".bias"):
                p.normal_(0.0, 0.2)
            if "norm" in name:
                p.uniform_(0.5, 1.5)
    model.save_pretrained(a.out, safe_serialization=True)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("logits"); p.add_argument("--model", required=True); p.add_argument("--out", required=True)
    p.add_argument("--greedy", type=int, default=40); p.add_argument("--texts")
    p = sub.add_parser("ppl"); p.add_argument("--model", required=True); p.add_argument("--data", required=True)
    p.add_argument("--seqlen", type=int, default=2048); p.add_argument("--windows", type=int, default=0)
    p.add_argument("--out", required=True); p.add_argument("--device", default="cpu")
    p = sub.add_parser("make-tiny"); p.add_argument("--arch", required=True); p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    {"logits": cmd_logits, "ppl": cmd_ppl, "make-tiny": cmd_make_tiny}[a.cmd](a)


if __name__ == "__main__":
    main()
