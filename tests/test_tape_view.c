/* tests/test_tape_view.c — looking at a step: tg_tape_profile (time, FLOPs,
 * bytes per op kind), tg_tape_dot with statistics and collapsed repeated
 * blocks, tg_tape_render through Graphviz. */
#define _POSIX_C_SOURCE 200809L
#include "tests/helpers/testutil.h"

enum { M = 6, K = 5, N = 4, DEPTH = 4 };

/* x [M, K] -> DEPTH blocks of gelu(x W_d + b_d) (W_d [K, K], named
 * "blocks.<d>.w" / ".b"), then logits = h W_out [K, N], mean cross-entropy. */
typedef struct {
    tg_params ps;
    tg_tensor *w[DEPTH], *b[DEPTH], *w_out;
    tg_tensor *x;
    int32_t targets[M];
} net;

static void net_init(net *m) {
    tg_rng rng;
    tg_rng_seed(&rng, 3);
    tg_params_init(&m->ps);
    for (int d = 0; d < DEPTH; d++) {
        m->w[d] = tg_params_new(&m->ps, TG_SHAPE(K, K), "blocks.%d.w", d);
        m->b[d] = tg_params_new(&m->ps, TG_SHAPE(K), "blocks.%d.b", d);
        tg_init_normal(m->w[d], &rng, 0.0f, 0.5f);
    }
    m->w_out = tg_params_new(&m->ps, TG_SHAPE(K, N), "head.w");
    tg_init_normal(m->w_out, &rng, 0.0f, 0.5f);
    m->x = tu_randn(&rng, TG_SHAPE(M, K));
    m->x->name = "x";
    for (int i = 0; i < M; i++) m->targets[i] = i % N;
}

static void net_free(net *m) {
    tg_tensor_free(m->x);
    tg_params_free(&m->ps);
}

static void net_step(tg_tape *tp, net *m) {
    tg_tape_reset(tp);
    tg_params_zero_grad(&m->ps);
    tg_tensor *h = m->x;
    for (int d = 0; d < DEPTH; d++) h = tg_gelu(tp, tg_add(tp, tg_matmul(tp, h, m->w[d], 0, 0), m->b[d]));
    tg_tensor *loss = tg_cross_entropy(tp, tg_matmul(tp, h, m->w_out, 0, 0), m->targets, -1, TG_MEAN);
    assert_int_equal(tg_backward(tp, loss), TG_OK);
}

static const tg_profile_row *row_of(const tg_profile_row *rows, int n, const char *op) {
    for (int i = 0; i < n; i++)
        if (!strcmp(rows[i].op, op)) return &rows[i];
    fail_msg("no profile row for %s", op);
    return NULL;
}

static void test_profile_rows(void **state) {
    (void)state;
    net m;
    net_init(&m);
    tg_tape *tp = tg_tape_new(0);
    net_step(tp, &m); /* not profiled: nothing recorded */
    tg_profile_row rows[16];
    int n = tg_tape_profile_rows(tp, rows, 16);
    for (int i = 0; i < n; i++) assert_true(rows[i].fwd_seconds == 0.0 && rows[i].fwd_bytes == 0);

    assert_int_equal(tg_tape_set_profile(tp, 1), 0);
    /* Keep every activation gradient: by default the sweep recycles released
     * gradient buffers, so a backward may allocate less than it writes. */
    tg_tape_set_keep_grads(tp, 1);
    net_step(tp, &m);
    n = tg_tape_profile_rows(tp, rows, 16);
    assert_int_equal(n, 4); /* matmul, add, gelu, cross_entropy */
    const tg_profile_row *mm = row_of(rows, n, "matmul"), *add = row_of(rows, n, "add"),
                         *gelu = row_of(rows, n, "gelu");
    assert_int_equal(mm->nodes, DEPTH + 1);
    assert_int_equal(add->nodes, DEPTH);
    /* matmul: 2·M·K·K per block and 2·M·K·N for the head, forward; twice that backward */
    double f = 2.0 * M * K * K * DEPTH + 2.0 * M * K * N;
    assert_float_equal(mm->flops, 3.0 * f, 1e-6);
    assert_float_equal(gelu->flops, (8.0 + 14.0) * M * K * DEPTH, 1e-6);
    /* saved: at least each output; backward: at least each input's gradient */
    assert_true(mm->fwd_bytes >= (size_t)(M * K * DEPTH + M * N) * sizeof(float));
    assert_true(gelu->fwd_bytes >= (size_t)(M * K * DEPTH) * sizeof(float));
    assert_true(add->bwd_bytes >= (size_t)(M * K * DEPTH) * sizeof(float));
    double total = 0.0;
    for (int i = 0; i < n; i++) {
        assert_true(rows[i].fwd_seconds >= 0.0 && rows[i].bwd_seconds >= 0.0);
        total += rows[i].fwd_seconds + rows[i].bwd_seconds;
        if (i) /* sorted by time, largest first */
            assert_true(rows[i - 1].fwd_seconds + rows[i - 1].bwd_seconds >=
                        rows[i].fwd_seconds + rows[i].bwd_seconds);
    }
    assert_true(total > 0.0);
    assert_int_equal(tg_tape_profile_rows(tp, rows, 2), 4); /* only 2 written, 4 kinds */

    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    tg_tape_profile(tp, out);
    fclose(out);
    assert_non_null(strstr(buf, "GFLOP/s"));
    assert_non_null(strstr(buf, "saved MiB"));
    assert_non_null(strstr(buf, "matmul"));
    int total_nodes = 0;
    assert_non_null(strstr(buf, "\ntotal"));
    assert_int_equal(sscanf(strstr(buf, "\ntotal") + 6, "%d", &total_nodes), 1);
    assert_int_equal(total_nodes, 4 * DEPTH - DEPTH + 2); /* 3 per block, head, loss */
    free(buf);
    tg_tape_free(tp);
    net_free(&m);
}

static char *dot_of(const tg_tape *tp, const tg_dot_opts *o) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    tg_tape_dot_opts(tp, f, o);
    fclose(f);
    return buf;
}

static void test_dot_stats_and_collapse(void **state) {
    (void)state;
    net m;
    net_init(&m);
    tg_tape *tp = tg_tape_new(0);
    net_step(tp, &m);
    /* everything: every parameter, value and gradient statistics */
    char *full = dot_of(tp, &(tg_dot_opts){.stats = 1, .collapse = 0});
    assert_non_null(strstr(full, "blocks.3.w\\n[5, 5]  200 B\\ndata μ"));
    assert_non_null(strstr(full, "\\ngrad μ"));
    assert_non_null(strstr(full, "%0 matmul\\n[6, 5]"));
    assert_non_null(strstr(full, "%13 cross_entropy"));
    assert_null(strstr(full, "box3d"));
    /* the gradient statistics are those of the tensor */
    char want[128];
    double s = 0.0;
    for (int i = 0; i < 25; i++) s += m.w[0]->grad[i];
    snprintf(want, sizeof want, "grad μ %.3g", s / 25);
    assert_non_null(strstr(full, want));
    free(full);
    /* collapsed: block 0 drawn, blocks 1-3 one box each, their parameters gone */
    char *small = dot_of(tp, &(tg_dot_opts){.stats = 1, .collapse = 1});
    assert_non_null(strstr(small, "blocks.0.w\\n"));
    assert_null(strstr(small, "blocks.2.w\\n"));
    assert_non_null(strstr(small, "blocks.2: 3 nodes, repeats blocks.0"));
    assert_non_null(strstr(small, "head.w"));
    assert_int_equal((int)(strstr(small, "b1 -> b2") != NULL), 1); /* fold to fold */
    free(small);
    /* the default collapses only large tapes: this one stays whole */
    char *def = dot_of(tp, NULL);
    assert_null(strstr(def, "box3d"));
    free(def);
    tg_tape_free(tp);
    net_free(&m);
}

static void test_render(void **state) {
    (void)state;
    net m;
    net_init(&m);
    tg_tape *tp = tg_tape_new(0);
    net_step(tp, &m);
    assert_int_equal(tg_tape_render(tp, tu_tmp_path("t.gif"), NULL), TG_ERR_ARG);
    assert_non_null(strstr(tg_last_error(), "expected a .png, .svg, .pdf or .dot"));
    assert_int_equal(tg_tape_render(tp, tu_tmp_path("t.dot"), NULL), TG_OK);
    char *dot = tu_slurp(tu_tmp_path("t.dot"), NULL);
    assert_non_null(strstr(dot, "digraph tape"));
    free(dot);
    if (system("command -v dot >/dev/null 2>&1") != 0) {
        printf("SKIPPED: Graphviz's dot is not installed (make deps)\n");
    } else {
        assert_int_equal(tg_tape_render(tp, tu_tmp_path("t.png"), NULL), TG_OK);
        size_t n = 0;
        char *png = tu_slurp(tu_tmp_path("t.png"), &n);
        assert_true(n > 1000 && !memcmp(png, "\x89PNG", 4));
        free(png);
        /* a path that cannot be written: dot fails, nothing is left */
        assert_int_equal(tg_tape_render(tp, tu_tmp_path("no/such/dir/t.svg"), NULL), TG_ERR_IO);
        assert_non_null(strstr(tg_last_error(), "failed"));
    }
    tg_tape_free(tp);
    net_free(&m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_profile_rows),
        cmocka_unit_test(test_dot_stats_and_collapse),
        cmocka_unit_test(test_render),
    };
    return cmocka_run_group_tests(tests, tu_tmpdir_setup, tu_tmpdir_teardown);
}
