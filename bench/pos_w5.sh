#!/bin/sh
# bench/pos_w5.sh — W5 (shared/bench/WORKLOADS.md): training tokens/s of the
# POS tagger's W5 model in tapegrad (build/pos_tagger train --words-only 1
# --learned-pos 1 --dropout 0 ...) beside the same model in PyTorch
# (bench/pos_torch.py, Debian's python3-torch via /usr/bin/python3), at 1 and
# 2 threads, one process after the other.  Each runs plain and with
# GOMP_SPINCOUNT=10000 OPENBLAS_THREAD_TIMEOUT=4 ("spin": PyTorch's OpenMP
# and OpenBLAS pools fight on 2 cores; both implementations get the same
# setting).  Words/s count every step from the first (data loading and model
# construction excluded), summed cross-entropy, Adam(lr 1e-3), batch 32.
# Prints every run's line and the table with the ratio tapegrad / PyTorch
# (above 1: tapegrad is faster).  Skips PyTorch with a message when absent,
# and everything when the EWT data is not placed (make data).
#
#   sh bench/pos_w5.sh [BUILD_DIR] [STEPS]      (make bench; defaults build, 100)
#   THREADS="2" sh bench/pos_w5.sh              (a subset)
BUILD=${1:-build}
STEPS=${2:-100}
THREADS=${THREADS:-"1 2"}
PY=/usr/bin/python3
TRAIN=data/ud_english_ewt/en_ewt-ud-train.conllu.gz
out=$(mktemp)
json=$(mktemp)
trap 'rm -f "$out" "$json"' EXIT

if ! [ -f "$TRAIN" ]; then
  echo "bench/pos_w5.sh: SKIPPED: $TRAIN not found (run make data)"
  exit 0
fi
have_torch=1
if ! [ -x "$PY" ] || ! "$PY" -c 'import torch' 2>/dev/null; then
  have_torch=0
  echo "bench/pos_w5.sh: SKIPPED the PyTorch peer: $PY cannot import torch (apt-get install python3-torch)"
fi

W5="--words-only 1 --learned-pos 1 --d-word 128 --d-model 128 --layers 2 --heads 4 --d-ff 256 \
--dropout 0 --word-dropout 0 --label-smoothing 0 --ema 0 --lr 1e-3 --lr-min 1e-3 --warmup 1 \
--batch-size 32 --min-count 2"

tapegrad() { # label threads env...: one tapegrad run, its RESULT line into $out
  label=$1; t=$2; shift 2
  env OMP_NUM_THREADS="$t" "$@" "$BUILD/pos_tagger" train --train "$TRAIN" $W5 --threads "$t" \
    --max-steps "$STEPS" --epochs 1000 --metrics-json "$json" >/dev/null 2>&1 ||
    { echo "bench/pos_w5.sh: $label failed"; exit 1; }
  awk -v label="$label" -v t="$t" '{
    gsub(/[{}"]/, ""); n = split($0, kv, ",")
    for (i = 1; i <= n; i++) { split(kv[i], p, ":"); f[p[1]] = p[2] }
    printf "RESULT label=%s threads=%s steps=%d seconds=%.3f words_per_s=%.1f\n", label, t,
      f["steps"], f["train_seconds"], f["train_words_per_second"] }' "$json" | tee -a "$out"
}

torch() { # label threads env...
  label=$1; t=$2; shift 2
  line=$(env OMP_NUM_THREADS="$t" OPENBLAS_NUM_THREADS="$t" MKL_NUM_THREADS="$t" "$@" \
    "$PY" bench/pos_torch.py --train "$TRAIN" --steps "$STEPS" --threads "$t" 2>&1) ||
    { echo "$line"; echo "bench/pos_w5.sh: $label failed"; exit 1; }
  echo "$line" | grep '^RESULT' | sed "s/^RESULT impl=torch/RESULT label=$label/" | tee -a "$out"
}

echo "== W5 POS tagging training: $STEPS steps each (the machine may be shared: see docs/results.md)"
for t in $THREADS; do
  tapegrad tapegrad "$t"
  tapegrad tapegrad_spin "$t" GOMP_SPINCOUNT=10000 OPENBLAS_THREAD_TIMEOUT=4
  if [ $have_torch = 1 ]; then
    torch torch "$t"
    torch torch_spin "$t" GOMP_SPINCOUNT=10000 OPENBLAS_THREAD_TIMEOUT=4
  fi
done

awk '
  /^RESULT/ {
    delete f
    for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
    k = f["threads"]; if (!(k in seen)) { seen[k] = 1; order[++n] = k }
    w[k, f["label"]] = f["words_per_s"]
  }
  function ratio(a, b) { return (a != "" && b != "" && b > 0) ? sprintf("%.2f", a / b) : "-" }
  END {
    printf "\n%3s %5s | %12s | %12s | %s\n", "thr", "env", "tapegrad w/s", "PyTorch w/s", "tapegrad / PyTorch"
    for (i = 1; i <= n; i++) {
      k = order[i]
      for (s = 0; s < 2; s++) {
        a = s ? "tapegrad_spin" : "tapegrad"; b = s ? "torch_spin" : "torch"
        printf "%3s %5s | %12s | %12s | %s\n", k, s ? "spin" : "plain", w[k, a],
          (w[k, b] != "" ? w[k, b] : "-"), ratio(w[k, a], w[k, b])
      }
    }
    print "env spin: GOMP_SPINCOUNT=10000 OPENBLAS_THREAD_TIMEOUT=4 for both implementations."
  }' "$out"
