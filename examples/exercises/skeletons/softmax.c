/* exercises/softmax.c — the backward of softmax over the last dim, with an
 * additive mask.
 *
 *   x [..., R, C] viewed as rows of C; mask [R, C] (0 keeps, −INFINITY hides;
 *   row r of x uses mask row r % R)
 *   z = x + mask,  y_i = e^{z_i} / Σ_j e^{z_j}  (per row; a fully masked row is 0)
 *
 * Write softmax_backward: given dy = out->grad, ADD dL/dx into in[0]->grad.
 * The mask gets no gradient (in[1]->grad is NULL).  The forward's output y is
 * out->data.  Check: build/exercise check softmax
 * Derivation to compare with afterwards: docs/derivations/softmax.md. */
#include <math.h>

#include "exercise.h"

static void softmax_forward(tg_tensor *out, tg_tensor *const *in, int n_in, void *ctx) {
    (void)n_in, (void)ctx;
    const tg_tensor *x = in[0], *mask = in[1];
    int C = x->shape[x->ndim - 1], R = mask->shape[0];
    int64_t rows = x->size / C;
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x->data + r * C, *mr = mask->data + (r % R) * C;
        float *yr = out->data + r * C;
        float mx = -INFINITY;
        for (int j = 0; j < C; j++) mx = fmaxf(mx, xr[j] + mr[j]);
        if (mx == -INFINITY) { /* every entry masked */
            for (int j = 0; j < C; j++) yr[j] = 0.0f;
            continue;
        }
        double s = 0.0;
        for (int j = 0; j < C; j++) s += yr[j] = expf(xr[j] + mr[j] - mx);
        for (int j = 0; j < C; j++) yr[j] = (float)(yr[j] / s);
    }
}

static void softmax_backward(const tg_tensor *out, tg_tensor *const *in, int n_in, void *ctx) {
    (void)n_in, (void)ctx;
    const tg_tensor *x = in[0];
    int C = x->shape[x->ndim - 1];
    int64_t rows = x->size / C;
    const float *y = out->data, *dy = out->grad;
    (void)rows, (void)y, (void)dy;
    /* YOUR CODE HERE */
}

const tg_custom_op exercise_op = {"softmax", softmax_forward, softmax_backward};
