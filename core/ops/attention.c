/* core/ops/attention.c — fused scaled dot-product attention (one tape node),
 * and the attention mask shared with the composed form.
 * Derivation: docs/derivations/attention.md.
 *
 * Per batch entry b and head h (Q [Lq, D], K [Lk, D], V [Lk, Dv] are the
 * head's columns of q, k, v):
 *   S = scale · Q Kᵀ,  P = softmax_rows(S + mask),  O = P V.
 * Backward, with D_i = Σ_d dO_id O_id (= Σ_j P_ij dP_ij):
 *   dV = Pᵀ dO,  dP = dO Vᵀ,  dS = P ∘ (dP − D),  dQ = scale · dS K,
 *   dK = scale · dSᵀ Q.
 *
 * Neither pass holds S or P whole.  Both walk 64-row query tiles and, inside,
 * 64-key tiles (FlashAttention, Dao et al. 2022, Algorithm 1, in the
 * FlashAttention-2 loop order: query tiles outside).  The forward keeps a
 * running row maximum m and row sum l of e^{S−m} (the online softmax of
 * Milakov & Gimelshein 2018) and rescales its partial output when m grows;
 * it saves only O (the node's output) and lse = m + log l per row.  The
 * backward recomputes P = e^{S − lse} tile by tile from the saved lse.
 * Scratch per thread: two 64×64 tiles and a few 64-vectors.
 *
 * Every tile product goes through tg_sgemm (single-threaded inside our
 * parallel region).  Threads: the forward is parallel over (b, h, query
 * tile), each writing its own rows of O and lse; the backward over (b, h),
 * each (b, h) adding into its own columns of dq, dk, dv in a fixed tile
 * order.  No two threads write one place and no sum depends on the team:
 * results are bit-identical for any thread count.
 */
#include <math.h>

#include "core/attention.h"
#include "core/kernels/sgemm.h"
#include "core/kernels/vmath.h"
#include "core/ops/internal.h"
#ifdef _OPENMP
#include <omp.h>
#endif

#define BR 64 /* query rows per tile */
#define BC 64 /* keys per tile */

static int imin(int a, int b) { return a < b ? a : b; }

/* ---- e^x for the softmax -------------------------------------------------
 * tg__expf of core/kernels/vmath.h: inline and vectorising, where libm's expf
 * is a call per element (it was half the time of a step).  Arguments here are
 * <= 0 up to rounding (scores minus their row maximum or log-sum-exp);
 * x < −87.34 (including −inf, a masked score) gives exactly 0. */

/* A vectorised reduction (a fixed order for a given build, whatever the
 * thread count); a plain loop without OpenMP. */
#ifdef _OPENMP
#define SIMD_REDUCE(op, v) TG_PRAGMA(omp simd reduction(op : v))
#else
#define SIMD_REDUCE(op, v)
#endif

/* max(m, s[0..n−1]) */
static float row_max(const float *s, int n, float m) {
    SIMD_REDUCE(max, m)
    for (int j = 0; j < n; j++) m = s[j] > m ? s[j] : m;
    return m;
}

/* s[j] = e^{s[j] − m}; returns Σ_j s[j] (a fixed-order vector sum: the same
 * for any thread count). */
static float row_exp(float *s, int n, float m) {
    for (int j = 0; j < n; j++) s[j] = tg__expf(s[j] - m); /* vectorises with or without OpenMP */
    float sum = 0.0f;
    SIMD_REDUCE(+, sum)
    for (int j = 0; j < n; j++) sum += s[j];
    return sum;
}

/* ---- the mask ------------------------------------------------------------ */

int tg_attn_mask_is_empty(const tg_attn_mask *m) {
    return !m || (!m->causal && m->window == 0 && !m->key_padding && !m->allowed);
}

static int mask_allows(const tg_attn_mask *m, int b, int i, int j, int Lq, int Lk) {
    if (m->causal && j > i) return 0;
    if (m->window > 0 && ((int64_t)j < (int64_t)i - m->window || (int64_t)j > (int64_t)i + m->window))
        return 0;
    if (m->key_padding && !m->key_padding[(int64_t)b * Lk + j]) return 0;
    if (m->allowed) {
        int64_t row = (m->allowed_per_batch ? (int64_t)b * Lq : 0) + i;
        if (!m->allowed[row * Lk + j]) return 0;
    }
    return 1;
}

int tg_attn_mask_allows(const tg_attn_mask *m, int b, int i, int j, int Lq, int Lk) {
    return !m || mask_allows(m, b, i, j, Lq, Lk);
}

static void mask_check(const char *op, const tg_attn_mask *m) {
    TG_CHECK(!m || m->window >= 0, op, "mask window must be >= 0 (0 = no window), got %d",
             m->window);
}

tg_tensor *tg_attn_mask_tensor(tg_tape *tp, const tg_attn_mask *m, int B, int Lq, int Lk) {
    TG_CHECK(B >= 1 && Lq >= 1 && Lk >= 1, "tg_attn_mask_tensor",
             "B, Lq, Lk must be >= 1, got B=%d Lq=%d Lk=%d", B, Lq, Lk);
    mask_check("tg_attn_mask_tensor", m);
    if (tg_attn_mask_is_empty(m)) return NULL;
    int per_batch = m->key_padding || (m->allowed && m->allowed_per_batch);
    tg_tensor *t = per_batch ? tg_tape_tensor(tp, TG_SHAPE(B, 1, Lq, Lk))
                             : tg_tape_tensor(tp, TG_SHAPE(Lq, Lk));
    for (int b = 0; b < (per_batch ? B : 1); b++)
        for (int i = 0; i < Lq; i++) {
            float *row = t->data + ((int64_t)b * Lq + i) * Lk;
            for (int j = 0; j < Lk; j++) row[j] = mask_allows(m, b, i, j, Lq, Lk) ? 0.0f : -INFINITY;
        }
    t->name = "attn_mask";
    return t;
}

/* Keys [*jlo, *jhi) that causal/window structure leaves visible to some query
 * of rows [i0, i1); tiles outside are skipped (empty when *jhi <= *jlo). */
static void key_range(const tg_attn_mask *m, int i0, int i1, int Lk, int *jlo, int *jhi) {
    int lo = 0, hi = Lk;
    if (m->causal) hi = imin(hi, i1); /* j <= i1 − 1 */
    if (m->window > 0) { /* in 64 bits: a huge window means "unbounded" */
        int64_t l = (int64_t)i0 - m->window, h = (int64_t)i1 + m->window; /* j <= i1 − 1 + w */
        if (l > lo) lo = (int)l;
        if (h < hi) hi = (int)h;
    }
    *jlo = lo;
    *jhi = hi;
}

/* Sets S[r, c] = −inf (S is [br, BC]) where the mask forbids query i0+r to
 * see key j0+c.  Skips the per-element test when the tile lies entirely
 * inside the causal/window band and no byte mask is given. */
static void mask_tile(const tg_attn_mask *m, int b, int i0, int br, int j0, int bc, int Lq,
                      int Lk, float *S) {
    int inside = !m->key_padding && !m->allowed;
    if (m->causal) inside &= j0 + bc - 1 <= i0;
    if (m->window > 0)
        inside &= (int64_t)j0 >= (int64_t)i0 + br - 1 - m->window &&
                  (int64_t)j0 + bc - 1 <= (int64_t)i0 + m->window;
    if (inside) return;
    for (int r = 0; r < br; r++)
        for (int c = 0; c < bc; c++)
            if (!mask_allows(m, b, i0 + r, j0 + c, Lq, Lk)) S[r * BC + c] = -INFINITY;
}

/* ---- the fused operation ------------------------------------------------- */

typedef struct {
    int B, Lq, Lk, H, D, Dv;
    int ldq, ldk, ldv; /* row strides of q, k, v: H·D, H·D, H·Dv, or 3·H·D when packed */
    int packed;        /* 1: q, k, v are the three column blocks of one qkv input */
    float scale;
    tg_attn_mask mask; /* its byte arrays copied onto the tape */
    float *lse;        /* [B, H, Lq]: log Σ_j e^{S_ij}; −inf for a fully masked row */
} attn_ctx;

/* The start of head h of row `row` of batch entry b in a [B, L, ·] tensor of
 * row stride ld, heads of width X side by side. */
#define HEAD(p, b, L, row, ld, h, X) ((p) + ((int64_t)(b) * (L) + (row)) * (ld) + (int64_t)(h) * (X))

/* S[br, bc] = scale · Q_i K_jᵀ with the mask applied: the scores of one tile. */
static void scores_tile(const attn_ctx *c, const float *q, const float *k, int b, int h, int i0,
                        int br, int j0, int bc, float *S) {
    tg_sgemm(0, 1, br, bc, c->D, c->scale, HEAD(q, b, c->Lq, i0, c->ldq, h, c->D), c->ldq,
             HEAD(k, b, c->Lk, j0, c->ldk, h, c->D), c->ldk, 0.0f, S, BC);
    mask_tile(&c->mask, b, i0, br, j0, bc, c->Lq, c->Lk, S);
}

/* Forward of one (b, h, query tile): rows i0 … i0+br−1 of O and lse.
 * Online softmax over the key tiles j (m, l: running max and sum per row):
 *   m' = max(m, max_j S_ij),  P_ij = e^{S_ij − m'},  α = e^{m − m'},
 *   l' = α l + Σ_j P_ij,      O_i ← α O_i + P_i V_j;
 * at the end O_i ← O_i / l, lse_i = m + log l.  O is accumulated in place
 * (this task owns those rows of this head).  A row with no visible key so
 * far has m = −inf: its P is set to 0 and l, O stay 0. */
static void fwd_tile(const attn_ctx *c, const float *q, const float *k, const float *v,
                     float *o, int b, int h, int i0, float *S, float *mrow, double *lrow) {
    int br = imin(BR, c->Lq - i0), ldo = c->H * c->Dv, Dv = c->Dv;
    float *Oi = HEAD(o, b, c->Lq, i0, ldo, h, Dv);
    for (int r = 0; r < br; r++) {
        mrow[r] = -INFINITY;
        lrow[r] = 0.0;
        memset(Oi + (int64_t)r * ldo, 0, (size_t)Dv * sizeof(float));
    }
    int jlo, jhi;
    key_range(&c->mask, i0, i0 + br, c->Lk, &jlo, &jhi);
    for (int j0 = jlo; j0 < jhi; j0 += BC) {
        int bc = imin(BC, jhi - j0);
        scores_tile(c, q, k, b, h, i0, br, j0, bc, S);
        for (int r = 0; r < br; r++) {
            float *s = S + r * BC, mx = row_max(s, bc, mrow[r]);
            if (mx == -INFINITY) { /* nothing visible yet in this row ... */
                /* ... unless it is NaN: keep it NaN to the output (the rule
                 * of tg__row_fully_masked, as in softmax) */
                if (!tg__row_fully_masked(s, bc)) lrow[r] = NAN;
                memset(s, 0, (size_t)bc * sizeof(float));
                continue;
            }
            float sum = row_exp(s, bc, mx);      /* e^{−inf} = 0 for masked keys */
            float alpha = tg__expf(mrow[r] - mx); /* 0 when m was −inf, 1 when m did not grow */
            if (alpha != 1.0f) {
                float *orow = Oi + (int64_t)r * ldo;
                for (int d = 0; d < Dv; d++) orow[d] *= alpha;
            }
            lrow[r] = alpha * lrow[r] + sum;
            mrow[r] = mx;
        }
        /* O_i += P V_j */
        tg_sgemm(0, 0, br, Dv, bc, 1.0f, S, BC, HEAD(v, b, c->Lk, j0, c->ldv, h, Dv), c->ldv,
                 1.0f, Oi, ldo);
    }
    float *lse = c->lse + ((int64_t)b * c->H + h) * c->Lq + i0;
    for (int r = 0; r < br; r++) {
        if (lrow[r] == 0.0) { /* every key masked: O row stays 0 */
            lse[r] = -INFINITY;
            continue;
        }
        float inv = (float)(1.0 / lrow[r]), *orow = Oi + (int64_t)r * ldo;
        for (int d = 0; d < Dv; d++) orow[d] *= inv;
        lse[r] = mrow[r] + (float)log(lrow[r]);
    }
}

/* P = e^{S − lse} for one tile, in place in S (0 for masked entries and for
 * rows with lse = −inf). */
static void probs_tile(const float *lse, int br, int bc, float *S) {
    for (int r = 0; r < br; r++) {
        float *s = S + r * BC;
        if (lse[r] == -INFINITY) memset(s, 0, (size_t)bc * sizeof(float));
        else row_exp(s, bc, lse[r]);
    }
}

/* The attention weights of one (b, h, query tile) from the saved lse, into
 * w [B, H, Lq, Lk] (zeros outside the visited key range). */
static void weights_tile(const attn_ctx *c, const float *q, const float *k, int b, int h, int i0,
                         float *S, float *w) {
    int br = imin(BR, c->Lq - i0), jlo, jhi;
    const float *lse = c->lse + ((int64_t)b * c->H + h) * c->Lq + i0;
    float *wi = w + (((int64_t)b * c->H + h) * c->Lq + i0) * c->Lk;
    memset(wi, 0, (size_t)br * c->Lk * sizeof(float));
    key_range(&c->mask, i0, i0 + br, c->Lk, &jlo, &jhi);
    for (int j0 = jlo; j0 < jhi; j0 += BC) {
        int bc = imin(BC, jhi - j0);
        scores_tile(c, q, k, b, h, i0, br, j0, bc, S);
        probs_tile(lse, br, bc, S);
        for (int r = 0; r < br; r++)
            memcpy(wi + (int64_t)r * c->Lk + j0, S + r * BC, (size_t)bc * sizeof(float));
    }
}

static int thread_id(void) {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/* Multiply-adds of one forward (scores and output); below ATTN_PAR_MIN the
 * whole op runs on the calling thread: waking the team costs more. */
#ifdef _OPENMP
#define ATTN_PAR_MIN (64.0 * 64 * 64)
static double attn_work(const attn_ctx *c) {
    return (double)c->B * c->H * c->Lq * c->Lk * (c->D + c->Dv);
}
#endif

void tg_attention_check(const char *op, const tg_tensor *q, const tg_tensor *k,
                         const tg_tensor *v, int n_heads, const tg_attn_mask *mask) {
    TG_CHECK_TENSOR(op, q);
    TG_CHECK_TENSOR(op, k);
    TG_CHECK_TENSOR(op, v);
    TG_CHECK(q->ndim == 3 && k->ndim == 3 && v->ndim == 3, op,
             "q, k, v must be [B, L, H·D]: q is %s, k is %s, v is %s", TG_SHAPE_STR(q),
             TG_SHAPE_STR(k), TG_SHAPE_STR(v));
    TG_CHECK(q->shape[0] == k->shape[0] && k->shape[0] == v->shape[0] &&
                 k->shape[1] == v->shape[1] && q->shape[2] == k->shape[2],
             op, "shapes do not fit q [B, Lq, H·D], k [B, Lk, H·D], v [B, Lk, H·Dv]: q is %s, "
             "k is %s, v is %s", TG_SHAPE_STR(q), TG_SHAPE_STR(k), TG_SHAPE_STR(v));
    TG_CHECK(n_heads >= 1 && q->shape[2] % n_heads == 0 && v->shape[2] % n_heads == 0, op,
             "n_heads = %d must divide the last dims of q %s and v %s", n_heads,
             TG_SHAPE_STR(q), TG_SHAPE_STR(v));
    mask_check(op, mask);
}

/* The forward of both forms: c's sizes and strides set, q/k/v the data
 * pointers (column blocks of qkv when packed), in the n_in node inputs. */
static tg_tensor *attention_forward(tg_tape *tp, attn_ctx c, const float *q, const float *k,
                                    const float *v, int n_in, tg_tensor *const *in,
                                    const tg_attn_mask *mask, float *weights_out) {
    if (mask) c.mask = *mask;
    c.lse = tg_tape_alloc(tp, (size_t)c.B * c.H * c.Lq * sizeof(float));
    tg_tensor *out = tg__out(tp, TG_SHAPE(c.B, c.Lq, c.H * c.Dv));

    int nthr = tg_get_num_threads(), n_qt = (c.Lq + BR - 1) / BR;
    int64_t n_tasks = (int64_t)c.B * c.H * n_qt;
    float *S_all = tg_tape_alloc(tp, (size_t)nthr * BR * BC * sizeof(float));
    float *m_all = tg_tape_alloc(tp, (size_t)nthr * BR * sizeof(float));
    double *l_all = tg_tape_alloc(tp, (size_t)nthr * BR * sizeof(double));
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 1) num_threads(nthr) if (attn_work(&c) >= ATTN_PAR_MIN)
#endif
    for (int64_t t = 0; t < n_tasks; t++) {
        int id = thread_id(), b = (int)(t / ((int64_t)c.H * n_qt)),
            h = (int)(t / n_qt % c.H), i0 = (int)(t % n_qt) * BR;
        float *S = S_all + (size_t)id * BR * BC;
        fwd_tile(&c, q, k, v, out->data, b, h, i0, S, m_all + id * BR, l_all + id * BR);
        if (weights_out) weights_tile(&c, q, k, b, h, i0, S, weights_out);
    }

    tg_node *n = tg__record(tp, TG_OP_attention, out, n_in, in);
    if (n) { /* the caller's byte masks may be gone by the backward: copy them */
        if (c.mask.key_padding) {
            size_t nb = (size_t)c.B * c.Lk;
            c.mask.key_padding = memcpy(tg_tape_alloc(tp, nb), c.mask.key_padding, nb);
        }
        if (c.mask.allowed) {
            size_t nb = (size_t)(c.mask.allowed_per_batch ? c.B : 1) * c.Lq * c.Lk;
            c.mask.allowed = memcpy(tg_tape_alloc(tp, nb), c.mask.allowed, nb);
        }
        *(attn_ctx *)tg__node_ctx(tp, n, sizeof c) = c;
    }
    return out;
}

tg_tensor *tg_attention(tg_tape *tp, tg_tensor *q, tg_tensor *k, tg_tensor *v, int n_heads,
                        float scale, const tg_attn_mask *mask, float *weights_out) {
    tg_attention_check("tg_attention", q, k, v, n_heads, mask);
    int D = q->shape[2] / n_heads, Dv = v->shape[2] / n_heads;
    attn_ctx c = {.B = q->shape[0], .Lq = q->shape[1], .Lk = k->shape[1], .H = n_heads,
                  .D = D, .Dv = Dv, .ldq = n_heads * D, .ldk = n_heads * D,
                  .ldv = n_heads * Dv, .scale = scale};
    return attention_forward(tp, c, q->data, k->data, v->data, 3, (tg_tensor *[]){q, k, v},
                             mask, weights_out);
}

tg_tensor *tg_attention_qkv(tg_tape *tp, tg_tensor *qkv, int n_heads, float scale,
                            const tg_attn_mask *mask, float *weights_out) {
    const char *op = "tg_attention_qkv";
    TG_CHECK_TENSOR(op, qkv);
    TG_CHECK(qkv->ndim == 3 && n_heads >= 1 && qkv->shape[2] % (3 * n_heads) == 0, op,
             "qkv must be [B, L, 3·H·D] with H = n_heads = %d, got %s", n_heads,
             TG_SHAPE_STR(qkv));
    mask_check(op, mask);
    int C = qkv->shape[2] / 3, D = C / n_heads, L = qkv->shape[1];
    attn_ctx c = {.B = qkv->shape[0], .Lq = L, .Lk = L, .H = n_heads, .D = D, .Dv = D,
                  .ldq = 3 * C, .ldk = 3 * C, .ldv = 3 * C, .packed = 1, .scale = scale};
    const float *x = qkv->data;
    return attention_forward(tp, c, x, x + C, x + 2 * C, 1, &qkv, mask, weights_out);
}

/* Backward of one (b, h), reversing the forward tile by tile.  For each
 * query tile i (D_i = Σ_d dO_id O_id once per tile) and each key tile j
 * that the forward visited:
 *   S = scale · Q_i K_jᵀ (masked),  P = e^{S − lse_i}       recomputed
 *   O = P V            =>  dV_j += P_ijᵀ dO_i,  dP = dO_i V_jᵀ
 *   P = softmax(S)     =>  dS = P ∘ (dP − D_i)     (row i: dS_ij = P_ij (dP_ij − Σ_k P_ik dP_ik),
 *                                                   and Σ_k P_ik dP_ik = dO_i · O_i = D_i)
 *   S = scale · Q Kᵀ   =>  dQ_i += scale · dS K_j,  dK_j += scale · dSᵀ Q_i
 * Masked entries have P = 0, so they pass no gradient; a fully masked row
 * has P = 0 everywhere.  Accumulates straight into q/k/v's grads (this
 * (b, h) owns those columns), in a fixed order. */
/* Values and gradients (NULL: not wanted) of q, k, v: separate tensors, or
 * the column blocks of one packed qkv. */
typedef struct {
    const float *q, *k, *v;
    float *dq, *dk, *dv;
} qkv_ptrs;

static void bwd_head(const attn_ctx *c, const qkv_ptrs *p, const tg_tensor *o, int b, int h,
                     float *S, float *dP, float *Di) {
    int ldq = c->ldq, ldk = c->ldk, ldv = c->ldv, ldo = c->H * c->Dv, D = c->D, Dv = c->Dv;
    const float *dO = o->grad;
    for (int i0 = 0; i0 < c->Lq; i0 += BR) {
        int br = imin(BR, c->Lq - i0), jlo, jhi;
        const float *lse = c->lse + ((int64_t)b * c->H + h) * c->Lq + i0;
        const float *dOi = HEAD(dO, b, c->Lq, i0, ldo, h, Dv);
        for (int r = 0; r < br; r++) {
            const float *g = dOi + (int64_t)r * ldo, *y = HEAD(o->data, b, c->Lq, i0 + r, ldo, h, Dv);
            double s = 0.0;
            for (int d = 0; d < Dv; d++) s += (double)g[d] * y[d];
            Di[r] = (float)s;
        }
        key_range(&c->mask, i0, i0 + br, c->Lk, &jlo, &jhi);
        for (int j0 = jlo; j0 < jhi; j0 += BC) {
            int bc = imin(BC, jhi - j0);
            scores_tile(c, p->q, p->k, b, h, i0, br, j0, bc, S);
            probs_tile(lse, br, bc, S); /* S now holds P */
            if (p->dv) /* dV_j += Pᵀ dO_i */
                tg_sgemm(1, 0, bc, Dv, br, 1.0f, S, BC, dOi, ldo, 1.0f,
                         HEAD(p->dv, b, c->Lk, j0, ldv, h, Dv), ldv);
            if (!p->dq && !p->dk) continue;
            /* dP = dO_i V_jᵀ */
            tg_sgemm(0, 1, br, bc, Dv, 1.0f, dOi, ldo, HEAD(p->v, b, c->Lk, j0, ldv, h, Dv),
                     ldv, 0.0f, dP, BC);
            /* dS = P ∘ (dP − D_i), in place in dP */
            for (int r = 0; r < br; r++)
                for (int j = 0; j < bc; j++)
                    dP[r * BC + j] = S[r * BC + j] * (dP[r * BC + j] - Di[r]);
            if (p->dq) /* dQ_i += scale · dS K_j */
                tg_sgemm(0, 0, br, D, bc, c->scale, dP, BC, HEAD(p->k, b, c->Lk, j0, ldk, h, D),
                         ldk, 1.0f, HEAD(p->dq, b, c->Lq, i0, ldq, h, D), ldq);
            if (p->dk) /* dK_j += scale · dSᵀ Q_i */
                tg_sgemm(1, 0, bc, D, br, c->scale, dP, BC, HEAD(p->q, b, c->Lq, i0, ldq, h, D),
                         ldq, 1.0f, HEAD(p->dk, b, c->Lk, j0, ldk, h, D), ldk);
        }
    }
}

void tg__attention_bwd(tg_tape *tp, tg_node *n) {
    const attn_ctx *c = n->ctx;
    qkv_ptrs p;
    if (c->packed) { /* q, k, v: column blocks 0, C, 2C of the one input */
        const tg_tensor *x = n->in[0];
        int C = c->H * c->D;
        p = (qkv_ptrs){x->data, x->data + C, x->data + 2 * C, x->grad,
                       x->grad ? x->grad + C : NULL, x->grad ? x->grad + 2 * C : NULL};
    } else {
        p = (qkv_ptrs){n->in[0]->data, n->in[1]->data, n->in[2]->data,
                       n->in[0]->grad, n->in[1]->grad, n->in[2]->grad};
    }
    int nthr = tg_get_num_threads(), n_bh = c->B * c->H;
    float *S_all = tg_tape_alloc(tp, (size_t)nthr * BR * BC * sizeof(float));
    float *dP_all = tg_tape_alloc(tp, (size_t)nthr * BR * BC * sizeof(float));
    float *D_all = tg_tape_alloc(tp, (size_t)nthr * BR * sizeof(float));
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 1) num_threads(nthr) if (attn_work(c) >= ATTN_PAR_MIN)
#endif
    for (int t = 0; t < n_bh; t++) {
        int id = thread_id();
        bwd_head(c, &p, n->out, t / c->H, t % c->H, S_all + (size_t)id * BR * BC,
                 dP_all + (size_t)id * BR * BC, D_all + id * BR);
    }
}
