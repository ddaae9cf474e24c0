#!/bin/sh
# bench/vit.sh — W2 and W3 (shared/bench/WORKLOADS.md): tapegrad's ViT
# training step (build/bench_vit) beside the same model in PyTorch
# (bench/vit_torch.py, Debian's python3-torch via /usr/bin/python3), at 1 and
# 2 threads, each configuration in its own process (so each peak RSS is its
# own), one after the other.  Each runs twice: plain, and with
# GOMP_SPINCOUNT=10000 OPENBLAS_THREAD_TIMEOUT=4 ("spin": PyTorch's OpenMP and
# OpenBLAS thread pools spin against each other on 2 cores; on a loaded
# machine libgomp's spinning also costs tapegrad, so both get the same
# setting).  Prints every run's line and a table of ratios tapegrad /
# PyTorch, plain to plain and spin to spin (below 1: tapegrad is faster or
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

SPIN="GOMP_SPINCOUNT=10000 OPENBLAS_THREAD_TIMEOUT=4"
echo "== W2/W3 ViT training step: median of $STEPS steps after 3 warm-up (machine shared: see docs/results.md)"
for w in $WORKLOADS; do
  for t in $THREADS; do
    run tapegrad env OMP_NUM_THREADS=$t "$BUILD/bench_vit" --workload "$w" --threads "$t" --steps "$STEPS"
    run tapegrad_spin env OMP_NUM_THREADS=$t $SPIN \
      "$BUILD/bench_vit" --workload "$w" --threads "$t" --steps "$STEPS"
    if [ $have_torch = 1 ]; then
      run torch env OMP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t MKL_NUM_THREADS=$t \
        "$PY" bench/vit_torch.py --workload "$w" --threads "$t" --steps "$STEPS"
      run torch_spin env OMP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t MKL_NUM_THREADS=$t $SPIN \
        "$PY" bench/vit_torch.py --workload "$w" --threads "$t" --steps "$STEPS"
    fi
  done
done

# Table: two rows (plain, spin) per (workload, threads).
awk '
  /^RESULT/ {
    delete f
    for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
    k = f["workload"] " " f["threads"]
    if (!(k in seen)) { seen[k] = 1; order[++n] = k }
    L = f["label"]
    ms[k, L] = f["ms"]; ips[k, L] = f["images_per_s"]; rss[k, L] = f["rss_mib"]
    gf[k, L] = f["gflops"]; pk[k, L] = f["peak_gflops"]
  }
  function ratio(a, b) { return (a != "" && b != "" && b > 0) ? sprintf("%.2f", a / b) : "-" }
  END {
    printf "\n%-3s %3s %5s | %9s %8s %7s %12s | %9s %8s %7s | %5s %5s\n",
      "W", "thr", "env", "tg ms", "tg img/s", "tg MiB", "GF/s / peak", "torch ms", "img/s", "MiB",
      "time", "rss"
    for (i = 1; i <= n; i++) {
      k = order[i]; split(k, p, " ")
      for (s = 0; s < 2; s++) {
        a = s ? "tapegrad_spin" : "tapegrad"; b = s ? "torch_spin" : "torch"
        g = gf[k, a] != "" ? gf[k, a] "/" pk[k, a] : "-"
        printf "%-3s %3s %5s | %9s %8s %7s %12s | %9s %8s %7s | %5s %5s\n", p[1], p[2],
          s ? "spin" : "plain", ms[k, a], ips[k, a], rss[k, a], g,
          ms[k, b], ips[k, b], rss[k, b], ratio(ms[k, a], ms[k, b]), ratio(rss[k, a], rss[k, b])
      }
    }
    print "env spin: GOMP_SPINCOUNT=10000 (and OPENBLAS_THREAD_TIMEOUT=4) for both implementations."
    print "GF/s / peak: achieved model GFLOP/s / tg_sgemm 1024^3 GFLOP/s measured in the same process."
    print "time, rss: tapegrad / PyTorch ms per step and peak RSS (below 1: tapegrad faster / smaller)."
  }' "$out"
