/* examples/exercises/ops.c — see ops.h.  The reference of every exercise is
 * the library's own op (core/ops/, nn/attention.c); the terms below split
 * its gradient only to explain a wrong one. */
#include "examples/exercises/ops.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static tg_tensor *rand_tensor(tg_rng *rng, int grad, float std, int ndim, const int *shape) {
    tg_tensor *t = grad ? tg_tensor_new_grad(ndim, shape) : tg_tensor_new(ndim, shape);
    tg_tensor_normal(t, rng, 0.0f, std);
    return t;
}

static void set_out(ex_case *c, int ndim, const int *shape) {
    c->out_ndim = ndim;
    for (int d = 0; d < TG_MAX_DIMS; d++) c->out_shape[d] = d < ndim ? shape[d] : 1;
}

static void *ctx_new(ex_case *c, size_t bytes) {
    c->ctx = calloc(1, bytes);
    c->ctx_bytes = bytes;
    return c->ctx;
}

static void add_factor(ex_case *c, double f, const char *name) {
    c->factor[c->n_factors] = f;
    c->factor_name[c->n_factors++] = name;
}

void ex_case_free(ex_case *c) {
    for (int i = 0; i < c->n_in; i++) tg_tensor_free(c->in[i]);
    free(c->ctx);
    memset(c, 0, sizeof *c);
}

/* Output rows of a [..., C] tensor. */
static int64_t rows_of(const tg_tensor *x) { return x->size / x->shape[x->ndim - 1]; }

/* ---- linear --------------------------------------------------------------- */

static void linear_make(int i, ex_case *c, tg_rng *rng) {
    static const int xs[3][4] = {{2, 3, 4}, {3, 2, 3, 4}, {2, 1, 6}}; /* ndim, dims */
    static const int ns[3] = {5, 4, 2};
    static const char *labels[3] = {"x [3, 4], W [5, 4], b [5]",
                                    "batched x [2, 3, 4], square W [4, 4], b [4]",
                                    "one row x [1, 6], W [2, 6], b [2]"};
    int nd = xs[i][0], K = xs[i][nd], N = ns[i];
    c->label = labels[i];
    c->n_in = 3;
    c->in[0] = rand_tensor(rng, 1, 1.0f, nd, xs[i] + 1);
    c->in[1] = rand_tensor(rng, 1, 1.0f, TG_SHAPE(N, K));
    c->in[2] = rand_tensor(rng, 1, 1.0f, TG_SHAPE(N));
    c->in_name[0] = "x", c->in_name[1] = "W", c->in_name[2] = "b";
    c->bcast[2] = 1;
    int out[TG_MAX_DIMS];
    for (int d = 0; d < nd; d++) out[d] = xs[i][1 + d];
    out[nd - 1] = N;
    set_out(c, nd, out);
}

static tg_tensor *linear_ref(tg_tape *tp, tg_tensor *const *in, const ex_case *c) {
    (void)c;
    return tg_add(tp, tg_matmul(tp, in[0], in[1], 0, 1), in[2]);
}

/* ---- softmax -------------------------------------------------------------- */

static void softmax_make(int i, ex_case *c, tg_rng *rng) {
    c->n_in = 2;
    c->in_name[0] = "x", c->in_name[1] = "mask";
    tg_tensor *m;
    if (i == 0) {
        c->label = "x [4, 5], no mask";
        c->in[0] = rand_tensor(rng, 1, 1.0f, TG_SHAPE(4, 5));
        m = tg_tensor_new(TG_SHAPE(4, 5));
    } else if (i == 1) {
        c->label = "batched x [2, 4, 4], causal mask [4, 4]";
        c->in[0] = rand_tensor(rng, 1, 1.0f, TG_SHAPE(2, 4, 4));
        m = tg_tensor_new(TG_SHAPE(4, 4));
        for (int r = 0; r < 4; r++)
            for (int j = r + 1; j < 4; j++) m->data[r * 4 + j] = -INFINITY;
        c->has_mask = 1;
    } else {
        c->label = "x [3, 6], padding mask: row 0 hides columns 4-5, row 1 hides all";
        c->in[0] = rand_tensor(rng, 1, 1.0f, TG_SHAPE(3, 6));
        m = tg_tensor_new(TG_SHAPE(3, 6));
        m->data[4] = m->data[5] = -INFINITY;
        for (int j = 0; j < 6; j++) m->data[6 + j] = -INFINITY;
        c->has_mask = 1;
    }
    c->in[1] = m;
    set_out(c, c->in[0]->ndim, c->in[0]->shape);
}

static tg_tensor *softmax_ref(tg_tape *tp, tg_tensor *const *in, const ex_case *c) {
    return tg_softmax(tp, in[0], c->drop_mask ? NULL : in[1]);
}

/* Values of the reference forward (no recording) into a new buffer. */
static float *ref_values(const ex_op *op, const ex_case *c) {
    tg_tape *tp = tg_tape_new(0);
    tg_tape_set_grad(tp, 0);
    tg_tensor *y = op->ref(tp, c->in, c);
    float *v = malloc((size_t)y->size * sizeof *v);
    memcpy(v, y->data, (size_t)y->size * sizeof *v);
    tg_tape_free(tp);
    return v;
}

static const ex_op *op_named(const char *name) { return ex_op_find(name); }

static void terms_alloc(ex_terms *t, int n, int64_t size) {
    t->n = n;
    for (int k = 0; k < n; k++) t->t[k] = calloc((size_t)size, sizeof(float));
}

static void softmax_terms(const ex_case *c, const float *dy, int input, ex_terms *t) {
    if (input != 0) return;
    const tg_tensor *x = c->in[0];
    float *y = ref_values(op_named("softmax"), c);
    int C = x->shape[x->ndim - 1];
    terms_alloc(t, 2, x->size);
    t->what[0] = "y_i·dy_i (the diagonal of the softmax Jacobian)";
    t->what[1] = "−y_i·Σ_j dy_j·y_j (the Σ term of the softmax Jacobian ∂y_j/∂x_i = "
                 "y_j(δ_ij − y_i))";
    for (int64_t r = 0; r < rows_of(x); r++) {
        const float *yr = y + r * C, *dyr = dy + r * C;
        double s = 0.0;
        for (int j = 0; j < C; j++) s += (double)dyr[j] * yr[j];
        for (int j = 0; j < C; j++) {
            t->t[0][r * C + j] = yr[j] * dyr[j];
            t->t[1][r * C + j] = (float)(-yr[j] * s);
        }
    }
    free(y);
}

static const char *softmax_zero(const ex_case *c, int input, uint8_t *z) {
    if (input != 0 || !c->has_mask) return NULL;
    const tg_tensor *x = c->in[0], *m = c->in[1];
    int C = x->shape[x->ndim - 1], R = m->shape[0];
    for (int64_t e = 0; e < x->size; e++) {
        int64_t r = e / C;
        z[e] = m->data[(r % R) * C + e % C] == -INFINITY;
    }
    return "masked positions (mask = −∞)";
}

/* ---- cross-entropy -------------------------------------------------------- */

static void ce_make(int i, ex_case *c, tg_rng *rng) {
    static const int dims[3][2] = {{4, 5}, {6, 3}, {1, 7}};
    static const char *labels[3] = {"logits [4, 5], every row has a target",
                                    "logits [6, 3], rows 1 and 4 ignored (target -1, padding)",
                                    "logits [1, 7], one row"};
    int N = dims[i][0], V = dims[i][1];
    c->label = labels[i];
    c->n_in = 1;
    c->in[0] = rand_tensor(rng, 1, 2.0f, TG_SHAPE(N, V));
    c->in_name[0] = "logits";
    ex_ce_ctx *x = ctx_new(c, sizeof *x);
    for (int n = 0; n < N; n++) x->targets[n] = (int32_t)tg_rng_below(rng, (uint32_t)V);
    if (i == 1) {
        x->targets[1] = x->targets[4] = -1;
        c->has_mask = 1;
        add_factor(c, 4.0 / 6.0, "count/N = 4/6: divided by all N rows instead of the count "
                                 "of rows that are not ignored");
    }
    set_out(c, TG_SHAPE(1));
}

static tg_tensor *ce_ref(tg_tape *tp, tg_tensor *const *in, const ex_case *c) {
    return tg_cross_entropy(tp, in[0], ((const ex_ce_ctx *)c->ctx)->targets, -1, TG_MEAN);
}

static void ce_terms(const ex_case *c, const float *dout, int input, ex_terms *t) {
    (void)input;
    const tg_tensor *l = c->in[0];
    const ex_ce_ctx *x = c->ctx;
    int N = l->shape[0], V = l->shape[1], count = 0;
    for (int n = 0; n < N; n++) count += x->targets[n] >= 0;
    terms_alloc(t, 2, l->size);
    t->what[0] = "softmax(logits_n)_v/count (the derivative of log Σ_v e^{l_v}: the Σ term of "
                 "log_softmax)";
    t->what[1] = "−[v = t_n]/count (the derivative of −logits_{n,t_n}: the one-hot term)";
    for (int n = 0; n < N; n++) {
        if (x->targets[n] < 0) continue;
        const float *r = l->data + (int64_t)n * V;
        float mx = r[0];
        for (int v = 1; v < V; v++) mx = fmaxf(mx, r[v]);
        double s = 0.0;
        for (int v = 0; v < V; v++) s += exp((double)r[v] - mx);
        for (int v = 0; v < V; v++) {
            t->t[0][n * V + v] = (float)(dout[0] * exp((double)r[v] - mx) / s / count);
            t->t[1][n * V + v] = v == x->targets[n] ? -dout[0] / count : 0.0f;
        }
    }
}

static const char *ce_zero(const ex_case *c, int input, uint8_t *z) {
    (void)input;
    if (!c->has_mask) return NULL;
    const ex_ce_ctx *x = c->ctx;
    int V = c->in[0]->shape[1];
    for (int64_t e = 0; e < c->in[0]->size; e++) z[e] = x->targets[e / V] < 0;
    return "rows whose target is ignored (-1)";
}

/* ---- layernorm ------------------------------------------------------------ */

static void ln_make(int i, ex_case *c, tg_rng *rng) {
    static const int xs[3][4] = {{2, 3, 6}, {3, 2, 3, 4}, {2, 1, 8}};
    static const char *labels[3] = {"x [3, 6], gain [6], bias [6]",
                                    "batched x [2, 3, 4], gain [4], bias [4]",
                                    "one row x [1, 8], gain [8], bias [8]"};
    int nd = xs[i][0], C = xs[i][nd];
    c->label = labels[i];
    c->n_in = 3;
    c->in[0] = rand_tensor(rng, 1, 1.0f, nd, xs[i] + 1);
    c->in[1] = rand_tensor(rng, 1, 0.5f, TG_SHAPE(C));
    for (int j = 0; j < C; j++) c->in[1]->data[j] += 1.0f;
    c->in[2] = rand_tensor(rng, 1, 0.5f, TG_SHAPE(C));
    c->in_name[0] = "x", c->in_name[1] = "gain", c->in_name[2] = "bias";
    c->bcast[1] = c->bcast[2] = 1;
    ((ex_ln_ctx *)ctx_new(c, sizeof(ex_ln_ctx)))->eps = 1e-5f;
    set_out(c, nd, xs[i] + 1);
}

static tg_tensor *ln_ref(tg_tape *tp, tg_tensor *const *in, const ex_case *c) {
    return tg_layernorm(tp, in[0], in[1], in[2], ((const ex_ln_ctx *)c->ctx)->eps);
}

static void ln_terms(const ex_case *c, const float *dy, int input, ex_terms *t) {
    if (input != 0) return;
    const tg_tensor *x = c->in[0];
    const float *g = c->in[1]->data;
    float eps = ((const ex_ln_ctx *)c->ctx)->eps;
    int C = x->shape[x->ndim - 1];
    terms_alloc(t, 3, x->size);
    t->what[0] = "r·dn_i with dn = gain·dy (the direct path, μ and σ held fixed)";
    t->what[1] = "−r·mean_j(dn_j) (the path through μ: every x_j moves the mean)";
    t->what[2] = "−r·n_i·mean_j(dn_j·n_j) (the path through σ: every x_j moves the variance)";
    for (int64_t row = 0; row < rows_of(x); row++) {
        const float *xr = x->data + row * C, *dyr = dy + row * C;
        double s = 0.0, v = 0.0, m_dn = 0.0, m_dnn = 0.0;
        for (int j = 0; j < C; j++) s += xr[j];
        double mu = s / C;
        for (int j = 0; j < C; j++) v += (xr[j] - mu) * (xr[j] - mu);
        double r = 1.0 / sqrt(v / C + eps);
        for (int j = 0; j < C; j++) {
            m_dn += (double)g[j] * dyr[j] / C;
            m_dnn += (double)g[j] * dyr[j] * (xr[j] - mu) * r / C;
        }
        for (int j = 0; j < C; j++) {
            t->t[0][row * C + j] = (float)(r * g[j] * dyr[j]);
            t->t[1][row * C + j] = (float)(-r * m_dn);
            t->t[2][row * C + j] = (float)(-r * (xr[j] - mu) * r * m_dnn);
        }
    }
}

/* ---- gelu ----------------------------------------------------------------- */

#define GELU_K 0.7978845608028654
#define GELU_C 0.044715

static void gelu_make(int i, ex_case *c, tg_rng *rng) {
    static const char *labels[3] = {"x [12], evenly spread over [-4, 4]",
                                    "batched x [3, 4, 2], N(0, 1)", "x [2, 5], N(0, 3²)"};
    c->label = labels[i];
    c->n_in = 1;
    c->in_name[0] = "x";
    if (i == 0) {
        c->in[0] = tg_tensor_new_grad(TG_SHAPE(12));
        for (int j = 0; j < 12; j++) c->in[0]->data[j] = -4.0f + 8.0f * (j + 0.5f) / 12.0f;
    } else if (i == 1) {
        c->in[0] = rand_tensor(rng, 1, 1.0f, TG_SHAPE(3, 4, 2));
    } else {
        c->in[0] = rand_tensor(rng, 1, 3.0f, TG_SHAPE(2, 5));
    }
    set_out(c, c->in[0]->ndim, c->in[0]->shape);
}

static tg_tensor *gelu_ref(tg_tape *tp, tg_tensor *const *in, const ex_case *c) {
    (void)c;
    return tg_gelu(tp, in[0]);
}

static void gelu_terms(const ex_case *c, const float *dy, int input, ex_terms *t) {
    (void)input;
    const tg_tensor *x = c->in[0];
    terms_alloc(t, 3, x->size);
    t->what[0] = "½(1 + tanh u)·dy (product rule: the derivative of the ½x factor)";
    t->what[1] = "½x(1 − tanh²u)·k·dy (tanh' = 1 − tanh², times du/dx's linear part k)";
    t->what[2] = "½x(1 − tanh²u)·k·3c·x²·dy (chain rule into the cubic term of u: "
                 "du/dx = k(1 + 3c·x²))";
    for (int64_t e = 0; e < x->size; e++) {
        double v = x->data[e], th = tanh(GELU_K * (v + GELU_C * v * v * v));
        double sech2 = 1.0 - th * th;
        t->t[0][e] = (float)(0.5 * (1.0 + th) * dy[e]);
        t->t[1][e] = (float)(0.5 * v * sech2 * GELU_K * dy[e]);
        t->t[2][e] = (float)(0.5 * v * sech2 * GELU_K * 3.0 * GELU_C * v * v * dy[e]);
    }
}

/* ---- attention ------------------------------------------------------------ */

static void attn_make(int i, ex_case *c, tg_rng *rng) {
    static const int cfg[3][6] = {/* B, Lq, Lk, H, D, Dv */
                                  {1, 4, 4, 1, 4, 4},
                                  {2, 5, 5, 2, 3, 3},
                                  {2, 3, 4, 1, 2, 3}};
    static const char *labels[3] = {
        "B 1, L 4, one head of D 4, no mask",
        "B 2, L 5, 2 heads of D 3, causal mask",
        "B 2, Lq 3, Lk 4, D 2, Dv 3, key padding (keys 2-3 of batch entry 1)"};
    const int *g = cfg[i];
    int B = g[0], Lq = g[1], Lk = g[2], H = g[3], D = g[4], Dv = g[5];
    c->label = labels[i];
    c->n_in = 3;
    c->in[0] = rand_tensor(rng, 1, 1.0f, TG_SHAPE(B, Lq, H * D));
    c->in[1] = rand_tensor(rng, 1, 1.0f, TG_SHAPE(B, Lk, H * D));
    c->in[2] = rand_tensor(rng, 1, 1.0f, TG_SHAPE(B, Lk, H * Dv));
    c->in_name[0] = "q", c->in_name[1] = "k", c->in_name[2] = "v";
    ex_attn_ctx *a = ctx_new(c, sizeof *a);
    a->n_heads = H;
    a->scale = 1.0f / sqrtf((float)D);
    a->causal = i == 1;
    for (int j = 0; j < B * Lk; j++) a->key_padding[j] = 1;
    if (i == 2) a->key_padding[1 * Lk + 2] = a->key_padding[1 * Lk + 3] = 0;
    c->has_mask = i > 0;
    add_factor(c, 1.0 / a->scale, "1/scale = √D: the scale of S = scale·QKᵀ is missing");
    add_factor(c, a->scale, "scale = 1/√D: applied twice");
    set_out(c, TG_SHAPE(B, Lq, H * Dv));
}

static tg_attn_mask attn_mask_of(const ex_case *c) {
    const ex_attn_ctx *a = c->ctx;
    tg_attn_mask m = {0};
    if (c->drop_mask) return m;
    m.causal = a->causal;
    m.key_padding = a->key_padding;
    return m;
}

static tg_tensor *attn_ref(tg_tape *tp, tg_tensor *const *in, const ex_case *c) {
    const ex_attn_ctx *a = c->ctx;
    tg_attn_mask m = attn_mask_of(c);
    return tg_attention_composed(tp, in[0], in[1], in[2], a->n_heads, a->scale, &m, NULL);
}

/* dq (input 0) or dk (input 1) as the softmax-diagonal term and the Σ term. */
static void attn_terms(const ex_case *c, const float *dO, int input, ex_terms *t) {
    if (input > 1) return;
    const ex_attn_ctx *a = c->ctx;
    const tg_tensor *q = c->in[0], *k = c->in[1], *v = c->in[2];
    int B = q->shape[0], Lq = q->shape[1], Lk = k->shape[1], H = a->n_heads;
    int HD = q->shape[2], D = HD / H, HDv = v->shape[2], Dv = HDv / H;
    tg_tape *tp = tg_tape_new(0);
    tg_tape_set_grad(tp, 0);
    tg_attn_mask m = attn_mask_of(c);
    tg_tensor *P = NULL;
    tg_attention_composed(tp, c->in[0], c->in[1], c->in[2], H, a->scale, &m, &P);
    terms_alloc(t, 2, c->in[input]->size);
    t->what[0] = "scale·(P∘dP)·K resp. ·Q (dS = P∘dP: the diagonal of the softmax Jacobian)";
    t->what[1] = "−scale·(P∘Σ_j P_ij dP_ij)·K resp. ·Q (the Σ term of the softmax Jacobian)";
    float *dP = malloc((size_t)Lk * sizeof *dP);
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++)
            for (int i = 0; i < Lq; i++) {
                const float *Pi = P->data + (((int64_t)b * H + h) * Lq + i) * Lk;
                const float *dOi = dO + ((int64_t)b * Lq + i) * HDv + h * Dv;
                double g = 0.0;
                for (int j = 0; j < Lk; j++) {
                    const float *vj = v->data + ((int64_t)b * Lk + j) * HDv + h * Dv;
                    double s = 0.0;
                    for (int e = 0; e < Dv; e++) s += (double)dOi[e] * vj[e];
                    dP[j] = (float)s;
                    g += (double)Pi[j] * dP[j];
                }
                for (int j = 0; j < Lk; j++) {
                    double s1 = a->scale * Pi[j] * dP[j], s2 = -a->scale * Pi[j] * g;
                    const float *qi = q->data + ((int64_t)b * Lq + i) * HD + h * D;
                    const float *kj = k->data + ((int64_t)b * Lk + j) * HD + h * D;
                    float *t0 = t->t[0], *t1 = t->t[1];
                    int64_t at = input == 0 ? ((int64_t)b * Lq + i) * HD + h * D
                                            : ((int64_t)b * Lk + j) * HD + h * D;
                    const float *other = input == 0 ? kj : qi;
                    for (int d = 0; d < D; d++) {
                        t0[at + d] += (float)(s1 * other[d]);
                        t1[at + d] += (float)(s2 * other[d]);
                    }
                }
            }
    free(dP);
    tg_tape_free(tp);
}

static const char *attn_zero(const ex_case *c, int input, uint8_t *z) {
    const ex_attn_ctx *a = c->ctx;
    if (input == 0) return NULL;
    const tg_tensor *x = c->in[input];
    int Lk = x->shape[1], W = x->shape[2], any = 0;
    for (int64_t e = 0; e < x->size; e++) {
        int64_t row = e / W; /* b·Lk + j */
        z[e] = a->key_padding[row] == 0;
        any |= z[e];
    }
    (void)Lk;
    return any ? "padded keys (key_padding = 0: no query sees them)" : NULL;
}

/* ---- embedding ------------------------------------------------------------ */

static void emb_make(int i, ex_case *c, tg_rng *rng) {
    static const int cfg[3][2] = {{6, 3}, {4, 4}, {8, 2}}; /* V, C */
    static const int ids[3][7] = {{6, 1, 4, 1, 0, 4, 1}, {4, 3, 0, 0, 2}, {3, 7, 5, 5}};
    static const char *labels[3] = {"weight [6, 3], ids {1, 4, 1, 0, 4, 1} (repeats, rows 2, 3, 5 unused)",
                                    "square weight [4, 4], ids {3, 0, 0, 2}",
                                    "weight [8, 2], ids {7, 5, 5}"};
    int V = cfg[i][0], C = cfg[i][1];
    c->label = labels[i];
    c->n_in = 1;
    c->in[0] = rand_tensor(rng, 1, 1.0f, TG_SHAPE(V, C));
    c->in_name[0] = "weight";
    ex_emb_ctx *e = ctx_new(c, sizeof *e);
    e->n_ids = ids[i][0];
    for (int p = 0; p < e->n_ids; p++) e->ids[p] = ids[i][1 + p];
    set_out(c, TG_SHAPE(e->n_ids, C));
}

static tg_tensor *emb_ref(tg_tape *tp, tg_tensor *const *in, const ex_case *c) {
    const ex_emb_ctx *e = c->ctx;
    return tg_embedding(tp, in[0], e->ids, TG_SHAPE(e->n_ids));
}

static const char *emb_zero(const ex_case *c, int input, uint8_t *z) {
    (void)input;
    const ex_emb_ctx *e = c->ctx;
    int V = c->in[0]->shape[0], C = c->in[0]->shape[1], any = 0;
    for (int v = 0; v < V; v++) {
        int used = 0;
        for (int p = 0; p < e->n_ids; p++) used |= e->ids[p] == v;
        for (int j = 0; j < C; j++) z[v * C + j] = !used;
        any |= !used;
    }
    return any ? "rows of weight that no id looks up" : NULL;
}

/* ---- patchify (ViT patch embedding's cut) --------------------------------- */

static void patch_make(int i, ex_case *c, tg_rng *rng) {
    static const int cfg[3][5] = {{1, 4, 4, 1, 2}, {2, 4, 6, 3, 2}, {1, 6, 6, 2, 3}}; /* B, H, W, C, P */
    static const char *labels[3] = {"images [1, 4, 4, 1], P = 2 (4 patches of 4)",
                                    "images [2, 4, 6, 3], P = 2 (non-square, RGB: 6 patches of 12)",
                                    "images [1, 6, 6, 2], P = 3 (4 patches of 18)"};
    int B = cfg[i][0], H = cfg[i][1], W = cfg[i][2], C = cfg[i][3], P = cfg[i][4];
    c->label = labels[i];
    c->n_in = 1;
    c->in[0] = rand_tensor(rng, 1, 1.0f, TG_SHAPE(B, H, W, C));
    c->in_name[0] = "images";
    ex_patch_ctx *p = ctx_new(c, sizeof *p);
    p->P = P;
    set_out(c, TG_SHAPE(B, (H / P) * (W / P), P * P * C));
}

static tg_tensor *patch_ref(tg_tape *tp, tg_tensor *const *in, const ex_case *c) {
    const ex_patch_ctx *p = c->ctx;
    return tg_patchify(tp, in[0], p->P);
}

/* ---- conv2d (channels-last, stride, zero padding) ---------------------------- */

static void conv_make(int i, ex_case *c, tg_rng *rng) {
    /* B, H, W, C, O, kh, kw, stride, pad */
    static const int cfg[3][9] = {{1, 4, 4, 1, 2, 3, 3, 1, 1}, {2, 5, 4, 2, 3, 3, 3, 2, 1},
                                  {1, 5, 5, 3, 2, 2, 2, 1, 0}};
    static const char *labels[3] = {
        "x [1, 4, 4, 1], w [2, 3, 3, 1], stride 1, padding 1 (gray, same size)",
        "x [2, 5, 4, 2], w [3, 3, 3, 2], stride 2, padding 1 (non-square, strided)",
        "x [1, 5, 5, 3], w [2, 2, 2, 3], stride 1, padding 0 (2x2 kernel, RGB)"};
    const int *g = cfg[i];
    int Ho = (g[1] + 2 * g[8] - g[5]) / g[7] + 1, Wo = (g[2] + 2 * g[8] - g[6]) / g[7] + 1;
    c->label = labels[i];
    c->n_in = 3;
    c->in[0] = rand_tensor(rng, 1, 1.0f, TG_SHAPE(g[0], g[1], g[2], g[3]));
    c->in[1] = rand_tensor(rng, 1, 1.0f, TG_SHAPE(g[4], g[5], g[6], g[3]));
    c->in[2] = rand_tensor(rng, 1, 1.0f, TG_SHAPE(g[4]));
    c->in_name[0] = "x";
    c->in_name[1] = "w";
    c->in_name[2] = "b";
    c->bcast[2] = 1;
    ex_conv_ctx *x = ctx_new(c, sizeof *x);
    x->stride = g[7];
    x->pad = g[8];
    set_out(c, TG_SHAPE(g[0], Ho, Wo, g[4]));
}

static tg_tensor *conv_ref(tg_tape *tp, tg_tensor *const *in, const ex_case *c) {
    const ex_conv_ctx *x = c->ctx;
    return tg_conv2d(tp, in[0], in[1], in[2], x->stride, x->pad);
}

/* ---- the table ------------------------------------------------------------ */

const ex_op ex_ops[] = {
    {"linear", "y = x Wᵀ + b: two products and a broadcast bias", "docs/derivations/matmul.md",
     3, linear_make, linear_ref, NULL, NULL, NULL},
    {"softmax", "softmax over the last dim with an additive mask", "docs/derivations/softmax.md",
     3, softmax_make, softmax_ref, softmax_terms, softmax_zero,
     "forgotten mask — the backward must leave out exactly what the forward left out"},
    {"cross_entropy", "log_softmax + cross-entropy, mean over rows not ignored",
     "docs/derivations/cross_entropy.md", 3, ce_make, ce_ref, ce_terms, ce_zero,
     "forgotten mask — the backward must leave out exactly what the forward left out"},
    {"layernorm", "layer normalisation with gain and bias", "docs/derivations/layernorm.md", 3,
     ln_make, ln_ref, ln_terms, NULL, NULL},
    {"gelu", "GELU, tanh approximation", "docs/derivations/unary.md", 3, gelu_make, gelu_ref,
     gelu_terms, NULL, NULL},
    {"attention", "softmax(scale·QKᵀ + mask)·V, multi-head, causal and padding masks",
     "docs/derivations/attention.md", 3, attn_make, attn_ref, attn_terms, attn_zero,
     "forgotten mask — the backward must leave out exactly what the forward left out"},
    {"embedding", "row lookup with repeated ids", "docs/derivations/embedding.md", 3, emb_make,
     emb_ref, NULL, emb_zero,
     "the gradient goes to rows the forward never read: scatter into row ids[p] (the row "
     "looked up), not row p"},
    {"patchify", "cut [B, H, W, C] images into P×P patches flattened in (dy, dx, c) order",
     "docs/derivations/patch.md", 3, patch_make, patch_ref, NULL, NULL, NULL},
    {"conv2d", "2-D convolution (cross-correlation) with stride and zero padding, NHWC",
     "docs/derivations/conv2d.md", 3, conv_make, conv_ref, NULL, NULL, NULL},
};
const int ex_n_ops = (int)(sizeof ex_ops / sizeof ex_ops[0]);

const ex_op *ex_op_find(const char *name) {
    for (int i = 0; i < ex_n_ops; i++)
        if (!strcmp(ex_ops[i].name, name)) return &ex_ops[i];
    return NULL;
}
