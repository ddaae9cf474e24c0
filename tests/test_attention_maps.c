/* tests/test_attention_maps.c — attention rollout (nn/rollout.h) and the
 * attention picture (tg_plot_attention in train/plot.h). */
#include <math.h>

#include "nn/rollout.h"
#include "tests/helpers/testutil.h"

/* Random row-stochastic [L, N, N]. */
static void random_attention(tg_rng *rng, float *a, int L, int N) {
    for (int r = 0; r < L * N; r++) {
        double s = 0;
        for (int j = 0; j < N; j++) s += a[r * N + j] = tg_rng_uniform(rng) + 1e-3f;
        for (int j = 0; j < N; j++) a[r * N + j] = (float)(a[r * N + j] / s);
    }
}

/* One layer: R = ½A + ½I (rows already sum to 1).  Identity attention gives
 * the identity at any depth. */
static void test_rollout_one_layer_and_identity(void **state) {
    (void)state;
    tg_rng rng;
    tg_rng_seed(&rng, 1);
    enum { N = 5 };
    float a[N * N], r[N * N];
    random_attention(&rng, a, 1, N);
    tg_attention_rollout(a, 1, N, r);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            assert_true(fabsf(r[i * N + j] - (0.5f * a[i * N + j] + (i == j ? 0.5f : 0.0f))) < 1e-6f);
    float eye[3 * N * N] = {0};
    for (int l = 0; l < 3; l++)
        for (int i = 0; i < N; i++) eye[l * N * N + i * N + i] = 1.0f;
    tg_attention_rollout(eye, 3, N, r);
    for (int i = 0; i < N * N; i++) assert_true(r[i] == (i % (N + 1) == 0 ? 1.0f : 0.0f));
}

/* Three layers against the product written out: R = Ã3·Ã2·Ã1, rows summing
 * to 1; a fully masked (zero) row acts as the identity's row. */
static void test_rollout_product(void **state) {
    (void)state;
    tg_rng rng;
    tg_rng_seed(&rng, 2);
    enum { L = 3, N = 4 };
    float a[L * N * N], r[N * N];
    random_attention(&rng, a, L, N);
    for (int j = 0; j < N; j++) a[1 * N * N + 2 * N + j] = 0.0f; /* layer 2, query 2: masked */
    double m[L][N][N], want[N][N], tmp[N][N];
    for (int l = 0; l < L; l++)
        for (int i = 0; i < N; i++) {
            double s = 0;
            for (int j = 0; j < N; j++) s += m[l][i][j] = 0.5 * a[l * N * N + i * N + j] + 0.5 * (i == j);
            for (int j = 0; j < N; j++) m[l][i][j] /= s;
        }
    memcpy(want, m[0], sizeof want);
    for (int l = 1; l < L; l++) {
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++) {
                tmp[i][j] = 0;
                for (int k = 0; k < N; k++) tmp[i][j] += m[l][i][k] * want[k][j];
            }
        memcpy(want, tmp, sizeof want);
    }
    tg_attention_rollout(a, L, N, r);
    for (int i = 0; i < N; i++) {
        double row = 0;
        for (int j = 0; j < N; j++) {
            assert_true(fabs(r[i * N + j] - want[i][j]) < 1e-6);
            row += r[i * N + j];
        }
        assert_true(fabs(row - 1.0) < 1e-6);
    }
    TU_EXPECT_DEATH(tg_attention_rollout(a, 0, N, r), "need n_layers >= 1");
}

/* The picture: (1 + n_maps) panels of W·zoom, 4-pixel gaps, H·zoom high;
 * gray and RGB images; a constant (all-zero) map is allowed; an unwritable
 * path is an error status, not an abort. */
static void test_plot_attention(void **state) {
    (void)state;
    tg_rng rng;
    tg_rng_seed(&rng, 3);
    enum { H = 12, W = 8, GH = 3, GW = 2 };
    float gray[H * W], rgb[H * W * 3], maps[2 * GH * GW];
    for (int i = 0; i < H * W; i++) gray[i] = tg_rng_uniform(&rng);
    for (int i = 0; i < H * W * 3; i++) rgb[i] = tg_rng_uniform(&rng);
    for (int i = 0; i < GH * GW; i++) maps[i] = tg_rng_uniform(&rng);
    for (int i = 0; i < GH * GW; i++) maps[GH * GW + i] = 0.0f;
    int w, h;
    assert_int_equal(tg_plot_attention(tu_tmp_path("gray.png"), gray, H, W, 1, maps, 2, GH, GW, 3), TG_OK);
    tu_png_size(tu_tmp_path("gray.png"), &w, &h);
    assert_int_equal(w, 3 * W * 3 + 2 * 4);
    assert_int_equal(h, H * 3);
    assert_int_equal(tg_plot_attention(tu_tmp_path("rgb.png"), rgb, H, W, 3, maps, 1, GH, GW, 1), TG_OK);
    tu_png_size(tu_tmp_path("rgb.png"), &w, &h);
    assert_int_equal(w, 2 * W + 4);
    assert_int_equal(h, H);
    assert_int_not_equal(tg_plot_attention(tu_tmp_path("no/such/dir/x.png"), gray, H, W, 1, maps, 1, GH, GW, 1),
                         TG_OK);
    assert_non_null(strstr(tg_last_error(), "no/such/dir/x.png"));
    TU_EXPECT_DEATH(tg_plot_attention("x.png", gray, H, W, 2, maps, 1, GH, GW, 1), "bad sizes");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rollout_one_layer_and_identity),
        cmocka_unit_test(test_rollout_product),
        cmocka_unit_test(test_plot_attention),
    };
    return cmocka_run_group_tests(tests, tu_tmpdir_setup, tu_tmpdir_teardown);
}
