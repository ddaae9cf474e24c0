/* nn/attention.h — attention layers: the lecture's single-head
 * self-attention, multi-head attention (self and cross), and the composed
 * form of scaled dot-product attention.
 *
 *   tg_mha attn;
 *   tg_mha_init(&attn, &ps, "encoder.layers.0.self_attn", 64, 4, TG_NN_BIAS, &rng);
 *   tg_attn_mask m = {.key_padding = real};                    // [B, L] bytes
 *   tg_tensor *y = tg_mha_forward(tp, &attn, x, x, &m);        // self: [B, L, 64]
 *   tg_tensor *z = tg_mha_forward(tp, &cross, y, memory, &src_m);  // cross-attention
 *
 * Every layer has two interchangeable forms of the attention core, equal to
 * rounding (tests/test_attention.c): the fused op tg_attention
 * (core/attention.h: one tape node, memory linear in L), used by default,
 * and tg_attention_composed (separate matmul, scale, softmax, matmul nodes,
 * the form of the lecture), selected by setting `use_composed = 1`.
 *
 * Attention weights for plots: set `store_weights = 1` before a forward;
 * afterwards `weights` is the tensor P [B, H, Lq, Lk] (softmax rows; rows of
 * queries with no visible key are 0), on the tape — valid until the next
 * tg_tape_reset, owned by the tape.  It costs memory quadratic in L.
 */
#ifndef TG_NN_ATTENTION_H
#define TG_NN_ATTENTION_H

#include "core/attention.h"
#include "core/ops.h"
#include "nn/linear.h"
#include "core/params.h"

/* The composed form of tg_attention (same arguments, same result):
 *   Q_h, K_h, V_h = split_heads(q, k, v)            [B, H, L, D] (reshape + permute)
 *   S = scale · Q_h K_hᵀ                            [B, H, Lq, Lk]   (matmul, scale)
 *   P = softmax(S + M)                              M = tg_attn_mask_tensor(mask)
 *   O = merge_heads(P V_h)                          [B, Lq, H·Dv]    (matmul, permute + reshape)
 * q [B, Lq, H·D], k [B, Lk, H·D], v [B, Lk, H·Dv].  Every node on the tape,
 * so memory is quadratic in L: several [B, H, Lq, Lk] tensors.
 * weights: NULL, or receives P [B, H, Lq, Lk] (on the tape).
 * Errors as tg_attention ("tg_attention_composed: ..."). */
tg_tensor *tg_attention_composed(tg_tape *tp, tg_tensor *q, tg_tensor *k, tg_tensor *v,
                                 int n_heads, float scale, const tg_attn_mask *mask,
                                 tg_tensor **weights);

/* ---- single-head self-attention, exactly as the lecture ------------------
 *   Q = X W_q,  K = X W_k,  V = X W_v,  A' = softmax(Q Kᵀ / √d_k),  O = A' V
 * X [B, T, C] -> O [B, T, d_v].  No biases, no output projection.
 * Parameters "<prefix>.w_q" [C, d_k], "<prefix>.w_k" [C, d_k],
 * "<prefix>.w_v" [C, d_v] (note: [in, out], multiplied from the right as in
 * the lecture, unlike tg_linear's [out, in]); init Xavier uniform
 * U(±√(6/(C + d))). */
typedef struct tg_self_attention {
    tg_tensor *w_q, *w_k, *w_v;
    int d_model, d_k, d_v;
    int use_composed;   /* 0: fused tg_attention (default); 1: composed */
    int store_weights;  /* 1: keep A' [B, 1, T, T] in `weights` after a forward */
    tg_tensor *weights; /* on the tape, valid until the next tg_tape_reset */
} tg_self_attention;

/* Errors: a dim < 1 aborts. */
void tg_self_attention_init(tg_self_attention *a, tg_params *ps, const char *prefix, int d_model,
                            int d_k, int d_v, tg_rng *rng);
/* x [B, T, C] -> [B, T, d_v]; mask may be NULL.  Errors: x not [B, T, C]
 * aborts. */
tg_tensor *tg_self_attention_forward(tg_tape *tp, tg_self_attention *a, tg_tensor *x,
                                     const tg_attn_mask *mask);

/* ---- multi-head attention (Vaswani et al. 2017, §3.2.2) ------------------
 *   head_h = Attention(X_q W_qᵀ|_h, X_kv W_kᵀ|_h, X_kv W_vᵀ|_h),  h = 0..H−1
 *   MHA(X_q, X_kv) = Concat(head_0 … head_{H−1}) W_oᵀ + b_o
 * with D = C / H per head and scale 1/√D.  Self-attention: X_kv = X_q.
 * Parameters (tg_linear, [out, in]): "<prefix>.w_q", ".w_k", ".w_v",
 * ".w_o" (each .weight [C, C] and, with TG_NN_BIAS, .bias [C]).
 * Init as torch.nn.MultiheadAttention: w_q/w_k/w_v weights Xavier uniform
 * (torch draws them as one packed [3C, C] matrix, bound √(6/(4C)); we draw
 * each [C, C] separately, bound √(6/(2C))), their biases 0; w_o as
 * torch.nn.Linear (U(±1/√C)) with bias 0.  docs/layers.md maps the names to
 * torch's in_proj_weight / out_proj.
 *
 * Packed form (flag TG_NN_PACKED_QKV; self-attention only, timm's ViT
 * Attention): one projection "<prefix>.qkv" (.weight [3C, C], .bias [3C];
 * rows 0…C−1 give Q, C…2C−1 K, 2C…3C−1 V, i.e. torch's in_proj_weight) and
 * the output projection "<prefix>.proj"; one GEMM makes Q, K and V.  Init:
 * qkv weight Xavier uniform over [3C, C] (bound √(6/(4C)), torch's packed
 * in_proj), biases 0, proj as torch.nn.Linear with bias 0. */
typedef struct tg_mha {
    tg_linear w_q, w_k, w_v, w_o; /* w_q/w_k/w_v unused (zeroed) when packed */
    tg_linear qkv;                /* packed form only */
    int packed;                   /* 1: TG_NN_PACKED_QKV */
    int d_model, n_heads, head_dim;
    int use_composed;   /* 0: fused tg_attention (default); 1: composed */
    int store_weights;  /* 1: keep P [B, H, Lq, Lk] in `weights` after a forward */
    tg_tensor *weights; /* on the tape, valid until the next tg_tape_reset */
} tg_mha;

/* flags: TG_NN_BIAS (biases in all projections), TG_NN_PACKED_QKV.
 * Errors: d_model not divisible by n_heads, or < 1, aborts
 * ("tg_mha_init: <prefix>: d_model = 10 is not divisible by n_heads = 3"). */
void tg_mha_init(tg_mha *m, tg_params *ps, const char *prefix, int d_model, int n_heads,
                 unsigned flags, tg_rng *rng);
/* x_q [B, Lq, C], x_kv [B, Lk, C] (pass x_q again for self-attention)
 * -> [B, Lq, C].  mask (may be NULL) over [Lq, Lk]; its key_padding is
 * [B, Lk].  Errors: shapes that do not fit abort, naming both; a packed
 * layer given x_kv != x_q aborts. */
tg_tensor *tg_mha_forward(tg_tape *tp, tg_mha *m, tg_tensor *x_q, tg_tensor *x_kv,
                          const tg_attn_mask *mask);

#endif
