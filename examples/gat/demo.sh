#!/bin/sh
# `make demo-gat`: the GAT paper's Cora experiment over 10 seeds (mean ± std
# test accuracy), then the embedding picture of the first seed's model.
# Usage: sh examples/gat/demo.sh BUILD_DIR   (THREADS=n to override; 1 by
# default: Cora is small, and on a shared machine a second OpenMP thread
# waits more than it works — the results are bit-identical either way)
set -e
build=${1:-build}
threads=${THREADS:-1}
mkdir -p runs
echo "== GAT on Cora, 10 seeds, the paper's settings with the authors' value dropout ($threads thread(s))"
"$build/gat" train --data cora --seeds 10 --threads "$threads" \
    --save runs/gat_cora.safetensors --metrics-json runs/gat_cora.json --log-csv runs/gat_cora.csv
echo
echo "== hidden representations of the seed-1 model, PCA to 2-D"
"$build/gat" embed --model runs/gat_cora.safetensors --png runs/gat_cora_embedding.png
