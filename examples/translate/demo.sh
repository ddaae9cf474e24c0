#!/bin/sh
# `make demo-translate`: splits the tutorial's 10,599 fra->eng pairs (seeded
# 90/5/5), trains our encoder-decoder Transformer and the same model in
# PyTorch (bench/translate_torch.py) with the same protocol and the same
# time budget, side by side, one thread each, then prints test BLEU greedy
# and beam 4 for both, a few translations and the cross-attention of one
# sentence.
#
# The same time budget: each side trains the number of epochs that fits in
# about the same CPU time (the schedule spans those epochs, so each run is
# deterministic).  Measured on a 2-core x86-64 machine (docs/results.md,
# "Translation", 2 seeds): 18 epochs of ours take 90 s of CPU at one thread,
# 6 epochs of PyTorch's 108 s, so the defaults are EPOCHS=18, TORCH_EPOCHS=6.
# Both CPU times are printed at the end and compared, so a machine where the
# ratio differs shows it.  TIME_BUDGET is a wall-clock guard for both.
# Usage: sh examples/translate/demo.sh BUILD_DIR
#        (EPOCHS=n, TORCH_EPOCHS=n, TIME_BUDGET=s to override)
set -e
build=${1:-build}
epochs=${EPOCHS:-18}
torch_epochs=${TORCH_EPOCHS:-6}
budget=${TIME_BUDGET:-400}
dir=runs/translate
mkdir -p "$dir"
rm -f "$dir/ours.json" "$dir/torch.json"
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
echo "== training side by side, 1 thread each (time guard ${budget} s): ours $epochs epochs, PyTorch $torch_epochs epochs"
"$build/translate" train --dir "$dir" --epochs "$epochs" --time-budget "$budget" --threads 1 \
    --metrics-json "$dir/ours.json" --log-csv "$dir/ours.csv" > "$dir/ours.log" 2> "$dir/ours.progress" &
ours=$!
torch_status=0
if /usr/bin/python3 -c "import torch" 2>/dev/null; then
    # wait for the split files, which both runs read
    while [ ! -s "$dir/test.tsv" ] && kill -0 "$ours" 2>/dev/null; do sleep 1; done
    sleep 1
    GOMP_SPINCOUNT=10000 OPENBLAS_THREAD_TIMEOUT=4 /usr/bin/python3 bench/translate_torch.py --dir "$dir" \
        --epochs "$torch_epochs" --time-budget "$budget" --threads 1 --metrics-json "$dir/torch.json" \
        > "$dir/torch.log" 2>&1 || torch_status=$?
else
    echo "PyTorch (Debian python3-torch) is not installed: the peer run is SKIPPED" > "$dir/torch.log"
fi
wait $ours
echo
echo "== tapegrad (build/translate train)"
cat "$dir/ours.log"
echo
echo "== PyTorch nn.Transformer (bench/translate_torch.py)"
cat "$dir/torch.log"
[ "$torch_status" -eq 0 ] || exit "$torch_status"
if [ -s "$dir/torch.json" ]; then
    echo
    /usr/bin/python3 - "$dir/ours.json" "$dir/torch.json" <<'PY'
import json, sys
o, t = (json.load(open(f)) for f in sys.argv[1:3])
co, ct = o["train_cpu_seconds"], t["train_cpu_seconds"]
print("== the same time budget: training CPU ours %.0f s (%d epochs), PyTorch %.0f s (%d epochs), ratio %.2f"
      % (co, o["epochs"], ct, t["epochs"], co / ct))
if co > 1.1 * ct:
    print("   NOTE: on this machine ours used more than 1.1x PyTorch's CPU time; lower EPOCHS for an equal budget")
PY
fi
echo
echo "== test split: examples (build/translate eval --examples 5)"
"$build/translate" eval --model "$dir/model.safetensors" --data "$dir/test.tsv" --beam 4 --examples 5 \
    --out-greedy "$dir/test.greedy.txt" --out-beam "$dir/test.beam4.txt" --threads 1
echo "== the same BLEU computed by the Python script from our output files:"
echo "   greedy $(/usr/bin/python3 bench/translate_torch.py --bleu "$dir/test.greedy.txt" "$dir/test.tsv")," \
     "beam 4 $(/usr/bin/python3 bench/translate_torch.py --bleu "$dir/test.beam4.txt" "$dir/test.tsv")"
echo
echo "== echo 'je suis très fatigué.' | build/translate translate --beam 4"
echo "je suis très fatigué." | "$build/translate" translate --model "$dir/model.safetensors" --beam 4 --threads 1
echo
"$build/translate" attention --model "$dir/model.safetensors" --sentence "elle est plus grande que moi." \
    --png "$dir/attention.png"
