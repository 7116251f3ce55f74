#!/usr/bin/env bash
# Bad input through the command-line tool: every case must exit non-zero with an error on stderr that names
# the file (or option) and the problem, and must not crash (no signal exit codes).
set -u
CLI=$1
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fails=0; passes=0
expect_error() {  # expect_error "<substring of stderr>" cmd...
  local want=$1; shift
  "$@" >"$TMP/out" 2>"$TMP/err"; local rc=$?
  if [ $rc -eq 0 ] || [ $rc -ge 128 ] || ! grep -qF -- "$want" "$TMP/err"; then
    echo "FAIL: $* -> rc=$rc, stderr: $(head -c 400 "$TMP/err")"; fails=$((fails+1))
  else
    passes=$((passes+1))
  fi
}
printf 'NOTG' > "$TMP/bad.gguf"; head -c 100 /dev/urandom >> "$TMP/bad.gguf"
expect_error "bad.gguf" "$CLI" info "$TMP/bad.gguf"
expect_error "magic" "$CLI" info "$TMP/bad.gguf"
expect_error "no such file" "$CLI" generate "$TMP/missing" --prompt hi
mkdir -p "$TMP/arch" && echo '{"architectures": ["GPT2LMHeadModel"], "vocab_size": 10}' > "$TMP/arch/config.json"
expect_error "unsupported architecture 'GPT2LMHeadModel'" "$CLI" info "$TMP/arch"
mkdir -p "$TMP/nokey" && echo '{"architectures": ["LlamaForCausalLM"], "vocab_size": 10}' > "$TMP/nokey/config.json"
expect_error "missing key 'hidden_size'" "$CLI" info "$TMP/nokey"
expect_error "unsupported dtype" "$CLI" convert "$TMP/bad.gguf" "$TMP/out" --dtype int3
expect_error "--seqlen" "$CLI" ppl "$TMP/arch" --data /dev/null --seqlen abc
expect_error "empty prompt" "$CLI" generate "$TMP/arch" --prompt ""
expect_error "--device" "$CLI" generate "$TMP/arch" --prompt hi --device tpu
# --kernel: only the listed kernels, and only for AWQ (4-bit) checkpoints; the error names the model.
expect_error "--kernel" "$CLI" ppl "$TMP/arch" --data /dev/null --kernel marlin
expect_error "$TMP/bad.gguf: not an AWQ checkpoint; quantize it first with awqlab-cli quantize" \
  "$CLI" generate "$TMP/bad.gguf" --prompt hi --kernel gemm
mkdir -p "$TMP/float" && cat > "$TMP/float/config.json" <<'JSON'
{"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 32, "hidden_size": 64,
 "intermediate_size": 128, "num_hidden_layers": 1, "num_attention_heads": 4, "num_key_value_heads": 4,
 "max_position_embeddings": 64, "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "torch_dtype": "float16"}
JSON
printf '\x02\x00\x00\x00\x00\x00\x00\x00{}' > "$TMP/float/model.safetensors"
expect_error "$TMP/float: not an AWQ checkpoint; quantize it first with awqlab-cli quantize" \
  "$CLI" ppl "$TMP/float" --data /dev/null --kernel fast
expect_error "$TMP/float: not an AWQ checkpoint" "$CLI" chat "$TMP/float" -m hi --kernel dense
[ -d "$TMP/out" ] && { echo "FAIL: convert left $TMP/out behind"; fails=$((fails+1)); }
echo "$passes passed, $fails failed"
[ $fails -eq 0 ]
