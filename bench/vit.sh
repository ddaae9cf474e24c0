#!/bin/sh
# bench/vit.sh — W2 and W3 (shared/bench/WORKLOADS.md): tapegrad's ViT
# training step (build/bench_vit) beside the same model in PyTorch
# (bench/vit_torch.py, Debian's python3-torch via /usr/bin/python3), at 1 and
# 2 threads, each configuration in its own process (so each peak RSS is its
# own), one after the other.  PyTorch runs twice: plain, and with
# GOMP_SPINCOUNT=10000 OPENBLAS_THREAD_TIMEOUT=4 (its OpenMP and OpenBLAS
# thread pools spin against each other on 2 cores).  Prints every run's line
# and a table of ratios tapegrad / PyTorch (below 1: tapegrad is faster or
# smaller).
#
#   sh bench/vit.sh [BUILD_DIR] [STEPS]      (make bench; defaults build, 20)
#   WORKLOADS="w2" THREADS="2" sh bench/vit.sh    (a subset)
BUILD=${1:-build}
STEPS=${2:-20}
WORKLOADS=${WORKLOADS:-"w2 w3"}
THREADS=${THREADS:-"1 2"}
PY=/usr/bin/python3
out=$(mktemp)
trap 'rm -f "$out"' EXIT

have_torch=1
if ! [ -x "$PY" ] || ! "$PY" -c 'import torch' 2>/dev/null; then
  have_torch=0
  echo "bench/vit.sh: SKIPPED the PyTorch peer: $PY cannot import torch (apt-get install python3-torch)"
fi

run() { # label, command...: runs it, echoes its lines, keeps its RESULT line
  label=$1; shift
  line=$("$@" 2>&1) || { echo "$line"; echo "bench/vit.sh: $label failed"; exit 1; }
  echo "$line" | grep -v '^RESULT'
  echo "$line" | grep '^RESULT' | sed "s/^RESULT/RESULT label=$label/" >> "$out"
}

echo "== W2/W3 ViT training step: median of $STEPS steps after 3 warm-up (machine shared: see docs/results.md)"
for w in $WORKLOADS; do
  for t in $THREADS; do
    run tapegrad env OMP_NUM_THREADS=$t "$BUILD/bench_vit" --workload "$w" --threads "$t" --steps "$STEPS"
    if [ $have_torch = 1 ]; then
      run torch env OMP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t MKL_NUM_THREADS=$t \
        "$PY" bench/vit_torch.py --workload "$w" --threads "$t" --steps "$STEPS"
      run torch_spin env OMP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t MKL_NUM_THREADS=$t \
        GOMP_SPINCOUNT=10000 OPENBLAS_THREAD_TIMEOUT=4 \
        "$PY" bench/vit_torch.py --workload "$w" --threads "$t" --steps "$STEPS"
    fi
  done
done

# Table: one row per (workload, threads); ratios against both torch runs.
awk '
  /^RESULT/ {
    delete f
    for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
    k = f["workload"] " " f["threads"]
    if (!(k in seen)) { seen[k] = 1; order[++n] = k }
    ms[k, f["label"]] = f["ms"]; ips[k, f["label"]] = f["images_per_s"]
    rss[k, f["label"]] = f["rss_mib"]
    if (f["label"] == "tapegrad") { gf[k] = f["gflops"]; pk[k] = f["peak_gflops"] }
  }
  function ratio(a, b) { return (a != "" && b != "" && b > 0) ? sprintf("%.2f", a / b) : "-" }
  END {
    printf "\n%-4s %3s | %10s %9s %8s %6s | %10s %10s %8s %8s | %6s %6s %6s %6s\n",
      "W", "thr", "tg ms", "tg img/s", "tg MiB", "GF/s", "torch ms", "spin ms", "torch MiB", "spin MiB",
      "t/torch", "t/spin", "rss/t", "rss/s"
    for (i = 1; i <= n; i++) {
      k = order[i]; split(k, p, " ")
      printf "%-4s %3s | %10s %9s %8s %6s | %10s %10s %8s %8s | %6s %6s %6s %6s\n", p[1], p[2],
        ms[k, "tapegrad"], ips[k, "tapegrad"], rss[k, "tapegrad"],
        (gf[k] != "" ? sprintf("%s/%s", gf[k], pk[k]) : "-"),
        ms[k, "torch"], ms[k, "torch_spin"], rss[k, "torch"], rss[k, "torch_spin"],
        ratio(ms[k, "tapegrad"], ms[k, "torch"]), ratio(ms[k, "tapegrad"], ms[k, "torch_spin"]),
        ratio(rss[k, "tapegrad"], rss[k, "torch"]), ratio(rss[k, "tapegrad"], rss[k, "torch_spin"])
    }
    print "GF/s: achieved model GFLOP/s / tg_sgemm 1024^3 GFLOP/s measured in the same process."
    print "t/torch, t/spin: tapegrad ms / PyTorch ms (plain, spin-limited); rss/t, rss/s: peak RSS ratios."
  }' "$out"
