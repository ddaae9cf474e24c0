/* tests/test_optim.c — SGD, Adam, AdamW, weight-decay selection, learning-
 * rate schedules, gradient clipping.  Reference trajectories are computed
 * independently here in double precision. */
#include "helpers/testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/params.h"
#include "optim/optim.h"

/* Relative-or-absolute closeness for float results against double references. */
static void expect_close(const char *what, double got, double want, double tol) {
    double err = fabs(got - want) / fmax(1.0, fabs(want));
    if (err > tol) fail_msg("%s: got %.9g, want %.9g (rel err %.3g > %.3g)", what, got, want, err, tol);
}

/* The 2-element problem: loss ½Σ(θ − c)², g = θ − c. */
static const double C[2] = {0.3, -1.7};

static void set_quadratic_grad(tg_params *ps, tg_tensor *w) {
    tg_params_zero_grad(ps);
    for (int i = 0; i < 2; i++) w->grad[i] = w->data[i] - (float)C[i];
}

/* Kingma & Ba Algorithm 1 in double, optionally with L2 (coupled) or
 * decoupled decay; writes the θ after each of n steps into traj[step][i]. */
static void ref_adam(const double theta0[2], int n, double lr, double b1, double b2, double eps,
                     double wd, int decoupled, double traj[][2]) {
    double th[2] = {theta0[0], theta0[1]}, m[2] = {0, 0}, v[2] = {0, 0};
    for (int t = 1; t <= n; t++) {
        for (int i = 0; i < 2; i++) {
            double g = th[i] - C[i];
            if (!decoupled) g += wd * th[i];
            m[i] = b1 * m[i] + (1 - b1) * g;
            v[i] = b2 * v[i] + (1 - b2) * g * g;
            double mh = m[i] / (1 - pow(b1, t)), vh = v[i] / (1 - pow(b2, t));
            double p = th[i];
            if (decoupled) p -= lr * wd * th[i];
            th[i] = p - lr * mh / (sqrt(vh) + eps);
            traj[t - 1][i] = th[i];
        }
    }
}

static void run_adam_case(int decoupled, double wd) {
    tg_params ps;
    tg_params_init(&ps);
    tg_tensor *w = tg_params_new(&ps, TG_SHAPE(2), "w");
    const double th0[2] = {1.0, 0.5};
    w->data[0] = (float)th0[0];
    w->data[1] = (float)th0[1];
    const double lr = 0.1, b1 = 0.9, b2 = 0.999, eps = 1e-8;
    double traj[3][2];
    ref_adam(th0, 3, lr, b1, b2, eps, wd, decoupled, traj);
    tg_adam opt;
    if (decoupled)
        tg_adamw_init(&opt, &ps, (float)lr, (float)b1, (float)b2, (float)eps, (float)wd);
    else
        tg_adam_init(&opt, &ps, (float)lr, (float)b1, (float)b2, (float)eps, (float)wd);
    for (int s = 0; s < 3; s++) {
        set_quadratic_grad(&ps, w);
        tg_adam_step(&opt);
        char what[128];
        for (int i = 0; i < 2; i++) {
            snprintf(what, sizeof what, "%s step %d theta[%d]", decoupled ? "adamw" : "adam", s + 1, i);
            expect_close(what, w->data[i], traj[s][i], 2e-6);
        }
    }
    assert_int_equal(opt.t, 3);
    tg_adam_free(&opt);
    tg_params_free(&ps);
}

static void test_adam_three_steps(void **state) {
    (void)state;
    run_adam_case(0, 0.0);
    run_adam_case(0, 0.05);
    run_adam_case(1, 0.05);
}

/* Hand-computed numbers for the first step, no library formula reused:
 * θ = (1, 0.5), g = θ − c = (0.7, 2.2), lr 0.1, so step 1 moves each element
 * by 0.1·g/(|g| + 1e-8) = 0.1·(1 − ~1e-8): θ1 = (0.9, 0.4). */
static void test_adam_bias_correction_step1(void **state) {
    (void)state;
    tg_params ps;
    tg_params_init(&ps);
    tg_tensor *w = tg_params_new(&ps, TG_SHAPE(3), "w");
    w->data[0] = 1.0f, w->data[1] = 0.5f, w->data[2] = -2.0f;
    tg_adam opt;
    tg_adam_init(&opt, &ps, 0.1f, 0.9f, 0.999f, 1e-8f, 0.0f);
    w->grad[0] = 0.7f, w->grad[1] = 2.2f, w->grad[2] = -1e-3f;
    tg_adam_step(&opt);
    expect_close("theta[0]", w->data[0], 0.9, 1e-6);
    expect_close("theta[1]", w->data[1], 0.4, 1e-6);
    expect_close("theta[2]", w->data[2], -1.9, 1e-6); /* tiny gradient, full lr step */
    /* the gradient block is left as it was */
    assert_true(w->grad[0] == 0.7f && w->grad[2] == -1e-3f);
    tg_adam_free(&opt);
    tg_params_free(&ps);
}

/* With a zero gradient, AdamW only decays: θ ← θ(1 − ηλ) exactly, while Adam
 * with L2 sees g = λθ and takes a full ~η step on step 1. */
static void test_adamw_decoupled_vs_l2(void **state) {
    (void)state;
    tg_params ps;
    tg_params_init(&ps);
    tg_tensor *w = tg_params_new(&ps, TG_SHAPE(2, 2), "w");
    for (int i = 0; i < 4; i++) w->data[i] = 2.0f;
    tg_adam a, aw;
    tg_adamw_init(&aw, &ps, 0.01f, 0.9f, 0.999f, 1e-8f, 0.1f);
    tg_params_zero_grad(&ps);
    tg_adam_step(&aw);
    float expect_w = 2.0f - 0.01f * 0.1f * 2.0f;
    for (int i = 0; i < 4; i++) assert_true(w->data[i] == expect_w);
    expect_close("adamw decay", w->data[0], 2.0 * (1 - 0.001), 1e-7);
    tg_adam_free(&aw);

    for (int i = 0; i < 4; i++) w->data[i] = 2.0f;
    tg_adam_init(&a, &ps, 0.01f, 0.9f, 0.999f, 1e-8f, 0.1f);
    tg_params_zero_grad(&ps);
    tg_adam_step(&a);
    expect_close("adam l2", w->data[0], 2.0 - 0.01, 1e-6); /* g = 0.2, step η·sign(g) */
    tg_adam_free(&a);
    tg_params_free(&ps);
}

static int decay_by_name(const tg_tensor *t, void *user) {
    return strcmp(t->name, (const char *)user) == 0;
}

/* tg_decay_matrices: the [3, 2] weight decays, the [3] bias and the LayerNorm
 * gain are bit-for-bit untouched (zero gradient); likewise for SGD. */
static void test_no_decay_selection(void **state) {
    (void)state;
    tg_params ps;
    tg_params_init(&ps);
    tg_tensor *w = tg_params_new(&ps, TG_SHAPE(3, 2), "fc.weight");
    tg_tensor *b = tg_params_new(&ps, TG_SHAPE(3), "fc.bias");
    tg_tensor *g = tg_params_new(&ps, TG_SHAPE(2), "ln.weight");
    for (int i = 0; i < 6; i++) w->data[i] = 1.0f + (float)i;
    for (int i = 0; i < 3; i++) b->data[i] = 0.5f - (float)i;
    for (int i = 0; i < 2; i++) g->data[i] = 1.0f;
    float b0[3], g0[2], w0[6];
    memcpy(b0, b->data, sizeof b0);
    memcpy(g0, g->data, sizeof g0);
    memcpy(w0, w->data, sizeof w0);

    tg_adam opt;
    tg_adamw_init(&opt, &ps, 0.1f, 0.9f, 0.95f, 1e-8f, 0.5f);
    tg_adam_set_decay(&opt, tg_decay_matrices, NULL);
    tg_params_zero_grad(&ps);
    tg_adam_step(&opt);
    assert_memory_equal(b->data, b0, sizeof b0);
    assert_memory_equal(g->data, g0, sizeof g0);
    for (int i = 0; i < 6; i++) assert_true(w->data[i] == w0[i] - 0.1f * 0.5f * w0[i]);
    tg_adam_free(&opt);

    memcpy(w->data, w0, sizeof w0);
    tg_sgd sgd;
    tg_sgd_init(&sgd, &ps, 0.1f, 0.9f, 0.5f, 0);
    tg_sgd_set_decay(&sgd, decay_by_name, "fc.bias"); /* only the bias decays */
    tg_params_zero_grad(&ps);
    tg_sgd_step(&sgd);
    assert_memory_equal(w->data, w0, sizeof w0);
    assert_memory_equal(g->data, g0, sizeof g0);
    for (int i = 0; i < 3; i++) assert_true(b->data[i] == b0[i] - 0.1f * (0.5f * b0[i]));
    tg_sgd_free(&sgd);
    tg_params_free(&ps);
}

/* SGD: classical and Nesterov momentum with L2, 4 steps against double. */
static void run_sgd_case(int nesterov, double mu, double wd) {
    tg_params ps;
    tg_params_init(&ps);
    tg_tensor *w = tg_params_new(&ps, TG_SHAPE(2), "w");
    double th[2] = {1.0, 0.5}, buf[2] = {0, 0};
    w->data[0] = 1.0f, w->data[1] = 0.5f;
    const double lr = 0.2;
    tg_sgd opt;
    tg_sgd_init(&opt, &ps, (float)lr, (float)mu, (float)wd, nesterov);
    for (int s = 0; s < 4; s++) {
        set_quadratic_grad(&ps, w);
        tg_sgd_step(&opt);
        for (int i = 0; i < 2; i++) {
            double g = th[i] - C[i] + wd * th[i];
            buf[i] = mu * buf[i] + g;
            double d = mu > 0 ? (nesterov ? g + mu * buf[i] : buf[i]) : g;
            th[i] -= lr * d;
            char what[128];
            snprintf(what, sizeof what, "sgd(mu %g, nesterov %d) step %d theta[%d]", mu, nesterov,
                     s + 1, i);
            expect_close(what, w->data[i], th[i], 2e-6);
        }
    }
    tg_sgd_free(&opt);
    tg_params_free(&ps);
}

static void test_sgd_momentum(void **state) {
    (void)state;
    run_sgd_case(0, 0.0, 0.0);
    run_sgd_case(0, 0.9, 0.0);
    run_sgd_case(1, 0.9, 0.01);
    /* hand numbers: θ 1, c 0.3, lr 0.2, μ 0.9: g1 0.7, b1 0.7, θ1 0.86;
     * g2 0.56, b2 0.63 + 0.56 = 1.19, θ2 0.86 − 0.238 = 0.622 */
    tg_params ps;
    tg_params_init(&ps);
    tg_tensor *w = tg_params_new(&ps, TG_SHAPE(2), "w");
    w->data[0] = 1.0f;
    tg_sgd opt;
    tg_sgd_init(&opt, &ps, 0.2f, 0.9f, 0.0f, 0);
    set_quadratic_grad(&ps, w);
    tg_sgd_step(&opt);
    expect_close("sgd hand step 1", w->data[0], 0.86, 1e-6);
    set_quadratic_grad(&ps, w);
    tg_sgd_step(&opt);
    expect_close("sgd hand step 2", w->data[0], 0.622, 1e-6);
    tg_sgd_free(&opt);
    tg_params_free(&ps);
}

static void test_lr_schedules(void **state) {
    (void)state;
    assert_true(tg_lr_constant(12345, 0.25f) == 0.25f);
    /* warm-up 10, total 110, 1.0 -> 0.1 */
    expect_close("step 0", tg_lr_warmup_cosine(0, 1.0f, 0.1f, 10, 110), 0.1, 1e-7);
    expect_close("step 4", tg_lr_warmup_cosine(4, 1.0f, 0.1f, 10, 110), 0.5, 1e-7);
    expect_close("warmup end (step 9)", tg_lr_warmup_cosine(9, 1.0f, 0.1f, 10, 110), 1.0, 1e-7);
    expect_close("decay start (step 10)", tg_lr_warmup_cosine(10, 1.0f, 0.1f, 10, 110), 1.0, 1e-7);
    expect_close("quarter (step 35)", tg_lr_warmup_cosine(35, 1.0f, 0.1f, 10, 110),
                 0.1 + 0.45 * (1 + cos(3.14159265358979323846 / 4)), 1e-6);
    expect_close("midpoint (step 60)", tg_lr_warmup_cosine(60, 1.0f, 0.1f, 10, 110), 0.55, 1e-6);
    expect_close("end (step 110)", tg_lr_warmup_cosine(110, 1.0f, 0.1f, 10, 110), 0.1, 1e-7);
    expect_close("after end", tg_lr_warmup_cosine(500, 1.0f, 0.1f, 10, 110), 0.1, 1e-7);
    expect_close("no warmup", tg_lr_warmup_cosine(0, 1.0f, 0.0f, 0, 100), 1.0, 1e-7);
    /* monotone non-increasing after warm-up */
    float prev = 2.0f;
    for (int s = 10; s <= 110; s++) {
        float lr = tg_lr_warmup_cosine(s, 1.0f, 0.1f, 10, 110);
        assert_true(lr <= prev);
        prev = lr;
    }
    TU_EXPECT_DEATH(tg_lr_warmup_cosine(0, 1.0f, 0.1f, 20, 10), "warmup_steps <= total_steps");
}

static void test_clip_grad_norm(void **state) {
    (void)state;
    tg_params ps;
    tg_params_init(&ps);
    tg_tensor *a = tg_params_new(&ps, TG_SHAPE(2), "a");
    tg_tensor *b = tg_params_new(&ps, TG_SHAPE(1, 2), "b");
    a->grad[0] = 3.0f, a->grad[1] = 0.0f;
    b->grad[0] = 0.0f, b->grad[1] = -4.0f;
    float n = tg_clip_grad_norm(&ps, 1.0f);
    assert_true(n == 5.0f);
    expect_close("a0", a->grad[0], 0.6, 1e-7);
    expect_close("b1", b->grad[1], -0.8, 1e-7);
    expect_close("norm after", tg_grad_norm(&ps), 1.0, 1e-6);
    /* below the threshold: returned, nothing changed */
    float before[2] = {a->grad[0], b->grad[1]};
    n = tg_clip_grad_norm(&ps, 10.0f);
    expect_close("norm returned", n, 1.0, 1e-6);
    assert_true(a->grad[0] == before[0] && b->grad[1] == before[1]);
    /* a larger random block: the clipped norm is max_norm */
    tg_params big;
    tg_params_init(&big);
    tg_tensor *x = tg_params_new(&big, TG_SHAPE(100, 37), "x");
    tg_rng rng;
    tg_rng_seed(&rng, 5);
    for (int64_t i = 0; i < x->size; i++) x->grad[i] = tg_rng_normal(&rng);
    float n0 = tg_clip_grad_norm(&big, 0.5f);
    assert_true(n0 > 0.5f);
    expect_close("clipped norm", tg_grad_norm(&big), 0.5, 1e-6);
    /* non-finite: reported, nothing scaled */
    x->grad[3] = NAN;
    float keep = x->grad[4];
    assert_true(isnan(tg_clip_grad_norm(&big, 0.5f)));
    assert_true(x->grad[4] == keep);
    tg_params_free(&big);
    tg_params_free(&ps);
}

/* The same Adam steps with 1 and with 4 threads give the same bits. */
static void test_adam_thread_independent(void **state) {
    (void)state;
    float *res[2];
    for (int r = 0; r < 2; r++) {
        tg_set_num_threads(r == 0 ? 1 : 4);
        tg_params ps;
        tg_params_init(&ps);
        tg_tensor *x = tg_params_new(&ps, TG_SHAPE(300, 301), "x");
        tg_rng rng;
        tg_rng_seed(&rng, 9);
        for (int64_t i = 0; i < x->size; i++) x->data[i] = tg_rng_normal(&rng);
        tg_adam opt;
        tg_adamw_init(&opt, &ps, 1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f);
        for (int s = 0; s < 3; s++) {
            for (int64_t i = 0; i < x->size; i++) x->grad[i] = tg_rng_normal(&rng);
            tg_clip_grad_norm(&ps, 1.0f);
            tg_adam_step(&opt);
        }
        res[r] = malloc((size_t)x->size * sizeof(float));
        memcpy(res[r], x->data, (size_t)x->size * sizeof(float));
        tg_adam_free(&opt);
        tg_params_free(&ps);
    }
    assert_memory_equal(res[0], res[1], 300 * 301 * sizeof(float));
    free(res[0]);
    free(res[1]);
    tg_set_num_threads(tg_get_num_threads());
}

static void test_optim_programmer_errors(void **state) {
    (void)state;
    tg_params ps;
    tg_params_init(&ps);
    tg_params_new(&ps, TG_SHAPE(2), "a");
    tg_adam opt;
    TU_EXPECT_DEATH(tg_adam_init(&opt, &ps, 1e-3f, 1.0f, 0.999f, 1e-8f, 0.0f),
                    "tg_adam_init: beta1 must be in [0, 1), got 1");
    TU_EXPECT_DEATH(tg_sgd_init(&(tg_sgd){0}, &ps, 0.1f, 0.0f, 0.0f, 1),
                    "Nesterov momentum needs momentum > 0");
    tg_adam_init(&opt, &ps, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.0f);
    tg_params_new(&ps, TG_SHAPE(40), "late");
    TU_EXPECT_DEATH(tg_adam_step(&opt), "create the optimizer after the last tg_params_new");
    TU_EXPECT_DEATH(tg_clip_grad_norm(&ps, 0.0f), "max_norm must be > 0");
    tg_adam_free(&opt);
    tg_params_free(&ps);
}

/* EMA: the warm-up schedule by hand, and swap twice is the identity. */
static void test_ema(void **state) {
    (void)state;
    tg_params ps;
    tg_params_init(&ps);
    tg_tensor *w = tg_params_new(&ps, TG_SHAPE(3), "w");
    w->data[0] = 1.0f;
    tg_ema ema;
    tg_ema_init(&ema, &ps, 0.9f);
    double a = 1.0;
    for (int t = 1; t <= 50; t++) {
        w->data[0] = (float)t;
        tg_ema_update(&ema);
        double d = (1.0 + t) / (10.0 + t);
        if (d > 0.9) d = 0.9;
        a += (1.0 - d) * ((double)t - a);
        assert_float_equal(ema.avg[0], (float)a, 1e-4 * a);
    }
    tg_ema_swap(&ema);
    assert_float_equal(w->data[0], (float)a, 1e-4 * a);
    assert_float_equal(ema.avg[0], 50.0f, 0.0f);
    tg_ema_swap(&ema);
    assert_float_equal(w->data[0], 50.0f, 0.0f);
    tg_ema_free(&ema);
    tg_params_free(&ps);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ema),
        cmocka_unit_test(test_adam_three_steps),
        cmocka_unit_test(test_adam_bias_correction_step1),
        cmocka_unit_test(test_adamw_decoupled_vs_l2),
        cmocka_unit_test(test_no_decay_selection),
        cmocka_unit_test(test_sgd_momentum),
        cmocka_unit_test(test_lr_schedules),
        cmocka_unit_test(test_clip_grad_norm),
        cmocka_unit_test(test_adam_thread_independent),
        cmocka_unit_test(test_optim_programmer_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
