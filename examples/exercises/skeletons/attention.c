/* exercises/attention.c — the backward of scaled dot-product attention, the
 * composed form of the lecture, per batch entry b and head h:
 *
 *   S = scale · Q Kᵀ        [Lq, Lk]
 *   P = softmax_rows(S + M) (M: 0 where query i may see key j, −∞ where not)
 *   O = P V                 [Lq, Dv]
 *
 * q [B, Lq, H·D], k [B, Lk, H·D], v [B, Lk, H·Dv]; head h of q is columns
 * h·D … h·D+D−1 of each row (likewise k, v, o).  The mask (causal, key
 * padding) is in ctx; attn_probs below computes P with it.
 *
 * Write attention_backward: given dO = out->grad, ADD dL/dq, dL/dk, dL/dv
 * into in[0..2]->grad.  Check: build/exercise check attention
 * Derivation to compare with afterwards: docs/derivations/attention.md and
 * docs/tutorial-attention.md. */
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
    (void)B, (void)Lq, (void)Lk, (void)D, (void)Dv, (void)dO, (void)P;
    /* YOUR CODE HERE */
}

const tg_custom_op exercise_op = {"attention", attention_forward, attention_backward};
