/* core/tensor.h — float32 tensors, shapes, the seeded random generator.
 *
 * A tg_tensor is 1 to TG_MAX_DIMS (8) dimensions, row-major and contiguous, shape written
 * outermost first as in PyTorch: [B, T, C] means B·T·C floats with C
 * innermost.  Dimension letters used throughout tapegrad:
 *   B batch, T or L sequence length, C or d_model channels, H heads (n_heads),
 *   D head_dim, V vocabulary, N nodes / rows, E edges, P patch_size.
 * A scalar (a loss) is a tensor of shape [1].
 *
 * Three lifetimes:
 *   - parameters: created by tg_params_new (core/params.h), live as long
 *     as their tg_params; data and grad in one long-lived block;
 *   - activations: created by operations on a tape, from the tape's arena,
 *     valid until the next tg_tape_reset;
 *   - free-standing tensors: tg_tensor_new / tg_tensor_free (inputs, tests).
 *
 *   tg_tensor *x = tg_tensor_new(TG_SHAPE(32, 64));   // zeros
 *   x->data[i * 64 + j] = 1.0f;
 *   tg_tensor_free(x);
 */
#ifndef TG_TENSOR_H
#define TG_TENSOR_H

#include <stdint.h>
#include <stdio.h>

#include "core/error.h"

#define TG_MAX_DIMS 8
/* Bytes enough for tg_shape_str of any shape (8 dims of up to 10 digits). */
#define TG_SHAPE_STR_LEN 128

/* TG_SHAPE(32, 64) expands to the two arguments `2, (const int[]){32, 64}`
 * that every function taking (int ndim, const int *shape) expects. */
#define TG_SHAPE(...)                                                        \
    (int)(sizeof((const int[]){__VA_ARGS__}) / sizeof(int)),                 \
        (const int[]) { __VA_ARGS__ }

enum {
    TG_REQUIRES_GRAD = 1u << 0, /* backward computes d(loss)/d(this) */
    TG_PARAM = 1u << 1,         /* owned by a tg_params; grad is long-lived */
    TG_ARENA = 1u << 2,         /* struct and data live in a tape's arena */
    TG_BUFFER = 1u << 3,        /* state in a tg_params that is not trained (BatchNorm's
                                   running statistics): no gradient, skipped by
                                   optimizers and weight decay, kept by checkpoints */
};

typedef struct tg_tensor {
    int ndim;                /* 1..TG_MAX_DIMS */
    int shape[TG_MAX_DIMS];  /* outermost first; unused dims are 1 */
    int64_t size;            /* number of elements = product of shape */
    float *data;             /* size floats, 64-byte aligned */
    float *grad;             /* size floats, or NULL while no gradient exists */
    unsigned flags;          /* TG_REQUIRES_GRAD | TG_PARAM | TG_ARENA | TG_BUFFER */
    int node;                /* index of the tape node that made it, or -1 */
    const char *name;        /* optional, for printing; not owned */
} tg_tensor;

/* A free-standing tensor of the given shape, data zeroed, no grad.
 * Errors: ndim outside 1..TG_MAX_DIMS or a dimension < 1 aborts (TG_CHECK).
 * Owned by the caller; release with tg_tensor_free. */
tg_tensor *tg_tensor_new(int ndim, const int *shape);
/* Like tg_tensor_new, also allocates a zeroed grad and sets TG_REQUIRES_GRAD
 * (a leaf whose gradient the caller wants, e.g. in tg_gradcheck). */
tg_tensor *tg_tensor_new_grad(int ndim, const int *shape);
void tg_tensor_free(tg_tensor *t);

/* Fills from/into a plain array of t->size floats. */
void tg_tensor_copy_from(tg_tensor *t, const float *src);
void tg_tensor_fill(tg_tensor *t, float value);
/* Zeroes t->grad if it exists. */
void tg_tensor_zero_grad(tg_tensor *t);

/* Shape helpers.  tg_shape_str writes "[32, 64]" into buf (TG_SHAPE_STR_LEN
 * bytes always suffice; a shorter buf gets a truncated string) and
 * returns buf.  tg_shape_eq compares ndim and every dimension. */
char *tg_shape_str(const tg_tensor *t, char *buf, size_t len);
int tg_shape_eq(const tg_tensor *a, const tg_tensor *b);
int64_t tg_shape_numel(int ndim, const int *shape);
/* Checks ndim in 1..TG_MAX_DIMS and every dim >= 1; `op` names the caller for the
 * message.  Aborts otherwise. */
void tg__check_shape(const char *op, int ndim, const int *shape);

/* Prints "name [32, 64] = [0.1, 0.2, ...]" (at most `max` values). */
void tg_tensor_print(FILE *f, const tg_tensor *t, int max);

/* ---- random numbers -------------------------------------------------------
 * tg_rng: xoshiro128++ seeded through splitmix64; 128 bits of state, a plain
 * struct so checkpoints can save and restore it (Blackman & Vigna 2018). */
typedef struct tg_rng {
    uint32_t s[4];
} tg_rng;

void tg_rng_seed(tg_rng *r, uint64_t seed);
/* One xoshiro128++ step on a state array: what tg_rng_u32 does, inline so a
 * hot loop can run it on a local copy of the state (core/ops/dropout.c). */
static inline uint32_t tg__rng_next(uint32_t s[4]) {
    uint32_t sum = s[0] + s[3], t = s[1] << 9;
    uint32_t result = ((sum << 7) | (sum >> 25)) + s[0];
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = (s[3] << 11) | (s[3] >> 21);
    return result;
}
uint32_t tg_rng_u32(tg_rng *r);
/* Uniform in [0, 1) with 24 random bits. */
float tg_rng_uniform(tg_rng *r);
/* Standard normal (Box-Muller). */
float tg_rng_normal(tg_rng *r);
/* Uniform integer in [0, n), n >= 1 (Lemire's method, unbiased). */
uint32_t tg_rng_below(tg_rng *r, uint32_t n);

/* Fills t->data: uniform in [lo, hi), or normal(mean, std). */
void tg_tensor_uniform(tg_tensor *t, tg_rng *r, float lo, float hi);
void tg_tensor_normal(tg_tensor *t, tg_rng *r, float mean, float std);

/* ---- threads --------------------------------------------------------------
 * Every kernel parallelises over independent outputs only, never splitting a
 * reduction, so results are bit-identical for any number of threads.
 * tg_set_num_threads(n) with n >= 1; the default is OMP_NUM_THREADS (or all
 * cores).  Without OpenMP (make OMP=0) both are no-ops / return 1. */
void tg_set_num_threads(int n);
int tg_get_num_threads(void);

#endif
