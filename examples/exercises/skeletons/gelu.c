/* exercises/gelu.c — the backward of GELU, tanh approximation (Hendrycks &
 * Gimpel 2016), elementwise:
 *
 *   y = ½ x (1 + tanh(u)),   u = k (x + c x³),   k = √(2/π),  c = 0.044715
 *
 * Write gelu_backward: given dy = out->grad, ADD dL/dx = dy · dy/dx into
 * in[0]->grad.  Check: build/exercise check gelu
 * Derivation to compare with afterwards: docs/derivations/unary.md (gelu). */
#include <math.h>

#include "exercise.h"

#define GELU_K 0.7978845608028654f
#define GELU_C 0.044715f

static void gelu_forward(tg_tensor *out, tg_tensor *const *in, int n_in, void *ctx) {
    (void)n_in, (void)ctx;
    const float *x = in[0]->data;
    for (int64_t i = 0; i < out->size; i++)
        out->data[i] = 0.5f * x[i] * (1.0f + tanhf(GELU_K * (x[i] + GELU_C * x[i] * x[i] * x[i])));
}

static void gelu_backward(const tg_tensor *out, tg_tensor *const *in, int n_in, void *ctx) {
    (void)n_in, (void)ctx;
    const tg_tensor *x = in[0];
    const float *dy = out->grad;
    (void)x, (void)dy;
    /* YOUR CODE HERE */
}

const tg_custom_op exercise_op = {"gelu", gelu_forward, gelu_backward};
