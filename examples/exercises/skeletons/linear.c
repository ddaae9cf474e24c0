/* exercises/linear.c — the backward of a linear layer, y = x Wᵀ + b.
 *
 *   x [..., K] viewed as M = size/K rows, W [N, K], b [N]  ->  y [M, N]
 *   y[m, n] = Σ_k x[m, k] W[n, k] + b[n]
 *
 * Write linear_backward: given dy = out->grad [M, N], ADD
 *   into in[0]->grad  dL/dx [M, K],
 *   into in[1]->grad  dL/dW [N, K],
 *   into in[2]->grad  dL/db [N]       (b is broadcast over the M rows)
 * skipping any input whose grad is NULL.  Check: build/exercise check linear
 * Derivation to compare with afterwards: docs/derivations/matmul.md. */
#include "exercise.h"

static void linear_forward(tg_tensor *out, tg_tensor *const *in, int n_in, void *ctx) {
    (void)n_in, (void)ctx;
    const tg_tensor *x = in[0], *W = in[1], *b = in[2];
    int N = W->shape[0], K = W->shape[1];
    int64_t M = x->size / K;
    for (int64_t m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            double s = b->data[n];
            for (int k = 0; k < K; k++) s += (double)x->data[m * K + k] * W->data[n * K + k];
            out->data[m * N + n] = (float)s;
        }
}

static void linear_backward(const tg_tensor *out, tg_tensor *const *in, int n_in, void *ctx) {
    (void)n_in, (void)ctx;
    const tg_tensor *x = in[0], *W = in[1], *b = in[2];
    int N = W->shape[0], K = W->shape[1];
    int64_t M = x->size / K;
    const float *dy = out->grad;
    (void)x, (void)b, (void)N, (void)M, (void)dy;
    /* YOUR CODE HERE */
}

const tg_custom_op exercise_op = {"linear", linear_forward, linear_backward};
