#!/usr/bin/env bash
# One device call for the W4A16 kernels: build -> [diag] -> check -> memcheck -> benchmark; logs under $OUT.
# Usage (repository root, on the GPU machine; carry [".whl"] for the AutoAWQ peer):
#   bash experiments/kernels/device_run.sh [diag] [check] [memcheck] [bench "BENCH ARGS"] [ab "AB ARGS"] ...
# e.g. bash experiments/kernels/device_run.sh diag check bench "--shapes 4096:11008 --ms 16,64"
set -uo pipefail
OUT=${OUT:-/tmp/w4_out}
mkdir -p "$OUT"
B=build-w4bench
export PYTHONUNBUFFERED=1
t0=$(date +%s)
# PREBUILT=DIR: use a library built elsewhere (carried), if it loads here; else build.
if [ -n "${PREBUILT:-}" ] && python3 -c "import ctypes,sys; ctypes.CDLL(sys.argv[1])" "$PREBUILT/libw4a16_bench.so" 2>/dev/null; then
  mkdir -p $B && cp "$PREBUILT"/libw4a16_bench.so "$PREBUILT"/w4a16_smoke $B/ && echo "prebuilt library from $PREBUILT"
else
  bash experiments/kernels/build.sh $B > "$OUT/build.log" 2>&1 || { tail -40 "$OUT/build.log"; exit 1; }
  grep -h "registers\|spill" $B/obj/w4a16_wgmma_*.log | sort | uniq -c | sort -rn | head -12 > "$OUT/wgmma_ptxas.txt"
  echo "built in $(( $(date +%s) - t0 )) s"
fi
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm --format=csv,noheader
cd experiments/kernels
while [ $# -gt 0 ]; do
  case "$1" in
    diag) python3 wgmma_diag.py ../../$B/libw4a16_bench.so 2>&1 | tee "$OUT/wgmma_diag.log" ;;
    check) python3 w4a16_check.py ../../$B/libw4a16_bench.so "$OUT/w4a16_check.json" > "$OUT/w4a16_check.log" 2>&1
           echo "check rc=$?"; grep -E "cases|TOTAL|FAIL" "$OUT/w4a16_check.log" | head -30 ;;
    memcheck) compute-sanitizer --tool memcheck ../../$B/w4a16_smoke > "$OUT/w4a16_memcheck.log" 2>&1
              echo "memcheck rc=$?"; tail -3 "$OUT/w4a16_memcheck.log" ;;
    bench) shift; nb=$(( ${nb:--1} + 1 )); pre="$OUT/w4a16_kernels${nb#0}"  # a second bench: w4a16_kernels1.*
           python3 w4a16_bench.py ../../$B/libw4a16_bench.so "$pre" $1 > "$pre.log" 2>&1
           echo "bench rc=$?"; grep -E "^K=" "$pre.log" | cut -c1-400 ;;
    ab) shift; na=$(( ${na:--1} + 1 )); pre="$OUT/w4a16_ab${na#0}"  # w4a16_ab.py "ARGS": interleaved A/B timing
        python3 w4a16_ab.py ../../$B/libw4a16_bench.so "$pre" $1 > "$pre.log" 2>&1
        echo "ab rc=$?"; grep -E "^K=|^device" "$pre.log" | cut -c1-300 ;;
  esac
  shift
done
echo "total $(( $(date +%s) - t0 )) s"
