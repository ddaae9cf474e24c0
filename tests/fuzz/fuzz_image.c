/* tests/fuzz/fuzz_image.c — libFuzzer target for the image readers.
 *
 *   make fuzz-image FUZZ_SECONDS=60      (clang with -fsanitize=fuzzer,address,undefined)
 *
 * The first input byte picks the reader, the rest is the file: 0 IDX images
 * (with a matching label file written beside it), 1 IDX labels (beside a
 * one-image file), 2 CIFAR-10 batch, 3 PNG at 1 channel, 4 PNG at 3.  The
 * readers must return TG_OK or an error with a "path: " message, never
 * crash, leak or read out of bounds; a success must give a consistent set. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/image.h"
#include "data/png.h"

static char dir[64];

static const char *put(const char *name, const uint8_t *data, size_t n) {
    static char path[4][128];
    static int k;
    char *p = path[k++ & 3];
    snprintf(p, 128, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    if (!f) abort();
    if (n && fwrite(data, 1, n, f) != n) abort();
    fclose(f);
    return p;
}

static void check_set(const tg_image_set *s) {
    if (s->n < 1 || s->h < 1 || s->w < 1 || s->c < 1 || s->n_classes < 1) abort();
    for (int64_t i = 0; i < s->n; i++)
        if (s->labels[i] < 0 || s->labels[i] >= s->n_classes) abort();
    int64_t px = s->n * s->h * s->w * s->c;
    for (int64_t i = 0; i < px; i++)
        if (!(s->pixels[i] >= 0 && s->pixels[i] <= 1)) abort();
}

/* An error must name one of the files (all are in dir). */
static void check_error(tg_status st) {
    if (st != TG_OK && strncmp(tg_last_error(), dir, strlen(dir)) != 0) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/tg_fuzz_XXXXXX");
        if (!mkdtemp(dir)) abort();
    }
    if (n < 1) return 0;
    int which = data[0] % 5;
    data++, n--;
    tg_image_set s;
    tg_status st;
    if (which == 0 || which == 1) {
        /* the other file: a valid IDX of one 1x1 image, or one label */
        static const uint8_t one_img[17] = {0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 200};
        static const uint8_t one_lab[9] = {0, 0, 8, 1, 0, 0, 0, 1, 3};
        const char *ip = which == 0 ? put("i", data, n) : put("i", one_img, sizeof one_img);
        const char *lp = which == 1 ? put("l", data, n) : put("l", one_lab, sizeof one_lab);
        st = tg_idx_load(ip, lp, &s);
        check_error(st);
    } else if (which == 2) {
        const char *p = put("c", data, n);
        st = tg_cifar_load(&p, 1, &s);
        check_error(st);
    } else {
        const char *p = put("p.png", data, n);
        float *px;
        int h, w, c = which == 3 ? 1 : 3;
        st = tg_png_read(p, c, &px, &h, &w);
        check_error(st);
        if (st == TG_OK) {
            for (int64_t i = 0; i < (int64_t)h * w * c; i++)
                if (!(px[i] >= 0 && px[i] <= 1)) abort();
            free(px);
        }
        return 0;
    }
    if (st == TG_OK) {
        check_set(&s);
        tg_image_set_free(&s);
    }
    return 0;
}
