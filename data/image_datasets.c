/* data/image_datasets.c — the datasets of `make data` by name, resizing and
 * channel conversion of whole sets.  Contract in data/image.h. */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/parallel.h"
#include "data/image_internal.h"
#include "data/png.h"

tg_status tg_image_set_resize(tg_image_set *s, int h, int w) {
    TG_CHECK(s && h >= 1 && w >= 1 && h <= TG_PNG_MAX_SIDE && w <= TG_PNG_MAX_SIDE, "tg_image_set_resize",
             "need a set and h, w in 1..%d (got %d, %d)", TG_PNG_MAX_SIDE, h, w);
    if (s->h == h && s->w == w) return TG_OK;
    float *px = tg__image_alloc(s->n * h * w * s->c);
    if (!px)
        return tg_set_error(TG_ERR_NOMEM, "tg_image_set_resize: cannot allocate %" PRId64 " images of %dx%dx%d floats",
                            s->n, h, w, s->c);
    int64_t in = (int64_t)s->h * s->w * s->c, out = (int64_t)h * w * s->c;
#pragma omp parallel for schedule(dynamic, 64) if (s->n * out >= TG_PAR_MIN)
    for (int64_t i = 0; i < s->n; i++) tg_image_resize(s->pixels + i * in, s->h, s->w, s->c, px + i * out, h, w);
    free(s->pixels);
    s->pixels = px;
    s->h = h, s->w = w;
    return TG_OK;
}

tg_status tg_image_set_to_channels(tg_image_set *s, int c) {
    TG_CHECK(s && (c == 1 || c == 3) && (s->c == 1 || s->c == 3), "tg_image_set_to_channels",
             "need a set of 1 or 3 channels (has %d) and c 1 or 3 (got %d)", s ? s->c : 0, c);
    if (s->c == c) return TG_OK;
    int64_t px = s->n * s->h * s->w;
    float *d = tg__image_alloc(px * c);
    if (!d) return tg_set_error(TG_ERR_NOMEM, "tg_image_set_to_channels: cannot allocate %" PRId64 " pixels", px);
    const float *p = s->pixels;
    for (int64_t i = 0; i < px; i++)
        if (c == 1) d[i] = tg__luma(p[3 * i], p[3 * i + 1], p[3 * i + 2]);
        else d[3 * i] = d[3 * i + 1] = d[3 * i + 2] = p[i];
    free(s->pixels);
    s->pixels = d;
    s->c = c;
    return TG_OK;
}

static const char *const digit_names[10] = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
/* https://github.com/zalandoresearch/fashion-mnist#labels */
static const char *const fashion_names[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                              "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
static const char *const cifar_names[10] = {"airplane", "automobile", "bird",  "cat",  "deer",
                                            "dog",      "frog",       "horse", "ship", "truck"};

/* root/sub/file.gz, or root/sub/file when only that exists. */
static void data_path(char *buf, size_t len, const char *root, const char *sub, const char *file) {
    snprintf(buf, len, "%s/%s/%s.gz", root, sub, file);
    if (access(buf, F_OK) == 0) return;
    char plain[4096];
    snprintf(plain, sizeof plain, "%s/%s/%s", root, sub, file);
    if (access(plain, F_OK) == 0) snprintf(buf, len, "%s", plain);
}

static int exists(const char *root, const char *rel) {
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    return access(p, R_OK) == 0;
}

static tg_status load_named(const char *data, const char *root, int train, tg_image_set *s) {
    char a[4096], b[4096];
    if (strcmp(data, "mnist") == 0 || strcmp(data, "fashion_mnist") == 0) {
        const char *pre = train ? "train" : "t10k";
        char fa[64], fb[64];
        snprintf(fa, sizeof fa, "%s-images-idx3-ubyte", pre);
        snprintf(fb, sizeof fb, "%s-labels-idx1-ubyte", pre);
        data_path(a, sizeof a, root, data, fa);
        data_path(b, sizeof b, root, data, fb);
        tg_status st = tg_idx_load(a, b, s);
        if (st == TG_OK && s->n_classes == 10)
            tg_image_set_name_classes(s, data[0] == 'm' ? digit_names : fashion_names);
        return st;
    }
    if (strcmp(data, "cifar10") == 0) {
        tg_status st;
        const char *meta;
        if (exists(root, "cifar-10-batches-bin/data_batch_1.bin")) {
            char p[6][4096];
            const char *paths[5];
            int n = train ? 5 : 1;
            for (int i = 0; i < n; i++) {
                if (train) snprintf(p[i], sizeof p[i], "%s/cifar-10-batches-bin/data_batch_%d.bin", root, i + 1);
                else snprintf(p[i], sizeof p[i], "%s/cifar-10-batches-bin/test_batch.bin", root);
                paths[i] = p[i];
            }
            st = tg_cifar_load(paths, n, s);
            meta = "cifar-10-batches-bin/batches.meta.txt";
        } else {
            snprintf(a, sizeof a, "%s/cifar10_subset/%s", root,
                     train ? "data_batch_1.first4000.bin.gz" : "test_batch.first1000.bin.gz");
            const char *paths[1] = {a};
            st = tg_cifar_load(paths, 1, s);
            meta = "cifar10_subset/class_names.txt";
        }
        if (st != TG_OK) return st;
        if (exists(root, meta)) {
            snprintf(b, sizeof b, "%s/%s", root, meta);
            st = tg_image_read_class_names(b, s);
            if (st != TG_OK) tg_image_set_free(s);
            return st;
        }
        tg_image_set_name_classes(s, cifar_names);
        return TG_OK;
    }
    return TG_ERR_NOT_FOUND; /* not a name: a folder */
}

tg_status tg_image_dataset_load(const char *data, const char *root, int train, int channels, int h,
                                int w, tg_image_set *out) {
    TG_CHECK(data && root && out && (channels == 0 || channels == 1 || channels == 3) && h >= 0 &&
                 w >= 0 && (h > 0) == (w > 0),
             "tg_image_dataset_load", "need data, root, out, channels 0, 1 or 3 (got %d), h and w both 0 "
             "or both > 0 (got %d, %d)", channels, h, w);
    tg_image_set s;
    tg_status st = load_named(data, root, train, &s);
    if (st == TG_ERR_NOT_FOUND) {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/%s", data, train ? "train" : "test");
        return tg_imagefolder_load(dir, channels ? channels : 3, h, w, out);
    }
    if (st != TG_OK) return st;
    if (channels) st = tg_image_set_to_channels(&s, channels);
    if (st == TG_OK && h > 0) st = tg_image_set_resize(&s, h, w);
    if (st != TG_OK) {
        tg_image_set_free(&s);
        return st;
    }
    *out = s;
    return TG_OK;
}
