/* core/ops/conv.c — 2-D convolution (cross-correlation, as torch's
 * nn.Conv2d) over channels-last images, with stride, zero padding and an
 * optional bias.  Derivation: docs/derivations/conv2d.md.
 *
 * Layout (the project's image layout, docs/data.md):
 *   x [B, H, W, C_in],  w [C_out, kh, kw, C_in],  b [C_out] or NULL
 *   -> y [B, Ho, Wo, C_out],  Ho = (H + 2·pad − kh)/stride + 1 (floor), Wo alike.
 *   y[b, oy, ox, o] = b[o] + Σ_{ky, kx, c} x[b, oy·s − pad + ky, ox·s − pad + kx, c]
 *                                          · w[o, ky, kx, c]
 * with x = 0 outside the image (zero padding).  torch's nn.Conv2d weight is
 * [C_out, C_in, kh, kw]; ours is its permute(0, 2, 3, 1) (docs/layers.md).
 *
 * The computation is im2col + one GEMM: each output pixel m = (b, oy, ox)
 * gets the row cols[m, (ky·kw + kx)·C_in + c] = x[b, iy, ix, c] (0 in the
 * padding), K = kh·kw·C_in, and y[M, C_out] = cols[M, K] · w[C_out, K]ᵀ — w
 * read as [C_out, K] is exactly our layout, so no weight shuffle is needed.
 * With channels last, one kernel row (kx = 0 … kw−1) of one patch is kw·C_in
 * contiguous floats of x: a single memcpy when it lies inside the image.
 * Backward (derivation, §3):
 *   dw[C_out, K] += dyᵀ[C_out, M] · cols[M, K]
 *   dcols[M, K]   = dy[M, C_out] · w[C_out, K],   dx = col2im(dcols)
 *   db[o]        += Σ_m dy[m, o]
 * col2im is written as a gather (each dx pixel sums the dcols entries that
 * read it, in (ky, kx) order), so it is parallel over dx rows without two
 * threads ever writing one place.  The images are processed in chunks so
 * cols never exceeds CONV_CHUNK_FLOATS (it is not saved: the backward
 * rebuilds it, trading one cheap copy for the memory of K/C_out outputs).
 * Chunks run in order and dw accumulates chunk after chunk, so the result
 * does not depend on the thread count (tg_sgemm never splits K either).
 */
#include <limits.h>

#include "core/kernels/sgemm.h"
#include "core/ops/internal.h"

/* Bound on the im2col buffer of one chunk of images (floats). */
#define CONV_CHUNK_FLOATS (1 << 20)

typedef struct {
    int B, H, W, C;         /* x */
    int O, kh, kw;          /* w */
    int Ho, Wo, stride, pad;
    int K;                  /* kh·kw·C */
} conv_geom;

typedef struct {
    int stride, pad;
} conv_ctx;

static conv_geom geom_of(const tg_tensor *x, const tg_tensor *w, int stride, int pad) {
    conv_geom g = {.B = x->shape[0], .H = x->shape[1], .W = x->shape[2], .C = x->shape[3],
                   .O = w->shape[0], .kh = w->shape[1], .kw = w->shape[2],
                   .stride = stride, .pad = pad};
    g.Ho = (g.H + 2 * pad - g.kh) / stride + 1;
    g.Wo = (g.W + 2 * pad - g.kw) / stride + 1;
    g.K = g.kh * g.kw * g.C;
    return g;
}

/* 1×1, stride 1, no padding: cols is x itself. */
static int is_pointwise(const conv_geom *g) {
    return g->kh == 1 && g->kw == 1 && g->stride == 1 && g->pad == 0;
}

/* Images per chunk: as many as keep cols within CONV_CHUNK_FLOATS (>= 1). */
static int chunk_images(const conv_geom *g) {
    int64_t per = (int64_t)g->Ho * g->Wo * g->K;
    int64_t n = CONV_CHUNK_FLOATS / (per > 0 ? per : 1);
    if (n < 1) n = 1;
    return n < g->B ? (int)n : g->B;
}

/* cols[m, (ky·kw + kx)·C + c] = x[b0 + b, oy·s − pad + ky, ox·s − pad + kx, c]
 * for the nb images from b0; m = (b·Ho + oy)·Wo + ox.  Parallel over m. */
static void im2col(const conv_geom *g, const float *x, int b0, int nb, float *cols) {
    int64_t rows = (int64_t)nb * g->Ho * g->Wo, K = g->K, C = g->C;
    int64_t img = (int64_t)g->H * g->W * C;
    TG_OMP_FOR(rows * K)
    for (int64_t m = 0; m < rows; m++) {
        int b = (int)(m / ((int64_t)g->Ho * g->Wo));
        int oy = (int)(m / g->Wo % g->Ho), ox = (int)(m % g->Wo);
        int iy0 = oy * g->stride - g->pad, ix0 = ox * g->stride - g->pad;
        const float *xb = x + (int64_t)(b0 + b) * img;
        float *row = cols + m * K;
        for (int ky = 0; ky < g->kh; ky++) {
            float *dst = row + (int64_t)ky * g->kw * C;
            int iy = iy0 + ky;
            if (iy < 0 || iy >= g->H) {
                memset(dst, 0, (size_t)g->kw * C * sizeof(float));
                continue;
            }
            const float *src = xb + (int64_t)iy * g->W * C;
            if (ix0 >= 0 && ix0 + g->kw <= g->W) { /* the whole kernel row is inside */
                memcpy(dst, src + (int64_t)ix0 * C, (size_t)g->kw * C * sizeof(float));
                continue;
            }
            for (int kx = 0; kx < g->kw; kx++) {
                int ix = ix0 + kx;
                if (ix < 0 || ix >= g->W) memset(dst + (int64_t)kx * C, 0, (size_t)C * sizeof(float));
                else memcpy(dst + (int64_t)kx * C, src + (int64_t)ix * C, (size_t)C * sizeof(float));
            }
        }
    }
}

/* dx[b0 + b, iy, ix, c] += Σ_{ky, kx} dcols[m(oy, ox), (ky·kw + kx)·C + c]
 * over the (oy, ox) whose window reads (iy, ix): iy = oy·s − pad + ky.
 * A gather, parallel over rows (b, iy) of dx. */
static void col2im(const conv_geom *g, const float *dcols, int b0, int nb, float *dx) {
    int64_t K = g->K, C = g->C, rows = (int64_t)nb * g->H;
    int64_t img = (int64_t)g->H * g->W * C;
    TG_OMP_FOR(rows * g->W * C * g->kh * g->kw)
    for (int64_t r = 0; r < rows; r++) {
        int b = (int)(r / g->H), iy = (int)(r % g->H);
        float *dxr = dx + (int64_t)(b0 + b) * img + (int64_t)iy * g->W * C;
        for (int ky = 0; ky < g->kh; ky++) {
            int t = iy + g->pad - ky;
            if (t < 0 || t % g->stride) continue;
            int oy = t / g->stride;
            if (oy >= g->Ho) continue;
            for (int ix = 0; ix < g->W; ix++) {
                float *d = dxr + (int64_t)ix * C;
                for (int kx = 0; kx < g->kw; kx++) {
                    int u = ix + g->pad - kx;
                    if (u < 0 || u % g->stride) continue;
                    int ox = u / g->stride;
                    if (ox >= g->Wo) continue;
                    const float *s = dcols + (((int64_t)b * g->Ho + oy) * g->Wo + ox) * K +
                                     (int64_t)(ky * g->kw + kx) * C;
                    for (int64_t c = 0; c < C; c++) d[c] += s[c];
                }
            }
        }
    }
}

/* y[b, oy, ox, o] = bias[o] + Σ_{ky,kx,c} x[b, oy·s−pad+ky, ox·s−pad+kx, c] · w[o, ky, kx, c]
 * (x = 0 outside the image).  Local derivatives: ∂y[b,oy,ox,o]/∂w[o,ky,kx,c] =
 * x[b, oy·s−pad+ky, ox·s−pad+kx, c]; ∂y/∂x[b,iy,ix,c] = w[o, iy−oy·s+pad,
 * ix−ox·s+pad, c] where that index is inside the kernel; ∂y/∂bias[o] = 1.
 * Saves stride and pad only (the backward rebuilds cols from x). */
tg_tensor *tg_conv2d(tg_tape *tp, tg_tensor *x, tg_tensor *w, tg_tensor *b, int stride,
                     int padding) {
    TG_CHECK_TENSOR("tg_conv2d", x);
    TG_CHECK_TENSOR("tg_conv2d", w);
    TG_CHECK(x->ndim == 4, "tg_conv2d", "x must be [B, H, W, C_in], got %s", TG_SHAPE_STR(x));
    TG_CHECK(w->ndim == 4 && w->shape[3] == x->shape[3], "tg_conv2d",
             "weight must be [C_out, kh, kw, %d] (C_in of x %s), got %s", x->shape[3],
             TG_SHAPE_STR(x), TG_SHAPE_STR(w));
    TG_CHECK(!b || (b->ndim == 1 && b->shape[0] == w->shape[0]), "tg_conv2d",
             "bias must be [%d] (C_out of weight %s), got %s", w->shape[0], TG_SHAPE_STR(w),
             b ? TG_SHAPE_STR(b) : "NULL");
    TG_CHECK(stride >= 1 && padding >= 0, "tg_conv2d",
             "stride must be >= 1 and padding >= 0, got stride %d, padding %d", stride, padding);
    TG_CHECK(x->shape[1] + 2 * padding >= w->shape[1] && x->shape[2] + 2 * padding >= w->shape[2],
             "tg_conv2d", "kernel %dx%d larger than the padded image: x %s, padding %d",
             w->shape[1], w->shape[2], TG_SHAPE_STR(x), padding);
    conv_geom g = geom_of(x, w, stride, padding);
    int64_t M = (int64_t)g.B * g.Ho * g.Wo;
    TG_CHECK(M <= INT_MAX && (int64_t)g.Ho * g.Wo * g.K <= INT_MAX, "tg_conv2d",
             "x %s with weight %s is too large for tg_sgemm's int sizes", TG_SHAPE_STR(x),
             TG_SHAPE_STR(w));
    tg_tensor *out = tg__out(tp, 4, (const int[]){g.B, g.Ho, g.Wo, g.O});
    int nb = chunk_images(&g), pointwise = is_pointwise(&g);
    float *cols = pointwise ? NULL : tg_tape_alloc(tp, (size_t)nb * g.Ho * g.Wo * g.K * sizeof(float));
    int64_t per_img = (int64_t)g.Ho * g.Wo;
    for (int b0 = 0; b0 < g.B; b0 += nb) {
        int n_img = g.B - b0 < nb ? g.B - b0 : nb, Mc = (int)(n_img * per_img);
        const float *a = x->data + (int64_t)b0 * g.H * g.W * g.C;
        if (!pointwise) {
            im2col(&g, x->data, b0, n_img, cols);
            a = cols;
        }
        /* y[Mc, O] = cols[Mc, K] · w[O, K]ᵀ */
        tg_sgemm(0, 1, Mc, g.O, g.K, 1.0f, a, g.K, w->data, g.K, 0.0f,
                 out->data + (int64_t)b0 * per_img * g.O, g.O);
    }
    if (b) {
        const float *bb = b->data;
        float *y = out->data;
        int O = g.O;
        TG_OMP_FOR(out->size)
        for (int64_t m = 0; m < M; m++)
            for (int o = 0; o < O; o++) y[m * O + o] += bb[o];
    }
    tg_tensor *in[3] = {x, w, b};
    tg_node *n = tg__record(tp, TG_OP_conv2d, out, b ? 3 : 2, in);
    if (n) *(conv_ctx *)tg__node_ctx(tp, n, sizeof(conv_ctx)) = (conv_ctx){stride, padding};
    return out;
}

/* Output channels per block of the db reduction. */
#define CONV_CBLOCK 64

void tg__conv2d_bwd(tg_tape *tp, tg_node *n) {
    const conv_ctx *c = n->ctx;
    tg_tensor *x = n->in[0], *w = n->in[1], *b = n->n_in > 2 ? n->in[2] : NULL;
    conv_geom g = geom_of(x, w, c->stride, c->pad);
    const float *dy = n->out->grad;
    int64_t per_img = (int64_t)g.Ho * g.Wo;
    int nb = chunk_images(&g), pointwise = is_pointwise(&g);
    size_t chunk_bytes = (size_t)nb * per_img * g.K * sizeof(float);
    float *cols = !pointwise && w->grad ? tg_tape_alloc(tp, chunk_bytes) : NULL;
    float *dcols = !pointwise && x->grad ? tg_tape_alloc(tp, chunk_bytes) : NULL;
    for (int b0 = 0; b0 < g.B; b0 += nb) {
        int n_img = g.B - b0 < nb ? g.B - b0 : nb, Mc = (int)(n_img * per_img);
        const float *dyc = dy + (int64_t)b0 * per_img * g.O;
        int64_t x_off = (int64_t)b0 * g.H * g.W * g.C;
        if (w->grad) {
            const float *a = x->data + x_off;
            if (!pointwise) {
                im2col(&g, x->data, b0, n_img, cols);
                a = cols;
            }
            /* y = cols·wᵀ  =>  dw[O, K] += dy[Mc, O]ᵀ · cols[Mc, K] */
            tg_sgemm(1, 0, g.O, g.K, Mc, 1.0f, dyc, g.O, a, g.K, 1.0f, w->grad, g.K);
        }
        if (x->grad) {
            /*          =>  dcols[Mc, K] = dy[Mc, O] · w[O, K];  dx += col2im(dcols) */
            if (pointwise)
                tg_sgemm(0, 0, Mc, g.K, g.O, 1.0f, dyc, g.O, w->data, g.K, 1.0f,
                         x->grad + x_off, g.K);
            else {
                tg_sgemm(0, 0, Mc, g.K, g.O, 1.0f, dyc, g.O, w->data, g.K, 0.0f, dcols, g.K);
                col2im(&g, dcols, b0, n_img, x->grad);
            }
        }
    }
    if (b && b->grad) {
        float *db = b->grad;
        int O = g.O, nblk = (O + CONV_CBLOCK - 1) / CONV_CBLOCK;
        int64_t M = (int64_t)g.B * per_img;
        TG_OMP_FOR(n->out->size)
        for (int blk = 0; blk < nblk; blk++) {
            int o0 = blk * CONV_CBLOCK, o1 = o0 + CONV_CBLOCK < O ? o0 + CONV_CBLOCK : O;
            /* y = ... + bias  =>  db[o] += Σ_m dy[m, o], rows in order */
            for (int64_t m = 0; m < M; m++)
                for (int o = o0; o < o1; o++) db[o] += dy[m * O + o];
        }
    }
}
