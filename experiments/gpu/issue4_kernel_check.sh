#!/usr/bin/env bash
# Issue 4, "integrated into the engine": the W4A16 kernels behind AwqLinear, checked on the GPU machine.
#   bash experiments/gpu/issue4_kernel_check.sh build
#       carry [".debs", ".carry/a"]: builds build-gpu (awqlab-cli, engine_tests, AWQ_CUDA=ON) and keeps the first half
#       of the default model's GGUF in /tmp (the GGUF is larger than one call may carry).
#   bash experiments/gpu/issue4_kernel_check.sh run [MODEL_DIR] [WIKI_TEST] [CALIB]
#       carry [".carry/b"], right after "build" (warm machine): "tests" then "measure" (below); or each alone:
#   bash experiments/gpu/issue4_kernel_check.sh tests    the engine tests of the CUDA linear + --kernel (GTEST_SKIP
#       shows up as SKIPPED: check the log); log in $OUT/issue4_engine_tests.log
#   bash experiments/gpu/issue4_kernel_check.sh measure [MODEL_DIR] [WIKI_TEST] [CALIB]
#       quantizes MODEL_DIR w4 g64 with AWQ (CALIB: calibration text; without one, round-to-nearest), then
#       perplexity on the first 16 windows of 2048 tokens of WIKI_TEST in float16 with --kernel dense, gemm, gemv,
#       fast (and the float16 model itself), and greedy decode speed (128 tokens, batch 1) per kernel.
# Defaults: MODEL_DIR /tmp/smollm2-hf (converted from the GGUF halves when absent), WIKI_TEST .carry/b/wiki.test.raw,
# CALIB .carry/b/wiki.valid.tokens. Writes $OUT/issue4_kernel_check.json and the logs beside it.
set -uo pipefail
cd "$(dirname "$0")/../.."
STAGE=${1:-run}
shift || true
OUT=${OUT:-/tmp/issue4_out}
mkdir -p "$OUT"
CLI=build-gpu/app/awqlab-cli
TESTS=build-gpu/tests/engine_tests
GGUF_NAME=SmolLM2-135M-Instruct.Q4_1.gguf

build() {
  [ -f .carry/a/gguf.part-aa ] && cp .carry/a/gguf.part-aa /tmp/
  AWQ_CUDA=ON bash experiments/gpu/build_on_device.sh awqlab-cli engine_tests || { echo "build failed"; exit 1; }
}

need_binaries() {
  [ -x $CLI ] && [ -x $TESTS ] || { echo "build-gpu binaries missing (machine went cold?): run the 'build' stage first"; exit 1; }
}

# The default model's GGUF (for the engine tests' fixtures) and its float16 Hugging Face folder.
default_model() {
  if [ ! -f /tmp/smollm2.gguf ] && [ -f /tmp/gguf.part-aa ] && [ -f .carry/b/gguf.part-ab ]; then
    cat /tmp/gguf.part-aa .carry/b/gguf.part-ab > /tmp/smollm2.gguf.tmp && mv /tmp/smollm2.gguf.tmp /tmp/smollm2.gguf
  fi
  if [ ! -f models/$GGUF_NAME ] && [ -f /tmp/smollm2.gguf ]; then mkdir -p models && ln -sf /tmp/smollm2.gguf models/$GGUF_NAME; fi
  if [ ! -f /tmp/smollm2-hf/config.json ] && [ -f /tmp/smollm2.gguf ]; then
    $CLI convert /tmp/smollm2.gguf /tmp/smollm2-hf --dtype float16 > "$OUT/convert.log" 2>&1 || { tail -5 "$OUT/convert.log"; exit 1; }
  fi
}

tests() {
  need_binaries
  default_model
  # The tests convert the GGUF themselves; hand them the folder made above to save the time.
  if [ -f /tmp/smollm2-hf/config.json ] && [ ! -e build-gpu/test-scratch/smollm2-135m-instruct-hf ]; then
    mkdir -p build-gpu/test-scratch && cp -r /tmp/smollm2-hf build-gpu/test-scratch/smollm2-135m-instruct-hf
  fi
  $TESTS --gtest_filter='AwqCudaLinear.*:AwqCudaKernels.*:AwqFastLayout.*:AwqLinearKernel.*:AwqKernelChoice.*:AwqLinear.*' \
    > "$OUT/issue4_engine_tests.log" 2>&1
  local rc=$?
  grep -E '^\[ *(OK|FAILED|SKIPPED|PASSED) *\]|rel\. error|Failure|Expected|Which is|skipped|Skipped' "$OUT/issue4_engine_tests.log" | head -150
  echo "engine_tests exit code $rc"
  echo $rc > "$OUT/issue4_engine_tests.rc"
}

measure() {
  need_binaries
  default_model
  local M=${1:-/tmp/smollm2-hf} W=${2:-.carry/b/wiki.test.raw} V=${3:-.carry/b/wiki.valid.tokens}
  [ -f "$M/config.json" ] || { echo "no model folder $M (pass a converted default model folder)"; exit 1; }
  [ -f "$W" ] || { echo "no WikiText test file $W"; exit 1; }
  local Q=/tmp/issue4_w4g64 method=awq calib=$V
  if [ ! -f "$V" ]; then method=rtn; calib=$W; echo "no calibration file $V: round-to-nearest (the text is not used)"; fi
  rm -rf $Q
  local t0=$(date +%s)
  $CLI quantize "$M" --calib "$calib" --calib-samples 128 --calib-seqlen 512 --method $method --w-bit 4 --group-size 64 \
    --device cuda --dtype float16 --out $Q --json "$OUT/quantize.json" > "$OUT/quantize.log" 2>&1 \
    || { tail -20 "$OUT/quantize.log"; exit 1; }
  echo "quantized ($method w4 g64) in $(( $(date +%s) - t0 )) s"
  local prompt="The history of the city begins in the"
  for K in fp16 dense gemm gemv fast; do
    local model=$Q kopt="--kernel $K"
    [ $K = fp16 ] && { model=$M; kopt=""; }
    $CLI ppl $model --data "$W" --seqlen 2048 --max-windows 16 --device cuda --dtype float16 $kopt \
      --json "$OUT/ppl_$K.json" > "$OUT/ppl_$K.log" 2>&1 || echo "ppl $K failed: $(tail -3 "$OUT/ppl_$K.log")"
    $CLI generate $model --device cuda --dtype float16 $kopt -p "$prompt" -n 128 --ignore-eos --quiet \
      --json "$OUT/gen_$K.json" > "$OUT/gen_$K.log" 2>&1 || echo "generate $K failed: $(tail -3 "$OUT/gen_$K.log")"
  done
  MACHINE="$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1), torch $(python3 -c 'import torch;print(torch.__version__)')"
  python3 - "$OUT" "$MACHINE" "$M" "$W" "$method" <<'PY'
import json, os, sys
out, machine, model, wiki, method = sys.argv[1:6]
def load(p):
    try:
        with open(os.path.join(out, p)) as f: return json.load(f)
    except Exception: return None
tests_rc = None
if os.path.exists(os.path.join(out, "issue4_engine_tests.rc")):
    tests_rc = int(open(os.path.join(out, "issue4_engine_tests.rc")).read().strip() or -1)
rows = []
for k in ["fp16", "dense", "gemm", "gemv", "fast"]:
    p, g = load(f"ppl_{k}.json"), load(f"gen_{k}.json")
    rows.append({"kernel": k, "model": "float16 (unquantized)" if k == "fp16" else f"{method} w4 g64",
                 "ran": (p or {}).get("kernel"), "layout": (p or {}).get("awq_layout"),
                 "perplexity": (p or {}).get("perplexity"), "windows": (p or {}).get("windows"),
                 "ppl_tokens_per_s": (p or {}).get("tokens_per_s"),
                 "decode_tokens_per_s": (g or {}).get("decode_tokens_per_s"),
                 "prefill_tokens_per_s": (g or {}).get("prefill_tokens_per_s"),
                 "greedy_tokens": (g or {}).get("tokens")})
dense = next((r for r in rows if r["kernel"] == "dense"), None)
for r in rows:
    if dense and dense["greedy_tokens"] and r["greedy_tokens"]:
        a, b = dense["greedy_tokens"], r["greedy_tokens"]
        r["greedy_same_as_dense"] = sum(x == y for x, y in zip(a, b)) / max(1, min(len(a), len(b)))
    if dense and dense["perplexity"] and r["perplexity"]:
        r["ppl_vs_dense"] = r["perplexity"] / dense["perplexity"] - 1
res = {"machine": machine, "model": model, "data": wiki, "seqlen": 2048, "max_windows": 16, "dtype": "float16",
       "quantization": f"{method} w4 g64 (awqlab-cli quantize, gemm export)", "engine_tests_exit_code": tests_rc,
       "rows": [{k: v for k, v in r.items() if k != "greedy_tokens"} for r in rows]}
with open(os.path.join(out, "issue4_kernel_check.json"), "w") as f: json.dump(res, f, indent=2)
print(f"{'kernel':7} {'ran':8} {'ppl':>9} {'vs dense':>9} {'ppl tok/s':>10} {'decode tok/s':>12} {'greedy=dense':>12}")
for r in res["rows"]:
    f = lambda v, fmt: (fmt % v) if isinstance(v, (int, float)) else "-"
    print(f"{r['kernel']:7} {str(r['ran'] or '-'):8} {f(r['perplexity'], '%9.4f')} {f(r.get('ppl_vs_dense'), '%+9.2e')} "
          f"{f(r['ppl_tokens_per_s'], '%10.0f')} {f(r['decode_tokens_per_s'], '%12.1f')} {f(r.get('greedy_same_as_dense'), '%12.3f')}")
PY
}

case "$STAGE" in
  build) build ;;
  tests) tests ;;
  measure) measure "$@" ;;
  run) tests; measure "$@" ;;
  *) echo "usage: $0 build | run [MODEL_DIR] [WIKI_TEST] [CALIB] | tests | measure [MODEL_DIR] [WIKI_TEST] [CALIB]"; exit 2 ;;
esac
