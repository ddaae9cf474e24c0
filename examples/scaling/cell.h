/* examples/scaling/cell.h — one cell of the experiment: a (dataset, model,
 * N, seed) run under the protocol, from data to test accuracy.
 *
 *   scaling_data d;
 *   if (scaling_data_load("mnist", "data", &d) != TG_OK) die(tg_last_error());
 *   scaling_result r = scaling_run_cell(&d, &protocol, &arch, SCALING_CNN, 1000, 1, 0);
 *   scaling_data_free(&d);
 *
 * Data of a cell (seed s, size N):
 *   val    min(val_size, n/10) images of the training set, a permutation of
 *          seed 1000 + s: the same for every model and N of that seed;
 *   train  a class-balanced subset of N of the remaining images (seed
 *          7919·s + N: the same for every model), or all of them for N = 0
 *          or N >= what remains;
 *   test   the whole test set.
 * Pixels are normalised by the training subset's per-channel mean and std;
 * the model is initialised from seed 31·s + arm. */
#ifndef SCALING_CELL_H
#define SCALING_CELL_H

#include <stdint.h>

#include "data/image.h"
#include "examples/scaling/arms.h"
#include "examples/scaling/protocol.h"

typedef struct {
    char name[64];             /* "mnist", "fashion_mnist", "cifar10" */
    tg_image_set train, test;  /* pixels in [0, 1] */
    int pad, flip;             /* augmentation: crop padding, horizontal flips */
} scaling_data;

/* Loads a dataset of `make data` (tg_image_dataset_load) and sets its
 * augmentation.  Errors: an unknown name (TG_ERR_ARG), the readers'. */
tg_status scaling_data_load(const char *name, const char *root, scaling_data *d);
void scaling_data_free(scaling_data *d);

/* The training images a cell of size n gets (n = 0: all). */
int64_t scaling_train_size(const scaling_data *d, const scaling_protocol *p, int64_t n);

typedef struct {
    char dataset[64];
    scaling_arm arm;
    int64_t params, n;   /* n: training images actually used */
    int seed;
    double val_acc, test_acc; /* fractions in [0, 1], of the best validation check */
    int epochs;          /* epochs run (early stopping may end before the plan) */
    double seconds;      /* wall time of the training and evaluation (machine-dependent) */
} scaling_result;

/* Trains and evaluates one cell.  verbose: a line per validation check on
 * stdout.  Errors: a subset the data cannot give aborts with its message
 * (the caller sizes n from scaling_train_size). */
scaling_result scaling_run_cell(const scaling_data *d, const scaling_protocol *p, const scaling_arch *a,
                                scaling_arm arm, int64_t n, int seed, int verbose);

#endif
