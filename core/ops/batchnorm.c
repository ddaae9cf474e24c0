/* core/ops/batchnorm.c — batch normalisation over every dim but the last
 * (Ioffe & Szegedy 2015, Algorithm 1): torch's nn.BatchNorm2d on
 * channels-last images [B, H, W, C], and nn.BatchNorm1d on [B, C].
 * Derivation: docs/derivations/batchnorm.md.
 *
 * x [..., C] viewed as N = size/C rows; per channel c:
 *   training:   μ_c = (1/N) Σ_n x[n,c],  σ²_c = (1/N) Σ_n (x[n,c] − μ_c)²  (biased)
 *               and, when running buffers are given (momentum m, torch's 0.1):
 *               running_mean ← (1 − m)·running_mean + m·μ
 *               running_var  ← (1 − m)·running_var  + m·σ²·N/(N − 1)  (unbiased)
 *   evaluation: μ = running_mean, σ² = running_var
 *   y[n,c] = x̂[n,c]·γ_c + β_c,   x̂ = (x − μ_c)·r_c,   r_c = 1/√(σ²_c + eps)
 * Without running buffers both modes use the batch statistics (torch's
 * track_running_stats=False).
 *
 * Backward (derivation §2 and §3), g = dy·γ:
 *   training:   dx = r·(g − mean_n(g) − x̂·mean_n(g·x̂))
 *   evaluation: dx = r·g                      (μ, σ² are constants)
 *   dγ_c = Σ_n dy·x̂,   dβ_c = Σ_n dy
 * The running buffers get no gradient.  Per-channel sums run over rows in
 * order in double, one pass per statistic, serially; the elementwise passes
 * are parallel over rows.  No result depends on the thread count.
 */
#include <math.h>

#include "core/ops/internal.h"

typedef struct {
    int training;    /* batch statistics were used */
    float *mean;     /* [C] μ used */
    float *rstd;     /* [C] r used */
} bn_ctx;

/* Σ_n f(x[n, c]) per channel in double: mean, then centred squares. */
static void batch_stats(const float *x, int64_t N, int C, double *mean, double *var) {
    for (int c = 0; c < C; c++) mean[c] = 0.0, var[c] = 0.0;
    for (int64_t n = 0; n < N; n++)
        for (int c = 0; c < C; c++) mean[c] += x[n * C + c];
    for (int c = 0; c < C; c++) mean[c] /= (double)N;
    for (int64_t n = 0; n < N; n++)
        for (int c = 0; c < C; c++) {
            double d = x[n * C + c] - mean[c];
            var[c] += d * d;
        }
    for (int c = 0; c < C; c++) var[c] /= (double)N;
}

/* y = (x − μ)·r·γ + β per channel (statistics of the batch in training,
 * the running buffers in evaluation).  Local derivatives in training:
 * ∂y/∂x through x, μ and σ² (derivation §2); in evaluation ∂y/∂x = r·γ;
 * ∂y/∂γ = x̂, ∂y/∂β = 1.  Saves μ and r per channel. */
tg_tensor *tg_batchnorm(tg_tape *tp, tg_tensor *x, tg_tensor *weight, tg_tensor *bias,
                        tg_tensor *running_mean, tg_tensor *running_var, float momentum,
                        float eps) {
    TG_CHECK_TENSOR("tg_batchnorm", x);
    int C = x->shape[x->ndim - 1];
    int64_t N = x->size / C;
    const tg_tensor *chk[4] = {weight, bias, running_mean, running_var};
    static const char *what[4] = {"weight", "bias", "running_mean", "running_var"};
    for (int i = 0; i < 4; i++)
        TG_CHECK(!chk[i] || (chk[i]->ndim == 1 && chk[i]->shape[0] == C), "tg_batchnorm",
                 "%s must be [%d] (the channels of x %s), got %s", what[i], C, TG_SHAPE_STR(x),
                 TG_SHAPE_STR(chk[i]));
    TG_CHECK(!running_mean == !running_var, "tg_batchnorm",
             "running_mean and running_var must be both given or both NULL");
    TG_CHECK(eps > 0.0f && momentum >= 0.0f && momentum <= 1.0f, "tg_batchnorm",
             "eps must be > 0 and momentum in [0, 1], got eps %g, momentum %g", (double)eps,
             (double)momentum);
    int batch = tg_tape_training(tp) || !running_mean;
    TG_CHECK(!batch || N > 1, "tg_batchnorm",
             "batch statistics need more than 1 value per channel, x is %s", TG_SHAPE_STR(x));
    float *mean = tg_tape_alloc(tp, 2 * (size_t)C * sizeof(float)), *rstd = mean + C;
    if (batch) {
        double *m = tg_tape_alloc(tp, 2 * (size_t)C * sizeof(double)), *v = m + C;
        batch_stats(x->data, N, C, m, v);
        for (int c = 0; c < C; c++) {
            mean[c] = (float)m[c];
            rstd[c] = (float)(1.0 / sqrt(v[c] + eps));
        }
        if (running_mean && tg_tape_training(tp))
            for (int c = 0; c < C; c++) {
                float *rm = running_mean->data, *rv = running_var->data;
                rm[c] = (1.0f - momentum) * rm[c] + momentum * (float)m[c];
                rv[c] = (1.0f - momentum) * rv[c] +
                        momentum * (float)(v[c] * (double)N / (double)(N - 1));
            }
    } else {
        for (int c = 0; c < C; c++) {
            mean[c] = running_mean->data[c];
            rstd[c] = (float)(1.0 / sqrt((double)running_var->data[c] + eps));
        }
    }
    /* y = x·a + s with a = r·γ, s = β − μ·r·γ per channel */
    float *a = tg_tape_alloc(tp, 2 * (size_t)C * sizeof(float)), *s = a + C;
    for (int c = 0; c < C; c++) {
        float gam = weight ? weight->data[c] : 1.0f, bet = bias ? bias->data[c] : 0.0f;
        a[c] = rstd[c] * gam;
        s[c] = bet - mean[c] * a[c];
    }
    tg_tensor *out = tg__out(tp, x->ndim, x->shape);
    const float *xd = x->data;
    float *y = out->data;
    TG_OMP_FOR(x->size)
    for (int64_t n = 0; n < N; n++)
        for (int c = 0; c < C; c++) y[n * C + c] = xd[n * C + c] * a[c] + s[c];
    /* inputs: x, then weight and bias when given (their slots are 1 and 2
     * when present; ctx says which) */
    tg_tensor *in[3] = {x, weight, bias};
    int n_in = 1;
    if (weight) in[n_in++] = weight;
    if (bias) in[n_in++] = bias;
    tg_node *nd = tg__record(tp, TG_OP_batchnorm, out, n_in, in);
    if (nd) {
        bn_ctx *ctx = tg__node_ctx(tp, nd, sizeof(bn_ctx) + 2 * sizeof(int));
        *ctx = (bn_ctx){batch, mean, rstd};
        int *slots = (int *)(ctx + 1);
        slots[0] = weight ? 1 : -1;
        slots[1] = bias ? (weight ? 2 : 1) : -1;
    }
    return out;
}

void tg__batchnorm_bwd(tg_tape *tp, tg_node *n) {
    const bn_ctx *ctx = n->ctx;
    const int *slots = (const int *)(ctx + 1);
    tg_tensor *x = n->in[0];
    tg_tensor *weight = slots[0] >= 0 ? n->in[slots[0]] : NULL;
    tg_tensor *bias = slots[1] >= 0 ? n->in[slots[1]] : NULL;
    int C = x->shape[x->ndim - 1];
    int64_t N = x->size / C;
    const float *xd = x->data, *dy = n->out->grad, *mean = ctx->mean, *rstd = ctx->rstd;
    /* Σ_n dy and Σ_n dy·x̂ per channel, rows in order, in double */
    double *sdy = tg_tape_alloc(tp, 2 * (size_t)C * sizeof(double)), *sdyx = sdy + C;
    for (int c = 0; c < 2 * C; c++) sdy[c] = 0.0;
    for (int64_t r = 0; r < N; r++)
        for (int c = 0; c < C; c++) {
            double g = dy[r * C + c];
            sdy[c] += g;
            sdyx[c] += g * ((xd[r * C + c] - mean[c]) * rstd[c]);
        }
    /* y = x̂γ + β  =>  dγ += Σ dy·x̂,  dβ += Σ dy */
    if (weight && weight->grad)
        for (int c = 0; c < C; c++) weight->grad[c] += (float)sdyx[c];
    if (bias && bias->grad)
        for (int c = 0; c < C; c++) bias->grad[c] += (float)sdy[c];
    if (x->grad) {
        /* training: dx = r·γ·(dy − mean(dy) − x̂·mean(dy·x̂)) = a·dy + p·x̂ + q;
         * evaluation: dx = r·γ·dy */
        float *k = tg_tape_alloc(tp, 3 * (size_t)C * sizeof(float)), *p = k + C, *q = p + C;
        for (int c = 0; c < C; c++) {
            double a = (double)rstd[c] * (weight ? weight->data[c] : 1.0f);
            k[c] = (float)a;
            p[c] = ctx->training ? (float)(-a * sdyx[c] / (double)N) : 0.0f;
            q[c] = ctx->training ? (float)(-a * sdy[c] / (double)N) : 0.0f;
        }
        float *dx = x->grad;
        TG_OMP_FOR(x->size)
        for (int64_t r = 0; r < N; r++)
            for (int c = 0; c < C; c++) {
                float xh = (xd[r * C + c] - mean[c]) * rstd[c];
                dx[r * C + c] += k[c] * dy[r * C + c] + p[c] * xh + q[c];
            }
    }
}
