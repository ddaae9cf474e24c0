/* core/ops/softmax.c — softmax and log_softmax over the last dim, with an
 * optional additive mask.  Derivation: docs/derivations/softmax.md.
 *
 * x is [..., C], viewed as N = size/C rows.  The mask (NULL for none) is
 * broadcast to x as in tg_add: a [L, L] causal mask serves x [B, H, L, L], a
 * key-padding mask [B, 1, 1, L] likewise.  z = x + mask; an entry with
 * z = −inf is "masked".  The mask gets no gradient (it is not an input of
 * the node).
 *
 * Conventions for masked entries (z_i = −inf):
 *   - partially masked row: softmax gives exactly 0 there, log_softmax gives
 *     −inf there; the gradient into x there is 0 for both;
 *   - fully masked row (every z_i = −inf): both give 0 in every entry and a
 *     zero gradient, never NaN (an attention query that may look at nothing
 *     contributes nothing).  A row holding a NaN is not masked: its output is NaN, so
 *     the tape's non-finite check reports it.  The rule is one function,
 *     tg__row_fully_masked (core/kernels/vmath.h), shared with attention.
 * Each row is independent: rows run in parallel, each row's sums are serial
 * (double accumulators), so results do not depend on the thread count.
 */
#include <math.h>

#include "core/kernels/vmath.h"
#include "core/ops/internal.h"

/* mask_row(bc, r) points at the first mask element that row r of x reads
 * (the mask's strides along x's dims, from the broadcast). */
static const float *mask_row(const tg__bcast *bc, const float *m, int64_t r) {
    return m + tg__bcast_row_offset(bc, bc->bs, r);
}

/* Validates the mask (broadcasts TO x, never widens it) and fills bc. */
static void mask_init(tg__bcast *bc, const char *op, const tg_tensor *x, const tg_tensor *mask) {
    tg__bcast_init(bc, op, x, mask);
    int same = bc->ndim == x->ndim;
    for (int d = 0; same && d < x->ndim; d++)
        same = bc->shape[d] == x->shape[d];
    TG_CHECK(same, op, "mask %s does not broadcast to x %s (it would widen x to %d dims)",
             TG_SHAPE_STR(mask), TG_SHAPE_STR(x), bc->ndim);
}

typedef struct {
    int C;
    int64_t N;
    uint8_t *dead; /* log_softmax only: N flags, 1 for a fully masked row */
} sm_ctx;

/* One row: z_j = x_j + m_j (m NULL: no mask, ms its stride).  Writes
 * softmax (is_log = 0) or log_softmax (is_log = 1) into y.  Returns 1 when
 * the row is fully masked (then y is all 0). */
static int sm_row(const float *x, const float *m, int64_t ms, int C, int is_log, float *y) {
    for (int j = 0; j < C; j++) y[j] = m ? x[j] + m[j * ms] : x[j];
    float mx = tg__max(y, C); /* split max: vectorises, the same value */
    if (mx == -INFINITY) { /* every entry masked: define the row as 0 ... */
        if (!tg__row_fully_masked(y, C)) { /* ... but a NaN row stays NaN */
            for (int j = 0; j < C; j++) y[j] = NAN;
            return 0;
        }
        for (int j = 0; j < C; j++) y[j] = 0.0f;
        return 1;
    }
    /* e^{z − mx} by the vectorised exp of core/kernels/vmath.h (e^{−inf} = 0);
     * the double sum is a fixed-order split sum, see tg__exp_sum. */
    if (is_log) {
        double sum = tg__exp_sum(y, C, mx, NULL);
        double lse = (double)mx + log(sum);
        for (int j = 0; j < C; j++) y[j] = (float)((double)y[j] - lse); /* −inf stays −inf */
    } else {
        double sum = tg__exp_sum(y, C, mx, y);
        float inv = (float)(1.0 / sum);
        for (int j = 0; j < C; j++) y[j] *= inv;
    }
    return 0;
}

static tg_tensor *sm_forward(tg_tape *tp, const char *opname, tg_op op, tg_tensor *x,
                             const tg_tensor *mask, int is_log) {
    TG_CHECK_TENSOR(opname, x);
    tg__bcast bc = {0};
    const float *md = NULL;
    if (mask) {
        mask_init(&bc, opname, x, mask);
        md = mask->data;
    }
    tg_tensor *out = tg__out(tp, x->ndim, x->shape);
    int C = x->shape[x->ndim - 1];
    int64_t N = x->size / C;
    uint8_t *dead = is_log ? tg_tape_alloc(tp, (size_t)N) : NULL;
    TG_OMP_FOR(x->size)
    for (int64_t r = 0; r < N; r++) {
        const float *m = md ? mask_row(&bc, md, r) : NULL;
        int d = sm_row(x->data + r * C, m, md ? bc.bs[bc.ndim - 1] : 0, C, is_log, out->data + r * C);
        if (dead) dead[r] = (uint8_t)d;
    }
    tg_node *n = tg__record(tp, op, out, 1, &x);
    if (n) {
        sm_ctx *c = tg__node_ctx(tp, n, sizeof *c);
        c->C = C;
        c->N = N;
        c->dead = dead;
    }
    return out;
}

/* softmax: y_i = e^{z_i} / Σ_j e^{z_j},  z = x + mask.
 * Local derivative: ∂y_j/∂z_i = y_j (δ_ij − y_i), hence
 *   dz_i = Σ_j dy_j y_j (δ_ij − y_i) = y_i (dy_i − Σ_j dy_j y_j);  dx = dz.
 * Saves y (the output itself).  x, y: [..., C]; mask broadcast to x. */
tg_tensor *tg_softmax(tg_tape *tp, tg_tensor *x, const tg_tensor *mask) {
    return sm_forward(tp, "tg_softmax", TG_OP_softmax, x, mask, 0);
}

void tg__softmax_bwd(tg_tape *tp, tg_node *n) {
    (void)tp;
    const sm_ctx *c = n->ctx;
    float *dx = n->in[0]->grad;
    const float *y = n->out->data, *dy = n->out->grad;
    int C = c->C;
    TG_OMP_FOR(n->out->size)
    for (int64_t r = 0; r < c->N; r++) {
        const float *yr = y + r * C, *dyr = dy + r * C;
        float *dxr = dx + r * C;
        /* y_i = e^{z_i} / Σ_j e^{z_j}  =>  dz_i = y_i (dy_i − Σ_j dy_j y_j).
         * A masked entry (y_i = 0) and a fully masked row (y = 0) get 0. */
        double dot = 0.0;
        for (int j = 0; j < C; j++) dot += (double)dyr[j] * yr[j];
        for (int i = 0; i < C; i++) dxr[i] += yr[i] * (dyr[i] - (float)dot);
    }
}

/* log_softmax: y_i = z_i − log Σ_j e^{z_j},  z = x + mask.
 * Local derivative: ∂y_j/∂z_i = δ_ij − s_i with s = softmax(z) = e^{y}, hence
 *   dz_i = dy_i − s_i Σ_j dy_j  (j over unmasked entries);  dx = dz.
 * Masked entries: y_i = −inf, a constant, so dz_i = 0 and dy_i is not read.
 * Fully masked row: y = 0 (by definition) and dz = 0.
 * Saves y and one "fully masked" flag per row; s is recomputed as e^{y}. */
tg_tensor *tg_log_softmax(tg_tape *tp, tg_tensor *x, const tg_tensor *mask) {
    return sm_forward(tp, "tg_log_softmax", TG_OP_log_softmax, x, mask, 1);
}

void tg__log_softmax_bwd(tg_tape *tp, tg_node *n) {
    (void)tp;
    const sm_ctx *c = n->ctx;
    float *dx = n->in[0]->grad;
    const float *y = n->out->data, *dy = n->out->grad;
    int C = c->C;
    TG_OMP_FOR(n->out->size)
    for (int64_t r = 0; r < c->N; r++) {
        if (c->dead[r]) continue; /* fully masked: y = 0 is a constant */
        const float *yr = y + r * C, *dyr = dy + r * C;
        float *dxr = dx + r * C;
        /* y_i = z_i − log Σ_j e^{z_j}  =>  dz_i = dy_i − e^{y_i} Σ_j dy_j */
        double sdy = 0.0;
        for (int j = 0; j < C; j++)
            if (yr[j] != -INFINITY) sdy += dyr[j];
        float fsdy = (float)sdy; /* a select, not a branch: the loop vectorises */
        for (int i = 0; i < C; i++)
            dxr[i] += yr[i] != -INFINITY ? dyr[i] - tg__expf(yr[i]) * fsdy : 0.0f;
    }
}
