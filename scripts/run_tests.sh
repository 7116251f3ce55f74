#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test (unit, golden, exactness against transformers).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
ctest --test-dir build --output-on-failure -j"$(nproc)" "$@"
