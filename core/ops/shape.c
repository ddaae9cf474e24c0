/* core/ops/shape.c — operations that move elements without changing them:
 * transpose, permute, reshape, concat, slice, split.  Derivation:
 * docs/derivations/shape.md.
 *
 * Each is a permutation or a selection of elements, so each backward moves
 * the output gradient back to where the element came from and adds it there:
 * the backward of a copy is the same copy, reversed, with += instead of =.
 *
 * concat and slice both copy runs along one dim.  Viewing x [..., D, ...]
 * around `dim` as [O, D, I] (O = product of the dims before, I of the dims
 * after), a run is x[o, off : off+len, :] — len·I contiguous floats for each
 * o — and copy_along moves runs between two such views.
 */
#include "core/ops/internal.h"

/* dim counted from the end when negative; aborts when outside [-ndim, ndim). */
static int norm_dim(const char *op, const char *arg, const tg_tensor *x, int dim) {
    TG_CHECK(dim >= -x->ndim && dim < x->ndim, op, "dim %d outside [%d, %d) for %s %s", dim,
             -x->ndim, x->ndim, arg, TG_SHAPE_STR(x));
    return dim < 0 ? dim + x->ndim : dim;
}

/* Product of x's dims before `dim` (O) and after it (I). */
static int64_t outer_of(const tg_tensor *x, int dim) {
    int64_t o = 1;
    for (int d = 0; d < dim; d++) o *= x->shape[d];
    return o;
}
static int64_t inner_of(const tg_tensor *x, int dim) {
    int64_t in = 1;
    for (int d = dim + 1; d < x->ndim; d++) in *= x->shape[d];
    return in;
}

/* For o in [0, O): dst[o, doff : doff+len, :] (= or +=) src[o, soff : soff+len, :],
 * dst viewed as [O, ddim, I] and src as [O, sdim, I]. */
static void copy_along(float *dst, int ddim, int doff, const float *src, int sdim, int soff,
                       int64_t O, int len, int64_t I, int add) {
    int64_t run = (int64_t)len * I;
    TG_OMP_FOR(O * run)
    for (int64_t o = 0; o < O; o++) {
        float *d = dst + (o * ddim + doff) * I;
        const float *s = src + (o * sdim + soff) * I;
        if (add) for (int64_t i = 0; i < run; i++) d[i] += s[i];
        else memcpy(d, s, (size_t)run * sizeof(float));
    }
}

/* ---- transpose ---------------------------------------------------------- */

/* Tile edge of the blocked transpose: a 32×32 tile of floats (4 KiB) read
 * by rows and written by columns stays in L1. */
#define TILE 32

/* For each of `batch` matrices: dst[c, r] (= or +=) src[r, c], src [R, C],
 * dst [C, R].  Parallel over (matrix, tile row): no two write one place. */
static void transpose_mats(float *dst, const float *src, int64_t batch, int R, int C, int add) {
    int64_t tiles_r = (R + TILE - 1) / TILE, n_tasks = batch * tiles_r;
    int64_t mat = (int64_t)R * C;
    TG_OMP_FOR(batch * mat)
    for (int64_t t = 0; t < n_tasks; t++) {
        const float *s = src + (t / tiles_r) * mat;
        float *d = dst + (t / tiles_r) * mat;
        int r0 = (int)(t % tiles_r) * TILE, r1 = r0 + TILE < R ? r0 + TILE : R;
        for (int c0 = 0; c0 < C; c0 += TILE) {
            int c1 = c0 + TILE < C ? c0 + TILE : C;
            for (int r = r0; r < r1; r++)
                for (int c = c0; c < c1; c++) {
                    if (add) d[(int64_t)c * R + r] += s[(int64_t)r * C + c];
                    else d[(int64_t)c * R + r] = s[(int64_t)r * C + c];
                }
        }
    }
}

/* transpose: y[..., n, m] = x[..., m, n], x [..., M, N] -> y [..., N, M].
 * dx[..., m, n] += dy[..., n, m] (the same transpose of dy).  Saves nothing. */
tg_tensor *tg_transpose(tg_tape *tp, tg_tensor *x) {
    TG_CHECK_TENSOR("tg_transpose", x);
    TG_CHECK(x->ndim >= 2, "tg_transpose", "needs at least 2 dims, x is %s", TG_SHAPE_STR(x));
    int shape[TG_MAX_DIMS];
    for (int d = 0; d < x->ndim; d++) shape[d] = x->shape[d];
    int M = x->shape[x->ndim - 2], N = x->shape[x->ndim - 1];
    shape[x->ndim - 2] = N;
    shape[x->ndim - 1] = M;
    tg_tensor *out = tg__out(tp, x->ndim, shape);
    transpose_mats(out->data, x->data, x->size / ((int64_t)M * N), M, N, 0);
    tg__record(tp, TG_OP_transpose, out, 1, &x);
    return out;
}

void tg__transpose_bwd(tg_tape *tp, tg_node *n) {
    (void)tp;
    tg_tensor *x = n->in[0];
    if (!x->grad) return;
    int M = x->shape[x->ndim - 2], N = x->shape[x->ndim - 1];
    /* y[..., n, m] = x[..., m, n]  =>  dx[..., m, n] += dy[..., n, m] */
    transpose_mats(x->grad, n->out->grad, x->size / ((int64_t)M * N), N, M, 1);
}

/* ---- permute ------------------------------------------------------------ */

typedef struct {
    int perm[TG_MAX_DIMS];
} permute_ctx;

/* Over the rows of y (all dims but the last, Lr = y's last dim): y row r,
 * element i is x[off(r) + i·s] with off(r) = Σ_k idx_k(r)·xs[perm[k]] and
 * s = xs[perm[n−1]] (xs: x's element strides).  add = 0: y = that (the
 * forward); add = 1: x[...] += y (the backward, on the gradients).  A
 * bijection, so parallel over rows writes no place twice in either
 * direction. */
static void permute_move(float *x, float *y, const tg_tensor *xt, const tg_tensor *yt,
                         const int *perm, int add) {
    int n = yt->ndim, Lr = yt->shape[n - 1];
    int64_t xs[TG_MAX_DIMS], rows = yt->size / Lr;
    xs[n - 1] = 1;
    for (int d = n - 2; d >= 0; d--) xs[d] = xs[d + 1] * xt->shape[d + 1];
    int64_t s = xs[perm[n - 1]];
    TG_OMP_FOR(yt->size)
    for (int64_t r = 0; r < rows; r++) {
        int64_t off = 0, q = r;
        for (int k = n - 2; k >= 0; k--) { /* r's digits over y's dims 0 … n−2 */
            off += (q % yt->shape[k]) * xs[perm[k]];
            q /= yt->shape[k];
        }
        float *yr = y + r * Lr, *xr = x + off;
        if (s == 1) { /* x's last dim stays last: contiguous on both sides */
            if (add) for (int i = 0; i < Lr; i++) xr[i] += yr[i];
            else memcpy(yr, xr, (size_t)Lr * sizeof(float));
        } else if (add) {
            for (int i = 0; i < Lr; i++) xr[i * s] += yr[i];
        } else {
            for (int i = 0; i < Lr; i++) yr[i] = xr[i * s];
        }
    }
}

/* permute: y dim k is x dim perm[k] (torch.permute, numpy.transpose(axes)):
 *   y[i_0, …, i_{n−1}] = x[j_0, …, j_{n−1}] with j_{perm[k]} = i_k.
 * A permutation of the elements, so dx[j] += dy[i] for the same pairs (the
 * inverse permutation).  Saves perm. */
tg_tensor *tg_permute(tg_tape *tp, tg_tensor *x, const int *perm) {
    TG_CHECK_TENSOR("tg_permute", x);
    TG_CHECK(perm, "tg_permute", "perm is NULL");
    int n = x->ndim, seen[TG_MAX_DIMS] = {0}, shape[TG_MAX_DIMS];
    for (int k = 0; k < n; k++) {
        int ok = perm[k] >= 0 && perm[k] < n && !seen[perm[k]];
        char got[TG_SHAPE_STR_LEN];
        if (!ok) { /* name the whole perm */
            size_t m = 0;
            for (int i = 0; i < n && m < sizeof got; i++)
                m += (size_t)snprintf(got + m, sizeof got - m, i ? ", %d" : "%d", perm[i]);
        }
        TG_CHECK(ok, "tg_permute", "perm (%s) is not a permutation of 0 … %d for x %s",
                 ok ? "" : got, n - 1, TG_SHAPE_STR(x));
        seen[perm[k]] = 1;
        shape[k] = x->shape[perm[k]];
    }
    tg_tensor *out = tg__out(tp, n, shape);
    permute_move(x->data, out->data, x, out, perm, 0);
    tg_node *nd = tg__record(tp, TG_OP_permute, out, 1, &x);
    if (nd) memcpy(((permute_ctx *)tg__node_ctx(tp, nd, sizeof(permute_ctx)))->perm, perm,
                   (size_t)n * sizeof(int));
    return out;
}

void tg__permute_bwd(tg_tape *tp, tg_node *n) {
    (void)tp;
    tg_tensor *x = n->in[0];
    if (!x->grad) return;
    /* y[i] = x[j] (j_{perm[k]} = i_k)  =>  dx[j] += dy[i] */
    permute_move(x->grad, n->out->grad, x, n->out, ((const permute_ctx *)n->ctx)->perm, 1);
}

/* ---- reshape ------------------------------------------------------------ */

/* reshape: y = x with a new shape of the same element count; y->data IS
 * x->data (no copy; writing one writes the other).  dx += dy elementwise:
 * the flat order of elements is unchanged.  Saves nothing. */
tg_tensor *tg_reshape(tg_tape *tp, tg_tensor *x, int ndim, const int *shape) {
    TG_CHECK_TENSOR("tg_reshape", x);
    tg_check_shape("tg_reshape", ndim, shape);
    /* only the struct is new: an arena tensor whose data is x's */
    tg_tensor *out = tg_tape_alloc(tp, sizeof *out);
    *out = (tg_tensor){.ndim = ndim, .size = tg_shape_numel(ndim, shape), .data = x->data,
                       .flags = TG_ARENA, .node = -1};
    for (int d = 0; d < TG_MAX_DIMS; d++) out->shape[d] = d < ndim ? shape[d] : 1;
    TG_CHECK(out->size == x->size, "tg_reshape", "element counts differ: x is %s, new shape %s",
             TG_SHAPE_STR(x), TG_SHAPE_STR(out));
    tg__record(tp, TG_OP_reshape, out, 1, &x);
    return out;
}

void tg__reshape_bwd(tg_tape *tp, tg_node *n) {
    (void)tp;
    float *dx = n->in[0]->grad;
    if (!dx) return;
    const float *dy = n->out->grad;
    int64_t N = n->out->size;
    /* y[i] = x[i] (flat index)  =>  dx[i] += dy[i] */
    TG_OMP_FOR(N) for (int64_t i = 0; i < N; i++) dx[i] += dy[i];
}

/* ---- concat ------------------------------------------------------------- */

typedef struct {
    int dim; /* normalised, >= 0 */
} along_ctx;

/* concat: y = [x_0, x_1, ..., x_{n-1}] along dim, each x_k [..., D_k, ...]
 * equal outside dim -> y [..., Σ D_k, ...].  With y viewed as [O, D, I] and
 * off_k = D_0 + ... + D_{k-1}:  y[o, off_k + j, i] = x_k[o, j, i], so
 * dx_k[o, j, i] += dy[o, off_k + j, i].  Saves dim. */
tg_tensor *tg_concat(tg_tape *tp, int n, tg_tensor *const *xs, int dim) {
    TG_CHECK(n >= 1 && xs, "tg_concat", "needs n >= 1 tensors, got n = %d", n);
    for (int k = 0; k < n; k++) TG_CHECK(xs[k], "tg_concat", "xs[%d] is NULL", k);
    dim = norm_dim("tg_concat", "xs[0]", xs[0], dim);
    int shape[TG_MAX_DIMS];
    for (int d = 0; d < xs[0]->ndim; d++) shape[d] = xs[0]->shape[d];
    for (int k = 1; k < n; k++) {
        int same = xs[k]->ndim == xs[0]->ndim;
        for (int d = 0; same && d < xs[0]->ndim; d++)
            same = d == dim || xs[k]->shape[d] == xs[0]->shape[d];
        TG_CHECK(same, "tg_concat", "inputs differ outside dim %d: xs[0] is %s, xs[%d] is %s",
                 dim, TG_SHAPE_STR(xs[0]), k, TG_SHAPE_STR(xs[k]));
        shape[dim] += xs[k]->shape[dim];
    }
    tg_tensor *out = tg__out(tp, xs[0]->ndim, shape);
    int64_t O = outer_of(out, dim), I = inner_of(out, dim);
    for (int k = 0, off = 0; k < n; off += xs[k]->shape[dim], k++)
        copy_along(out->data, shape[dim], off, xs[k]->data, xs[k]->shape[dim], 0, O,
                   xs[k]->shape[dim], I, 0);
    tg_node *node = tg__record(tp, TG_OP_concat, out, n, xs);
    if (node) ((along_ctx *)tg__node_ctx(tp, node, sizeof(along_ctx)))->dim = dim;
    return out;
}

void tg__concat_bwd(tg_tape *tp, tg_node *n) {
    (void)tp;
    int dim = ((const along_ctx *)n->ctx)->dim, D = n->out->shape[dim];
    int64_t O = outer_of(n->out, dim), I = inner_of(n->out, dim);
    for (int k = 0, off = 0; k < n->n_in; off += n->in[k]->shape[dim], k++) {
        tg_tensor *x = n->in[k];
        if (!x->grad) continue;
        /* y[o, off_k + j, i] = x_k[o, j, i]  =>  dx_k[o, j, i] += dy[o, off_k + j, i] */
        copy_along(x->grad, x->shape[dim], 0, n->out->grad, D, off, O, x->shape[dim], I, 1);
    }
}

/* ---- slice and split ---------------------------------------------------- */

typedef struct {
    int dim, start;
} slice_ctx;

/* slice: y = x[..., start : start+len, ...] along dim, x [..., D, ...] ->
 * y [..., len, ...].  Viewed as [O, D, I]: y[o, j, i] = x[o, start + j, i],
 * so dx[o, start + j, i] += dy[o, j, i] (other entries of dx get nothing).
 * Saves dim and start. */
tg_tensor *tg_slice(tg_tape *tp, tg_tensor *x, int dim, int start, int len) {
    TG_CHECK_TENSOR("tg_slice", x);
    dim = norm_dim("tg_slice", "x", x, dim);
    int D = x->shape[dim];
    TG_CHECK(start >= 0 && len >= 1 && (int64_t)start + len <= D, "tg_slice",
             "range [%d, %lld) outside dim %d of size %d in x %s", start,
             (long long)start + len, dim, D, TG_SHAPE_STR(x));
    int shape[TG_MAX_DIMS];
    for (int d = 0; d < x->ndim; d++) shape[d] = x->shape[d];
    shape[dim] = len;
    tg_tensor *out = tg__out(tp, x->ndim, shape);
    copy_along(out->data, len, 0, x->data, D, start, outer_of(x, dim), len, inner_of(x, dim), 0);
    tg_node *n = tg__record(tp, TG_OP_slice, out, 1, &x);
    if (n) *(slice_ctx *)tg__node_ctx(tp, n, sizeof(slice_ctx)) = (slice_ctx){dim, start};
    return out;
}

void tg__slice_bwd(tg_tape *tp, tg_node *n) {
    (void)tp;
    const slice_ctx *c = n->ctx;
    tg_tensor *x = n->in[0];
    if (!x->grad) return;
    int len = n->out->shape[c->dim];
    /* y[o, j, i] = x[o, start + j, i]  =>  dx[o, start + j, i] += dy[o, j, i] */
    copy_along(x->grad, x->shape[c->dim], c->start, n->out->grad, len, 0, outer_of(x, c->dim),
               len, inner_of(x, c->dim), 1);
}

/* split: n_parts consecutive slices of the given sizes along dim.  Each part
 * is its own slice node, so its gradient flows back independently. */
void tg_split(tg_tape *tp, tg_tensor *x, int dim, int n_parts, const int *sizes,
              tg_tensor **outs) {
    TG_CHECK_TENSOR("tg_split", x);
    TG_CHECK(n_parts >= 1 && sizes && outs, "tg_split",
             "needs n_parts >= 1, sizes and outs, got n_parts = %d", n_parts);
    dim = norm_dim("tg_split", "x", x, dim);
    int64_t total = 0;
    for (int k = 0; k < n_parts; k++) {
        TG_CHECK(sizes[k] >= 1, "tg_split", "sizes[%d] is %d, must be >= 1", k, sizes[k]);
        total += sizes[k];
    }
    TG_CHECK(total == x->shape[dim], "tg_split", "sizes sum to %lld, dim %d of x %s has %d",
             (long long)total, dim, TG_SHAPE_STR(x), x->shape[dim]);
    for (int k = 0, off = 0; k < n_parts; off += sizes[k], k++)
        outs[k] = tg_slice(tp, x, dim, off, sizes[k]);
}
