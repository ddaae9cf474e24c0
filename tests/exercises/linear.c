/* tests/exercises/linear.c — a correct solution of the linear exercise and,
 * with -DMISTAKE=n, typical mistakes: 1 transposed product in dx, 2 bias not
 * summed over the broadcast rows, 3 dW laid out transposed.  For
 * tests/test_exercises.c (not a skeleton: solutions live only here). */

/* The skeleton's given forward and helpers, exactly as the learner gets
 * them; its empty backward and its exercise_op are renamed out of the way. */
#define linear_backward skeleton_backward
#define exercise_op skeleton_op
#include "skeletons/linear.c"
#undef linear_backward
#undef exercise_op

static void linear_backward(const tg_tensor *out, tg_tensor *const *in, int n_in, void *ctx) {
    (void)n_in, (void)ctx;
    const tg_tensor *x = in[0], *W = in[1], *b = in[2];
    int N = W->shape[0], K = W->shape[1];
    int64_t M = x->size / K;
    const float *dy = out->grad;
#if MISTAKE == 1 /* transposed product: dx = dy·(W read as [K, N]) */
#define W_AT(n, k) W->data[(k) * N + (n)]
#else
#define W_AT(n, k) W->data[(n) * K + (k)]
#endif
    if (x->grad)
        for (int64_t m = 0; m < M; m++)
            for (int k = 0; k < K; k++) {
                double s = 0.0;
                for (int n = 0; n < N; n++) s += (double)dy[m * N + n] * W_AT(n, k);
                x->grad[m * K + k] += (float)s;
            }
    if (W->grad)
        for (int n = 0; n < N; n++)
            for (int k = 0; k < K; k++) {
                double s = 0.0;
                for (int64_t m = 0; m < M; m++) s += (double)dy[m * N + n] * x->data[m * K + k];
#if MISTAKE == 3 /* dW laid out as [K, N] (xᵀ·dy instead of dyᵀ·x) */
                W->grad[k * N + n] += (float)s;
#else
                W->grad[n * K + k] += (float)s;
#endif
            }
    if (b->grad)
        for (int n = 0; n < N; n++) {
#if MISTAKE == 2 /* no sum over the broadcast rows: only row 0 */
            b->grad[n] += dy[n];
#else
            double s = 0.0;
            for (int64_t m = 0; m < M; m++) s += dy[m * N + n];
            b->grad[n] += (float)s;
#endif
        }
}

const tg_custom_op exercise_op = {"linear", linear_forward, linear_backward};
