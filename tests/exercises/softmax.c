/* tests/exercises/softmax.c — a correct solution of the softmax exercise
 * and, with -DMISTAKE=n, typical mistakes: 1 missing Σ term, 2 Σ term with
 * the wrong sign, 3 `=` instead of `+=`.  For tests/test_exercises.c. */
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
    if (!x->grad) return;
    for (int64_t r = 0; r < rows; r++) {
        const float *yr = y + r * C, *dyr = dy + r * C;
        double s = 0.0;
        for (int j = 0; j < C; j++) s += (double)dyr[j] * yr[j];
        for (int j = 0; j < C; j++) {
#if MISTAKE == 1 /* the Σ term of the Jacobian forgotten */
            x->grad[r * C + j] += yr[j] * dyr[j];
#elif MISTAKE == 2 /* the Σ term with the wrong sign */
            x->grad[r * C + j] += (float)(yr[j] * (dyr[j] + s));
#elif MISTAKE == 3 /* assigned instead of added */
            x->grad[r * C + j] = (float)(yr[j] * (dyr[j] - s));
#else
            x->grad[r * C + j] += (float)(yr[j] * (dyr[j] - s));
#endif
        }
    }
}

const tg_custom_op exercise_op = {"softmax", softmax_forward, softmax_backward};
