#!/usr/bin/env bash
# Nsight Compute (full set) on the prefill-sized kernels: where the warp-specialized wgmma kernel's time goes
# (shared-memory and L2 throughput, tensor-pipe use, stall reasons) against cuBLAS on the same shape.
# Usage (from experiments/kernels, GPU machine): bash profile_ws.sh LIB K N M OUTDIR "PROBE ARGS" ["PROBE ARGS" ...]
#   PROBE ARGS = w4a16_probe.py options, e.g. "--opts default", "--opts wgmma=3,split_k=1", "--cublas"
# Writes OUTDIR/ncu_K_N_M_<i>.txt (the full details page) and prints the headline lines of each; with SOURCE=1 also
# OUTDIR/sass_K_N_M_<i>.csv (the source page: every SASS instruction's counters and warp-stall samples, our kernel only).
set -uo pipefail
LIB=$1 K=$2 N=$3 M=$4 DIR=$5
shift 5
NCU=${NCU:-/usr/local/cuda/bin/ncu}
mkdir -p "$DIR"
STALLS=$(for r in long_scoreboard short_scoreboard wait math_pipe_throttle mio_throttle lg_throttle barrier membar \
  not_selected selected dispatch_stall drain no_instruction imc_miss sleeping tex_throttle; do
  printf 'smsp__average_warps_issue_stalled_%s_per_issue_active.ratio,' $r; done)
STALLS=${STALLS%,}
i=0
for cfg in "$@"; do
  f="$DIR/ncu_${K}_${N}_${M}_$i.txt"; i=$((i + 1))
  echo "=== K=$K N=$N M=$M $cfg -> $(basename "$f")"
  # launch 3 of 5 (0-based skip 3): warm, and its weights not the previous launch's (the probe rotates 8 copies)
  timeout 120 $NCU --set full --clock-control none -k regex:'w4a16|gemm|nvjet|xmma|cutlass|sm90' --launch-skip 3 \
    --launch-count 1 --print-units base python3 w4a16_probe.py "$LIB" "$K" "$N" "$M" 5 $cfg > "$f" 2>&1
  echo "rc=$?"
  # the stall reasons (warps stalled per issued instruction), which the full set's page shows only as a chart
  timeout 60 $NCU --metrics "$STALLS" --clock-control none -k regex:'w4a16|gemm|nvjet|xmma|cutlass|sm90' --launch-skip 3 \
    --launch-count 1 python3 w4a16_probe.py "$LIB" "$K" "$N" "$M" 5 $cfg 2>&1 | grep -E "^ +smsp__" |
    sed -E 's/smsp__average_warps_issue_stalled_([a-z_]+)_per_issue_active.ratio/stall_\1/' | awk '{$1=$1; print}' |
    sort -k3 -g -r | head -8 | tee -a "$f"
  if [ -n "${SOURCE:-}" ]; then  # per-SASS-instruction counters and stall samples, as CSV (the report kept too)
    tag="${K}_${N}_${M}_$((i - 1))"
    timeout 120 $NCU --set full --import-source yes --clock-control none -k regex:'w4a16_fast_ws' --launch-skip 3 \
      --launch-count 1 -f -o "$DIR/rep_$tag" python3 w4a16_probe.py "$LIB" "$K" "$N" "$M" 5 $cfg > /dev/null 2>&1
    $NCU -i "$DIR/rep_$tag.ncu-rep" --page source --csv --print-source sass > "$DIR/sass_$tag.csv" 2> "$DIR/sass_$tag.err"
    echo "source page rc=$? $(wc -l < "$DIR/sass_$tag.csv") lines"
  fi
  grep -E "probe |^  [a-zA-Z_0-9]+.*\(|Duration|Memory Throughput|L2 Cache Throughput|L1/TEX Cache Throughput|Compute \(SM\) Throughput|Shared Memory|Registers Per|Achieved Occupancy|Issue Slots Busy|No Eligible|Executed Ipc A" "$f" | head -24
done
