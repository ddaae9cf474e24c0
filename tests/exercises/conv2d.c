/* tests/exercises/conv2d.c — a correct solution of the conv2d exercise and,
 * with -DMISTAKE=n, typical mistakes: 1 the bias gradient taken from the
 * first output pixel only (no sum over the pixels it is broadcast over),
 * 2 the kernel flipped (a true convolution's index w[o, kh−1−ky, kw−1−kx]
 * where the forward cross-correlates), 3 `=` instead of `+=` into dx (the
 * windows overlap, so contributions are lost).  For tests/test_exercises.c. */

#define conv2d_backward skeleton_backward
#define exercise_op skeleton_op
#include "skeletons/conv2d.c"
#undef conv2d_backward
#undef exercise_op

static void conv2d_backward(const tg_tensor *out, tg_tensor *const *in, int n_in, void *ctx) {
    (void)n_in;
    const ex_conv_ctx *c = ctx;
    const tg_tensor *x = in[0], *w = in[1];
    int B = x->shape[0], H = x->shape[1], W = x->shape[2], C = x->shape[3];
    int O = w->shape[0], kh = w->shape[1], kw = w->shape[2], s = c->stride, p = c->pad;
    int Ho = out->shape[1], Wo = out->shape[2];
    const float *dout = out->grad;
    float *dx = in[0]->grad, *dw = in[1]->grad, *db = in[2]->grad;
    for (int n = 0; n < B; n++)
        for (int oy = 0; oy < Ho; oy++)
            for (int ox = 0; ox < Wo; ox++)
                for (int o = 0; o < O; o++) {
                    int m = (n * Ho + oy) * Wo + ox;
                    float g = dout[m * O + o];
#if MISTAKE == 1 /* only the first pixel's share */
                    if (db && m == 0) db[o] += g;
#else
                    if (db) db[o] += g; /* out = ... + b[o] at every pixel */
#endif
                    for (int ky = 0; ky < kh; ky++)
                        for (int kx = 0; kx < kw; kx++) {
                            int iy = oy * s - p + ky, ix = ox * s - p + kx;
                            if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                            for (int ch = 0; ch < C; ch++) {
                                int xi = ((n * H + iy) * W + ix) * C + ch;
#if MISTAKE == 2 /* flipped kernel: convolution instead of cross-correlation */
                                int wi = ((o * kh + (kh - 1 - ky)) * kw + (kw - 1 - kx)) * C + ch;
                                if (dw) dw[wi] += g * x->data[xi];
                                wi = ((o * kh + ky) * kw + kx) * C + ch;
#else
                                int wi = ((o * kh + ky) * kw + kx) * C + ch;
                                if (dw) dw[wi] += g * x->data[xi];
#endif
#if MISTAKE == 3 /* assigned: overlapping windows overwrite each other */
                                if (dx) dx[xi] = g * w->data[wi];
#else
                                if (dx) dx[xi] += g * w->data[wi];
#endif
                            }
                        }
                }
}

const tg_custom_op exercise_op = {"conv2d", conv2d_forward, conv2d_backward};
