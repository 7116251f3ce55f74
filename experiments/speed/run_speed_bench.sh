#!/usr/bin/env bash
# Engine vs transformers speed: prefill and decode tokens/s, same model, dtype, device and tokens, same run.
#   run_speed_bench.sh NAME MACHINE "CASE" ["CASE" ...]
# CASE = "<--model DIR | --shape NAME> --device D --dtype T [--batch B] [--prompt-len P] [--new-tokens N]"
# Writes experiments/results/NAME.json and NAME.md (engine_speed_bench must be built in $BUILD_DIR).
set -euo pipefail
cd "$(dirname "$0")/../.."
NAME=$1; MACHINE=$2; shift 2
BUILD_DIR=${BUILD_DIR:-build}
PY=${PYTHON:-.venv/bin/python}
LOG=$(mktemp)
for c in "$@"; do
  echo "== $c" >&2
  # shellcheck disable=SC2086
  "$BUILD_DIR/experiments/engine_speed_bench" $c | tee -a "$LOG"
  # shellcheck disable=SC2086
  "$PY" experiments/speed/hf_speed.py $c 2>/dev/null | tee -a "$LOG"
done
"$PY" experiments/speed/report.py "$LOG" "$NAME" "$MACHINE"
