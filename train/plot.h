/* train/plot.h — small figures written as PNG (via data/png.h).
 *
 *   tg_plot_heatmap("confusion.png", counts, 17, 17, names, names);
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

#endif
