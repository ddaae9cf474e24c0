/* tests/test_vmath.c — accuracy of core/kernels/vmath.h (tg__expf,
 * tg__expm1f, tg__tanhf, tg__sigmoidf, tg__exp_sum) against double-precision
 * libm over dense sweeps, random points and special values; the unary ops
 * that use them against their formulas; and the dropout mask against the
 * tg_rng_uniform stream it must reproduce bit for bit.
 *
 * The bounds are set a little above what this build measures (printed on
 * each line); see the error table in core/kernels/vmath.h.
 */
#include <math.h>

#include "core/kernels/vmath.h"
#include "tests/helpers/testutil.h"

#define FLT_MIN_F 1.17549435e-38f

static double rel_err(double got, double want) {
    if (want == 0.0) return fabs(got);
    return fabs(got - want) / fabs(want);
}

/* The worst relative error of f against ref over xs[0..n), x with keep(x). */
typedef struct {
    double err;
    float at;
} worst;

static void track(worst *w, float x, double got, double want) {
    double e = rel_err(got, want);
    if (e > w->err || isnan(e)) {
        w->err = isnan(e) ? INFINITY : e;
        w->at = x;
    }
}

/* Sweep points: every 1e-3 on [−20, 20], then n_rand uniform on [lo, hi). */
static float *sweep_points(int64_t *n, int n_rand, float lo, float hi) {
    int64_t n_grid = 40001;
    float *x = malloc((size_t)(n_grid + n_rand) * sizeof *x);
    assert_non_null(x);
    for (int64_t i = 0; i < n_grid; i++) x[i] = (float)(-20.0 + 1e-3 * (double)i);
    tg_rng r;
    tg_rng_seed(&r, 2024);
    for (int i = 0; i < n_rand; i++) x[n_grid + i] = lo + (hi - lo) * tg_rng_uniform(&r);
    *n = n_grid + n_rand;
    return x;
}

static void report(const char *name, worst w, double bound) {
    printf("%-34s max relative error %.3g at x = %.9g (bound %.1e): %s\n", name, w.err,
           (double)w.at, bound, w.err <= bound ? "ok" : "FAIL");
    if (!(w.err <= bound)) fail_msg("%s: max relative error %.3g at x = %.9g > %.1e", name, w.err,
                                    (double)w.at, bound);
}

/* Loops as the ops write them (they vectorise here too). */
static void map_exp(const float *x, float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = tg__expf(x[i]);
}
static void map_expm1(const float *x, float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = tg__expm1f(x[i]);
}
static void map_tanh(const float *x, float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = tg__tanhf(x[i]);
}
static void map_sigmoid(const float *x, float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = tg__sigmoidf(x[i]);
}

static void test_expf_accuracy(void **state) {
    (void)state;
    int64_t n;
    float *x = sweep_points(&n, 1000000, -87.33f, 88.72f), *y = malloc((size_t)n * sizeof *y);
    map_exp(x, y, n);
    worst w = {0};
    for (int64_t i = 0; i < n; i++) track(&w, x[i], y[i], exp((double)x[i]));
    report("tg__expf on [-87.33, 88.72]", w, 1.5e-7);
    free(x);
    free(y);
}

static void test_expm1f_accuracy(void **state) {
    (void)state;
    int64_t n;
    float *x = sweep_points(&n, 1000000, -1.0f, 1.0f), *y = malloc((size_t)n * sizeof *y);
    map_expm1(x, y, n);
    worst w = {0};
    for (int64_t i = 0; i < n; i++) track(&w, x[i], y[i], expm1((double)x[i]));
    report("tg__expm1f on [-20, 20]", w, 3e-7);
    float tiny[] = {1e-30f, -1e-30f, 1e-10f, -3e-8f, 1.4e-45f};
    for (unsigned i = 0; i < sizeof tiny / sizeof *tiny; i++)
        assert_true(rel_err(tg__expm1f(tiny[i]), expm1((double)tiny[i])) < 1e-7);
    free(x);
    free(y);
}

static void test_tanhf_accuracy(void **state) {
    (void)state;
    int64_t n;
    float *x = sweep_points(&n, 1000000, -12.0f, 12.0f), *y = malloc((size_t)n * sizeof *y);
    map_tanh(x, y, n);
    worst w_all = {0}, w_small = {0};
    double abs_small = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double want = tanh((double)x[i]);
        track(&w_all, x[i], y[i], want);
        if (fabsf(x[i]) < 0.625f) {
            track(&w_small, x[i], y[i], want);
            abs_small = fmax(abs_small, fabs(y[i] - want));
        }
    }
    report("tg__tanhf, all x", w_all, 2e-7);
    report("tg__tanhf, |x| < 0.625", w_small, 1.2e-7);
    printf("tg__tanhf, |x| < 0.625: max absolute error %.3g\n", abs_small);
    assert_true(abs_small <= 1e-7);
    /* tiny arguments: tanh x = x */
    float tiny[] = {1e-30f, -1e-30f, 1e-10f, -3e-8f, 1.4e-45f, -1.4e-45f};
    for (unsigned i = 0; i < sizeof tiny / sizeof *tiny; i++) assert_true(tg__tanhf(tiny[i]) == tiny[i]);
    free(x);
    free(y);
}

static void test_sigmoidf_accuracy(void **state) {
    (void)state;
    int64_t n;
    float *x = sweep_points(&n, 1000000, -100.0f, 100.0f), *y = malloc((size_t)n * sizeof *y);
    map_sigmoid(x, y, n);
    worst w = {0};
    double abs_low = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double want = 1.0 / (1.0 + exp(-(double)x[i]));
        if (x[i] >= -87.0f) track(&w, x[i], y[i], want);
        else abs_low = fmax(abs_low, fabs(y[i] - want)); /* σ < FLT_MIN there */
    }
    report("tg__sigmoidf, x >= -87", w, 2e-7);
    printf("tg__sigmoidf, x < -87: max absolute error %.3g\n", abs_low);
    assert_true(abs_low <= 2 * FLT_MIN_F);
    free(x);
    free(y);
}

static void test_special_values(void **state) {
    (void)state;
    /* exp */
    assert_true(tg__expf(0.0f) == 1.0f && tg__expf(-0.0f) == 1.0f);
    assert_true(tg__expf(INFINITY) == INFINITY);
    assert_true(tg__expf(-INFINITY) == 0.0f);
    assert_true(isnan(tg__expf(NAN)));
    assert_true(isfinite(tg__expf(88.72f)) && tg__expf(88.72f) > 3.3e38f);
    assert_true(tg__expf(88.7229f) == INFINITY && tg__expf(1e30f) == INFINITY);
    assert_true(tg__expf(-87.33f) >= FLT_MIN_F);
    assert_true(tg__expf(-87.34f) == 0.0f); /* subnormal results are flushed */
    assert_true(tg__expf(-1000.0f) == 0.0f && tg__expf(-1e30f) == 0.0f);
    assert_true(tg__expf(1.0f) == expf(1.0f) || rel_err(tg__expf(1.0f), exp(1.0)) < 1.2e-7);
    /* expm1 */
    assert_true(tg__expm1f(0.0f) == 0.0f && signbit(tg__expm1f(-0.0f)));
    assert_true(tg__expm1f(-INFINITY) == -1.0f && tg__expm1f(INFINITY) == INFINITY);
    assert_true(isnan(tg__expm1f(NAN)));
    /* tanh */
    assert_true(tg__tanhf(0.0f) == 0.0f && !signbit(tg__tanhf(0.0f)));
    assert_true(tg__tanhf(-0.0f) == 0.0f && signbit(tg__tanhf(-0.0f)));
    assert_true(tg__tanhf(INFINITY) == 1.0f && tg__tanhf(-INFINITY) == -1.0f);
    assert_true(tg__tanhf(50.0f) == 1.0f && tg__tanhf(-1e30f) == -1.0f);
    assert_true(isnan(tg__tanhf(NAN)));
    /* sigmoid */
    assert_true(tg__sigmoidf(0.0f) == 0.5f);
    assert_true(tg__sigmoidf(INFINITY) == 1.0f && tg__sigmoidf(-INFINITY) == 0.0f);
    assert_true(tg__sigmoidf(100.0f) == 1.0f && tg__sigmoidf(-1000.0f) == 0.0f);
    assert_true(isnan(tg__sigmoidf(NAN)));
}

/* tg__exp_sum: values and the double sum, lengths around the chunk and the
 * 8-way split, in place and summing only. */
static void test_exp_sum(void **state) {
    (void)state;
    tg_rng r;
    tg_rng_seed(&r, 7);
    int lens[] = {1, 7, 8, 9, 100, 255, 256, 257, 1000, 4099};
    double worst_sum = 0.0;
    for (unsigned li = 0; li < sizeof lens / sizeof *lens; li++) {
        int n = lens[li];
        float *x = malloc((size_t)n * sizeof *x), *y = malloc((size_t)n * sizeof *y);
        float m = -INFINITY;
        for (int j = 0; j < n; j++) {
            x[j] = 10.0f * tg_rng_normal(&r);
            if (j % 5 == 3) x[j] = -INFINITY; /* masked */
            m = x[j] > m ? x[j] : m;
        }
        double want = 0.0;
        /* the argument is rounded to float first, as the kernel sees it */
        for (int j = 0; j < n; j++) want += exp((double)(x[j] - m));
        double s1 = tg__exp_sum(x, n, m, NULL);
        memcpy(y, x, (size_t)n * sizeof *y);
        double s2 = tg__exp_sum(y, n, m, y);
        assert_true(s1 == s2);
        worst_sum = fmax(worst_sum, rel_err(s1, want));
        for (int j = 0; j < n; j++) {
            double e = exp((double)(x[j] - m));
            /* below e^{-87.34} the result is flushed to 0 */
            int ok = x[j] == -INFINITY ? y[j] == 0.0f : fabs(y[j] - e) <= 3e-7 * e + FLT_MIN_F;
            if (!ok) fail_msg("n=%d j=%d: x - m = %.9g gives %.9g, want %.9g", n, j,
                              (double)x[j] - m, (double)y[j], e);
        }
        free(x);
        free(y);
    }
    printf("tg__exp_sum: max relative error of the sum %.3g\n", worst_sum);
    assert_true(worst_sum < 3e-7);
}

/* The ops built on them: forward values of exp, tanh, sigmoid, elu, gelu
 * against their formulas in double. */
static void test_unary_ops_forward(void **state) {
    (void)state;
    int n = 20001;
    tg_tensor *x = tg_tensor_new(TG_SHAPE(n));
    for (int i = 0; i < n; i++) x->data[i] = (float)(-10.0 + 1e-3 * i);
    tg_tape *tp = tg_tape_new(0);
    const double k = 0.7978845608028654, c = 0.044715;
    tg_tensor *ye = tg_exp(tp, x), *yt = tg_tanh(tp, x), *ys = tg_sigmoid(tp, x),
              *yl = tg_elu(tp, x, 1.5f), *yg = tg_gelu(tp, x);
    double e_exp = 0, e_tanh = 0, e_sig = 0, e_elu = 0, e_gelu = 0;
    for (int i = 0; i < n; i++) {
        double v = x->data[i];
        e_exp = fmax(e_exp, rel_err(ye->data[i], exp(v)));
        e_tanh = fmax(e_tanh, rel_err(yt->data[i], tanh(v)));
        e_sig = fmax(e_sig, rel_err(ys->data[i], 1.0 / (1.0 + exp(-v))));
        e_elu = fmax(e_elu, rel_err(yl->data[i], v > 0 ? v : 1.5 * expm1(v)));
        /* gelu: float rounding of u = k(x + c·x³) dominates; absolute error */
        double g = 0.5 * v * (1.0 + tanh(k * (v + c * v * v * v)));
        e_gelu = fmax(e_gelu, fabs(yg->data[i] - g) / fmax(1.0, fabs(g)));
    }
    printf("ops on [-10, 10]: exp %.3g, tanh %.3g, sigmoid %.3g, elu %.3g (relative), gelu %.3g "
           "(absolute)\n", e_exp, e_tanh, e_sig, e_elu, e_gelu);
    assert_true(e_exp < 2e-7 && e_tanh < 2e-7 && e_sig < 2e-7 && e_elu < 3e-7 && e_gelu < 1e-6);
    tg_tape_free(tp);
    tg_tensor_free(x);
}

/* tg_dropout's mask (integer threshold, inline generator) is the mask that
 * u_i = tg_rng_uniform >= p draws, and the rng ends in the same state. */
static void test_dropout_mask_stream(void **state) {
    (void)state;
    float ps[] = {0.1f, 0.25f, 0.5f, 0.9f, 1e-7f};
    int n = 1237;
    tg_tensor *x = tg_tensor_new(TG_SHAPE(n));
    tg_tensor_fill(x, 1.0f);
    tg_tape *tp = tg_tape_new(0);
    for (unsigned k = 0; k < sizeof ps / sizeof *ps; k++) {
        float p = ps[k], keep = 1.0f / (1.0f - p);
        tg_rng a, b;
        tg_rng_seed(&a, 99 + k);
        b = a;
        tg_tensor *y = tg_dropout(tp, x, p, &a);
        for (int i = 0; i < n; i++) {
            float want = tg_rng_uniform(&b) >= p ? keep : 0.0f;
            if (y->data[i] != want) fail_msg("dropout p=%g: element %d is %g, want %g", (double)p, i,
                                             (double)y->data[i], (double)want);
        }
        assert_memory_equal(&a, &b, sizeof a);
    }
    printf("dropout mask = tg_rng_uniform stream for p in {0.1, 0.25, 0.5, 0.9, 1e-7}: ok\n");
    tg_tape_free(tp);
    tg_tensor_free(x);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expf_accuracy),     cmocka_unit_test(test_expm1f_accuracy),
        cmocka_unit_test(test_tanhf_accuracy),    cmocka_unit_test(test_sigmoidf_accuracy),
        cmocka_unit_test(test_special_values),    cmocka_unit_test(test_exp_sum),
        cmocka_unit_test(test_unary_ops_forward), cmocka_unit_test(test_dropout_mask_stream),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
