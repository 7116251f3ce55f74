#!/usr/bin/env bash
# One device call with a library built on the development machine (carry [".whl", ".carry/w4b"]): a plain run of
# the torch-free smoke driver first, under a timeout, because a new kernel that deadlocks would otherwise eat the
# whole call; if it fails or hangs, the warp-specialized kernel is left out of everything after it (W4_NO_WS).
# Then memcheck + check, then the benchmark(s) given as device_run.sh arguments.
# Usage: OUT=... bash experiments/kernels/device_run_ws.sh [bench "ARGS"] ...
set -uo pipefail
export PREBUILT=${PREBUILT:-.carry/w4b} OUT=${OUT:-/tmp/w4_out}
mkdir -p "$OUT"
bash experiments/kernels/device_run.sh > "$OUT/prepare.log" 2>&1; cat "$OUT/prepare.log"
timeout 60 build-w4bench/w4a16_smoke > "$OUT/smoke_plain.log" 2>&1
rc=$?; echo "plain smoke rc=$rc"; grep -E "FAIL|smoke:" "$OUT/smoke_plain.log" | head -20
[ $rc = 0 ] || { export W4_NO_WS=1; echo "W4_NO_WS=1: the warp-specialized kernel is left out"; }
timeout 150 bash experiments/kernels/device_run.sh memcheck check
timeout 330 bash experiments/kernels/device_run.sh "$@"
