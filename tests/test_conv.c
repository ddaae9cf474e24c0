/* tests/test_conv.c — conv2d, max_pool2d, avg_pool2d, global_avg_pool2d,
 * batchnorm: forward values against direct loops, gradient checks on many
 * shapes (strides 1 and 2, padding 0/1/2, odd and non-square sizes,
 * C_in = 1, batch 1, several chunks of images), batch-norm in training and
 * evaluation mode with its running statistics, buffers in tg_params,
 * thread-count independence, and the error messages. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tests/helpers/testutil.h"

/* ---- direct reference loops ----------------------------------------------- */

typedef struct {
    int B, H, W, C, O, kh, kw, s, p, bias;
} conv_case;

static int out_size(int n, int k, int s, int p) { return (n + 2 * p - k) / s + 1; }

/* y = conv(x, w) + b by the definition, in double. */
static void conv_ref(const conv_case *c, const float *x, const float *w, const float *b,
                     float *y) {
    int Ho = out_size(c->H, c->kh, c->s, c->p), Wo = out_size(c->W, c->kw, c->s, c->p);
    for (int n = 0; n < c->B; n++)
        for (int oy = 0; oy < Ho; oy++)
            for (int ox = 0; ox < Wo; ox++)
                for (int o = 0; o < c->O; o++) {
                    double acc = b ? b[o] : 0.0;
                    for (int ky = 0; ky < c->kh; ky++)
                        for (int kx = 0; kx < c->kw; kx++) {
                            int iy = oy * c->s - c->p + ky, ix = ox * c->s - c->p + kx;
                            if (iy < 0 || iy >= c->H || ix < 0 || ix >= c->W) continue;
                            for (int ci = 0; ci < c->C; ci++)
                                acc += (double)x[((n * c->H + iy) * c->W + ix) * c->C + ci] *
                                       w[((o * c->kh + ky) * c->kw + kx) * c->C + ci];
                        }
                    y[((n * Ho + oy) * Wo + ox) * c->O + o] = (float)acc;
                }
}

/* dx and dw of L = Σ dy·y by the definition (double accumulation). */
static void conv_ref_bwd(const conv_case *c, const float *x, const float *w, const float *dy,
                         double *dx, double *dw) {
    int Ho = out_size(c->H, c->kh, c->s, c->p), Wo = out_size(c->W, c->kw, c->s, c->p);
    for (int n = 0; n < c->B; n++)
        for (int oy = 0; oy < Ho; oy++)
            for (int ox = 0; ox < Wo; ox++)
                for (int o = 0; o < c->O; o++) {
                    double g = dy[((n * Ho + oy) * Wo + ox) * c->O + o];
                    for (int ky = 0; ky < c->kh; ky++)
                        for (int kx = 0; kx < c->kw; kx++) {
                            int iy = oy * c->s - c->p + ky, ix = ox * c->s - c->p + kx;
                            if (iy < 0 || iy >= c->H || ix < 0 || ix >= c->W) continue;
                            for (int ci = 0; ci < c->C; ci++) {
                                int64_t xi = ((int64_t)(n * c->H + iy) * c->W + ix) * c->C + ci;
                                int64_t wi = ((int64_t)(o * c->kh + ky) * c->kw + kx) * c->C + ci;
                                dx[xi] += g * w[wi];
                                dw[wi] += g * x[xi];
                            }
                        }
                }
}

static const conv_case conv_cases[] = {
    /* B  H  W  C  O kh kw s p bias */
    {1, 5, 5, 1, 2, 3, 3, 1, 1, 1},  /* C_in = 1, batch 1, "same" padding */
    {2, 7, 6, 3, 4, 3, 3, 2, 1, 1},  /* stride 2, odd and non-square image */
    {2, 6, 5, 2, 3, 3, 3, 1, 0, 0},  /* no padding, no bias */
    {1, 5, 7, 2, 2, 3, 3, 1, 2, 1},  /* padding 2 (outputs wider than the image) */
    {2, 5, 4, 2, 3, 3, 2, 2, 2, 1},  /* non-square kernel, stride 2, padding 2 */
    {2, 4, 4, 3, 2, 1, 1, 1, 0, 1},  /* 1×1 (pointwise: no im2col) */
    {1, 6, 6, 2, 3, 2, 2, 2, 0, 1},  /* kernel = stride: patches */
    {1, 9, 8, 1, 1, 5, 5, 2, 2, 0},  /* 5×5 kernel */
    {3, 3, 3, 2, 2, 3, 3, 2, 0, 1},  /* a single output pixel */
};

/* ---- conv2d --------------------------------------------------------------- */

static void test_conv_values(void **state) {
    (void)state;
    tg_rng rng;
    tg_rng_seed(&rng, 1);
    for (size_t i = 0; i < sizeof conv_cases / sizeof conv_cases[0]; i++) {
        const conv_case *c = &conv_cases[i];
        tg_tensor *x = tu_randn(&rng, TG_SHAPE(c->B, c->H, c->W, c->C));
        tg_tensor *w = tu_randn(&rng, TG_SHAPE(c->O, c->kh, c->kw, c->C));
        tg_tensor *b = c->bias ? tu_randn(&rng, TG_SHAPE(c->O)) : NULL;
        tg_tape *tp = tg_tape_new(0);
        tg_tensor *y = tg_conv2d(tp, x, w, b, c->s, c->p);
        int Ho = out_size(c->H, c->kh, c->s, c->p), Wo = out_size(c->W, c->kw, c->s, c->p);
        assert_int_equal(y->ndim, 4);
        assert_int_equal(y->shape[1], Ho);
        assert_int_equal(y->shape[2], Wo);
        assert_int_equal(y->shape[3], c->O);
        float *ref = malloc((size_t)y->size * sizeof(float));
        conv_ref(c, x->data, w->data, b ? b->data : NULL, ref);
        double d = tu_max_abs_diff(y->data, ref, y->size);
        if (d > 1e-5) fail_msg("conv case %zu: max |y - ref| = %g", i, d);
        free(ref);
        tg_tape_free(tp);
        tg_tensor_free(x), tg_tensor_free(w), tg_tensor_free(b);
    }
}

typedef struct {
    int s, p;
} conv_user;

static tg_tensor *f_conv(tg_tape *tp, tg_tensor *const *x, int n, void *user) {
    const conv_user *u = user;
    return tg_conv2d(tp, x[0], x[1], n > 2 ? x[2] : NULL, u->s, u->p);
}

/* conv2d is linear in each input, so central differences have no truncation
 * error and a large step only shrinks the rounding error of L (outputs of
 * size ~√K summed over ~100 outputs, divided by 2h). */
static const tg_gradcheck_opts linear_opts = {.h = 5e-2, .tol = 1e-2, .floor = 1e-2,
                                              .max_per_input = 256, .seed = 1};

static void test_conv_grad(void **state) {
    (void)state;
    tg_rng rng;
    tg_rng_seed(&rng, 2);
    for (size_t i = 0; i < sizeof conv_cases / sizeof conv_cases[0]; i++) {
        const conv_case *c = &conv_cases[i];
        tg_tensor *in[3] = {tu_randn_grad(&rng, TG_SHAPE(c->B, c->H, c->W, c->C)),
                            tu_randn_grad(&rng, TG_SHAPE(c->O, c->kh, c->kw, c->C)),
                            c->bias ? tu_randn_grad(&rng, TG_SHAPE(c->O)) : NULL};
        char name[160];
        snprintf(name, sizeof name, "conv2d x [%d, %d, %d, %d] w [%d, %d, %d, %d] s %d p %d%s",
                 c->B, c->H, c->W, c->C, c->O, c->kh, c->kw, c->C, c->s, c->p,
                 c->bias ? " bias" : "");
        conv_user u = {c->s, c->p};
        TU_GRADCHECK(name, f_conv, c->bias ? 3 : 2, in, &u, &linear_opts);
        for (int k = 0; k < 3; k++) tg_tensor_free(in[k]);
    }
}

/* A large conv (several chunks of images, every loop above TG_PAR_MIN):
 * forward and backward against the direct loops, and bit-identical results
 * with 1 and 2 threads. */
static const conv_case big = {6, 32, 30, 24, 16, 3, 3, 1, 1, 1};

static void run_big_conv(int threads, float *y, float *dx, float *dw, float *db) {
    tg_set_num_threads(threads);
    const conv_case *c = &big;
    tg_rng rng;
    tg_rng_seed(&rng, 5);
    tg_tensor *x = tu_randn_grad(&rng, TG_SHAPE(c->B, c->H, c->W, c->C));
    tg_tensor *w = tu_randn_grad(&rng, TG_SHAPE(c->O, c->kh, c->kw, c->C));
    tg_tensor *b = tu_randn_grad(&rng, TG_SHAPE(c->O));
    tg_tape *tp = tg_tape_new(0);
    tg_tensor *out = tg_conv2d(tp, x, w, b, c->s, c->p);
    float *seed = malloc((size_t)out->size * sizeof(float));
    for (int64_t i = 0; i < out->size; i++) seed[i] = (float)((i * 7919) % 13) / 13.0f - 0.5f;
    assert_int_equal(tg_backward_seeded(tp, out, seed), TG_OK);
    memcpy(y, out->data, (size_t)out->size * sizeof(float));
    memcpy(dx, x->grad, (size_t)x->size * sizeof(float));
    memcpy(dw, w->grad, (size_t)w->size * sizeof(float));
    memcpy(db, b->grad, (size_t)b->size * sizeof(float));
    if (threads == 1) { /* against the definition */
        float *ref = malloc((size_t)out->size * sizeof(float));
        conv_ref(c, x->data, w->data, b->data, ref);
        assert_true(tu_max_abs_diff(out->data, ref, out->size) < 1e-4);
        double *rdx = calloc((size_t)x->size, sizeof(double)),
               *rdw = calloc((size_t)w->size, sizeof(double));
        conv_ref_bwd(c, x->data, w->data, seed, rdx, rdw);
        for (int64_t i = 0; i < x->size; i++) assert_true(fabs(dx[i] - rdx[i]) < 1e-4);
        for (int64_t i = 0; i < w->size; i++)
            assert_true(fabs(dw[i] - rdw[i]) < 1e-3 * (1.0 + fabs(rdw[i])));
        free(ref), free(rdx), free(rdw);
    }
    free(seed);
    tg_tape_free(tp);
    tg_tensor_free(x), tg_tensor_free(w), tg_tensor_free(b);
}

static void test_conv_big_threads(void **state) {
    (void)state;
    int old = tg_get_num_threads();
    const conv_case *c = &big;
    size_t ny = (size_t)c->B * c->H * c->W * c->O, nx = (size_t)c->B * c->H * c->W * c->C,
           nw = (size_t)c->O * c->kh * c->kw * c->C;
    float *y1 = malloc(ny * 4), *y2 = malloc(ny * 4), *x1 = malloc(nx * 4), *x2 = malloc(nx * 4),
          *w1 = malloc(nw * 4), *w2 = malloc(nw * 4), b1[16], b2[16];
    run_big_conv(1, y1, x1, w1, b1);
    run_big_conv(2, y2, x2, w2, b2);
    tg_set_num_threads(old);
    assert_memory_equal(y1, y2, ny * 4);
    assert_memory_equal(x1, x2, nx * 4);
    assert_memory_equal(w1, w2, nw * 4);
    assert_memory_equal(b1, b2, sizeof b1);
    free(y1), free(y2), free(x1), free(x2), free(w1), free(w2);
}

/* kernel = stride = P, no padding: the patch embedding (patchify + Linear),
 * whose weight [d, P·P·C] is ours [d, P, P, C] flattened. */
static void test_conv_is_patch_embedding(void **state) {
    (void)state;
    tg_rng rng;
    tg_rng_seed(&rng, 3);
    int B = 2, H = 8, W = 12, C = 3, P = 4, D = 5;
    tg_tensor *x = tu_randn(&rng, TG_SHAPE(B, H, W, C));
    tg_tensor *w = tu_randn(&rng, TG_SHAPE(D, P, P, C)), *b = tu_randn(&rng, TG_SHAPE(D));
    tg_tape *tp = tg_tape_new(0);
    tg_tensor *y = tg_conv2d(tp, x, w, b, P, 0);
    tg_tensor *w2 = tg_reshape(tp, w, TG_SHAPE(D, P * P * C));
    tg_tensor *z = tg_affine(tp, tg_patchify(tp, x, P), w2, b); /* [B, N, D] */
    assert_int_equal(y->size, z->size);
    assert_true(tu_max_abs_diff(y->data, z->data, y->size) < 1e-5);
    tg_tape_free(tp);
    tg_tensor_free(x), tg_tensor_free(w), tg_tensor_free(b);
}

/* ---- pooling -------------------------------------------------------------- */

typedef struct {
    int B, H, W, C, k, s;
} pool_case;

static const pool_case pool_cases[] = {
    {2, 4, 4, 3, 2, 2}, /* the usual 2×2 / 2 */
    {1, 5, 7, 2, 3, 2}, /* overlapping windows, odd non-square image */
    {2, 6, 5, 1, 2, 1}, /* stride 1, C = 1 */
    {1, 3, 3, 1, 3, 3}, /* one window */
    {2, 7, 7, 2, 2, 2}, /* odd size: the last row and column are dropped */
};

/* Distinct values spaced by 0.05 in random order: no ties within 2h. */
static tg_tensor *distinct_grad(tg_rng *rng, int ndim, const int *shape) {
    tg_tensor *t = tg_tensor_new_grad(ndim, shape);
    for (int64_t i = 0; i < t->size; i++) t->data[i] = 0.05f * (float)(i - t->size / 2);
    for (int64_t i = t->size - 1; i > 0; i--) {
        int64_t j = tg_rng_below(rng, (uint32_t)(i + 1));
        float v = t->data[i];
        t->data[i] = t->data[j], t->data[j] = v;
    }
    return t;
}

static void pool_ref(const pool_case *c, const float *x, int is_max, float *y) {
    int Ho = (c->H - c->k) / c->s + 1, Wo = (c->W - c->k) / c->s + 1;
    for (int b = 0; b < c->B; b++)
        for (int oy = 0; oy < Ho; oy++)
            for (int ox = 0; ox < Wo; ox++)
                for (int ch = 0; ch < c->C; ch++) {
                    double acc = is_max ? -INFINITY : 0.0;
                    for (int ky = 0; ky < c->k; ky++)
                        for (int kx = 0; kx < c->k; kx++) {
                            double v = x[((b * c->H + oy * c->s + ky) * c->W + ox * c->s + kx) *
                                             c->C + ch];
                            acc = is_max ? fmax(acc, v) : acc + v;
                        }
                    y[((b * Ho + oy) * Wo + ox) * c->C + ch] =
                        (float)(is_max ? acc : acc / (c->k * c->k));
                }
}

typedef struct {
    int k, s, is_max;
} pool_user;

static tg_tensor *f_pool(tg_tape *tp, tg_tensor *const *x, int n, void *user) {
    (void)n;
    const pool_user *u = user;
    return u->is_max ? tg_max_pool2d(tp, x[0], u->k, u->s) : tg_avg_pool2d(tp, x[0], u->k, u->s);
}

static void test_pool(void **state) {
    (void)state;
    tg_rng rng;
    tg_rng_seed(&rng, 4);
    for (size_t i = 0; i < sizeof pool_cases / sizeof pool_cases[0]; i++)
        for (int is_max = 0; is_max < 2; is_max++) {
            const pool_case *c = &pool_cases[i];
            tg_tensor *x = distinct_grad(&rng, TG_SHAPE(c->B, c->H, c->W, c->C));
            tg_tape *tp = tg_tape_new(0);
            pool_user u = {c->k, c->s, is_max};
            tg_tensor *y = f_pool(tp, &x, 1, &u);
            assert_int_equal(y->shape[1], (c->H - c->k) / c->s + 1);
            assert_int_equal(y->shape[2], (c->W - c->k) / c->s + 1);
            float *ref = malloc((size_t)y->size * sizeof(float));
            pool_ref(c, x->data, is_max, ref);
            assert_true(tu_max_abs_diff(y->data, ref, y->size) < 1e-6);
            free(ref);
            tg_tape_free(tp);
            char name[128];
            snprintf(name, sizeof name, "%s_pool2d x [%d, %d, %d, %d] k %d s %d",
                     is_max ? "max" : "avg", c->B, c->H, c->W, c->C, c->k, c->s);
            TU_GRADCHECK(name, f_pool, 1, &x, &u, NULL);
            tg_tensor_free(x);
        }
}

/* Ties: the whole gradient goes to the first maximal element of the window. */
static void test_max_pool_ties(void **state) {
    (void)state;
    tg_tensor *x = tg_tensor_new_grad(TG_SHAPE(1, 2, 2, 1));
    tg_tensor_fill(x, 1.0f);
    tg_tape *tp = tg_tape_new(0);
    tg_tensor *y = tg_max_pool2d(tp, x, 2, 2);
    assert_int_equal(tg_backward(tp, tg_sum(tp, y)), TG_OK);
    assert_true(x->grad[0] == 1.0f && x->grad[1] == 0.0f && x->grad[2] == 0.0f &&
                x->grad[3] == 0.0f);
    tg_tape_free(tp);
    tg_tensor_free(x);
}

static tg_tensor *f_gap(tg_tape *tp, tg_tensor *const *x, int n, void *user) {
    (void)n, (void)user;
    return tg_global_avg_pool2d(tp, x[0]);
}

static void test_global_avg_pool(void **state) {
    (void)state;
    tg_rng rng;
    tg_rng_seed(&rng, 6);
    static const int shapes[][4] = {{2, 3, 5, 4}, {1, 1, 1, 3}, {3, 4, 4, 1}};
    for (int i = 0; i < 3; i++) {
        const int *s = shapes[i];
        tg_tensor *x = tu_randn_grad(&rng, 4, s);
        tg_tape *tp = tg_tape_new(0);
        tg_tensor *y = tg_global_avg_pool2d(tp, x);
        assert_int_equal(y->ndim, 2);
        assert_int_equal(y->shape[0], s[0]);
        assert_int_equal(y->shape[1], s[3]);
        for (int b = 0; b < s[0]; b++)
            for (int c = 0; c < s[3]; c++) {
                double acc = 0.0;
                for (int p = 0; p < s[1] * s[2]; p++) acc += x->data[(b * s[1] * s[2] + p) * s[3] + c];
                assert_true(fabs(y->data[b * s[3] + c] - acc / (s[1] * s[2])) < 1e-6);
            }
        tg_tape_free(tp);
        char name[96];
        snprintf(name, sizeof name, "global_avg_pool2d x [%d, %d, %d, %d]", s[0], s[1], s[2], s[3]);
        TU_GRADCHECK(name, f_gap, 1, &x, NULL, NULL);
        tg_tensor_free(x);
    }
}

/* ---- batch normalisation -------------------------------------------------- */

/* Smooth op with O(1) outputs: h = 1e-2 (see test_ops_b.c). */
static const tg_gradcheck_opts smooth_opts = {.h = 1e-2, .tol = 1e-2, .floor = 1e-2,
                                              .max_per_input = 256, .seed = 1};

typedef struct {
    int training;
    tg_tensor *rm, *rv;
} bn_user;

static tg_tensor *f_bn(tg_tape *tp, tg_tensor *const *x, int n, void *user) {
    const bn_user *u = user;
    tg_tape_set_training(tp, u->training);
    return tg_batchnorm(tp, x[0], n > 1 ? x[1] : NULL, n > 2 ? x[2] : NULL, u->rm, u->rv, 0.1f,
                        1e-5f);
}

static void test_batchnorm_train_values(void **state) {
    (void)state;
    tg_rng rng;
    tg_rng_seed(&rng, 7);
    int B = 4, H = 3, W = 5, C = 3;
    int64_t N = (int64_t)B * H * W;
    tg_tensor *x = tu_randn(&rng, TG_SHAPE(B, H, W, C));
    for (int64_t i = 0; i < x->size; i++) x->data[i] = 2.0f * x->data[i] + (float)(i % C);
    tg_tensor *g = tu_randn(&rng, TG_SHAPE(C)), *b = tu_randn(&rng, TG_SHAPE(C));
    tg_tensor *rm = tg_tensor_new(TG_SHAPE(C)), *rv = tg_tensor_new(TG_SHAPE(C));
    tg_tensor_fill(rv, 1.0f);
    tg_tape *tp = tg_tape_new(0);
    tg_tensor *y = tg_batchnorm(tp, x, g, b, rm, rv, 0.1f, 1e-5f);
    for (int c = 0; c < C; c++) {
        double m = 0, v = 0, ym = 0, yv = 0;
        for (int64_t n = 0; n < N; n++) m += x->data[n * C + c];
        m /= N;
        for (int64_t n = 0; n < N; n++) v += (x->data[n * C + c] - m) * (x->data[n * C + c] - m);
        v /= N;
        for (int64_t n = 0; n < N; n++) {
            double want = (x->data[n * C + c] - m) / sqrt(v + 1e-5) * g->data[c] + b->data[c];
            assert_true(fabs(y->data[n * C + c] - want) < 1e-4);
            ym += y->data[n * C + c];
        }
        ym /= N;
        for (int64_t n = 0; n < N; n++) yv += (y->data[n * C + c] - ym) * (y->data[n * C + c] - ym);
        /* the output has mean β and std |γ| per channel */
        assert_true(fabs(ym - b->data[c]) < 1e-4);
        assert_true(fabs(sqrt(yv / N) - fabs(g->data[c])) < 1e-3);
        /* torch: running ← 0.9·running + 0.1·stat, the variance unbiased */
        assert_true(fabs(rm->data[c] - 0.1 * m) < 1e-5);
        assert_true(fabs(rv->data[c] - (0.9 + 0.1 * v * N / (N - 1))) < 1e-5);
    }
    /* evaluation: the running statistics, and they stay as they are */
    float rm0 = rm->data[1], rv0 = rv->data[1];
    tg_tape_set_training(tp, 0);
    y = tg_batchnorm(tp, x, g, b, rm, rv, 0.1f, 1e-5f);
    for (int64_t n = 0; n < N; n++) {
        int c = (int)(n % C);
        double want = (x->data[n] - rm->data[c]) / sqrt(rv->data[c] + 1e-5) * g->data[c] + b->data[c];
        assert_true(fabs(y->data[n] - want) < 1e-4);
    }
    assert_true(rm->data[1] == rm0 && rv->data[1] == rv0);
    tg_tape_free(tp);
    tg_tensor_free(x), tg_tensor_free(g), tg_tensor_free(b), tg_tensor_free(rm), tg_tensor_free(rv);
}

static void test_batchnorm_grad(void **state) {
    (void)state;
    tg_rng rng;
    tg_rng_seed(&rng, 8);
    static const int shapes[][4] = {{4, 3, 3, 2}, {2, 5, 3, 1}, {1, 2, 3, 4}, {6, 4, 1, 1}};
    static const int ndims[] = {4, 4, 4, 2};
    for (int i = 0; i < 4; i++)
        for (int training = 0; training < 2; training++)
            for (int affine = 0; affine < 2; affine++) {
                int C = shapes[i][ndims[i] - 1];
                tg_tensor *in[3] = {tu_randn_grad(&rng, ndims[i], shapes[i]),
                                    tu_uniform_grad(&rng, 0.5f, 1.5f, TG_SHAPE(C)),
                                    tu_randn_grad(&rng, TG_SHAPE(C))};
                tg_tensor *rm = tu_randn(&rng, TG_SHAPE(C));
                tg_tensor *rv = tg_tensor_new(TG_SHAPE(C));
                tg_tensor_uniform(rv, &rng, 0.5f, 2.0f);
                bn_user u = {training, rm, rv};
                char name[256], sh[TG_SHAPE_STR_LEN];
                snprintf(name, sizeof name, "batchnorm %s x %s%s", training ? "train" : "eval",
                         tg_shape_str(in[0], sh, sizeof sh), affine ? " affine" : "");
                TU_GRADCHECK(name, f_bn, affine ? 3 : 1, in, &u, &smooth_opts);
                for (int k = 0; k < 3; k++) tg_tensor_free(in[k]);
                tg_tensor_free(rm), tg_tensor_free(rv);
            }
    /* without running buffers: batch statistics in both modes */
    tg_tensor *x = tu_randn_grad(&rng, TG_SHAPE(3, 2, 2, 3));
    bn_user u = {0, NULL, NULL};
    TU_GRADCHECK("batchnorm eval without running stats", f_bn, 1, &x, &u, &smooth_opts);
    tg_tensor_free(x);
}

/* Buffers: created with a value, not counted, unchanged by an optimizer
 * step with weight decay, never given a gradient by batchnorm. */
static void test_buffers(void **state) {
    (void)state;
    tg_params ps;
    tg_params_init(&ps);
    tg_tensor *w = tg_params_new(&ps, TG_SHAPE(3), "bn.weight");
    tg_tensor *rv = tg_params_new_buffer(&ps, 1.0f, TG_SHAPE(3), "bn.running_var");
    tg_tensor *rm = tg_params_new_buffer(&ps, 0.0f, TG_SHAPE(3), "bn.running_mean");
    tg_tensor_fill(w, 1.0f);
    assert_int_equal(tg_params_count(&ps), 3);
    assert_true((rv->flags & TG_BUFFER) && !(rv->flags & TG_REQUIRES_GRAD));
    assert_true(rv->data[2] == 1.0f && rm->data[0] == 0.0f);
    tg_adam opt;
    tg_adamw_init(&opt, &ps, 0.1f, 0.9f, 0.999f, 1e-8f, 0.5f);
    tg_rng rng;
    tg_rng_seed(&rng, 9);
    tg_tensor *x = tu_randn(&rng, TG_SHAPE(8, 3));
    tg_tape *tp = tg_tape_new(0);
    tg_params_zero_grad(&ps);
    tg_tensor *y = tg_batchnorm(tp, x, w, NULL, rm, rv, 0.1f, 1e-5f);
    assert_int_equal(tg_backward(tp, tg_sum(tp, tg_mul(tp, y, y))), TG_OK);
    float rv_after_fwd = rv->data[0], rm_after_fwd = rm->data[0];
    assert_true(rv_after_fwd != 1.0f); /* the forward updated it */
    tg_adam_step(&opt);
    assert_true(rv->data[0] == rv_after_fwd && rm->data[0] == rm_after_fwd);
    assert_true(w->data[0] != 1.0f); /* while the weight moved */
    tg_tape_free(tp);
    tg_adam_free(&opt);
    tg_tensor_free(x);
    tg_params_free(&ps);
}

/* ---- errors --------------------------------------------------------------- */

static void test_errors(void **state) {
    (void)state;
    tg_tape *tp = tg_tape_new(0);
    tg_tensor *x = tg_tensor_new(TG_SHAPE(2, 5, 5, 3)), *x3 = tg_tensor_new(TG_SHAPE(5, 5, 3));
    tg_tensor *w = tg_tensor_new(TG_SHAPE(4, 3, 3, 3)), *w2 = tg_tensor_new(TG_SHAPE(4, 3, 3, 2));
    tg_tensor *wbig = tg_tensor_new(TG_SHAPE(4, 7, 7, 3)), *b5 = tg_tensor_new(TG_SHAPE(5));
    tg_tensor *c3 = tg_tensor_new(TG_SHAPE(3)), *one = tg_tensor_new(TG_SHAPE(1, 1, 1, 3));
    TU_EXPECT_DEATH(tg_conv2d(tp, x3, w, NULL, 1, 0), "tg_conv2d: x must be [B, H, W, C_in], got [5, 5, 3]");
    TU_EXPECT_DEATH(tg_conv2d(tp, x, w2, NULL, 1, 0), "weight must be [C_out, kh, kw, 3]");
    TU_EXPECT_DEATH(tg_conv2d(tp, x, w, b5, 1, 0), "bias must be [4]");
    TU_EXPECT_DEATH(tg_conv2d(tp, x, w, NULL, 0, 0), "stride must be >= 1");
    TU_EXPECT_DEATH(tg_conv2d(tp, x, wbig, NULL, 1, 0), "kernel 7x7 larger than the padded image");
    TU_EXPECT_DEATH(tg_max_pool2d(tp, x, 6, 1), "tg_max_pool2d: kernel 6 larger than the image");
    TU_EXPECT_DEATH(tg_avg_pool2d(tp, x, 2, 0), "tg_avg_pool2d: kernel and stride must be >= 1");
    TU_EXPECT_DEATH(tg_global_avg_pool2d(tp, x3), "tg_global_avg_pool2d: x must be [B, H, W, C]");
    TU_EXPECT_DEATH(tg_batchnorm(tp, x, b5, NULL, NULL, NULL, 0.1f, 1e-5f),
                    "tg_batchnorm: weight must be [3]");
    TU_EXPECT_DEATH(tg_batchnorm(tp, x, NULL, NULL, c3, NULL, 0.1f, 1e-5f), "both given or both NULL");
    TU_EXPECT_DEATH(tg_batchnorm(tp, one, NULL, NULL, c3, c3, 0.1f, 1e-5f),
                    "more than 1 value per channel");
    TU_EXPECT_DEATH(tg_batchnorm(tp, x, NULL, NULL, NULL, NULL, 0.1f, 0.0f), "eps must be > 0");
    tg_tape_free(tp);
    tg_tensor *all[] = {x, x3, w, w2, wbig, b5, c3, one};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) tg_tensor_free(all[i]);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv_values),
        cmocka_unit_test(test_conv_grad),
        cmocka_unit_test(test_conv_big_threads),
        cmocka_unit_test(test_conv_is_patch_embedding),
        cmocka_unit_test(test_pool),
        cmocka_unit_test(test_max_pool_ties),
        cmocka_unit_test(test_global_avg_pool),
        cmocka_unit_test(test_batchnorm_train_values),
        cmocka_unit_test(test_batchnorm_grad),
        cmocka_unit_test(test_buffers),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests_name("conv", tests, NULL, NULL);
}
