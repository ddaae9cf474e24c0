/* train/plplot.h — private to train/: the one way train/ draws a figure with
 * PLplot (https://plplot.sourceforge.net) and its cairo PNG driver.  Not a
 * public header (tapegrad.h does not include it).
 *
 *   static void draw(void *ctx) { plenv(...); plline(...); pllab(...); }
 *   return tg__plplot_png(path, 1000, 800, draw, &my_data);
 */
#ifndef TG_TRAIN_PLPLOT_H
#define TG_TRAIN_PLPLOT_H

#include "core/error.h"

/* Opens a PLplot stream on the "pngcairo" device of width × height pixels
 * with a white background and colour 1 black, calls draw(ctx) to draw one
 * page, ends the stream, and writes the PNG to path through data/io.h's
 * tg_write_atomic (PLplot gets a duplicate of the temporary file's
 * descriptor, which it closes at plend): readers of path see the old file
 * or the whole new one.  draw may set colour maps, viewports, anything.
 * Errors: TG_ERR_IO "path: PLplot has no pngcairo driver (Debian:
 * plplot-driver-cairo)", or tg_write_atomic's ("path: cannot create
 * temporary file ..."); path untouched on error. */
tg_status tg__plplot_png(const char *path, int width, int height, void (*draw)(void *ctx), void *ctx);

#endif
