/* tests/exercises/softmax.c — a correct solution of the softmax exercise
 * and, with -DMISTAKE=n, typical mistakes: 1 missing Σ term, 2 Σ term with
 * the wrong sign, 3 `=` instead of `+=`.  For tests/test_exercises.c. */

/* The skeleton's given forward and helpers, exactly as the learner gets
 * them; its empty backward and its exercise_op are renamed out of the way. */
#define softmax_backward skeleton_backward
#define exercise_op skeleton_op
#include "skeletons/softmax.c"
#undef softmax_backward
#undef exercise_op

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
