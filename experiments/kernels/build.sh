#!/usr/bin/env bash
# Builds libw4a16_bench.so (the CUDA kernels + the C++ packers + the ctypes shim) and w4a16_smoke (a
# torch-free driver for compute-sanitizer) with nvcc, one compile job per source, in parallel.
# Usage: experiments/kernels/build.sh BUILD_DIR   (run from the repository root)
set -euo pipefail
B=${1:-build-w4bench}
mkdir -p "$B/obj"
NVCC=${NVCC:-nvcc}
ARCH="-gencode=arch=compute_90a,code=sm_90a"
CXXF="-std=c++20 -O3 -Xcompiler -fPIC -Ikernels -Iengine ${EXTRA_NVCC:-}"  # EXTRA_NVCC: extra flags (-D...) for A/B runs
srcs=(kernels/cuda/*.cu kernels/cpu/*.cpp experiments/kernels/w4a16_pack_shim.cpp experiments/kernels/bench_read.cu)
pids=()
for s in "${srcs[@]}"; do
  o="$B/obj/$(basename "$s").o"
  if [[ $s == *.cu ]]; then
    $NVCC $CXXF $ARCH --use_fast_math -lineinfo -Xptxas -v -c "$s" -o "$o" > "$o.log" 2>&1 &
  else
    $NVCC $CXXF -x c++ -c "$s" -o "$o" > "$o.log" 2>&1 &
  fi
  pids+=($!)
done
fail=0
for i in "${!pids[@]}"; do wait "${pids[$i]}" || { echo "FAILED: ${srcs[$i]}"; cat "$B/obj/$(basename "${srcs[$i]}").o.log"; fail=1; }; done
[[ $fail == 0 ]] || exit 1
$NVCC -shared -o "$B/libw4a16_bench.so" "$B"/obj/*.o -lcublas
# The smoke driver links the library (found beside it): a carried pair stays well inside the device call's limit.
$NVCC $CXXF $ARCH -o "$B/w4a16_smoke" experiments/kernels/w4a16_smoke.cu -L"$B" -lw4a16_bench \
  -Xlinker -rpath='$ORIGIN' -lcublas
echo "built $B/libw4a16_bench.so $B/w4a16_smoke"
