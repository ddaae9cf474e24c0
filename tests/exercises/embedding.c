/* tests/exercises/embedding.c — a correct solution of the embedding
 * exercise and, with -DMISTAKE=n, typical mistakes: 1 `=` instead of `+=`
 * (repeated ids), 2 scattered into row p instead of row ids[p], 3 dweight
 * laid out transposed.  For tests/test_exercises.c. */

/* The skeleton's given forward and helpers, exactly as the learner gets
 * them; its empty backward and its exercise_op are renamed out of the way. */
#define embedding_backward skeleton_backward
#define exercise_op skeleton_op
#include "skeletons/embedding.c"
#undef embedding_backward
#undef exercise_op

static void embedding_backward(const tg_tensor *out, tg_tensor *const *in, int n_in, void *ctx) {
    (void)n_in;
    const ex_emb_ctx *c = ctx;
    int V = in[0]->shape[0], C = in[0]->shape[1];
    const float *dout = out->grad;
    float *dw = in[0]->grad;
    if (!dw) return;
    (void)V;
    for (int p = 0; p < c->n_ids; p++)
        for (int i = 0; i < C; i++) {
#if MISTAKE == 1 /* assigned: a repeated id keeps only its last row */
            dw[c->ids[p] * C + i] = dout[p * C + i];
#elif MISTAKE == 2 /* scattered into row p instead of row ids[p] */
            dw[p * C + i] += dout[p * C + i];
#elif MISTAKE == 3 /* dweight laid out as [C, V] */
            dw[i * V + c->ids[p]] += dout[p * C + i];
#else
            dw[c->ids[p] * C + i] += dout[p * C + i];
#endif
        }
}

const tg_custom_op exercise_op = {"embedding", embedding_forward, embedding_backward};
