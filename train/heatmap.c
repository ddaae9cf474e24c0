/* train/heatmap.c — see heatmap.h.  PLplot (https://plplot.sourceforge.net)
 * draws the cells, labels and colour bar; the "pngcairo" device writes the
 * file. */
#define _POSIX_C_SOURCE 200809L
#include "train/heatmap.h"

#include <errno.h>
#include <plplot.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int has_pngcairo(void) {
    const char *menu_a[128], *names_a[128], **menu = menu_a, **names = names_a;
    int n = 128; /* in: room; out: devices */
    plgDevs(&menu, &names, &n);
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], "pngcairo") == 0) return 1;
    return 0;
}

tg_status tg_plot_heatmap_labelled(const char *path, const double *values, int rows, int cols,
                                   const char *const *row_labels, const char *const *col_labels,
                                   const char *title, const char *x_label, const char *y_label) {
    TG_CHECK(path && values && row_labels && col_labels && rows >= 1 && cols >= 1,
             "tg_plot_heatmap_labelled", "bad arguments: %d x %d", rows, cols);
    if (!has_pngcairo())
        return tg_set_error(TG_ERR_IO, "%s: PLplot has no pngcairo driver (Debian: plplot-driver-cairo)", path);
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *probe = fopen(tmp, "wb"); /* PLplot exits on a file it cannot open: check first */
    if (!probe) return tg_set_error(TG_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    fclose(probe);

    double lo = 0, hi = values[0];
    for (int i = 0; i < rows * cols; i++) {
        if (values[i] < lo) lo = values[i];
        if (values[i] > hi) hi = values[i];
    }
    if (hi <= lo) hi = lo + 1;

    plsdev("pngcairo");
    plsfnam(tmp);
    plspage(0, 0, 1000, 800, 0, 0);
    plscolbg(255, 255, 255);
    plinit();
    plscol0(1, 0, 0, 0); /* black text and frame */
    /* colour map 1: white -> dark blue */
    PLFLT pos[2] = {0, 1}, r[2] = {1, 0.03}, g[2] = {1, 0.19}, b[2] = {1, 0.42};
    plscmap1l(1, 2, pos, r, g, b, NULL);
    pladv(0);
    plvpor(0.18, 0.82, 0.22, 0.88);
    plwind(0, cols, 0, rows);
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++) {
            PLFLT x[4] = {j, j + 1, j + 1, j}, y[4] = {rows - i - 1, rows - i - 1, rows - i, rows - i};
            plcol1((values[(size_t)i * cols + j] - lo) / (hi - lo));
            plfill(4, x, y);
        }
    plcol0(1);
    plschr(0, 0.9);
    plbox("bc", 0, 0, "bc", 0, 0);
    for (int j = 0; j < cols; j++) plmtex("bv", 0.5, (j + 0.5) / cols, 1.0, col_labels[j]);
    for (int i = 0; i < rows; i++) plmtex("lv", 0.5, (rows - i - 0.5) / rows, 1.0, row_labels[i]);
    if (title) plmtex("t", 1.5, 0.5, 0.5, title);
    if (x_label) plmtex("b", 7.5, 0.5, 0.5, x_label);
    if (y_label) plmtex("l", 9.0, 0.5, 0.5, y_label);
    /* colour bar */
    PLFLT bar_w, bar_h;
    PLINT opt = PL_COLORBAR_GRADIENT, lab_opt = PL_COLORBAR_LABEL_RIGHT;
    const char *lab[1] = {""};
    PLINT n_axis_opts = 1, n_sub[1] = {0}, n_vals[1] = {2};
    const char *axis_opts[1] = {"bcvtm"};
    PLFLT tick[1] = {0}, v[2] = {lo, hi}, *vals[1] = {v};
    plcolorbar(&bar_w, &bar_h, opt, PL_POSITION_RIGHT, 0.03, 0, 0.04, 0.66, 0, 1, 1, 0.0, 0.0, 0, 0.0,
               1, &lab_opt, lab, n_axis_opts, axis_opts, tick, n_sub, n_vals, (const PLFLT *const *)vals);
    plend();
    if (rename(tmp, path) != 0) {
        int e = errno;
        remove(tmp);
        return tg_set_error(TG_ERR_IO, "%s: rename failed: %s", path, strerror(e));
    }
    return TG_OK;
}
