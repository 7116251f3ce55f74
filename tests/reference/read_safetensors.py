#!/usr/bin/env python3
"""Loads a .safetensors file with the reference `safetensors` package (torch backend, so bfloat16 works) and
prints one JSON object: {"metadata": {...}, "tensors": {name: {"dtype", "shape", "values"}}} (non-finite
values as the strings "inf", "-inf", "nan"); float32 tensors
also get "as_float16" / "as_bfloat16": torch's rounding of their values (the reference for fp16/bf16 output).
Used by the C++ writer tests to prove that files they write load in Python with the intended values."""
import json
import math
import sys

import torch
from safetensors import safe_open


def plain(values):
    """JSON has no infinities or NaN: write them as the strings "inf", "-inf", "nan"."""
    return [v if math.isfinite(v) else str(v) for v in values]


def main(path):
    out = {"tensors": {}}
    with safe_open(path, framework="pt") as f:
        out["metadata"] = f.metadata()
        for name in f.keys():
            t = f.get_tensor(name)
            values = plain(t.float().reshape(-1).tolist()) if t.is_floating_point() else t.reshape(-1).tolist()
            entry = {"dtype": str(t.dtype).replace("torch.", ""), "shape": list(t.shape), "values": values}
            if t.dtype == torch.float32:
                entry["as_float16"] = plain(t.to(torch.float16).float().reshape(-1).tolist())
                entry["as_bfloat16"] = plain(t.to(torch.bfloat16).float().reshape(-1).tolist())
            out["tensors"][name] = entry
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1])
