/* core/ops/elementwise.c — add, sub, mul with NumPy broadcasting; scale and
 * add_scalar.  Derivations: docs/derivations/elementwise.md.
 *
 * Broadcasting: both operands are aligned at their trailing dims (any ndim up
 * to TG_MAX_DIMS); a dim of size 1, or a missing leading dim, in one operand
 * is repeated along the other's.  The
 * forward reads the repeated element once per output; the backward therefore
 * SUMS the output gradient over every output position that read it.
 */
#include "core/ops/internal.h"

void tg__bcast_init(tg__bcast *bc, const char *op, const tg_tensor *a, const tg_tensor *b) {
    int ndim = a->ndim > b->ndim ? a->ndim : b->ndim;
    int ad[TG_MAX_DIMS], bd[TG_MAX_DIMS];
    for (int d = 0; d < ndim; d++) { /* output dim d is a's dim d − (ndim − a->ndim) */
        int ia = d - (ndim - a->ndim), ib = d - (ndim - b->ndim);
        ad[d] = ia >= 0 ? a->shape[ia] : 1;
        bd[d] = ib >= 0 ? b->shape[ib] : 1;
        TG_CHECK(ad[d] == bd[d] || ad[d] == 1 || bd[d] == 1, op,
                 "shapes do not broadcast: a is %s, b is %s", TG_SHAPE_STR(a),
                 TG_SHAPE_STR(b));
        bc->shape[d] = ad[d] > bd[d] ? ad[d] : bd[d];
    }
    int64_t sa = 1, sb = 1;
    for (int d = ndim - 1; d >= 0; d--) {
        bc->as[d] = ad[d] == 1 ? 0 : sa;
        bc->bs[d] = bd[d] == 1 ? 0 : sb;
        sa *= ad[d];
        sb *= bd[d];
    }
    bc->ndim = ndim;
}

const int *tg__bcast_out_shape(const tg__bcast *bc) { return bc->shape; }

int64_t tg__bcast_row_offset(const tg__bcast *bc, const int64_t *strides, int64_t r) {
    int64_t off = 0;
    for (int d = bc->ndim - 2; d >= 0; d--) { /* r's digits, innermost row dim first */
        off += (r % bc->shape[d]) * strides[d];
        r /= bc->shape[d];
    }
    return off;
}

typedef enum { EW_ADD, EW_SUB, EW_MUL } ew_kind;

/* 1 when a has the output's shape and b, without its leading 1s, equals the
 * output's trailing dims (x [B, T, C] + bias [C], x [B, T, C] + pos [1, T, C],
 * scores [B, H, L, L] + mask [L, L]): then out is rows of b->size elements,
 * each combining a row of a with all of b. */
static int b_is_suffix(const tg__bcast *bc, const tg_tensor *a, const tg_tensor *b, int64_t out_size) {
    if (a->size != out_size || b->size == out_size || out_size % b->size) return 0;
    int j0 = 0;
    while (j0 < b->ndim && b->shape[j0] == 1) j0++;
    for (int j = j0; j < b->ndim; j++)
        if (b->shape[j] != bc->shape[bc->ndim - b->ndim + j]) return 0;
    return 1;
}
typedef struct {
    tg__bcast bc;
} ew_ctx;

static tg_tensor *ew_forward(tg_tape *tp, const char *opname, tg_op op, ew_kind kind,
                             tg_tensor *a, tg_tensor *b) {
    TG_CHECK_TENSOR(opname, a);
    TG_CHECK_TENSOR(opname, b);
    tg__bcast bc;
    tg__bcast_init(&bc, opname, a, b);
    tg_tensor *out = tg__out(tp, bc.ndim, tg__bcast_out_shape(&bc));
    const float *x = a->data, *y = b->data;
    float *o = out->data;
    if (a->size == out->size && b->size == out->size) { /* same shape: one flat loop */
        int64_t n = out->size;
        switch (kind) {
        case EW_ADD: TG_OMP_FOR(n) for (int64_t i = 0; i < n; i++) o[i] = x[i] + y[i]; break;
        case EW_SUB: TG_OMP_FOR(n) for (int64_t i = 0; i < n; i++) o[i] = x[i] - y[i]; break;
        case EW_MUL: TG_OMP_FOR(n) for (int64_t i = 0; i < n; i++) o[i] = x[i] * y[i]; break;
        }
    } else if (b_is_suffix(&bc, a, b, out->size)) {
        int64_t R = out->size / b->size, Cb = b->size;
        TG_OMP_FOR(out->size)
        for (int64_t r = 0; r < R; r++) {
            const float *xr = x + r * Cb;
            float *orow = o + r * Cb;
            switch (kind) {
            case EW_ADD: for (int64_t j = 0; j < Cb; j++) orow[j] = xr[j] + y[j]; break;
            case EW_SUB: for (int64_t j = 0; j < Cb; j++) orow[j] = xr[j] - y[j]; break;
            case EW_MUL: for (int64_t j = 0; j < Cb; j++) orow[j] = xr[j] * y[j]; break;
            }
        }
    } else { /* general: rows of the output's last dim, each with its own offsets */
        int last = bc.ndim - 1, Cl = bc.shape[last];
        int64_t rows = out->size / Cl, xa = bc.as[last], yb = bc.bs[last];
        TG_OMP_FOR(out->size)
        for (int64_t r = 0; r < rows; r++) {
            const float *xr = x + tg__bcast_row_offset(&bc, bc.as, r);
            const float *yr = y + tg__bcast_row_offset(&bc, bc.bs, r);
            float *orow = o + r * Cl;
            for (int i = 0; i < Cl; i++) {
                float u = xr[i * xa], v = yr[i * yb];
                orow[i] = kind == EW_ADD ? u + v : kind == EW_SUB ? u - v : u * v;
            }
        }
    }
    tg_node *n = tg__record(tp, op, out, 2, (tg_tensor *[]){a, b});
    if (n) ((ew_ctx *)tg__node_ctx(tp, n, sizeof(ew_ctx)))->bc = bc;
    return out;
}

/* Backward of out = a ∘ b for ∘ in {+, −, ·}:
 *   da[ia] += Σ_{out positions reading ia} dout · (∂out/∂a) with ∂out/∂a = 1 (add, sub) or b;
 *   db[ib] += Σ dout · (1, −1 or a).
 * The loop is serial: several outputs add into one broadcast element, and a
 * fixed order keeps the sum bit-identical across thread counts. */
static void ew_backward(tg_node *n, ew_kind kind) {
    const tg__bcast *bc = &((ew_ctx *)n->ctx)->bc;
    tg_tensor *a = n->in[0], *b = n->in[1];
    const float *dout = n->out->grad, *x = a->data, *y = b->data;
    float *da = a->grad, *db = b->grad;
    if (a->size == n->out->size && b->size == n->out->size) {
        int64_t N = n->out->size;
        if (da) {
            if (kind == EW_MUL) { TG_OMP_FOR(N) for (int64_t i = 0; i < N; i++) da[i] += dout[i] * y[i]; }
            else { TG_OMP_FOR(N) for (int64_t i = 0; i < N; i++) da[i] += dout[i]; }
        }
        if (db) {
            if (kind == EW_MUL) { TG_OMP_FOR(N) for (int64_t i = 0; i < N; i++) db[i] += dout[i] * x[i]; }
            else if (kind == EW_SUB) { TG_OMP_FOR(N) for (int64_t i = 0; i < N; i++) db[i] -= dout[i]; }
            else { TG_OMP_FOR(N) for (int64_t i = 0; i < N; i++) db[i] += dout[i]; }
        }
        return;
    }
    if (b_is_suffix(bc, a, b, n->out->size)) {
        /* out[r, j] = a[r, j] ∘ b[j]: da row by row; db[j] sums over rows r in order */
        int64_t R = n->out->size / b->size, Cb = b->size;
        for (int64_t r = 0; r < R; r++) {
            const float *g = dout + r * Cb, *xr = x + r * Cb;
            if (da) {
                if (kind == EW_MUL) for (int64_t j = 0; j < Cb; j++) da[r * Cb + j] += g[j] * y[j];
                else for (int64_t j = 0; j < Cb; j++) da[r * Cb + j] += g[j];
            }
            if (db) {
                if (kind == EW_MUL) for (int64_t j = 0; j < Cb; j++) db[j] += g[j] * xr[j];
                else if (kind == EW_SUB) for (int64_t j = 0; j < Cb; j++) db[j] -= g[j];
                else for (int64_t j = 0; j < Cb; j++) db[j] += g[j];
            }
        }
        return;
    }
    int last = bc->ndim - 1, Cl = bc->shape[last];
    int64_t rows = n->out->size / Cl, sa = bc->as[last], sb = bc->bs[last];
    for (int64_t r = 0, o = 0; r < rows; r++) { /* serial: a fixed order of the sums */
        int64_t ia = tg__bcast_row_offset(bc, bc->as, r), ib = tg__bcast_row_offset(bc, bc->bs, r);
        for (int i = 0; i < Cl; i++, o++) {
            int64_t ja = ia + i * sa, jb = ib + i * sb;
            float g = dout[o];
            if (da) da[ja] += kind == EW_MUL ? g * y[jb] : g;
            if (db) db[jb] += kind == EW_MUL ? g * x[ja] : kind == EW_SUB ? -g : g;
        }
    }
}

tg_tensor *tg_add(tg_tape *tp, tg_tensor *a, tg_tensor *b) {
    return ew_forward(tp, "tg_add", TG_OP_add, EW_ADD, a, b);
}
void tg__add_bwd(tg_tape *tp, tg_node *n) { (void)tp; ew_backward(n, EW_ADD); }

tg_tensor *tg_sub(tg_tape *tp, tg_tensor *a, tg_tensor *b) {
    return ew_forward(tp, "tg_sub", TG_OP_sub, EW_SUB, a, b);
}
void tg__sub_bwd(tg_tape *tp, tg_node *n) { (void)tp; ew_backward(n, EW_SUB); }

tg_tensor *tg_mul(tg_tape *tp, tg_tensor *a, tg_tensor *b) {
    return ew_forward(tp, "tg_mul", TG_OP_mul, EW_MUL, a, b);
}
void tg__mul_bwd(tg_tape *tp, tg_node *n) { (void)tp; ew_backward(n, EW_MUL); }

/* scale: y = s·x, dy/dx = s.  Saves s. */
typedef struct { float s; } scale_ctx;

tg_tensor *tg_scale(tg_tape *tp, tg_tensor *x, float s) {
    TG_CHECK_TENSOR("tg_scale", x);
    tg_tensor *out = tg__out(tp, x->ndim, x->shape);
    int64_t N = x->size;
    TG_OMP_FOR(N) for (int64_t i = 0; i < N; i++) out->data[i] = s * x->data[i];
    tg_node *n = tg__record(tp, TG_OP_scale, out, 1, &x);
    if (n) ((scale_ctx *)tg__node_ctx(tp, n, sizeof(scale_ctx)))->s = s;
    return out;
}

void tg__scale_bwd(tg_tape *tp, tg_node *n) {
    (void)tp;
    float s = ((scale_ctx *)n->ctx)->s, *dx = n->in[0]->grad;
    const float *dy = n->out->grad;
    int64_t N = n->out->size;
    /* y = s·x  =>  dx += s·dy */
    TG_OMP_FOR(N) for (int64_t i = 0; i < N; i++) dx[i] += s * dy[i];
}

/* add_scalar: y = x + c, dy/dx = 1.  Saves nothing. */
tg_tensor *tg_add_scalar(tg_tape *tp, tg_tensor *x, float c) {
    TG_CHECK_TENSOR("tg_add_scalar", x);
    tg_tensor *out = tg__out(tp, x->ndim, x->shape);
    int64_t N = x->size;
    TG_OMP_FOR(N) for (int64_t i = 0; i < N; i++) out->data[i] = x->data[i] + c;
    tg__record(tp, TG_OP_add_scalar, out, 1, &x);
    return out;
}

void tg__add_scalar_bwd(tg_tape *tp, tg_node *n) {
    (void)tp;
    float *dx = n->in[0]->grad;
    const float *dy = n->out->grad;
    int64_t N = n->out->size;
    /* y = x + c  =>  dx += dy */
    TG_OMP_FOR(N) for (int64_t i = 0; i < N; i++) dx[i] += dy[i];
}
