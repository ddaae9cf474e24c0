/* core/ops/reduce.c — sums and means: over all elements, or over the last
 * dim.  Derivation: docs/derivations/reduce.md.
 *
 *   sum:       y[1]   = Σ_i x_i                    dx_i   += dy
 *   mean:      y[1]   = (1/n) Σ_i x_i              dx_i   += dy / n
 *   sum_last:  y[...] = Σ_c x[..., c]              dx[..., c] += dy[...]
 *   mean_last: y[...] = (1/C) Σ_c x[..., c]        dx[..., c] += dy[...] / C
 * Nothing is saved: the backward needs only the sizes.
 *
 * Determinism: the all-elements sum is cut into blocks of a fixed size
 * (independent of the number of threads); each block is summed serially in
 * double, the block sums are added in block order.  So the result is
 * bit-identical for any thread count — an OpenMP reduction clause would
 * combine per-thread partial sums in an order that depends on the team.
 */
#include "core/ops/internal.h"

/* Elements per block of the all-elements sum. */
#define SUM_BLOCK 4096

/* Σ x[0..n-1] in double, in a fixed order (see the file comment).  Block
 * sums live on the tape's arena as scratch. */
static double sum_fixed(tg_tape *tp, const float *x, int64_t n) {
    int64_t nb = (n + SUM_BLOCK - 1) / SUM_BLOCK;
    double *part = tg_tape_alloc(tp, (size_t)nb * sizeof(double));
    TG_OMP_FOR(n)
    for (int64_t b = 0; b < nb; b++) {
        int64_t lo = b * SUM_BLOCK, hi = lo + SUM_BLOCK < n ? lo + SUM_BLOCK : n;
        double s = 0.0;
        for (int64_t i = lo; i < hi; i++) s += x[i];
        part[b] = s;
    }
    double s = 0.0;
    for (int64_t b = 0; b < nb; b++) s += part[b];
    return s;
}

/* y[r] = scale · Σ_c x[r, c], x viewed as R rows of C: C = size for sum and
 * mean (-> [1]), C = the last dim for sum_last and mean_last ([..., C] ->
 * [...], [1] for 1-D x); scale 1 or 1/C.  One row (R = 1) is summed in
 * fixed blocks, in parallel; several rows run in parallel, each serially in
 * double.  Saves nothing. */
static tg_tensor *reduce_forward(tg_tape *tp, const char *opname, tg_op op, tg_tensor *x) {
    TG_CHECK_TENSOR(opname, x);
    int all = op == TG_OP_sum || op == TG_OP_mean;
    int64_t C = all ? x->size : x->shape[x->ndim - 1], R = x->size / C;
    tg_tensor *out = all || x->ndim == 1 ? tg__out(tp, TG_SHAPE(1)) : tg__out(tp, x->ndim - 1, x->shape);
    double scale = op == TG_OP_mean || op == TG_OP_mean_last ? 1.0 / (double)C : 1.0;
    const float *xd = x->data;
    float *y = out->data;
    if (R == 1) {
        y[0] = (float)(scale * sum_fixed(tp, xd, C));
    } else {
        TG_OMP_FOR(x->size)
        for (int64_t r = 0; r < R; r++) {
            double s = 0.0;
            for (int64_t c = 0; c < C; c++) s += xd[r * C + c];
            y[r] = (float)(scale * s);
        }
    }
    tg__record(tp, op, out, 1, &x);
    return out;
}

/* Parallel over fixed blocks of x's flat index (not over rows: sum and mean
 * have one row); r and c follow the flat index without a division. */
static void reduce_backward(tg_node *n) {
    tg_tensor *x = n->in[0];
    float *dx = x->grad;
    if (!dx) return;
    int all = n->op == TG_OP_sum || n->op == TG_OP_mean;
    int64_t C = all ? x->size : x->shape[x->ndim - 1], N = x->size;
    int64_t nb = (N + SUM_BLOCK - 1) / SUM_BLOCK;
    float scale = n->op == TG_OP_mean || n->op == TG_OP_mean_last ? (float)(1.0 / (double)C) : 1.0f;
    const float *dy = n->out->grad;
    TG_OMP_FOR(N)
    for (int64_t b = 0; b < nb; b++) {
        int64_t lo = b * SUM_BLOCK, hi = lo + SUM_BLOCK < N ? lo + SUM_BLOCK : N;
        int64_t r = lo / C, c = lo % C;
        for (int64_t i = lo; i < hi; i++) {
            /* y[r] = scale · Σ_c x[r, c]  =>  dx[r, c] += scale · dy[r] */
            dx[i] += scale * dy[r];
            if (++c == C) c = 0, r++;
        }
    }
}

tg_tensor *tg_sum(tg_tape *tp, tg_tensor *x) { return reduce_forward(tp, "tg_sum", TG_OP_sum, x); }
void tg__sum_bwd(tg_tape *tp, tg_node *n) { (void)tp; reduce_backward(n); }

tg_tensor *tg_mean(tg_tape *tp, tg_tensor *x) { return reduce_forward(tp, "tg_mean", TG_OP_mean, x); }
void tg__mean_bwd(tg_tape *tp, tg_node *n) { (void)tp; reduce_backward(n); }

tg_tensor *tg_sum_last(tg_tape *tp, tg_tensor *x) {
    return reduce_forward(tp, "tg_sum_last", TG_OP_sum_last, x);
}
void tg__sum_last_bwd(tg_tape *tp, tg_node *n) { (void)tp; reduce_backward(n); }

tg_tensor *tg_mean_last(tg_tape *tp, tg_tensor *x) {
    return reduce_forward(tp, "tg_mean_last", TG_OP_mean_last, x);
}
void tg__mean_last_bwd(tg_tape *tp, tg_node *n) { (void)tp; reduce_backward(n); }

/* ---- max over one dim ------------------------------------------------------
 * x viewed as [O, D, I] (D the reduced dim, O the dims before it, I after):
 *   y[o, i] = max_d x[o, d, i]
 *   ∂y[o, i]/∂x[o, d, i] = 1 if d = argmax_d x[o, d, i] else 0
 * The gradient flows only to the first maximal element (a subgradient where
 * several tie).  Saves the argmax per output element (int32, on the tape). */
typedef struct {
    int64_t O, D, I;
    int32_t *arg; /* [O·I] */
} max_ctx;

tg_tensor *tg_max(tg_tape *tp, tg_tensor *x, int dim) {
    TG_CHECK_TENSOR("tg_max", x);
    int d = dim < 0 ? dim + x->ndim : dim;
    TG_CHECK(d >= 0 && d < x->ndim, "tg_max", "dim %d outside x %s", dim, TG_SHAPE_STR(x));
    int64_t O = 1, I = 1, D = x->shape[d];
    for (int k = 0; k < d; k++) O *= x->shape[k];
    for (int k = d + 1; k < x->ndim; k++) I *= x->shape[k];
    int shape[TG_MAX_DIMS], nd = 0;
    for (int k = 0; k < x->ndim; k++)
        if (k != d) shape[nd++] = x->shape[k];
    if (nd == 0) shape[nd++] = 1;
    tg_tensor *out = tg__out(tp, nd, shape);
    int32_t *arg = tg_tape_alloc(tp, (size_t)(O * I) * sizeof *arg);
    const float *xd = x->data;
    /* For each o, sweep the D rows of I contiguous values: the inner loop over
     * i runs along memory and vectorises (the first maximum wins ties). */
    TG_OMP_FOR(x->size)
    for (int64_t o = 0; o < O; o++) {
        const float *p = xd + o * D * I;
        float *best = out->data + o * I;
        int32_t *a = arg + o * I;
        for (int64_t i = 0; i < I; i++) {
            best[i] = p[i];
            a[i] = 0;
        }
        for (int64_t k = 1; k < D; k++) {
            const float *row = p + k * I;
            for (int64_t i = 0; i < I; i++) {
                int win = row[i] > best[i];
                best[i] = win ? row[i] : best[i];
                a[i] = win ? (int32_t)k : a[i];
            }
        }
    }
    tg_node *n = tg__record(tp, TG_OP_max, out, 1, &x);
    if (n) {
        max_ctx *c = tg__node_ctx(tp, n, sizeof *c);
        c->O = O;
        c->D = D;
        c->I = I;
        c->arg = arg;
    }
    return out;
}

void tg__max_bwd(tg_tape *tp, tg_node *n) {
    (void)tp;
    const max_ctx *c = n->ctx;
    float *dx = n->in[0]->grad;
    const float *dy = n->out->grad;
    if (!dx) return;
    TG_OMP_FOR(n->in[0]->size)
    for (int64_t o = 0; o < c->O; o++)
        for (int64_t i = 0; i < c->I; i++)
            /* y[o, i] = x[o, arg, i]  =>  dx[o, arg, i] += dy[o, i] */
            dx[(o * c->D + c->arg[o * c->I + i]) * c->I + i] += dy[o * c->I + i];
}
