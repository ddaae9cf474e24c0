/* examples/exercises/ops.h — the exercises: for each op, the test cases
 * (inputs, shapes, masks), the library function that is the reference, and
 * what the diagnostics of check.c need to know about its gradient. */
#ifndef EX_OPS_H
#define EX_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "examples/exercises/exercise.h"

#define EX_MAX_IN 3
#define EX_MAX_TERMS 4
#define EX_MAX_FACTORS 3

/* One test case: inputs (those with a grad buffer require grad), the output
 * shape, the ctx handed to tg_custom, and hints for the diagnostics. */
typedef struct {
    const char *label;
    int n_in;
    tg_tensor *in[EX_MAX_IN];       /* owned */
    const char *in_name[EX_MAX_IN];
    int bcast[EX_MAX_IN];           /* 1: broadcast over the rows of the output (bias, gain) */
    int out_ndim, out_shape[TG_MAX_DIMS];
    void *ctx;                      /* owned, ctx_bytes (NULL/0: none) */
    size_t ctx_bytes;
    int has_mask;                   /* the case masks something */
    int drop_mask;                  /* set by check.c: reference as if nothing were masked */
    int n_factors;                  /* constants a wrong scale is likely to be */
    double factor[EX_MAX_FACTORS];
    const char *factor_name[EX_MAX_FACTORS];
} ex_case;

/* The gradient of one input written as a sum of named terms (each a buffer
 * of that input's size, owned by the caller after the call). */
typedef struct {
    int n;
    float *t[EX_MAX_TERMS];
    const char *what[EX_MAX_TERMS];
} ex_terms;

typedef struct {
    const char *name;    /* "softmax" */
    const char *what;    /* one line for `list` */
    const char *page;    /* docs/derivations/<op>.md */
    int n_cases;
    /* Fills case i (0..n_cases-1) from rng. */
    void (*make)(int i, ex_case *c, tg_rng *rng);
    /* The same function through the library's own ops (its backward is the
     * reference); honours c->drop_mask. */
    tg_tensor *(*ref)(tg_tape *tp, tg_tensor *const *in, const ex_case *c);
    /* Optional: input's gradient for output gradient dout as named terms. */
    void (*terms)(const ex_case *c, const float *dout, int input, ex_terms *t);
    /* Optional: marks in z the elements of input whose gradient must be 0;
     * returns what they are ("masked positions") or NULL when there are none. */
    const char *(*zero)(const ex_case *c, int input, uint8_t *z);
    const char *zero_advice; /* what a nonzero gradient there means */
} ex_op;

extern const ex_op ex_ops[];
extern const int ex_n_ops;

/* The op named name, or NULL. */
const ex_op *ex_op_find(const char *name);
void ex_case_free(ex_case *c);

#endif
