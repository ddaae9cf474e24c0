/* core/ops/embedding.c — embedding lookup: rows of a [V, C] table picked by
 * integer ids.  Derivation: docs/derivations/embedding.md.
 *
 * The backward scatter-adds: a row of dweight receives the sum of dout over
 * every position holding its id.  Two positions may hold one id, so it runs
 * in parallel over blocks of channels, each block visiting the positions in
 * order: no two threads write one place, the sum order is fixed.
 */
#include "core/ops/internal.h"

typedef struct {
    int V, C;
    int64_t P;      /* number of positions = product of the ids' shape */
    int32_t *ids;   /* P, copied onto the tape */
} emb_ctx;

/* out[p, c] = weight[ids[p], c]        (p over the ids' positions)
 * Local derivative: ∂out[p, c]/∂weight[v, c] = [ids[p] = v], so
 *   dweight[v, c] = Σ_{p : ids[p] = v} dout[p, c].
 * Saves the ids (copied).  weight: [V, C]; ids: shape (1 to TG_MAX_DIMS−1 dims);
 * out: [shape..., C]. */
tg_tensor *tg_embedding(tg_tape *tp, tg_tensor *weight, const int32_t *ids, int ndim,
                        const int *shape) {
    const char *op = "tg_embedding";
    TG_CHECK_TENSOR(op, weight);
    TG_CHECK(ids != NULL && shape != NULL, op, "ids or shape is NULL");
    TG_CHECK(weight->ndim == 2, op, "weight must be [V, C], got %s", TG_SHAPE_STR(weight));
    TG_CHECK(ndim >= 1 && ndim < TG_MAX_DIMS, op, "ids must have 1 to %d dims, got %d",
             TG_MAX_DIMS - 1, ndim);
    tg_check_shape(op, ndim, shape);
    int V = weight->shape[0], C = weight->shape[1];
    int64_t P = tg_shape_numel(ndim, shape);
    for (int64_t p = 0; p < P; p++)
        TG_CHECK(ids[p] >= 0 && ids[p] < V, op, "id %d at position %lld outside [0, %d)",
                 (int)ids[p], (long long)p, V);
    int oshape[TG_MAX_DIMS];
    for (int d = 0; d < ndim; d++) oshape[d] = shape[d];
    oshape[ndim] = C;
    tg_tensor *out = tg__out(tp, ndim + 1, oshape);
    const float *w = weight->data;
    TG_OMP_FOR(out->size)
    for (int64_t p = 0; p < P; p++)
        memcpy(out->data + p * C, w + (int64_t)ids[p] * C, (size_t)C * sizeof(float));
    tg_node *n = tg__record(tp, TG_OP_embedding, out, 1, &weight);
    if (n) {
        emb_ctx *c = tg__node_ctx(tp, n, sizeof *c);
        c->V = V;
        c->C = C;
        c->P = P;
        c->ids = tg_tape_alloc(tp, (size_t)P * sizeof *c->ids);
        memcpy(c->ids, ids, (size_t)P * sizeof *c->ids);
    }
    return out;
}

/* Channels per block of the scatter-add. */
#define EMB_CBLOCK 16

void tg__embedding_bwd(tg_tape *tp, tg_node *n) {
    (void)tp;
    const emb_ctx *c = n->ctx;
    float *dw = n->in[0]->grad;
    const float *dout = n->out->grad;
    int C = c->C, nb = (C + EMB_CBLOCK - 1) / EMB_CBLOCK;
    TG_OMP_FOR(n->out->size)
    for (int blk = 0; blk < nb; blk++) {
        int c0 = blk * EMB_CBLOCK, c1 = c0 + EMB_CBLOCK < C ? c0 + EMB_CBLOCK : C;
        for (int64_t p = 0; p < c->P; p++) { /* in order: repeated ids add in a fixed order */
            /* out[p, c] = weight[ids[p], c]  =>  dweight[ids[p], c] += dout[p, c] */
            float *dwr = dw + (int64_t)c->ids[p] * C;
            const float *dor = dout + p * C;
            for (int i = c0; i < c1; i++) dwr[i] += dor[i];
        }
    }
}
