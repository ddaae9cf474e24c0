/* tests/test_cnn.c — nn/cnn: the Conv2d and BatchNorm2d layers, the CNN
 * family's configuration (check, count, width search, format/parse and
 * their errors), its parameter names, a gradient check of the whole model
 * in training and evaluation mode, running statistics saved in and restored
 * from a checkpoint, no heap allocation after the first step, and learning
 * on a toy task (plus a short Fashion-MNIST run when `make data` has run). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tests/helpers/testutil.h"

static const tg_cnn_config tiny = {.image_h = 8, .image_w = 6, .channels = 2, .n_classes = 3,
                                   .width = 2, .n_stages = 2, .convs_per_stage = 1};

/* ---- configuration -------------------------------------------------------- */

static void test_config(void **state) {
    (void)state;
    assert_int_equal(tg_cnn_config_check(&tiny), TG_OK);
    struct { tg_cnn_config c; const char *msg; } bad[] = {
        {{8, 6, 2, 3, 0, 2, 1, 0, 0}, "cnn config: width: expected an integer >= 1, found 0"},
        {{8, 6, 0, 3, 2, 2, 1, 0, 0}, "cnn config: channels: expected an integer >= 1, found 0"},
        {{8, 6, 2, 3, 2, 4, 1, 0, 0}, "cnn config: n_stages 4 halves image_h 8 to 0"},
        {{8, 3, 2, 3, 2, 2, 1, 0, 0}, "cnn config: n_stages 2 halves image_w 3 to 0"},
        {{8, 6, 2, 3, 2, 2, 0, 0, 0}, "convs_per_stage: expected an integer >= 1, found 0"},
        {{8, 6, 2, 3, 2, 2, 1, 1.0f, 0}, "dropout: expected a number in [0, 1), found 1"},
        {{8, 6, 2, 3, 2, 2, 1, 0, 2}, "flatten: expected an integer in 0..1, found 2"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(tg_cnn_config_check(&bad[i].c), TG_ERR_ARG);
        if (!strstr(tg_last_error(), bad[i].msg))
            fail_msg("expected \"%s\", got \"%s\"", bad[i].msg, tg_last_error());
    }
    assert_int_equal(tg_cnn_config_check(NULL), TG_ERR_ARG);

    /* format -> parse gives the same config back, any key order */
    tg_cnn_config c = tiny, d;
    c.dropout = 0.1f, c.flatten = 1;
    char buf[256];
    int len = tg_cnn_config_format(&c, buf, sizeof buf);
    assert_int_equal(len, (int)strlen(buf));
    assert_string_equal(buf, "{\"image_h\":8,\"image_w\":6,\"channels\":2,\"n_classes\":3,\"width\":2,"
                             "\"n_stages\":2,\"convs_per_stage\":1,\"dropout\":0.1,\"flatten\":1}");
    assert_int_equal(tg_cnn_config_parse(buf, "t", &d), TG_OK);
    assert_memory_equal(&c, &d, sizeof c);
    assert_int_equal(tg_cnn_config_parse("flatten=0 dropout=0 convs_per_stage=1 n_stages=2 "
                                         "width=2 n_classes=3 channels=2 image_w=6 image_h=8",
                                         "t", &d), TG_OK);
    assert_int_equal(d.flatten, 0);
    /* errors leave *cfg untouched */
    struct { const char *text, *msg; tg_status st; } perr[] = {
        {"image_h=8", "ck: missing key 'image_w'", TG_ERR_FORMAT},
        {"bogus=1", "ck: unknown key 'bogus'", TG_ERR_FORMAT},
        {"width", "ck: expected key=value, found 'width'", TG_ERR_FORMAT},
        {"image_h=8 image_h=8", "ck: key 'image_h' given twice", TG_ERR_FORMAT},
        {"image_h=x8", "ck: image_h: expected an integer >= 1, found 'x8'", TG_ERR_FORMAT},
        {"image_h=8 image_w=6 channels=2 n_classes=3 width=2 n_stages=9 convs_per_stage=1 "
         "dropout=0 flatten=0", "ck: n_stages 9 halves image_h 8 to 0", TG_ERR_FORMAT},
        {"{\"image_h\":8,\"image_w\":6,\"channels\":2,\"n_classes\":3,\"width\":2,\"n_stages\":17,"
         "\"convs_per_stage\":1,\"dropout\":0,\"flatten\":0}", "ck: n_stages: expected an integer in 1..16, found 17",
         TG_ERR_FORMAT},
    };
    for (size_t i = 0; i < sizeof perr / sizeof perr[0]; i++) {
        tg_cnn_config e = c;
        assert_int_equal(tg_cnn_config_parse(perr[i].text, "ck", &e), perr[i].st);
        if (!strstr(tg_last_error(), perr[i].msg))
            fail_msg("expected \"%s\", got \"%s\"", perr[i].msg, tg_last_error());
        assert_memory_equal(&e, &c, sizeof c);
    }
}

/* The count matches the parameters tg_cnn_init creates, by hand for tiny;
 * the width search finds the nearest width. */
static void test_count_and_names(void **state) {
    (void)state;
    /* conv 2->2: 36, bn 4; conv 2->4: 72, bn 8; head 4·3 + 3 = 15 */
    assert_int_equal(tg_cnn_param_count(&tiny), 36 + 4 + 72 + 8 + 15);
    tg_cnn_config f = tiny;
    f.flatten = 1; /* the map after two pools is 2×1×4 = 8 features */
    assert_int_equal(tg_cnn_param_count(&f), 36 + 4 + 72 + 8 + 8 * 3 + 3);
    for (int flatten = 0; flatten < 2; flatten++) {
        tg_cnn_config c = {.image_h = 28, .image_w = 28, .channels = 1, .n_classes = 10,
                           .width = 24, .n_stages = 3, .convs_per_stage = 2, .flatten = flatten};
        tg_params ps;
        tg_params_init(&ps);
        tg_rng rng;
        tg_rng_seed(&rng, 1);
        tg_cnn m;
        tg_cnn_init(&m, &ps, &c, &rng);
        assert_int_equal(tg_params_count(&ps), tg_cnn_param_count(&c));
        assert_non_null(tg_params_find(&ps, "stages.0.0.conv.weight"));
        assert_null(tg_params_find(&ps, "stages.0.0.conv.bias"));
        tg_tensor *w = tg_params_find(&ps, "stages.2.1.conv.weight");
        assert_non_null(w);
        int want[4] = {96, 3, 3, 96};
        assert_memory_equal(w->shape, want, sizeof want);
        tg_tensor *rv = tg_params_find(&ps, "stages.1.0.bn.running_var");
        assert_true(rv && (rv->flags & TG_BUFFER) && rv->data[0] == 1.0f);
        assert_non_null(tg_params_find(&ps, "stages.1.0.bn.running_mean"));
        assert_non_null(tg_params_find(&ps, "head.weight"));
        /* torch's Conv2d init: |w| <= 1/sqrt(9·c_in) */
        for (int64_t i = 0; i < w->size; i++) assert_true(fabsf(w->data[i]) <= 1.0f / sqrtf(9 * 96.0f));
        tg_cnn_free(&m);
        tg_params_free(&ps);
        /* nearest width */
        int64_t target = tg_cnn_param_count(&c) + 5;
        assert_int_equal(tg_cnn_width_for_params(&c, target), 24);
        int wd = tg_cnn_width_for_params(&c, 100000);
        tg_cnn_config lo = c, hi = c;
        lo.width = wd - 1, hi.width = wd + 1;
        c.width = wd;
        int64_t e = llabs(tg_cnn_param_count(&c) - 100000);
        assert_true(e <= llabs(tg_cnn_param_count(&lo) - 100000));
        assert_true(e <= llabs(tg_cnn_param_count(&hi) - 100000));
    }
    assert_int_equal(tg_cnn_width_for_params(&tiny, 0), 1);
}

/* ---- gradient check of the whole model ------------------------------------ */

typedef struct {
    tg_cnn *m;
    int training;
} model_user;

static tg_tensor *f_model(tg_tape *tp, tg_tensor *const *x, int n, void *user) {
    (void)n;
    model_user *u = user;
    tg_tape_set_training(tp, u->training);
    return tg_cnn_forward(tp, u->m, x[0], NULL);
}

static void test_model_grad(void **state) {
    (void)state;
    for (int flatten = 0; flatten < 2; flatten++)
        for (int training = 1; training >= 0; training--) {
            tg_cnn_config c = tiny;
            c.flatten = flatten;
            tg_params ps;
            tg_params_init(&ps);
            tg_rng rng;
            tg_rng_seed(&rng, 3);
            tg_cnn m;
            tg_cnn_init(&m, &ps, &c, &rng);
            /* running statistics away from 0 / 1, so evaluation differs from training */
            for (int i = 0; i < ps.n; i++)
                if (strstr(ps.t[i]->name, "running_mean"))
                    tg_tensor_uniform(ps.t[i], &rng, -0.1f, 0.1f);
                else if (strstr(ps.t[i]->name, "running_var"))
                    tg_tensor_uniform(ps.t[i], &rng, 0.05f, 0.2f); /* conv outputs are small */
            tg_tensor *in[64];
            in[0] = tu_randn_grad(&rng, TG_SHAPE(3, 8, 6, 2));
            int n = tu_with_params(in, 1, &ps);
            model_user u = {&m, training};
            char name[64];
            snprintf(name, sizeof name, "cnn %s%s", training ? "train" : "eval",
                     flatten ? " flatten" : "");
            /* relu and max-pool kinks: a small step; float noise grows with it */
            tg_gradcheck_opts o = {.h = 5e-4, .tol = 2e-2, .floor = 2e-2, .max_per_input = 64,
                                   .seed = 2};
            tg_gradcheck_result r;
            tg_gradcheck(f_model, n, in, &u, &o, &r);
            tg_gradcheck_print(stdout, name, &r);
            assert_true(r.passed);
            assert_true(fabs(r.analytic) > 0.0 || fabs(r.numeric) > 0.0); /* not all dead */
            tg_tensor_free(in[0]);
            tg_cnn_free(&m);
            tg_params_free(&ps);
        }
}

/* Running statistics survive a checkpoint, and evaluation reproduces the
 * logits after loading into a fresh model. */
static void test_checkpoint_running_stats(void **state) {
    (void)state;
    tg_rng rng;
    tg_rng_seed(&rng, 4);
    tg_params ps, ps2;
    tg_params_init(&ps), tg_params_init(&ps2);
    tg_cnn m, m2;
    tg_cnn_init(&m, &ps, &tiny, &rng);
    tg_cnn_init(&m2, &ps2, &tiny, &rng); /* other weights */
    tg_tensor *x = tu_randn(&rng, TG_SHAPE(4, 8, 6, 2));
    tg_tape *tp = tg_tape_new(0);
    for (int i = 0; i < 3; i++) { /* three training forwards move the statistics */
        tg_tape_reset(tp);
        tg_cnn_forward(tp, &m, x, NULL);
    }
    tg_tensor *rm = tg_params_find(&ps, "stages.1.0.bn.running_mean");
    assert_true(rm->data[0] != 0.0f);
    tg_tape_set_training(tp, 0);
    tg_tape_reset(tp);
    tg_tensor *y1 = tg_cnn_forward(tp, &m, x, NULL);
    float want[12];
    memcpy(want, y1->data, sizeof want);
    const char *path = tu_tmp_path("cnn.safetensors");
    assert_int_equal(tg_checkpoint_save(path, &ps, NULL), TG_OK);
    assert_int_equal(tg_checkpoint_load(path, &ps2, NULL), TG_OK);
    assert_memory_equal(tg_params_find(&ps2, "stages.1.0.bn.running_var")->data,
                        tg_params_find(&ps, "stages.1.0.bn.running_var")->data, 4 * sizeof(float));
    tg_tape_reset(tp);
    tg_tensor *y2 = tg_cnn_forward(tp, &m2, x, NULL);
    assert_memory_equal(y2->data, want, sizeof want);
    tg_tape_free(tp);
    tg_tensor_free(x);
    tg_cnn_free(&m), tg_cnn_free(&m2);
    tg_params_free(&ps), tg_params_free(&ps2);
}

/* ---- training ------------------------------------------------------------- */

/* A toy task: class k of 3 is a bright 3×3 blob in one of three places on
 * noise.  Adam steps on fixed batches; the arena stops growing after the
 * first step; the loss falls and the training accuracy in evaluation mode
 * (running statistics) ends high. */
static void toy_batch(tg_rng *rng, int B, float *x, int32_t *y) {
    for (int b = 0; b < B; b++) {
        int k = (int)tg_rng_below(rng, 3);
        y[b] = k;
        for (int i = 0; i < 12 * 12; i++) x[b * 144 + i] = 0.3f * tg_rng_normal(rng);
        int cy = k == 0 ? 2 : k == 1 ? 8 : 2, cx = k == 0 ? 2 : k == 1 ? 5 : 8;
        for (int dy = 0; dy < 3; dy++)
            for (int dx = 0; dx < 3; dx++) x[b * 144 + (cy + dy) * 12 + cx + dx] += 1.5f;
    }
}

static void test_training_toy(void **state) {
    (void)state;
    tg_cnn_config c = {.image_h = 12, .image_w = 12, .channels = 1, .n_classes = 3,
                       .width = 4, .n_stages = 2, .convs_per_stage = 1, .dropout = 0.1f};
    tg_params ps;
    tg_params_init(&ps);
    tg_rng rng, drop;
    tg_rng_seed(&rng, 5);
    tg_rng_seed(&drop, 6);
    tg_cnn m;
    tg_cnn_init(&m, &ps, &c, &rng);
    tg_adam opt;
    tg_adamw_init(&opt, &ps, 1e-2f, 0.9f, 0.999f, 1e-8f, 1e-4f);
    enum { B = 32 };
    tg_tape *tp = tg_tape_new(0);
    tg_tensor *x = tg_tensor_new(TG_SHAPE(B, 12, 12, 1));
    int32_t y[B];
    float first = 0.0f, last = 0.0f;
    long allocs = 0;
    for (int step = 0; step < 60; step++) {
        toy_batch(&rng, B, x->data, y);
        tg_tape_reset(tp);
        tg_tape_set_training(tp, 1);
        tg_params_zero_grad(&ps);
        tg_tensor *loss = tg_cross_entropy(tp, tg_cnn_forward(tp, &m, x, &drop), y, -1, TG_MEAN);
        assert_int_equal(tg_backward(tp, loss), TG_OK);
        tg_adam_step(&opt);
        if (step == 0) first = loss->data[0];
        if (step >= 55) last += loss->data[0] / 5.0f;
        if (step == 1) allocs = tg_tape_heap_allocs(tp);
        if (step > 1) assert_int_equal(tg_tape_heap_allocs(tp), allocs);
    }
    printf("toy CNN: loss %.3f -> %.3f\n", first, last);
    assert_true(last < 0.5f * first);
    toy_batch(&rng, B, x->data, y);
    tg_tape_reset(tp);
    tg_tape_set_training(tp, 0);
    tg_tensor *logits = tg_cnn_forward(tp, &m, x, NULL);
    int right = 0;
    for (int b = 0; b < B; b++) {
        int best = 0;
        for (int k = 1; k < 3; k++)
            if (logits->data[b * 3 + k] > logits->data[b * 3 + best]) best = k;
        right += best == y[b];
    }
    printf("toy CNN: evaluation accuracy %d/%d\n", right, B);
    assert_true(right >= B * 9 / 10);
    tg_tape_free(tp);
    tg_tensor_free(x);
    tg_adam_free(&opt);
    tg_cnn_free(&m);
    tg_params_free(&ps);
}

static void test_forward_errors(void **state) {
    (void)state;
    tg_params ps;
    tg_params_init(&ps);
    tg_rng rng;
    tg_rng_seed(&rng, 7);
    tg_cnn m;
    tg_cnn_init(&m, &ps, &tiny, &rng);
    tg_tensor *x = tg_tensor_new(TG_SHAPE(2, 8, 6, 1));
    tg_tape *tp = tg_tape_new(0);
    TU_EXPECT_DEATH(tg_cnn_forward(tp, &m, x, NULL), "tg_cnn_forward: images must be [B, 8, 6, 2], got [2, 8, 6, 1]");
    tg_cnn_config bad = tiny;
    bad.width = 0;
    tg_cnn m2;
    TU_EXPECT_DEATH(tg_cnn_init(&m2, &ps, &bad, &rng), "width: expected an integer >= 1, found 0");
    tg_tape_free(tp);
    tg_tensor_free(x);
    tg_cnn_free(&m);
    tg_params_free(&ps);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_count_and_names),
        cmocka_unit_test(test_model_grad),
        cmocka_unit_test(test_checkpoint_running_stats),
        cmocka_unit_test(test_training_toy),
        cmocka_unit_test(test_forward_errors),
    };
    return cmocka_run_group_tests_name("cnn", tests, tu_tmpdir_setup, tu_tmpdir_teardown);
}
