/* tests/test_custom.c — the worked example of docs/custom_ops.md: softplus
 * as a user-defined operation, gradient-checked like a built-in one. */
#define _POSIX_C_SOURCE 200809L
#include "tests/helpers/testutil.h"

#include <math.h>

/* softplus(x) = log(1 + eˣ), computed as max(x, 0) + log1p(e^−|x|) so large
 * |x| neither overflows nor loses the small term.
 * d softplus/dx = eˣ/(1 + eˣ) = sigmoid(x). */
static void softplus_forward(tg_tensor *out, tg_tensor *const *in, int n_in, void *ctx) {
    (void)n_in;
    (void)ctx;
    const float *x = in[0]->data;
    for (int64_t i = 0; i < out->size; i++)
        out->data[i] = fmaxf(x[i], 0.0f) + log1pf(expf(-fabsf(x[i])));
}

/* y = softplus(x)  =>  dx += dy · sigmoid(x).  Only ADD into in[i]->grad,
 * and only when it is not NULL (the input may not require grad). */
static void softplus_backward(const tg_tensor *out, tg_tensor *const *in, int n_in, void *ctx) {
    (void)n_in;
    (void)ctx;
    const tg_tensor *x = in[0];
    if (!x->grad) return;
    for (int64_t i = 0; i < out->size; i++)
        x->grad[i] += out->grad[i] / (1.0f + expf(-x->data[i]));
}

static const tg_custom_op softplus_op = {"softplus", softplus_forward, softplus_backward};

static tg_tensor *softplus(tg_tape *tp, tg_tensor *x) {
    return tg_custom(tp, &softplus_op, 1, &x, x->ndim, x->shape, NULL, 0);
}

/* A custom op with saved state: y = x^p for a constant p kept in ctx. */
typedef struct {
    float p;
} power_ctx;

static void power_forward(tg_tensor *out, tg_tensor *const *in, int n_in, void *ctx) {
    (void)n_in;
    float p = ((power_ctx *)ctx)->p;
    for (int64_t i = 0; i < out->size; i++) out->data[i] = powf(in[0]->data[i], p);
}

/* y = x^p  =>  dx += dy · p · x^(p−1) */
static void power_backward(const tg_tensor *out, tg_tensor *const *in, int n_in, void *ctx) {
    (void)n_in;
    float p = ((power_ctx *)ctx)->p;
    if (!in[0]->grad) return;
    for (int64_t i = 0; i < out->size; i++)
        in[0]->grad[i] += out->grad[i] * p * powf(in[0]->data[i], p - 1.0f);
}

static const tg_custom_op power_op = {"power", power_forward, power_backward};

/* The same op with a deliberately wrong backward (the factor p dropped):
 * the gradient check must catch it. */
static void power_backward_wrong(const tg_tensor *out, tg_tensor *const *in, int n_in, void *ctx) {
    (void)n_in;
    float p = ((power_ctx *)ctx)->p;
    for (int64_t i = 0; i < out->size; i++)
        in[0]->grad[i] += out->grad[i] * powf(in[0]->data[i], p - 1.0f);
}

static const tg_custom_op power_op_wrong = {"power_wrong", power_forward, power_backward_wrong};

static tg_tensor *f_softplus_mlp(tg_tape *tp, tg_tensor *const *x, int n, void *user) {
    (void)n;
    (void)user;
    return softplus(tp, tg_matmul(tp, x[0], x[1], 0, 0)); /* softplus(a·w) */
}

static tg_tensor *f_power(tg_tape *tp, tg_tensor *const *x, int n, void *user) {
    (void)n;
    const tg_custom_op *op = user;
    power_ctx c = {3.0f};
    return tg_custom(tp, op, 1, x, x[0]->ndim, x[0]->shape, &c, sizeof c);
}

static void test_softplus_values_and_gradient(void **state) {
    (void)state;
    tg_tape *tp = tg_tape_new(0);
    tg_tensor *x = tg_tensor_new(TG_SHAPE(4));
    const float v[4] = {-100.0f, -1.0f, 0.0f, 50.0f};
    tg_tensor_copy_from(x, v);
    tg_tensor *y = softplus(tp, x);
    assert_float_equal(y->data[0], 0.0f, 1e-30);
    assert_float_equal(y->data[1], log1pf(expf(-1.0f)), 1e-7);
    assert_float_equal(y->data[2], logf(2.0f), 1e-7);
    assert_float_equal(y->data[3], 50.0f, 1e-5);
    assert_int_equal(tg_tape_n_nodes(tp), 0); /* x requires no grad: nothing recorded */
    tg_tape_free(tp);
    tg_tensor_free(x);

    tg_rng rng;
    tg_rng_seed(&rng, 7);
    tg_tensor *a = tu_randn_grad(&rng, TG_SHAPE(5, 3));
    tg_tensor *w = tu_randn_grad(&rng, TG_SHAPE(3, 4));
    TU_GRADCHECK("softplus(a·w)", f_softplus_mlp, 2, ((tg_tensor *[]){a, w}), NULL, NULL);
    tg_tensor_free(a);
    tg_tensor_free(w);
}

static void test_custom_node_prints_its_name(void **state) {
    (void)state;
    tg_tensor *x = tg_tensor_new_grad(TG_SHAPE(2, 2));
    tg_tape *tp = tg_tape_new(0);
    softplus(tp, x);
    assert_int_equal(tg_tape_node(tp, 0)->op, TG_OP_custom);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    tg_tape_print(tp, f);
    fclose(f);
    assert_non_null(strstr(buf, "softplus"));
    free(buf);
    tg_tape_free(tp);
    tg_tensor_free(x);
}

static void test_saved_ctx_and_wrong_backward_is_caught(void **state) {
    (void)state;
    tg_rng rng;
    tg_rng_seed(&rng, 8);
    tg_tensor *x = tu_uniform_grad(&rng, 0.5f, 2.0f, TG_SHAPE(3, 3));
    TU_GRADCHECK("x^3", f_power, 1, &x, (void *)&power_op, NULL);
    tg_gradcheck_result r;
    assert_int_equal(tg_gradcheck(f_power, 1, &x, (void *)&power_op_wrong, NULL, &r), 0);
    assert_true(r.max_rel_err > 0.5); /* off by the factor 3 */
    tg_tensor_free(x);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_softplus_values_and_gradient),
        cmocka_unit_test(test_custom_node_prints_its_name),
        cmocka_unit_test(test_saved_ctx_and_wrong_backward_is_caught),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
