/* tests/test_ops_a.c — unary, reduce and shape ops (core/ops/unary.c,
 * reduce.c, shape.c), and the lead's elementwise and matmul ops: forward
 * values against direct formulas, a finite-difference gradient check of
 * every op on several shapes (1-D to 4-D), error messages, and a check that
 * the gradient check itself catches a wrong backward.
 */
#include <math.h>
#include <string.h>

#include "tests/helpers/testutil.h"

/* Shapes the gradient checks run on, 1-D to 6-D. */
typedef struct {
    int ndim;
    int shape[TG_MAX_DIMS];
} shape_case;

static const shape_case SHAPES[] = {
    {1, {7}}, {2, {3, 5}}, {3, {2, 3, 4}}, {4, {2, 2, 3, 3}}, {3, {1, 1, 6}},
    {5, {2, 1, 2, 3, 2}}, {6, {1, 2, 1, 2, 2, 2}},
};
#define N_SHAPES ((int)(sizeof SHAPES / sizeof SHAPES[0]))

/* Relative-or-absolute closeness of a float result to a double reference. */
static void expect_close(const char *what, const float *got, const double *want, int64_t n,
                         double tol) {
    for (int64_t i = 0; i < n; i++) {
        double err = fabs(got[i] - want[i]) / fmax(1.0, fabs(want[i]));
        if (!(err <= tol))
            fail_msg("%s: element %lld is %.9g, expected %.9g (error %.3g > %.3g)", what,
                     (long long)i, got[i], want[i], err, tol);
    }
}

/* Moves every value with |x| < gap away from 0 by gap, keeping its sign, so
 * finite differences of step 1e-3 never straddle a kink at 0. */
static void push_from_zero(tg_tensor *t, float gap) {
    for (int64_t i = 0; i < t->size; i++)
        if (fabsf(t->data[i]) < gap) t->data[i] += t->data[i] < 0.0f ? -gap : gap;
}

/* ==== unary ============================================================== */

typedef struct {
    const char *name;
    tg_op op;
    float a;        /* slope / alpha */
    int positive;   /* domain x > 0 (log) */
} unary_case;

static const unary_case UNARY[] = {
    {"exp", TG_OP_exp, 0.0f, 0},         {"log", TG_OP_log, 0.0f, 1},
    {"tanh", TG_OP_tanh, 0.0f, 0},       {"sigmoid", TG_OP_sigmoid, 0.0f, 0},
    {"relu", TG_OP_relu, 0.0f, 0},       {"leaky_relu", TG_OP_leaky_relu, 0.1f, 0},
    {"elu", TG_OP_elu, 1.3f, 0},         {"gelu", TG_OP_gelu, 0.0f, 0},
};
#define N_UNARY ((int)(sizeof UNARY / sizeof UNARY[0]))

static tg_tensor *apply_unary(tg_tape *tp, const unary_case *u, tg_tensor *x) {
    switch (u->op) {
    case TG_OP_exp: return tg_exp(tp, x);
    case TG_OP_log: return tg_log(tp, x);
    case TG_OP_tanh: return tg_tanh(tp, x);
    case TG_OP_sigmoid: return tg_sigmoid(tp, x);
    case TG_OP_relu: return tg_relu(tp, x);
    case TG_OP_leaky_relu: return tg_leaky_relu(tp, x, u->a);
    case TG_OP_elu: return tg_elu(tp, x, u->a);
    case TG_OP_gelu: return tg_gelu(tp, x);
    default: fail_msg("not a unary op: %s", u->name); return NULL;
    }
}

/* The functions as written in core/ops.h, in double. */
static double unary_ref(const unary_case *u, double x) {
    switch (u->op) {
    case TG_OP_exp: return exp(x);
    case TG_OP_log: return log(x);
    case TG_OP_tanh: return tanh(x);
    case TG_OP_sigmoid: return 1.0 / (1.0 + exp(-x));
    case TG_OP_relu: return x > 0 ? x : 0.0;
    case TG_OP_leaky_relu: return x > 0 ? x : u->a * x;
    case TG_OP_elu: return x > 0 ? x : u->a * (exp(x) - 1.0);
    case TG_OP_gelu:
        return 0.5 * x * (1.0 + tanh(sqrt(2.0 / 3.14159265358979323846) * (x + 0.044715 * x * x * x)));
    default: return NAN;
    }
}

static tg_tensor *unary_input(tg_rng *rng, const unary_case *u, int ndim, const int *shape) {
    if (u->positive) return tu_uniform_grad(rng, 0.2f, 3.0f, ndim, shape);
    tg_tensor *x = tu_randn_grad(rng, ndim, shape);
    push_from_zero(x, 0.05f);
    return x;
}

static void test_unary_forward(void **state) {
    (void)state;
    tg_rng rng;
    tg_rng_seed(&rng, 11);
    tg_tape *tp = tg_tape_new(0);
    for (int k = 0; k < N_UNARY; k++) {
        const unary_case *u = &UNARY[k];
        tg_tensor *x = unary_input(&rng, u, TG_SHAPE(4, 33));
        for (int64_t i = 0; i < 8; i++) x->data[i] *= 4.0f; /* some large |x| too */
        tg_tensor *y = apply_unary(tp, u, x);
        assert_true(tg_shape_eq(x, y));
        double want[4 * 33];
        for (int64_t i = 0; i < x->size; i++) want[i] = unary_ref(u, x->data[i]);
        expect_close(u->name, y->data, want, x->size, 2e-6);
        tg_tensor_free(x);
        tg_tape_reset(tp);
    }
    tg_tape_free(tp);
}

/* Sigmoid in its stable form: no overflow, exact limits, finite gradient. */
static void test_sigmoid_extremes(void **state) {
    (void)state;
    tg_tape *tp = tg_tape_new(0);
    tg_tensor *x = tg_tensor_new_grad(TG_SHAPE(4));
    tg_tensor_copy_from(x, (const float[]){-1000.0f, -100.0f, 100.0f, 1000.0f});
    tg_tensor *y = tg_sigmoid(tp, x);
    assert_true(y->data[0] == 0.0f && y->data[3] == 1.0f);
    assert_true(y->data[1] >= 0.0f && y->data[1] < 1e-30f && y->data[2] == 1.0f);
    assert_int_equal(tg_backward(tp, tg_sum(tp, y)), TG_OK);
    for (int i = 0; i < 4; i++) assert_true(isfinite(x->grad[i]) && x->grad[i] >= 0.0f);
    tg_tensor_free(x);
    tg_tape_free(tp);
}

/* log of x <= 0 is -inf / NaN, as math says; the tape reports it, no abort. */
static void test_log_nonpositive(void **state) {
    (void)state;
    tg_tape *tp = tg_tape_new(0);
    tg_tensor *x = tg_tensor_new_grad(TG_SHAPE(3));
    tg_tensor_copy_from(x, (const float[]){1.0f, 0.0f, -1.0f});
    tg_tensor *y = tg_log(tp, x);
    assert_true(y->data[0] == 0.0f && isinf(y->data[1]) && y->data[1] < 0 && isnan(y->data[2]));
    assert_int_equal(tg_backward(tp, tg_sum(tp, y)), TG_ERR_NONFINITE);
    assert_non_null(strstr(tg_last_error(), "node 0 (log)"));
    tg_tensor_free(x);
    tg_tape_free(tp);
}

static tg_tensor *f_unary(tg_tape *tp, tg_tensor *const *x, int n, void *user) {
    (void)n;
    return apply_unary(tp, user, x[0]);
}

static void test_unary_grad(void **state) {
    (void)state;
    tg_rng rng;
    tg_rng_seed(&rng, 12);
    char name[64];
    for (int k = 0; k < N_UNARY; k++)
        for (int s = 0; s < N_SHAPES; s++) {
            const unary_case *u = &UNARY[k];
            tg_tensor *x = unary_input(&rng, u, SHAPES[s].ndim, SHAPES[s].shape);
            snprintf(name, sizeof name, "%s %dd", u->name, SHAPES[s].ndim);
            TU_GRADCHECK(name, f_unary, 1, (tg_tensor *[]){x}, (void *)u, NULL);
            tg_tensor_free(x);
        }
}

/* x used twice: each node's backward must add (+=), not overwrite. */
static tg_tensor *f_twice(tg_tape *tp, tg_tensor *const *x, int n, void *user) {
    (void)n, (void)user;
    return tg_mul(tp, tg_gelu(tp, x[0]), tg_exp(tp, x[0]));
}

static void test_unary_accumulates(void **state) {
    (void)state;
    tg_rng rng;
    tg_rng_seed(&rng, 13);
    tg_tensor *x = tu_randn_grad(&rng, TG_SHAPE(3, 4));
    TU_GRADCHECK("gelu(x)·exp(x)", f_twice, 1, (tg_tensor *[]){x}, NULL, NULL);
    tg_tensor_free(x);
}

/* ==== reductions ========================================================= */

typedef struct {
    const char *name;
    tg_tensor *(*f)(tg_tape *, tg_tensor *);
    int last, mean;
} reduce_case;
static const reduce_case REDUCE[] = {
    {"sum", tg_sum, 0, 0},
    {"mean", tg_mean, 0, 1},
    {"sum_last", tg_sum_last, 1, 0},
    {"mean_last", tg_mean_last, 1, 1},
};
#define N_REDUCE ((int)(sizeof REDUCE / sizeof REDUCE[0]))

static void test_reduce_forward(void **state) {
    (void)state;
    tg_rng rng;
    tg_rng_seed(&rng, 21);
    tg_tape *tp = tg_tape_new(0);
    for (int s = 0; s < N_SHAPES; s++) {
        tg_tensor *x = tu_randn(&rng, SHAPES[s].ndim, SHAPES[s].shape);
        int C = x->shape[x->ndim - 1];
        int64_t R = x->size / C;
        for (int k = 0; k < N_REDUCE; k++) {
            tg_tensor *y = REDUCE[k].f(tp, x);
            double want[64] = {0};
            int64_t ny = REDUCE[k].last ? R : 1;
            for (int64_t i = 0; i < x->size; i++) want[REDUCE[k].last ? i / C : 0] += x->data[i];
            for (int64_t r = 0; r < ny; r++)
                want[r] /= REDUCE[k].mean ? (REDUCE[k].last ? C : x->size) : 1;
            assert_int_equal(y->size, ny);
            /* [..., C] -> [...]; all-elements and 1-D inputs -> [1] */
            if (REDUCE[k].last && x->ndim > 1) {
                assert_int_equal(y->ndim, x->ndim - 1);
                for (int d = 0; d < y->ndim; d++) assert_int_equal(y->shape[d], x->shape[d]);
            } else {
                assert_int_equal(y->ndim, 1);
            }
            expect_close(REDUCE[k].name, y->data, want, ny, 1e-6);
        }
        tg_tensor_free(x);
        tg_tape_reset(tp);
    }
    tg_tape_free(tp);
}

static tg_tensor *f_reduce(tg_tape *tp, tg_tensor *const *x, int n, void *user) {
    (void)n;
    return ((const reduce_case *)user)->f(tp, x[0]);
}

static void test_reduce_grad(void **state) {
    (void)state;
    tg_rng rng;
    tg_rng_seed(&rng, 22);
    char name[64];
    for (int k = 0; k < N_REDUCE; k++)
        for (int s = 0; s < N_SHAPES; s++) {
            tg_tensor *x = tu_randn_grad(&rng, SHAPES[s].ndim, SHAPES[s].shape);
            snprintf(name, sizeof name, "%s %dd", REDUCE[k].name, SHAPES[s].ndim);
            /* linear in x: a large step is exact; and a tiny floor makes the
             * comparison relative even where the one weight of a [1] output
             * is small (a missing 1/n would otherwise hide under the floor) */
            tg_gradcheck_opts opts = {.h = 0.05, .floor = 1e-6, .max_per_input = 256};
            TU_GRADCHECK(name, f_reduce, 1, (tg_tensor *[]){x}, (void *)&REDUCE[k], &opts);
            tg_tensor_free(x);
        }
}

/* The all-elements sum is the same to the bit with 1 or 4 threads, and close
 * to a double-precision sum (it is accumulated in double). */
static void test_sum_deterministic(void **state) {
    (void)state;
    tg_rng rng;
    tg_rng_seed(&rng, 23);
    tg_tensor *x = tu_randn(&rng, TG_SHAPE(3, 100003));
    double want = 0.0;
    for (int64_t i = 0; i < x->size; i++) want += x->data[i];
    tg_tape *tp = tg_tape_new(0);
    int threads = tg_get_num_threads();
    float got[2];
    for (int t = 0; t < 2; t++) {
        tg_set_num_threads(t == 0 ? 1 : 4);
        got[t] = tg_sum(tp, x)->data[0];
    }
    tg_set_num_threads(threads);
    assert_memory_equal(&got[0], &got[1], sizeof(float));
    assert_true(fabs(got[0] - want) <= 1e-6 * fmax(1.0, fabs(want)));
    tg_tensor_free(x);
    tg_tape_free(tp);
}

/* Backward over several blocks whose edges do not fall on row edges:
 * dx[r, c] = scale · dy[r] exactly. */
static void test_reduce_backward_large(void **state) {
    (void)state;
    tg_rng rng;
    tg_rng_seed(&rng, 24);
    tg_tensor *x = tu_randn_grad(&rng, TG_SHAPE(3, 5001));
    tg_tape *tp = tg_tape_new(0);
    for (int k = 0; k < N_REDUCE; k++) {
        tg_tensor_zero_grad(x);
        tg_tensor *y = REDUCE[k].f(tp, x);
        const float dy[3] = {1.0f, -2.0f, 0.5f};
        assert_int_equal(tg_backward_seeded(tp, y, dy), TG_OK);
        int64_t C = REDUCE[k].last ? 5001 : x->size;
        float scale = REDUCE[k].mean ? (float)(1.0 / (double)C) : 1.0f;
        for (int64_t i = 0; i < x->size; i++)
            if (x->grad[i] != scale * dy[i / C])
                fail_msg("%s: dx[%lld] is %g, expected %g", REDUCE[k].name, (long long)i,
                         x->grad[i], scale * dy[i / C]);
        tg_tape_reset(tp);
    }
    tg_tensor_free(x);
    tg_tape_free(tp);
}

/* ==== shape ops ========================================================== */

static tg_tensor *f_transpose(tg_tape *tp, tg_tensor *const *x, int n, void *user) {
    (void)n, (void)user;
    return tg_transpose(tp, x[0]);
}

static void test_transpose(void **state) {
    (void)state;
    tg_rng rng;
    tg_rng_seed(&rng, 31);
    tg_tape *tp = tg_tape_new(0);
    /* small, and larger than one 32×32 tile with ragged edges */
    static const shape_case cases[] = {
        {2, {3, 5}}, {3, {2, 3, 4}}, {4, {2, 2, 3, 5}}, {2, {37, 45}}, {3, {2, 70, 33}},
    };
    for (int s = 0; s < (int)(sizeof cases / sizeof cases[0]); s++) {
        tg_tensor *x = tu_randn_grad(&rng, cases[s].ndim, cases[s].shape);
        int nd = x->ndim, M = x->shape[nd - 2], N = x->shape[nd - 1];
        tg_tensor *y = tg_transpose(tp, x);
        assert_int_equal(y->shape[nd - 2], N);
        assert_int_equal(y->shape[nd - 1], M);
        for (int64_t b = 0; b < x->size / ((int64_t)M * N); b++)
            for (int m = 0; m < M; m++)
                for (int j = 0; j < N; j++)
                    assert_true(y->data[b * M * N + (int64_t)j * M + m] ==
                                x->data[b * M * N + (int64_t)m * N + j]);
        char name[64];
        snprintf(name, sizeof name, "transpose %dd [.., %d, %d]", nd, M, N);
        TU_GRADCHECK(name, f_transpose, 1, (tg_tensor *[]){x}, NULL, NULL);
        tg_tensor_free(x);
        tg_tape_reset(tp);
    }
    tg_tape_free(tp);
}

/* permute: values against the index definition, gradients, the transpose
 * case equal to tg_transpose, errors. */
static tg_tensor *f_permute(tg_tape *tp, tg_tensor *const *x, int n, void *user) {
    (void)n;
    return tg_permute(tp, x[0], user);
}

static void test_permute(void **state) {
    (void)state;
    tg_rng rng;
    tg_rng_seed(&rng, 35);
    tg_tape *tp = tg_tape_new(0);
    static const struct { shape_case x; int perm[TG_MAX_DIMS]; } cases[] = {
        {{2, {3, 5}}, {1, 0}},
        {{3, {2, 3, 4}}, {0, 1, 2}},          /* identity */
        {{3, {2, 3, 4}}, {2, 0, 1}},
        {{4, {2, 3, 2, 4}}, {0, 2, 1, 3}},    /* split heads: [B, L, H, D] -> [B, H, L, D] */
        {{4, {2, 3, 4, 5}}, {3, 1, 0, 2}},
        {{5, {2, 1, 3, 2, 2}}, {4, 2, 0, 3, 1}},
        {{6, {2, 2, 1, 3, 2, 2}}, {5, 0, 3, 1, 4, 2}},
        {{8, {2, 1, 2, 1, 2, 1, 3, 1}}, {7, 6, 5, 4, 3, 2, 1, 0}},
    };
    for (int c = 0; c < (int)(sizeof cases / sizeof cases[0]); c++) {
        tg_tensor *x = tu_randn_grad(&rng, cases[c].x.ndim, cases[c].x.shape);
        const int *p = cases[c].perm;
        int n = x->ndim;
        tg_tensor *y = tg_permute(tp, x, p);
        for (int k = 0; k < n; k++) assert_int_equal(y->shape[k], x->shape[p[k]]);
        for (int64_t o = 0; o < y->size; o++) {
            int idx[TG_MAX_DIMS], j[TG_MAX_DIMS];
            for (int d = n - 1, r = (int)o; d >= 0; r /= y->shape[d], d--) idx[d] = r % y->shape[d];
            for (int k = 0; k < n; k++) j[p[k]] = idx[k];
            int64_t at = 0;
            for (int d = 0; d < n; d++) at = at * x->shape[d] + j[d];
            assert_true(y->data[o] == x->data[at]);
        }
        char name[64];
        snprintf(name, sizeof name, "permute %dd, case %d", n, c);
        TU_GRADCHECK(name, f_permute, 1, (tg_tensor *[]){x}, (void *)p, NULL);
        tg_tensor_free(x);
        tg_tape_reset(tp);
    }
    /* the last two dims swapped is tg_transpose, bit for bit */
    tg_tensor *x = tu_randn(&rng, TG_SHAPE(3, 40, 37));
    tg_tensor *a = tg_permute(tp, x, (const int[]){0, 2, 1}), *b = tg_transpose(tp, x);
    assert_memory_equal(a->data, b->data, (size_t)a->size * sizeof(float));
    TU_EXPECT_DEATH(tg_permute(tp, x, (const int[]){0, 0, 2}),
                    "tg_permute: perm (0, 0, 2) is not a permutation of 0 … 2 for x [3, 40, 37]");
    TU_EXPECT_DEATH(tg_permute(tp, x, (const int[]){0, 1, 3}), "perm (0, 1, 3) is not a permutation");
    TU_EXPECT_DEATH(tg_tensor_new(9, (const int[]){1, 1, 1, 1, 1, 1, 1, 1, 1}),
                    "tg_tensor_new: a tensor has 1 to 8 dims, got ndim = 9");
    tg_tensor_free(x);
    tg_tape_free(tp);
}

/* reshape [..] -> flat -> [other shape]; the gradient goes through both. */
static tg_tensor *f_reshape(tg_tape *tp, tg_tensor *const *x, int n, void *user) {
    (void)n;
    const shape_case *to = user;
    tg_tensor *flat = tg_reshape(tp, x[0], TG_SHAPE((int)x[0]->size));
    return tg_tanh(tp, tg_reshape(tp, flat, to->ndim, to->shape));
}

static void test_reshape(void **state) {
    (void)state;
    tg_rng rng;
    tg_rng_seed(&rng, 32);
    tg_tape *tp = tg_tape_new(0);
    tg_tensor *x = tu_randn_grad(&rng, TG_SHAPE(2, 3, 4));
    tg_tensor *y = tg_reshape(tp, x, TG_SHAPE(4, 6));
    assert_ptr_equal(y->data, x->data); /* shares, no copy */
    assert_int_equal(y->ndim, 2);
    assert_int_equal(y->shape[0], 4);
    assert_int_equal(y->shape[1], 6);
    x->data[7] = 42.0f;
    assert_true(y->data[7] == 42.0f);
    tg_tape_reset(tp);
    static const shape_case to[] = {{1, {24}}, {2, {6, 4}}, {3, {4, 3, 2}}, {4, {1, 2, 3, 4}}};
    for (int s = 0; s < 4; s++) {
        char name[64];
        snprintf(name, sizeof name, "reshape [2, 3, 4] -> %dd", to[s].ndim);
        TU_GRADCHECK(name, f_reshape, 1, (tg_tensor *[]){x}, (void *)&to[s], NULL);
    }
    tg_tensor_free(x);
    tg_tape_free(tp);
}

typedef struct {
    int dim, start, len;
} along_args;

static tg_tensor *f_concat(tg_tape *tp, tg_tensor *const *x, int n, void *user) {
    return tg_concat(tp, n, x, ((const along_args *)user)->dim);
}

/* Three tensors differing only along dim, for every dim of every shape,
 * positive and negative dim. */
static void test_concat(void **state) {
    (void)state;
    tg_rng rng;
    tg_rng_seed(&rng, 33);
    tg_tape *tp = tg_tape_new(0);
    for (int s = 0; s < N_SHAPES; s++)
        for (int dim = 0; dim < SHAPES[s].ndim; dim++) {
            tg_tensor *xs[3];
            for (int k = 0; k < 3; k++) {
                int shape[TG_MAX_DIMS];
                memcpy(shape, SHAPES[s].shape, sizeof shape);
                shape[dim] = k + 1;
                xs[k] = tu_randn_grad(&rng, SHAPES[s].ndim, shape);
            }
            along_args args = {.dim = dim % 2 ? dim - SHAPES[s].ndim : dim};
            tg_tensor *y = tg_concat(tp, 3, xs, args.dim);
            assert_int_equal(y->shape[dim], 6);
            /* the forward, from its definition: y[o, off_k + j, i] = x_k[o, j, i] */
            int64_t O = 1, I = 1;
            for (int d = 0; d < dim; d++) O *= y->shape[d];
            for (int d = dim + 1; d < y->ndim; d++) I *= y->shape[d];
            for (int64_t o = 0; o < O; o++)
                for (int k = 0, off = 0; k < 3; off += k + 1, k++)
                    for (int64_t ji = 0; ji < (k + 1) * I; ji++)
                        assert_true(y->data[(o * 6 + off) * I + ji] ==
                                    xs[k]->data[o * (k + 1) * I + ji]);
            char name[64];
            snprintf(name, sizeof name, "concat %dd dim %d", SHAPES[s].ndim, args.dim);
            TU_GRADCHECK(name, f_concat, 3, xs, &args, NULL);
            for (int k = 0; k < 3; k++) tg_tensor_free(xs[k]);
            tg_tape_reset(tp);
        }
    tg_tape_free(tp);
}

/* concat of [x, x]: one node reads x twice, its backward must add both. */
static void test_concat_same_input(void **state) {
    (void)state;
    tg_rng rng;
    tg_rng_seed(&rng, 34);
    tg_tensor *x = tu_randn_grad(&rng, TG_SHAPE(2, 3));
    along_args args = {.dim = -1};
    TU_GRADCHECK("concat [x, x]", f_concat, 2, ((tg_tensor *[]){x, x}), &args, NULL);
    tg_tensor_free(x);
}

static tg_tensor *f_slice(tg_tape *tp, tg_tensor *const *x, int n, void *user) {
    (void)n;
    const along_args *a = user;
    return tg_slice(tp, x[0], a->dim, a->start, a->len);
}

static void test_slice(void **state) {
    (void)state;
    tg_rng rng;
    tg_rng_seed(&rng, 35);
    tg_tape *tp = tg_tape_new(0);
    for (int s = 0; s < N_SHAPES; s++)
        for (int dim = 0; dim < SHAPES[s].ndim; dim++) {
            tg_tensor *x = tu_randn_grad(&rng, SHAPES[s].ndim, SHAPES[s].shape);
            int D = x->shape[dim];
            along_args a = {.dim = dim % 2 ? dim - x->ndim : dim, .start = D > 2 ? 1 : 0,
                            .len = D > 2 ? D - 2 : 1};
            tg_tensor *y = tg_slice(tp, x, a.dim, a.start, a.len);
            int64_t O = 1, I = 1;
            for (int d = 0; d < dim; d++) O *= x->shape[d];
            for (int d = dim + 1; d < x->ndim; d++) I *= x->shape[d];
            assert_int_equal(y->size, O * a.len * I);
            /* y[o, j, i] = x[o, start + j, i] */
            for (int64_t o = 0; o < O; o++)
                for (int64_t ji = 0; ji < a.len * I; ji++)
                    assert_true(y->data[o * a.len * I + ji] ==
                                x->data[(o * D + a.start) * I + ji]);
            char name[64];
            snprintf(name, sizeof name, "slice %dd dim %d [%d, %d)", x->ndim, a.dim, a.start,
                     a.start + a.len);
            TU_GRADCHECK(name, f_slice, 1, (tg_tensor *[]){x}, &a, NULL);
            tg_tensor_free(x);
            tg_tape_reset(tp);
        }
    tg_tape_free(tp);
}

/* split x into three parts along dim and join them back in reverse order. */
static tg_tensor *f_split_reverse(tg_tape *tp, tg_tensor *const *x, int n, void *user) {
    (void)n;
    int dim = ((const along_args *)user)->dim;
    tg_tensor *parts[3];
    tg_split(tp, x[0], dim, 3, (const int[]){1, 2, 2}, parts);
    return tg_concat(tp, 3, (tg_tensor *[]){parts[2], parts[0], parts[1]}, dim);
}

static void test_split(void **state) {
    (void)state;
    tg_rng rng;
    tg_rng_seed(&rng, 36);
    tg_tape *tp = tg_tape_new(0);
    tg_tensor *x = tu_randn_grad(&rng, TG_SHAPE(3, 5, 2));
    /* round trip: concat(split(x)) == x */
    tg_tensor *parts[3];
    tg_split(tp, x, 1, 3, (const int[]){2, 1, 2}, parts);
    assert_int_equal(parts[0]->shape[1], 2);
    assert_int_equal(parts[1]->shape[1], 1);
    assert_int_equal(parts[2]->shape[1], 2);
    tg_tensor *back = tg_concat(tp, 3, parts, 1);
    assert_true(tg_shape_eq(back, x));
    assert_memory_equal(back->data, x->data, (size_t)x->size * sizeof(float));
    along_args a = {.dim = -2};
    TU_GRADCHECK("split/concat reversed", f_split_reverse, 1, (tg_tensor *[]){x}, &a, NULL);
    tg_tensor_free(x);
    tg_tape_free(tp);
}

static void test_shape_errors(void **state) {
    (void)state;
    tg_tape *tp = tg_tape_new(0);
    tg_tensor *x23 = tg_tensor_new(TG_SHAPE(2, 3)), *x33 = tg_tensor_new(TG_SHAPE(3, 3));
    tg_tensor *x45 = tg_tensor_new(TG_SHAPE(4, 5)), *x5 = tg_tensor_new(TG_SHAPE(5));
    tg_tensor *parts[2];
    TU_EXPECT_DEATH(tg_reshape(tp, x23, TG_SHAPE(4, 2)),
                    "tg_reshape: element counts differ: x is [2, 3], new shape [4, 2]");
    TU_EXPECT_DEATH(tg_concat(tp, 2, (tg_tensor *[]){x23, x33}, 1),
                    "tg_concat: inputs differ outside dim 1: xs[0] is [2, 3], xs[1] is [3, 3]");
    TU_EXPECT_DEATH(tg_concat(tp, 2, (tg_tensor *[]){x23, x5}, 0),
                    "tg_concat: inputs differ outside dim 0: xs[0] is [2, 3], xs[1] is [5]");
    TU_EXPECT_DEATH(tg_concat(tp, 2, (tg_tensor *[]){x23, x33}, 2),
                    "tg_concat: dim 2 outside [-2, 2) for xs[0] [2, 3]");
    TU_EXPECT_DEATH(tg_slice(tp, x45, 1, 2, 5),
                    "tg_slice: range [2, 7) outside dim 1 of size 5 in x [4, 5]");
    TU_EXPECT_DEATH(tg_slice(tp, x45, -3, 0, 1), "tg_slice: dim -3 outside [-2, 2) for x [4, 5]");
    TU_EXPECT_DEATH(tg_transpose(tp, x5), "tg_transpose: needs at least 2 dims, x is [5]");
    TU_EXPECT_DEATH(tg_split(tp, x45, 1, 2, (const int[]){4, 2}, parts),
                    "tg_split: sizes sum to 6, dim 1 of x [4, 5] has 5");
    tg_tensor_free(x23);
    tg_tensor_free(x33);
    tg_tensor_free(x45);
    tg_tensor_free(x5);
    tg_tape_free(tp);
}

/* ==== elementwise (core/ops/elementwise.c) =============================== */

/* Flat index into t of the output position idx[0..ndim_out-1], with t's
 * dims right-aligned and size-1 dims repeated (NumPy broadcasting). */
static int64_t bcast_index(const tg_tensor *t, int ndim_out, const int *idx) {
    int64_t at = 0;
    for (int d = 0; d < t->ndim; d++) {
        int i = t->shape[d] == 1 ? 0 : idx[d + ndim_out - t->ndim];
        at = at * t->shape[d] + i;
    }
    return at;
}

typedef struct {
    const char *name;
    int nda, a[TG_MAX_DIMS], ndb, b[TG_MAX_DIMS];
} bcast_case;

static const bcast_case BCAST[] = {
    {"same [2, 3, 4]", 3, {2, 3, 4}, 3, {2, 3, 4}},
    {"[B,T,C] + [C]", 3, {2, 3, 5}, 1, {5}},
    {"[B,H,L,L] + [B,1,1,L]", 4, {2, 2, 3, 3}, 4, {2, 1, 1, 3}},
    {"[2,1,3] ∘ [4,1]", 3, {2, 1, 3}, 2, {4, 1}},
    {"[1] ∘ [3, 2]", 1, {1}, 2, {3, 2}},
    {"[B,T,C] + [1,T,C]", 3, {3, 2, 4}, 3, {1, 2, 4}},
    {"5-D [2,1,2,1,3] ∘ 4-D [2,1,2,1]", 5, {2, 1, 2, 1, 3}, 4, {2, 1, 2, 1}},
    {"6-D [1,2,1,2,1,2] ∘ [2,1,2,1,2,1]", 6, {1, 2, 1, 2, 1, 2}, 6, {2, 1, 2, 1, 2, 1}},
    {"8-D [2,1,1,1,1,1,1,3] ∘ [2,1,1,1,1,2,1]", 8, {2, 1, 1, 1, 1, 1, 1, 3}, 7, {2, 1, 1, 1, 1, 2, 1}},
};
#define N_BCAST ((int)(sizeof BCAST / sizeof BCAST[0]))

typedef tg_tensor *(*binary_fn)(tg_tape *, tg_tensor *, tg_tensor *);
static const struct {
    const char *name;
    binary_fn f;
} BINARY[] = {{"add", tg_add}, {"sub", tg_sub}, {"mul", tg_mul}};

static tg_tensor *f_binary(tg_tape *tp, tg_tensor *const *x, int n, void *user) {
    (void)n;
    return (*(binary_fn *)user)(tp, x[0], x[1]);
}

static void test_elementwise(void **state) {
    (void)state;
    tg_rng rng;
    tg_rng_seed(&rng, 41);
    tg_tape *tp = tg_tape_new(0);
    for (int c = 0; c < N_BCAST; c++)
        for (int k = 0; k < 3; k++) {
            tg_tensor *a = tu_randn_grad(&rng, BCAST[c].nda, BCAST[c].a);
            tg_tensor *b = tu_randn_grad(&rng, BCAST[c].ndb, BCAST[c].b);
            tg_tensor *y = BINARY[k].f(tp, a, b);
            double want[64];
            assert_true(y->size <= 64);
            for (int64_t o = 0; o < y->size; o++) {
                int idx[TG_MAX_DIMS];
                for (int d = y->ndim - 1, r = (int)o; d >= 0; r /= y->shape[d], d--)
                    idx[d] = r % y->shape[d];
                double u = a->data[bcast_index(a, y->ndim, idx)];
                double v = b->data[bcast_index(b, y->ndim, idx)];
                want[o] = k == 0 ? u + v : k == 1 ? u - v : u * v;
            }
            char name[80];
            snprintf(name, sizeof name, "%s %s", BINARY[k].name, BCAST[c].name);
            expect_close(name, y->data, want, y->size, 1e-6);
            TU_GRADCHECK(name, f_binary, 2, ((tg_tensor *[]){a, b}), (void *)&BINARY[k].f, NULL);
            tg_tensor_free(a);
            tg_tensor_free(b);
            tg_tape_reset(tp);
        }
    tg_tensor *a23 = tg_tensor_new(TG_SHAPE(2, 3)), *b4 = tg_tensor_new(TG_SHAPE(4));
    TU_EXPECT_DEATH(tg_add(tp, a23, b4), "tg_add: shapes do not broadcast: a is [2, 3], b is [4]");
    tg_tensor_free(a23);
    tg_tensor_free(b4);
    tg_tape_free(tp);
}

static tg_tensor *f_scale(tg_tape *tp, tg_tensor *const *x, int n, void *user) {
    (void)n, (void)user;
    return tg_scale(tp, x[0], -2.5f);
}
static tg_tensor *f_add_scalar(tg_tape *tp, tg_tensor *const *x, int n, void *user) {
    (void)n, (void)user;
    return tg_add_scalar(tp, x[0], 0.75f);
}

static void test_scale_add_scalar(void **state) {
    (void)state;
    tg_rng rng;
    tg_rng_seed(&rng, 42);
    tg_tape *tp = tg_tape_new(0);
    for (int s = 0; s < N_SHAPES; s++) {
        tg_tensor *x = tu_randn_grad(&rng, SHAPES[s].ndim, SHAPES[s].shape);
        tg_tensor *ys = tg_scale(tp, x, -2.5f), *ya = tg_add_scalar(tp, x, 0.75f);
        for (int64_t i = 0; i < x->size; i++) {
            assert_true(ys->data[i] == -2.5f * x->data[i]);
            assert_true(ya->data[i] == x->data[i] + 0.75f);
        }
        char name[64];
        snprintf(name, sizeof name, "scale %dd", x->ndim);
        TU_GRADCHECK(name, f_scale, 1, (tg_tensor *[]){x}, NULL, NULL);
        snprintf(name, sizeof name, "add_scalar %dd", x->ndim);
        TU_GRADCHECK(name, f_add_scalar, 1, (tg_tensor *[]){x}, NULL, NULL);
        tg_tensor_free(x);
        tg_tape_reset(tp);
    }
    tg_tape_free(tp);
}

/* ==== matmul (core/ops/matmul.c) ========================================= */

typedef struct {
    int n_lead, lead[2]; /* leading (batch) dims of a */
    int shared;          /* b is 2-D */
    int M, K, N, ta, tb;
} mm_case;

static tg_tensor *f_matmul(tg_tape *tp, tg_tensor *const *x, int n, void *user) {
    (void)n;
    const mm_case *c = user;
    return tg_matmul(tp, x[0], x[1], c->ta, c->tb);
}

/* One case: shapes from c, forward against a triple loop, gradient check. */
static void check_matmul(tg_rng *rng, tg_tape *tp, const mm_case *c) {
    int sa[TG_MAX_DIMS], sb[TG_MAX_DIMS], nb = 0, batch = 1;
    for (int d = 0; d < c->n_lead; d++) {
        sa[d] = c->lead[d];
        batch *= c->lead[d];
        if (!c->shared) sb[nb++] = c->lead[d];
    }
    sa[c->n_lead] = c->ta ? c->K : c->M;
    sa[c->n_lead + 1] = c->ta ? c->M : c->K;
    sb[nb] = c->tb ? c->N : c->K;
    sb[nb + 1] = c->tb ? c->K : c->N;
    tg_tensor *a = tu_randn_grad(rng, c->n_lead + 2, sa);
    tg_tensor *b = tu_randn_grad(rng, nb + 2, sb);
    tg_tensor *y = tg_matmul(tp, a, b, c->ta, c->tb);
    assert_int_equal(y->ndim, c->n_lead + 2);
    assert_int_equal(y->shape[y->ndim - 2], c->M);
    assert_int_equal(y->shape[y->ndim - 1], c->N);
    double *want = tg_xmalloc((size_t)y->size * sizeof(double));
    int M = c->M, K = c->K, N = c->N;
    for (int i = 0; i < batch; i++) {
        const float *A = a->data + (int64_t)i * M * K;
        const float *B = b->data + (c->shared ? 0 : (int64_t)i * K * N);
        for (int m = 0; m < M; m++)
            for (int n = 0; n < N; n++) {
                double s = 0.0;
                for (int k = 0; k < K; k++)
                    s += (double)(c->ta ? A[k * M + m] : A[m * K + k]) *
                         (c->tb ? B[n * K + k] : B[k * N + n]);
                want[((int64_t)i * M + m) * N + n] = s;
            }
    }
    char name[96];
    snprintf(name, sizeof name, "matmul %dd%s M%d K%d N%d ta%d tb%d", c->n_lead + 2,
             c->shared ? " b shared" : "", M, K, N, c->ta, c->tb);
    expect_close(name, y->data, want, y->size, 1e-5);
    free(want);
    /* out is linear in each element of a and of b, so a central difference
     * has no truncation error at any step; a large step keeps the float
     * rounding of the ~K-term dot products small relative to the change. */
    tg_gradcheck_opts opts = {.h = 0.05, .max_per_input = 256};
    TU_GRADCHECK(name, f_matmul, 2, ((tg_tensor *[]){a, b}), (void *)c, &opts);
    tg_tensor_free(a);
    tg_tensor_free(b);
    tg_tape_reset(tp);
}

/* affine: the fused x Wᵀ + b equals tg_add(tg_matmul(x, W, 0, 1), b) bit for
 * bit (values and the three gradients), and passes the gradient check. */
static tg_tensor *f_affine(tg_tape *tp, tg_tensor *const *x, int n, void *user) {
    (void)user;
    return tg_affine(tp, x[0], x[1], n > 2 ? x[2] : NULL);
}

static void test_affine(void **state) {
    (void)state;
    tg_rng rng;
    tg_rng_seed(&rng, 36);
    static const shape_case xs[] = {{2, {5, 7}}, {3, {2, 3, 7}}, {4, {2, 2, 70, 7}}};
    for (int c = 0; c < 3; c++)
        for (int with_bias = 0; with_bias < 2; with_bias++) {
            tg_tensor *x = tu_randn_grad(&rng, xs[c].ndim, xs[c].shape);
            tg_tensor *w = tu_randn_grad(&rng, TG_SHAPE(67, 7)), *b = tu_randn_grad(&rng, TG_SHAPE(67));
            float *g[2][3];
            tg_tensor *y[2];
            tg_tape *tp = tg_tape_new(0);
            for (int fused = 0; fused < 2; fused++) {
                tg_tensor_zero_grad(x), tg_tensor_zero_grad(w), tg_tensor_zero_grad(b);
                y[fused] = fused ? tg_affine(tp, x, w, with_bias ? b : NULL)
                                 : (with_bias ? tg_add(tp, tg_matmul(tp, x, w, 0, 1), b)
                                              : tg_matmul(tp, x, w, 0, 1));
                assert_int_equal(tg_backward(tp, tg_sum(tp, tg_tanh(tp, y[fused]))), TG_OK);
                tg_tensor *t[3] = {x, w, b};
                for (int i = 0; i < 3; i++) {
                    g[fused][i] = malloc((size_t)t[i]->size * sizeof(float));
                    memcpy(g[fused][i], t[i]->grad, (size_t)t[i]->size * sizeof(float));
                }
            }
            assert_true(tg_shape_eq(y[0], y[1]));
            assert_memory_equal(y[0]->data, y[1]->data, (size_t)y[0]->size * sizeof(float));
            assert_memory_equal(g[0][0], g[1][0], (size_t)x->size * sizeof(float));
            assert_memory_equal(g[0][1], g[1][1], (size_t)w->size * sizeof(float));
            assert_memory_equal(g[0][2], g[1][2], (size_t)b->size * sizeof(float));
            for (int f = 0; f < 2; f++)
                for (int i = 0; i < 3; i++) free(g[f][i]);
            char name[64];
            snprintf(name, sizeof name, "affine %dd x%s", x->ndim, with_bias ? ", bias" : "");
            /* y is linear in each input: a larger step has no truncation error and
             * keeps the float rounding of ~400 summed outputs below tolerance */
            const tg_gradcheck_opts big_step = {.h = 1e-2, .tol = 1e-2, .floor = 1e-2,
                                                 .max_per_input = 256, .seed = 1};
            TU_GRADCHECK(name, f_affine, 2 + with_bias, ((tg_tensor *[]){x, w, b}), NULL, &big_step);
            if (c == 0 && with_bias) {
                tg_tensor *w8 = tg_tensor_new(TG_SHAPE(3, 8)), *b4 = tg_tensor_new(TG_SHAPE(4));
                TU_EXPECT_DEATH(tg_affine(tp, x, w8, NULL),
                                "tg_affine: weight must be [out, 7] (the last dim of x [5, 7]), got [3, 8]");
                TU_EXPECT_DEATH(tg_affine(tp, x, w, b4),
                                "tg_affine: bias must be [67] (the rows of weight [67, 7]), got [4]");
                tg_tensor_free(w8), tg_tensor_free(b4);
            }
            tg_tape_free(tp);
            tg_tensor_free(x), tg_tensor_free(w), tg_tensor_free(b);
        }
}

static void test_matmul(void **state) {
    (void)state;
    tg_rng rng;
    tg_rng_seed(&rng, 51);
    tg_tape *tp = tg_tape_new(0);
    static const mm_case base[] = {
        {0, {0}, 0, 3, 4, 5, 0, 0},      /* 2-D */
        {1, {2}, 0, 3, 5, 4, 0, 0},      /* batched 3-D */
        {2, {2, 3}, 0, 4, 3, 2, 0, 0},   /* batched 4-D */
        {1, {3}, 1, 3, 4, 5, 0, 0},      /* 3-D a, 2-D b shared */
        {2, {2, 2}, 1, 2, 3, 4, 0, 0},   /* 4-D a, 2-D b shared */
        {1, {2}, 0, 70, 65, 66, 0, 0},   /* above the small-product threshold */
        {1, {2}, 1, 70, 65, 66, 0, 0},
    };
    for (int k = 0; k < (int)(sizeof base / sizeof base[0]); k++)
        for (int t = 0; t < 4; t++) {
            mm_case c = base[k];
            c.ta = t >> 1;
            c.tb = t & 1;
            check_matmul(&rng, tp, &c);
        }
    tg_tensor *a = tg_tensor_new(TG_SHAPE(32, 64)), *b = tg_tensor_new(TG_SHAPE(65, 10));
    TU_EXPECT_DEATH(tg_matmul(tp, a, b, 0, 0),
                    "tg_matmul: inner dimensions differ: a is [32, 64], b is [65, 10]");
    tg_tensor_free(a);
    tg_tensor_free(b);
    tg_tape_free(tp);
}

/* ==== the gradient check catches a wrong backward ======================== */

/* y = x², a custom op; the right backward is dx += 2x·dy, the wrong one
 * forgets the factor 2. */
static void square_fwd(tg_tensor *out, tg_tensor *const *in, int n_in, void *ctx) {
    (void)n_in, (void)ctx;
    for (int64_t i = 0; i < out->size; i++) out->data[i] = in[0]->data[i] * in[0]->data[i];
}
static void square_bwd_right(const tg_tensor *out, tg_tensor *const *in, int n_in, void *ctx) {
    (void)n_in, (void)ctx;
    for (int64_t i = 0; i < out->size; i++) in[0]->grad[i] += 2.0f * in[0]->data[i] * out->grad[i];
}
static void square_bwd_wrong(const tg_tensor *out, tg_tensor *const *in, int n_in, void *ctx) {
    (void)n_in, (void)ctx;
    for (int64_t i = 0; i < out->size; i++) in[0]->grad[i] += in[0]->data[i] * out->grad[i];
}

static tg_tensor *f_custom(tg_tape *tp, tg_tensor *const *x, int n, void *user) {
    (void)n;
    return tg_custom(tp, user, 1, x, x[0]->ndim, x[0]->shape, NULL, 0);
}

static void test_gradcheck_catches_wrong_backward(void **state) {
    (void)state;
    static const tg_custom_op right = {"square", square_fwd, square_bwd_right};
    static const tg_custom_op wrong = {"square_wrong", square_fwd, square_bwd_wrong};
    tg_rng rng;
    tg_rng_seed(&rng, 61);
    tg_tensor *x = tu_randn_grad(&rng, TG_SHAPE(3, 4));
    TU_GRADCHECK("square (right backward)", f_custom, 1, (tg_tensor *[]){x}, (void *)&right,
                 NULL);
    tg_gradcheck_result r;
    int ok = tg_gradcheck(f_custom, 1, (tg_tensor *[]){x}, (void *)&wrong, NULL, &r);
    tg_gradcheck_print(stdout, "square (backward missing the factor 2, must fail)", &r);
    assert_int_equal(ok, 0);
    assert_true(r.max_rel_err > 0.4); /* |x − 2x| / |2x| = ½ */
    tg_tensor_free(x);
}

/* max over a dim: values are distinct and spaced well beyond the step h, so
 * no perturbation changes which element is the maximum. */
typedef struct {
    int dim;
} max_arg;

static tg_tensor *f_max(tg_tape *tp, tg_tensor *const *x, int n, void *user) {
    (void)n;
    return tg_max(tp, x[0], ((max_arg *)user)->dim);
}

static void test_max(void **state) {
    (void)state;
    tg_rng rng;
    tg_rng_seed(&rng, 77);
    const int shapes[][4] = {{7, 0, 0, 0}, {3, 5, 0, 0}, {2, 6, 4, 0}, {2, 3, 4, 5}};
    const int ndims[] = {1, 2, 3, 4};
    for (int s = 0; s < 4; s++) {
        tg_tensor *x = tg_tensor_new_grad(ndims[s], shapes[s]);
        for (int64_t i = 0; i < x->size; i++) x->data[i] = 0.1f * (float)i; /* distinct */
        for (int64_t i = x->size - 1; i > 0; i--) { /* shuffle */
            int64_t j = tg_rng_below(&rng, (uint32_t)i + 1);
            float t = x->data[i];
            x->data[i] = x->data[j];
            x->data[j] = t;
        }
        for (int dim = -1; dim < ndims[s]; dim++) {
            max_arg a = {dim};
            tg_gradcheck_opts o = {.h = 1e-3};
            char name[64];
            snprintf(name, sizeof name, "max shape %d dim %d", s, dim);
            TU_GRADCHECK(name, f_max, 1, &x, &a, &o);
        }
        tg_tensor_free(x);
    }
    /* forward: max over dim 1 of [2, 3] and the error message */
    tg_tape *tp = tg_tape_new(0);
    tg_tensor *y = tg_tape_tensor(tp, TG_SHAPE(2, 3));
    const float v[6] = {1, 5, 2, -1, -3, -2};
    tg_tensor_copy_from(y, v);
    tg_tensor *m = tg_max(tp, y, 1);
    assert_int_equal(m->ndim, 1);
    assert_int_equal(m->shape[0], 2);
    assert_true(m->data[0] == 5.0f && m->data[1] == -1.0f);
    tg_tensor *m0 = tg_max(tp, y, 0);
    assert_true(m0->data[0] == 1.0f && m0->data[1] == 5.0f && m0->data[2] == 2.0f);
    TU_EXPECT_DEATH(tg_max(tp, y, 2), "tg_max: dim 2 outside x [2, 3]");
    tg_tape_free(tp);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unary_forward),
        cmocka_unit_test(test_sigmoid_extremes),
        cmocka_unit_test(test_log_nonpositive),
        cmocka_unit_test(test_unary_grad),
        cmocka_unit_test(test_unary_accumulates),
        cmocka_unit_test(test_reduce_forward),
        cmocka_unit_test(test_reduce_grad),
        cmocka_unit_test(test_sum_deterministic),
        cmocka_unit_test(test_reduce_backward_large),
        cmocka_unit_test(test_transpose),
        cmocka_unit_test(test_permute),
        cmocka_unit_test(test_reshape),
        cmocka_unit_test(test_concat),
        cmocka_unit_test(test_concat_same_input),
        cmocka_unit_test(test_slice),
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_shape_errors),
        cmocka_unit_test(test_elementwise),
        cmocka_unit_test(test_scale_add_scalar),
        cmocka_unit_test(test_matmul),
        cmocka_unit_test(test_affine),
        cmocka_unit_test(test_max),
        cmocka_unit_test(test_gradcheck_catches_wrong_backward),
    };
    return cmocka_run_group_tests_name("ops_a", tests, NULL, NULL);
}
