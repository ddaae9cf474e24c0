/* data/image.c — image sets: IDX and CIFAR-10 readers, class names,
 * subsets, normalisation, batches, augmentation, resizing.  Contract in
 * data/image.h; the PNG-folder reader is in data/imagefolder.c. */
#define _POSIX_C_SOURCE 200809L
#include "data/image.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/image_internal.h"
#include "data/io.h"

/* ---- the set ------------------------------------------------------------------ */

float *tg__image_alloc(int64_t n_floats) {
    void *p = NULL;
    if (n_floats < 0 || (uint64_t)n_floats > SIZE_MAX / sizeof(float) - 64) return NULL;
    size_t bytes = ((size_t)n_floats * sizeof(float) + 63) & ~(size_t)63;
    if (posix_memalign(&p, 64, bytes ? bytes : 64) != 0) return NULL;
    return p;
}

static char *xstrdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = tg_xmalloc(n);
    memcpy(d, s, n);
    return d;
}

static void free_names(char **names, int n) {
    if (!names) return;
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
}

void tg_image_set_free(tg_image_set *s) {
    if (!s) return;
    free(s->pixels);
    free(s->labels);
    free_names(s->class_names, s->n_classes);
    memset(s, 0, sizeof *s);
}

void tg_image_set_name_classes(tg_image_set *s, const char *const *names) {
    TG_CHECK(s && names && s->n_classes > 0, "tg_image_set_name_classes",
             "need a set with n_classes > 0 and names");
    char **copy = tg_xmalloc(sizeof(char *) * (size_t)s->n_classes);
    for (int k = 0; k < s->n_classes; k++) {
        TG_CHECK(names[k], "tg_image_set_name_classes", "names[%d] is NULL", k);
        copy[k] = xstrdup(names[k]);
    }
    free_names(s->class_names, s->n_classes);
    s->class_names = copy;
}

tg_status tg_image_read_class_names(const char *path, tg_image_set *s) {
    TG_CHECK(path && s && s->n_classes > 0, "tg_image_read_class_names",
             "need a path and a set with n_classes > 0");
    void *buf;
    size_t len;
    tg_status st = tg_read_file(path, 1 << 24, &buf, &len);
    if (st != TG_OK) return st;
    const char **names = tg_xmalloc(sizeof(char *) * (size_t)s->n_classes);
    int found = 0;
    char *p = buf, *end = p + len;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *e = nl ? nl : end;
        char *next = nl ? nl + 1 : end;
        if (e > p && e[-1] == '\r') e--;
        *e = '\0';
        if (e > p) {
            if (found < s->n_classes) names[found] = p;
            found++;
        }
        p = next;
    }
    if (found != s->n_classes) {
        free(names);
        free(buf);
        return tg_set_error(TG_ERR_FORMAT, "%s: %d class names: expected %d (one per line)", path,
                            found, s->n_classes);
    }
    tg_image_set_name_classes(s, names);
    free(names);
    free(buf);
    return TG_OK;
}

/* Allocates the arrays of a set of n images h×w×c (NOMEM message names path). */
tg_status tg__image_set_alloc(tg_image_set *s, const char *path, int64_t n, int h, int w, int c) {
    memset(s, 0, sizeof *s);
    int64_t count = n * h * w * c; /* callers have bounded n·h·w·c by a file size */
    s->pixels = tg__image_alloc(count);
    s->labels = malloc(sizeof(int32_t) * (size_t)(n > 0 ? n : 1));
    if (!s->pixels || !s->labels) {
        free(s->pixels);
        free(s->labels);
        memset(s, 0, sizeof *s);
        return tg_set_error(TG_ERR_NOMEM, "%s: cannot allocate %" PRId64 " images of %dx%dx%d floats",
                            path, n, h, w, c);
    }
    s->n = n, s->h = h, s->w = w, s->c = c;
    return TG_OK;
}

/* ---- IDX ------------------------------------------------------------------------ */

static uint32_t be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Reads an IDX file of unsigned bytes with `ndim` dimensions; checks magic
 * and that the dims account for exactly the bytes present.  On success
 * *buf owns the file, *data points at the first sample. */
static tg_status idx_read(const char *path, int ndim, const char *what, uint32_t dims[3],
                          void **buf, const unsigned char **data) {
    size_t len;
    void *b;
    tg_status st = tg_read_file(path, TG_IMAGE_FILE_LIMIT, &b, &len);
    if (st != TG_OK) return st;
    const unsigned char *p = b;
    size_t header = 4 + 4 * (size_t)ndim;
    uint32_t want_magic = 0x00000800u | (uint32_t)ndim;
    uint32_t magic = len >= 4 ? be32(p) : 0;
    if (len >= 4 && magic != want_magic) {
        free(b);
        return tg_set_error(TG_ERR_FORMAT, "%s: magic 0x%08" PRIX32 ": expected 0x%08" PRIX32
                            " (IDX %s: unsigned bytes, %d dimension%s)", path, magic, want_magic,
                            what, ndim, ndim > 1 ? "s" : "");
    }
    if (len < header) {
        free(b);
        return tg_set_error(TG_ERR_FORMAT, "%s: file is %zu bytes: expected a %zu-byte IDX header "
                            "(magic 0x%08" PRIX32 ", %s)", path, len, header, want_magic,
                            ndim == 3 ? "n, rows, cols" : "n");
    }
    uint64_t body = 1; /* product of the dims, stopped once it passes len */
    for (int d = 0; d < ndim; d++) {
        dims[d] = be32(p + 4 + 4 * d);
        if (body <= len) body *= dims[d];
    }
    if (dims[0] == 0) {
        free(b);
        return tg_set_error(TG_ERR_FORMAT, "%s: header says 0 %s: expected at least 1", path, what);
    }
    if (ndim == 3 && (dims[1] == 0 || dims[2] == 0 || dims[1] > 1u << 15 || dims[2] > 1u << 15)) {
        free(b);
        return tg_set_error(TG_ERR_FORMAT, "%s: header says images of %" PRIu32 "x%" PRIu32
                            ": expected rows and cols in 1..32768", path, dims[1], dims[2]);
    }
    if (body > len || body != len - header) {
        char desc[96];
        if (ndim == 3)
            snprintf(desc, sizeof desc, "%" PRIu32 " images of %" PRIu32 "x%" PRIu32, dims[0], dims[1], dims[2]);
        else
            snprintf(desc, sizeof desc, "%" PRIu32 " labels", dims[0]);
        uint64_t total = (uint64_t)dims[0] * (ndim == 3 ? (uint64_t)dims[1] * dims[2] : 1) + header;
        free(b);
        return tg_set_error(TG_ERR_FORMAT, "%s: header says %s = %" PRIu64 " bytes, file has %zu: "
                            "expected the sizes to agree", path, desc, total, len);
    }
    *buf = b;
    *data = p + header;
    return TG_OK;
}

tg_status tg_idx_load(const char *images_path, const char *labels_path, tg_image_set *out) {
    TG_CHECK(images_path && labels_path && out, "tg_idx_load", "paths and out must not be NULL");
    uint32_t di[3] = {0}, dl[3] = {0};
    void *ibuf = NULL, *lbuf = NULL;
    const unsigned char *img = NULL, *lab = NULL;
    tg_status st = idx_read(images_path, 3, "images", di, &ibuf, &img);
    if (st != TG_OK) return st;
    st = idx_read(labels_path, 1, "labels", dl, &lbuf, &lab);
    if (st != TG_OK) {
        free(ibuf);
        return st;
    }
    if (dl[0] != di[0]) {
        free(ibuf);
        free(lbuf);
        return tg_set_error(TG_ERR_FORMAT, "%s: %" PRIu32 " labels for %" PRIu32 " images in %s: "
                            "expected one label per image", labels_path, dl[0], di[0], images_path);
    }
    tg_image_set s;
    st = tg__image_set_alloc(&s, images_path, di[0], (int)di[1], (int)di[2], 1);
    if (st == TG_OK) {
        int max = 0;
        for (int64_t i = 0; i < s.n; i++) {
            s.labels[i] = lab[i];
            if (lab[i] > max) max = lab[i];
        }
        s.n_classes = max + 1;
        int64_t count = s.n * s.h * s.w;
        for (int64_t i = 0; i < count; i++) s.pixels[i] = (float)img[i] / 255.0f;
        *out = s;
    }
    free(ibuf);
    free(lbuf);
    return st;
}

/* ---- CIFAR-10 ------------------------------------------------------------------------ */

enum { CIFAR_SIDE = 32, CIFAR_PLANE = 32 * 32, CIFAR_RECORD = 1 + 3 * 32 * 32, CIFAR_CLASSES = 10 };

tg_status tg_cifar_load(const char *const *paths, int n_paths, tg_image_set *out) {
    TG_CHECK(paths && n_paths >= 1 && out, "tg_cifar_load", "need n_paths >= 1 paths and out");
    void **bufs = tg_xcalloc(sizeof(void *) * (size_t)n_paths);
    size_t *lens = tg_xcalloc(sizeof(size_t) * (size_t)n_paths);
    tg_status st = TG_OK;
    int64_t n = 0;
    for (int f = 0; f < n_paths && st == TG_OK; f++) {
        TG_CHECK(paths[f], "tg_cifar_load", "paths[%d] is NULL", f);
        st = tg_read_file(paths[f], TG_IMAGE_FILE_LIMIT, &bufs[f], &lens[f]);
        if (st != TG_OK) break;
        size_t len = lens[f];
        const unsigned char *p = bufs[f];
        if (len == 0) {
            st = tg_set_error(TG_ERR_FORMAT, "%s: empty file: expected %d-byte records", paths[f], CIFAR_RECORD);
        } else if (len % CIFAR_RECORD != 0) {
            st = tg_set_error(TG_ERR_FORMAT, "%s: %zu bytes is not a whole number of %d-byte records: "
                              "record %zu is truncated (%zu of %d bytes)", paths[f], len, CIFAR_RECORD,
                              len / CIFAR_RECORD, len % CIFAR_RECORD, CIFAR_RECORD);
        } else {
            for (size_t r = 0; r < len / CIFAR_RECORD; r++)
                if (p[r * CIFAR_RECORD] >= CIFAR_CLASSES) {
                    st = tg_set_error(TG_ERR_FORMAT, "%s: record %zu (byte offset %zu): label %d: "
                                      "expected 0..%d", paths[f], r, r * CIFAR_RECORD,
                                      p[r * CIFAR_RECORD], CIFAR_CLASSES - 1);
                    break;
                }
            n += (int64_t)(len / CIFAR_RECORD);
        }
    }
    tg_image_set s;
    if (st == TG_OK) st = tg__image_set_alloc(&s, paths[0], n, CIFAR_SIDE, CIFAR_SIDE, 3);
    if (st == TG_OK) {
        int64_t i = 0;
        for (int f = 0; f < n_paths; f++) {
            const unsigned char *p = bufs[f];
            for (size_t r = 0; r < lens[f] / CIFAR_RECORD; r++, i++) {
                const unsigned char *rec = p + r * CIFAR_RECORD;
                s.labels[i] = rec[0];
                float *dst = s.pixels + i * CIFAR_PLANE * 3;
                for (int q = 0; q < CIFAR_PLANE; q++)
                    for (int ch = 0; ch < 3; ch++)
                        dst[q * 3 + ch] = (float)rec[1 + ch * CIFAR_PLANE + q] / 255.0f;
            }
        }
        s.n_classes = CIFAR_CLASSES;
        *out = s;
    }
    for (int f = 0; f < n_paths; f++) free(bufs[f]);
    free(bufs);
    free(lens);
    return st;
}

/* ---- subsets ----------------------------------------------------------------------------- */

void tg_image_set_select(const tg_image_set *s, const int64_t *idx, int64_t n, tg_image_set *out) {
    TG_CHECK(s && out && n >= 0 && (idx || n == 0), "tg_image_set_select",
             "need a set, n >= 0 indices and out");
    tg_image_set r;
    if (tg__image_set_alloc(&r, "tg_image_set_select", n, s->h, s->w, s->c) != TG_OK)
        TG_CHECK(0, "tg_image_set_select", "%s", tg_last_error());
    int64_t sz = (int64_t)s->h * s->w * s->c;
    for (int64_t i = 0; i < n; i++) {
        TG_CHECK(idx[i] >= 0 && idx[i] < s->n, "tg_image_set_select",
                 "index %" PRId64 " out of range: the set has %" PRId64 " images", idx[i], s->n);
        memcpy(r.pixels + i * sz, s->pixels + idx[i] * sz, sizeof(float) * (size_t)sz);
        r.labels[i] = s->labels[idx[i]];
    }
    r.n_classes = s->n_classes;
    if (s->class_names) tg_image_set_name_classes(&r, (const char *const *)s->class_names);
    *out = r;
}

/* Selection sampling (Knuth, TAOCP vol. 2, 3.4.2, Algorithm S): walks the
 * `total` candidates in order and keeps each with probability
 * (still needed) / (still left), so exactly `want` are kept, every subset
 * equally likely, in their original order.  Call it once per candidate
 * with `left` candidates remaining (this one included). */
static int select_next(tg_rng *rng, int64_t left, int64_t needed) {
    return needed > 0 && (int64_t)tg_rng_below(rng, (uint32_t)left) < needed;
}

tg_status tg_image_set_subset(const tg_image_set *s, int64_t n, uint64_t seed, tg_image_set *out) {
    TG_CHECK(s && out && n >= 0 && s->n_classes >= 1 && s->n <= UINT32_MAX, "tg_image_set_subset",
             "need a set with n_classes >= 1, n >= 0 and out");
    int k = s->n_classes;
    int64_t *have = tg_xcalloc(sizeof(int64_t) * (size_t)k);
    int64_t *need = tg_xcalloc(sizeof(int64_t) * (size_t)k);
    for (int64_t i = 0; i < s->n; i++) have[s->labels[i]]++;
    for (int c = 0; c < k; c++) {
        need[c] = n / k + (c < n % k);
        if (need[c] > have[c]) {
            tg_status st = tg_set_error(TG_ERR_ARG, "subset of %" PRId64 ": class %d has %" PRId64
                                        " images, needs %" PRId64, n, c, have[c], need[c]);
            free(have);
            free(need);
            return st;
        }
    }
    tg_rng rng;
    tg_rng_seed(&rng, seed);
    int64_t *idx = tg_xmalloc(sizeof(int64_t) * (size_t)(n > 0 ? n : 1));
    int64_t m = 0;
    for (int64_t i = 0; i < s->n; i++) { /* have[c] counts down the candidates left in class c */
        int c = s->labels[i];
        if (select_next(&rng, have[c], need[c])) idx[m++] = i, need[c]--;
        have[c]--;
    }
    tg_image_set_select(s, idx, m, out);
    free(idx);
    free(have);
    free(need);
    return TG_OK;
}

void tg_image_set_split(const tg_image_set *s, int64_t n_val, uint64_t seed, tg_image_set *train,
                        tg_image_set *val) {
    TG_CHECK(s && train && val && n_val >= 0 && n_val <= s->n && s->n <= UINT32_MAX,
             "tg_image_set_split", "n_val %" PRId64 " out of range 0..%" PRId64, n_val, s ? s->n : 0);
    tg_rng rng;
    tg_rng_seed(&rng, seed);
    int64_t *vi = tg_xmalloc(sizeof(int64_t) * (size_t)(n_val + 1));
    int64_t *ti = tg_xmalloc(sizeof(int64_t) * (size_t)(s->n - n_val + 1));
    int64_t nv = 0, nt = 0;
    for (int64_t i = 0; i < s->n; i++) {
        if (select_next(&rng, s->n - i, n_val - nv)) vi[nv++] = i;
        else ti[nt++] = i;
    }
    tg_image_set v, t;
    tg_image_set_select(s, vi, nv, &v);
    tg_image_set_select(s, ti, nt, &t);
    *val = v;
    *train = t;
    free(vi);
    free(ti);
}

/* ---- normalisation ------------------------------------------------------------------------ */

void tg_image_stats(const tg_image_set *s, float *mean, float *std) {
    TG_CHECK(s && mean && std && s->n > 0 && s->c >= 1 && s->c <= 4, "tg_image_stats",
             "need a non-empty set of 1..4 channels and mean/std arrays");
    int c = s->c;
    double sum[4] = {0}, sq[4] = {0};
    int64_t px = s->n * s->h * s->w;
    for (int64_t p = 0; p < px; p++)
        for (int ch = 0; ch < c; ch++) {
            double v = s->pixels[p * c + ch];
            sum[ch] += v;
            sq[ch] += v * v;
        }
    for (int ch = 0; ch < c; ch++) {
        double m = sum[ch] / (double)px;
        double var = sq[ch] / (double)px - m * m;
        mean[ch] = (float)m;
        std[ch] = (float)sqrt(var > 0 ? var : 0);
    }
}

void tg_image_normalize_pixels(float *x, int64_t n_pixels, int c, const float *mean, const float *std) {
    TG_CHECK(x && mean && std && n_pixels >= 0 && c >= 1 && c <= 4, "tg_image_normalize_pixels",
             "need pixels, 1..4 channels, mean and std");
    float inv[4];
    for (int ch = 0; ch < c; ch++) {
        TG_CHECK(std[ch] > 0, "tg_image_normalize_pixels", "std[%d] = %g: expected > 0", ch, std[ch]);
        inv[ch] = 1.0f / std[ch];
    }
    for (int64_t p = 0; p < n_pixels; p++)
        for (int ch = 0; ch < c; ch++) x[p * c + ch] = (x[p * c + ch] - mean[ch]) * inv[ch];
}

void tg_image_normalize(tg_image_set *s, const float *mean, const float *std) {
    TG_CHECK(s, "tg_image_normalize", "set is NULL");
    tg_image_normalize_pixels(s->pixels, s->n * s->h * s->w, s->c, mean, std);
}

/* ---- batches ----------------------------------------------------------------------------------- */

void tg_image_gather(const tg_image_set *s, const int64_t *idx, int64_t b, float *pixels,
                     int32_t *labels) {
    TG_CHECK(s && (idx || b == 0) && (pixels || b == 0) && b >= 0, "tg_image_gather",
             "need a set, b >= 0 indices and an output buffer");
    int64_t sz = (int64_t)s->h * s->w * s->c;
    for (int64_t i = 0; i < b; i++) {
        TG_CHECK(idx[i] >= 0 && idx[i] < s->n, "tg_image_gather",
                 "index %" PRId64 " out of range: the set has %" PRId64 " images", idx[i], s->n);
        memcpy(pixels + i * sz, s->pixels + idx[i] * sz, sizeof(float) * (size_t)sz);
        if (labels) labels[i] = s->labels[idx[i]];
    }
}

void tg_image_augment(const float *src, float *dst, int64_t b, int h, int w, int c, int pad,
                      int flip, tg_rng *rng) {
    TG_CHECK(src && dst && rng && b >= 0 && h >= 1 && w >= 1 && c >= 1 && pad >= 0,
             "tg_image_augment", "need src, dst, rng, b >= 0, h, w, c >= 1, pad >= 0");
    int64_t sz = (int64_t)h * w * c;
    TG_CHECK(dst + b * sz <= src || src + b * sz <= dst, "tg_image_augment", "dst overlaps src");
    for (int64_t i = 0; i < b; i++) {
        int dy = 0, dx = 0, mirror = 0;
        if (pad > 0) {
            dy = (int)tg_rng_below(rng, (uint32_t)(2 * pad + 1)) - pad;
            dx = (int)tg_rng_below(rng, (uint32_t)(2 * pad + 1)) - pad;
        }
        if (flip) mirror = (int)(tg_rng_u32(rng) >> 31);
        const float *im = src + i * sz;
        float *o = dst + i * sz;
        /* output (y, x) = input (y + dy, x + dx), after mirroring x when asked */
        int x0 = dx < 0 ? -dx : 0, x1 = dx > 0 ? w - dx : w; /* output columns that see the image */
        if (x1 < x0) x1 = x0;
        for (int y = 0; y < h; y++) {
            float *row = o + (int64_t)y * w * c;
            int sy = y + dy;
            if (sy < 0 || sy >= h || x0 == x1) {
                memset(row, 0, sizeof(float) * (size_t)w * c);
                continue;
            }
            const float *in = im + (int64_t)sy * w * c;
            if (!mirror) {
                memset(row, 0, sizeof(float) * (size_t)x0 * c);
                memcpy(row + (int64_t)x0 * c, in + (int64_t)(x0 + dx) * c, sizeof(float) * (size_t)(x1 - x0) * c);
                memset(row + (int64_t)x1 * c, 0, sizeof(float) * (size_t)(w - x1) * c);
            } else {
                for (int x = 0; x < w; x++) {
                    int cx = w - 1 - x; /* column of the cropped image seen at x */
                    float *op = row + (int64_t)x * c;
                    if (cx < x0 || cx >= x1) memset(op, 0, sizeof(float) * (size_t)c);
                    else memcpy(op, in + (int64_t)(cx + dx) * c, sizeof(float) * (size_t)c);
                }
            }
        }
    }
}

/* ---- resizing ------------------------------------------------------------------------------------ */

/* Triangle-filter weights for resampling in → out along one axis (PIL's
 * ImagingResample: support 1 widened by the scale when shrinking). */
typedef struct {
    int *start, *count;
    float *weight; /* [out, max_count] */
    int max_count;
} axis_weights;

static void axis_init(axis_weights *a, int in, int out) {
    double scale = (double)in / out, fs = scale > 1 ? scale : 1, support = fs;
    a->max_count = (int)ceil(support) * 2 + 1;
    a->start = tg_xmalloc(sizeof(int) * (size_t)out);
    a->count = tg_xmalloc(sizeof(int) * (size_t)out);
    a->weight = tg_xcalloc(sizeof(float) * (size_t)out * (size_t)a->max_count);
    for (int i = 0; i < out; i++) {
        double center = (i + 0.5) * scale;
        int lo = (int)floor(center - support + 0.5), hi = (int)floor(center + support + 0.5);
        if (lo < 0) lo = 0;
        if (hi > in) hi = in;
        if (hi - lo > a->max_count) hi = lo + a->max_count;
        double wsum = 0, wt[64 + 1];
        double *wp = hi - lo <= 64 ? wt : tg_xmalloc(sizeof(double) * (size_t)(hi - lo));
        for (int j = lo; j < hi; j++) {
            double t = fabs((j + 0.5 - center) / fs);
            wp[j - lo] = t < 1 ? 1 - t : 0;
            wsum += wp[j - lo];
        }
        for (int j = lo; j < hi; j++) a->weight[(size_t)i * a->max_count + (j - lo)] = (float)(wp[j - lo] / wsum);
        if (wp != wt) free(wp);
        a->start[i] = lo;
        a->count[i] = hi - lo;
    }
}

static void axis_free(axis_weights *a) {
    free(a->start);
    free(a->count);
    free(a->weight);
}

void tg_image_resize(const float *src, int h, int w, int c, float *dst, int oh, int ow) {
    TG_CHECK(src && dst && h >= 1 && w >= 1 && c >= 1 && oh >= 1 && ow >= 1, "tg_image_resize",
             "need src, dst and sizes >= 1, got [%d, %d, %d] -> [%d, %d]", h, w, c, oh, ow);
    if (h == oh && w == ow) {
        memcpy(dst, src, sizeof(float) * (size_t)h * w * c);
        return;
    }
    axis_weights ax, ay;
    axis_init(&ax, w, ow);
    axis_init(&ay, h, oh);
    float *tmp = tg_xmalloc(sizeof(float) * (size_t)h * ow * c); /* [H, OW, C] */
    for (int y = 0; y < h; y++)
        for (int x = 0; x < ow; x++) {
            const float *wt = ax.weight + (size_t)x * ax.max_count;
            const float *in = src + ((int64_t)y * w + ax.start[x]) * c;
            float *o = tmp + ((int64_t)y * ow + x) * c;
            for (int ch = 0; ch < c; ch++) {
                float acc = 0;
                for (int k = 0; k < ax.count[x]; k++) acc += wt[k] * in[k * c + ch];
                o[ch] = acc;
            }
        }
    int64_t row = (int64_t)ow * c;
    for (int y = 0; y < oh; y++) {
        const float *wt = ay.weight + (size_t)y * ay.max_count;
        float *o = dst + y * row;
        for (int64_t q = 0; q < row; q++) {
            float acc = 0;
            for (int k = 0; k < ay.count[y]; k++) acc += wt[k] * tmp[(ay.start[y] + k) * row + q];
            o[q] = acc;
        }
    }
    free(tmp);
    axis_free(&ax);
    axis_free(&ay);
}
