#!/bin/sh
# `make demo`: trains the default tagger on UD English EWT for its fixed
# number of epochs (30; the learning-rate schedule counts steps, so the
# result does not depend on the machine's speed), prints dev and test UPOS
# accuracy, and tags "I saw a saw .".  The time budget is only a guard that
# stops a run on a machine far slower than expected.
# Usage: sh examples/pos_tagger/demo.sh BUILD_DIR   (TIME_BUDGET=seconds to override)
set -e
build=${1:-build}
budget=${TIME_BUDGET:-3600}
mkdir -p runs
echo "== training 30 epochs, at most ${budget} s (2 threads unless OMP_NUM_THREADS says otherwise)"
"$build/pos_tagger" train --ud data/ud_english_ewt --time-budget "$budget" \
    --save runs/pos_tagger.safetensors --metrics-json runs/pos_tagger.json --log-csv runs/pos_tagger.csv
echo
echo "== test set"
"$build/pos_tagger" eval --model runs/pos_tagger.safetensors \
    --data data/ud_english_ewt/en_ewt-ud-test.conllu.gz --confusion-png runs/pos_confusion.png
echo
echo "== echo 'I saw a saw .' | pos_tagger tag"
echo "I saw a saw ." | "$build/pos_tagger" tag --model runs/pos_tagger.safetensors
