#!/bin/sh
# bench/charlm_w4.sh — workload W4 (../shared/bench/WORKLOADS.md) side by side:
# build/charlm train and its PyTorch peer bench/charlm_torch.py, the same model,
# data, schedule and step count, one after the other at the same thread count.
# Prints each run's line and the wall-time ratio tapegrad / torch.
#
#   sh bench/charlm_w4.sh [BUILD_DIR]      STEPS=2000 THREADS=2 (defaults)
#
# Both runs get OMP_NUM_THREADS = OPENBLAS_NUM_THREADS = THREADS and
# GOMP_SPINCOUNT=10000 OPENBLAS_THREAD_TIMEOUT=4 (torch's two thread pools
# fight on 2 cores without them; libgomp's spinning is shared by both).
# Without /usr/bin/python3 + torch the peer is skipped with a message.
set -u
build=${1:-build}
steps=${STEPS:-2000}
threads=${THREADS:-2}
export OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads GOMP_SPINCOUNT=10000 OPENBLAS_THREAD_TIMEOUT=4
mkdir -p runs
echo "== W4 tapegrad: $build/charlm train --steps $steps (threads $threads)"
"$build/charlm" train --steps "$steps" --log-every 500 --save runs/charlm_w4.safetensors \
    --metrics-json runs/charlm_w4.json 2>&1 | grep -v '^epoch' | tee runs/charlm_w4_tg.log
tg=$(sed -n 's/.* in \([0-9.]*\) s .*/\1/p' runs/charlm_w4_tg.log | head -1)
if ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
    echo "== W4 torch: SKIPPED (/usr/bin/python3 has no torch: apt-get install python3-torch)"
    exit 0
fi
echo "== W4 torch: /usr/bin/python3 bench/charlm_torch.py --steps $steps --threads $threads"
/usr/bin/python3 bench/charlm_torch.py --steps "$steps" --threads "$threads" | tee runs/charlm_w4_torch.log
pt=$(sed -n 's/.*wall_s \([0-9.]*\) .*/\1/p' runs/charlm_w4_torch.log)
[ -n "$tg" ] && [ -n "$pt" ] && awk -v a="$tg" -v b="$pt" \
    'BEGIN { printf "W4 wall time: tapegrad %.1f s, torch %.1f s, ratio %.3f (machine shared)\n", a, b, a / b }'
