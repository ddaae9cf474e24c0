/* train/heatmap.h — a labelled heat map (e.g. attention weights between two
 * word sequences) drawn with PLplot's cairo PNG driver.
 *
 *   const char *out[] = {"i", "m", "cold", ".", "<eos>"}, *src[] = {"j", "ai", "froid", "."};
 *   tg_plot_heatmap_labelled("att.png", weights, 5, 4, out, src,
 *                            "cross-attention", "source", "output");
 */
#ifndef TG_TRAIN_HEATMAP_H
#define TG_TRAIN_HEATMAP_H

#include "core/error.h"

/* values: [rows, cols] row-major (row i drawn as the i-th row from the top),
 * each cell shaded from white (the smallest value, or 0 if all are >= 0) to
 * dark blue (the largest), with a colour bar.  row_labels (rows strings,
 * left of the rows) and col_labels (cols strings, under the columns,
 * vertical) are ASCII; title, x_label (under the column labels) and y_label
 * may be NULL.  Writes a 1000×800 PNG to path atomically (a temporary file
 * renamed over path).  Errors: TG_ERR_IO "path: cannot create: <reason>",
 * or when the PNG driver is missing ("path: PLplot has no pngcairo driver
 * (Debian: plplot-driver-cairo)"); path untouched.  rows, cols < 1 or NULL
 * values/labels abort. */
tg_status tg_plot_heatmap_labelled(const char *path, const double *values, int rows, int cols,
                                   const char *const *row_labels, const char *const *col_labels,
                                   const char *title, const char *x_label, const char *y_label);

#endif
