/* tests/exercises/cross_entropy.c — a correct solution of the
 * cross_entropy exercise and, with -DMISTAKE=n, typical mistakes: 1 ignored
 * rows get a gradient (forgotten mask), 2 divided by N instead of the count,
 * 3 the softmax term forgotten.  For tests/test_exercises.c. */

/* The skeleton's given forward and helpers, exactly as the learner gets
 * them; its empty backward and its exercise_op are renamed out of the way. */
#define cross_entropy_backward skeleton_backward
#define exercise_op skeleton_op
#include "skeletons/cross_entropy.c"
#undef cross_entropy_backward
#undef exercise_op

static void cross_entropy_backward(const tg_tensor *out, tg_tensor *const *in, int n_in,
                                   void *ctx) {
    (void)n_in;
    const ex_ce_ctx *c = ctx;
    const tg_tensor *logits = in[0];
    int N = logits->shape[0], V = logits->shape[1];
    float dloss = out->grad[0];
    if (!logits->grad) return;
    int count = 0;
    for (int n = 0; n < N; n++) count += c->targets[n] >= 0;
#if MISTAKE == 2 /* mean over all rows, not over the rows that count */
    count = N;
#endif
    if (count == 0) return;
    for (int n = 0; n < N; n++) {
#if MISTAKE != 1 /* MISTAKE 1: ignored rows not skipped (forgotten mask) */
        if (c->targets[n] < 0) continue;
#endif
        const float *l = logits->data + (int64_t)n * V;
        double lse = logsumexp(l, V);
        for (int v = 0; v < V; v++) {
#if MISTAKE == 3 /* only the one-hot term: the softmax (Σ) term forgotten */
            double p = 0.0;
#else
            double p = exp(l[v] - lse);
#endif
            logits->grad[(int64_t)n * V + v] +=
                (float)(dloss * (p - (v == c->targets[n])) / count);
        }
    }
}

const tg_custom_op exercise_op = {"cross_entropy", cross_entropy_forward, cross_entropy_backward};
