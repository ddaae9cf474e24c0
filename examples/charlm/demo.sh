#!/bin/sh
# `make demo-charlm`: trains the character Transformer on Tiny Shakespeare
# exactly as workload W4 (2000 steps), prints the wall time and the
# validation loss (mean over 20 random batches of the last 10%), then samples
# 400 characters with the key/value
# cache.  PEER=1 also trains the PyTorch peer side by side (bench/charlm_w4.sh)
# and prints the wall-time ratio.
# Usage: sh examples/charlm/demo.sh BUILD_DIR   (STEPS=n to override, e.g. for a smoke test)
set -e
build=${1:-build}
steps=${STEPS:-2000}
mkdir -p runs
if [ "${PEER:-0}" = 1 ]; then
    STEPS=$steps sh bench/charlm_w4.sh "$build"
else
    echo "== W4: $build/charlm train --steps $steps (threads: OMP_NUM_THREADS, default all cores)"
    warmup=$((steps < 1000 ? steps / 10 : 100))
    "$build/charlm" train --steps "$steps" --warmup "$warmup" --log-every 250 --save runs/charlm_w4.safetensors \
        --metrics-json runs/charlm_w4.json
fi
echo
echo "== $build/charlm sample --prompt 'ROMEO:' --temperature 0.8 --top-k 40 --length 400"
"$build/charlm" sample --model runs/charlm_w4.safetensors --prompt "ROMEO:" --temperature 0.8 \
    --top-k 40 --length 400 --seed 1
