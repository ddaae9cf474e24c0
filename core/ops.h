/* core/ops.h — the differentiable operations.
 *
 * Every operation takes the tape first, allocates its output on the tape's
 * arena (valid until the next tg_tape_reset) and records a node for the
 * reverse sweep when gradients are enabled and an input requires grad.
 * Forward and backward of each live side by side in core/ops/<file>.c, the
 * local derivative stated above the forward; the derivation is in
 * docs/derivations/<op>.md and the gradient check in tests/test_ops_*.c.
 *
 * Shapes are written outermost first, "..." meaning any leading dims.
 * A shape or argument error aborts with a message naming the operation and
 * the shapes, e.g.
 *   tg_matmul: inner dimensions differ: a is [32, 64], b is [65, 10]
 */
#ifndef TG_OPS_H
#define TG_OPS_H

#include <stdint.h>

#include "core/tape.h"
#include "core/tensor.h"

/* ---- elementwise binary (core/ops/elementwise.c) -------------------------
 * out = a ∘ b with NumPy broadcasting: shapes are aligned at the trailing
 * dims; each pair of dims must be equal or one of them 1 (e.g. x [B, T, C]
 * + bias [C], or scores [B, H, L, L] + mask [B, 1, 1, L]).  The backward
 * of a broadcast operand sums the gradient over the broadcast dims.
 *   d(a+b)/da = 1, d(a+b)/db = 1;  d(a-b)/db = -1;  d(a·b)/da = b. */
tg_tensor *tg_add(tg_tape *tp, tg_tensor *a, tg_tensor *b);
tg_tensor *tg_sub(tg_tape *tp, tg_tensor *a, tg_tensor *b);
tg_tensor *tg_mul(tg_tape *tp, tg_tensor *a, tg_tensor *b);
/* out = s·x (d/dx = s);  out = x + c (d/dx = 1). */
tg_tensor *tg_scale(tg_tape *tp, tg_tensor *x, float s);
tg_tensor *tg_add_scalar(tg_tape *tp, tg_tensor *x, float c);

/* ---- matrix product (core/ops/matmul.c) ----------------------------------
 * out[..., M, N] = op(a)[..., M, K] · op(b)[..., K, N], op(X) = X or Xᵀ
 * (of the last two dims).  b may also be 2-D (a weight shared by every
 * leading index).  Leading dims of a and b must be equal otherwise.
 * Backward: dA = dC·op(B)ᵀ (transposed back if trans_a), dB = op(A)ᵀ·dC.
 * Every product goes through tg_sgemm. */
tg_tensor *tg_matmul(tg_tape *tp, tg_tensor *a, tg_tensor *b, int trans_a,
                     int trans_b);

/* ---- affine map of a Linear layer (core/ops/affine.c) --------------------
 * y[..., out] = x[..., in] · Wᵀ + b, W [out, in], b [out] or NULL: one tape
 * node and one output tensor, bit-identical to tg_add(tg_matmul(x, W, 0, 1),
 * b) (the same float operations in the same order).
 * Backward: dx = dy W, dW = dyᵀ x, db = Σ_rows dy.
 * Errors: W not [out, in] or b not [out] aborts. */
tg_tensor *tg_affine(tg_tape *tp, tg_tensor *x, tg_tensor *w, tg_tensor *b);

/* ---- shape ops (core/ops/shape.c) ----------------------------------------
 * transpose: [..., M, N] -> [..., N, M] (a copy).
 * permute: any axis order: y dim k is x dim perm[k] (perm: x->ndim ints, a
 *   permutation of 0 … ndim−1; torch.permute), a copy; e.g. [B, L, H, D]
 *   with perm {0, 2, 1, 3} -> [B, H, L, D].  Backward: the inverse permutation.
 * reshape: same number of elements, any shape; shares x's data.
 * concat: n tensors equal in every dim but `dim` -> joined along dim.
 * slice: x[..., start:start+len, ...] along dim (a copy).
 * split: n_parts slices along dim of the given sizes (summing to the dim);
 *        writes the parts into outs[0..n_parts-1].
 * dim may be negative (counted from the end). */
tg_tensor *tg_transpose(tg_tape *tp, tg_tensor *x);
tg_tensor *tg_permute(tg_tape *tp, tg_tensor *x, const int *perm);
tg_tensor *tg_reshape(tg_tape *tp, tg_tensor *x, int ndim, const int *shape);
tg_tensor *tg_concat(tg_tape *tp, int n, tg_tensor *const *xs, int dim);
tg_tensor *tg_slice(tg_tape *tp, tg_tensor *x, int dim, int start, int len);
void tg_split(tg_tape *tp, tg_tensor *x, int dim, int n_parts,
              const int *sizes, tg_tensor **outs);

/* ---- reductions (core/ops/reduce.c) --------------------------------------
 * sum / mean over all elements -> [1].
 * sum_last / mean_last over the last dim: [..., C] -> [...] ([1] for 1-D). */
tg_tensor *tg_sum(tg_tape *tp, tg_tensor *x);
tg_tensor *tg_mean(tg_tape *tp, tg_tensor *x);
tg_tensor *tg_sum_last(tg_tape *tp, tg_tensor *x);
tg_tensor *tg_mean_last(tg_tape *tp, tg_tensor *x);
/* max over dim (negative counts from the end): x [..., D, ...] -> the shape
 * without dim ([1] for 1-D x), e.g. max-pooling a convolution's [N, L, F]
 * over positions with dim 1 -> [N, F].  The gradient goes to the first
 * maximal element of each slice (y = x[argmax]: dx[argmax] += dy).
 * Saves the argmax per output element. */
tg_tensor *tg_max(tg_tape *tp, tg_tensor *x, int dim);

/* ---- elementwise unary (core/ops/unary.c) --------------------------------
 * exp: y = eˣ, y' = y.        log: y = ln x, y' = 1/x (x > 0).
 * tanh: y' = 1 − y².          sigmoid: y = 1/(1+e⁻ˣ), y' = y(1 − y).
 * relu: y' = [x > 0].         leaky_relu: y = x or slope·x, y' = 1 or slope.
 * elu: y = x (x>0) or alpha(eˣ−1), y' = 1 or y + alpha (Clevert et al. 2016).
 * gelu (tanh approximation, Hendrycks & Gimpel 2016):
 *   y = ½x(1 + tanh(√(2/π)(x + 0.044715x³))). */
tg_tensor *tg_exp(tg_tape *tp, tg_tensor *x);
tg_tensor *tg_log(tg_tape *tp, tg_tensor *x);
tg_tensor *tg_tanh(tg_tape *tp, tg_tensor *x);
tg_tensor *tg_sigmoid(tg_tape *tp, tg_tensor *x);
tg_tensor *tg_relu(tg_tape *tp, tg_tensor *x);
tg_tensor *tg_leaky_relu(tg_tape *tp, tg_tensor *x, float slope);
tg_tensor *tg_elu(tg_tape *tp, tg_tensor *x, float alpha);
tg_tensor *tg_gelu(tg_tape *tp, tg_tensor *x);

/* ---- softmax family (core/ops/softmax.c) ---------------------------------
 * Over the last dim, with an optional additive mask (NULL for none; no
 * gradient flows into it) broadcast to x as in tg_add — 0 keeps an entry,
 * -INFINITY removes it.  A row whose entries are all masked gives all zeros
 * (and zero gradient), never NaN.
 *   softmax:     y_i = e^{z_i} / Σ_j e^{z_j},  z = x + mask;
 *                dz_i = y_i (dy_i − Σ_j dy_j y_j).
 *   log_softmax: y_i = z_i − log Σ_j e^{z_j};  dz_i = dy_i − softmax_i Σ_j dy_j. */
tg_tensor *tg_softmax(tg_tape *tp, tg_tensor *x, const tg_tensor *mask);
tg_tensor *tg_log_softmax(tg_tape *tp, tg_tensor *x, const tg_tensor *mask);

typedef enum { TG_SUM = 0, TG_MEAN = 1 } tg_reduction;

/* Cross-entropy from logits with integer targets.
 * logits: [..., V] viewed as N = size/V rows; targets: N ints in [0, V) or
 * == ignore_index (padding; contributes nothing; pass -1 when unused).
 * Returns [1]: Σ_n −log softmax(logits_n)[t_n] (TG_SUM, the summed loss of
 * teacher-forced sequence training) or that sum divided by the number of
 * non-ignored rows (TG_MEAN; 0 when all are ignored).
 * d/dlogits_n = softmax(logits_n) − onehot(t_n) (÷ count for TG_MEAN).
 * targets are copied onto the tape.  A target outside [0, V) that is not
 * ignore_index aborts. */
tg_tensor *tg_cross_entropy(tg_tape *tp, tg_tensor *logits,
                            const int32_t *targets, int ignore_index,
                            tg_reduction reduction);
/* The same with label smoothing ε in [0, 1] (Szegedy et al. 2016, §7;
 * PyTorch's CrossEntropyLoss(label_smoothing=ε)): each kept row's target is
 * q = (1 − ε)·onehot(t_n) + ε/V, so its loss is Σ_v −q_v log softmax(l_n)_v
 * = lse_n − (1 − ε)·l_{n,t_n} − (ε/V)·Σ_v l_{n,v}.
 * d/dlogits_n = softmax(logits_n) − q (÷ count for TG_MEAN).  ε = 0 is
 * tg_cross_entropy; ε outside [0, 1] aborts. */
tg_tensor *tg_cross_entropy_smoothed(tg_tape *tp, tg_tensor *logits,
                                     const int32_t *targets, int ignore_index,
                                     tg_reduction reduction, float label_smoothing);

/* ---- normalisation, lookup, dropout (core/ops/layernorm.c, embedding.c,
 *      dropout.c) -----------------------------------------------------------
 * layernorm over the last dim C (Ba, Kiros & Hinton 2016):
 *   y = (x − μ)/sqrt(σ² + eps) · gain + bias, μ and σ² (biased) per row;
 *   gain, bias: [C] or NULL.  Saves μ and 1/σ per row for backward. */
tg_tensor *tg_layernorm(tg_tape *tp, tg_tensor *x, tg_tensor *gain,
                        tg_tensor *bias, float eps);

/* out[..., c] = weight[ids[...], c]: weight [V, C], ids an int array of the
 * given shape (1 to TG_MAX_DIMS−1 dims) -> [shape..., C].  Backward scatter-adds rows of
 * dout into dweight (repeated ids accumulate).  ids are copied onto the
 * tape; an id outside [0, V) aborts. */
tg_tensor *tg_embedding(tg_tape *tp, tg_tensor *weight, const int32_t *ids,
                        int ndim, const int *shape);

/* Inverted dropout (Srivastava et al. 2014): in training mode each element
 * is zeroed with probability p and the rest scaled by 1/(1−p), the mask drawn
 * from rng (so a seed reproduces it); in evaluation mode, or p == 0, returns
 * x itself.  0 <= p < 1. */
tg_tensor *tg_dropout(tg_tape *tp, tg_tensor *x, float p, tg_rng *rng);

/* ---- patch embedding (core/ops/patch.c) ----------------------------------
 * Cuts channels-last images x [..., H, W, C] into non-overlapping P×P
 * patches -> y [..., N, P·P·C], N = (H/P)·(W/P) (ViT, Dosovitskiy et al.
 * 2021, eq. 1).  Patches in row-major order over the (H/P)×(W/P) grid; each
 * flattened in (dy, dx, c) order, c fastest:
 *   y[b, py·(W/P) + px, (dy·P + dx)·C + c] = x[b, py·P + dy, px·P + dx, c]
 * (P rows of P·C contiguous floats).  A permutation, so the backward
 * scatters dy back: dx[b, py·P+dy, px·P+dx, c] += dy[b, n, (dy·P+dx)·C+c].
 * Follow with a Linear P·P·C -> d_model (tg_patch_embed, nn/vit.h).
 * Errors: x with fewer than 3 dims, or P < 1 not dividing H and W, aborts. */
tg_tensor *tg_patchify(tg_tape *tp, tg_tensor *x, int P);

/* ---- convolution, pooling, batch normalisation (core/ops/conv.c, pool.c,
 *      batchnorm.c) ------------------------------------------------------------
 * Images are channels-last, x [B, H, W, C] (the layout of data/).
 *
 * conv2d: 2-D cross-correlation with zero padding, as torch's nn.Conv2d
 * (dilation 1, groups 1):
 *   y[b, oy, ox, o] = bias[o] + Σ_{ky,kx,c} x[b, oy·s − p + ky, ox·s − p + kx, c]·w[o, ky, kx, c]
 *   x [B, H, W, C_in], w [C_out, kh, kw, C_in], bias [C_out] or NULL
 *   -> y [B, Ho, Wo, C_out], Ho = ⌊(H + 2p − kh)/s⌋ + 1, Wo = ⌊(W + 2p − kw)/s⌋ + 1.
 * w is torch's [C_out, C_in, kh, kw] weight permuted by (0, 2, 3, 1); a
 * converter applies w_torch.permute(0, 2, 3, 1) to load, .permute(0, 3, 1, 2)
 * to export (docs/layers.md).  im2col + tg_sgemm; nothing saved but the
 * inputs (the backward rebuilds the columns).
 * Backward: dw = dyᵀ·cols, dx = col2im(dy·w), dbias = Σ dy.
 * Errors: x not 4-D, w not [C_out, kh, kw, C_in], bias not [C_out],
 * stride < 1, padding < 0, or a kernel larger than the padded image aborts. */
tg_tensor *tg_conv2d(tg_tape *tp, tg_tensor *x, tg_tensor *w, tg_tensor *bias, int stride,
                     int padding);

/* Pooling over k×k windows with stride s, no padding (torch's nn.MaxPool2d /
 * nn.AvgPool2d with padding 0, ceil_mode False):
 *   x [B, H, W, C] -> y [B, Ho, Wo, C], Ho = ⌊(H − k)/s⌋ + 1, Wo alike.
 * max: the gradient goes to the first maximal element of each window (row-
 * major (ky, kx) order; NaN counts as maximal); saves its window offset.
 * avg: y = window mean, dx = dy/k² over the window.
 * Errors: x not 4-D, k or s < 1, or k larger than H or W aborts. */
tg_tensor *tg_max_pool2d(tg_tape *tp, tg_tensor *x, int kernel, int stride);
tg_tensor *tg_avg_pool2d(tg_tape *tp, tg_tensor *x, int kernel, int stride);
/* Global average pooling: x [B, H, W, C] -> y [B, C], the mean over H·W
 * (torch's nn.AdaptiveAvgPool2d(1) then flatten).  dx = dy/(H·W). */
tg_tensor *tg_global_avg_pool2d(tg_tape *tp, tg_tensor *x);

/* Batch normalisation over every dim but the last (Ioffe & Szegedy 2015,
 * Algorithm 1): torch's nn.BatchNorm2d on x [B, H, W, C], nn.BatchNorm1d on
 * x [B, C].  Per channel c, over the N = size/C rows:
 *   training mode (tg_tape_set_training): batch mean μ and biased variance
 *     σ², and the running buffers updated in place, as torch:
 *     running_mean ← (1−m)·running_mean + m·μ,
 *     running_var ← (1−m)·running_var + m·σ²·N/(N−1);
 *   evaluation mode: μ = running_mean, σ² = running_var;
 *   y = (x − μ)/√(σ² + eps)·weight + bias.
 * weight, bias: [C] or NULL (γ = 1, β = 0).  running_mean, running_var: [C]
 * buffers (flag TG_BUFFER, no gradient; tg_params_new_buffer) or both NULL,
 * then batch statistics in both modes (torch's track_running_stats=False).
 * Typical: momentum 0.1, eps 1e-5 (torch's defaults).
 * Backward: training dx = r·γ·(dy − mean(dy) − x̂·mean(dy·x̂)), evaluation
 * dx = r·γ·dy, with x̂ = (x − μ)·r, r = 1/√(σ² + eps); dγ = Σ dy·x̂, dβ = Σ dy.
 * Errors: a [C] argument of another shape, only one running buffer, eps <= 0,
 * momentum outside [0, 1], or batch statistics over N = 1 row aborts. */
tg_tensor *tg_batchnorm(tg_tape *tp, tg_tensor *x, tg_tensor *weight, tg_tensor *bias,
                        tg_tensor *running_mean, tg_tensor *running_var, float momentum,
                        float eps);

#endif
