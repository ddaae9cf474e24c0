/* examples/spirals/spirals.h — two interleaved spirals and a small MLP that
 * separates them: the smallest complete training loop in tapegrad (tape,
 * backward, Adam), used by `build/spirals` and by tests/test_train_mlp.c. */
#ifndef TG_EXAMPLE_SPIRALS_H
#define TG_EXAMPLE_SPIRALS_H

#include "tapegrad.h"
#include "core/params.h"

typedef struct {
    int n_per_class, hidden, steps;
    float lr;
    uint64_t seed;
    int verbose;
} spirals_config;

/* Trains an MLP 2 → hidden → hidden → 2 (tanh) with Adam on the full batch
 * of 2·n_per_class points; returns the final training accuracy in [0, 1]
 * and the final mean cross-entropy in *loss. */
float spirals_train(const spirals_config *cfg, float *loss);

#endif
