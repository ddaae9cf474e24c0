/* tests/exercises/layernorm.c — a correct solution of the layernorm
 * exercise and, with -DMISTAKE=n, typical mistakes: 1 the term through μ
 * forgotten, 2 the term through σ forgotten, 3 dgain not summed over the
 * broadcast rows.  For tests/test_exercises.c. */

/* The skeleton's given forward and helpers, exactly as the learner gets
 * them; its empty backward and its exercise_op are renamed out of the way. */
#define layernorm_backward skeleton_backward
#define exercise_op skeleton_op
#include "skeletons/layernorm.c"
#undef layernorm_backward
#undef exercise_op

static void layernorm_backward(const tg_tensor *out, tg_tensor *const *in, int n_in, void *ctx) {
    (void)n_in;
    const tg_tensor *x = in[0], *gain = in[1], *bias = in[2];
    int C = x->shape[x->ndim - 1];
    int64_t rows = x->size / C;
    float eps = ((const ex_ln_ctx *)ctx)->eps;
    const float *dy = out->grad;
    for (int64_t row = 0; row < rows; row++) {
        const float *xr = x->data + row * C, *dyr = dy + row * C;
        float mu, r;
        row_stats(xr, C, eps, &mu, &r);
        double m_dn = 0.0, m_dnn = 0.0;
        for (int i = 0; i < C; i++) {
            double dn = (double)gain->data[i] * dyr[i];
            m_dn += dn / C;
            m_dnn += dn * (xr[i] - mu) * r / C;
        }
#if MISTAKE == 1 /* μ treated as a constant */
        m_dn = 0.0;
#elif MISTAKE == 2 /* σ treated as a constant */
        m_dnn = 0.0;
#endif
        for (int i = 0; i < C; i++) {
            double n = (xr[i] - mu) * r, dn = (double)gain->data[i] * dyr[i];
            if (x->grad) x->grad[row * C + i] += (float)(r * (dn - m_dn - n * m_dnn));
#if MISTAKE == 3 /* dgain not summed over the rows: only the first row */
            if (gain->grad && row == 0) gain->grad[i] += (float)(dyr[i] * n);
#else
            if (gain->grad) gain->grad[i] += (float)(dyr[i] * n);
#endif
            if (bias->grad) bias->grad[i] += dyr[i];
        }
    }
}

const tg_custom_op exercise_op = {"layernorm", layernorm_forward, layernorm_backward};
