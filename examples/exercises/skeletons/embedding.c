/* exercises/embedding.c — the backward of an embedding lookup.
 *
 *   weight [V, C], ids[p] in [0, V) for p = 0..n_ids−1 (in ctx; ids repeat)
 *   out[p, c] = weight[ids[p], c]                               -> [n_ids, C]
 *
 * Write embedding_backward: given dout = out->grad, ADD dL/dweight into
 * in[0]->grad.  Check: build/exercise check embedding
 * Derivation to compare with afterwards: docs/derivations/embedding.md. */
#include "exercise.h"

static void embedding_forward(tg_tensor *out, tg_tensor *const *in, int n_in, void *ctx) {
    (void)n_in;
    const ex_emb_ctx *c = ctx;
    int C = in[0]->shape[1];
    for (int p = 0; p < c->n_ids; p++)
        for (int i = 0; i < C; i++) out->data[p * C + i] = in[0]->data[c->ids[p] * C + i];
}

static void embedding_backward(const tg_tensor *out, tg_tensor *const *in, int n_in, void *ctx) {
    (void)n_in;
    const ex_emb_ctx *c = ctx;
    int V = in[0]->shape[0], C = in[0]->shape[1];
    const float *dout = out->grad;
    (void)c, (void)V, (void)C, (void)dout;
    /* YOUR CODE HERE */
}

const tg_custom_op exercise_op = {"embedding", embedding_forward, embedding_backward};
