/* core/attention.h — scaled dot-product attention as ONE tape operation
 * (the fused form), and the attention mask shared with the composed form.
 *
 *   tg_attn_mask m = {.causal = 1, .key_padding = src_real};   // [B, Lk] bytes
 *   // q [B, Lq, H·D], k [B, Lk, H·D], v [B, Lk, H·Dv]  ->  o [B, Lq, H·Dv]
 *   tg_tensor *o = tg_attention(tp, q, k, v, H, 1.0f / sqrtf(D), &m, NULL);
 *
 * Heads live side by side in the last dim, as the output of a [C, C]
 * projection: head h of q is columns h·D … h·D+D−1 (torch's
 * MultiheadAttention layout), so no [B, L, H, D] -> [B, H, L, D] transpose
 * is needed; the kernel reads each head with a row stride of H·D.
 *
 * The composed form of the same function (matmul, scale, softmax with an
 * additive mask, matmul: separate tape nodes) is tg_attention_composed in
 * nn/attention.h; tests/test_attention.c holds the two equal.
 * Derivation of the fused forward and backward: docs/derivations/attention.md.
 */
#ifndef TG_ATTENTION_H
#define TG_ATTENTION_H

#include <stdint.h>

#include "core/tape.h"

/* Which keys each query may attend to.  All conditions combine with AND;
 * a zeroed struct (or a NULL pointer where one is accepted) masks nothing.
 * Positions i (query, 0..Lq−1) and j (key, 0..Lk−1) are absolute indices,
 * also when Lq != Lk.
 *   causal       nonzero: i sees j only when j <= i (decoder self-attention).
 *   window       w > 0: i sees j only when |i − j| <= w (truncated
 *                self-attention for speech); with causal, i−w … i.  0: off.
 *   key_padding  [B, Lk] bytes, 1 = a real token, 0 = padding nobody sees
 *                (sentences of different lengths in one batch), or NULL.
 *   allowed      [Lq, Lk] bytes, 1 = i may attend to j (e.g. a graph
 *                adjacency), or NULL; [B, Lq, Lk] when allowed_per_batch.
 * A query that may attend to no key at all gets an output row of zeros and
 * passes zero gradient (never NaN).
 * The byte arrays are read during the call that takes the mask; the fused op
 * copies what its backward needs onto the tape. */
typedef struct tg_attn_mask {
    int causal;
    int window;
    const uint8_t *key_padding;
    const uint8_t *allowed;
    int allowed_per_batch;
} tg_attn_mask;

/* 1 when m is NULL or masks nothing. */
int tg_attn_mask_is_empty(const tg_attn_mask *m);

/* 1 when query i of batch entry b may attend to key j under m (m may be
 * NULL: always 1).  The single definition both forms use. */
int tg_attn_mask_allows(const tg_attn_mask *m, int b, int i, int j, int Lq, int Lk);

/* The mask as an additive tensor for tg_softmax: 0 where allowed, −INFINITY
 * where not.  Shape [Lq, Lk] when the mask is the same for every batch entry
 * (causal, window, shared allowed), [B, 1, Lq, Lk] otherwise (key padding,
 * per-batch allowed) — both broadcast to scores [B, H, Lq, Lk].  NULL when m
 * masks nothing.  On the tape's arena (valid until the next tg_tape_reset),
 * no gradient.  Errors: B, Lq or Lk < 1, or window < 0, aborts. */
tg_tensor *tg_attn_mask_tensor(tg_tape *tp, const tg_attn_mask *m, int B, int Lq, int Lk);

/* Fused scaled dot-product attention, per batch entry b and head h:
 *   S = scale · Q_bh K_bhᵀ            [Lq, Lk]
 *   P = softmax_rows(S + mask)        (masked entries 0; fully masked row 0)
 *   O_bh = P V_bh                     [Lq, Dv]
 * q: [B, Lq, H·D], k: [B, Lk, H·D], v: [B, Lk, H·Dv]; returns o [B, Lq, H·Dv]
 * (heads concatenated in the last dim), on the tape.  n_heads = H >= 1;
 * scale is usually 1/sqrt(D) (Vaswani et al. 2017, eq. 1).
 * One tape node (TG_OP_attention) with gradients for q, k and v.
 *
 * Memory linear in L: the forward runs FlashAttention's tiled online
 * softmax (Dao et al. 2022, Alg. 1; Dao 2023, FlashAttention-2) over 64×64
 * tiles of S and saves only o and the log-sum-exp of each row ([B, H, Lq]);
 * the backward recomputes S and P tile by tile.  Tiles that causal or
 * window structure masks entirely are skipped.  Parallel over (b, h, query
 * tile) in the forward and (b, h) in the backward, each in a fixed order:
 * bit-identical for any thread count.
 *
 * weights_out: NULL, or B·H·Lq·Lk floats the caller owns, filled with P
 * ([B, H, Lq, Lk]; rows of masked queries 0) — for plots; this is the one
 * use that needs memory quadratic in L.
 * Errors (abort, naming tg_attention and the shapes): a NULL tensor, q/k/v
 * not 3-D, batch sizes differ, k and v lengths differ, q and k last dims
 * differ, a last dim not divisible by n_heads, mask window < 0.  The sizes
 * of the mask's byte arrays cannot be checked: they are the caller's to get
 * right ([B, Lk] and [Lq, Lk] or [B, Lq, Lk]). */
tg_tensor *tg_attention(tg_tape *tp, tg_tensor *q, tg_tensor *k, tg_tensor *v, int n_heads,
                        float scale, const tg_attn_mask *mask, float *weights_out);

/* The same for self-attention with Q, K, V packed in one tensor, as one
 * [C, 3C] projection makes them (timm's Attention.qkv): qkv [B, L, 3·H·D],
 * columns 0…C−1 Q, C…2C−1 K, 2C…3C−1 V (C = H·D, head h of each at columns
 * h·D … h·D+D−1 of its block) -> o [B, L, H·D].  Reads the three blocks in
 * place (row stride 3C) and writes their gradients into qkv's gradient: no
 * split copies.  Same numbers as tg_attention on the three column slices,
 * bit for bit (tests/test_vit.c).  Errors: qkv not [B, L, 3·H·D], mask
 * window < 0, abort. */
tg_tensor *tg_attention_qkv(tg_tape *tp, tg_tensor *qkv, int n_heads, float scale,
                            const tg_attn_mask *mask, float *weights_out);

/* Checks the arguments of an attention over q [B, Lq, H·D], k [B, Lk, H·D],
 * v [B, Lk, H·Dv] with n_heads heads and mask (may be NULL): shapes, n_heads
 * dividing the channel dims, the mask's window >= 0.  For tg_attention and
 * for layers that compose attention from smaller ops
 * (tg_attention_composed, nn/attention.h).  Errors: aborts, naming op. */
void tg_attention_check(const char *op, const tg_tensor *q, const tg_tensor *k,
                         const tg_tensor *v, int n_heads, const tg_attn_mask *mask);

#endif
