/* core/ops/patch.c — patchify: cut images into non-overlapping P×P patches,
 * each flattened into one vector (the patch embedding of ViT, Dosovitskiy et
 * al. 2021, §3.1, eq. 1: x_p^1 … x_p^N ∈ R^{P²·C}).
 * Derivation: docs/derivations/patch.md.
 *
 * Layout (channels-last images, the project's image layout):
 *   x [..., H, W, C] -> y [..., N, P·P·C],  N = (H/P)·(W/P),
 * patches in row-major order over the patch grid (n = py·(W/P) + px), and
 * each patch flattened in (dy, dx, c) order, c fastest:
 *   y[b, n, (dy·P + dx)·C + c] = x[b, py·P + dy, px·P + dx, c].
 * So a patch is P rows of P·C contiguous floats, each row contiguous in x
 * too: the forward is P memcpy's per patch.  (torch's Conv2d weight
 * [d_model, C, P, P] flattens the same patch in (c, dy, dx) order;
 * docs/layers.md gives the permutation.)
 *
 * Every element of x lies in exactly one patch, so the map is a permutation
 * of the elements and the backward is the inverse permutation, adding:
 *   dx[b, py·P + dy, px·P + dx, c] += dy[b, n, (dy·P + dx)·C + c].
 * Parallel over (b, py), patch rows of the grid: each task reads and writes
 * its own rows only, so the result does not depend on the thread count.
 */
#include "core/ops/internal.h"

typedef struct {
    int P;
} patch_ctx;

/* The [Bt, H, W, C] view of x (all leading dims folded into Bt). */
typedef struct {
    int64_t Bt;
    int H, W, C, P;
} patch_geom;

static patch_geom geom_of(const tg_tensor *x, int P) {
    patch_geom g = {.H = x->shape[x->ndim - 3], .W = x->shape[x->ndim - 2],
                    .C = x->shape[x->ndim - 1], .P = P};
    g.Bt = x->size / ((int64_t)g.H * g.W * g.C);
    return g;
}

/* For every (b, py): to_y = 1 copies x -> y (=), to_y = 0 adds y -> x (+=). */
static void patch_move(const patch_geom *g, float *x, float *y, int to_y) {
    int P = g->P, Hp = g->H / P, Wp = g->W / P, C = g->C;
    int64_t run = (int64_t)P * C, K = (int64_t)P * run, rows = g->Bt * Hp;
    int64_t img = (int64_t)g->H * g->W * C;
    TG_OMP_FOR(g->Bt * img)
    for (int64_t t = 0; t < rows; t++) {
        int64_t b = t / Hp;
        int py = (int)(t % Hp);
        for (int px = 0; px < Wp; px++) {
            float *yp = y + (b * Hp * Wp + (int64_t)py * Wp + px) * K;
            for (int dy = 0; dy < P; dy++) {
                float *xr = x + b * img + ((int64_t)(py * P + dy) * g->W + (int64_t)px * P) * C;
                float *yr = yp + dy * run;
                if (to_y) memcpy(yr, xr, (size_t)run * sizeof(float));
                else for (int64_t i = 0; i < run; i++) xr[i] += yr[i];
            }
        }
    }
}

/* y[b, py·(W/P) + px, (dy·P + dx)·C + c] = x[b, py·P + dy, px·P + dx, c]:
 * x [..., H, W, C] (>= 3 dims) -> y [..., N, P·P·C].  A permutation of the
 * elements, so dx[b, py·P+dy, px·P+dx, c] += dy[b, n, (dy·P+dx)·C + c].
 * Saves P. */
tg_tensor *tg_patchify(tg_tape *tp, tg_tensor *x, int P) {
    TG_CHECK_TENSOR("tg_patchify", x);
    TG_CHECK(x->ndim >= 3, "tg_patchify", "x must be [..., H, W, C], got %s", TG_SHAPE_STR(x));
    int H = x->shape[x->ndim - 3], W = x->shape[x->ndim - 2], C = x->shape[x->ndim - 1];
    TG_CHECK(P >= 1 && H % P == 0 && W % P == 0, "tg_patchify",
             "patch_size %d must be >= 1 and divide H = %d and W = %d (x is %s)", P, H, W,
             TG_SHAPE_STR(x));
    int shape[TG_MAX_DIMS];
    for (int d = 0; d < x->ndim - 3; d++) shape[d] = x->shape[d];
    shape[x->ndim - 3] = (H / P) * (W / P);
    shape[x->ndim - 2] = P * P * C;
    tg_tensor *out = tg__out(tp, x->ndim - 1, shape);
    patch_geom g = geom_of(x, P);
    patch_move(&g, x->data, out->data, 1);
    tg_node *n = tg__record(tp, TG_OP_patchify, out, 1, &x);
    if (n) ((patch_ctx *)tg__node_ctx(tp, n, sizeof(patch_ctx)))->P = P;
    return out;
}

void tg__patchify_bwd(tg_tape *tp, tg_node *n) {
    (void)tp;
    tg_tensor *x = n->in[0];
    if (!x->grad) return;
    patch_geom g = geom_of(x, ((const patch_ctx *)n->ctx)->P);
    /* y[b, n, (dy·P+dx)·C + c] = x[b, py·P+dy, px·P+dx, c]
     *   =>  dx[b, py·P+dy, px·P+dx, c] += dy[b, n, (dy·P+dx)·C + c] */
    patch_move(&g, x->grad, n->out->grad, 0);
}
