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
[ -d "$TMP/out" ] && { echo "FAIL: convert left $TMP/out behind"; fails=$((fails+1)); }
echo "$passes passed, $fails failed"
[ $fails -eq 0 ]
