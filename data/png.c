/* data/png.c — PNG files through libpng.  See png.h. */
#define _POSIX_C_SOURCE 200809L
#include "data/png.h"

#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include "data/io.h"

/* ---- writing ------------------------------------------------------------------ */

typedef struct {
    const uint8_t *rgb;
    int width, height;
} png_out;

/* A tg_write_fn: the image as 8-bit RGB into f. */
static int write_rgb(FILE *f, void *ctx) {
    const png_out *o = ctx;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        png_destroy_write_struct(&png, &info);
        errno = ENOMEM;
        return -1;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        if (!errno) errno = EIO;
        return -1;
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)o->width, (png_uint_32)o->height, 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < o->height; y++)
        png_write_row(png, (png_const_bytep)(o->rgb + (size_t)y * o->width * 3));
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    return ferror(f) ? -1 : 0;
}

tg_status tg_png_write_rgb(const char *path, const uint8_t *rgb, int width, int height) {
    TG_CHECK(path && rgb && width > 0 && height > 0, "tg_png_write_rgb",
             "need a path, pixels and a positive size, got %d x %d", width, height);
    png_out o = {rgb, width, height};
    return tg_write_atomic(path, write_rgb, &o);
}
