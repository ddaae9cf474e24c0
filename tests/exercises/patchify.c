/* tests/exercises/patchify.c — a correct solution of the patchify exercise
 * and, with -DMISTAKE=n, typical mistakes: 1 `=` instead of `+=`, 2 the
 * patch read back in (c, dy, dx) order (torch's Conv2d weight order) instead
 * of the forward's (dy, dx, c), 3 patches numbered column-major.  For
 * tests/test_exercises.c. */

#define patchify_backward skeleton_backward
#define exercise_op skeleton_op
#include "skeletons/patchify.c"
#undef patchify_backward
#undef exercise_op

static void patchify_backward(const tg_tensor *out, tg_tensor *const *in, int n_in, void *ctx) {
    (void)n_in;
    const ex_patch_ctx *c = ctx;
    const tg_tensor *x = in[0];
    int B = x->shape[0], H = x->shape[1], W = x->shape[2], C = x->shape[3], P = c->P;
    int nx = W / P, ny = H / P, np = ny * nx, row = P * P * C;
    const float *dout = out->grad;
    float *dx_ = in[0]->grad;
    if (!dx_) return;
    (void)ny;
    for (int b = 0; b < B; b++)
        for (int n = 0; n < np; n++)
            for (int dy = 0; dy < P; dy++)
                for (int dx = 0; dx < P; dx++)
                    for (int ch = 0; ch < C; ch++) {
#if MISTAKE == 3 /* patch n taken as column-major: px = n / ny, py = n % ny */
                        int y = (n % ny) * P + dy, xx = (n / ny) * P + dx;
#else
                        int y = (n / nx) * P + dy, xx = (n % nx) * P + dx;
#endif
                        int64_t src = ((int64_t)b * H + y) * W + xx;
#if MISTAKE == 2 /* flattened (c, dy, dx) as torch's Conv2d weight, not (dy, dx, c) */
                        float g = dout[((int64_t)b * np + n) * row + (ch * P + dy) * P + dx];
#else
                        float g = dout[((int64_t)b * np + n) * row + (dy * P + dx) * C + ch];
#endif
#if MISTAKE == 1 /* assigned */
                        dx_[src * C + ch] = g;
#else
                        dx_[src * C + ch] += g;
#endif
                    }
}

const tg_custom_op exercise_op = {"patchify", patchify_forward, patchify_backward};
