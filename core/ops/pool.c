/* core/ops/pool.c — spatial pooling of channels-last images: max_pool2d and
 * avg_pool2d (square kernel k, stride s, no padding, floor output size, as
 * torch's nn.MaxPool2d / nn.AvgPool2d defaults with padding 0), and global
 * average pooling.  Derivation: docs/derivations/pool.md.
 *
 *   x [B, H, W, C] -> y [B, Ho, Wo, C],  Ho = (H − k)/s + 1, Wo = (W − k)/s + 1
 *   max:  y[b, oy, ox, c] = max_{ky, kx < k} x[b, oy·s + ky, ox·s + kx, c]
 *   avg:  y[b, oy, ox, c] = (1/k²) Σ_{ky, kx < k} x[b, oy·s + ky, ox·s + kx, c]
 *   global_avg: x [B, H, W, C] -> y [B, C] = (1/(H·W)) Σ_{h, w} x[b, h, w, c]
 *
 * Backward: max routes each dy to the first maximal element of its window
 * ((ky, kx) in row-major order; a NaN counts as maximal, as in torch), whose
 * window offset the forward saves (one byte-sized index per output, stored
 * as int32); avg spreads dy/k² over the window; global_avg spreads
 * dy/(H·W) over the image.  Windows overlap when s < k, so the scatters are
 * parallel over images (each image's dx is written by one thread, windows
 * in order): the result does not depend on the thread count.
 */
#include <math.h>

#include "core/ops/internal.h"

typedef struct {
    int k, s;
    int32_t *argmax; /* max only: ky·k + kx per output element */
} pool_ctx;

typedef struct {
    int B, H, W, C, Ho, Wo, k, s;
} pool_geom;

static pool_geom pool_geom_of(const char *op, const tg_tensor *x, int k, int s) {
    TG_CHECK(x != NULL, op, "argument `x` is NULL");
    TG_CHECK(x->ndim == 4, op, "x must be [B, H, W, C], got %s", TG_SHAPE_STR(x));
    TG_CHECK(k >= 1 && s >= 1, op, "kernel and stride must be >= 1, got kernel %d, stride %d",
             k, s);
    TG_CHECK(k <= x->shape[1] && k <= x->shape[2], op, "kernel %d larger than the image: x %s",
             k, TG_SHAPE_STR(x));
    pool_geom g = {.B = x->shape[0], .H = x->shape[1], .W = x->shape[2], .C = x->shape[3],
                   .k = k, .s = s};
    g.Ho = (g.H - k) / s + 1;
    g.Wo = (g.W - k) / s + 1;
    return g;
}

/* Element offset of x[b, oy·s, ox·s, 0] (the window's first pixel). */
static int64_t window_start(const pool_geom *g, int64_t b, int oy, int ox) {
    return ((b * g->H + (int64_t)oy * g->s) * g->W + (int64_t)ox * g->s) * g->C;
}

/* ---- max_pool2d ---------------------------------------------------------- */

/* y = max over each k×k window; ∂y/∂x = 1 at the first maximal element of
 * the window, 0 elsewhere.  Saves that element's window offset ky·k + kx. */
tg_tensor *tg_max_pool2d(tg_tape *tp, tg_tensor *x, int kernel, int stride) {
    pool_geom g = pool_geom_of("tg_max_pool2d", x, kernel, stride);
    tg_tensor *out = tg__out(tp, 4, (const int[]){g.B, g.Ho, g.Wo, g.C});
    int need = tg_tape_grad_enabled(tp) && (x->flags & TG_REQUIRES_GRAD);
    int32_t *arg = need ? tg_tape_alloc(tp, (size_t)out->size * sizeof(int32_t)) : NULL;
    int64_t rows = (int64_t)g.B * g.Ho * g.Wo, C = g.C;
    const float *xd = x->data;
    float *y = out->data;
    TG_OMP_FOR(x->size)
    for (int64_t m = 0; m < rows; m++) {
        int64_t b = m / ((int64_t)g.Ho * g.Wo);
        int oy = (int)(m / g.Wo % g.Ho), ox = (int)(m % g.Wo);
        const float *x0 = xd + window_start(&g, b, oy, ox);
        float *ym = y + m * C;
        int32_t *am = arg ? arg + m * C : NULL;
        for (int64_t c = 0; c < C; c++) ym[c] = x0[c];
        if (am) memset(am, 0, (size_t)C * sizeof(int32_t));
        for (int ky = 0; ky < g.k; ky++)
            for (int kx = 0; kx < g.k; kx++) {
                if (!ky && !kx) continue;
                const float *xw = x0 + ((int64_t)ky * g.W + kx) * C;
                int32_t off = ky * g.k + kx;
                for (int64_t c = 0; c < C; c++)
                    if (xw[c] > ym[c] || (isnan(xw[c]) && !isnan(ym[c]))) {
                        ym[c] = xw[c];
                        if (am) am[c] = off;
                    }
            }
    }
    tg_node *n = tg__record(tp, TG_OP_max_pool2d, out, 1, &x);
    if (n) *(pool_ctx *)tg__node_ctx(tp, n, sizeof(pool_ctx)) = (pool_ctx){kernel, stride, arg};
    return out;
}

void tg__max_pool2d_bwd(tg_tape *tp, tg_node *n) {
    (void)tp;
    const pool_ctx *c = n->ctx;
    tg_tensor *x = n->in[0];
    if (!x->grad) return;
    pool_geom g = pool_geom_of("tg_max_pool2d", x, c->k, c->s);
    int64_t per = (int64_t)g.Ho * g.Wo, C = g.C;
    const float *dy = n->out->grad;
    float *dx = x->grad;
    TG_OMP_FOR(x->size)
    for (int64_t b = 0; b < g.B; b++)
        for (int64_t p = 0; p < per; p++) {
            int64_t m = b * per + p;
            float *d0 = dx + window_start(&g, b, (int)(p / g.Wo), (int)(p % g.Wo));
            const int32_t *am = c->argmax + m * C;
            const float *dym = dy + m * C;
            /* y = x[argmax]  =>  dx[argmax] += dy */
            for (int64_t ch = 0; ch < C; ch++) {
                int ky = am[ch] / g.k, kx = am[ch] % g.k;
                d0[((int64_t)ky * g.W + kx) * C + ch] += dym[ch];
            }
        }
}

/* ---- avg_pool2d ---------------------------------------------------------- */

/* y = (1/k²) Σ over each k×k window; ∂y/∂x = 1/k² inside the window. */
tg_tensor *tg_avg_pool2d(tg_tape *tp, tg_tensor *x, int kernel, int stride) {
    pool_geom g = pool_geom_of("tg_avg_pool2d", x, kernel, stride);
    tg_tensor *out = tg__out(tp, 4, (const int[]){g.B, g.Ho, g.Wo, g.C});
    int64_t rows = (int64_t)g.B * g.Ho * g.Wo, C = g.C;
    const float inv = 1.0f / (float)(kernel * kernel);
    const float *xd = x->data;
    float *y = out->data;
    TG_OMP_FOR(x->size)
    for (int64_t m = 0; m < rows; m++) {
        int64_t b = m / ((int64_t)g.Ho * g.Wo);
        int oy = (int)(m / g.Wo % g.Ho), ox = (int)(m % g.Wo);
        const float *x0 = xd + window_start(&g, b, oy, ox);
        float *ym = y + m * C;
        for (int64_t c = 0; c < C; c++) ym[c] = 0.0f;
        for (int ky = 0; ky < g.k; ky++)
            for (int kx = 0; kx < g.k; kx++) {
                const float *xw = x0 + ((int64_t)ky * g.W + kx) * C;
                for (int64_t c = 0; c < C; c++) ym[c] += xw[c];
            }
        for (int64_t c = 0; c < C; c++) ym[c] *= inv;
    }
    tg_node *n = tg__record(tp, TG_OP_avg_pool2d, out, 1, &x);
    if (n) *(pool_ctx *)tg__node_ctx(tp, n, sizeof(pool_ctx)) = (pool_ctx){kernel, stride, NULL};
    return out;
}

void tg__avg_pool2d_bwd(tg_tape *tp, tg_node *n) {
    (void)tp;
    const pool_ctx *c = n->ctx;
    tg_tensor *x = n->in[0];
    if (!x->grad) return;
    pool_geom g = pool_geom_of("tg_avg_pool2d", x, c->k, c->s);
    int64_t per = (int64_t)g.Ho * g.Wo, C = g.C;
    const float inv = 1.0f / (float)(g.k * g.k);
    const float *dy = n->out->grad;
    float *dx = x->grad;
    TG_OMP_FOR(x->size)
    for (int64_t b = 0; b < g.B; b++)
        for (int64_t p = 0; p < per; p++) {
            float *d0 = dx + window_start(&g, b, (int)(p / g.Wo), (int)(p % g.Wo));
            const float *dym = dy + (b * per + p) * C;
            /* y = (1/k²) Σ_window x  =>  dx[window] += dy / k² */
            for (int ky = 0; ky < g.k; ky++)
                for (int kx = 0; kx < g.k; kx++) {
                    float *dw = d0 + ((int64_t)ky * g.W + kx) * C;
                    for (int64_t ch = 0; ch < C; ch++) dw[ch] += dym[ch] * inv;
                }
        }
}

/* ---- global average pooling ---------------------------------------------- */

/* y[b, c] = (1/(H·W)) Σ_{h,w} x[b, h, w, c];  ∂y[b,c]/∂x[b,h,w,c] = 1/(H·W). */
tg_tensor *tg_global_avg_pool2d(tg_tape *tp, tg_tensor *x) {
    TG_CHECK_TENSOR("tg_global_avg_pool2d", x);
    TG_CHECK(x->ndim == 4, "tg_global_avg_pool2d", "x must be [B, H, W, C], got %s",
             TG_SHAPE_STR(x));
    int B = x->shape[0], C = x->shape[3];
    int64_t HW = (int64_t)x->shape[1] * x->shape[2];
    tg_tensor *out = tg__out(tp, 2, (const int[]){B, C});
    const float inv = 1.0f / (float)HW;
    const float *xd = x->data;
    float *y = out->data;
    TG_OMP_FOR(x->size)
    for (int b = 0; b < B; b++) {
        float *yb = y + (int64_t)b * C;
        const float *xb = xd + (int64_t)b * HW * C;
        for (int c = 0; c < C; c++) yb[c] = 0.0f;
        for (int64_t p = 0; p < HW; p++)
            for (int c = 0; c < C; c++) yb[c] += xb[p * C + c];
        for (int c = 0; c < C; c++) yb[c] *= inv;
    }
    tg__record(tp, TG_OP_global_avg_pool2d, out, 1, &x);
    return out;
}

void tg__global_avg_pool2d_bwd(tg_tape *tp, tg_node *n) {
    (void)tp;
    tg_tensor *x = n->in[0];
    if (!x->grad) return;
    int B = x->shape[0], C = x->shape[3];
    int64_t HW = (int64_t)x->shape[1] * x->shape[2];
    const float inv = 1.0f / (float)HW;
    const float *dy = n->out->grad;
    float *dx = x->grad;
    TG_OMP_FOR(x->size)
    for (int b = 0; b < B; b++)
        for (int64_t p = 0; p < HW; p++) {
            /* y = (1/HW) Σ_p x[p]  =>  dx[b, p, c] += dy[b, c] / HW */
            float *d = dx + ((int64_t)b * HW + p) * C;
            for (int c = 0; c < C; c++) d[c] += dy[(int64_t)b * C + c] * inv;
        }
}
