#!/usr/bin/env python3
"""Unicode NFC/NFD tables for the C++ tokenizer and the golden files that check them.

Writes
  engine/tokenizer/unicode_nfc_tables.inc        canonical decompositions, combining classes, primary
                                                 composites and the NFC quick-check set, from Python's
                                                 `unicodedata` (Hangul syllables are left to the algorithm)
  tests/data/tokenizer/nfc_golden.json           strings with unicodedata.normalize('NFC' / 'NFD', s)
  tests/data/tokenizer/nfc_bpe.tokenizer.json    a byte-level BPE (Qwen2 shape) with the NFC normalizer,
                                                 trained here with HF `tokenizers`
  tests/data/tokenizer/nfc_bpe_golden.json       its ids on composed, decomposed and mixed text, also with
                                                 other normalizer sequences (NFD, Replace) spliced in

Unicode versions: the tables follow this Python's unicodedata. HF `tokenizers` normalizes with the
unicode-normalization-alignments crate (0.1.12), whose tables are Unicode 9.0.0, so it leaves alone the
combining marks (and the one composition) added since. This script finds those code points by comparing
tokenizers.normalizers.NFC/NFD with unicodedata on every code point, lists them in the .inc header and
keeps them out of the tokenizer golden texts.

Run:  .venv/bin/python tests/reference/make_unicode_nfc_tables.py
"""
import json
import pathlib
import random
import sys
import textwrap
import unicodedata as ud

import tokenizers
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

ROOT = pathlib.Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "tokenizer"
TABLES = ROOT / "engine" / "tokenizer" / "unicode_nfc_tables.inc"

# tokenizers/Cargo.toml depends on unicode-normalization-alignments = "0.1" (newest release 0.1.12, a 2019
# fork of unicode-normalization whose src/tables.rs has UNICODE_VERSION = (9, 0, 0)); hf_differences()
# confirms it from the installed tokenizers' behaviour.
HF_CRATE = "unicode-normalization-alignments 0.1.12"
HF_CRATE_UNICODE = "9.0.0"

S_BASE, L_BASE, V_BASE, T_BASE = 0xAC00, 0x1100, 0x1161, 0x11A7
L_COUNT, V_COUNT, T_COUNT = 19, 21, 28
S_COUNT = L_COUNT * V_COUNT * T_COUNT

QWEN2_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
               r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")


def all_code_points():
    return (cp for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF)


def is_hangul_syllable(cp):
    return S_BASE <= cp < S_BASE + S_COUNT


# ---- tables -------------------------------------------------------------------------------------------

def unicode_data():
    """Canonical mappings (one level, as UnicodeData.txt has them), combining classes, primary composites."""
    decomp, ccc, compose = {}, {}, {}
    for cp in all_code_points():
        c = chr(cp)
        if ud.combining(c):
            ccc[cp] = ud.combining(c)
        if is_hangul_syllable(cp):
            continue
        d = ud.decomposition(c)
        if d and not d.startswith("<"):
            decomp[cp] = [int(x, 16) for x in d.split()]
    for cp, m in decomp.items():
        assert 1 <= len(m) <= 2, (hex(cp), m)
        # A two-character mapping is a primary composite unless NFC keeps it decomposed: that is exactly
        # Full_Composition_Exclusion (the exclusion list plus non-starter decompositions).
        if len(m) == 2 and ud.normalize("NFC", chr(cp)) == chr(cp):
            compose[tuple(m)] = cp
    # The tables must reproduce unicodedata's NFD of every single code point (full recursive expansion).
    def expand(cp):
        return [x for y in decomp[cp] for x in (expand(y) if y in decomp else [y])] if cp in decomp else [cp]
    for cp in decomp:
        got = sorted_by_ccc(expand(cp), ccc)
        assert "".join(map(chr, got)) == ud.normalize("NFD", chr(cp)), hex(cp)
    return decomp, ccc, compose


def sorted_by_ccc(cps, ccc):
    out = list(cps)
    for i in range(1, len(out)):  # stable insertion sort of non-starter runs
        j = i
        while j > 0 and ccc.get(out[j], 0) != 0 and ccc.get(out[j - 1], 0) > ccc.get(out[j], 0):
            out[j - 1], out[j] = out[j], out[j - 1]
            j -= 1
    return out


def unstable_code_points(ccc, compose):
    """Code points that may change under NFC in some context: non-starters, code points NFC rewrites on
    their own, and code points that combine with a preceding one. A string made only of the others is
    already NFC (the quick check)."""
    seconds = {b for (_, b) in compose} | set(range(V_BASE, V_BASE + V_COUNT)) | set(range(T_BASE + 1, T_BASE + T_COUNT))
    out = [cp for cp in all_code_points()
           if cp in ccc or cp in seconds or ud.normalize("NFC", chr(cp)) != chr(cp)]
    assert min(out) == 0x300, "the below-U+0300 fast path assumes nothing under U+0300 is unstable"
    return out


def runs(cps, value=lambda cp: None):
    """[[first, last, value]] over sorted code points, merging neighbours with the same value."""
    out = []
    for cp in cps:
        v = value(cp)
        if out and out[-1][1] == cp - 1 and out[-1][2] == v:
            out[-1][1] = cp
        else:
            out.append([cp, cp, v])
    return out


def hf_differences():
    """Code points where HF tokenizers' NFC/NFD differs from unicodedata, alone or next to other marks."""
    nfc, nfd = normalizers.NFC(), normalizers.NFD()
    def same(s):
        return nfc.normalize_str(s) == ud.normalize("NFC", s) and nfd.normalize_str(s) == ud.normalize("NFD", s)

    diff = set()
    for cp in all_code_points():
        c = chr(cp)
        if not all(same(s) for s in (c, "a\u0301" + c, "a" + c + "\u0334")):
            diff.add(cp)
        if not same(ud.normalize("NFD", c)):  # a composition the crate does not know: both parts count
            diff.update(ord(x) for x in ud.normalize("NFD", c))
    return sorted(diff)


def hex_list(values, per_line, fmt):
    items = [fmt(v) for v in values]
    lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
    return "    " + ",\n    ".join(lines) + ",\n"


def write_tables(decomp, ccc, compose, unstable, hf_diff):
    h = lambda x: f"0x{x:X}"
    diff_runs = ", ".join(h(a) if a == b else f"{h(a)}-{h(b)}" for a, b, _ in runs(hf_diff))
    wrapped = textwrap.fill(diff_runs, 112, initial_indent="//   ", subsequent_indent="//   ")
    ccc_runs = runs(sorted(ccc), lambda cp: ccc[cp])
    unstable_runs = runs(unstable)
    index = {cp: i for i, cp in enumerate(sorted(decomp))}
    text = f"""// Generated by tests/reference/make_unicode_nfc_tables.py from Python {sys.version.split()[0]} unicodedata,
// Unicode {ud.unidata_version}. Do not edit; rerun the script.
//
// Hugging Face tokenizers normalizes with {HF_CRATE} (Unicode {HF_CRATE_UNICODE}). The two
// agree on every code point except these {len(hf_diff)}, assigned after Unicode {HF_CRATE_UNICODE} (combining marks the crate
// treats as class 0, and the parts of the composition U+11935 U+11930 -> U+11938):
{wrapped}
// Included by unicode_nfc.cpp inside its table namespace, after the struct definitions.

constexpr char kTablesUnicodeVersion[] = "{ud.unidata_version}";

// Canonical decomposition mappings, one level (second == 0: singleton), sorted by code point.
// Hangul syllables are decomposed arithmetically and are not listed.
constexpr Decomposition kDecompositions[{len(decomp)}] = {{
{hex_list(sorted(decomp.items()), 6, lambda kv: "{" + h(kv[0]) + "," + h(kv[1][0]) + "," + (h(kv[1][1]) if len(kv[1]) == 2 else "0") + "}")}}};

// Primary composites (two-character mappings minus Full_Composition_Exclusion): indices into
// kDecompositions, sorted by (first, second).
constexpr uint16_t kCompositions[{len(compose)}] = {{
{hex_list([index[cp] for _, cp in sorted(compose.items())], 20, str)}}};

// Canonical_Combining_Class != 0 as runs of equal class, sorted.
constexpr CombiningClassRun kCombiningClasses[{len(ccc_runs)}] = {{
{hex_list(ccc_runs, 7, lambda r: "{" + h(r[0]) + "," + h(r[1]) + "," + str(r[2]) + "}")}}};

// Code points NFC may change in some context (non-starters, code points NFC rewrites, code points that
// compose with a preceding one); text without any of them is already NFC. Sorted runs.
constexpr CodePointRange kNfcUnstable[{len(unstable_runs)}] = {{
{hex_list(unstable_runs, 8, lambda r: "{" + h(r[0]) + "," + h(r[1]) + "}")}}};
"""
    TABLES.write_text(text, encoding="utf-8")
    print(f"  wrote {TABLES.relative_to(ROOT)} ({TABLES.stat().st_size} bytes): {len(decomp)} decompositions, "
          f"{len(compose)} compositions, {len(ccc_runs)} class runs, {len(unstable_runs)} quick-check runs")


# ---- golden strings -----------------------------------------------------------------------------------

# Natural text in several scripts (written composed); the cases use it composed, decomposed and mixed.
SENTENCES = [
    "Tiếng Việt có dấu: người, phở bò, Nguyễn Trãi, đường phố, ước mơ, những ngày xưa, Hà Nội.",
    "Le cœur a ses raisons que la raison ne connaît point. Déjà vu, crème brûlée, naïveté, Noël, hôpital.",
    "Schöne Grüße aus München! Übermäßig viele Äpfel, Öffnungszeiten für Fußgänger.",
    "El niño comió piñata mañana; ação, coração, não, pão, São Paulo.",
    "Ἐν ἀρχῇ ἦν ὁ λόγος, καὶ ὁ λόγος ἦν πρὸς τὸν θεόν. ᾠδή, ῥήτωρ, Ἑλληνική γλῶσσα.",
    "한국어는 대한민국의 공용어입니다. 안녕하세요, 감사합니다, 서울특별시.",
    "हिन्दी भारत की राजभाषा है। ऩ ऱ ऴ, क़लम ज़रूर फ़िल्म ड़ ढ़.",
    "Zażółć gęślą jaźń. Příliš žluťoučký kůň úpěl ďábelské ódy.",
    "Ẹ kú àárọ̀, ọmọ mi. Ọjọ́ ayọ̀ ni.",
    "ガギグゲゴ がぎぐげご パピプペポ ヴ ゔ 日本語のテキスト.",
    "বাংলা ভাষা: কোৌ, ଓଡ଼ିଆ ୋ ୌ, தமிழ் ொ ோ ௌ, മലയാളം ൊ ോ ൌ, සිංහල ේ ො.",
    "Ångström Å, 25 K, 3 Ω, Ωmega, ŉ, ǅ, ẛ̣, ḯ, ǖǘǚǜ.",
]

COMBINING_MARKS = ("\u0300\u0301\u0302\u0303\u0304\u0306\u0307\u0308\u0309\u030a\u030b\u030c\u031b\u0323"
                   "\u0324\u0325\u0327\u0328\u032d\u0330\u0331\u0334\u0338\u0345\u0313\u0314\u0342\u0591\u05b0"
                   "\u05bc\u05c1\u064b\u0651\u0670\u093c\u094d\u09bc\u0e38\u0e48\u1dc0\u1dce\u20d0\u20e3\u302a"
                   "\u302e\u3099\u309a\ufe20\U0001d165\U0001d16d\U0001d172")

HANDMADE = [
    "", "a", "abc", "e\u0301", "\u00e9", "e\u0301\u0301", "\u0301", "\u0301e", "\u0301\u0323", "a\u0323\u0301",
    "a\u0301\u0323", "a\u0334\u0301", "a\u0301\u0334", "a\u0308\u0304", "u\u0308\u0301", "u\u0301\u0308",
    "o\u031b\u0323", "o\u0323\u031b", "o\u0302\u0323", "o\u0323\u0302", "e\u0323\u0302\u0301", "e\u0302\u0301\u0323",
    "A\u030a", "\u212b", "\u00c5\u0301", "\u212a", "\u2126", "K\u0301", "\u03a9\u0301", "\u2126\u0301",
    # Hangul: L V, L V T, LV + T, LVT + T, lone jamo, old jamo, jamo between other text
    "\u1100\u1161", "\u1100\u1161\u11a8", "\uac00\u11a8", "\uac01\u11a8", "\u1161", "\u11a8", "\u1100\u1100\u1161",
    "\u1100\u1161\u1161", "\u1100\u0301\u1161", "\u1112\u1161\u11ab\u1100\u116e\u11a8\u110b\u1165", "\u115f\u1161",
    "\u1100\u1176", "\u1113\u1161", "\ua960\u1161", "\u1100\ud7b0", "\uac00\u11c3", "\uac00\u11a7", "\ud7a3\u11a8",
    "\uac1c\u11a8", "x\u1100\u1161\u11a8y", "\u1100\u1161\u0300\u11a8", "\ud55c\uad6d\uc5b4",
    # Greek: tonos, iota subscript (class 240), breathing marks, singletons
    "\u03b1\u0313\u0301\u0345", "\u03b1\u0345\u0313\u0301", "\u03c9\u0345\u0314\u0342", "\u1f71", "\u0387",
    "\u037e", "\u0374", "\u0340\u0341\u0343\u0344", "\u03b9\u0308\u0301", "\u03d2\u0301", "\u1fee", "\u1fed",
    # Devanagari and other Indic: nukta exclusions, composing vowel signs, two-part vowels
    "\u0915\u093c", "\u0958", "\u0928\u093c", "\u0929", "\u0930\u093c", "\u0933\u093c", "\u09c7\u09be",
    "\u09c7\u09d7", "\u09cb", "\u09dc", "\u0b47\u0b3e", "\u0b47\u0b56", "\u0b47\u0b57", "\u0b92\u0bd7",
    "\u0bc6\u0bbe", "\u0bc7\u0bbe", "\u0bc6\u0bd7", "\u0cbf\u0cd5", "\u0cc6\u0cc2\u0cd5", "\u0d46\u0d3e",
    "\u0d46\u0d57", "\u0dd9\u0dcf\u0dca", "\u0dd9\u0ddf", "\u1025\u102e", "\u1b05\u1b35", "\U00011131\U00011127",
    "\U00011347\U0001133e", "\U00011347\U00011357", "\U000114b9\U000114ba", "\U000115b8\U000115af",
    "\U00011935\U00011930", "\U00011938",
    # Tibetan and Hebrew exclusions
    "\u0f43", "\u0f42\u0fb7", "\u0f73", "\u0f75", "\u0f81", "\u0f71\u0f72", "\ufb1d", "\ufb2a", "\u05e9\u05c1",
    "\ufb4e", "\u05d0\u05b7", "\u2adc", "\u2add\u0338",
    # CJK compatibility ideographs (singletons), plane 2 included
    "\uf900", "\uf901\uf902", "\ufa10", "\ufad9", "\U0002f800", "\U0002fa1d", "\u8c48\uf900",
    # musical symbols (composition exclusions with stacked classes)
    "\U0001d15e", "\U0001d160", "\U0001d157\U0001d165", "\U0001d1bb", "\U0001d165\U0001d16e\U0001d16d",
    # blocked and unblocked compositions
    "a\u0305\u0301", "a\u0315\u0300\u05ae\u0300b", "a\u059a\u0316\u302a\u0300", "\u0041\u0300\u0301",
    "\u0041\u0327\u0301", "\u0041\u0301\u0327", "c\u0327\u0301", "s\u0323\u0307", "s\u0307\u0323",
    "\u1e9b\u0323", "\u017f\u0307\u0323", "\u0061\u200d\u0301", "\u0061\u034f\u0301", "e\u0304\u0300",
    "e\u0300\u0304", "\u0045\u0306\u0327", "\u0391\u0313\u0300\u0345", "i\u0307\u0301", "\u0130\u0301",
    "\u00e0\u0323", "\u1ea1\u0300", "\u00c7\u0301", "\u1e08", "\u3099", "\u304b\u3099", "\u30cf\u309a",
    "\u3046\u3099", "\u309b", "\u1e0b\u0323", "\u1e0d\u0307", "d\u0307\u0323", "q\u0307\u0323",
    # other scripts and symbols untouched by NFC
    "\U0001F600\U0001F44D\U0001F3FD\u200d\u2764\ufe0f", "中文字符 日本語 한국어", "\u00bd \u00b2 \u2167 \ufb01 \u01c4",
    "\u2000\u2001\u2002", "\u2329\u232a", "\uff21\uff22",
    "".join(map(chr, range(0x300))),  # everything the below-U+0300 fast path passes through
]

POOLS = [
    "abcdeiouyAEIOUnszNSZ ",
    "áàâãäåçéèêëíìîïñóòôõöúùûüýÿĀăąćĉċčďēĕėęěĝğġģĥĩīĭįıĵķĺļľńņňōŏőŕŗřśŝşšţťũūŭůűųŵŷźżž",
    "ạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹđơư",
    COMBINING_MARKS,
    "\u1100\u1101\u1112\u1161\u1162\u1175\u11a8\u11a9\u11c2\uac00\uac01\ud7a3\u1113\u1176\u11c3",
    "αβγδεηιουωἀἁἂἄἆὰάᾀᾳῶῷΑΩΐΰ\u0313\u0314\u0342\u0345",
    "\u0915\u0916\u0917\u091c\u0921\u0922\u092b\u092f\u0928\u0930\u0933\u093c\u093e\u0947\u094d\u0958\u095f",
    "\u212b\u212a\u2126\u0340\u0341\u0343\u0344\u0374\u037e\u0387\u1f71\u1fee\u2000\u2001\u2329",
    "\uf900\uf901\ufa10\ufad9\U0002f800\U0002fa1d\u0f43\u0f73\u0f75\ufb1d\ufb2a\u2adc\U0001d15e",
    "\u09c7\u09be\u09d7\u0b47\u0b3e\u0b56\u0bc6\u0bbe\u0bd7\u0cc6\u0cc2\u0cd5\u0d46\u0d3e\u0d57\u0dd9\u0dcf",
    "中文日本語がぱ\u3099\u309a\U0001F600\u200d\ufe0f",
]


def random_mixtures(rng, count):
    out = []
    for _ in range(count):
        parts = []
        for _ in range(rng.randint(1, 8)):
            pool = rng.choice(POOLS)
            parts.append("".join(rng.choice(pool) for _ in range(rng.randint(1, 5))))
        out.append("".join(parts))
    return out


def scrambled(rng, text):
    """A canonically equivalent spelling of `text`: each character decomposed or not at random, and the
    marks of each combining sequence in a random order that keeps the order of marks of equal class."""
    pieces = [ud.normalize("NFD", c) if rng.random() < 0.6 else c for c in text]
    cps = list("".join(pieces))
    i = 0
    while i < len(cps):
        j = i
        while j < len(cps) and ud.combining(cps[j]):
            j += 1
        if j - i > 1:
            run = cps[i:j]
            for _ in range(4):  # random adjacent swaps of marks of different class keep equivalence
                k = rng.randrange(len(run) - 1)
                if ud.combining(run[k]) != ud.combining(run[k + 1]):
                    run[k], run[k + 1] = run[k + 1], run[k]
            cps[i:j] = run
        i = max(j, i + 1)
    out = "".join(cps)
    assert ud.normalize("NFC", out) == ud.normalize("NFC", text)
    return out


def sweeps(decomp, ccc):
    """Long strings that cover the whole tables: every decomposable code point (decomposition and, through
    NFC, recomposition), and every non-starter placed between marks of the neighbouring classes (any wrong
    class moves it)."""
    out = [" ".join(chr(cp) for cp in sorted(decomp)),
           " ".join(ud.normalize("NFD", chr(cp)) for cp in sorted(decomp)),
           " ".join(chr(s) for s in range(S_BASE, S_BASE + S_COUNT, 37)),
           " ".join(ud.normalize("NFD", chr(s)) for s in range(S_BASE + 5, S_BASE + S_COUNT, 41))]
    classes = sorted(set(ccc.values()))
    rep = {v: min(cp for cp, c in ccc.items() if c == v) for v in classes}
    seq = []
    for cp in sorted(ccc):
        k = classes.index(ccc[cp])
        lower = chr(rep[classes[k - 1]]) if k > 0 else ""
        higher = chr(rep[classes[k + 1]]) if k + 1 < len(classes) else ""
        seq.append("|" + higher + chr(cp) + lower)
    out.append("".join(seq))
    out.append("".join("a" + chr(cp) + "\u0301 " for cp in sorted(ccc)))
    return out


def nfc_golden(decomp, ccc, hf_diff):
    rng = random.Random(20240531)
    texts = list(HANDMADE)
    for s in SENTENCES:
        texts += [s, ud.normalize("NFD", s), scrambled(rng, s)]
    for s in HANDMADE:
        if len(s) > 1 and rng.random() < 0.5:
            texts.append(scrambled(rng, s))
    texts += random_mixtures(rng, 220)
    n_handmade = len(texts)
    texts += sweeps(decomp, ccc)
    hf, hf_set = normalizers.NFC(), set(hf_diff)
    differing = 0
    for t in texts:
        if hf.normalize_str(t) != ud.normalize("NFC", t):
            differing += 1
            assert any(ord(c) in hf_set for c in t), f"unexplained HF NFC difference on {t!r}"
    cases = [{"text": t, "nfc": ud.normalize("NFC", t), "nfd": ud.normalize("NFD", t)} for t in texts]
    path = DATA / "nfc_golden.json"
    lines = [f'"reference":{json.dumps("Python " + sys.version.split()[0] + " unicodedata.normalize")}',
             f'"unicode_version":"{ud.unidata_version}"',
             f'"hf_tokenizers_differs_on":{differing}',
             '"cases":[\n  ' + ",\n  ".join(json.dumps(c, ensure_ascii=False) for c in cases) + "\n]"]
    path.write_text("{\n" + ",\n".join(lines) + "\n}\n", encoding="utf-8")
    print(f"  wrote {path.relative_to(ROOT)}: {len(cases)} strings ({n_handmade} short, "
          f"{len(cases) - n_handmade} table sweeps; HF tokenizers' NFC differs on {differing}, all explained)")


# ---- end to end: a tokenizer with the NFC normalizer ----------------------------------------------------

def nfc_tokenizer(hf_diff):
    rng = random.Random(7)
    corpus = []
    for _ in range(300):
        corpus.append(" ".join(rng.sample(SENTENCES, 3)))
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_SPLIT), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=900, show_progress=False,
                                  special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(corpus, trainer)
    # A normalized added token written decomposed: it matches the NFC form of the text.
    tok.add_tokens([AddedToken("cafe\u0301", normalized=True), AddedToken("Ω-raw", normalized=False)])
    path = DATA / "nfc_bpe.tokenizer.json"
    tok.save(str(path))
    print(f"  wrote {path.relative_to(ROOT)}")

    texts = []
    for s in SENTENCES:
        texts += [s, ud.normalize("NFD", s), scrambled(rng, s)]
    texts += ["cafe\u0301 caf\u00e9 <|im_start|>Ve\u0302\u0323t<|im_end|>", "\u2126-raw \u03a9-raw \u2126", "",
              "\u212bngstro\u0308m", "\u1100\u1161\u11a8 \uac00\u11a8", "\u0958\u0915\u093c", "\uf900\uf901"]
    texts += [t for t in random_mixtures(rng, 60) if not any(ord(c) in set(hf_diff) for c in t)]

    variants = [
        ("NFC", None),
        ("Sequence[NFD, Replace(combining acute/grave/tilde -> ''), NFC]",
         normalizers.Sequence([normalizers.NFD(), normalizers.Replace(Regex("[\u0300\u0301\u0303]"), ""),
                               normalizers.NFC()])),
        ("Sequence[NFD]", normalizers.Sequence([normalizers.NFD()])),
        ("Sequence[Replace('\u212b' -> 'A\u030a'), NFC]",
         normalizers.Sequence([normalizers.Replace("\u212b", "A\u030a"), normalizers.NFC()])),
    ]
    out = []
    for name, norm in variants:
        t = Tokenizer.from_file(str(path))
        if norm is not None:
            t.normalizer = norm
        cases = []
        for x in texts:
            ids = t.encode(x, add_special_tokens=False).ids
            cases.append({"text": x, "ids": ids, "decode": t.decode(ids, skip_special_tokens=False)})
        out.append({"name": name, "normalizer": json.loads(t.to_str())["normalizer"], "cases": cases})
    # The decomposed spellings must give the composed spelling's ids under NFC, or the test proves nothing.
    nfc_ids = {c["text"]: c["ids"] for c in out[0]["cases"]}
    for s in SENTENCES:
        assert nfc_ids[ud.normalize("NFD", s)] == nfc_ids[s]
    raw = Tokenizer.from_file(str(path))
    raw.normalizer = None
    changed = sum(raw.encode(c["text"], add_special_tokens=False).ids != c["ids"] for c in out[0]["cases"])
    gpath = DATA / "nfc_bpe_golden.json"
    body = ",\n".join(
        "  {" + f'"name":{json.dumps(v["name"], ensure_ascii=False)},"normalizer":'
        f'{json.dumps(v["normalizer"], ensure_ascii=False)},"cases":[\n    '
        + ",\n    ".join(json.dumps(c, ensure_ascii=False, separators=(",", ":")) for c in v["cases"]) + "\n  ]}"
        for v in out)
    gpath.write_text("{\n" + f'"reference":"tokenizers {tokenizers.__version__}",\n"variants":[\n{body}\n]\n}}\n',
                     encoding="utf-8")
    print(f"  wrote {gpath.relative_to(ROOT)}: {len(variants)} normalizers x {len(texts)} texts "
          f"(NFC changes the ids of {changed})")


def main():
    print(f"Python {sys.version.split()[0]}, unicodedata {ud.unidata_version}, tokenizers {tokenizers.__version__}")
    decomp, ccc, compose = unicode_data()
    unstable = unstable_code_points(ccc, compose)
    hf_diff = hf_differences()
    print(f"  HF tokenizers ({HF_CRATE}, Unicode {HF_CRATE_UNICODE}) differs from unicodedata on "
          f"{len(hf_diff)} code points")
    write_tables(decomp, ccc, compose, unstable, hf_diff)
    nfc_golden(decomp, ccc, hf_diff)
    nfc_tokenizer(hf_diff)


if __name__ == "__main__":
    main()
