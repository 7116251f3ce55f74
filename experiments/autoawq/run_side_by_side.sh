#!/usr/bin/env bash
# Our quantizer and AutoAWQ 0.2.9 side by side on the GPU machine (issue 3, point 3): same converted default model,
# same calibration texts and sample settings, w4 g64 and w3 g64, one perplexity evaluator (awqlab-cli ppl).
# Two device calls, back to back (the machine stays warm ~30 s; the GGUF and the wheels exceed one call's carry):
#   1. mkdir -p /tmp/whl && cp .whl/a/*.whl /tmp/whl/ && bash experiments/gpu/issue2_gpu_run.sh prep
#        carry [".debs", ".carry/a", ".whl/a"]     (builds build-gpu/app/awqlab-cli, keeps GGUF piece a in /tmp)
#   2. bash experiments/autoawq/run_side_by_side.sh
#        carry [".carry/b", ".whl/b"]              (writes $OUT/autoawq_side_by_side.{json,md} and $OUT/logs.tar.gz)
#      or bash experiments/autoawq/run_side_by_side.sh diag   (decision traces of both, clip search on/off; diag_logs.tar.gz)
#      or bash experiments/autoawq/run_side_by_side.sh inject     (AutoAWQ applying our decisions; ours with fp16 clip math)
#      or bash experiments/autoawq/run_side_by_side.sh numerics   (AutoAWQ with our rounding numerics; numerics_logs.tar.gz)
#      or bash experiments/autoawq/run_side_by_side.sh weights    (both w4 checkpoints tensor by tensor; weights_logs.tar.gz)
#      or bash experiments/autoawq/run_side_by_side.sh precision  (export round trip; fp32 quantization/evaluation)
#      or bash experiments/autoawq/run_side_by_side.sh seeds      (both on other calibration draws, --seed 1 2 3)
# .whl/a: tokenizers 0.21.1, huggingface_hub 0.30.2, accelerate 1.6.0, psutil, requests and its deps;
# .whl/b: transformers 4.51.3 and autoawq 0.2.9 (a wheel built from the PyPI sdist; pure Python).
set -uo pipefail
cd "$(dirname "$0")/../.."
export PYTHONUNBUFFERED=1
CLI=build-gpu/app/awqlab-cli
M=/tmp/smollm2-hf; W=.carry/b/wiki.test.raw; V=.carry/b/wiki.valid.tokens
L=/tmp/side_by_side; rm -rf $L /tmp/aa; mkdir -p $L
[ -x $CLI ] && [ -f /tmp/gguf.part-aa ] || { echo "prep call missing (machine went cold?): run call 1 first"; exit 1; }
MACHINE="$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1), torch $(python3 -c 'import torch;print(torch.__version__)')"
echo "$MACHINE" > $L/machine.txt
[ -f /tmp/smollm2.gguf ] || cat /tmp/gguf.part-aa .carry/b/gguf.part-ab > /tmp/smollm2.gguf
[ -f $M/config.json ] || $CLI convert /tmp/smollm2.gguf $M --dtype float16 || exit 1

$CLI ppl $M --data $W --seqlen 2048 --device cuda --dtype float16 --json $L/fp16.json

ours() {  # ours B RUN [extra quantize options]
  local b=$1 r=$2; shift 2
  $CLI quantize $M --calib $V --calib-samples 128 --calib-seqlen 512 --method awq --w-bit $b --group-size 64 \
    --device cuda --dtype float16 --eval-ppl $W --ppl-seqlen 2048 --dump-calibration $L/calib_w${b}_r$r.json \
    --json $L/ours_w${b}_g64_r$r.json "$@" > $L/ours_w${b}_g64_r$r.log 2>&1
  tail -3 $L/ours_w${b}_g64_r$r.log
}
install_autoawq() {
  mkdir -p /tmp/whl && cp .whl/b/*.whl /tmp/whl/
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site /tmp/whl/*.whl \
    > $L/pip.log 2>&1 || { cat $L/pip.log; exit 1; }
}
engine_ppl() {  # engine_ppl TAG: our evaluator on AutoAWQ's saved folder /tmp/aa/autoawq_TAG
  [ -f /tmp/aa/autoawq_$1/config.json ] && $CLI ppl /tmp/aa/autoawq_$1 --data $W --seqlen 2048 --device cuda \
    --dtype float16 --json $L/engine_ppl_autoawq_$1.json > $L/engine_ppl_autoawq_$1.log 2>&1
  echo "AutoAWQ $1: $(tail -1 $L/engine_ppl_autoawq_$1.log)"
}

if [ "${1:-}" = diag ]; then
  # Where do the two quantizers' decisions differ? Our evidence files (every grid loss, chosen ratio and clip step)
  # against AutoAWQ's traced decisions, plus both with the clip search off. Compare with compare_decisions.py.
  ours 3 1 --evidence $L/ours_w3_g64.evidence.safetensors
  ours 4 1 --evidence $L/ours_w4_g64.evidence.safetensors
  ours 3 noclip --no-clip-search
  install_autoawq
  PYTHONPATH=/tmp/site timeout 360 python3 -W ignore::DeprecationWarning experiments/autoawq/autoawq_quantize.py \
    --model $M --calib-json $L/calib_w3_r1.json --configs 3:64,3:64:noclip,4:64 --trace --device cuda \
    --out-root /tmp/aa --json $L/autoawq_trace.json > $L/autoawq.log 2>&1
  echo "autoawq exit $?"; grep -E '^\{|Error' $L/autoawq.log | cut -c1-300
  for t in w3_g64 w3_g64_noclip w4_g64; do engine_ppl $t; done
  tar czf $OUT/diag_logs.tar.gz -C /tmp side_by_side
  exit 0
fi

if [ "${1:-}" = inject ]; then
  # Our decisions inside AutoAWQ's pipeline: AutoAWQ with our scales and/or our clip steps (from our evidence file)
  # in place of its own searches. Also ours with AutoAWQ's fp16 clip-search arithmetic (--clip-precision model).
  ours 3 1 --evidence $L/ours_w3_g64.evidence.safetensors
  ours 3 m --clip-precision model
  ours 4 m --clip-precision model
  install_autoawq
  PYTHONPATH=/tmp/site timeout 300 python3 -W ignore::DeprecationWarning experiments/autoawq/autoawq_quantize.py \
    --model $M --calib-json $L/calib_w3_r1.json --configs 3:64,3:64:ourscales:oursclip,3:64:ourscales,3:64:oursclip \
    --decisions $L/ours_w3_g64.evidence.safetensors --device cuda --out-root /tmp/aa --json $L/autoawq_inject.json \
    > $L/autoawq.log 2>&1
  echo "autoawq exit $?"; grep -E '^\{|Error' $L/autoawq.log | cut -c1-160
  for t in w3_g64 w3_g64_ourscales_oursclip w3_g64_ourscales w3_g64_oursclip; do engine_ppl $t; done
  tar czf $OUT/inject_logs.tar.gz -C /tmp side_by_side
  exit 0
fi

if [ "${1:-}" = numerics ]; then
  # AutoAWQ with only its rounding numerics replaced by ours (pseudo_quantize_our_numerics): if the perplexities
  # move to ours, that detail explains the gap.
  install_autoawq
  $CLI quantize $M --calib $V --calib-samples 128 --calib-seqlen 512 --w-bit 4 --group-size 64 --device cuda \
    --dtype float16 --dump-calibration $L/calib.json > /dev/null 2>&1
  PYTHONPATH=/tmp/site timeout 300 python3 -W ignore::DeprecationWarning experiments/autoawq/autoawq_quantize.py \
    --model $M --calib-json $L/calib.json --configs 3:64:oursnum,4:64:fake:oursnum,4:64:fake --device cuda \
    --out-root /tmp/aa --json $L/autoawq_numerics.json > $L/autoawq.log 2>&1
  echo "autoawq exit $?"; grep -E '^\{|Error' $L/autoawq.log | cut -c1-200
  for t in w3_g64_oursnum w4_g64_fake_oursnum w4_g64_fake; do engine_ppl $t; done
  tar czf $OUT/numerics_logs.tar.gz -C /tmp side_by_side
  exit 0
fi

if [ "${1:-}" = weights ]; then
  # Both w4 checkpoints tensor by tensor (compare_weights.py), with and without the clip search.
  ours 4 1 --out /tmp/ours_w4_g64
  ours 4 noclip --no-clip-search --out /tmp/ours_w4_g64_noclip
  install_autoawq
  PYTHONPATH=/tmp/site timeout 300 python3 -W ignore::DeprecationWarning experiments/autoawq/autoawq_quantize.py \
    --model $M --calib-json $L/calib_w4_r1.json --configs 4:64,4:64:noclip --device cuda \
    --out-root /tmp/aa --json $L/autoawq_weights.json > $L/autoawq.log 2>&1
  echo "autoawq exit $?"; grep -E '^\{|Error' $L/autoawq.log | cut -c1-200
  engine_ppl w4_g64_noclip
  for t in w4_g64 w4_g64_noclip; do
    PYTHONPATH=/tmp/site python3 -W ignore experiments/autoawq/compare_weights.py /tmp/ours_$t /tmp/aa/autoawq_$t \
      --out $L/compare_weights_$t.json > $L/compare_weights_$t.txt 2>&1; head -c 1500 $L/compare_weights_$t.txt
  done
  tar czf $OUT/weights_logs.tar.gz -C /tmp side_by_side
  exit 0
fi

if [ "${1:-}" = precision ]; then
  # Export round trip of ours (w4: in-memory perplexity vs the exported folder's), and both quantizers evaluated in
  # fp32 with ours also quantizing in fp32: does our fp16 search explain the gap?
  ours 4 1 --out /tmp/ours_w4_g64
  $CLI ppl /tmp/ours_w4_g64 --data $W --seqlen 2048 --device cuda --dtype float16 --json $L/engine_ppl_ours_w4_export.json | tail -1
  $CLI ppl $M --data $W --seqlen 2048 --device cuda --dtype float32 --json $L/fp32.json | tail -1
  for b in 3 4; do
    $CLI quantize $M --calib $V --calib-samples 128 --calib-seqlen 512 --method awq --w-bit $b --group-size 64 \
      --device cuda --dtype float32 --eval-ppl $W --ppl-seqlen 2048 --json $L/ours_w${b}_g64_fp32.json 2>&1 | tail -1
  done
  install_autoawq
  PYTHONPATH=/tmp/site timeout 200 python3 -W ignore::DeprecationWarning experiments/autoawq/autoawq_quantize.py \
    --model $M --calib-json $L/calib_w4_r1.json --configs 3:64,4:64:fake --device cuda \
    --out-root /tmp/aa --json $L/autoawq_precision.json > $L/autoawq.log 2>&1
  echo "autoawq exit $?"
  for t in w3_g64 w4_g64_fake; do
    $CLI ppl /tmp/aa/autoawq_$t --data $W --seqlen 2048 --device cuda --dtype float32 --json $L/engine_ppl_autoawq_${t}_fp32.json | sed "s/^/AutoAWQ $t fp32 eval: /" | tail -1
  done
  tar czf $OUT/precision_logs.tar.gz -C /tmp side_by_side
  exit 0
fi

if [ "${1:-}" = seeds ]; then
  # The gap over other calibration draws (--seed S: another shuffled set of 128 texts, given to both).
  install_autoawq
  for S in ${SEEDS:-1 2 3}; do
    for b in ${BITS:-3}; do ours $b s$S --seed $S | tail -1; done
    PYTHONPATH=/tmp/site timeout 120 python3 -W ignore::DeprecationWarning experiments/autoawq/autoawq_quantize.py \
      --model $M --calib-json $L/calib_w3_rs$S.json --configs ${AA_CONFIGS:-3:64} --device cuda \
      --out-root /tmp/aa --json $L/autoawq_seed$S.json > $L/autoawq_seed$S.log 2>&1
    for t in ${AA_TAGS:-w3_g64}; do engine_ppl $t; mv $L/engine_ppl_autoawq_$t.json $L/engine_ppl_autoawq_${t}_seed$S.json; done
  done
  tar czf $OUT/seeds_logs.tar.gz -C /tmp side_by_side
  exit 0
fi

ours 4 1; ours 3 1
# Group size 128 does not divide the hidden size 576: show our refusal (AutoAWQ's is recorded by the driver).
$CLI quantize $M --calib $V --w-bit 4 --group-size 128 --device cuda --dtype float16 > $L/ours_w4_g128.err 2>&1
echo "ours g128 exit $?: $(tail -1 $L/ours_w4_g128.err)"
cp $L/calib_w4_r1.json $L/calib.json

install_autoawq
PYTHONPATH=/tmp/site timeout 360 python3 -W ignore::DeprecationWarning experiments/autoawq/autoawq_quantize.py \
  --model $M --calib-json $L/calib.json --configs 4:64,3:64,4:128 --samples 128 --seqlen 512 --device cuda \
  --out-root /tmp/aa --eval-data $W --ppl-seqlen 2048 --json $L/autoawq.json > $L/autoawq.log 2>&1
echo "autoawq exit $?"; grep -E '^\{|Error|error' $L/autoawq.log | cut -c1-600
for b in 4 3; do engine_ppl w${b}_g64; done
# More runs of ours for a median time (the texts dumped by every run must be the same list).
for r in 2 3; do ours 4 $r; ours 3 $r; done

python3 experiments/autoawq/side_by_side_report.py $L "$OUT" "$MACHINE"
tar czf $OUT/logs.tar.gz -C /tmp side_by_side
