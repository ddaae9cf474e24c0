/* tests/test_attention.c — scaled dot-product attention, fused
 * (core/ops/attention.c) and composed (nn/attention.c):
 *   - the two forms equal in values and in the gradients of q, k, v
 *     (normwise relative difference <= 1e-5) on random inputs, for every
 *     kind of mask, Lq != Lk, lengths not multiples of the 64-wide tiles,
 *     several heads, Dv != D, and rows whose every key is masked;
 *   - rows with every key masked give 0 and pass zero gradient;
 *   - finite-difference gradient checks of both forms with masks;
 *   - the fused form bit-identical with 1 and 2 threads;
 *   - the attention-weights readout (rows sum to 1, equal across forms);
 *   - the mask tensor builder; memory of the fused form below one [L, L];
 *   - error messages.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/attention.h"
#include "nn/attention.h"
#include "tests/helpers/testutil.h"

/* One configuration of the comparison. */
typedef struct {
    const char *name;
    int B, Lq, Lk, H, D, Dv;
    int causal, window;
    int pad;      /* key padding: batch entry b keeps its first Lk − pad·(b+1) keys (>= 0) */
    int pad_all;  /* the last batch entry has every key padded (all its rows masked) */
    int allowed;  /* a random boolean [Lq, Lk] mask with a few all-false rows */
} attn_case;

/* Builds the mask's byte arrays (caller frees) and the struct. */
static tg_attn_mask make_mask(const attn_case *c, tg_rng *rng, uint8_t **kp, uint8_t **al) {
    tg_attn_mask m = {.causal = c->causal, .window = c->window};
    *kp = NULL;
    *al = NULL;
    if (c->pad || c->pad_all) {
        *kp = malloc((size_t)c->B * c->Lk);
        for (int b = 0; b < c->B; b++) {
            int keep = c->Lk - c->pad * (b + 1);
            if (keep < 1) keep = 1;
            if (c->pad_all && b == c->B - 1) keep = 0;
            for (int j = 0; j < c->Lk; j++) (*kp)[b * c->Lk + j] = j < keep;
        }
        m.key_padding = *kp;
    }
    if (c->allowed) {
        *al = malloc((size_t)c->Lq * c->Lk);
        for (int i = 0; i < c->Lq; i++)
            for (int j = 0; j < c->Lk; j++)
                (*al)[i * c->Lk + j] = (i % 7 == 3) ? 0 : tg_rng_uniform(rng) < 0.4f;
        m.allowed = *al;
    }
    return m;
}

/* Normwise relative difference max|a − b| / max|b| (the scale of the
 * reference), 0 when both are all zero. */
static double rel_diff(const float *a, const float *b, int64_t n) {
    double scale = 0.0;
    for (int64_t i = 0; i < n; i++) scale = fmax(scale, fabs(b[i]));
    double d = tu_max_abs_diff(a, b, n);
    return scale > 0.0 ? d / scale : d;
}

typedef struct {
    float *out, *dq, *dk, *dv;
} attn_result;

static void result_free(attn_result *r) {
    free(r->out);
    free(r->dq);
    free(r->dk);
    free(r->dv);
}

static float *fdup(const float *x, int64_t n) {
    float *y = malloc((size_t)n * sizeof *y);
    memcpy(y, x, (size_t)n * sizeof *y);
    return y;
}

/* Runs one form forward and backward (seeded with dout), returns copies. */
static attn_result run_form(int fused, const attn_case *c, tg_tensor *q, tg_tensor *k,
                            tg_tensor *v, const tg_attn_mask *m, const float *dout) {
    tg_tape *tp = tg_tape_new(0);
    tg_tensor_zero_grad(q);
    tg_tensor_zero_grad(k);
    tg_tensor_zero_grad(v);
    float scale = 1.0f / sqrtf((float)c->D);
    tg_tensor *o = fused ? tg_attention(tp, q, k, v, c->H, scale, m, NULL)
                         : tg_attention_composed(tp, q, k, v, c->H, scale, m, NULL);
    assert_int_equal(tg_backward_seeded(tp, o, dout), TG_OK);
    attn_result r = {fdup(o->data, o->size), fdup(q->grad, q->size), fdup(k->grad, k->size),
                     fdup(v->grad, v->size)};
    tg_tape_free(tp);
    return r;
}

static const attn_case CASES[] = {
    {"no mask", 2, 37, 37, 2, 8, 8, 0, 0, 0, 0, 0},
    {"no mask, 2 tiles + tail", 1, 150, 150, 2, 8, 8, 0, 0, 0, 0, 0},
    {"key padding", 3, 70, 70, 2, 4, 4, 0, 0, 9, 0, 0},
    {"key padding, one entry all padded", 3, 20, 20, 1, 8, 8, 0, 0, 3, 1, 0},
    {"causal", 2, 131, 131, 2, 8, 8, 1, 0, 0, 0, 0},
    {"window 5", 2, 140, 140, 1, 8, 8, 0, 5, 0, 0, 0},
    {"window 40 + causal", 1, 200, 200, 2, 4, 4, 1, 40, 0, 0, 0},
    {"boolean", 2, 45, 67, 2, 8, 8, 0, 0, 0, 0, 1},
    {"cross Lq < Lk, padding", 2, 30, 97, 3, 4, 4, 0, 0, 11, 0, 0},
    {"cross Lq > Lk, causal", 2, 130, 65, 2, 8, 8, 1, 0, 0, 0, 0},
    {"Dv != D, everything", 2, 90, 90, 2, 8, 5, 1, 30, 7, 0, 1},
};
#define N_CASES ((int)(sizeof CASES / sizeof CASES[0]))

static void test_fused_equals_composed(void **state) {
    (void)state;
    double worst = 0.0;
    for (int ci = 0; ci < N_CASES; ci++) {
        const attn_case *c = &CASES[ci];
        tg_rng rng;
        tg_rng_seed(&rng, 100 + ci);
        tg_tensor *q = tu_randn_grad(&rng, TG_SHAPE(c->B, c->Lq, c->H * c->D));
        tg_tensor *k = tu_randn_grad(&rng, TG_SHAPE(c->B, c->Lk, c->H * c->D));
        tg_tensor *v = tu_randn_grad(&rng, TG_SHAPE(c->B, c->Lk, c->H * c->Dv));
        tg_tensor_normal(q, &rng, 0.0f, 2.0f); /* peaked softmax rows too */
        uint8_t *kp, *al;
        tg_attn_mask m = make_mask(c, &rng, &kp, &al);
        int64_t no = (int64_t)c->B * c->Lq * c->H * c->Dv;
        float *dout = malloc((size_t)no * sizeof *dout);
        for (int64_t i = 0; i < no; i++) dout[i] = tg_rng_normal(&rng);

        attn_result a = run_form(0, c, q, k, v, &m, dout), f = run_form(1, c, q, k, v, &m, dout);
        double d[4] = {rel_diff(f.out, a.out, no), rel_diff(f.dq, a.dq, q->size),
                       rel_diff(f.dk, a.dk, k->size), rel_diff(f.dv, a.dv, v->size)};
        printf("  fused vs composed, %-34s out %.2e  dq %.2e  dk %.2e  dv %.2e\n", c->name, d[0],
               d[1], d[2], d[3]);
        for (int i = 0; i < 4; i++) {
            if (!(d[i] <= 1e-5))
                fail_msg("%s: fused and composed differ (%s: %.3g > 1e-5)", c->name,
                         (const char *[]){"out", "dq", "dk", "dv"}[i], d[i]);
            worst = fmax(worst, d[i]);
        }
        /* rows whose every key is masked: output 0 and dq 0 in both forms */
        int C = c->H * c->D, Cv = c->H * c->Dv;
        for (int b = 0; b < c->B; b++)
            for (int i = 0; i < c->Lq; i++) {
                int any = 0;
                for (int j = 0; j < c->Lk && !any; j++) any = tg_attn_mask_allows(&m, b, i, j, c->Lq, c->Lk);
                if (any) continue;
                for (int x = 0; x < Cv; x++) {
                    int64_t at = ((int64_t)b * c->Lq + i) * Cv + x;
                    if (f.out[at] != 0.0f || a.out[at] != 0.0f)
                        fail_msg("%s: fully masked row b=%d i=%d not zero", c->name, b, i);
                }
                for (int x = 0; x < C; x++) {
                    int64_t at = ((int64_t)b * c->Lq + i) * C + x;
                    if (f.dq[at] != 0.0f || a.dq[at] != 0.0f || isnan(f.dq[at]))
                        fail_msg("%s: fully masked row b=%d i=%d has dq != 0", c->name, b, i);
                }
            }
        result_free(&a);
        result_free(&f);
        free(dout);
        free(kp);
        free(al);
        tg_tensor_free(q);
        tg_tensor_free(k);
        tg_tensor_free(v);
    }
    printf("  fused vs composed: worst normwise relative difference %.2e over %d cases\n", worst,
           N_CASES);
}

/* ---- finite-difference checks of both forms ------------------------------ */

typedef struct {
    int fused, H;
    float scale;
    const tg_attn_mask *m;
} gc_user;

static tg_tensor *attn_fn(tg_tape *tp, tg_tensor *const *x, int n, void *user) {
    (void)n;
    const gc_user *u = user;
    return u->fused ? tg_attention(tp, x[0], x[1], x[2], u->H, u->scale, u->m, NULL)
                    : tg_attention_composed(tp, x[0], x[1], x[2], u->H, u->scale, u->m, NULL);
}

static void test_gradcheck_masks(void **state) {
    (void)state;
    static const attn_case G[] = {
        {"none", 2, 5, 5, 2, 3, 3, 0, 0, 0, 0, 0},
        {"key padding + all-padded entry", 3, 4, 6, 1, 3, 2, 0, 0, 2, 1, 0},
        {"causal", 1, 7, 7, 2, 3, 3, 1, 0, 0, 0, 0},
        {"window 1", 1, 7, 7, 1, 4, 4, 0, 1, 0, 0, 0},
        {"boolean", 2, 8, 5, 1, 3, 3, 0, 0, 0, 0, 1},
    };
    for (int gi = 0; gi < 5; gi++) {
        const attn_case *c = &G[gi];
        tg_rng rng;
        tg_rng_seed(&rng, 7 + gi);
        tg_tensor *q = tu_randn_grad(&rng, TG_SHAPE(c->B, c->Lq, c->H * c->D));
        tg_tensor *k = tu_randn_grad(&rng, TG_SHAPE(c->B, c->Lk, c->H * c->D));
        tg_tensor *v = tu_randn_grad(&rng, TG_SHAPE(c->B, c->Lk, c->H * c->Dv));
        uint8_t *kp, *al;
        tg_attn_mask m = make_mask(c, &rng, &kp, &al);
        for (int fused = 0; fused < 2; fused++) {
            gc_user u = {fused, c->H, 1.0f / sqrtf((float)c->D), &m};
            char name[96];
            snprintf(name, sizeof name, "%s attention, mask %s", fused ? "fused" : "composed",
                     c->name);
            TU_GRADCHECK(name, attn_fn, 3, ((tg_tensor *[]){q, k, v}), &u, NULL);
        }
        free(kp);
        free(al);
        tg_tensor_free(q);
        tg_tensor_free(k);
        tg_tensor_free(v);
    }
}

/* ---- threads ---------------------------------------------------------------- */

static void test_fused_thread_bit_identity(void **state) {
    (void)state;
#ifdef _OPENMP
    attn_case c = {"threads", 2, 150, 150, 3, 8, 8, 1, 0, 5, 0, 0};
    tg_rng rng;
    tg_rng_seed(&rng, 31);
    tg_tensor *q = tu_randn_grad(&rng, TG_SHAPE(c.B, c.Lq, c.H * c.D));
    tg_tensor *k = tu_randn_grad(&rng, TG_SHAPE(c.B, c.Lk, c.H * c.D));
    tg_tensor *v = tu_randn_grad(&rng, TG_SHAPE(c.B, c.Lk, c.H * c.Dv));
    uint8_t *kp, *al;
    tg_attn_mask m = make_mask(&c, &rng, &kp, &al);
    int64_t no = (int64_t)c.B * c.Lq * c.H * c.Dv;
    float *dout = malloc((size_t)no * sizeof *dout);
    for (int64_t i = 0; i < no; i++) dout[i] = tg_rng_normal(&rng);
    int saved = tg_get_num_threads();
    tg_set_num_threads(1);
    attn_result r1 = run_form(1, &c, q, k, v, &m, dout);
    tg_set_num_threads(2);
    attn_result r2 = run_form(1, &c, q, k, v, &m, dout);
    tg_set_num_threads(saved);
    assert_memory_equal(r1.out, r2.out, (size_t)no * sizeof(float));
    assert_memory_equal(r1.dq, r2.dq, (size_t)q->size * sizeof(float));
    assert_memory_equal(r1.dk, r2.dk, (size_t)k->size * sizeof(float));
    assert_memory_equal(r1.dv, r2.dv, (size_t)v->size * sizeof(float));
    printf("  fused attention: 1 and 2 threads bit-identical (out, dq, dk, dv)\n");
    result_free(&r1);
    result_free(&r2);
    free(dout);
    free(kp);
    tg_tensor_free(q);
    tg_tensor_free(k);
    tg_tensor_free(v);
#else
    printf("  built without OpenMP: thread test skipped\n");
#endif
}

/* ---- attention weights --------------------------------------------------------- */

static void test_weights_readout(void **state) {
    (void)state;
    attn_case c = {"weights", 2, 70, 83, 2, 4, 4, 0, 20, 30, 0, 0};
    tg_rng rng;
    tg_rng_seed(&rng, 5);
    tg_tensor *q = tu_randn(&rng, TG_SHAPE(c.B, c.Lq, c.H * c.D));
    tg_tensor *k = tu_randn(&rng, TG_SHAPE(c.B, c.Lk, c.H * c.D));
    tg_tensor *v = tu_randn(&rng, TG_SHAPE(c.B, c.Lk, c.H * c.Dv));
    uint8_t *kp, *al;
    tg_attn_mask m = make_mask(&c, &rng, &kp, &al);
    int64_t nw = (int64_t)c.B * c.H * c.Lq * c.Lk;
    float *wf = malloc((size_t)nw * sizeof *wf);
    tg_tape *tp = tg_tape_new(0);
    tg_tensor *wc = NULL;
    tg_attention(tp, q, k, v, c.H, 0.5f, &m, wf);
    tg_attention_composed(tp, q, k, v, c.H, 0.5f, &m, &wc);
    assert_non_null(wc);
    assert_int_equal(wc->size, nw);
    double d = tu_max_abs_diff(wf, wc->data, nw);
    int full = 0, empty = 0;
    for (int b = 0; b < c.B; b++)
        for (int h = 0; h < c.H; h++)
            for (int i = 0; i < c.Lq; i++) {
                const float *w = wf + (((int64_t)b * c.H + h) * c.Lq + i) * c.Lk;
                double s = 0.0;
                int any = 0;
                for (int j = 0; j < c.Lk; j++) {
                    s += w[j];
                    int ok = tg_attn_mask_allows(&m, b, i, j, c.Lq, c.Lk);
                    any |= ok;
                    if (!ok && w[j] != 0.0f) fail_msg("masked weight nonzero at b%d h%d i%d j%d", b, h, i, j);
                }
                if (any) {
                    full++;
                    if (fabs(s - 1.0) > 1e-5) fail_msg("row b%d h%d i%d sums to %.8f", b, h, i, s);
                } else {
                    empty++;
                    assert_true(s == 0.0);
                }
            }
    printf("  weights readout: %d rows sum to 1, %d fully masked rows are 0; fused vs composed "
           "max |diff| %.2e\n", full, empty, d);
    assert_true(d < 1e-6);
    assert_true(empty > 0);
    tg_tape_free(tp);
    free(wf);
    free(kp);
    tg_tensor_free(q);
    tg_tensor_free(k);
    tg_tensor_free(v);
}

/* ---- the mask tensor -------------------------------------------------------- */

static void test_mask_tensor(void **state) {
    (void)state;
    tg_tape *tp = tg_tape_new(0);
    assert_null(tg_attn_mask_tensor(tp, NULL, 2, 3, 3));
    assert_null(tg_attn_mask_tensor(tp, &(tg_attn_mask){0}, 2, 3, 3));
    /* causal + window 1 on [4, 4]: shared by the batch */
    tg_tensor *t = tg_attn_mask_tensor(tp, &(tg_attn_mask){.causal = 1, .window = 1}, 2, 4, 4);
    assert_int_equal(t->ndim, 2);
    static const int want[4][4] = {{1, 0, 0, 0}, {1, 1, 0, 0}, {0, 1, 1, 0}, {0, 0, 1, 1}};
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
            assert_true(want[i][j] ? t->data[i * 4 + j] == 0.0f : t->data[i * 4 + j] == -INFINITY);
    /* key padding: [B, 1, Lq, Lk] */
    static const uint8_t kp[2 * 3] = {1, 1, 0, 1, 0, 0};
    t = tg_attn_mask_tensor(tp, &(tg_attn_mask){.key_padding = kp}, 2, 2, 3);
    assert_int_equal(t->ndim, 4);
    assert_int_equal(t->shape[0], 2);
    assert_int_equal(t->shape[1], 1);
    for (int b = 0; b < 2; b++)
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 3; j++)
                assert_true(kp[b * 3 + j] ? t->data[(b * 2 + i) * 3 + j] == 0.0f
                                          : t->data[(b * 2 + i) * 3 + j] == -INFINITY);
    tg_tape_free(tp);
}

/* ---- memory ----------------------------------------------------------------- */

static void test_fused_memory_linear(void **state) {
    (void)state;
    int L = 2048, C = 16;
    tg_rng rng;
    tg_rng_seed(&rng, 3);
    tg_tensor *q = tu_randn_grad(&rng, TG_SHAPE(1, L, C));
    tg_tensor *k = tu_randn_grad(&rng, TG_SHAPE(1, L, C));
    tg_tensor *v = tu_randn_grad(&rng, TG_SHAPE(1, L, C));
    tg_tape *tp = tg_tape_new(0);
    tg_tensor *o = tg_attention(tp, q, k, v, 1, 0.25f, &(tg_attn_mask){.causal = 1}, NULL);
    assert_int_equal(tg_backward(tp, tg_sum(tp, o)), TG_OK);
    size_t peak = tg_tape_bytes_peak(tp), one_LL = (size_t)L * L * sizeof(float);
    printf("  fused attention L=%d: tape peak %zu bytes (one [L, L] matrix: %zu)\n", L, peak,
           one_LL);
    assert_true(peak < one_LL / 8);
    tg_tape_free(tp);
    tg_tensor_free(q);
    tg_tensor_free(k);
    tg_tensor_free(v);
}

/* ---- errors ----------------------------------------------------------------- */

static void test_errors(void **state) {
    (void)state;
    tg_tape *tp = tg_tape_new(0);
    tg_tensor *q = tg_tensor_new(TG_SHAPE(2, 5, 6)), *k = tg_tensor_new(TG_SHAPE(2, 7, 6)),
              *v = tg_tensor_new(TG_SHAPE(2, 8, 6)), *q4 = tg_tensor_new(TG_SHAPE(2, 1, 5, 6));
    TU_EXPECT_DEATH(tg_attention(tp, q, k, v, 2, 1.0f, NULL, NULL),
                    "tg_attention: shapes do not fit q [B, Lq, H·D], k [B, Lk, H·D], v [B, Lk, "
                    "H·Dv]: q is [2, 5, 6], k is [2, 7, 6], v is [2, 8, 6]");
    TU_EXPECT_DEATH(tg_attention(tp, q, k, k, 4, 1.0f, NULL, NULL),
                    "tg_attention: n_heads = 4 must divide the last dims of q [2, 5, 6]");
    TU_EXPECT_DEATH(tg_attention(tp, q4, k, k, 1, 1.0f, NULL, NULL),
                    "tg_attention: q, k, v must be [B, L, H·D]: q is [2, 1, 5, 6]");
    TU_EXPECT_DEATH(tg_attention_composed(tp, q, k, v, 2, 1.0f, NULL, NULL),
                    "tg_attention_composed: shapes do not fit");
    TU_EXPECT_DEATH(tg_attention(tp, q, k, k, 2, 1.0f, &(tg_attn_mask){.window = -1}, NULL),
                    "tg_attention: mask window must be >= 0");
    tg_tensor_free(q);
    tg_tensor_free(k);
    tg_tensor_free(v);
    tg_tensor_free(q4);
    tg_tape_free(tp);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fused_equals_composed),
        cmocka_unit_test(test_gradcheck_masks),
        cmocka_unit_test(test_fused_thread_bit_identity),
        cmocka_unit_test(test_weights_readout),
        cmocka_unit_test(test_mask_tensor),
        cmocka_unit_test(test_fused_memory_linear),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
