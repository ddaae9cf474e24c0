/* tests/exercises/attention.c — a correct solution of the attention
 * exercise and, with -DMISTAKE=n, typical mistakes: 1 P recomputed without
 * the mask, 2 the Σ term of the softmax Jacobian forgotten, 3 the scale
 * forgotten in dS.  For tests/test_exercises.c. */

/* The skeleton's given forward and helpers, exactly as the learner gets
 * them; its empty backward and its exercise_op are renamed out of the way. */
#define attention_backward skeleton_backward
#define exercise_op skeleton_op
#include "skeletons/attention.c"
#undef attention_backward
#undef exercise_op

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
