/* nn/rollout.h — attention rollout: how much each input token flows into
 * each output token through a stack of attention layers with residual
 * connections (Abnar & Zuidema 2020, "Quantifying Attention Flow in
 * Transformers", §3).
 *
 *   float attn[L][N][N];   // per layer, mean over heads, rows = queries (e.g. tg_vit_attention)
 *   float roll[N][N];
 *   tg_attention_rollout(&attn[0][0][0], L, N, &roll[0][0]);
 *   // roll[0][1..N-1]: how much of the [CLS] output comes from each patch
 *
 * Each layer's attention A_l is mixed with the identity, for the residual
 * path around it, and its rows renormalised:
 *     Ã_l = rownorm(½·A_l + ½·I)
 * and the rollout multiplies them from the first layer up:
 *     R = Ã_L · Ã_{L−1} ··· Ã_1,
 * so R[i][j] is the share of output token i attributable to input token j
 * when attention is treated as linear mixing.  Each row of R sums to 1.
 */
#ifndef TG_NN_ROLLOUT_H
#define TG_NN_ROLLOUT_H

/* attn: [L, N, N] row-major, L = n_layers >= 1 layers (first layer first),
 * N = n_tokens >= 1, each row a probability distribution over keys (rows
 * summing to 0, e.g. fully masked queries, are left as the identity's row).
 * out: [N, N], written; may not alias attn.  Computed in double, rounded to
 * float at the end.  Allocates 2·N² doubles of scratch (freed before it
 * returns).  Errors: n_layers < 1, n_tokens < 1 or NULL pointers abort. */
void tg_attention_rollout(const float *attn, int n_layers, int n_tokens, float *out);

#endif
