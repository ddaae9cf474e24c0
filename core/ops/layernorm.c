/* core/ops/layernorm.c — layer normalisation over the last dim (Ba, Kiros &
 * Hinton 2016), optional gain and bias.  Derivation:
 * docs/derivations/layernorm.md.
 *
 * x [..., C] is viewed as N = size/C rows.  Rows are independent in the
 * forward and in dx; dgain and dbias are sums over rows, computed in
 * parallel over blocks of channels, each summing the rows serially, so no
 * two threads write one place and the result does not depend on the thread
 * count (llm.c's matmul_backward does its dbias the same way).
 */
#include <math.h>

#include "core/ops/internal.h"

typedef struct {
    int C;
    int64_t N;
    float *mean, *rstd; /* N each */
    int has_gain, has_bias; /* in[1] is gain when has_gain; bias is in[1 + has_gain] */
} ln_ctx;

static void check_param(const char *which, const tg_tensor *p, const tg_tensor *x, int C) {
    TG_CHECK(p->ndim == 1 && p->shape[0] == C, "tg_layernorm",
             "%s must be [%d] (the last dim of x %s), got %s", which, C, TG_SHAPE_STR(x),
             TG_SHAPE_STR(p));
}

/* y_i = n_i·g_i + b_i,  n_i = (x_i − μ)·r,  μ = (1/C) Σ_j x_j,
 * σ² = (1/C) Σ_j (x_j − μ)²,  r = 1/sqrt(σ² + eps)         (per row).
 * Local derivative (dn_i = g_i dy_i):
 *   dx_i = r · (dn_i − mean_j(dn_j) − n_i · mean_j(dn_j n_j)),
 *   dg_i = Σ_rows dy_i n_i,   db_i = Σ_rows dy_i.
 * Saves μ and r per row (n is recomputed from x).
 * x, y: [..., C]; gain, bias: [C] or NULL (1 and 0). */
tg_tensor *tg_layernorm(tg_tape *tp, tg_tensor *x, tg_tensor *gain, tg_tensor *bias, float eps) {
    TG_CHECK_TENSOR("tg_layernorm", x);
    int C = x->shape[x->ndim - 1];
    int64_t N = x->size / C;
    if (gain) check_param("gain", gain, x, C);
    if (bias) check_param("bias", bias, x, C);
    TG_CHECK(eps >= 0.0f, "tg_layernorm", "eps must be >= 0, got %g", (double)eps);
    tg_tensor *out = tg__out(tp, x->ndim, x->shape);
    float *mean = tg_tape_alloc(tp, (size_t)N * sizeof *mean);
    float *rstd = tg_tape_alloc(tp, (size_t)N * sizeof *rstd);
    const float *g = gain ? gain->data : NULL, *b = bias ? bias->data : NULL;
    TG_OMP_FOR(x->size)
    for (int64_t r = 0; r < N; r++) {
        const float *xr = x->data + r * C;
        float *yr = out->data + r * C;
        double s = 0.0;
        for (int i = 0; i < C; i++) s += xr[i];
        float mu = (float)(s / C);
        double v = 0.0;
        for (int i = 0; i < C; i++) {
            float d = xr[i] - mu;
            v += (double)d * d;
        }
        float rs = (float)(1.0 / sqrt(v / C + (double)eps));
        for (int i = 0; i < C; i++) {
            float nrm = (xr[i] - mu) * rs;
            yr[i] = nrm * (g ? g[i] : 1.0f) + (b ? b[i] : 0.0f);
        }
        mean[r] = mu;
        rstd[r] = rs;
    }
    tg_tensor *in[3] = {x};
    int n_in = 1;
    if (gain) in[n_in++] = gain;
    if (bias) in[n_in++] = bias;
    tg_node *nd = tg__record(tp, TG_OP_layernorm, out, n_in, in);
    if (nd) {
        ln_ctx *c = tg__node_ctx(tp, nd, sizeof *c);
        c->C = C;
        c->N = N;
        c->mean = mean;
        c->rstd = rstd;
        c->has_gain = gain != NULL;
        c->has_bias = bias != NULL;
    }
    return out;
}

/* Channels per block of the dgain/dbias reduction. */
#define LN_CBLOCK 32

void tg__layernorm_bwd(tg_tape *tp, tg_node *nd) {
    (void)tp;
    const ln_ctx *c = nd->ctx;
    int C = c->C;
    int64_t N = c->N;
    tg_tensor *x = nd->in[0];
    tg_tensor *gain = c->has_gain ? nd->in[1] : NULL;
    tg_tensor *bias = c->has_bias ? nd->in[1 + c->has_gain] : NULL;
    const float *dy = nd->out->grad, *g = gain ? gain->data : NULL;
    float *dx = x->grad;

    if (dx) {
        TG_OMP_FOR(x->size)
        for (int64_t r = 0; r < N; r++) {
            const float *xr = x->data + r * C, *dyr = dy + r * C;
            float *dxr = dx + r * C;
            float mu = c->mean[r], rs = c->rstd[r];
            /* two reductions of the row: mean(dn) and mean(dn·n) */
            double s_dn = 0.0, s_dn_n = 0.0;
            for (int i = 0; i < C; i++) {
                float nrm = (xr[i] - mu) * rs;
                float dn = (g ? g[i] : 1.0f) * dyr[i];
                s_dn += dn;
                s_dn_n += (double)dn * nrm;
            }
            float m_dn = (float)(s_dn / C), m_dn_n = (float)(s_dn_n / C);
            for (int i = 0; i < C; i++) {
                float nrm = (xr[i] - mu) * rs;
                float dn = (g ? g[i] : 1.0f) * dyr[i];
                /* n_i = (x_i − μ)·r, y_i = n_i·g_i + b_i
                 *   =>  dx_i += r·(dn_i − mean(dn) − n_i·mean(dn·n)) */
                dxr[i] += rs * (dn - m_dn - nrm * m_dn_n);
            }
        }
    }

    float *dg = gain ? gain->grad : NULL, *db = bias ? bias->grad : NULL;
    if (!dg && !db) return;
    int nb = (C + LN_CBLOCK - 1) / LN_CBLOCK;
    TG_OMP_FOR(x->size)
    for (int blk = 0; blk < nb; blk++) {
        int c0 = blk * LN_CBLOCK, c1 = c0 + LN_CBLOCK < C ? c0 + LN_CBLOCK : C;
        double sg[LN_CBLOCK] = {0}, sb[LN_CBLOCK] = {0};
        for (int64_t r = 0; r < N; r++) { /* serial over rows: a fixed order */
            const float *xr = x->data + r * C, *dyr = dy + r * C;
            float mu = c->mean[r], rs = c->rstd[r];
            for (int i = c0; i < c1; i++) {
                float nrm = (xr[i] - mu) * rs;
                sg[i - c0] += (double)dyr[i] * nrm;
                sb[i - c0] += dyr[i];
            }
        }
        for (int i = c0; i < c1; i++) {
            /* y_i = n_i·g_i + b_i  =>  dg_i += Σ_rows dy_i·n_i */
            if (dg) dg[i] += (float)sg[i - c0];
            /*                     =>  db_i += Σ_rows dy_i */
            if (db) db[i] += (float)sb[i - c0];
        }
    }
}
