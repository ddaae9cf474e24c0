/* tests/fuzz/fuzz_image.c — libFuzzer target for the image readers (IDX,
 * CIFAR-10, PNG, PNG class folders).
 *
 * The first input byte picks the reader, the rest is the file: 0 IDX images
 * (with a matching label file written beside it), 1 IDX labels (beside a
 * one-image file), 2 CIFAR-10 batch, 3 PNG at 1 channel, 4 PNG at 3, 5 a
 * PNG class folder: the rest is up to four files, each a 2-byte
 * little-endian length and its bytes, written as c<k % 2>/<k>.png and read
 * at 1 or 3 channels, resized to 4x4 or not (bits of the 2nd byte).  The
 * readers must return TG_OK or an error with a "path: " message, never
 * crash, leak or read out of bounds; a success must give a consistent set. */
#include "tests/fuzz/fuzz_util.h"

#include <sys/stat.h>

#include "data/image.h"
#include "data/png.h"

static void image_check_set(const tg_image_set *s) {
    FZ_ASSERT(s->n >= 1 && s->h >= 1 && s->w >= 1 && s->c >= 1 && s->n_classes >= 1);
    for (int64_t i = 0; i < s->n; i++) FZ_ASSERT(s->labels[i] >= 0 && s->labels[i] < s->n_classes);
    int64_t px = s->n * s->h * s->w * s->c;
    for (int64_t i = 0; i < px; i++) FZ_ASSERT(s->pixels[i] >= 0 && s->pixels[i] <= 1);
}

/* The folder case: returns the status of tg_imagefolder_load on root. */
static tg_status image_folder(const uint8_t *data, size_t n, const char *root, tg_image_set *s) {
    nftw(root, fz_rm, 8, FTW_DEPTH | FTW_PHYS);
    if (mkdir(root, 0700) != 0) abort();
    int opts = n ? data[0] : 0;
    size_t at = 1;
    for (int k = 0; k < 4 && at + 2 <= n; k++) {
        size_t len = data[at] | (size_t)data[at + 1] << 8;
        at += 2;
        if (len > n - at) len = n - at;
        char name[64];
        snprintf(name, sizeof name, "img/c%d", k % 2);
        mkdir(fz_path(name), 0700);
        snprintf(name, sizeof name, "img/c%d/%d.png", k % 2, k);
        fz_put(name, data + at, len, 0);
        at += len;
    }
    int size = opts & 2 ? 4 : 0;
    return tg_imagefolder_load(root, opts & 1 ? 3 : 1, size, size, s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
    if (n < 1) return 0;
    int which = data[0] % 6;
    data++, n--;
    tg_image_set s;
    tg_status st;
    if (which == 0 || which == 1) {
        /* the other file: a valid IDX of one 1x1 image, or one label */
        static const uint8_t one_img[17] = {0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 200};
        static const uint8_t one_lab[9] = {0, 0, 8, 1, 0, 0, 0, 1, 3};
        const char *ip = which == 0 ? fz_put("i", data, n, 0) : fz_put("i", one_img, sizeof one_img, 0);
        const char *lp = which == 1 ? fz_put("l", data, n, 0) : fz_put("l", one_lab, sizeof one_lab, 0);
        st = tg_idx_load(ip, lp, &s);
        fz_check_error(st, fz_dir());
    } else if (which == 2) {
        const char *p = fz_put("c", data, n, 0);
        st = tg_cifar_load(&p, 1, &s);
        fz_check_error(st, p);
    } else if (which == 5) {
        char root[256]; /* a copy: fz_path's buffers rotate */
        snprintf(root, sizeof root, "%s", fz_path("img"));
        st = image_folder(data, n, root, &s);
        fz_check_error(st, root);
    } else {
        const char *p = fz_put("p.png", data, n, 0);
        float *px;
        int h, w, c = which == 3 ? 1 : 3;
        st = tg_png_read(p, c, &px, &h, &w);
        fz_check_error(st, p);
        if (st == TG_OK) {
            for (int64_t i = 0; i < (int64_t)h * w * c; i++) FZ_ASSERT(px[i] >= 0 && px[i] <= 1);
            free(px);
        }
        return 0;
    }
    if (st == TG_OK) {
        image_check_set(&s);
        tg_image_set_free(&s);
    }
    return 0;
}
