#!/bin/sh
# `make demo-vit`: trains the default ViT on MNIST (a fixed number of epochs,
# sized for 10 minutes on 2 cores; TIME_BUDGET seconds, default 540, only as
# a guard), prints the test accuracy of the epoch chosen on the validation
# slice, and draws where the model looks on a few test digits.
# Usage: sh examples/vit/demo.sh BUILD_DIR
set -e
build=${1:-build}
budget=${TIME_BUDGET:-540}
mkdir -p runs
echo "== training the default ViT on MNIST (guard: ${budget} s; OMP_NUM_THREADS=${OMP_NUM_THREADS:-all cores})"
"$build/vit" train --data mnist --time-budget "$budget" \
    --save runs/vit_mnist.safetensors --metrics-json runs/vit_mnist.json --log-csv runs/vit_mnist.csv
echo
echo "== test set"
"$build/vit" eval --model runs/vit_mnist.safetensors --data mnist --confusion-png runs/vit_mnist_confusion.png
echo
echo "== attention on the first test digits"
"$build/vit" attention --model runs/vit_mnist.safetensors --data mnist --out runs/vit_attention --count 6
