/* core/ops/affine.c — the affine map of a Linear layer as one operation:
 * y = x Wᵀ + b.  Derivation: docs/derivations/affine.md.
 *
 * The composed form is tg_matmul(x, W, 0, 1) then tg_add(·, b): two tape
 * nodes and two output tensors.  This op writes one: the GEMM result, then
 * b added to each row in place — the same floating-point operations in the
 * same order as the composed form, so the values are bit-identical
 * (tests/test_vit.c), with one [.., out] activation fewer per layer.
 *
 *   y[r, o] = Σ_i x[r, i] W[o, i] + b[o]          (r over all leading dims)
 *   dx = dy W,   dW = dyᵀ x,   db[o] = Σ_r dy[r, o].
 * Every product is one tg_sgemm over all rows.  db is summed over rows in
 * order (float, as tg_add's backward does), in parallel over blocks of
 * columns: no two threads write one place, the order does not depend on the
 * thread count.
 */
#include <limits.h>

#include "core/kernels/sgemm.h"
#include "core/ops/internal.h"

typedef struct {
    int rows, in, out; /* M = rows of x (all leading dims), K = in, N = out */
} affine_ctx;

/* y = x Wᵀ + b: x [..., in], W [out, in], b [out] or NULL -> y [..., out].
 * Local derivatives: ∂y[r,o]/∂x[r,i] = W[o,i], ∂y[r,o]/∂W[o,i] = x[r,i],
 * ∂y[r,o]/∂b[o] = 1.  Saves nothing but the inputs. */
tg_tensor *tg_affine(tg_tape *tp, tg_tensor *x, tg_tensor *w, tg_tensor *b) {
    TG_CHECK_TENSOR("tg_affine", x);
    TG_CHECK_TENSOR("tg_affine", w);
    int K = x->shape[x->ndim - 1];
    TG_CHECK(w->ndim == 2 && w->shape[1] == K, "tg_affine",
             "weight must be [out, %d] (the last dim of x %s), got %s", K, TG_SHAPE_STR(x),
             TG_SHAPE_STR(w));
    int N = w->shape[0];
    TG_CHECK(!b || (b->ndim == 1 && b->shape[0] == N), "tg_affine",
             "bias must be [%d] (the rows of weight %s), got %s", N, TG_SHAPE_STR(w),
             b ? TG_SHAPE_STR(b) : "NULL");
    int64_t M = x->size / K;
    TG_CHECK(M <= INT_MAX, "tg_affine", "x %s has %lld rows, more than tg_sgemm's int M",
             TG_SHAPE_STR(x), (long long)M);
    int shape[TG_MAX_DIMS];
    for (int d = 0; d < x->ndim - 1; d++) shape[d] = x->shape[d];
    shape[x->ndim - 1] = N;
    tg_tensor *out = tg__out(tp, x->ndim, shape);
    tg_sgemm(0, 1, (int)M, N, K, 1.0f, x->data, K, w->data, K, 0.0f, out->data, N);
    if (b) {
        const float *bb = b->data;
        float *y = out->data;
        TG_OMP_FOR(out->size)
        for (int64_t r = 0; r < M; r++)
            for (int o = 0; o < N; o++) y[r * N + o] += bb[o];
    }
    tg_tensor *in[3] = {x, w, b};
    tg_node *n = tg__record(tp, TG_OP_affine, out, b ? 3 : 2, in);
    if (n) *(affine_ctx *)tg__node_ctx(tp, n, sizeof(affine_ctx)) = (affine_ctx){(int)M, K, N};
    return out;
}

/* Columns per block of the db reduction. */
#define AFFINE_CBLOCK 64

void tg__affine_bwd(tg_tape *tp, tg_node *n) {
    (void)tp;
    const affine_ctx *c = n->ctx;
    tg_tensor *x = n->in[0], *w = n->in[1], *b = n->n_in > 2 ? n->in[2] : NULL;
    const float *dy = n->out->grad;
    int M = c->rows, K = c->in, N = c->out;
    /* y = x Wᵀ  =>  dx[M, K] += dy[M, N] · W[N, K] */
    if (x->grad) tg_sgemm(0, 0, M, K, N, 1.0f, dy, N, w->data, K, 1.0f, x->grad, K);
    /*          =>  dW[N, K] += dy[M, N]ᵀ · x[M, K] */
    if (w->grad) tg_sgemm(1, 0, N, K, M, 1.0f, dy, N, x->data, K, 1.0f, w->grad, K);
    if (b && b->grad) {
        float *db = b->grad;
        int nb = (N + AFFINE_CBLOCK - 1) / AFFINE_CBLOCK;
        TG_OMP_FOR(n->out->size)
        for (int blk = 0; blk < nb; blk++) {
            int o0 = blk * AFFINE_CBLOCK, o1 = o0 + AFFINE_CBLOCK < N ? o0 + AFFINE_CBLOCK : N;
            /* y = ... + b  =>  db[o] += Σ_r dy[r, o], rows in order */
            for (int64_t r = 0; r < M; r++)
                for (int o = o0; o < o1; o++) db[o] += dy[r * N + o];
        }
    }
}
