/* exercises/layernorm.c — the backward of layer normalisation over the last
 * dim (Ba, Kiros & Hinton 2016).
 *
 *   x [..., C] viewed as rows of C; gain [C], bias [C]; eps in ctx
 *   μ = (1/C) Σ_j x_j,  σ² = (1/C) Σ_j (x_j − μ)²,  r = 1/√(σ² + eps)
 *   n_i = (x_i − μ)·r,  y_i = n_i·gain_i + bias_i                    (per row)
 *
 * Write layernorm_backward: given dy = out->grad, ADD dL/dx into
 * in[0]->grad, dL/dgain into in[1]->grad, dL/dbias into in[2]->grad (gain
 * and bias are broadcast over the rows); skip a NULL grad.  Remember that μ
 * and r depend on every x_j of the row.  Check: build/exercise check layernorm
 * Derivation to compare with afterwards: docs/derivations/layernorm.md. */
#include <math.h>

#include "exercise.h"

/* μ and r of one row. */
static void row_stats(const float *x, int C, float eps, float *mu, float *r) {
    double s = 0.0, v = 0.0;
    for (int i = 0; i < C; i++) s += x[i];
    *mu = (float)(s / C);
    for (int i = 0; i < C; i++) v += (double)(x[i] - *mu) * (x[i] - *mu);
    *r = (float)(1.0 / sqrt(v / C + eps));
}

static void layernorm_forward(tg_tensor *out, tg_tensor *const *in, int n_in, void *ctx) {
    (void)n_in;
    const tg_tensor *x = in[0], *gain = in[1], *bias = in[2];
    int C = x->shape[x->ndim - 1];
    int64_t rows = x->size / C;
    for (int64_t row = 0; row < rows; row++) {
        const float *xr = x->data + row * C;
        float mu, r;
        row_stats(xr, C, ((const ex_ln_ctx *)ctx)->eps, &mu, &r);
        for (int i = 0; i < C; i++)
            out->data[row * C + i] = (xr[i] - mu) * r * gain->data[i] + bias->data[i];
    }
}

static void layernorm_backward(const tg_tensor *out, tg_tensor *const *in, int n_in, void *ctx) {
    (void)n_in;
    const tg_tensor *x = in[0], *gain = in[1], *bias = in[2];
    int C = x->shape[x->ndim - 1];
    int64_t rows = x->size / C;
    float eps = ((const ex_ln_ctx *)ctx)->eps;
    const float *dy = out->grad;
    (void)gain, (void)bias, (void)rows, (void)eps, (void)dy;
    /* YOUR CODE HERE (row_stats gives μ and r of a row) */
}

const tg_custom_op exercise_op = {"layernorm", layernorm_forward, layernorm_backward};
