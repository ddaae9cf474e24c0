/* core/ops/graph.c — the CSR graph and the sparse operations of attention
 * along edges: segment softmax, segment aggregation, per-edge dot products,
 * sparse × dense product.  Derivations: docs/derivations/segment_softmax.md,
 * segment_aggregate.md, edge_dot.md, spmm.md.
 *
 * Races and determinism.  A destination's in-edges are contiguous
 * (row_ptr), so every sum into a destination row is a loop over its own
 * edges: parallel over destinations.  Sums into source rows (the backward
 * of aggregate and edge_dot) walk the transposed CSR, the edges leaving
 * each source in ascending id order: parallel over sources.  Neither splits
 * a reduction across threads, so 1 and 2 threads give the same bits.
 */
#include <math.h>
#include <stdlib.h>

#include "core/graph.h"
#include "core/ops/internal.h"

/* ---- the CSR --------------------------------------------------------------- */

void tg_csr_build(tg_csr *g, int n_nodes, int64_t n_edges, const int32_t *src,
                  const int32_t *dst, unsigned flags) {
    const char *op = "tg_csr_build";
    TG_CHECK(g != NULL, op, "argument `g` is NULL");
    TG_CHECK(n_nodes >= 1 && n_edges >= 0, op, "need n_nodes >= 1 and n_edges >= 0, got %d and %lld",
             n_nodes, (long long)n_edges);
    TG_CHECK(n_edges == 0 || (src && dst), op, "src or dst is NULL");
    int loops = (flags & TG_CSR_SELF_LOOPS) != 0;
    int64_t cap = n_edges + (loops ? n_nodes : 0);
    TG_CHECK(cap <= INT32_MAX, op, "%lld edges: more than INT32_MAX", (long long)cap);
    for (int64_t k = 0; k < n_edges; k++)
        TG_CHECK(src[k] >= 0 && src[k] < n_nodes && dst[k] >= 0 && dst[k] < n_nodes, op,
                 "edge %lld: %d -> %d outside [0, %d)", (long long)k, (int)src[k], (int)dst[k],
                 n_nodes);
    /* Counting sort by source, then (stable) by destination: (dst, src) order. */
    int64_t *cnt = tg_xcalloc((size_t)(n_nodes + 1) * sizeof *cnt);
    int32_t *tmp = tg_xmalloc((size_t)(cap ? cap : 1) * sizeof *tmp);
    int32_t *s2 = tg_xmalloc((size_t)(cap ? cap : 1) * sizeof *s2), *d2 = tg_xmalloc((size_t)(cap ? cap : 1) * sizeof *d2);
    int64_t m = 0;
    for (int64_t k = 0; k < n_edges; k++)
        if (!loops || src[k] != dst[k]) s2[m] = src[k], d2[m] = dst[k], m++;
    if (loops)
        for (int i = 0; i < n_nodes; i++) s2[m] = d2[m] = i, m++;
    for (int64_t k = 0; k < m; k++) cnt[s2[k] + 1]++;
    for (int i = 0; i < n_nodes; i++) cnt[i + 1] += cnt[i];
    for (int64_t k = 0; k < m; k++) tmp[cnt[s2[k]]++] = (int32_t)k; /* by source */
    memset(cnt, 0, (size_t)(n_nodes + 1) * sizeof *cnt);
    for (int64_t k = 0; k < m; k++) cnt[d2[k] + 1]++;
    for (int i = 0; i < n_nodes; i++) cnt[i + 1] += cnt[i];
    int32_t *order = tg_xmalloc((size_t)(cap ? cap : 1) * sizeof *order);
    for (int64_t t = 0; t < m; t++) order[cnt[d2[tmp[t]]]++] = tmp[t]; /* stable by destination */
    /* Drop repeats (adjacent now), fill the CSR. */
    g->n_nodes = n_nodes;
    g->row_ptr = tg_xcalloc((size_t)(n_nodes + 1) * sizeof *g->row_ptr);
    g->src = tg_xmalloc((size_t)(cap ? cap : 1) * sizeof *g->src);
    g->dst = tg_xmalloc((size_t)(cap ? cap : 1) * sizeof *g->dst);
    int32_t E = 0;
    for (int64_t t = 0; t < m; t++) {
        int32_t k = order[t];
        if (E > 0 && g->src[E - 1] == s2[k] && g->dst[E - 1] == d2[k]) continue;
        g->src[E] = s2[k];
        g->dst[E] = d2[k];
        g->row_ptr[d2[k] + 1]++;
        E++;
    }
    for (int i = 0; i < n_nodes; i++) g->row_ptr[i + 1] += g->row_ptr[i];
    g->n_edges = E;
    /* The transpose: edge ids grouped by source, ascending within a group. */
    g->col_ptr = tg_xcalloc((size_t)(n_nodes + 1) * sizeof *g->col_ptr);
    g->out_edge = tg_xmalloc((size_t)(E ? E : 1) * sizeof *g->out_edge);
    for (int32_t e = 0; e < E; e++) g->col_ptr[g->src[e] + 1]++;
    for (int i = 0; i < n_nodes; i++) g->col_ptr[i + 1] += g->col_ptr[i];
    memcpy(cnt, g->col_ptr, (size_t)(n_nodes + 1) * sizeof *cnt);
    for (int32_t e = 0; e < E; e++) g->out_edge[cnt[g->src[e]]++] = e;
    free(cnt);
    free(tmp);
    free(s2);
    free(d2);
    free(order);
}

void tg_csr_free(tg_csr *g) {
    if (!g) return;
    free(g->row_ptr);
    free(g->src);
    free(g->dst);
    free(g->col_ptr);
    free(g->out_edge);
    memset(g, 0, sizeof *g);
}

static void check_graph(const char *op, const tg_csr *g) {
    TG_CHECK(g != NULL && g->row_ptr != NULL, op, "graph is NULL or not built");
}

/* ---- shared kernels ----------------------------------------------------------
 * Two sums over edges that several ops need (forward of one is backward of
 * another).  w [E, H] weights per edge and head (NULL: 1), C = H·D. */

/* out[i, h·D + d] (+)= scale · Σ_{e ∈ in(i)} w[e, h] x[src[e], h·D + d]: parallel over i. */
static void sum_in_edges(const tg_csr *g, const float *w, int H, const float *x, int C,
                         float scale, int accumulate, float *out) {
    int D = C / H;
    TG_OMP_FOR((int64_t)g->n_edges * C)
    for (int i = 0; i < g->n_nodes; i++) {
        float *o = out + (int64_t)i * C;
        if (!accumulate) memset(o, 0, (size_t)C * sizeof(float));
        for (int64_t e = g->row_ptr[i]; e < g->row_ptr[i + 1]; e++) {
            const float *xr = x + (int64_t)g->src[e] * C;
            for (int h = 0; h < H; h++) {
                float a = scale * (w ? w[e * H + h] : 1.0f);
                const float *xh = xr + h * D;
                float *oh = o + h * D;
                for (int d = 0; d < D; d++) oh[d] += a * xh[d];
            }
        }
    }
}

/* out[j, h·D + d] += scale · Σ_{e ∈ out(j)} w[e, h] y[dst[e], h·D + d]: parallel over j. */
static void sum_out_edges(const tg_csr *g, const float *w, int H, const float *y, int C,
                          float scale, float *out) {
    int D = C / H;
    TG_OMP_FOR((int64_t)g->n_edges * C)
    for (int j = 0; j < g->n_nodes; j++) {
        float *o = out + (int64_t)j * C;
        for (int64_t t = g->col_ptr[j]; t < g->col_ptr[j + 1]; t++) {
            int32_t e = g->out_edge[t];
            const float *yr = y + (int64_t)g->dst[e] * C;
            for (int h = 0; h < H; h++) {
                float a = scale * (w ? w[(int64_t)e * H + h] : 1.0f);
                const float *yh = yr + h * D;
                float *oh = o + h * D;
                for (int d = 0; d < D; d++) oh[d] += a * yh[d];
            }
        }
    }
}

/* s[e, h] (+)= scale · Σ_d a[dst[e], h·D + d] b[src[e], h·D + d]: parallel over
 * destinations (each edge belongs to one). */
static void dot_edges(const tg_csr *g, const float *a, const float *b, int H, int C, float scale,
                      int accumulate, float *s) {
    int D = C / H;
    TG_OMP_FOR((int64_t)g->n_edges * C)
    for (int i = 0; i < g->n_nodes; i++) {
        const float *ar = a + (int64_t)i * C;
        for (int64_t e = g->row_ptr[i]; e < g->row_ptr[i + 1]; e++) {
            const float *br = b + (int64_t)g->src[e] * C;
            for (int h = 0; h < H; h++) {
                float acc = 0.0f;
                for (int d = 0; d < D; d++) acc += ar[h * D + d] * br[h * D + d];
                if (accumulate) s[e * H + h] += scale * acc;
                else s[e * H + h] = scale * acc;
            }
        }
    }
}

/* ---- segment softmax ------------------------------------------------------- */

typedef struct {
    const tg_csr *g;
    int H;
} seg_ctx;

/* α[e, h] = exp(s[e, h] − m_i) / Σ_{e' ∈ in(i)} exp(s[e', h] − m_i), i = dst[e],
 * m_i = max_{e' ∈ in(i)} s[e', h] (subtracting it changes nothing but overflow).
 * Local derivative (softmax within a segment):
 *   ∂α[e, h]/∂s[e', h] = α[e, h] ([e = e'] − α[e', h])   for e, e' ∈ in(i),
 * so ds[e, h] = α[e, h] (dα[e, h] − Σ_{e' ∈ in(i)} α[e', h] dα[e', h]).
 * Saves nothing but the output α.  s, α: [E, H]. */
tg_tensor *tg_segment_softmax(tg_tape *tp, tg_tensor *s, const tg_csr *g) {
    const char *op = "tg_segment_softmax";
    TG_CHECK_TENSOR(op, s);
    check_graph(op, g);
    TG_CHECK(s->ndim == 2 && s->shape[0] == g->n_edges, op,
             "scores must be [E, H] with E = %d edges, got %s", (int)g->n_edges, TG_SHAPE_STR(s));
    int H = s->shape[1];
    tg_tensor *out = tg__out(tp, TG_SHAPE(g->n_edges, H));
    const float *x = s->data;
    float *y = out->data;
    TG_OMP_FOR((int64_t)g->n_edges * H * 8)
    for (int i = 0; i < g->n_nodes; i++) {
        int64_t e0 = g->row_ptr[i], e1 = g->row_ptr[i + 1];
        for (int h = 0; h < H; h++) {
            float m = -INFINITY;
            int nan = 0;
            for (int64_t e = e0; e < e1; e++) {
                float v = x[e * H + h];
                nan |= v != v;
                m = v > m ? v : m;
            }
            if (nan || m == -INFINITY) { /* NaN stays NaN; all −inf gives 0 */
                for (int64_t e = e0; e < e1; e++) y[e * H + h] = nan ? NAN : 0.0f;
                continue;
            }
            double z = 0.0;
            for (int64_t e = e0; e < e1; e++) {
                float p = expf(x[e * H + h] - m);
                y[e * H + h] = p;
                z += p;
            }
            float inv = (float)(1.0 / z);
            for (int64_t e = e0; e < e1; e++) y[e * H + h] *= inv;
        }
    }
    tg_node *n = tg__record(tp, TG_OP_segment_softmax, out, 1, &s);
    if (n) {
        seg_ctx *c = tg__node_ctx(tp, n, sizeof *c);
        c->g = g;
        c->H = H;
    }
    return out;
}

void tg__segment_softmax_bwd(tg_tape *tp, tg_node *n) {
    (void)tp;
    const seg_ctx *c = n->ctx;
    const tg_csr *g = c->g;
    int H = c->H;
    const float *a = n->out->data, *da = n->out->grad;
    float *ds = n->in[0]->grad;
    TG_OMP_FOR((int64_t)g->n_edges * H * 4)
    for (int i = 0; i < g->n_nodes; i++) {
        int64_t e0 = g->row_ptr[i], e1 = g->row_ptr[i + 1];
        for (int h = 0; h < H; h++) {
            /* ds[e] = α[e] (dα[e] − Σ_{e'} α[e'] dα[e']) */
            double dot = 0.0;
            for (int64_t e = e0; e < e1; e++) dot += (double)a[e * H + h] * da[e * H + h];
            for (int64_t e = e0; e < e1; e++)
                ds[e * H + h] += a[e * H + h] * (da[e * H + h] - (float)dot);
        }
    }
}

/* ---- segment aggregate ----------------------------------------------------- */

/* out[i, h·D + d] = Σ_{e ∈ in(i)} α[e, h] x[src[e], h·D + d]   (α = 1 when NULL)
 * Local derivatives: ∂out[i, h·D+d]/∂α[e, h] = x[src[e], h·D+d] for e ∈ in(i);
 * ∂out[i, h·D+d]/∂x[j, h·D+d] = Σ_{e ∈ in(i), src[e] = j} α[e, h].  So
 *   dα[e, h] = Σ_d dout[dst[e], h·D+d] x[src[e], h·D+d]      (edge_dot's form)
 *   dx[j, h·D+d] = Σ_{e ∈ out(j)} α[e, h] dout[dst[e], h·D+d] (the transposed sum).
 * Saves nothing (α and x are inputs).  α [E, H], x [N, H·D], out [N, H·D]. */
tg_tensor *tg_segment_aggregate(tg_tape *tp, tg_tensor *alpha, tg_tensor *x, const tg_csr *g) {
    const char *op = "tg_segment_aggregate";
    TG_CHECK_TENSOR(op, x);
    check_graph(op, g);
    TG_CHECK(x->ndim == 2 && x->shape[0] == g->n_nodes, op,
             "x must be [N, C] with N = %d nodes, got %s", g->n_nodes, TG_SHAPE_STR(x));
    int C = x->shape[1], H = 1;
    if (alpha) {
        TG_CHECK(alpha->ndim == 2 && alpha->shape[0] == g->n_edges && C % alpha->shape[1] == 0,
                 op, "alpha must be [E, H] with E = %d and H dividing C = %d, got %s",
                 (int)g->n_edges, C, TG_SHAPE_STR(alpha));
        H = alpha->shape[1];
    }
    tg_tensor *out = tg__out(tp, TG_SHAPE(g->n_nodes, C));
    sum_in_edges(g, alpha ? alpha->data : NULL, H, x->data, C, 1.0f, 0, out->data);
    tg_node *n = alpha ? tg__record(tp, TG_OP_segment_aggregate, out, 2, (tg_tensor *[]){x, alpha})
                       : tg__record(tp, TG_OP_segment_aggregate, out, 1, &x);
    if (n) {
        seg_ctx *c = tg__node_ctx(tp, n, sizeof *c);
        c->g = g;
        c->H = H;
    }
    return out;
}

void tg__segment_aggregate_bwd(tg_tape *tp, tg_node *n) {
    (void)tp;
    const seg_ctx *c = n->ctx;
    tg_tensor *x = n->in[0], *alpha = n->n_in > 1 ? n->in[1] : NULL;
    int C = x->shape[1];
    const float *dout = n->out->grad;
    /* dα[e, h] += Σ_d dout[dst[e], h·D+d] x[src[e], h·D+d] */
    if (alpha && alpha->grad) dot_edges(c->g, dout, x->data, c->H, C, 1.0f, 1, alpha->grad);
    /* dx[j] += Σ_{e ∈ out(j)} α[e] dout[dst[e]] */
    if (x->grad) sum_out_edges(c->g, alpha ? alpha->data : NULL, c->H, dout, C, 1.0f, x->grad);
}

/* ---- per-edge dot products --------------------------------------------------- */

typedef struct {
    const tg_csr *g;
    int H;
    float scale;
} dot_ctx;

/* s[e, h] = scale · Σ_d q[dst[e], h·D+d] k[src[e], h·D+d]
 * Local derivatives: ∂s[e, h]/∂q[dst[e], h·D+d] = scale · k[src[e], h·D+d],
 * ∂s[e, h]/∂k[src[e], h·D+d] = scale · q[dst[e], h·D+d].  So
 *   dq[i, h·D+d] = scale · Σ_{e ∈ in(i)} ds[e, h] k[src[e], h·D+d]   (aggregate's forward)
 *   dk[j, h·D+d] = scale · Σ_{e ∈ out(j)} ds[e, h] q[dst[e], h·D+d]  (its transpose).
 * Saves nothing (q, k are inputs).  q, k [N, H·D], s [E, H]. */
tg_tensor *tg_edge_dot(tg_tape *tp, tg_tensor *q, tg_tensor *k, int n_heads, float scale,
                       const tg_csr *g) {
    const char *op = "tg_edge_dot";
    TG_CHECK_TENSOR(op, q);
    TG_CHECK_TENSOR(op, k);
    check_graph(op, g);
    TG_CHECK(q->ndim == 2 && tg_shape_eq(q, k) && q->shape[0] == g->n_nodes, op,
             "q and k must both be [N, C] with N = %d nodes, got %s and %s", g->n_nodes,
             TG_SHAPE_STR(q), TG_SHAPE_STR(k));
    int C = q->shape[1];
    TG_CHECK(n_heads >= 1 && C % n_heads == 0, op, "n_heads = %d must divide C = %d", n_heads, C);
    tg_tensor *out = tg__out(tp, TG_SHAPE(g->n_edges, n_heads));
    dot_edges(g, q->data, k->data, n_heads, C, scale, 0, out->data);
    tg_node *n = tg__record(tp, TG_OP_edge_dot, out, 2, (tg_tensor *[]){q, k});
    if (n) {
        dot_ctx *c = tg__node_ctx(tp, n, sizeof *c);
        c->g = g;
        c->H = n_heads;
        c->scale = scale;
    }
    return out;
}

void tg__edge_dot_bwd(tg_tape *tp, tg_node *n) {
    (void)tp;
    const dot_ctx *c = n->ctx;
    tg_tensor *q = n->in[0], *k = n->in[1];
    int C = q->shape[1];
    const float *ds = n->out->grad;
    if (q->grad) sum_in_edges(c->g, ds, c->H, k->data, C, c->scale, 1, q->grad);
    if (k->grad) sum_out_edges(c->g, ds, c->H, q->data, C, c->scale, k->grad);
}

/* ---- sparse × dense ------------------------------------------------------- */

typedef struct {
    const tg_sparse *a;
} spmm_ctx;

/* Columns of W per block of the dW scatter (each block walks every nonzero
 * in order, so repeated columns add in a fixed order). */
#define SPMM_CBLOCK 16

/* out[n, c] = Σ_{p ∈ row n} val[p] W[col[p], c]
 * Local derivatives: ∂out[n, c]/∂W[f, c] = Σ_{p ∈ row n, col[p] = f} val[p];
 * ∂out[n, c]/∂val[p] = W[col[p], c] for p in row n.  So
 *   dW[f, c] = Σ_{p : col[p] = f} val[p] dout[row(p), c],
 *   dval[p] = Σ_c dout[row(p), c] W[col[p], c].
 * Saves nothing.  val [nnz], W [F, C], out [N, C]. */
tg_tensor *tg_spmm(tg_tape *tp, const tg_sparse *a, tg_tensor *val, tg_tensor *w) {
    const char *op = "tg_spmm";
    TG_CHECK(a != NULL && a->row_ptr != NULL, op, "sparse matrix is NULL");
    TG_CHECK_TENSOR(op, val);
    TG_CHECK_TENSOR(op, w);
    TG_CHECK(val->size == a->nnz && a->nnz >= 1, op, "values must hold nnz = %lld floats, got %s",
             (long long)a->nnz, TG_SHAPE_STR(val));
    TG_CHECK(w->ndim == 2 && w->shape[0] == a->n_cols, op,
             "W must be [F, C] with F = %d columns of the sparse matrix, got %s", a->n_cols,
             TG_SHAPE_STR(w));
    int C = w->shape[1];
    tg_tensor *out = tg__out(tp, TG_SHAPE(a->n_rows, C));
    const float *v = val->data, *W = w->data;
    TG_OMP_FOR(a->nnz * C)
    for (int r = 0; r < a->n_rows; r++) {
        float *o = out->data + (int64_t)r * C;
        memset(o, 0, (size_t)C * sizeof(float));
        for (int64_t p = a->row_ptr[r]; p < a->row_ptr[r + 1]; p++) {
            const float *wr = W + (int64_t)a->col[p] * C;
            float vp = v[p];
            for (int c = 0; c < C; c++) o[c] += vp * wr[c];
        }
    }
    tg_node *n = tg__record(tp, TG_OP_spmm, out, 2, (tg_tensor *[]){val, w});
    if (n) ((spmm_ctx *)tg__node_ctx(tp, n, sizeof(spmm_ctx)))->a = a;
    return out;
}

void tg__spmm_bwd(tg_tape *tp, tg_node *n) {
    (void)tp;
    const tg_sparse *a = ((const spmm_ctx *)n->ctx)->a;
    tg_tensor *val = n->in[0], *w = n->in[1];
    int C = w->shape[1];
    const float *dout = n->out->grad;
    if (val->grad) { /* dval[p] += dout[row(p)] · W[col[p]]: parallel over rows */
        TG_OMP_FOR(a->nnz * C)
        for (int r = 0; r < a->n_rows; r++)
            for (int64_t p = a->row_ptr[r]; p < a->row_ptr[r + 1]; p++) {
                const float *wr = w->data + (int64_t)a->col[p] * C, *g = dout + (int64_t)r * C;
                float acc = 0.0f;
                for (int c = 0; c < C; c++) acc += g[c] * wr[c];
                val->grad[p] += acc;
            }
    }
    if (w->grad) { /* dW[col[p], c] += val[p] dout[row(p), c]: parallel over column blocks */
        int nb = (C + SPMM_CBLOCK - 1) / SPMM_CBLOCK;
        TG_OMP_FOR(a->nnz * C)
        for (int blk = 0; blk < nb; blk++) {
            int c0 = blk * SPMM_CBLOCK, c1 = c0 + SPMM_CBLOCK < C ? c0 + SPMM_CBLOCK : C;
            for (int r = 0; r < a->n_rows; r++) {
                const float *g = dout + (int64_t)r * C;
                for (int64_t p = a->row_ptr[r]; p < a->row_ptr[r + 1]; p++) {
                    float *dw = w->grad + (int64_t)a->col[p] * C, vp = val->data[p];
                    for (int c = c0; c < c1; c++) dw[c] += vp * g[c];
                }
            }
        }
    }
}
