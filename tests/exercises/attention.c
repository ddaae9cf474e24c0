/* tests/exercises/attention.c — a correct solution of the attention
 * exercise and, with -DMISTAKE=n, typical mistakes: 1 P recomputed without
 * the mask, 2 the Σ term of the softmax Jacobian forgotten, 3 the scale
 * forgotten in dS.  For tests/test_exercises.c. */
#include <math.h>

#include "exercise.h"

/* 1 when query i of batch entry b may see key j. */
static int visible(const ex_attn_ctx *c, int b, int i, int j, int Lk) {
    return (!c->causal || j <= i) && c->key_padding[b * Lk + j];
}

/* P [Lq, Lk] of batch entry b, head h (a row that sees no key is all 0). */
static void attn_probs(const tg_tensor *q, const tg_tensor *k, const ex_attn_ctx *c, int b,
                       int h, float *P) {
    int Lq = q->shape[1], Lk = k->shape[1], HD = q->shape[2], D = HD / c->n_heads;
    for (int i = 0; i < Lq; i++) {
        const float *qi = q->data + ((int64_t)b * Lq + i) * HD + h * D;
        float *Pi = P + (int64_t)i * Lk, mx = -INFINITY;
        for (int j = 0; j < Lk; j++) {
            const float *kj = k->data + ((int64_t)b * Lk + j) * HD + h * D;
            double s = 0.0;
            for (int d = 0; d < D; d++) s += (double)qi[d] * kj[d];
            Pi[j] = visible(c, b, i, j, Lk) ? c->scale * (float)s : -INFINITY;
            mx = fmaxf(mx, Pi[j]);
        }
        double sum = 0.0;
        for (int j = 0; j < Lk; j++) sum += Pi[j] = mx == -INFINITY ? 0.0f : expf(Pi[j] - mx);
        for (int j = 0; j < Lk; j++) Pi[j] = sum > 0.0 ? (float)(Pi[j] / sum) : 0.0f;
    }
}

static void attention_forward(tg_tensor *out, tg_tensor *const *in, int n_in, void *ctx) {
    (void)n_in;
    const ex_attn_ctx *c = ctx;
    const tg_tensor *q = in[0], *k = in[1], *v = in[2];
    int B = q->shape[0], Lq = q->shape[1], Lk = k->shape[1], H = c->n_heads;
    int HDv = v->shape[2], Dv = HDv / H;
    float P[EX_MAX_IDS * EX_MAX_IDS];
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++) {
            attn_probs(q, k, c, b, h, P);
            for (int i = 0; i < Lq; i++)
                for (int e = 0; e < Dv; e++) {
                    double s = 0.0;
                    for (int j = 0; j < Lk; j++)
                        s += (double)P[i * Lk + j] * v->data[((int64_t)b * Lk + j) * HDv + h * Dv + e];
                    out->data[((int64_t)b * Lq + i) * HDv + h * Dv + e] = (float)s;
                }
        }
}

static void attention_backward(const tg_tensor *out, tg_tensor *const *in, int n_in, void *ctx) {
    (void)n_in;
    const ex_attn_ctx *c = ctx;
    const tg_tensor *q = in[0], *k = in[1], *v = in[2];
    int B = q->shape[0], Lq = q->shape[1], Lk = k->shape[1], H = c->n_heads;
    int HD = q->shape[2], D = HD / H, HDv = v->shape[2], Dv = HDv / H;
    const float *dO = out->grad;
    float P[EX_MAX_IDS * EX_MAX_IDS]; /* attn_probs(q, k, c, b, h, P) fills it */
#if MISTAKE == 1 /* P recomputed without the mask */
    ex_attn_ctx nomask = *c;
    nomask.causal = 0;
    for (int j = 0; j < B * Lk; j++) nomask.key_padding[j] = 1;
    c = &nomask;
#endif
#if MISTAKE == 3 /* the scale of S = scale·QKᵀ forgotten in dS */
    float scale = 1.0f;
#else
    float scale = c->scale;
#endif
    float dP[EX_MAX_IDS];
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++) {
            attn_probs(q, k, c, b, h, P);
            for (int i = 0; i < Lq; i++) {
                const float *dOi = dO + ((int64_t)b * Lq + i) * HDv + h * Dv;
                const float *qi = q->data + ((int64_t)b * Lq + i) * HD + h * D;
                double g = 0.0;
                for (int j = 0; j < Lk; j++) { /* dP = dO Vᵀ, g = Σ_j P_ij dP_ij */
                    const float *vj = v->data + ((int64_t)b * Lk + j) * HDv + h * Dv;
                    double s = 0.0;
                    for (int e = 0; e < Dv; e++) s += (double)dOi[e] * vj[e];
                    dP[j] = (float)s;
                    g += (double)P[i * Lk + j] * dP[j];
                }
#if MISTAKE == 2 /* the Σ term of the softmax Jacobian forgotten */
                g = 0.0;
#endif
                for (int j = 0; j < Lk; j++) {
                    float pij = P[i * Lk + j], dS = (float)(pij * (dP[j] - g)) * scale;
                    const float *kj = k->data + ((int64_t)b * Lk + j) * HD + h * D;
                    if (v->grad) /* dV = Pᵀ dO */
                        for (int e = 0; e < Dv; e++)
                            v->grad[((int64_t)b * Lk + j) * HDv + h * Dv + e] += pij * dOi[e];
                    for (int d = 0; d < D; d++) { /* dQ = dS K, dK = dSᵀ Q */
                        if (q->grad) q->grad[((int64_t)b * Lq + i) * HD + h * D + d] += dS * kj[d];
                        if (k->grad) k->grad[((int64_t)b * Lk + j) * HD + h * D + d] += dS * qi[d];
                    }
                }
            }
        }
}

const tg_custom_op exercise_op = {"attention", attention_forward, attention_backward};
