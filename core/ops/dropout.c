/* core/ops/dropout.c — inverted dropout (Srivastava et al. 2014).
 * Derivation: docs/derivations/dropout.md.
 *
 * The keep mask is drawn from the caller's tg_rng serially, one uniform per
 * element in element order, so a seed reproduces it and it does not depend
 * on the thread count.  The rng advances by x->size draws whether or not a
 * node is recorded.
 *
 * Drawing the mask is the serial part, so it avoids floats and calls: keep
 * iff u_i >= p with u_i = (r_i >> 8)·2⁻²⁴ (tg_rng_uniform) is the integer
 * test (r_i >> 8) >= ⌈p·2²⁴⌉ on the raw 32-bit draw r_i, and r_i comes from
 * tg_rng_next (tg_rng_u32's step, core/tensor.h) on a local copy of the state.  The
 * mask is bit-identical to drawing tg_rng_uniform per element
 * (tests/test_vmath.c checks it against that stream).
 */
#include <math.h>

#include "core/ops/internal.h"


typedef struct {
    float *mask; /* size floats: 0 or 1/(1−p) */
} dropout_ctx;

/* y_i = x_i · m_i,  m_i = [u_i >= p] / (1 − p),  u_i ~ U[0, 1) from rng;
 * E[y_i] = x_i.  Local derivative: ∂y_i/∂x_i = m_i.
 * Saves the scaled mask m (floats).  x, y: any shape.
 * Evaluation mode or p == 0: returns x itself, no node, no draws. */
tg_tensor *tg_dropout(tg_tape *tp, tg_tensor *x, float p, tg_rng *rng) {
    TG_CHECK_TENSOR("tg_dropout", x);
    TG_CHECK(p >= 0.0f && p < 1.0f, "tg_dropout", "p must be in [0, 1), got %g", (double)p);
    if (!tg_tape_training(tp) || p == 0.0f) return x;
    TG_CHECK(rng != NULL, "tg_dropout", "argument `rng` is NULL (needed in training mode)");
    int64_t N = x->size;
    float *mask = tg_tape_alloc(tp, (size_t)N * sizeof *mask);
    float keep = 1.0f / (1.0f - p);
    /* u >= p  <=>  (r >> 8)·2⁻²⁴ >= p  <=>  (r >> 8) >= ⌈p·2²⁴⌉ (p·2²⁴ is exact) */
    uint32_t thresh = (uint32_t)ceilf(p * 0x1.0p24f);
    uint32_t s[4] = {rng->s[0], rng->s[1], rng->s[2], rng->s[3]};
    for (int64_t i = 0; i < N; i++) mask[i] = (tg_rng_next(s) >> 8) >= thresh ? keep : 0.0f;
    memcpy(rng->s, s, sizeof s);
    tg_tensor *out = tg__out(tp, x->ndim, x->shape);
    TG_OMP_FOR(N) for (int64_t i = 0; i < N; i++) out->data[i] = x->data[i] * mask[i];
    tg_node *n = tg__record(tp, TG_OP_dropout, out, 1, &x);
    if (n) ((dropout_ctx *)tg__node_ctx(tp, n, sizeof(dropout_ctx)))->mask = mask;
    return out;
}

void tg__dropout_bwd(tg_tape *tp, tg_node *n) {
    (void)tp;
    const float *m = ((dropout_ctx *)n->ctx)->mask, *dy = n->out->grad;
    float *dx = n->in[0]->grad;
    int64_t N = n->out->size;
    /* y = x · m  =>  dx += dy · m */
    TG_OMP_FOR(N) for (int64_t i = 0; i < N; i++) dx[i] += dy[i] * m[i];
}
