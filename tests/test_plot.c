/* tests/test_plot.c — the PLplot charts of train/plot.h: each is written,
 * read back with data/png.h, and checked for its size, for ink (not blank)
 * and for the colours it must show (lines, bands, heat-map cells). */
#include <math.h>

#include "data/png.h"
#include "tests/helpers/testutil.h"

/* Reads path as RGB; returns the pixels (caller frees) and the size. */
static float *read_rgb(const char *path, int *w, int *h) {
    float *px = NULL;
    assert_int_equal(tg_png_read(path, 3, &px, h, w), TG_OK);
    return px;
}

/* Pixels within 12/255 of the colour (r, g, b) in 0..255. */
static int64_t count_colour(const float *px, int w, int h, int r, int g, int b) {
    int64_t n = 0;
    for (int64_t i = 0; i < (int64_t)w * h; i++) {
        const float *p = px + 3 * i;
        if (fabsf(p[0] * 255 - r) < 12 && fabsf(p[1] * 255 - g) < 12 && fabsf(p[2] * 255 - b) < 12) n++;
    }
    return n;
}

/* Pixels that are not white. */
static int64_t count_ink(const float *px, int w, int h) {
    return (int64_t)w * h - count_colour(px, w, h, 255, 255, 255);
}

/* A learning-curve chart: two series with bands on a log x axis.  The
 * first series' blue (31, 119, 180) and the second's orange are drawn,
 * and the translucent band gives pale blue pixels (blue at 20% over white). */
static void test_plot_lines(void **state) {
    (void)state;
    const double n[4] = {100, 1000, 10000, 60000};
    const double a[4] = {80, 92, 97, 99}, a_std[4] = {3, 2, 1, 0.5};
    const double b[4] = {60, 85, 95, 98.5}, b_std[4] = {5, 3, 1, 0.3};
    const tg_plot_series s[2] = {{"CNN", 4, n, a, a_std}, {"ViT", 4, n, b, b_std}};
    const tg_plot_axes ax = {.title = "MNIST", .x_label = "training images N", .y_label = "test accuracy (%)",
                             .log_x = 1};
    const char *path = tu_tmp_path("lines.png");
    assert_int_equal(tg_plot_lines(path, s, 2, &ax), TG_OK);
    int w, h;
    float *px = read_rgb(path, &w, &h);
    assert_int_equal(w, 1000);
    assert_int_equal(h, 700);
    assert_true(count_ink(px, w, h) > 5000);
    assert_true(count_colour(px, w, h, 31, 119, 180) > 300);  /* the CNN line and dots */
    assert_true(count_colour(px, w, h, 255, 127, 14) > 300);  /* the ViT line and dots */
    assert_true(count_colour(px, w, h, 210, 227, 240) > 2000); /* the CNN band: 0.2 blue + 0.8 white */
    free(px);
    /* fixed y range, a one-point series, no series at all: still pictures */
    const tg_plot_series one = {"one", 1, n, a, a_std};
    const tg_plot_axes fixed = {.y_min = 0, .y_max = 100};
    assert_int_equal(tg_plot_lines(path, &one, 1, &fixed), TG_OK);
    assert_int_equal(tg_plot_lines(path, NULL, 0, &fixed), TG_OK);
    px = read_rgb(path, &w, &h);
    assert_true(count_ink(px, w, h) > 1000); /* the frame and ticks */
    free(px);
    /* an unwritable path: an error with the path, nothing written */
    assert_int_equal(tg_plot_lines(tu_tmp_path("no/such/dir/l.png"), s, 2, &ax), TG_ERR_IO);
    assert_non_null(strstr(tg_last_error(), "no/such/dir/l.png"));
    /* x <= 0 cannot go on a log axis */
    const double bad_x[2] = {0, 10};
    const tg_plot_series bad = {"bad", 2, bad_x, a, NULL};
    TU_EXPECT_DEATH(tg_plot_lines(path, &bad, 1, &ax), "x[0] = 0 on a log axis");
}

/* The confusion heat map: a perfect diagonal in dark blue (8, 48, 107),
 * off-diagonal cells white; labels NULL give indices. */
static void test_plot_heatmap(void **state) {
    (void)state;
    enum { K = 4 };
    int64_t conf[K * K] = {0};
    for (int i = 0; i < K; i++) conf[i * K + i] = 10 + i;
    const char *path = tu_tmp_path("confusion.png");
    assert_int_equal(tg_plot_heatmap(path, conf, K, K, NULL, NULL), TG_OK);
    int w, h;
    float *px = read_rgb(path, &w, &h);
    assert_int_equal(w, 1000);
    assert_int_equal(h, 800);
    int64_t dark = count_colour(px, w, h, 8, 48, 107);
    assert_true(dark > K * 5000); /* four big cells (and the top of the colour bar) */
    assert_true(count_ink(px, w, h) > dark);
    free(px);
    const char *names[K] = {"NOUN", "VERB", "ADJ", "X"};
    assert_int_equal(tg_plot_heatmap(path, conf, K, K, names, names), TG_OK);
    assert_int_equal(tg_plot_heatmap(tu_tmp_path("no/such/dir/c.png"), conf, K, K, names, names), TG_ERR_IO);
    TU_EXPECT_DEATH(tg_plot_heatmap(path, conf, 0, K, NULL, NULL), "positive size");
}

/* The scatter plot: the first class's blue dots. */
static void test_plot_scatter(void **state) {
    (void)state;
    float xy[2 * 40];
    int32_t cls[40];
    for (int i = 0; i < 40; i++) {
        xy[2 * i] = (float)(i % 10) + (i >= 20 ? 20.0f : 0.0f);
        xy[2 * i + 1] = (float)(i / 10);
        cls[i] = i >= 20;
    }
    const char *path = tu_tmp_path("scatter.png");
    assert_int_equal(tg_plot_scatter(path, xy, 40, cls, 2, NULL, "two blobs"), TG_OK);
    int w, h;
    float *px = read_rgb(path, &w, &h);
    assert_int_equal(w, 1000);
    assert_int_equal(h, 800);
    assert_true(count_colour(px, w, h, 31, 119, 180) > 200);
    assert_true(count_colour(px, w, h, 255, 127, 14) > 200);
    free(px);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plot_lines),
        cmocka_unit_test(test_plot_heatmap),
        cmocka_unit_test(test_plot_scatter),
    };
    return cmocka_run_group_tests(tests, tu_tmpdir_setup, tu_tmpdir_teardown);
}
