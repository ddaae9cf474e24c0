/* train/plot.h — small figures written as PNG (via data/png.h).
 *
 *   tg_plot_heatmap("confusion.png", counts, 17, 17, names, names);
 *   tg_plot_attention("attn.png", image, 28, 28, 1, maps, 2, 7, 7, 4);
 */
#ifndef TG_TRAIN_PLOT_H
#define TG_TRAIN_PLOT_H

#include <stdint.h>

#include "core/error.h"

/* A heat map of a [rows, cols] matrix of counts (a confusion matrix: row =
 * gold, column = predicted).  Each cell is shaded by its share of its row
 * (white 0 → dark blue 1), so the diagonal reads as per-class recall; labels
 * (upper-case ASCII letters, digits and _ drawn with a built-in 5×7 font,
 * others as blanks) go left of the rows and above the columns.
 * Errors: as tg_png_write_rgb (TG_ERR_IO with the path). */
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
 * driver (Debian libplplot-dev plplot-driver-cairo), 1000 × 800 pixels.
 * At most 16 classes (PLplot's colour map 0).
 * Errors: TG_ERR_IO "path: cannot create: reason" when path cannot be
 * written (checked before PLplot opens it); n < 1 or n_classes outside
 * 1..14 aborts. */
tg_status tg_plot_scatter(const char *path, const float *xy, int n, const int32_t *classes,
                          int n_classes, const char *const *class_names, const char *title);

/* Principal component analysis: projects the n rows of x [n, d] (row-major)
 * onto the k leading eigenvectors of their covariance (x centred), into
 * out [n, k]; var (may be NULL) receives the k variances (eigenvalues,
 * descending).  Power iteration with deflation in double, from a fixed
 * start (deterministic).  Errors: n < 2, d < 1, k outside 1..d abort. */
void tg_pca_project(const float *x, int n, int d, int k, float *out, double *var);

#endif
