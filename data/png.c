/* data/png.c — PNG files through libpng.  See png.h. */
#define _POSIX_C_SOURCE 200809L
#include "data/png.h"

#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/image_internal.h"
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

/* ---- reading ------------------------------------------------------------------ */

typedef struct {
    FILE *f;
    char msg[200]; /* libpng's error text */
} png_in;

static void on_error(png_structp png, png_const_charp msg) {
    png_in *in = png_get_error_ptr(png);
    snprintf(in->msg, sizeof in->msg, "%s", msg);
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg) {
    (void)png, (void)msg; /* e.g. "iCCP: known incorrect sRGB profile": harmless for pixels */
}

/* libpng's default reader says only "Read Error"; say what happened. */
static void read_data(png_structp png, png_bytep data, size_t n) {
    png_in *in = png_get_io_ptr(png);
    if (fread(data, 1, n, in->f) != n)
        png_error(png, ferror(in->f) ? strerror(errno) : "unexpected end of file (truncated?)");
}

tg_status tg_png_read(const char *path, int channels, float **pixels, int *height, int *width) {
    TG_CHECK(path && pixels && height && width && (channels == 1 || channels == 3), "tg_png_read",
             "need path, outputs and channels 1 or 3 (got %d)", channels);
    png_in in = {.f = fopen(path, "rb")};
    if (!in.f) return tg_set_error(TG_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    unsigned char sig[8];
    size_t got = fread(sig, 1, 8, in.f);
    if (got != 8 || png_sig_cmp(sig, 0, 8) != 0) {
        int e = ferror(in.f) ? errno : 0;
        fclose(in.f);
        if (e) return tg_set_error(TG_ERR_IO, "%s: read failed: %s", path, strerror(e));
        return tg_set_error(TG_ERR_FORMAT, "%s: not a PNG file: expected the signature 89 50 4E 47 0D 0A 1A 0A", path);
    }
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &in, on_error, on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        png_destroy_read_struct(&png, &info, NULL);
        fclose(in.f);
        return tg_set_error(TG_ERR_NOMEM, "%s: out of memory creating the PNG reader", path);
    }
    /* Everything set after setjmp and used after the longjmp is volatile. */
    png_bytep volatile rows = NULL;
    png_bytepp volatile row_ptr = NULL;
    float *volatile out = NULL;
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        fclose(in.f);
        free(rows);
        free(row_ptr);
        free(out);
        return tg_set_error(TG_ERR_FORMAT, "%s: libpng: %s: expected a valid PNG image", path, in.msg);
    }
    png_set_read_fn(png, &in, read_data);
    png_set_sig_bytes(png, 8);
    png_set_user_limits(png, TG_PNG_MAX_SIDE, TG_PNG_MAX_SIDE);
    png_read_info(png, info);
    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    if ((uint64_t)w * h > TG_PNG_MAX_PIXELS) png_error(png, "more than 2^28 pixels");
    /* palette → RGB, gray of 1/2/4 bits → 8 bits, tRNS → an alpha channel;
     * 16-bit samples are kept (big-endian in the rows) */
    png_set_expand(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    int nc = png_get_channels(png, info), depth = png_get_bit_depth(png, info);
    size_t rowbytes = png_get_rowbytes(png, info);
    rows = malloc(rowbytes * h);
    row_ptr = malloc(sizeof(png_bytep) * h);
    out = tg__image_alloc((int64_t)w * h * channels);
    if (!rows || !row_ptr || !out) png_error(png, "out of memory for the pixels");
    for (png_uint_32 y = 0; y < h; y++) row_ptr[y] = rows + y * rowbytes;
    png_read_image(png, row_ptr);
    png_read_end(png, NULL); /* checks the chunks after the image data */
    /* samples → [0, 1]; gray ↔ RGB; alpha dropped (as PIL's convert) */
    float maxv = depth == 16 ? 65535.0f : 255.0f;
    for (png_uint_32 y = 0; y < h; y++) {
        const unsigned char *r = rows + y * rowbytes;
        float *o = out + (size_t)y * w * channels;
        for (png_uint_32 x = 0; x < w; x++) {
            float s[4];
            for (int k = 0; k < nc; k++) {
                size_t at = ((size_t)x * nc + k) * (depth == 16 ? 2 : 1);
                unsigned v = depth == 16 ? (unsigned)r[at] << 8 | r[at + 1] : r[at];
                s[k] = (float)v / maxv;
            }
            if (nc >= 3 && channels == 1) o[x] = 0.299f * s[0] + 0.587f * s[1] + 0.114f * s[2];
            else if (nc >= 3) o[x * 3] = s[0], o[x * 3 + 1] = s[1], o[x * 3 + 2] = s[2];
            else if (channels == 1) o[x] = s[0];
            else o[x * 3] = o[x * 3 + 1] = o[x * 3 + 2] = s[0];
        }
    }
    png_destroy_read_struct(&png, &info, NULL);
    fclose(in.f);
    free(rows);
    free(row_ptr);
    *pixels = out;
    *height = (int)h;
    *width = (int)w;
    return TG_OK;
}
