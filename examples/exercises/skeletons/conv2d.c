/* exercises/conv2d.c — the backward of a 2-D convolution (cross-correlation,
 * as torch's nn.Conv2d) on channels-last images, with stride and zero
 * padding.
 *
 *   x [B, H, W, C], w [O, kh, kw, C], b [O]; stride s and padding p in ctx
 *   out[n, oy, ox, o] = b[o] + Σ_{ky, kx, c} x[n, oy·s − p + ky, ox·s − p + kx, c] · w[o, ky, kx, c]
 *                       (x = 0 outside the image)  -> [B, Ho, Wo, O],
 *   Ho = (H + 2p − kh)/s + 1, Wo = (W + 2p − kw)/s + 1
 *
 * Write conv2d_backward: given dout = out->grad, ADD dL/dx, dL/dw and dL/db
 * into in[0]->grad, in[1]->grad, in[2]->grad (each only when not NULL).
 * Check: build/exercise check conv2d
 * Derivation to compare with afterwards: docs/derivations/conv2d.md. */
#include "exercise.h"

static void conv2d_forward(tg_tensor *out, tg_tensor *const *in, int n_in, void *ctx) {
    (void)n_in;
    const ex_conv_ctx *c = ctx;
    const tg_tensor *x = in[0], *w = in[1], *b = in[2];
    int B = x->shape[0], H = x->shape[1], W = x->shape[2], C = x->shape[3];
    int O = w->shape[0], kh = w->shape[1], kw = w->shape[2], s = c->stride, p = c->pad;
    int Ho = out->shape[1], Wo = out->shape[2];
    for (int n = 0; n < B; n++)
        for (int oy = 0; oy < Ho; oy++)
            for (int ox = 0; ox < Wo; ox++)
                for (int o = 0; o < O; o++) {
                    float acc = b->data[o];
                    for (int ky = 0; ky < kh; ky++)
                        for (int kx = 0; kx < kw; kx++) {
                            int iy = oy * s - p + ky, ix = ox * s - p + kx;
                            if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue; /* padding */
                            for (int ch = 0; ch < C; ch++)
                                acc += x->data[((n * H + iy) * W + ix) * C + ch] *
                                       w->data[((o * kh + ky) * kw + kx) * C + ch];
                        }
                    out->data[((n * Ho + oy) * Wo + ox) * O + o] = acc;
                }
}

static void conv2d_backward(const tg_tensor *out, tg_tensor *const *in, int n_in, void *ctx) {
    (void)n_in;
    const ex_conv_ctx *c = ctx;
    const tg_tensor *x = in[0], *w = in[1];
    int B = x->shape[0], H = x->shape[1], W = x->shape[2], C = x->shape[3];
    int O = w->shape[0], kh = w->shape[1], kw = w->shape[2], s = c->stride, p = c->pad;
    int Ho = out->shape[1], Wo = out->shape[2];
    const float *dout = out->grad;
    (void)B, (void)H, (void)W, (void)C, (void)O, (void)kh, (void)kw, (void)s, (void)p;
    (void)Ho, (void)Wo, (void)dout;
    /* YOUR CODE HERE */
}

const tg_custom_op exercise_op = {"conv2d", conv2d_forward, conv2d_backward};
