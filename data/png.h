/* data/png.h — PNG files through libpng (the only place that includes it).
 *
 *   uint8_t *rgb = ...;   // [height, width, 3], row-major
 *   if (tg_png_write_rgb("confusion.png", rgb, width, height) != TG_OK)
 *       fprintf(stderr, "%s\n", tg_last_error());
 *
 *   float *img;  int h, w;
 *   if (tg_png_read("photo.png", 3, &img, &h, &w) != TG_OK) die("%s", tg_last_error());
 *   ... img is [h, w, 3] in [0, 1] ...
 *   free(img);
 */
#ifndef TG_DATA_PNG_H
#define TG_DATA_PNG_H

#include <stdint.h>

#include "core/error.h"

/* Writes an 8-bit RGB image [height, width, 3] to path, atomically
 * (tg_write_atomic, data/io.h).  Errors: TG_ERR_IO with the path and the
 * reason (as tg_write_atomic); nothing is left at path on failure. */
tg_status tg_png_write_rgb(const char *path, const uint8_t *rgb, int width, int height);

/* Largest width or height accepted, and largest width × height. */
#define TG_PNG_MAX_SIDE 65536
#define TG_PNG_MAX_PIXELS ((uint64_t)1 << 28)

/* Reads a PNG file into *pixels: float32 [H, W, channels] channels-last,
 * row-major, each sample v scaled by 1/(2^depth − 1) into [0, 1]
 * (16-bit samples keep their precision); 64-byte aligned, caller frees.
 * channels: 1 (gray) or 3 (RGB), whatever the file holds:
 *   - every colour type and depth: gray 1/2/4/8/16 bit, gray+alpha,
 *     palette (with or without tRNS), RGB and RGBA 8/16 bit, interlaced;
 *   - gray → RGB repeats the gray value; RGB → gray is the luma
 *     0.299 R + 0.587 G + 0.114 B (ITU-R BT.601, as PIL's convert("L") and
 *     torchvision's Grayscale), on the stored values;
 *   - alpha is dropped (the colour as stored, as PIL's convert("RGB"),
 *     which torchvision's ImageFolder applies), not composited;
 *   - gamma and colour-profile chunks are ignored: values as stored.
 * Errors: TG_ERR_IO "path: cannot open: <strerror>";
 *   TG_ERR_FORMAT "path: not a PNG file: expected the signature 89 50 4E 47 0D 0A 1A 0A",
 *   "path: libpng: <libpng's message>: expected a valid PNG image" (bad CRC,
 *   bad IHDR, corrupt or truncated data — "unexpected end of file (truncated?)" —,
 *   larger than TG_PNG_MAX_SIDE / TG_PNG_MAX_PIXELS);
 *   TG_ERR_NOMEM.  On error nothing is allocated and the outputs are untouched. */
tg_status tg_png_read(const char *path, int channels, float **pixels, int *height, int *width);

#endif
