#!/usr/bin/env python3
"""Checks a tokenizer folder written by our C++ exporter (tokenizer_json_from_gguf_vocab /
tokenizer_config_from_gguf_vocab) with the reference libraries: HF `tokenizers` must load tokenizer.json
and transformers' AutoTokenizer the folder, and both must reproduce a golden file of
make_tokenizer_golden.py (ids with and without special tokens, decodes with and without skipping them).

Usage: check_exported_tokenizer.py <folder> <golden.json>
Exit status: 0 all equal, 1 a difference (printed), 77 reference libraries unavailable.
Run by tests/core/tokenizer_export_test.cpp.
"""
import json
import sys

try:
    from tokenizers import Tokenizer
    from transformers import AutoTokenizer
except ImportError as e:  # the C++ test skips on 77
    print(f"reference libraries unavailable: {e}")
    sys.exit(77)


def main():
    folder, golden_path = sys.argv[1], sys.argv[2]
    golden = json.load(open(golden_path, encoding="utf-8"))
    raw = Tokenizer.from_file(f"{folder}/tokenizer.json")
    auto = AutoTokenizer.from_pretrained(folder)
    failures = 0
    for i, case in enumerate(golden["cases"]):
        text, ids = case["text"], case["ids"]
        got = {
            "tokenizers ids": raw.encode(text, add_special_tokens=True).ids,
            "tokenizers ids_no_special": raw.encode(text, add_special_tokens=False).ids,
            "transformers ids": auto(text, add_special_tokens=True)["input_ids"],
            "transformers ids_no_special": auto(text, add_special_tokens=False)["input_ids"],
            "tokenizers decode": raw.decode(ids, skip_special_tokens=False),
            "tokenizers decode_skip_special": raw.decode(ids, skip_special_tokens=True),
            "transformers decode": auto.decode(ids, skip_special_tokens=False),
            "transformers decode_skip_special": auto.decode(ids, skip_special_tokens=True),
        }
        for what, value in got.items():
            want = case[what.split(" ", 1)[1]]
            if value != want:
                failures += 1
                print(f"case {i} ({text[:40]!r}): {what} differs:\n  got  {value!r:.300}\n  want {want!r:.300}")
    print(f"{len(golden['cases'])} cases, {failures} differences")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
