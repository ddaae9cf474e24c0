/* examples/scaling/protocol.h — the one training protocol every model of
 * the experiment gets, and the grid of training-set sizes.
 *
 *   scaling_protocol p = scaling_protocol_default();
 *   scaling_plan plan = scaling_plan_for(&p, n_train);   // epochs, eval period
 *
 * The protocol (defaults; docs/scaling.md explains the choices):
 *   optimizer   AdamW (β 0.9, 0.999, ε 1e-8), peak lr 3e-3, weight decay
 *               0.05 on matrices and conv kernels only (not biases, norms),
 *               gradient norm clipped to 1, batch 64, no dropout;
 *   schedule    linear warm-up over the first 5% of the planned steps,
 *               cosine decay to 1e-5 at the planned end;
 *   length      images seen I(N) = clamp(epochs_per_n · N, min_images,
 *               max_images) = clamp(20 N, 50 000, 100 000), rounded up to
 *               whole epochs: 500 epochs of N = 100, 50 of N = 1000, 10 of
 *               N = 10 000, 2 of the full 58 000 (at least ~780 steps: the
 *               ViT arms need them to leave their slow start);
 *   validation  a fixed slice held out of the training data (val_size =
 *               2000 images, at most 10%, never trained on) checked about
 *               max_evals = 10 times per run (every ceil(epochs / 10)
 *               epochs and after the last); early stopping after
 *               patience = 4 checks without a better accuracy; the best
 *               check's parameters (and BatchNorm statistics) are the model
 *               whose test accuracy is reported;
 *   augmentation per dataset, the same for every model: random crops of
 *               the image zero-padded by 2 pixels (digits, clothes), by 4
 *               plus horizontal flips (CIFAR-10).
 * Everything depends on seeds and counts only, never on wall time. */
#ifndef SCALING_PROTOCOL_H
#define SCALING_PROTOCOL_H

#include <stdint.h>

typedef struct {
    int batch_size;
    double lr, lr_min, weight_decay, clip, warmup_frac;
    double epochs_per_n;          /* E of I(N) */
    int min_images, max_images;   /* images seen per run: bounds */
    int max_evals, patience;      /* validation checks per run; checks without improvement */
    int val_size;                 /* images held out of the training set */
} scaling_protocol;

scaling_protocol scaling_protocol_default(void);

typedef struct {
    int epochs;        /* planned epochs over the N training images */
    int eval_every;    /* validation check every this many epochs (and after the last) */
    int64_t steps;     /* planned optimizer steps (the schedule's length) */
} scaling_plan;

/* The plan of a run on n_train >= 1 images. */
scaling_plan scaling_plan_for(const scaling_protocol *p, int64_t n_train);

/* The default sizes: 100, then per_decade points per decade rounded to one
 * significant digit (100, 300, 1000, 3000, ... for 2), each below
 * full / 1.5, then full itself.  Writes at most max sizes ascending into
 * sizes; returns how many. */
int scaling_default_sizes(int64_t full, int per_decade, int64_t *sizes, int max);

#endif
