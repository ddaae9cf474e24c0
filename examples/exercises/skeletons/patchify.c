/* exercises/patchify.c — the backward of cutting images into patches (the
 * first step of a Vision Transformer's patch embedding).
 *
 *   images [B, H, W, C] (channels-last), P divides H and W (P in ctx)
 *   out[b, py·(W/P) + px, (dy·P + dx)·C + c] = images[b, py·P + dy, px·P + dx, c]
 *                                                   -> [B, (H/P)·(W/P), P·P·C]
 *
 * Write patchify_backward: given dout = out->grad, ADD dL/dimages into
 * in[0]->grad.  Check: build/exercise check patchify
 * Derivation to compare with afterwards: docs/derivations/patch.md. */
#include "exercise.h"

static void patchify_forward(tg_tensor *out, tg_tensor *const *in, int n_in, void *ctx) {
    (void)n_in;
    const ex_patch_ctx *c = ctx;
    const tg_tensor *x = in[0];
    int B = x->shape[0], H = x->shape[1], W = x->shape[2], C = x->shape[3], P = c->P;
    int nx = W / P, np = (H / P) * nx, row = P * P * C;
    for (int b = 0; b < B; b++)
        for (int n = 0; n < np; n++)
            for (int dy = 0; dy < P; dy++)
                for (int dx = 0; dx < P; dx++)
                    for (int ch = 0; ch < C; ch++) {
                        int y = (n / nx) * P + dy, xx = (n % nx) * P + dx;
                        out->data[((int64_t)b * np + n) * row + (dy * P + dx) * C + ch] =
                            x->data[(((int64_t)b * H + y) * W + xx) * C + ch];
                    }
}

static void patchify_backward(const tg_tensor *out, tg_tensor *const *in, int n_in, void *ctx) {
    (void)n_in;
    const ex_patch_ctx *c = ctx;
    const tg_tensor *x = in[0];
    int B = x->shape[0], H = x->shape[1], W = x->shape[2], C = x->shape[3], P = c->P;
    const float *dout = out->grad;
    (void)B, (void)H, (void)W, (void)C, (void)P, (void)dout;
    /* YOUR CODE HERE */
}

const tg_custom_op exercise_op = {"patchify", patchify_forward, patchify_backward};
