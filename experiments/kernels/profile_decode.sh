#!/usr/bin/env bash
# Nsight Compute on the decode-sized fast kernels against the plain streaming read of the same bytes: time,
# DRAM throughput, occupancy, issue rate and the stall reasons (warps stalled per issued instruction).
# Usage (from experiments/kernels, GPU machine): bash profile_decode.sh LIB K N M "CONFIG" ["CONFIG" ...]
#   CONFIG = probe options, e.g. "--warps -1" (cluster kernel), "--warps 4 --depth 4", "--read" (floor)
set -uo pipefail
LIB=$1 K=$2 N=$3 M=$4
shift 4
NCU=${NCU:-/usr/local/cuda/bin/ncu}
METRICS=gpu__time_duration.sum,dram__throughput.avg.pct_of_peak_sustained_elapsed,dram__bytes_read.sum,\
sm__warps_active.avg.per_cycle_active,smsp__issue_active.avg.per_cycle_active,launch__registers_per_thread,\
launch__grid_size,launch__block_size,smsp__inst_executed.sum,smsp__warps_eligible.avg.per_cycle_active,\
l1tex__throughput.avg.pct_of_peak_sustained_active,lts__throughput.avg.pct_of_peak_sustained_elapsed,\
sm__pipe_tensor_op_hmma_cycles_active.avg.pct_of_peak_sustained_active,sm__cycles_elapsed.avg.per_second,\
smsp__average_warps_issue_stalled_long_scoreboard_per_issue_active.ratio,\
smsp__average_warps_issue_stalled_short_scoreboard_per_issue_active.ratio,\
smsp__average_warps_issue_stalled_wait_per_issue_active.ratio,\
smsp__average_warps_issue_stalled_math_pipe_throttle_per_issue_active.ratio,\
smsp__average_warps_issue_stalled_mio_throttle_per_issue_active.ratio,\
smsp__average_warps_issue_stalled_lg_throttle_per_issue_active.ratio,\
smsp__average_warps_issue_stalled_barrier_per_issue_active.ratio,\
smsp__average_warps_issue_stalled_membar_per_issue_active.ratio,\
smsp__average_warps_issue_stalled_not_selected_per_issue_active.ratio,\
smsp__average_warps_issue_stalled_selected_per_issue_active.ratio,\
smsp__average_warps_issue_stalled_dispatch_stall_per_issue_active.ratio,\
smsp__average_warps_issue_stalled_drain_per_issue_active.ratio,\
smsp__average_warps_issue_stalled_no_instruction_per_issue_active.ratio,\
smsp__average_warps_issue_stalled_imc_miss_per_issue_active.ratio,\
smsp__average_warps_issue_stalled_sleeping_per_issue_active.ratio,\
smsp__average_warps_issue_stalled_tex_throttle_per_issue_active.ratio
for cfg in "$@"; do
  echo "=== K=$K N=$N M=$M $cfg"
  $NCU --metrics "$METRICS" -k regex:'w4a16|stream_read' --launch-skip 3 --launch-count 1 \
    python3 w4a16_probe.py "$LIB" "$K" "$N" "$M" 5 $cfg 2>&1 | grep -E "probe|w4a16|stream_read|^ +[a-z_]+__" |
    sed -E 's/smsp__average_warps_issue_stalled_([a-z_]+)_per_issue_active.ratio/stall_\1/' | awk '{$1=$1; print}'
done
