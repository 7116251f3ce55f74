#!/usr/bin/env bash
# Configures and builds everything (engine, CLI, GUI when Qt 6 is present, tests, benchmarks) into build/.
# ccache is keyed relative to the checkout, so a fresh clone reuses earlier compilations.
set -euo pipefail
cd "$(dirname "$0")/.."
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=true CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-5G}
BUILD_DIR=${BUILD_DIR:-build}
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=${BUILD_TYPE:-Release} > "$BUILD_DIR.configure.log" 2>&1 \
    || { tail -40 "$BUILD_DIR.configure.log"; exit 1; }
fi
cmake --build "$BUILD_DIR" -j"$(nproc)" "$@"
