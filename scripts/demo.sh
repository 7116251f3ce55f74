#!/usr/bin/env bash
# The main job on the default model (SmolLM2-135M-Instruct): convert the bundled GGUF into a Hugging Face
# folder, chat one turn, and print perplexity on a few WikiText-2 windows.
set -euo pipefail
cd "$(dirname "$0")/.."
CLI=build/app/awqlab-cli
GGUF=models/SmolLM2-135M-Instruct.Q4_1.gguf
HF=models/SmolLM2-135M-Instruct
WIKI=${WIKI:-../shared/data/wikitext-2-raw/wiki.test.raw}
[ -x "$CLI" ] || { echo "build first: scripts/build.sh" >&2; exit 1; }
[ -f "$HF/config.json" ] || "$CLI" convert "$GGUF" "$HF" --dtype float16
"$CLI" info "$HF"
echo
"$CLI" chat "$HF" --message "What is the capital of France? Answer in one sentence." --max-new-tokens 64 --stats
echo
if [ -f "$WIKI" ]; then
  "$CLI" ppl "$HF" --data "$WIKI" --seqlen 2048 --max-windows ${PPL_WINDOWS:-4}
else
  echo "skipping perplexity: $WIKI not found (see ../shared/data/README.md)"
fi
