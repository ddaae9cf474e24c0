/* tests/test_ops_b.c — softmax, log_softmax, cross_entropy, layernorm,
 * embedding, dropout: forward values against direct formulas, gradient
 * checks on several shapes (masks, ignore_index, repeated ids, ...),
 * thread-count independence, and the error messages. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tests/helpers/testutil.h"

/* ---- helpers ------------------------------------------------------------- */

static tg_tensor *causal_mask(int L) { /* [L, L]: 0 on and below the diagonal */
    tg_tensor *m = tg_tensor_new(TG_SHAPE(L, L));
    for (int i = 0; i < L; i++)
        for (int j = 0; j < L; j++) m->data[i * L + j] = j <= i ? 0.0f : -INFINITY;
    return m;
}

static tg_tensor *keypad_mask(int B, int L, const int *len) { /* [B, 1, 1, L] */
    tg_tensor *m = tg_tensor_new(TG_SHAPE(B, 1, 1, L));
    for (int b = 0; b < B; b++)
        for (int j = 0; j < L; j++) m->data[b * L + j] = j < len[b] ? 0.0f : -INFINITY;
    return m;
}

static int all_finite(const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return 0;
    return 1;
}

/* A custom op replacing −inf by 0 (gradient passes where finite), so the
 * gradient check's weighted sum of log_softmax stays finite under masks. */
static void finite_fwd(tg_tensor *out, tg_tensor *const *in, int n_in, void *ctx) {
    (void)n_in, (void)ctx;
    for (int64_t i = 0; i < out->size; i++)
        out->data[i] = isfinite(in[0]->data[i]) ? in[0]->data[i] : 0.0f;
}
static void finite_bwd(const tg_tensor *out, tg_tensor *const *in, int n_in, void *ctx) {
    (void)n_in, (void)ctx;
    if (!in[0]->grad) return;
    for (int64_t i = 0; i < out->size; i++)
        if (isfinite(in[0]->data[i])) in[0]->grad[i] += out->grad[i];
}
static const tg_custom_op finite_op = {"finite", finite_fwd, finite_bwd};

/* Smooth ops with O(1) float outputs (softmax family, layernorm): a step of
 * 1e-3 leaves the rounding of L (~1e-7 per output, over tens of outputs,
 * divided by 2h) near 1e-4, as large as small gradients; h = 1e-2 brings it
 * to 1e-5 while the truncation error, O(h^2) times the third derivative,
 * stays below that. */
static const tg_gradcheck_opts smooth_opts = {.h = 1e-2, .tol = 1e-2, .floor = 1e-2,
                                              .max_per_input = 256, .seed = 1};

/* ---- softmax / log_softmax ---------------------------------------------- */

typedef struct {
    const tg_tensor *mask;
    int is_log;
} sm_user;

static tg_tensor *f_softmax(tg_tape *tp, tg_tensor *const *x, int n, void *user) {
    (void)n;
    const sm_user *u = user;
    if (!u->is_log) return tg_softmax(tp, x[0], u->mask);
    tg_tensor *y = tg_log_softmax(tp, x[0], u->mask);
    return tg_custom(tp, &finite_op, 1, &y, y->ndim, y->shape, NULL, 0);
}

static void check_sm(const char *name, int ndim, const int *shape, const tg_tensor *mask) {
    tg_rng rng;
    tg_rng_seed(&rng, 11);
    for (int is_log = 0; is_log < 2; is_log++) {
        tg_tensor *x = tu_randn_grad(&rng, ndim, shape);
        char buf[128];
        snprintf(buf, sizeof buf, "%s %s", is_log ? "log_softmax" : "softmax", name);
        sm_user u = {mask, is_log};
        TU_GRADCHECK(buf, f_softmax, 1, (tg_tensor *[]){x}, &u, &smooth_opts);
        tg_tensor_free(x);
    }
}

static void test_softmax_values(void **state) {
    (void)state;
    tg_rng rng;
    tg_rng_seed(&rng, 1);
    tg_tape *tp = tg_tape_new(0);
    tg_tensor *x = tu_randn(&rng, TG_SHAPE(3, 5, 7));
    for (int64_t i = 0; i < x->size; i++) x->data[i] *= 4.0f;
    x->data[0] = 80.0f; /* large values: the max is subtracted */
    tg_tensor *y = tg_softmax(tp, x, NULL), *ly = tg_log_softmax(tp, x, NULL);
    double max_sm = 0, max_ls = 0;
    for (int r = 0; r < 15; r++) {
        const float *xr = x->data + r * 7;
        double mx = -INFINITY, s = 0;
        for (int j = 0; j < 7; j++) mx = fmax(mx, xr[j]);
        for (int j = 0; j < 7; j++) s += exp(xr[j] - mx);
        for (int j = 0; j < 7; j++) {
            double want = exp(xr[j] - mx) / s;
            max_sm = fmax(max_sm, fabs(y->data[r * 7 + j] - want));
            /* log_softmax == log(softmax) */
            max_ls = fmax(max_ls, fabs(ly->data[r * 7 + j] - log(want)));
        }
    }
    printf("softmax vs formula: max diff %.3g; log_softmax vs log(softmax): %.3g\n", max_sm,
           max_ls);
    assert_true(max_sm < 1e-6);
    assert_true(max_ls < 1e-5);
    tg_tensor_free(x);
    tg_tape_free(tp);
}

static void test_softmax_grad(void **state) {
    (void)state;
    check_sm("[7]", TG_SHAPE(7), NULL);
    check_sm("[4, 9]", TG_SHAPE(4, 9), NULL);
    check_sm("[2, 3, 5]", TG_SHAPE(2, 3, 5), NULL);
    check_sm("[2, 2, 3, 6]", TG_SHAPE(2, 2, 3, 6), NULL);
}

static void test_softmax_causal(void **state) {
    (void)state;
    int L = 5;
    tg_tensor *m = causal_mask(L);
    check_sm("[2, 3, 5, 5] causal [5, 5]", TG_SHAPE(2, 3, L, L), m);
    check_sm("[5, 5] causal", TG_SHAPE(L, L), m);
    /* masked entries: softmax exactly 0, log_softmax −inf */
    tg_rng rng;
    tg_rng_seed(&rng, 2);
    tg_tape *tp = tg_tape_new(0);
    tg_tensor *x = tu_randn(&rng, TG_SHAPE(2, L, L));
    tg_tensor *y = tg_softmax(tp, x, m), *ly = tg_log_softmax(tp, x, m);
    for (int b = 0; b < 2; b++)
        for (int i = 0; i < L; i++) {
            double s = 0;
            for (int j = 0; j < L; j++) {
                float v = y->data[(b * L + i) * L + j], lv = ly->data[(b * L + i) * L + j];
                if (j > i) {
                    assert_true(v == 0.0f);
                    assert_true(lv == -INFINITY);
                } else {
                    assert_true(fabsf(lv - logf(v)) < 1e-5f);
                }
                s += v;
            }
            assert_true(fabs(s - 1.0) < 1e-6);
        }
    tg_tensor_free(x);
    tg_tensor_free(m);
    tg_tape_free(tp);
}

static void test_softmax_keypad(void **state) {
    (void)state;
    int len[2] = {4, 2};
    tg_tensor *m = keypad_mask(2, 4, len);
    check_sm("[2, 3, 4, 4] key padding [2, 1, 1, 4]", TG_SHAPE(2, 3, 4, 4), m);
    tg_tensor_free(m);
}

/* Fully masked rows: exactly 0 in value and in gradient, no NaN anywhere. */
static void test_softmax_fully_masked(void **state) {
    (void)state;
    int L = 4, len[2] = {3, 0}; /* batch 1 may look at nothing */
    tg_tensor *m = keypad_mask(2, L, len);
    check_sm("[2, 2, 4, 4] with fully masked rows", TG_SHAPE(2, 2, L, L), m);
    tg_rng rng;
    tg_rng_seed(&rng, 3);
    for (int is_log = 0; is_log < 2; is_log++) {
        tg_tape *tp = tg_tape_new(0);
        tg_tensor *x = tu_randn_grad(&rng, TG_SHAPE(2, 2, L, L));
        tg_tensor *y = is_log ? tg_log_softmax(tp, x, m) : tg_softmax(tp, x, m);
        int64_t half = y->size / 2;
        for (int64_t i = half; i < y->size; i++) assert_true(y->data[i] == 0.0f);
        float *dy = malloc((size_t)y->size * sizeof(float));
        for (int64_t i = 0; i < y->size; i++) dy[i] = tg_rng_normal(&rng);
        for (int64_t i = 0; i < y->size; i++) /* dy at −inf outputs is ignored */
            if (y->data[i] == -INFINITY) dy[i] = 1e30f;
        assert_int_equal(tg_backward_seeded(tp, y, dy), TG_OK);
        assert_true(all_finite(x->grad, x->size));
        for (int64_t i = half; i < x->size; i++) assert_true(x->grad[i] == 0.0f);
        for (int64_t i = 0; i < half; i++) /* masked key positions 3 of batch 0 */
            if (i % L == 3) assert_true(x->grad[i] == 0.0f);
        free(dy);
        tg_tensor_free(x);
        tg_tape_free(tp);
    }
    tg_tensor_free(m);
}

/* ---- cross-entropy ------------------------------------------------------ */

typedef struct {
    const int32_t *t;
    int ignore;
    tg_reduction red;
    float eps; /* label smoothing */
} ce_user;

static tg_tensor *f_ce(tg_tape *tp, tg_tensor *const *x, int n, void *user) {
    (void)n;
    const ce_user *u = user;
    return tg_cross_entropy_smoothed(tp, x[0], u->t, u->ignore, u->red, u->eps);
}

static void test_ce_values(void **state) {
    (void)state;
    tg_rng rng;
    tg_rng_seed(&rng, 4);
    int V = 7, N = 6;
    int32_t t[6] = {0, 6, -1, 3, -1, 2};
    tg_tensor *x = tu_randn(&rng, TG_SHAPE(2, 3, V));
    for (int red = 0; red < 2; red++) {
        tg_tape *tp = tg_tape_new(0);
        tg_tensor *ls = tg_log_softmax(tp, x, NULL);
        double want = 0;
        int count = 0;
        for (int r = 0; r < N; r++)
            if (t[r] != -1) { /* CE == −log_softmax[target] */
                want -= ls->data[r * V + t[r]];
                count++;
            }
        if (red == TG_MEAN) want /= count;
        tg_tensor *loss = tg_cross_entropy(tp, x, t, -1, (tg_reduction)red);
        printf("cross_entropy %s: %.7g, −Σ log_softmax[t]: %.7g\n", red ? "MEAN" : "SUM",
               loss->data[0], want);
        assert_int_equal(loss->size, 1);
        assert_true(fabs(loss->data[0] - want) < 1e-5 * fmax(1.0, fabs(want)));
        tg_tape_free(tp);
    }
    tg_tensor_free(x);
}

static void test_ce_grad(void **state) {
    (void)state;
    tg_rng rng;
    tg_rng_seed(&rng, 5);
    int32_t t1[5] = {0, 6, -1, 3, 1};
    int32_t t2[6] = {10, 3, 3, 0, -1, 7};
    int32_t t3[4] = {3, 1, 3, 0}; /* ignore_index = 3: an in-range class as padding */
    struct {
        const char *name;
        int ndim;
        int shape[3];
        const int32_t *t;
        int ignore;
    } cases[] = {
        {"[5, 7] ignore -1", 2, {5, 7}, t1, -1},
        {"[2, 3, 11] ignore -1", 3, {2, 3, 11}, t2, -1},
        {"[4, 5] ignore 3", 2, {4, 5}, t3, 3},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
        for (int red = 0; red < 2; red++) {
            tg_tensor *x = tu_randn_grad(&rng, cases[k].ndim, cases[k].shape);
            ce_user u = {cases[k].t, cases[k].ignore, (tg_reduction)red, 0.0f};
            char buf[96];
            snprintf(buf, sizeof buf, "cross_entropy %s %s", red ? "MEAN" : "SUM", cases[k].name);
            TU_GRADCHECK(buf, f_ce, 1, (tg_tensor *[]){x}, &u, NULL);
            tg_tensor_free(x);
        }
}

static void test_ce_all_ignored(void **state) {
    (void)state;
    tg_rng rng;
    tg_rng_seed(&rng, 6);
    int32_t t[3] = {-100, -100, -100};
    for (int red = 0; red < 2; red++) {
        tg_tape *tp = tg_tape_new(0);
        tg_tensor *x = tu_randn_grad(&rng, TG_SHAPE(3, 4));
        tg_tensor *loss = tg_cross_entropy(tp, x, t, -100, (tg_reduction)red);
        assert_true(loss->data[0] == 0.0f);
        assert_int_equal(tg_backward(tp, loss), TG_OK);
        for (int64_t i = 0; i < x->size; i++) assert_true(x->grad[i] == 0.0f);
        tg_tensor_free(x);
        tg_tape_free(tp);
    }
}

/* Label smoothing: the loss equals −Σ_v q_v log_softmax_v with
 * q = (1 − ε)·onehot + ε/V, computed from the separate log_softmax op; ε = 0
 * gives exactly tg_cross_entropy; ε = 1 is the cross-entropy against the
 * uniform distribution (the target class no longer matters). */
static void test_ce_smoothed_values(void **state) {
    (void)state;
    tg_rng rng;
    tg_rng_seed(&rng, 41);
    int V = 5, N = 4;
    int32_t t[4] = {4, -1, 0, 2};
    tg_tensor *x = tu_randn(&rng, TG_SHAPE(N, V));
    const float eps_list[] = {0.0f, 0.1f, 0.5f, 1.0f};
    for (size_t e = 0; e < sizeof eps_list / sizeof *eps_list; e++)
        for (int red = 0; red < 2; red++) {
            float eps = eps_list[e];
            tg_tape *tp = tg_tape_new(0);
            tg_tensor *ls = tg_log_softmax(tp, x, NULL);
            double want = 0;
            int count = 0;
            for (int r = 0; r < N; r++) {
                if (t[r] == -1) continue;
                for (int v = 0; v < V; v++)
                    want -= ((v == t[r]) * (1.0 - eps) + eps / V) * ls->data[r * V + v];
                count++;
            }
            if (red == TG_MEAN) want /= count;
            tg_tensor *loss = tg_cross_entropy_smoothed(tp, x, t, -1, (tg_reduction)red, eps);
            printf("cross_entropy ε=%.1f %s: %.7g, −Σ q·log_softmax: %.7g\n", (double)eps,
                   red ? "MEAN" : "SUM", loss->data[0], want);
            assert_true(fabs(loss->data[0] - want) < 1e-5 * fmax(1.0, fabs(want)));
            if (eps == 0.0f) {
                tg_tensor *plain = tg_cross_entropy(tp, x, t, -1, (tg_reduction)red);
                assert_true(plain->data[0] == loss->data[0]);
            }
            tg_tape_free(tp);
        }
    tg_tensor_free(x);
}

static void test_ce_smoothed_grad(void **state) {
    (void)state;
    tg_rng rng;
    tg_rng_seed(&rng, 42);
    int32_t t1[5] = {0, 6, -1, 3, 1};
    int32_t t2[1] = {2};
    int32_t t3[4] = {3, 1, 3, 0}; /* ignore_index = 3 */
    int32_t t4[1] = {1};          /* V = 2 */
    struct {
        const char *name;
        int ndim;
        int shape[3];
        const int32_t *t;
        int ignore;
        float eps;
    } cases[] = {
        {"[5, 7] ε 0.1", 2, {5, 7}, t1, -1, 0.1f},
        {"[1, 3] ε 1", 2, {1, 3}, t2, -1, 1.0f},
        {"[1, 1, 2] ε 0.3", 3, {1, 1, 2}, t4, -1, 0.3f},
        {"[2, 2, 5] ignore 3 ε 0.2", 3, {2, 2, 5}, t3, 3, 0.2f},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
        for (int red = 0; red < 2; red++) {
            tg_tensor *x = tu_randn_grad(&rng, cases[k].ndim, cases[k].shape);
            ce_user u = {cases[k].t, cases[k].ignore, (tg_reduction)red, cases[k].eps};
            char buf[96];
            snprintf(buf, sizeof buf, "cross_entropy_smoothed %s %s", red ? "MEAN" : "SUM", cases[k].name);
            TU_GRADCHECK(buf, f_ce, 1, (tg_tensor *[]){x}, &u, NULL);
            tg_tensor_free(x);
        }
}

/* ---- layernorm ---------------------------------------------------------- */

/* Layernorm curves more than softmax when C is small (C = 5: the truncation
 * error at h = 1e-2 reaches 6e-3), so a step between the two noise sources. */
static const tg_gradcheck_opts ln_opts = {.h = 3e-3, .tol = 1e-2, .floor = 1e-2,
                                          .max_per_input = 256, .seed = 1};

typedef struct {
    int gain, bias;
} ln_user;

static tg_tensor *f_ln(tg_tape *tp, tg_tensor *const *x, int n, void *user) {
    (void)n;
    const ln_user *u = user;
    return tg_layernorm(tp, x[0], u->gain ? x[1] : NULL, u->bias ? x[2] : NULL, 1e-5f);
}

static void test_layernorm_values(void **state) {
    (void)state;
    tg_rng rng;
    tg_rng_seed(&rng, 7);
    int C = 10;
    tg_tensor *x = tu_randn(&rng, TG_SHAPE(3, 4, C)), *g = tu_randn(&rng, TG_SHAPE(C)),
              *b = tu_randn(&rng, TG_SHAPE(C));
    for (int64_t i = 0; i < x->size; i++) x->data[i] = 3.0f * x->data[i] + 5.0f;
    tg_tape *tp = tg_tape_new(0);
    tg_tensor *y = tg_layernorm(tp, x, g, b, 1e-5f), *y0 = tg_layernorm(tp, x, NULL, NULL, 1e-5f);
    double md = 0;
    for (int r = 0; r < 12; r++) {
        const float *xr = x->data + r * C;
        double mu = 0, var = 0;
        for (int i = 0; i < C; i++) mu += xr[i];
        mu /= C;
        for (int i = 0; i < C; i++) var += (xr[i] - mu) * (xr[i] - mu);
        var /= C;
        for (int i = 0; i < C; i++) {
            double nrm = (xr[i] - mu) / sqrt(var + 1e-5);
            md = fmax(md, fabs(y->data[r * C + i] - (nrm * g->data[i] + b->data[i])));
            md = fmax(md, fabs(y0->data[r * C + i] - nrm));
        }
    }
    printf("layernorm vs formula: max diff %.3g\n", md);
    assert_true(md < 1e-5);
    tg_tensor_free(x);
    tg_tensor_free(g);
    tg_tensor_free(b);
    tg_tape_free(tp);
}

static void test_layernorm_grad(void **state) {
    (void)state;
    tg_rng rng;
    tg_rng_seed(&rng, 8);
    struct {
        int ndim, shape[3];
    } shapes[] = {{2, {4, 8}}, {3, {2, 3, 16}}, {2, {3, 5}}};
    ln_user users[] = {{1, 1}, {0, 0}, {1, 0}, {0, 1}};
    for (size_t s = 0; s < 3; s++)
        for (size_t k = 0; k < 4; k++) {
            int C = shapes[s].shape[shapes[s].ndim - 1];
            tg_tensor *x = tu_randn_grad(&rng, shapes[s].ndim, shapes[s].shape);
            tg_tensor *g = tu_uniform_grad(&rng, 0.5f, 1.5f, TG_SHAPE(C));
            tg_tensor *b = tu_randn_grad(&rng, TG_SHAPE(C));
            char buf[96];
            snprintf(buf, sizeof buf, "layernorm [%d..., %d] gain %d bias %d", shapes[s].shape[0],
                     C, users[k].gain, users[k].bias);
            if (!users[k].gain) g->flags &= ~TG_REQUIRES_GRAD;
            if (!users[k].bias) b->flags &= ~TG_REQUIRES_GRAD;
            tg_tensor *in[3] = {x, g, b};
            TU_GRADCHECK(buf, f_ln, 3, in, &users[k], &ln_opts);
            tg_tensor_free(x);
            tg_tensor_free(g);
            tg_tensor_free(b);
        }
}

/* ---- embedding ---------------------------------------------------------- */

typedef struct {
    const int32_t *ids;
    int ndim;
    const int *shape;
} emb_user;

static tg_tensor *f_emb(tg_tape *tp, tg_tensor *const *x, int n, void *user) {
    (void)n;
    const emb_user *u = user;
    return tg_embedding(tp, x[0], u->ids, u->ndim, u->shape);
}

static void test_embedding(void **state) {
    (void)state;
    tg_rng rng;
    tg_rng_seed(&rng, 9);
    int32_t ids[12] = {3, 1, 3, 0, 4, 3, 1, 1, 2, 0, 3, 4}; /* repeated ids */
    int s1[1] = {12}, s2[2] = {3, 4}, s3[3] = {2, 3, 2};
    emb_user us[] = {{ids, 1, s1}, {ids, 2, s2}, {ids, 3, s3}};
    for (int k = 0; k < 3; k++) {
        int C = 3 + 2 * k;
        tg_tensor *w = tu_randn_grad(&rng, TG_SHAPE(5, C));
        tg_tape *tp = tg_tape_new(0);
        tg_tensor *y = f_emb(tp, (tg_tensor *[]){w}, 1, &us[k]);
        assert_int_equal(y->ndim, us[k].ndim + 1);
        assert_int_equal(y->shape[y->ndim - 1], C);
        for (int p = 0; p < 12; p++)
            assert_memory_equal(y->data + p * C, w->data + ids[p] * C, C * sizeof(float));
        tg_tape_free(tp);
        char buf[64];
        snprintf(buf, sizeof buf, "embedding [5, %d] ids of %d dims", C, us[k].ndim);
        TU_GRADCHECK(buf, f_emb, 1, (tg_tensor *[]){w}, &us[k], NULL);
        tg_tensor_free(w);
    }
}

/* ---- dropout ------------------------------------------------------------ */

typedef struct {
    uint64_t seed;
    float p;
} drop_user;

static tg_tensor *f_drop(tg_tape *tp, tg_tensor *const *x, int n, void *user) {
    (void)n;
    const drop_user *u = user;
    tg_rng r;
    tg_rng_seed(&r, u->seed); /* the same mask on every call */
    return tg_dropout(tp, x[0], u->p, &r);
}

static void test_dropout_grad(void **state) {
    (void)state;
    tg_rng rng;
    tg_rng_seed(&rng, 10);
    drop_user u1 = {42, 0.3f}, u2 = {43, 0.5f};
    tg_tensor *x = tu_randn_grad(&rng, TG_SHAPE(6, 7));
    TU_GRADCHECK("dropout p=0.3 [6, 7]", f_drop, 1, (tg_tensor *[]){x}, &u1, NULL);
    tg_tensor *x2 = tu_randn_grad(&rng, TG_SHAPE(2, 3, 4, 5));
    TU_GRADCHECK("dropout p=0.5 [2, 3, 4, 5]", f_drop, 1, (tg_tensor *[]){x2}, &u2, NULL);
    tg_tensor_free(x);
    tg_tensor_free(x2);
}

static void test_dropout_stats(void **state) {
    (void)state;
    float p = 0.25f;
    tg_tensor *x = tg_tensor_new_grad(TG_SHAPE(512, 512));
    tg_tensor_fill(x, 1.0f);
    tg_tape *tp = tg_tape_new(0);
    tg_rng r;
    tg_rng_seed(&r, 123);
    tg_tensor *y = tg_dropout(tp, x, p, &r);
    int64_t kept = 0;
    double sum = 0;
    for (int64_t i = 0; i < y->size; i++) {
        assert_true(y->data[i] == 0.0f || y->data[i] == 1.0f / (1.0f - p));
        kept += y->data[i] != 0.0f;
        sum += y->data[i];
    }
    double frac = (double)kept / (double)y->size, mean = sum / (double)y->size;
    printf("dropout p=%.2f: kept %.4f (want %.4f), mean %.4f (want 1)\n", p, frac, 1 - p, mean);
    assert_true(fabs(frac - (1 - p)) < 0.005);
    assert_true(fabs(mean - 1.0) < 0.01);

    /* same seed, same mask */
    tg_rng_seed(&r, 123);
    tg_tensor *y2 = tg_dropout(tp, x, p, &r);
    assert_memory_equal(y->data, y2->data, (size_t)y->size * sizeof(float));
    /* evaluation mode and p == 0: x itself, no node, rng untouched */
    tg_rng before = r;
    tg_tape_set_training(tp, 0);
    int nodes = tg_tape_n_nodes(tp);
    assert_ptr_equal(tg_dropout(tp, x, p, &r), x);
    tg_tape_set_training(tp, 1);
    assert_ptr_equal(tg_dropout(tp, x, 0.0f, &r), x);
    assert_int_equal(tg_tape_n_nodes(tp), nodes);
    assert_memory_equal(&before, &r, sizeof r);
    tg_tape_free(tp);
    tg_tensor_free(x);
}

/* ---- thread-count independence ------------------------------------------ */

static void run_big(int threads, float *loss, float *dlogits, float *dgain, float *dx) {
    tg_set_num_threads(threads);
    tg_rng rng;
    tg_rng_seed(&rng, 77);
    int N = 2048, V = 40;
    tg_tensor *x = tu_randn_grad(&rng, TG_SHAPE(N, V));
    tg_tensor *g = tu_uniform_grad(&rng, 0.5f, 1.5f, TG_SHAPE(V));
    int32_t *t = malloc((size_t)N * sizeof *t);
    for (int i = 0; i < N; i++) t[i] = i % 7 == 0 ? -1 : (int32_t)tg_rng_below(&rng, (uint32_t)V);
    tg_tape *tp = tg_tape_new(0);
    tg_tape_set_keep_grads(tp, 1); /* sm->grad is compared below */
    tg_tensor *h = tg_layernorm(tp, x, g, NULL, 1e-5f);
    tg_tensor *ls = tg_log_softmax(tp, h, NULL);
    tg_tensor *sm = tg_softmax(tp, ls, NULL);
    tg_tensor *l = tg_cross_entropy(tp, sm, t, -1, TG_MEAN);
    assert_int_equal(tg_backward(tp, l), TG_OK);
    *loss = l->data[0];
    memcpy(dlogits, sm->grad, (size_t)sm->size * sizeof(float));
    memcpy(dgain, g->grad, (size_t)V * sizeof(float));
    memcpy(dx, x->grad, (size_t)x->size * sizeof(float));
    tg_tape_free(tp);
    free(t);
    tg_tensor_free(x);
    tg_tensor_free(g);
}

static void test_thread_independence(void **state) {
    (void)state;
    int old = tg_get_num_threads();
    size_t n = 2048 * 40;
    float l1, l2, *a1 = malloc(n * 4), *a2 = malloc(n * 4), g1[40], g2[40], *x1 = malloc(n * 4),
                  *x2 = malloc(n * 4);
    run_big(1, &l1, a1, g1, x1);
    run_big(2, &l2, a2, g2, x2);
    tg_set_num_threads(old);
    assert_memory_equal(&l1, &l2, sizeof l1);
    assert_memory_equal(a1, a2, n * 4);
    assert_memory_equal(g1, g2, sizeof g1);
    assert_memory_equal(x1, x2, n * 4);
    free(a1), free(a2), free(x1), free(x2);
}

/* ---- non-finite loss reported with the op that made it ------------------ */

static void test_nonfinite_names_op(void **state) {
    (void)state;
    tg_tape *tp = tg_tape_new(0);
    tg_tensor *x = tg_tensor_new_grad(TG_SHAPE(3));
    tg_tensor_copy_from(x, (const float[]){1.0f, 0.0f, 2.0f});
    tg_tensor *loss = tg_sum(tp, tg_log(tp, x));
    assert_int_equal(tg_backward(tp, loss), TG_ERR_NONFINITE);
    printf("tg_backward: %s\n", tg_last_error());
    assert_non_null(strstr(tg_last_error(), "(log)"));
    tg_tensor_free(x);
    tg_tape_free(tp);
}

/* ---- error messages ------------------------------------------------------ */

static void test_errors(void **state) {
    (void)state;
    tg_tape *tp = tg_tape_new(0);
    tg_tensor *x = tg_tensor_new(TG_SHAPE(2, 3)), *m4 = tg_tensor_new(TG_SHAPE(4)),
              *m3 = tg_tensor_new(TG_SHAPE(2, 2, 3)), *g5 = tg_tensor_new(TG_SHAPE(5)),
              *w = tg_tensor_new(TG_SHAPE(10, 4)), *w1 = tg_tensor_new(TG_SHAPE(10));
    tg_tensor *logits = tg_tensor_new(TG_SHAPE(5, 17));
    int32_t t[5] = {0, 1, 2, 17, 4}, tn[5] = {0, -5, 2, 3, 4};
    int32_t ids[6] = {0, 1, 2, 3, 10, 5};
    int s6[1] = {6}, s4[TG_MAX_DIMS] = {1, 1, 2, 3, 1, 1, 1, 1};
    tg_rng r;
    tg_rng_seed(&r, 1);

    TU_EXPECT_DEATH(tg_softmax(tp, x, m4), "tg_softmax: shapes do not broadcast: a is [2, 3], b is [4]");
    TU_EXPECT_DEATH(tg_log_softmax(tp, x, m3),
                    "tg_log_softmax: mask [2, 2, 3] does not broadcast to x [2, 3]");
    TU_EXPECT_DEATH(tg_softmax(tp, NULL, NULL), "tg_softmax: argument `x` is NULL");
    TU_EXPECT_DEATH(tg_cross_entropy(tp, logits, t, -1, TG_SUM),
                    "tg_cross_entropy: target 17 at row 3 outside [0, 17)");
    TU_EXPECT_DEATH(tg_cross_entropy(tp, logits, tn, -1, TG_MEAN),
                    "tg_cross_entropy: target -5 at row 1 outside [0, 17)");
    TU_EXPECT_DEATH(tg_cross_entropy(tp, logits, t, -1, (tg_reduction)5),
                    "tg_cross_entropy: reduction must be TG_SUM or TG_MEAN, got 5");
    TU_EXPECT_DEATH(tg_cross_entropy(tp, logits, NULL, -1, TG_SUM),
                    "tg_cross_entropy: argument `targets` is NULL");
    TU_EXPECT_DEATH(tg_layernorm(tp, x, g5, NULL, 1e-5f),
                    "tg_layernorm: gain must be [3] (the last dim of x [2, 3]), got [5]");
    TU_EXPECT_DEATH(tg_layernorm(tp, x, NULL, m3, 1e-5f),
                    "tg_layernorm: bias must be [3] (the last dim of x [2, 3]), got [2, 2, 3]");
    TU_EXPECT_DEATH(tg_layernorm(tp, x, NULL, NULL, -1.0f), "tg_layernorm: eps must be >= 0, got -1");
    TU_EXPECT_DEATH(tg_embedding(tp, w, ids, 1, s6),
                    "tg_embedding: id 10 at position 4 outside [0, 10)");
    TU_EXPECT_DEATH(tg_embedding(tp, w1, ids, 1, s6), "tg_embedding: weight must be [V, C], got [10]");
    TU_EXPECT_DEATH(tg_embedding(tp, w, ids, TG_MAX_DIMS, s4),
                    "tg_embedding: ids must have 1 to 7 dims, got 8");
    TU_EXPECT_DEATH(tg_dropout(tp, x, 1.0f, &r), "tg_dropout: p must be in [0, 1), got 1");
    TU_EXPECT_DEATH(tg_dropout(tp, x, -0.5f, &r), "tg_dropout: p must be in [0, 1), got -0.5");
    TU_EXPECT_DEATH(tg_dropout(tp, x, 0.5f, NULL), "tg_dropout: argument `rng` is NULL");

    tg_tensor_free(x), tg_tensor_free(m4), tg_tensor_free(m3), tg_tensor_free(g5);
    tg_tensor_free(w), tg_tensor_free(w1), tg_tensor_free(logits);
    tg_tape_free(tp);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_softmax_values),
        cmocka_unit_test(test_softmax_grad),
        cmocka_unit_test(test_softmax_causal),
        cmocka_unit_test(test_softmax_keypad),
        cmocka_unit_test(test_softmax_fully_masked),
        cmocka_unit_test(test_ce_values),
        cmocka_unit_test(test_ce_grad),
        cmocka_unit_test(test_ce_all_ignored),
        cmocka_unit_test(test_ce_smoothed_values),
        cmocka_unit_test(test_ce_smoothed_grad),
        cmocka_unit_test(test_layernorm_values),
        cmocka_unit_test(test_layernorm_grad),
        cmocka_unit_test(test_embedding),
        cmocka_unit_test(test_dropout_grad),
        cmocka_unit_test(test_dropout_stats),
        cmocka_unit_test(test_thread_independence),
        cmocka_unit_test(test_nonfinite_names_op),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests_name("ops_b", tests, NULL, NULL);
}
