/* examples/vit/dataset.c — see dataset.h. */
#define _POSIX_C_SOURCE 200809L
#include "examples/vit/dataset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *const digit_names[10] = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
/* Xiao, Rasul & Vollgraf 2017, Table 1. */
static const char *const fashion_names[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                              "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};

static int exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* dir/base.gz or dir/base into buf; 0 when neither exists. */
static int find_file(const char *dir, const char *base, char *buf, size_t len) {
    snprintf(buf, len, "%s/%s.gz", dir, base);
    if (exists(buf)) return 1;
    snprintf(buf, len, "%s/%s", dir, base);
    return exists(buf);
}

static tg_status missing(const char *name, const char *dir, const char *base) {
    tg_set_error(TG_ERR_NOT_FOUND, "%s: no %s/%s[.gz] (run `make data`, or give a folder)", name, dir, base);
    return TG_ERR_NOT_FOUND;
}

/* MNIST and Fashion-MNIST: the same four IDX files. */
static tg_status load_idx(const char *name, const char *dir, const char *const *names, vit_dataset *d) {
    static const char *const base[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                        "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
    char path[4][4096];
    for (int i = 0; i < 4; i++)
        if (!find_file(dir, base[i], path[i], sizeof path[i])) return missing(name, dir, base[i]);
    tg_status st = tg_idx_load(path[0], path[1], &d->train);
    if (st == TG_OK) st = tg_idx_load(path[2], path[3], &d->test);
    if (st != TG_OK) return st;
    tg_image_set_name_classes(&d->train, names);
    tg_image_set_name_classes(&d->test, names);
    return TG_OK;
}

/* The full CIFAR-10 binary set when present, else the subset. */
static tg_status load_cifar(const char *root, vit_dataset *d) {
    char dir[2048], train[5][4096], test[4096], names[4096];
    snprintf(dir, sizeof dir, "%s/cifar-10-batches-bin", root);
    int full = 1, n_train = 5;
    for (int i = 0; i < 5 && full; i++) {
        char base[32];
        snprintf(base, sizeof base, "data_batch_%d.bin", i + 1);
        full = find_file(dir, base, train[i], sizeof train[i]);
    }
    if (full) {
        if (!find_file(dir, "test_batch.bin", test, sizeof test)) return missing("cifar10", dir, "test_batch.bin");
        snprintf(names, sizeof names, "%s/batches.meta.txt", dir);
    } else {
        snprintf(dir, sizeof dir, "%s/cifar10_subset", root);
        n_train = 1;
        if (!find_file(dir, "data_batch_1.first4000.bin", train[0], sizeof train[0]))
            return missing("cifar10", dir, "data_batch_1.first4000.bin");
        if (!find_file(dir, "test_batch.first1000.bin", test, sizeof test))
            return missing("cifar10", dir, "test_batch.first1000.bin");
        snprintf(names, sizeof names, "%s/class_names.txt", dir);
    }
    const char *tp[5];
    for (int i = 0; i < n_train; i++) tp[i] = train[i];
    const char *tst = test;
    tg_status st = tg_cifar_load(tp, n_train, &d->train);
    if (st == TG_OK) st = tg_cifar_load(&tst, 1, &d->test);
    if (st == TG_OK) st = tg_image_read_class_names(names, &d->train);
    if (st == TG_OK) st = tg_image_read_class_names(names, &d->test);
    return st;
}

/* DIR/train + DIR/test, or DIR split into train and test. */
static tg_status load_folder(const char *dir, int channels, int size, double test_split, uint64_t seed,
                             vit_dataset *d) {
    char train[4096], test[4096];
    snprintf(train, sizeof train, "%s/train", dir);
    snprintf(test, sizeof test, "%s/test", dir);
    int c = channels ? channels : 3;
    if (exists(train)) {
        tg_status st = tg_imagefolder_load(train, c, size, size, &d->train);
        if (st == TG_OK && exists(test)) st = tg_imagefolder_load(test, c, size, size, &d->test);
        if (st == TG_OK && d->test.n && d->test.n_classes != d->train.n_classes) {
            tg_set_error(TG_ERR_FORMAT, "%s: %d classes: expected the %d of %s", test, d->test.n_classes,
                         d->train.n_classes, train);
            return TG_ERR_FORMAT;
        }
        return st;
    }
    tg_image_set all = {0};
    tg_status st = tg_imagefolder_load(dir, c, size, size, &all);
    if (st != TG_OK) return st;
    int64_t n_test = (int64_t)(test_split * (double)all.n);
    tg_image_set_split(&all, n_test, seed, &d->train, &d->test);
    tg_image_set_free(&all);
    return TG_OK;
}

/* Resizes every image of s to size × size in place (a new pixel array). */
static void resize_set(tg_image_set *s, int size) {
    if (s->n == 0 || (s->h == size && s->w == size)) return;
    const int64_t in = (int64_t)s->h * s->w * s->c, out = (int64_t)size * size * s->c;
    float *px = tg_xmalloc((size_t)(s->n * out) * sizeof *px);
    for (int64_t i = 0; i < s->n; i++) tg_image_resize(s->pixels + i * in, s->h, s->w, s->c, px + i * out, size, size);
    free(s->pixels);
    s->pixels = px;
    s->h = s->w = size;
}

tg_status vit_dataset_load(const char *spec, const char *root, int channels, int image_size, double test_split,
                           uint64_t seed, vit_dataset *out) {
    vit_dataset d;
    memset(&d, 0, sizeof d);
    char dir[2048];
    tg_status st;
    const char *kind = spec;
    if (!strcmp(spec, "mnist") || !strcmp(spec, "fashion_mnist")) {
        snprintf(dir, sizeof dir, "%s/%s", root, spec);
        st = load_idx(spec, dir, spec[0] == 'm' ? digit_names : fashion_names, &d);
    } else if (!strcmp(spec, "cifar10")) {
        st = load_cifar(root, &d);
    } else if (exists(spec)) {
        kind = "folder";
        st = load_folder(spec, channels, image_size, test_split, seed, &d);
    } else {
        tg_set_error(TG_ERR_NOT_FOUND, "%s: expected mnist, fashion_mnist, cifar10 or an image folder", spec);
        st = TG_ERR_NOT_FOUND;
    }
    if (st == TG_OK && channels && d.train.c != channels) {
        tg_set_error(TG_ERR_ARG, "%s: images have %d channel(s), --channels asks for %d (only PNG folders convert)",
                     spec, d.train.c, channels);
        st = TG_ERR_ARG;
    }
    if (st != TG_OK) {
        vit_dataset_free(&d);
        return st;
    }
    if (image_size > 0) {
        resize_set(&d.train, image_size);
        resize_set(&d.test, image_size);
    }
    snprintf(d.name, sizeof d.name, "%s", kind);
    *out = d;
    return TG_OK;
}

void vit_dataset_free(vit_dataset *d) {
    tg_image_set_free(&d->train);
    tg_image_set_free(&d->test);
}
