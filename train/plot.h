/* train/plot.h — figures written as PNG: charts (heat map, scatter, lines)
 * drawn by PLplot with its cairo PNG driver (Debian libplplot-dev
 * plplot-driver-cairo), written atomically through data/io.h; attention
 * pictures as raw pixels via data/png.h.
 *
 *   tg_plot_heatmap("confusion.png", counts, 17, 17, names, names);
 *   tg_plot_attention("attn.png", image, 28, 28, 1, maps, 2, 7, 7, 4);
 *   tg_plot_series s[] = {{"CNN", 5, n, acc, acc_std}, {"ViT", 5, n, acc2, acc2_std}};
 *   tg_plot_axes ax = {.title = "MNIST", .x_label = "training images N",
 *                      .y_label = "test accuracy (%)", .log_x = 1};
 *   tg_plot_lines("scaling.png", s, 2, &ax);
 */
#ifndef TG_TRAIN_PLOT_H
#define TG_TRAIN_PLOT_H

#include <stdint.h>

#include "core/error.h"

/* A heat map of a [rows, cols] matrix of counts (a confusion matrix: row =
 * gold, column = predicted).  Each cell is shaded by its share of its row
 * (white 0 → dark blue at the largest share), so the diagonal reads as
 * per-class recall, with a colour bar; row_labels go left of the rows and
 * col_labels under the columns (NULL: the indices "0", "1", …); axis titles
 * "true" and "predicted".  Drawn by tg_plot_heatmap_labelled
 * (train/heatmap.h), 1000 × 800 pixels.  Errors: as
 * tg_plot_heatmap_labelled (TG_ERR_IO with the path; path untouched). */
tg_status tg_plot_heatmap(const char *path, const int64_t *counts, int rows, int cols,
                          const char *const *row_labels, const char *const *col_labels);

/* Where a model looks: the image, then one panel per map, side by side.
 * image: [H, W, C] floats in [0, 1], C = 1 (gray) or 3 (RGB), row-major.
 * maps: n_maps >= 0 maps of [grid_h, grid_w] weights (e.g. the [CLS]
 * token's attention over a grid of patches), each scaled from its own
 * minimum (0) to its own maximum (1) — a constant map is all 0 — upsampled to H×W by tg_image_resize (bilinear, pixel centres
 * as torch's interpolate(align_corners=False)), coloured by an inferno-like ramp
 * (black → purple → red → orange → pale yellow at the maximum) and blended
 * 60/40 with a gray copy of the image, so strokes stay visible.
 * Every panel is enlarged zoom >= 1 times (nearest neighbour) and panels are
 * separated by 4 white pixels.  Errors: as tg_png_write_rgb (TG_ERR_IO with
 * the path); bad sizes or NULL pointers abort. */
tg_status tg_plot_attention(const char *path, const float *image, int H, int W, int C,
                            const float *maps, int n_maps, int grid_h, int grid_w, int zoom);
/* A scatter plot of n points (xy[2i], xy[2i+1]) coloured by class
 * (classes[i] in [0, n_classes), or −1: drawn grey, not in the legend), with
 * a legend naming each class (class_names, or NULL for "class 0" …) and a
 * title; axes labelled "PC 1" / "PC 2".  Drawn by PLplot with the cairo PNG
 * driver (Debian libplplot-dev plplot-driver-cairo), 1000 × 800 pixels,
 * written atomically.  At most 14 classes (the palette).
 * Errors: TG_ERR_IO "path: cannot create temporary file ...: reason" when
 * path cannot be written, or no pngcairo driver; n < 1 or n_classes
 * outside 1..14 aborts. */
tg_status tg_plot_scatter(const char *path, const float *xy, int n, const int32_t *classes,
                          int n_classes, const char *const *class_names, const char *title);

/* One line of a line chart: n points (x[i], y[i]) in the order given,
 * drawn as a line with a dot at each point; y_std (may be NULL) draws a
 * translucent band y ± y_std around it (e.g. the standard deviation over
 * seeds).  name is the legend text (NULL: blank).  Arrays are the caller's. */
typedef struct tg_plot_series {
    const char *name;
    int n;
    const double *x, *y, *y_std; /* [n] each */
} tg_plot_series;

/* Titles and axes of a chart.  Strings may be NULL (blank).  log_x: a
 * base-10 logarithmic x axis (every x must be > 0).  y_min < y_max fixes
 * the y range; otherwise (e.g. both 0) it fits the data and bands with a
 * 4% margin. */
typedef struct tg_plot_axes {
    const char *title, *x_label, *y_label;
    int log_x;
    double y_min, y_max;
} tg_plot_axes;

/* A line chart of n_series series (0..14: one palette colour each, in
 * order), bands under lines, a grey grid, axis titles, and a legend right
 * of the frame (outside it, so it hides no data); a learning curve ("test accuracy vs training-set
 * size, ± std over seeds").  Points with a non-finite x or y are left out
 * of the range.  PLplot / pngcairo, 1000 × 700 pixels, written atomically.
 * Errors: TG_ERR_IO (path: cannot create temporary file / no pngcairo
 * driver), path untouched; NULL path or axes, n_series outside 0..14, a
 * series with n < 0 or NULL arrays, or x <= 0 on a log axis abort
 * (TG_CHECK, naming the series). */
tg_status tg_plot_lines(const char *path, const tg_plot_series *series, int n_series, const tg_plot_axes *axes);

/* Principal component analysis: projects the n rows of x [n, d] (row-major)
 * onto the k leading eigenvectors of their covariance (x centred), into
 * out [n, k]; var (may be NULL) receives the k variances (eigenvalues,
 * descending).  Power iteration with deflation in double, from a fixed
 * start (deterministic).  Errors: n < 2, d < 1, k outside 1..d abort. */
void tg_pca_project(const float *x, int n, int d, int k, float *out, double *var);

#endif
