#!/usr/bin/env bash
# Builds the engine, CLI and benchmarks on the GPU machine (no Qt there; CLI11/SQLite/PCRE2 headers come
# from Debian .deb files carried in .debs/, see ../shared/docs/gpu-machine.md). Usage: bash experiments/gpu/build_on_device.sh [targets...]
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p /tmp/deps
for f in .debs/*.deb; do dpkg -x "$f" /tmp/deps; done
ln -sf /usr/lib/x86_64-linux-gnu/libpcre2-8.so.0 /tmp/deps/usr/lib/x86_64-linux-gnu/libpcre2-8.so
export PKG_CONFIG_PATH=/tmp/deps/usr/lib/x86_64-linux-gnu/pkgconfig PKG_CONFIG_SYSROOT_DIR=/tmp/deps
TORCH_PREFIX=$(python3 -c 'import torch.utils; print(torch.utils.cmake_prefix_path)')
cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DAWQ_PYTHON="$(command -v python3)" -DAWQ_GUI=OFF \
  -DCMAKE_PREFIX_PATH="$TORCH_PREFIX;/tmp/deps/usr" -DCMAKE_CUDA_ARCHITECTURES=90a -DAWQ_CUDA=${AWQ_CUDA:-AUTO} > /tmp/cmake.log 2>&1 || { tail -40 /tmp/cmake.log; exit 1; }
grep "AWQ Lab" /tmp/cmake.log
cmake --build build-gpu -j16 --target "${@:-awqlab-cli}" 2>&1 | grep -E "error|FAILED|warning: unused" | head -40 || true
cmake --build build-gpu -j16 --target "${@:-awqlab-cli}" > /dev/null
