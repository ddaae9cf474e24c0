/* data/png.h — PNG files through libpng (the only place that includes it).
 *
 *   uint8_t *rgb = ...;   // [height, width, 3], row-major
 *   if (tg_png_write_rgb("confusion.png", rgb, width, height) != TG_OK)
 *       fprintf(stderr, "%s\n", tg_last_error());
 */
#ifndef TG_DATA_PNG_H
#define TG_DATA_PNG_H

#include <stdint.h>

#include "core/error.h"

/* Writes an 8-bit RGB image [height, width, 3] to path, atomically
 * (tg_write_atomic, data/io.h).  Errors: TG_ERR_IO with the path and the
 * reason (as tg_write_atomic); nothing is left at path on failure. */
tg_status tg_png_write_rgb(const char *path, const uint8_t *rgb, int width, int height);

#endif
