/* examples/exercises/exercise.h — the contract between an exercise file and
 * `build/exercise check`.
 *
 * An exercise file (exercises/<op>.c, made by `build/exercise init`) defines
 *
 *     const tg_custom_op exercise_op = {"<op>", <op>_forward, <op>_backward};
 *
 * through the public custom-op API (core/tape.h, docs/custom_ops.md): the
 * forward is given, the learner writes the backward, which reads out->grad
 * and ADDS into in[i]->grad for every input whose grad is not NULL.
 * `check` compiles the file into a shared object, loads it, calls
 * tg_custom(tp, &exercise_op, ...) with the inputs and ctx below, and
 * compares the gradients with the library's own backward and with central
 * finite differences.
 *
 * Shapes (outermost first), inputs in[] and the ctx each op receives:
 *   linear         in = {x [..., K], W [N, K], b [N]}  -> y [..., N]    ctx NULL
 *   softmax        in = {x [..., R, C], mask [R, C]}   -> y [..., R, C] ctx NULL
 *                  (mask additive, 0 or −INFINITY, no gradient: in[1]->grad is NULL)
 *   cross_entropy  in = {logits [N, V]}                -> loss [1]      ctx ex_ce_ctx
 *   layernorm      in = {x [..., C], gain [C], bias [C]} -> y [..., C]  ctx ex_ln_ctx
 *   gelu           in = {x [...]}                      -> y [...]       ctx NULL
 *   attention      in = {q [B, Lq, H·D], k [B, Lk, H·D], v [B, Lk, H·Dv]}
 *                                                      -> o [B, Lq, H·Dv] ctx ex_attn_ctx
 *   embedding      in = {weight [V, C]}                -> out [n_ids, C] ctx ex_emb_ctx
 *   patchify       in = {images [B, H, W, C]}          -> [B, (H/P)·(W/P), P·P·C] ctx ex_patch_ctx
 *   conv2d         in = {x [B, H, W, C], w [O, kh, kw, C], b [O]} -> [B, Ho, Wo, O] ctx ex_conv_ctx
 */
#ifndef TG_EXERCISE_H
#define TG_EXERCISE_H

#include <stdint.h>

#include "tapegrad.h"

#define EX_MAX_IDS 64

/* Cross-entropy averaged over the rows whose target is not -1 (ignored,
 * padding): loss = (1/count) Σ_{n: t_n ≠ −1} −log softmax(logits_n)[t_n]. */
typedef struct {
    int32_t targets[EX_MAX_IDS]; /* N of them; -1 = ignored row */
} ex_ce_ctx;

typedef struct {
    float eps;
} ex_ln_ctx;

/* Scaled dot-product attention per batch entry b and head h (heads side by
 * side in the last dim, as core/attention.h):
 *   S = scale · Q Kᵀ,  P = softmax_rows(S + mask),  O = P V.
 * causal: query i sees key j only if j <= i; key_padding[b·Lk + j] = 0 hides
 * key j of batch entry b from every query.  A query that sees no key gets
 * O = 0 and passes no gradient. */
typedef struct {
    int n_heads;
    float scale;
    int causal;
    uint8_t key_padding[EX_MAX_IDS]; /* B·Lk bytes, 1 = real key */
} ex_attn_ctx;

/* out[p, c] = weight[ids[p], c], p = 0..n_ids−1. */
typedef struct {
    int n_ids;
    int32_t ids[EX_MAX_IDS];
} ex_emb_ctx;

/* ViT patches (core/ops/patch.c): P divides H and W;
 * out[b, py·(W/P) + px, (dy·P + dx)·C + c] = images[b, py·P + dy, px·P + dx, c]. */
typedef struct {
    int P;
} ex_patch_ctx;

/* conv2d (core/ops/conv.c): stride >= 1, zero padding pad >= 0;
 * out[n, oy, ox, o] = b[o] + Σ_{ky,kx,c} x[n, oy·s − pad + ky, ox·s − pad + kx, c]·w[o, ky, kx, c]. */
typedef struct {
    int stride, pad;
} ex_conv_ctx;

#endif
