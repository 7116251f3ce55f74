#!/usr/bin/env bash
# The next device call for issue 4, prepared on the development machine (NOTES.md v21-v22): everything written since
# the last GPU run, in one call of at most ~580 s. On the development machine first:
#   bash experiments/kernels/build.sh /tmp/b_main &&
#   (cd /tmp && tar cf - b_main/libw4a16_bench.so b_main/w4a16_smoke | xz -T2 -6e > REPO/.carry/libs.tar.xz)
# then run(command="bash experiments/kernels/session_call.sh", carry=[".whl", ".carry"], timeout_s=600).
# (.whl: `mkdir -p .whl && cd .whl && pip download autoawq==0.2.9 --no-deps --no-binary :all: -d .`)
# Order: smoke (timeout), memcheck + check (x_pieces, persistent tiles, dequant_rows included), the table with
# the extra columns (x pieces at m <= 16, both dequantize forms at m >= 1024), then interleaved A/Bs by priority
# until the time is spent. Results: $OUT/all.tgz (every log, JSON and table) and the benchmark's table beside it (the
# device returns at most 8 files).
set -uo pipefail
export OUT=${OUT:-/tmp/w4_out}
LIMIT=${LIMIT:-575}  # seconds for the whole script; the device call's limit is 600
mkdir -p "$OUT"
tar xJf .carry/libs.tar.xz -C /tmp || { echo "no carried library (.carry/libs.tar.xz)"; exit 1; }
export PREBUILT=/tmp/b_main
bash experiments/kernels/device_run_ws.sh bench "--no-sweep --ms 1,4,16,64,256,512,1024,2048,4096"
# A/B pairs, most wanted first (each: B / A time per shape and m, rounds interleaved, one library):
abs=(
  "--a default --b x_pieces=1 --ms 1,4,8,16 --rounds 3"                                # v22: x in pieces (m <= 16)
  "--a wgmma=4,split_k=-1 --b wgmma=4,split_k=-3 --ms 48,64,128,256 --rounds 3"        # v22: stream-K early arrival
  "--a path=2 --b path=2,dequant_rows=2048 --ms 1024,4096 --rounds 3"                  # v21: dequantize in slices
  "--a default --b warp_tiles=2,stages=2 --ms 4,8 --rounds 3"  # 8 tokens, two tiles per warp (8192x28672: 46.5 vs 52.5)
  "--a default --b wgmma=4,tokens=256,split_k=-2 --ms 256,512,1024,2048,4096 --rounds 3"  # v20: persistent tiles
  "--a default --b wgmma=4,tokens=64,warp_tiles=2,stages=5 --ms 48,64,128 --rounds 3"  # 256 rows per block at m = 64
  "--a default --b wgmma=4,tokens=256,split_k=-1 --ms 256 --rounds 3"                  # 256-token stream-K at m = 256
  "--a path=2 --b path=2,dequant_rows=1024 --ms 4096 --rounds 3"
  "--a default --b wgmma=4,tokens=128,split_k=-2 --ms 64,128,256,512 --rounds 3"
)
args=()
for a in "${abs[@]}"; do args+=(ab "$a"); done
left=$(( LIMIT - SECONDS ))
if [ $left -gt 30 ]; then
  timeout $left bash experiments/kernels/device_run.sh "${args[@]}"
else
  echo "no time left for the A/Bs"
fi
cd "$OUT" && tar czf all.tgz --exclude=all.tgz . && find . -type f ! -name all.tgz ! -name 'w4a16_kernels.md' -delete
ls -la "$OUT"
