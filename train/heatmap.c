/* train/heatmap.c — see heatmap.h.  PLplot draws the cells, labels and
 * colour bar (train/plplot.h: the pngcairo device, the atomic writer). */
#include "train/heatmap.h"

#include <plplot.h>
#include <stdio.h>
#include <stdlib.h>

#include "train/plot.h"
#include "train/plplot.h"

typedef struct {
    const double *values;
    int rows, cols;
    const char *const *row_labels, *const *col_labels;
    const char *title, *x_label, *y_label;
    double lo, hi;
} heatmap;

static void draw_heatmap(void *arg) {
    const heatmap *h = arg;
    const int rows = h->rows, cols = h->cols;
    /* colour map 1: white -> dark blue */
    PLFLT pos[2] = {0, 1}, r[2] = {1, 0.03}, g[2] = {1, 0.19}, b[2] = {1, 0.42};
    plscmap1l(1, 2, pos, r, g, b, NULL);
    pladv(0);
    plvpor(0.18, 0.82, 0.22, 0.88);
    plwind(0, cols, 0, rows);
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++) {
            PLFLT x[4] = {j, j + 1, j + 1, j}, y[4] = {rows - i - 1, rows - i - 1, rows - i, rows - i};
            plcol1((h->values[(size_t)i * cols + j] - h->lo) / (h->hi - h->lo));
            plfill(4, x, y);
        }
    plcol0(1);
    plschr(0, 0.9);
    plbox("bc", 0, 0, "bc", 0, 0);
    for (int j = 0; j < cols; j++) plmtex("bv", 0.5, (j + 0.5) / cols, 1.0, h->col_labels[j]);
    for (int i = 0; i < rows; i++) plmtex("lv", 0.5, (rows - i - 0.5) / rows, 1.0, h->row_labels[i]);
    if (h->title) plmtex("t", 1.5, 0.5, 0.5, h->title);
    if (h->x_label) plmtex("b", 7.5, 0.5, 0.5, h->x_label);
    if (h->y_label) plmtex("l", 9.0, 0.5, 0.5, h->y_label);
    /* colour bar */
    PLFLT bar_w, bar_h;
    PLINT opt = PL_COLORBAR_GRADIENT, lab_opt = PL_COLORBAR_LABEL_RIGHT;
    const char *lab[1] = {""};
    PLINT n_axis_opts = 1, n_sub[1] = {0}, n_vals[1] = {2};
    const char *axis_opts[1] = {"bcvtm"};
    PLFLT tick[1] = {0}, v[2] = {h->lo, h->hi}, *vals[1] = {v};
    plcolorbar(&bar_w, &bar_h, opt, PL_POSITION_RIGHT, 0.03, 0, 0.04, 0.66, 0, 1, 1, 0.0, 0.0, 0, 0.0,
               1, &lab_opt, lab, n_axis_opts, axis_opts, tick, n_sub, n_vals, (const PLFLT *const *)vals);
}

tg_status tg_plot_heatmap_labelled(const char *path, const double *values, int rows, int cols,
                                   const char *const *row_labels, const char *const *col_labels,
                                   const char *title, const char *x_label, const char *y_label) {
    TG_CHECK(path && values && row_labels && col_labels && rows >= 1 && cols >= 1,
             "tg_plot_heatmap_labelled", "bad arguments: %d x %d", rows, cols);
    heatmap h = {values, rows, cols, row_labels, col_labels, title, x_label, y_label, 0, values[0]};
    for (int i = 0; i < rows * cols; i++) {
        if (values[i] < h.lo) h.lo = values[i];
        if (values[i] > h.hi) h.hi = values[i];
    }
    if (h.hi <= h.lo) h.hi = h.lo + 1;
    return tg__plplot_png(path, 1000, 800, draw_heatmap, &h);
}

/* The confusion matrix (train/plot.h): each row's shares, drawn as above. */
tg_status tg_plot_heatmap(const char *path, const int64_t *counts, int rows, int cols,
                          const char *const *row_labels, const char *const *col_labels) {
    TG_CHECK(path && counts && rows > 0 && cols > 0, "tg_plot_heatmap",
             "need a path, counts and a positive size, got %d x %d", rows, cols);
    double *share = tg_xmalloc((size_t)rows * cols * sizeof *share);
    char (*numbers)[16] = tg_xmalloc((size_t)(rows > cols ? rows : cols) * sizeof *numbers);
    const char **names = tg_xmalloc((size_t)(rows > cols ? rows : cols) * sizeof *names);
    for (int i = 0; i < (rows > cols ? rows : cols); i++) {
        snprintf(numbers[i], sizeof numbers[i], "%d", i);
        names[i] = numbers[i];
    }
    for (int i = 0; i < rows; i++) {
        int64_t total = 0;
        for (int j = 0; j < cols; j++) total += counts[(size_t)i * cols + j];
        for (int j = 0; j < cols; j++)
            share[(size_t)i * cols + j] = total ? (double)counts[(size_t)i * cols + j] / (double)total : 0.0;
    }
    tg_status st = tg_plot_heatmap_labelled(path, share, rows, cols, row_labels ? row_labels : names,
                                            col_labels ? col_labels : names, "confusion matrix (share of each row)",
                                            "predicted", "true");
    free(names);
    free(numbers);
    free(share);
    return st;
}
