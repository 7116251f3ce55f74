#!/usr/bin/env python3
"""Golden files for the C++ tokenizer tests (tests/core/tokenizer_*_test.cpp).

Everything is made offline from what the project already has:
  (a) SmolLM2 (the default model): its vocabulary read from the GGUF with the `gguf` package, the tokenizer
      transformers builds from that GGUF (AutoTokenizer.from_pretrained(dir, gguf_file=...)), and SmolLM2's
      tokenizer as its Hugging Face repo defines it (Digits + ByteLevel pre-tokenizer, which transformers'
      GGUF loader does not restore for tokenizer.ggml.pre = "smollm").
  (b) small byte-level BPEs trained here with HF `tokenizers` on WikiText-2 validation text, one per split
      regex (GPT-2, Llama 3, Qwen2), exercising added-token flags and post-processors.
  (c) a small SentencePiece BPE (model_type=bpe, byte_fallback) trained here, converted to tokenizer.json
      the way transformers' LlamaConverter does (legacy Llama 2 style) and the way transformers 5's
      LlamaTokenizer does (Metaspace), and written as a tokenizer-only GGUF file.
Golden ids/decodes come from HF `tokenizers` (and transformers where it is the loader under test).

Run:  .venv/bin/python tests/reference/make_tokenizer_golden.py
"""
import importlib.metadata
import json
import pathlib
import random
import sys
import time

import gguf
import sentencepiece as spm
import tokenizers
import transformers
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import AutoTokenizer

ROOT = pathlib.Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "tokenizer"
MODELS = ROOT / "models"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
SHARED = ROOT.parent / "shared" / "data"
WIKI_TEST = SHARED / "wikitext-2-raw" / "wiki.test.raw"
TRAIN_TEXT = SHARED / "wikitext-2" / "wiki.valid.tokens"  # held-out split, never the test file

LLAMA3_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
                r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
               r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")

# Short inputs where tokenizers differ most: empty text, leading/trailing/only whitespace, special tokens
# at the edges, digits after spaces, combining marks, emoji, look-alikes of byte and special tokens, and
# the added-token flags (lstrip/rstrip/single_word/normalized) of the trained tokenizers.
EDGE_CASES = [
    "", " ", "  ", "a", " a", "  leading spaces", "trailing  ", "\n", "\n\n\t \n", "\r\n\r\n",
    "<|im_start|>", "<|im_start|>user\nhi<|im_end|>\n", " <|endoftext|> ", "x<|endoftext|>y",
    "<|endoftext|><|endoftext|>", "12345678", "  123", "a 1 22 333 4444", "é", "e\u0301", "\U0001F600",
    "\U0001F468\u200d\U0001F469\u200d\U0001F467", "日本語", "don't DON'T you'RE", "<0x41>", "<s> </s> <unk>",
    "a\u00a0b\u3000c\u2009d", "tab\tsep", "<mask>", " <mask> ", "a  <mask>b", "x<sw>y", "<sw>", "a <sw> b",
    "_<sw>", "<rs>  z", "<rs>", "@@ a@@b @@", "<|begin_of_text|>Hi", "<sep> a<sep>b", "▁ already ▁▁ spaced",
    "\u00bd \u00b2 \u2167 \u0663", "  <|im_end|>  ",
]


def random_texts(count=200, seed=1234):
    """Random mixtures of whitespace (incl. the odd Unicode kinds), letters, digits, punctuation, marks,
    CJK, emoji and special-token spellings: where regex engines and split rules part ways."""
    rng = random.Random(seed)
    pools = [" \t\n\r\u00a0\u3000\u2009\u200b\u0085\u2028\u180e\u000b\u000c",
             "abcXYZ'sStTrReEvVmMlLdD_", "0123456789\u00b2\u00bd\u0663\u2167\uff11",
             ".,;:!?-()[]{}<>|/\\\"'`~@#$%^&*+=", "éüßÅłİı\u0301\u0308ſK", "中文日本語한국어ひらがなカタカナ",
             "\U0001F600\U0001F44D\U0001F3FD\u200d\u2764\ufe0f\U0001F1E9", "▁"]
    specials = ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<s>", "</s>", "<unk>", "<mask>", "<sw>", "<rs>",
                "<|begin_of_text|>", "<sep>", "@@"]
    texts = []
    for _ in range(count):
        parts = []
        for _ in range(rng.randint(1, 12)):
            if rng.random() < 0.1:
                parts.append(rng.choice(specials))
            else:
                pool = rng.choice(pools)
                parts.append("".join(rng.choice(pool) for _ in range(rng.randint(1, 6))))
        texts.append("".join(parts))
    return texts


def read_test_text():
    return (DATA / "test_text.txt").read_bytes().decode("utf-8")


def write_json(name, obj):
    """One top-level key per line and one case per line: readable diffs without one id per line."""
    def dump(v):
        return json.dumps(v, ensure_ascii=False, separators=(",", ":"))

    lines = []
    for key, value in obj.items():
        if isinstance(value, list) and value and isinstance(value[0], (dict, list)):
            inner = ",\n  ".join(dump(v) for v in value)
            lines.append(f"{dump(key)}:[\n  {inner}\n]")
        else:
            lines.append(f"{dump(key)}:{dump(value)}")
    path = DATA / name
    path.write_text("{\n" + ",\n".join(lines) + "\n}\n", encoding="utf-8")
    print(f"  wrote {path.relative_to(ROOT)} ({path.stat().st_size} bytes)")


def decode_prefixes(decode, ids):
    """decode(ids[:k]) for the prefixes that end inside a multi-byte character, plus a sample of others:
    [k, UTF-8 length of the decode, its last 24 characters]."""
    out = []
    for k in range(1, len(ids) + 1):
        s = decode(ids[:k])
        if "\ufffd" in s[-2:] or k % 53 == 0:
            out.append([k, len(s.encode("utf-8")), s[-24:]])
    return out


def golden_with_tokenizers(tok, description, texts):
    """Cases encoded and decoded by an HF `tokenizers` Tokenizer."""
    cases = []
    for t in texts:
        ids = tok.encode(t, add_special_tokens=True).ids
        cases.append({
            "text": t,
            "ids": ids,
            "ids_no_special": tok.encode(t, add_special_tokens=False).ids,
            "decode": tok.decode(ids, skip_special_tokens=False),
            "decode_skip_special": tok.decode(ids, skip_special_tokens=True),
        })
    full = cases[0]["ids"]
    return {
        "reference": f"tokenizers {tokenizers.__version__}",
        "tokenizer": description,
        "cases": cases,
        "decode_prefixes": decode_prefixes(lambda x: tok.decode(x, skip_special_tokens=False), full),
    }


def golden_with_transformers(tok, description, texts):
    """Cases encoded and decoded by a transformers tokenizer (its own add_special_tokens handling)."""
    backend = tok.backend_tokenizer
    cases = []
    for t in texts:
        ids = tok(t, add_special_tokens=True)["input_ids"]
        dec = tok.decode(ids, skip_special_tokens=False)
        dec_skip = tok.decode(ids, skip_special_tokens=True)
        # The C++ decode matches the `tokenizers` decode; transformers adds only optional space clean-up.
        assert dec == backend.decode(ids, skip_special_tokens=False), description
        assert dec_skip == backend.decode(ids, skip_special_tokens=True), description
        cases.append({
            "text": t,
            "ids": ids,
            "ids_no_special": tok(t, add_special_tokens=False)["input_ids"],
            "decode": dec,
            "decode_skip_special": dec_skip,
        })
    full = cases[0]["ids"]
    return {
        "reference": f"transformers {transformers.__version__} / tokenizers {tokenizers.__version__}",
        "tokenizer": description,
        "cases": cases,
        "decode_prefixes": decode_prefixes(lambda x: backend.decode(x, skip_special_tokens=False), full),
    }


def without_vocab(tokenizer_json):
    """tokenizer.json minus model.vocab/merges: the pipeline, spliced with the GGUF vocabulary in C++."""
    j = json.loads(tokenizer_json) if isinstance(tokenizer_json, str) else json.loads(json.dumps(tokenizer_json))
    j["model"]["vocab"] = {}
    j["model"]["merges"] = []
    return j


def count_differences(a, b):
    """Tokens of `a` outside the blocks it shares with `b`."""
    import difflib
    same = sum(block.size for block in difflib.SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks())
    return len(a) - same


# ---- (a) SmolLM2 -------------------------------------------------------------------------------------

def smollm2(texts):
    gguf_path = MODELS / GGUF_NAME
    if not gguf_path.exists():
        sys.exit(f"{gguf_path} is missing: run scripts/setup.sh first")
    print("SmolLM2 from", gguf_path)
    reader = gguf.GGUFReader(str(gguf_path))
    tokens = reader.fields["tokenizer.ggml.tokens"].contents()
    merges = reader.fields["tokenizer.ggml.merges"].contents()
    pre = reader.fields["tokenizer.ggml.pre"].contents()
    assert pre == "smollm", pre

    hf = AutoTokenizer.from_pretrained(str(MODELS), gguf_file=GGUF_NAME)
    hf_json = json.loads(hf.backend_tokenizer.to_str())
    # The pipeline we commit is only valid with the GGUF's own vocabulary and merges: check they agree.
    vocab = hf_json["model"]["vocab"]
    assert len(vocab) == len(tokens) and all(vocab[t] == i for i, t in enumerate(tokens)), "vocab != GGUF tokens"
    assert [" ".join(m) for m in hf_json["model"]["merges"]] == list(merges), "merges != GGUF merges"

    # (a1) exactly what transformers builds from the GGUF
    write_json("smollm2_transformers_gguf_pipeline.json", without_vocab(hf_json))
    g_tf = golden_with_transformers(hf, f"transformers AutoTokenizer(gguf_file={GGUF_NAME})", texts)
    g_tf["add_bos_token"] = bool(getattr(hf, "add_bos_token", False))
    write_json("smollm2_transformers_gguf_golden.json", g_tf)

    # (a2) SmolLM2's tokenizer.json as its HF repo has it: digits split one by one before ByteLevel.
    smol_json = json.loads(json.dumps(hf_json))
    smol_json["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        {"type": "Digits", "individual_digits": True},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}]}
    smol_json["post_processor"] = {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False,
                                   "use_regex": True}
    smol = Tokenizer.from_str(json.dumps(smol_json))
    write_json("smollm2_pipeline.json", without_vocab(smol_json))
    g_smol = golden_with_tokenizers(smol, "SmolLM2 tokenizer.json (Digits + ByteLevel), GGUF vocabulary", texts)
    write_json("smollm2_golden.json", g_smol)
    smollm2.tokenizer = smol
    diff = count_differences(g_smol["cases"][0]["ids"], g_tf["cases"][0]["ids"])
    print(f"  test text: {len(g_smol['cases'][0]['ids'])} tokens (SmolLM2), "
          f"{len(g_tf['cases'][0]['ids'])} (transformers GGUF); {diff} SmolLM2 tokens not shared")

    if WIKI_TEST.exists():
        wiki = WIKI_TEST.read_bytes().decode("utf-8")
        t0 = time.perf_counter()
        ids = smol.encode(wiki, add_special_tokens=False).ids
        t_smol = time.perf_counter() - t0
        t0 = time.perf_counter()
        ids_tf = hf(wiki, add_special_tokens=False)["input_ids"]
        t_tf = time.perf_counter() - t0
        write_json("smollm2_wikitext2_test_golden.json", {
            "reference": f"tokenizers {tokenizers.__version__}",
            "file": "wikitext-2-raw/wiki.test.raw",
            "bytes": len(wiki.encode("utf-8")),
            "count": len(ids),
            "first": ids[:100],
            "last": ids[-100:],
            "transformers_gguf_count": len(ids_tf),
            "transformers_gguf_first": ids_tf[:100],
            "transformers_gguf_last": ids_tf[-100:],
            "hf_seconds": round(t_smol, 3),
        })
        print(f"  WikiText-2 test: {len(ids)} tokens in {t_smol:.2f} s (tokenizers), "
              f"transformers GGUF tokenizer: {len(ids_tf)} tokens in {t_tf:.2f} s")
    else:
        print(f"  {WIKI_TEST} missing: no WikiText-2 golden")


# ---- (b) trained byte-level BPEs ----------------------------------------------------------------------

def train_byte_level(pre_tokenizer, special_tokens, vocab_size, ignore_merges=False):
    tok = Tokenizer(models.BPE(ignore_merges=ignore_merges))
    tok.pre_tokenizer = pre_tokenizer
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, show_progress=False, special_tokens=special_tokens,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train([str(TRAIN_TEXT)], trainer)
    return tok


def byte_level_family(texts):
    print("byte-level BPEs trained on", TRAIN_TEXT)
    # GPT-2 regex, RoBERTa-like: prefix space, <s> $A </s>, added tokens with lstrip/rstrip/single_word.
    gpt2 = train_byte_level(pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=True),
                            ["<s>", "</s>", "<|endoftext|>"], 900)
    gpt2.add_special_tokens([AddedToken("<mask>", lstrip=True, special=True),
                             AddedToken("<rs>", rstrip=True, special=True)])
    gpt2.add_tokens([AddedToken("<sw>", single_word=True, normalized=False),
                     AddedToken("@@", normalized=True)])
    gpt2.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> $B </s>",
        special_tokens=[("<s>", gpt2.token_to_id("<s>")), ("</s>", gpt2.token_to_id("</s>"))])

    # Llama 3 regex and pipeline shape: Split + ByteLevel(no regex), ignore_merges, BOS by template.
    llama3 = train_byte_level(pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_SPLIT), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False)]),
        ["<|begin_of_text|>", "<|end_of_text|>", "<|im_start|>", "<|im_end|>"], 1000, ignore_merges=True)
    llama3.post_processor = processors.Sequence([
        processors.ByteLevel(trim_offsets=False),
        processors.TemplateProcessing(single="<|begin_of_text|> $A",
                                      pair="<|begin_of_text|> $A <|begin_of_text|> $B:1",
                                      special_tokens=[("<|begin_of_text|>",
                                                       llama3.token_to_id("<|begin_of_text|>"))])])

    # Qwen2 regex: Split + ByteLevel(no regex), no post-processor.
    qwen2 = train_byte_level(pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_SPLIT), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)]),
        ["<|endoftext|>", "<|im_start|>", "<|im_end|>"], 800)

    for name, tok, desc in [("bpe_gpt2", gpt2, "byte-level BPE, GPT-2 regex (trained here)"),
                            ("bpe_llama3", llama3, "byte-level BPE, Llama 3 split regex (trained here)"),
                            ("bpe_qwen2", qwen2, "byte-level BPE, Qwen2 split regex (trained here)")]:
        tok.save(str(DATA / f"{name}.tokenizer.json"))
        print(f"  wrote tests/data/tokenizer/{name}.tokenizer.json")
        write_json(f"{name}_golden.json", golden_with_tokenizers(tok, desc, texts))


# ---- (c) SentencePiece BPE ----------------------------------------------------------------------------

class _ScoreExtractor:
    """transformers 4's SentencePieceExtractor.extract(vocab_scores): merges ordered by piece score."""

    def __init__(self, model_file):
        self.sp = spm.SentencePieceProcessor(model_file=model_file)

    def extract(self, vocab_scores):
        from transformers.tokenization_utils_base import generate_merges
        vocab = {self.sp.id_to_piece(i): i for i in range(self.sp.get_piece_size())}
        return vocab, generate_merges(vocab, dict(vocab_scores))


def sentencepiece_family(texts):
    from transformers.convert_slow_tokenizer import LlamaConverter
    from transformers import LlamaTokenizer

    work = DATA / "spm_bpe"
    work.mkdir(exist_ok=True)
    prefix = work / "spm_bpe"
    print("SentencePiece BPE trained on", TRAIN_TEXT)
    spm.SentencePieceTrainer.train(
        input=str(TRAIN_TEXT), model_prefix=str(prefix), model_type="bpe", vocab_size=1000, byte_fallback=True,
        character_coverage=0.9995, control_symbols=["<|im_start|>", "<|im_end|>"], user_defined_symbols=["<sep>"],
        unk_id=0, bos_id=1, eos_id=2, pad_id=-1, split_digits=True, allow_whitespace_only_pieces=True,
        remove_extra_whitespaces=False, normalization_rule_name="identity", max_sentence_length=100000,
        num_threads=1, minloglevel=2, seed_sentencepiece_size=100000)
    model_file = str(prefix) + ".model"
    (work / "spm_bpe.vocab").unlink(missing_ok=True)
    sp = spm.SentencePieceProcessor(model_file=model_file)

    # Legacy Llama 2 tokenizer.json, from transformers' own LlamaConverter (its SpmExtractor is adapted to
    # the score-ordered merges transformers 4 used, which this transformers' converter fails to call).
    class Original:
        vocab_file = model_file
        legacy = True
        add_prefix_space = True

        def convert_ids_to_tokens(self, i):
            return sp.id_to_piece(i)

    class Converter(LlamaConverter):
        SpmExtractor = _ScoreExtractor
        special_tokens = []

    legacy = Converter(Original()).converted()
    # LlamaTokenizerFast registered unk/bos/eos as special tokens too (Llama 2's tokenizer.json lists all
    # three); the converter alone adds only the CONTROL pieces, not the UNKNOWN one.
    legacy.add_special_tokens([AddedToken(sp.id_to_piece(i), normalized=False, special=True)
                               for i in (sp.unk_id(), sp.bos_id(), sp.eos_id())])
    bos = sp.id_to_piece(sp.bos_id())
    legacy.post_processor = processors.TemplateProcessing(
        single=f"{bos}:0 $A:0", pair=f"{bos}:0 $A:0 {bos}:1 $B:1", special_tokens=[(bos, sp.bos_id())])
    legacy.save(str(work / "legacy.tokenizer.json"))
    g_legacy = golden_with_tokenizers(legacy, "SentencePiece BPE -> LlamaConverter (legacy) tokenizer.json", texts)

    # SentencePiece itself on text without special tokens (it does not know them) must agree.
    agree = total = 0
    for case in g_legacy["cases"]:
        for line in case["text"].split("\n"):
            if not line or any(s in line for s in ("<|im_start|>", "<|im_end|>", "<sep>", "<s>", "</s>", "<unk>")):
                continue
            total += 1
            agree += sp.encode(line) == legacy.encode(line, add_special_tokens=False).ids
    g_legacy["sentencepiece_agreement"] = [agree, total]
    print(f"  sentencepiece == legacy tokenizer.json on {agree}/{total} special-free lines")
    write_json("spm_legacy_golden.json", g_legacy)
    if WIKI_TEST.exists():
        # One long "word" per stretch between special tokens (no pre-tokenizer), byte fallback on real text.
        wiki = WIKI_TEST.read_bytes().decode("utf-8")
        t0 = time.perf_counter()
        ids = legacy.encode(wiki, add_special_tokens=False).ids
        seconds = time.perf_counter() - t0
        same_as_spm = ids == sp.encode(wiki)
        write_json("spm_legacy_wikitext2_test_golden.json", {
            "reference": f"tokenizers {tokenizers.__version__}",
            "file": "wikitext-2-raw/wiki.test.raw",
            "count": len(ids), "first": ids[:100], "last": ids[-100:], "hf_seconds": round(seconds, 3),
            "sentencepiece_identical": same_as_spm,
        })
        print(f"  WikiText-2 test: {len(ids)} tokens in {seconds:.2f} s; sentencepiece identical: {same_as_spm}")

    # transformers 5's LlamaTokenizer from the .model: Metaspace(prepend_scheme=first, split=False).
    (work / "tokenizer.model").write_bytes(pathlib.Path(model_file).read_bytes())
    try:
        fast = LlamaTokenizer.from_pretrained(str(work))
    finally:
        (work / "tokenizer.model").unlink()
    meta_json = json.loads(fast.backend_tokenizer.to_str())
    (work / "metaspace.tokenizer.json").write_text(json.dumps(meta_json, ensure_ascii=False, indent=1),
                                                   encoding="utf-8")
    write_json("spm_metaspace_golden.json", golden_with_transformers(
        fast, "SentencePiece BPE -> transformers LlamaTokenizer (Metaspace first)", texts))

    # A variant that splits at every '▁' and always prepends (Metaspace split=True, decoder Metaspace).
    split_json = json.loads(json.dumps(meta_json))
    split_json["pre_tokenizer"] = {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always",
                                   "split": True}
    split_json["decoder"] = {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always",
                             "split": True}
    split_tok = Tokenizer.from_str(json.dumps(split_json))
    split_tok.save(str(work / "metaspace_split.tokenizer.json"))
    write_json("spm_metaspace_split_golden.json", golden_with_tokenizers(
        split_tok, "SentencePiece BPE, Metaspace(always, split) pre-tokenizer and decoder", texts))

    # The same vocabulary as a tokenizer-only GGUF (tokens, scores, types), as llama.cpp writes "llama" ones.
    proto_types = [sp.IsUnknown(i) and 2 or sp.IsControl(i) and 3 or sp.IsUnused(i) and 5 or sp.IsByte(i) and 6
                   or (1 if sp.id_to_piece(i) != "<sep>" else 4) for i in range(sp.get_piece_size())]
    gguf_path = work / "spm_bpe.gguf"
    w = gguf.GGUFWriter(str(gguf_path), arch="llama")
    w.add_tokenizer_model("llama")
    w.add_token_list([sp.id_to_piece(i) for i in range(sp.get_piece_size())])
    w.add_token_scores([sp.get_score(i) for i in range(sp.get_piece_size())])
    w.add_token_types(proto_types)
    w.add_bos_token_id(sp.bos_id())
    w.add_eos_token_id(sp.eos_id())
    w.add_unk_token_id(sp.unk_id())
    w.add_add_bos_token(True)
    w.add_add_eos_token(False)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    print(f"  wrote {gguf_path.relative_to(ROOT)}")

    # What transformers builds from that GGUF (for the record and as one more pipeline for our loader).
    tf_gguf = AutoTokenizer.from_pretrained(str(work), gguf_file="spm_bpe.gguf")
    (work / "transformers_gguf.tokenizer.json").write_text(tf_gguf.backend_tokenizer.to_str(), encoding="utf-8")
    write_json("spm_transformers_gguf_golden.json", golden_with_transformers(
        tf_gguf, "transformers AutoTokenizer(gguf_file=spm_bpe.gguf)", texts))


# ---- UTF-8 lossy decoding ------------------------------------------------------------------------------

def utf8_lossy():
    samples = ["41", "c3a9", "c3", "e4b8", "e4b8ad", "f09f98", "f09f9880", "c080", "e08080", "eda080", "f4908080",
               "f5", "80", "bf80", "41e4b841", "f09f41", "e0a0", "ed9fbf", "f48fbfbf", "fe", "ff41", "c3c3a9",
               "e4b8e4b8ad", "f0", "f090", "f09080", "e1", "e180", "efbfbd", "414243e282"]
    write_json("utf8_lossy_golden.json", {
        "reference": f"Python {sys.version.split()[0]} bytes.decode('utf-8', 'replace')",
        "cases": [[h, bytes.fromhex(h).decode("utf-8", "replace")] for h in samples],
    })


def random_text_golden():
    texts = random_texts()
    tokenizers_used = {
        "smollm2": smollm2.tokenizer,
        "bpe_gpt2": Tokenizer.from_file(str(DATA / "bpe_gpt2.tokenizer.json")),
        "bpe_llama3": Tokenizer.from_file(str(DATA / "bpe_llama3.tokenizer.json")),
        "bpe_qwen2": Tokenizer.from_file(str(DATA / "bpe_qwen2.tokenizer.json")),
        "spm_legacy": Tokenizer.from_file(str(DATA / "spm_bpe" / "legacy.tokenizer.json")),
        "spm_metaspace_split": Tokenizer.from_file(str(DATA / "spm_bpe" / "metaspace_split.tokenizer.json")),
    }
    write_json("random_text.json", {
        "seed": 1234,
        "texts": texts,
    })
    for name, tok in tokenizers_used.items():
        write_json(f"random_text_{name}_golden.json", {
            "reference": f"tokenizers {tokenizers.__version__}",
            "ids": [tok.encode(t).ids for t in texts],
        })


def main():
    DATA.mkdir(parents=True, exist_ok=True)
    texts = [read_test_text()] + EDGE_CASES
    print(f"transformers {transformers.__version__}, tokenizers {tokenizers.__version__}, "
          f"sentencepiece {spm.__version__}, gguf {importlib.metadata.version('gguf')}")
    utf8_lossy()
    smollm2(texts)
    byte_level_family(texts)
    sentencepiece_family(texts)
    random_text_golden()


if __name__ == "__main__":
    main()
