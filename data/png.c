/* data/png.c — see png.h. */
#define _POSIX_C_SOURCE 200809L
#include "data/png.h"

#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

tg_status tg_png_write_rgb(const char *path, const uint8_t *rgb, int width, int height) {
    TG_CHECK(path && rgb && width > 0 && height > 0, "tg_png_write_rgb",
             "need a path, pixels and a positive size, got %d x %d", width, height);
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) return tg_set_error(TG_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info || setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        fclose(f);
        remove(tmp);
        return tg_set_error(TG_ERR_IO, "%s: libpng failed to write the image", path);
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < height; y++) png_write_row(png, (png_const_bytep)(rgb + (size_t)y * width * 3));
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
        int e = errno;
        fclose(f);
        remove(tmp);
        return tg_set_error(TG_ERR_IO, "%s: write failed: %s", path, strerror(e));
    }
    fclose(f);
    if (rename(tmp, path) != 0) {
        int e = errno;
        remove(tmp);
        return tg_set_error(TG_ERR_IO, "%s: cannot rename %s into place: %s", path, tmp, strerror(e));
    }
    return TG_OK;
}
