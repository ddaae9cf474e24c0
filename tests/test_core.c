/* tests/test_core.c — the tape: recording, printing, no-grad, arena reuse,
 * non-finite reports, thread-count independence. */
#define _POSIX_C_SOURCE 200809L
#include "tests/helpers/testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

/* A two-layer perceptron on a tape: logits = W2·tanh(W1·x + b1) + b2. */
typedef struct {
    tg_tensor *w1, *b1, *w2, *b2;
} mlp;

static void mlp_make(mlp *m, tg_rng *rng, int in, int hidden, int out) {
    m->w1 = tu_randn_grad(rng, TG_SHAPE(in, hidden));
    m->b1 = tu_randn_grad(rng, TG_SHAPE(hidden));
    m->w2 = tu_randn_grad(rng, TG_SHAPE(hidden, out));
    m->b2 = tu_randn_grad(rng, TG_SHAPE(out));
    m->w1->name = "w1";
    m->b1->name = "b1";
    m->w2->name = "w2";
    m->b2->name = "b2";
}

static void mlp_free(mlp *m) {
    tg_tensor_free(m->w1);
    tg_tensor_free(m->b1);
    tg_tensor_free(m->w2);
    tg_tensor_free(m->b2);
}

static void mlp_zero(mlp *m) {
    tg_tensor_zero_grad(m->w1);
    tg_tensor_zero_grad(m->b1);
    tg_tensor_zero_grad(m->w2);
    tg_tensor_zero_grad(m->b2);
}

static tg_tensor *mlp_forward(tg_tape *tp, const mlp *m, tg_tensor *x) {
    tg_tensor *h = tg_tanh(tp, tg_add(tp, tg_matmul(tp, x, m->w1, 0, 0), m->b1));
    return tg_add(tp, tg_matmul(tp, h, m->w2, 0, 0), m->b2);
}

static void test_records_prints_and_dots(void **state) {
    (void)state;
    tg_rng rng;
    tg_rng_seed(&rng, 1);
    mlp m;
    mlp_make(&m, &rng, 3, 5, 2);
    tg_tape *tp = tg_tape_new(0);
    tg_tensor *x = tg_tape_tensor(tp, TG_SHAPE(4, 3));
    x->name = "x";
    int32_t y[4] = {0, 1, 1, 0};
    tg_tensor *loss = tg_cross_entropy(tp, mlp_forward(tp, &m, x), y, -1, TG_MEAN);
    assert_int_equal(tg_tape_n_nodes(tp), 6); /* matmul add tanh matmul add cross_entropy */
    assert_int_equal(tg_tape_node(tp, 0)->op, TG_OP_matmul);
    assert_int_equal(tg_tape_node(tp, 5)->op, TG_OP_cross_entropy);

    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    tg_tape_print(tp, f);
    fclose(f);
    assert_non_null(strstr(buf, "tape: 6 nodes"));
    assert_non_null(strstr(buf, "matmul"));
    assert_non_null(strstr(buf, "x [4, 3], w1 [3, 5]"));
    assert_non_null(strstr(buf, "cross_entropy  [1]"));
    free(buf);

    f = open_memstream(&buf, &len);
    tg_tape_dot(tp, f);
    fclose(f);
    assert_non_null(strstr(buf, "digraph tape {"));
    assert_non_null(strstr(buf, "n0 -> n1;"));
    assert_non_null(strstr(buf, "label=\"w1\\n[3, 5]  120 B\\ndata μ")); /* data + grad bytes, statistics */
    free(buf);

    assert_int_equal(tg_backward(tp, loss), TG_OK);
    tg_tape_free(tp);
    mlp_free(&m);
}

static void test_no_grad_records_nothing(void **state) {
    (void)state;
    tg_rng rng;
    tg_rng_seed(&rng, 2);
    mlp m;
    mlp_make(&m, &rng, 3, 4, 2);
    tg_tape *tp = tg_tape_new(0);
    tg_tensor *x = tg_tape_tensor(tp, TG_SHAPE(2, 3));
    tg_tensor *with = mlp_forward(tp, &m, x);
    int nodes = tg_tape_n_nodes(tp);
    assert_true(nodes > 0);
    assert_int_equal(tg_tape_set_grad(tp, 0), 1);
    tg_tensor *without = mlp_forward(tp, &m, x);
    assert_int_equal(tg_tape_n_nodes(tp), nodes);
    assert_false(without->flags & TG_REQUIRES_GRAD);
    assert_memory_equal(with->data, without->data, (size_t)with->size * sizeof(float));
    tg_tape_free(tp);
    mlp_free(&m);
}

/* After the largest step, a loop of steps makes no heap allocation. */
static void test_arena_reused_across_steps(void **state) {
    (void)state;
    tg_rng rng;
    tg_rng_seed(&rng, 3);
    mlp m;
    mlp_make(&m, &rng, 16, 64, 8);
    tg_tape *tp = tg_tape_new(4096); /* deliberately small: the first step must grow it */
    long allocs_after_first = 0;
    for (int step = 0; step < 5; step++) {
        tg_tape_reset(tp);
        tg_tensor *x = tg_tape_tensor(tp, TG_SHAPE(32, 16));
        tg_tensor_normal(x, &rng, 0, 1);
        int32_t *y = tg_tape_alloc(tp, 32 * sizeof *y);
        for (int i = 0; i < 32; i++) y[i] = i % 8;
        tg_tensor *loss = tg_cross_entropy(tp, mlp_forward(tp, &m, x), y, -1, TG_SUM);
        assert_int_equal(tg_backward(tp, loss), TG_OK);
        if (step == 1) allocs_after_first = tg_tape_heap_allocs(tp);
    }
    assert_true(allocs_after_first > 1);
    assert_int_equal(tg_tape_heap_allocs(tp), allocs_after_first);
    assert_true(tg_tape_bytes_peak(tp) <= tg_tape_bytes_reserved(tp));
    tg_tape_free(tp);
    mlp_free(&m);
}

/* By default the sweep releases activation gradients for reuse: leaves get
 * the same gradients as with tg_tape_set_keep_grads(tp, 1), activations end
 * with grad NULL, and the tape needs less memory. */
static void test_activation_grads_recycled(void **state) {
    (void)state;
    tg_rng rng;
    tg_rng_seed(&rng, 4);
    mlp m;
    mlp_make(&m, &rng, 16, 64, 8);
    tg_tensor *x = tu_randn(&rng, TG_SHAPE(64, 16));
    int32_t y[64];
    for (int i = 0; i < 64; i++) y[i] = i % 8;
    float *g[2];
    size_t peak[2];
    for (int keep = 0; keep < 2; keep++) {
        tg_tape *tp = tg_tape_new(0);
        assert_int_equal(tg_tape_set_keep_grads(tp, keep), 0);
        mlp_zero(&m);
        tg_tensor *h = tg_tanh(tp, tg_add(tp, tg_matmul(tp, x, m.w1, 0, 0), m.b1));
        tg_tensor *loss = tg_cross_entropy(tp, tg_add(tp, tg_matmul(tp, h, m.w2, 0, 0), m.b2), y, -1, TG_SUM);
        assert_int_equal(tg_backward(tp, loss), TG_OK);
        if (keep) assert_non_null(h->grad);
        else assert_null(h->grad);
        assert_non_null(loss->grad);
        g[keep] = malloc(16 * 64 * sizeof(float));
        memcpy(g[keep], m.w1->grad, 16 * 64 * sizeof(float));
        peak[keep] = tg_tape_bytes_peak(tp);
        tg_tape_free(tp);
    }
    assert_memory_equal(g[0], g[1], 16 * 64 * sizeof(float));
    assert_true(peak[0] < peak[1]);
    free(g[0]);
    free(g[1]);
    tg_tensor_free(x);
    mlp_free(&m);
}

static void test_arena_limit_reports_bytes(void **state) {
    (void)state;
    tg_tape *tp = tg_tape_new(0);
    tg_tape_set_limit(tp, 1000);
    TU_EXPECT_DEATH(tg_tape_alloc(tp, 4096), "requested 4096 bytes, 0 used, 1000 available");
    tg_tape_free(tp);
}

/* relu(log(x)) at x = 0: the loss is finite (relu(−inf) = 0), but
 * d log/dx = dy/x = 0/0 is NaN: the report must name the log node. */
static void test_nonfinite_gradient_names_op(void **state) {
    (void)state;
    tg_tensor *x = tg_tensor_new_grad(TG_SHAPE(3));
    x->name = "x";
    x->data[0] = 1.0f;
    x->data[1] = 0.0f;
    x->data[2] = 2.0f;
    tg_tape *tp = tg_tape_new(0);
    tg_tensor *loss = tg_sum(tp, tg_relu(tp, tg_log(tp, x)));
    assert_true(isfinite(loss->data[0]));
    assert_int_equal(tg_backward(tp, loss), TG_ERR_NONFINITE);
    const char *msg = tg_last_error();
    assert_non_null(strstr(msg, "non-finite gradient of x [3]"));
    assert_non_null(strstr(msg, "(log)"));
    tg_tape_free(tp);
    tg_tensor_free(x);
}

static void test_nonfinite_loss_names_op(void **state) {
    (void)state;
    tg_tensor *x = tg_tensor_new_grad(TG_SHAPE(2, 2));
    tg_tape *tp = tg_tape_new(0);
    tg_tensor *loss = tg_sum(tp, tg_scale(tp, tg_log(tp, x), 2.0f)); /* log(0) = −inf */
    assert_int_equal(tg_backward(tp, loss), TG_ERR_NONFINITE);
    assert_non_null(strstr(tg_last_error(), "by node 0 (log) [2, 2]"));
    tg_tape_free(tp);
    tg_tensor_free(x);
}

static void test_backward_misuse_dies(void **state) {
    (void)state;
    tg_tape *tp = tg_tape_new(0);
    tg_tensor *x = tg_tensor_new_grad(TG_SHAPE(2, 3));
    tg_tensor *y = tg_tanh(tp, x);
    TU_EXPECT_DEATH(tg_backward(tp, y), "tg_backward: loss must have one element, got shape [2, 3]");
    tg_tape_set_grad(tp, 0);
    tg_tensor *s = tg_sum(tp, x);
    TU_EXPECT_DEATH(tg_backward(tp, s), "loss was not produced by a recorded node");
    tg_tape_free(tp);
    tg_tensor_free(x);
}

#ifdef _OPENMP
/* A whole forward + backward, big enough that every kernel runs threaded,
 * gives bit-identical values and gradients with 1 and 2 threads. */
static void run_model(int threads, float **grads, float *loss_out) {
    tg_set_num_threads(threads);
    tg_rng rng;
    tg_rng_seed(&rng, 42);
    enum { B = 8, T = 64, C = 96, V = 50 };
    tg_tensor *emb = tu_randn_grad(&rng, TG_SHAPE(V, C));
    tg_tensor *w = tu_randn_grad(&rng, TG_SHAPE(C, C));
    tg_tensor *g = tu_randn_grad(&rng, TG_SHAPE(C));
    tg_tensor *bb = tu_randn_grad(&rng, TG_SHAPE(C));
    tg_tensor *head = tu_randn_grad(&rng, TG_SHAPE(V, C));
    int32_t ids[B * T], tgt[B * T];
    for (int i = 0; i < B * T; i++) {
        ids[i] = (int32_t)tg_rng_below(&rng, V);
        tgt[i] = i % 7 == 0 ? -1 : (int32_t)tg_rng_below(&rng, V);
    }
    tg_tape *tp = tg_tape_new(0);
    tg_tensor *x = tg_embedding(tp, emb, ids, TG_SHAPE(B, T));           /* [B, T, C] */
    tg_tensor *h = tg_layernorm(tp, tg_gelu(tp, tg_matmul(tp, x, w, 0, 0)), g, bb, 1e-5f);
    tg_tensor *q = tg_reshape(tp, h, TG_SHAPE(B, T, C));
    tg_tensor *att = tg_softmax(tp, tg_scale(tp, tg_matmul(tp, q, q, 0, 1), 0.1f), NULL);
    tg_tensor *o = tg_add(tp, tg_matmul(tp, att, h, 0, 0), x);            /* [B, T, C] */
    tg_tensor *logits = tg_matmul(tp, o, head, 0, 1);                      /* [B, T, V] */
    tg_tensor *loss = tg_cross_entropy(tp, logits, tgt, -1, TG_SUM);
    assert_int_equal(tg_backward(tp, loss), TG_OK);
    *loss_out = loss->data[0];
    tg_tensor *ps[] = {emb, w, g, bb, head};
    for (int i = 0; i < 5; i++) {
        grads[i] = malloc((size_t)ps[i]->size * sizeof(float));
        memcpy(grads[i], ps[i]->grad, (size_t)ps[i]->size * sizeof(float));
        tg_tensor_free(ps[i]);
    }
    tg_tape_free(tp);
}
#endif

static void test_bit_identical_1_vs_2_threads(void **state) {
    (void)state;
#ifndef _OPENMP
    skip();
#else
    int saved = omp_get_max_threads();
    float *g1[5], *g2[5], l1, l2;
    run_model(1, g1, &l1);
    run_model(2, g2, &l2);
    tg_set_num_threads(saved);
    assert_memory_equal(&l1, &l2, sizeof l1);
    const int64_t sizes[5] = {50 * 96, 96 * 96, 96, 96, 50 * 96};
    for (int i = 0; i < 5; i++) {
        assert_memory_equal(g1[i], g2[i], (size_t)sizes[i] * sizeof(float));
        free(g1[i]);
        free(g2[i]);
    }
#endif
}

/* Two sweeps on one tape are independent: the second does not push the
 * first loss's activation gradients into the leaves again. */
static void test_second_sweep_is_independent(void **state) {
    (void)state;
    tg_tensor *x = tg_tensor_new_grad(TG_SHAPE(4));
    tg_tape *tp = tg_tape_new(0);
    tg_tensor *l1 = tg_sum(tp, tg_scale(tp, x, 2.0f));
    tg_tensor *l2 = tg_sum(tp, tg_scale(tp, x, 3.0f));
    assert_int_equal(tg_backward(tp, l1), TG_OK);
    assert_int_equal(tg_backward(tp, l2), TG_OK);
    for (int i = 0; i < 4; i++) assert_true(x->grad[i] == 5.0f); /* 2 + 3, not 2 + 2 + 3 */
    tg_tape_free(tp);
    tg_tensor_free(x);
}

/* A softmax row of NaNs is not a "fully masked" row: it must stay NaN so
 * the tape reports it, in both forms of attention's softmax. */
static void test_nan_row_is_reported_not_masked(void **state) {
    (void)state;
    tg_tensor *x = tg_tensor_new_grad(TG_SHAPE(2, 3));
    for (int i = 0; i < 6; i++) x->data[i] = i < 3 ? NAN : (float)i;
    tg_tape *tp = tg_tape_new(0);
    tg_tensor *y = tg_softmax(tp, x, NULL);
    assert_true(isnan(y->data[0]) && isnan(y->data[2]));
    assert_true(isfinite(y->data[3]));
    tg_tensor *loss = tg_sum(tp, tg_mul(tp, y, y));
    assert_int_equal(tg_backward(tp, loss), TG_ERR_NONFINITE);
    assert_non_null(strstr(tg_last_error(), "(softmax)"));
    tg_tape_free(tp);
    tg_tensor_free(x);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_records_prints_and_dots),
        cmocka_unit_test(test_no_grad_records_nothing),
        cmocka_unit_test(test_arena_reused_across_steps),
        cmocka_unit_test(test_activation_grads_recycled),
        cmocka_unit_test(test_arena_limit_reports_bytes),
        cmocka_unit_test(test_nonfinite_gradient_names_op),
        cmocka_unit_test(test_nonfinite_loss_names_op),
        cmocka_unit_test(test_backward_misuse_dies),
        cmocka_unit_test(test_second_sweep_is_independent),
        cmocka_unit_test(test_nan_row_is_reported_not_masked),
        cmocka_unit_test(test_bit_identical_1_vs_2_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
