/* core/gradcheck.h — checks backward against central finite differences.
 *
 *   static tg_tensor *f(tg_tape *tp, tg_tensor *const *x, int n, void *user) {
 *       return tg_tanh(tp, tg_matmul(tp, x[0], x[1], 0, 0));
 *   }
 *   tg_tensor *a = tg_tensor_new_grad(TG_SHAPE(3, 4)), *b = ...;  // random data
 *   tg_gradcheck_result r;
 *   if (!tg_gradcheck(f, 2, (tg_tensor *[]){a, b}, NULL, NULL, &r))
 *       tg_gradcheck_print(stderr, "tanh(a·b)", &r);
 *
 * f may return a tensor of any shape y; it is reduced to the scalar
 * L = Σ_i r_i·y_i with fixed random weights r_i in [-1, 1] (a plain sum would
 * hide errors: Σ softmax(x) is constant, so its gradient is zero whatever
 * the backward computes).  The analytic gradient of L comes from one reverse
 * sweep seeded with r; the numeric one from
 *     dL/dx_j ≈ (L(x + h·e_j) − L(x − h·e_j)) / (x_j⁺ − x_j⁻)
 * where L is accumulated in double precision from f's float outputs and the
 * step is the difference of the two float inputs actually evaluated.
 */
#ifndef TG_GRADCHECK_H
#define TG_GRADCHECK_H

#include <stdint.h>
#include <stdio.h>

#include "core/tape.h"

/* Builds the function on tp from the inputs x[0..n-1].  Called once with
 * recording on, then twice per checked element with recording off.  Must be
 * deterministic (reseed any tg_rng from user on each call). */
typedef tg_tensor *(*tg_gradcheck_fn)(tg_tape *tp, tg_tensor *const *x, int n, void *user);

typedef struct {
    double h;            /* finite-difference step (default 1e-3, absolute) */
    double tol;          /* pass when every relative error <= tol (default 1e-2) */
    double floor;        /* relative error = |a−n| / max(|a|, |n|, floor) (default 1e-2),
                            so gradients below floor are compared absolutely */
    int max_per_input;   /* check at most this many elements of each input, chosen at
                            random (default 256; 0 = every element) */
    uint64_t seed;       /* for r and the element choice (default 1) */
} tg_gradcheck_opts;

typedef struct {
    double max_rel_err;  /* the worst relative error found */
    int input;           /* which input it is in (-1 when nothing was checked) */
    int64_t index;       /* flat element index within that input */
    double analytic;     /* backward's value there */
    double numeric;      /* the finite-difference value there */
    int64_t n_checked;   /* elements checked over all inputs */
    int passed;          /* max_rel_err <= tol */
} tg_gradcheck_result;

/* Checks every input that has TG_REQUIRES_GRAD (others are held fixed; at
 * least one must require grad, with a grad buffer: tg_tensor_new_grad or a
 * parameter).  Inputs' grads are overwritten; their data is restored.
 * opts may be NULL (defaults).  Returns 1 when passed, 0 otherwise; fills
 * *res (may be NULL).  Errors: f returning NULL or a tensor not recorded on
 * the tape aborts. */
int tg_gradcheck(tg_gradcheck_fn f, int n, tg_tensor *const *inputs, void *user,
                 const tg_gradcheck_opts *opts, tg_gradcheck_result *res);

/* "name: max relative error 3.2e-05 at input 1 [17] (analytic 0.52, numeric
 * 0.52), 412 elements checked: ok" */
void tg_gradcheck_print(FILE *f, const char *name, const tg_gradcheck_result *res);

#endif
