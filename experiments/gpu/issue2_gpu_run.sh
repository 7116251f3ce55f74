#!/usr/bin/env bash
# Engine-core measurements on the GPU machine (issue 2), in two calls because the default model's GGUF
# (98 MB) exceeds what one call may carry: call "a" builds and runs the Llama-2-7B-shaped benchmarks and
# keeps the first half of the GGUF in /tmp; call "b" joins it and measures the default model; call "c"
# (right after, while the machine is warm) runs the AWQ quality sweep on it.
set -euo pipefail
cd "$(dirname "$0")/../.."
STAGE=$1
export BUILD_DIR=build-gpu PYTHON=python3 PYTHONUNBUFFERED=1
MACHINE="$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1), torch $(python3 -c 'import torch;print(torch.__version__)')"
if [ "$STAGE" = prep ]; then
  cp .carry/a/gguf.part-aa /tmp/
  AWQ_CUDA=OFF bash experiments/gpu/build_on_device.sh awqlab-cli engine_speed_bench awq_quant_bench
elif [ "$STAGE" = a ]; then
  cp .carry/a/gguf.part-aa /tmp/
  AWQ_CUDA=OFF bash experiments/gpu/build_on_device.sh awqlab-cli engine_speed_bench awq_quant_bench
  bash experiments/speed/run_speed_bench.sh engine_speed_gpu_7b "$MACHINE" \
    "--shape llama2-7b --device cuda --dtype bfloat16 --batch 1 --prompt-len 512 --new-tokens 128" \
    "--shape llama2-7b --device cuda --dtype bfloat16 --batch 8 --prompt-len 512 --new-tokens 64"
  cp experiments/results/engine_speed_gpu_7b.* "$OUT/"
  build-gpu/experiments/awq_quant_bench --shape llama2-7b --device cuda --dtype float16 --samples 128 --seqlen 512 \
    | tee $OUT/awq_quant_bench_7b.json
elif [ "$STAGE" = c ]; then
  M=/tmp/smollm2-hf
  [ -f /tmp/smollm2.gguf ] || cat /tmp/gguf.part-aa .carry/b/gguf.part-ab > /tmp/smollm2.gguf
  [ -f $M/config.json ] || build-gpu/app/awqlab-cli convert /tmp/smollm2.gguf $M --dtype float16
  W=.carry/b/wiki.test.raw
  build-gpu/app/awqlab-cli ppl $M --data $W --seqlen 2048 --device cuda --dtype float32 --json $OUT/ppl_engine_fp32.json
  python3 tests/reference/hf_reference.py ppl --model $M --data $W --seqlen 2048 --out $OUT/ppl_transformers_fp32.json --device cuda
  CLI=build-gpu/app/awqlab-cli PYTHON=python3 bash experiments/quant/run_quality_sweep.sh $M .carry/b/wiki.valid.tokens \
    $W awq_quality_smollm2 "$MACHINE" --device cuda --dtype float16
  cp experiments/results/awq_quality_smollm2.* "$OUT/"
else
  cat /tmp/gguf.part-aa .carry/b/gguf.part-ab > /tmp/smollm2.gguf
  M=/tmp/smollm2-hf
  [ -f $M/config.json ] || build-gpu/app/awqlab-cli convert /tmp/smollm2.gguf $M --dtype float16
  bash experiments/speed/run_speed_bench.sh engine_speed_gpu_smollm2 "$MACHINE" \
    "--model $M --device cuda --dtype bfloat16 --batch 1 --prompt-len 512 --new-tokens 128" \
    "--model $M --device cuda --dtype bfloat16 --batch 8 --prompt-len 512 --new-tokens 64"
  cp experiments/results/engine_speed_gpu_smollm2.* "$OUT/"
  W=.carry/b/wiki.test.raw  # ../shared does not travel to the GPU machine
  build-gpu/app/awqlab-cli ppl $M --data $W --seqlen 2048 --device cuda --dtype float32 --json $OUT/ppl_engine_fp32.json
  build-gpu/app/awqlab-cli ppl $M --data $W --seqlen 2048 --device cuda --dtype bfloat16 --json $OUT/ppl_engine_bf16.json
  python3 - "$M" "$W" <<'PY' > $OUT/ppl_transformers_fp32.json
import json, math, sys, torch
from transformers import AutoModelForCausalLM, AutoTokenizer
m = AutoModelForCausalLM.from_pretrained(sys.argv[1], dtype=torch.float32, attn_implementation="eager").cuda().eval()
tok = AutoTokenizer.from_pretrained(sys.argv[1])
ids = torch.tensor([tok(open(sys.argv[2], encoding="utf-8", newline="").read())["input_ids"]]).cuda()
n, s = ids.shape[1] // 2048, 0.0
with torch.inference_mode():
    for w in range(n):
        x = ids[:, w * 2048:(w + 1) * 2048]
        s += torch.nn.functional.cross_entropy(m(x).logits[0, :-1].float(), x[0, 1:], reduction="sum").item()
print(json.dumps({"perplexity": math.exp(s / (n * 2047)), "windows": n, "total_tokens": ids.shape[1]}))
PY
  cat $OUT/ppl_*.json
  build-gpu/app/awqlab-cli chat $M -m "What is the capital of France?" --device cuda --stats -n 40
fi
