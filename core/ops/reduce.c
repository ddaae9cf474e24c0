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
