#!/usr/bin/env bash
# Perplexity of FP16, RTN and AWQ for several bit widths / group sizes on one model, calibration on
# WikiText-2 validation, evaluation on WikiText-2 test (seqlen 2048, all windows).
#   run_quality_sweep.sh MODEL CALIB TEST NAME MACHINE [--device cuda --dtype float16 ...]
# Writes experiments/results/NAME.json and NAME.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
M=$1; CALIB=$2; TEST=$3; NAME=$4; MACHINE=$5; shift 5
CLI=${CLI:-build/app/awqlab-cli}
PY=${PYTHON:-.venv/bin/python}
TMP=$(mktemp -d)
CONFIGS=${CONFIGS:-"4:64 3:64 4:32 4:-1 4:128 3:128"}
"$CLI" ppl "$M" --data "$TEST" --seqlen 2048 "$@" --json "$TMP/fp16.json"
for c in $CONFIGS; do
  b=${c%%:*}; g=${c##*:}
  for m in rtn awq; do
    echo "== w$b g$g $m" >&2
    "$CLI" quantize "$M" --calib "$CALIB" --method $m --w-bit $b --group-size $g --eval-ppl "$TEST" \
      --ppl-seqlen 2048 "$@" --json "$TMP/w${b}_g${g}_$m.json" 2>"$TMP/w${b}_g${g}_$m.err" \
      || { echo "{\"error\": $(tail -1 "$TMP/w${b}_g${g}_$m.err" | "$PY" -c 'import json,sys;print(json.dumps(sys.stdin.read().strip()))')}" > "$TMP/w${b}_g${g}_$m.json"; }
  done
done
"$PY" experiments/quant/quality_report.py "$TMP" "$NAME" "$MACHINE" "$CONFIGS"
