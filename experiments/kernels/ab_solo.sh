#!/usr/bin/env bash
# Times several builds of the library against each other, each in its own process (a second build loaded into one
# process beside the first failed to launch, NOTES.md v19), alternating between the builds for R rounds so that the
# machine's drift reaches all of them alike. Every process runs w4a16_ab.py with the same arguments.
# Usage (repository root, GPU machine): bash experiments/kernels/ab_solo.sh OUT_DIR ROUNDS "AB ARGS" NAME=LIB_DIR ...
# Writes OUT_DIR/solo_NAME_rR.{json,md,log}; summarize with ab_solo_summary.py OUT_DIR.
set -uo pipefail
out=$(realpath -m "$1") rounds=$2 args=$3
shift 3
mkdir -p "$out"
for r in $(seq 1 "$rounds"); do
  for spec in "$@"; do
    name=${spec%%=*} dir=${spec#*=}
    lib=$(realpath "$dir")/libw4a16_bench.so
    (cd experiments/kernels && python3 w4a16_ab.py "$lib" "$out/solo_${name}_r$r" $args > "$out/solo_${name}_r$r.log" 2>&1)
    echo "round $r $name rc=$?"
  done
done
python3 experiments/kernels/ab_solo_summary.py "$out" "$(for s in "$@"; do printf '%s ' "${s%%=*}"; done)"
