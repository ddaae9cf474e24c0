#!/bin/sh
# bench/charlm_w4.sh — workload W4 (../shared/bench/WORKLOADS.md) side by side:
# build/charlm train and its PyTorch peer bench/charlm_torch.py, the same model,
# data, schedule and step count, at the same thread count.  Prints each run's
# line and the wall-time ratio tapegrad / torch.
#
#   sh bench/charlm_w4.sh [BUILD_DIR]      STEPS=2000 THREADS=2 TOGETHER=1 (defaults)
#
# TOGETHER=1 starts both runs at the same moment and waits for both, so on a
# machine shared with other jobs they see the same load (run one after the
# other, the load changes between them); TOGETHER=0 runs them in turn.
# Both get OMP_NUM_THREADS = OPENBLAS_NUM_THREADS = THREADS and
# GOMP_SPINCOUNT=10000 OPENBLAS_THREAD_TIMEOUT=4 (torch's two thread pools
# fight on 2 cores without them; libgomp's spinning affects both).
# Without /usr/bin/python3 + torch the peer is skipped with a message.
set -u
build=${1:-build}
steps=${STEPS:-2000}
threads=${THREADS:-2}
together=${TOGETHER:-1}
export OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads GOMP_SPINCOUNT=10000 OPENBLAS_THREAD_TIMEOUT=4
mkdir -p runs
peer=1
/usr/bin/python3 -c 'import torch' 2>/dev/null || peer=0

run_tg() {
    "$build/charlm" train --steps "$steps" --log-every 500 --save runs/charlm_w4.safetensors \
        --metrics-json runs/charlm_w4.json > runs/charlm_w4_tg.log 2>&1
}
run_torch() {
    /usr/bin/python3 bench/charlm_torch.py --steps "$steps" --threads "$threads" \
        > runs/charlm_w4_torch.log 2>&1
}

echo "== W4, $steps steps, $threads threads: $build/charlm train | /usr/bin/python3 bench/charlm_torch.py" \
     "($([ "$together" = 1 ] && echo "started together" || echo "one after the other"))"
if [ "$peer" = 0 ]; then
    echo "== torch peer SKIPPED (/usr/bin/python3 has no torch: apt-get install python3-torch)"
    run_tg
elif [ "$together" = 1 ]; then
    run_tg & a=$!
    run_torch & b=$!
    wait $a; wait $b
else
    run_tg
    run_torch
fi
grep -v '^epoch' runs/charlm_w4_tg.log
tg=$(sed -n 's/^W4: .* in \([0-9.]*\) s .*/\1/p' runs/charlm_w4_tg.log)
[ "$peer" = 1 ] || exit 0
cat runs/charlm_w4_torch.log
pt=$(sed -n 's/.*wall_s \([0-9.]*\) .*/\1/p' runs/charlm_w4_torch.log)
[ -n "$tg" ] && [ -n "$pt" ] && awk -v a="$tg" -v b="$pt" \
    'BEGIN { printf "W4 wall time: tapegrad %.1f s, torch %.1f s, ratio %.3f (shared machine)\n", a, b, a / b }'
