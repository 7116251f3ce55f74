#!/usr/bin/env bash
# End-to-end decode benchmark on the GPU machine (issue 4, point 3): builds decode_e2e_bench with
# experiments/gpu/build_on_device.sh, runs fp16 and 4-bit gemm/gemv/fast, eager, CUDA graph of the unfused
# ATen step (graph-aten), of the fused decode step (graph-fused), then adding one thing per mode: merged
# projections and programmatic dependent launch (graph-merged), SiLU in the down projection (graph-silu),
# rotary + KV write in attention (graph-host), greedy tokens on the device with steps queued ahead (graph);
# batch 1 and 8,
# and writes experiments/results/$NAME.json + .md (and copies them, with the log, to $OUT when set).
#   bash experiments/speed/run_decode_e2e.sh [extra decode_e2e_bench options, e.g. --reps 3 --batches 1]
# Environment: SKIP_BUILD=1 (binary already built), TESTS=1 (also build and run the CUDA-graph tests),
#              NAME (default decode_e2e_h200), BUILD_DIR (default build-gpu, what build_on_device.sh makes).
set -euo pipefail
cd "$(dirname "$0")/../.."
NAME=${NAME:-decode_e2e_h200}
BUILD_DIR=${BUILD_DIR:-build-gpu}
OUT_DIR=${OUT:-experiments/results}
mkdir -p experiments/results "$OUT_DIR"
LOG="$OUT_DIR/$NAME.log"

targets=(decode_e2e_bench)
if [ "${TESTS:-0}" = 1 ]; then targets+=(engine_tests); fi
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  AWQ_CUDA=ON bash experiments/gpu/build_on_device.sh "${targets[@]}" 2>&1 | tee "$OUT_DIR/$NAME.build.log"
fi

if [ "${TESTS:-0}" = 1 ]; then
  "$BUILD_DIR/tests/engine_tests" --gtest_filter='CudaGraphDecode*:StaticDecodeStep*:FusedDecode*' 2>&1 | tee "$OUT_DIR/cuda_graph_decode_tests.log" || true
fi

GPU=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1 || echo "unknown GPU")
TORCH=$(python3 -c 'import torch; print(torch.__version__)' 2>/dev/null || echo "?")
MACHINE=${MACHINE:-"$GPU, torch $TORCH"}

"$BUILD_DIR/experiments/decode_e2e_bench" --shape llama2-7b --device cuda --batches 1,8 --prompt-len 128 \
  --new-tokens 128 --reps 5 --group 128 --variants fp16,gemm,gemv,fast --modes eager,graph-aten,graph-fused,graph-merged,graph-silu,graph-host,graph \
  --machine "$MACHINE" --json "experiments/results/$NAME.json" --md "experiments/results/$NAME.md" "$@" \
  2> >(tee "$LOG" >&2) > /dev/null

if [ "$OUT_DIR" != experiments/results ]; then
  cp "experiments/results/$NAME.json" "experiments/results/$NAME.md" "$OUT_DIR/"
fi
cat "experiments/results/$NAME.md"
