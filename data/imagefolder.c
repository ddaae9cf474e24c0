/* data/imagefolder.c — PNG folders in torchvision's ImageFolder layout
 * (root/<class>/<file>.png).  Contract in data/image.h.
 *
 * Three steps, so nothing is filled before everything is known to be good:
 * list the class folders and their .png files (sorted), decode every image
 * into its slot of a temporary set (OpenMP over images: each image is
 * independent; decoding dominates), then hand the set over.  When several
 * images fail, the error reported is the first in file order, whatever the
 * number of threads. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/parallel.h"
#include "data/image_internal.h"
#include "data/png.h"

/* A growable list of malloc'ed strings. */
typedef struct {
    char **s;
    int64_t n, cap;
} strlist;

static void strlist_push(strlist *l, const char *s) {
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        char **ns = realloc(l->s, sizeof(char *) * (size_t)l->cap);
        TG_CHECK(ns, "tg_imagefolder_load", "out of memory listing files");
        l->s = ns;
    }
    size_t n = strlen(s) + 1;
    l->s[l->n] = tg_xmalloc(n);
    memcpy(l->s[l->n++], s, n);
}

static void strlist_free(strlist *l) {
    for (int64_t i = 0; i < l->n; i++) free(l->s[i]);
    free(l->s);
    memset(l, 0, sizeof *l);
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "dir/name" (no doubled '/'), malloc'ed. */
static char *join(const char *dir, const char *name) {
    size_t a = strlen(dir), b = strlen(name);
    int slash = a > 0 && dir[a - 1] != '/';
    char *p = tg_xmalloc(a + (size_t)slash + b + 1);
    memcpy(p, dir, a);
    if (slash) p[a] = '/';
    memcpy(p + a + slash, name, b + 1);
    return p;
}

static int has_png_suffix(const char *name) {
    size_t n = strlen(name);
    return n > 4 && strcasecmp(name + n - 4, ".png") == 0;
}

/* The names in dir that are sub-folders (want_dirs) or regular .png files,
 * sorted; hidden names (leading '.') skipped. */
static tg_status list_dir(const char *dir, int want_dirs, strlist *out) {
    DIR *d = opendir(dir);
    if (!d) return tg_set_error(TG_ERR_IO, "%s: cannot open folder: %s", dir, strerror(errno));
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        if (!want_dirs && !has_png_suffix(e->d_name)) continue;
        char *p = join(dir, e->d_name);
        struct stat sb;
        int ok = stat(p, &sb) == 0 && (want_dirs ? S_ISDIR(sb.st_mode) : S_ISREG(sb.st_mode));
        free(p);
        if (ok) strlist_push(out, e->d_name);
    }
    closedir(d);
    if (out->n > 1) qsort(out->s, (size_t)out->n, sizeof(char *), cmp_str);
    return TG_OK;
}

/* Decodes file into dst [h, w, c]: resized when resize, else its size must
 * be h × w (first_path names the image that set it). */
static tg_status decode_into(const char *file, int c, int h, int w, int resize, const char *first_path,
                             float *dst) {
    float *px;
    int ih, iw;
    tg_status st = tg_png_read(file, c, &px, &ih, &iw);
    if (st != TG_OK) return st;
    if (resize) {
        tg_image_resize(px, ih, iw, c, dst, h, w);
    } else if (ih != h || iw != w) {
        st = tg_set_error(TG_ERR_FORMAT, "%s: %dx%d image: expected %dx%d like %s (or ask for a resize: "
                          "h, w > 0)", file, iw, ih, w, h, first_path);
    } else {
        memcpy(dst, px, sizeof(float) * (size_t)h * w * c);
    }
    free(px);
    return st;
}

tg_status tg_imagefolder_load(const char *root, int channels, int h, int w, tg_image_set *out) {
    TG_CHECK(root && out && (channels == 1 || channels == 3) && h >= 0 && w >= 0 && (h > 0) == (w > 0) &&
                 h <= TG_PNG_MAX_SIDE && w <= TG_PNG_MAX_SIDE,
             "tg_imagefolder_load", "need root, out, channels 1 or 3 (got %d), and h, w both 0 or "
             "both in 1..%d (got %d, %d)", channels, TG_PNG_MAX_SIDE, h, w);
    strlist classes = {0}, files = {0};
    tg_status st = list_dir(root, 1, &classes);
    if (st == TG_OK && classes.n == 0)
        st = tg_set_error(TG_ERR_FORMAT, "%s: no class folders: expected %s/<class>/<image>.png", root, root);
    if (st == TG_OK && classes.n > INT32_MAX)
        st = tg_set_error(TG_ERR_FORMAT, "%s: %" PRId64 " class folders: expected fewer", root, classes.n);
    int32_t *label_of = NULL;
    for (int64_t k = 0; st == TG_OK && k < classes.n; k++) {
        char *cdir = join(root, classes.s[k]);
        strlist names = {0};
        st = list_dir(cdir, 0, &names);
        if (st == TG_OK && names.n == 0)
            st = tg_set_error(TG_ERR_FORMAT, "%s: no .png files: expected at least one image per class folder", cdir);
        if (st == TG_OK) {
            int32_t *nl = realloc(label_of, sizeof(int32_t) * (size_t)(files.n + names.n));
            TG_CHECK(nl, "tg_imagefolder_load", "out of memory listing files");
            label_of = nl;
            for (int64_t i = 0; i < names.n; i++) {
                char *p = join(cdir, names.s[i]);
                label_of[files.n] = (int32_t)k;
                strlist_push(&files, p);
                free(p);
            }
        }
        strlist_free(&names);
        free(cdir);
    }
    /* the size: asked for, or the first image's */
    int resize = h > 0;
    if (st == TG_OK && !resize) {
        float *px;
        st = tg_png_read(files.s[0], channels, &px, &h, &w);
        if (st == TG_OK) free(px);
    }
    tg_image_set s = {0};
    if (st == TG_OK) st = tg__image_set_alloc(&s, root, files.n, h, w, channels);
    if (st == TG_OK) {
        int64_t sz = (int64_t)h * w * channels, first_bad = files.n;
#pragma omp parallel for schedule(dynamic, 8) if (files.n * sz >= TG_PAR_MIN)
        for (int64_t i = 0; i < files.n; i++) {
            if (decode_into(files.s[i], channels, h, w, resize, files.s[0], s.pixels + i * sz) != TG_OK) {
#pragma omp critical(tg_imagefolder_first_bad)
                if (i < first_bad) first_bad = i;
            }
        }
        if (first_bad < files.n) { /* again on this thread, for the message of the first bad file */
            st = decode_into(files.s[first_bad], channels, h, w, resize, files.s[0], s.pixels);
            if (st == TG_OK)
                st = tg_set_error(TG_ERR_IO, "%s: failed to decode, then decoded on a second try: "
                                  "file changed while reading?", files.s[first_bad]);
        }
    }
    if (st == TG_OK) {
        memcpy(s.labels, label_of, sizeof(int32_t) * (size_t)files.n);
        s.n_classes = (int)classes.n;
        tg_image_set_name_classes(&s, (const char *const *)classes.s);
        *out = s;
    } else {
        tg_image_set_free(&s);
    }
    free(label_of);
    strlist_free(&files);
    strlist_free(&classes);
    return st;
}
