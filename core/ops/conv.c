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
 * read it, in (ky, kx) order).
 *
 * Threads: the images are cut into chunks of a fixed size (about
 * CONV_CHUNK_ROWS output pixels, whole images, independent of the thread
 * count), and one OpenMP loop over the chunks does all the work of a pass:
 * each chunk is an im2col into its thread's own buffer and single-threaded
 * tg_sgemm calls on its own rows of y (forward) or dx (backward).  One
 * parallel region per pass instead of several per chunk matters on a
 * loaded 2-core machine, where every barrier may wait for a descheduled
 * thread, and the dynamic schedule lets a running thread take the chunks
 * of a stalled one.  dw and db are sums over all images: each chunk writes
 * its own partial sum, and the partials are then added in chunk order
 * (parallel over the elements of dw) — a fixed reduction tree that does
 * not depend on the thread count, so neither does any result.  cols is not
 * saved: the backward rebuilds it, trading one cheap copy for the memory
 * of K/C_out outputs.
 */
#include <limits.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "core/kernels/sgemm.h"
#include "core/ops/internal.h"

/* Output pixels per chunk of images (rounded down to whole images, >= 1
 * image), and a bound on one chunk's im2col buffer (floats). */
#define CONV_CHUNK_ROWS 256
#define CONV_CHUNK_FLOATS (1 << 21)
/* Elements of dw per task of the partial-sum loop. */
#define CONV_SUM_BLOCK 1024

typedef struct {
    int B, H, W, C;         /* x */
    int O, kh, kw;          /* w */
    int Ho, Wo, stride, pad;
    int K;                  /* kh·kw·C */
    int nb, n_chunks;       /* images per chunk, number of chunks */
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
    int64_t per = (int64_t)g.Ho * g.Wo, nb = CONV_CHUNK_ROWS / per;
    if (nb * per * g.K > CONV_CHUNK_FLOATS) nb = CONV_CHUNK_FLOATS / (per * g.K);
    if (nb < 1) nb = 1;
    g.nb = nb < g.B ? (int)nb : g.B;
    g.n_chunks = (g.B + g.nb - 1) / g.nb;
    return g;
}

/* 1×1, stride 1, no padding: cols is x itself. */
static int is_pointwise(const conv_geom *g) {
    return g->kh == 1 && g->kw == 1 && g->stride == 1 && g->pad == 0;
}

/* Chunk ch: its first image, image count and output rows. */
static void chunk_of(const conv_geom *g, int ch, int *b0, int *n_img, int *rows) {
    *b0 = ch * g->nb;
    *n_img = g->B - *b0 < g->nb ? g->B - *b0 : g->nb;
    *rows = *n_img * g->Ho * g->Wo;
}

static size_t chunk_floats(const conv_geom *g) { return (size_t)g->nb * g->Ho * g->Wo * g->K; }

static int thread_id(void) {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/* Per-thread scratch of `floats` each on the tape (threads that may run a
 * parallel loop). */
static float *thread_scratch(tg_tape *tp, size_t floats) {
#ifdef _OPENMP
    size_t nt = (size_t)omp_get_max_threads();
#else
    size_t nt = 1;
#endif
    return tg_tape_alloc(tp, nt * floats * sizeof(float));
}

/* The loop over chunks: parallel (dynamic: whoever is running takes the
 * next chunk) when the layer is large enough. */
#ifdef _OPENMP
#define CONV_OMP_CHUNKS(work) TG_PRAGMA(omp parallel for schedule(dynamic, 1) if ((work) >= TG_PAR_MIN))
#else
#define CONV_OMP_CHUNKS(work)
#endif

/* cols[m, (ky·kw + kx)·C + c] = x[b0 + b, oy·s − pad + ky, ox·s − pad + kx, c]
 * for the nb images from b0; m = (b·Ho + oy)·Wo + ox. */
static void im2col(const conv_geom *g, const float *x, int b0, int nb, float *cols) {
    int64_t rows = (int64_t)nb * g->Ho * g->Wo, K = g->K, C = g->C;
    int64_t img = (int64_t)g->H * g->W * C;
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
 * A gather: every dx element sums its terms in (ky, kx) order. */
static void col2im(const conv_geom *g, const float *dcols, int b0, int nb, float *dx) {
    int64_t K = g->K, C = g->C, rows = (int64_t)nb * g->H;
    int64_t img = (int64_t)g->H * g->W * C;
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
    TG_CHECK((int64_t)g.B * g.Ho * g.Wo <= INT_MAX && (int64_t)g.Ho * g.Wo * g.K <= INT_MAX,
             "tg_conv2d", "x %s with weight %s is too large for tg_sgemm's int sizes",
             TG_SHAPE_STR(x), TG_SHAPE_STR(w));
    tg_tensor *out = tg__out(tp, 4, (const int[]){g.B, g.Ho, g.Wo, g.O});
    int pointwise = is_pointwise(&g);
    size_t cf = chunk_floats(&g);
    float *scratch = pointwise ? NULL : thread_scratch(tp, cf);
    const float *xd = x->data, *wd = w->data, *bb = b ? b->data : NULL;
    float *y = out->data;
    CONV_OMP_CHUNKS(out->size * (int64_t)g.K)
    for (int ch = 0; ch < g.n_chunks; ch++) {
        int b0, n_img, Mc;
        chunk_of(&g, ch, &b0, &n_img, &Mc);
        const float *a = xd + (int64_t)b0 * g.H * g.W * g.C;
        if (!pointwise) {
            float *cols = scratch + (size_t)thread_id() * cf;
            im2col(&g, xd, b0, n_img, cols);
            a = cols;
        }
        /* y[Mc, O] = cols[Mc, K] · w[O, K]ᵀ (+ bias per row) */
        float *yc = y + (int64_t)b0 * g.Ho * g.Wo * g.O;
        tg_sgemm(0, 1, Mc, g.O, g.K, 1.0f, a, g.K, wd, g.K, 0.0f, yc, g.O);
        if (bb)
            for (int64_t m = 0; m < Mc; m++)
                for (int o = 0; o < g.O; o++) yc[m * g.O + o] += bb[o];
    }
    tg_tensor *in[3] = {x, w, b};
    tg_node *n = tg__record(tp, TG_OP_conv2d, out, b ? 3 : 2, in);
    if (n) *(conv_ctx *)tg__node_ctx(tp, n, sizeof(conv_ctx)) = (conv_ctx){stride, padding};
    return out;
}

void tg__conv2d_bwd(tg_tape *tp, tg_node *n) {
    const conv_ctx *c = n->ctx;
    tg_tensor *x = n->in[0], *w = n->in[1], *b = n->n_in > 2 ? n->in[2] : NULL;
    conv_geom g = geom_of(x, w, c->stride, c->pad);
    const float *dy = n->out->grad, *xd = x->data, *wd = w->data;
    int pointwise = is_pointwise(&g), O = g.O, K = g.K;
    size_t cf = chunk_floats(&g), OK = (size_t)O * K;
    float *dx = x->grad;
    int need_w = w->grad != NULL, need_b = b && b->grad;
    /* per-thread cols (for dw) and dcols (for dx); per-chunk partial dw, db */
    float *cols = !pointwise && need_w ? thread_scratch(tp, cf) : NULL;
    float *dcols = !pointwise && dx ? thread_scratch(tp, cf) : NULL;
    float *pdw = need_w ? tg_tape_alloc(tp, (size_t)g.n_chunks * OK * sizeof(float)) : NULL;
    float *pdb = need_b ? tg_tape_alloc(tp, (size_t)g.n_chunks * O * sizeof(float)) : NULL;
    CONV_OMP_CHUNKS(n->out->size * (int64_t)K)
    for (int ch = 0; ch < g.n_chunks; ch++) {
        int b0, n_img, Mc;
        chunk_of(&g, ch, &b0, &n_img, &Mc);
        const float *dyc = dy + (int64_t)b0 * g.Ho * g.Wo * O;
        int64_t x_off = (int64_t)b0 * g.H * g.W * g.C;
        int t = thread_id();
        if (need_w) {
            const float *a = xd + x_off;
            if (!pointwise) {
                im2col(&g, xd, b0, n_img, cols + (size_t)t * cf);
                a = cols + (size_t)t * cf;
            }
            /* y = cols·wᵀ  =>  dw[O, K] = Σ_chunks dy[Mc, O]ᵀ · cols[Mc, K] */
            tg_sgemm(1, 0, O, K, Mc, 1.0f, dyc, O, a, K, 0.0f, pdw + (size_t)ch * OK, K);
        }
        if (need_b) { /* y = ... + bias  =>  db[o] = Σ_chunks Σ_m dy[m, o], rows in order */
            float *p = pdb + (size_t)ch * O;
            for (int o = 0; o < O; o++) p[o] = 0.0f;
            for (int64_t m = 0; m < Mc; m++)
                for (int o = 0; o < O; o++) p[o] += dyc[m * O + o];
        }
        if (dx) {
            /*          =>  dcols[Mc, K] = dy[Mc, O] · w[O, K];  dx += col2im(dcols) */
            if (pointwise) {
                tg_sgemm(0, 0, Mc, K, O, 1.0f, dyc, O, wd, K, 1.0f, dx + x_off, K);
            } else {
                float *d = dcols + (size_t)t * cf;
                tg_sgemm(0, 0, Mc, K, O, 1.0f, dyc, O, wd, K, 0.0f, d, K);
                col2im(&g, d, b0, n_img, dx);
            }
        }
    }
    /* the partial sums, added in chunk order for every element */
    if (need_w) { /* in blocks of elements, each block's partials row after row */
        float *dw = w->grad;
        int64_t nOK = (int64_t)OK, nblk = (nOK + CONV_SUM_BLOCK - 1) / CONV_SUM_BLOCK;
        TG_OMP_FOR(nOK * g.n_chunks)
        for (int64_t blk = 0; blk < nblk; blk++) {
            int64_t i0 = blk * CONV_SUM_BLOCK, i1 = i0 + CONV_SUM_BLOCK < nOK ? i0 + CONV_SUM_BLOCK : nOK;
            for (int ch = 0; ch < g.n_chunks; ch++) {
                const float *p = pdw + (size_t)ch * OK;
                for (int64_t i = i0; i < i1; i++) dw[i] += p[i];
            }
        }
    }
    if (need_b)
        for (int o = 0; o < O; o++) {
            float s = b->grad[o];
            for (int ch = 0; ch < g.n_chunks; ch++) s += pdb[(size_t)ch * O + o];
            b->grad[o] = s;
        }
}
