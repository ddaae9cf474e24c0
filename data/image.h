/* data/image.h — labelled image sets: IDX (MNIST), CIFAR-10 binary, PNG
 * folders; normalisation, subsets, augmentation, batch gathering.
 *
 *   tg_image_set train, test;
 *   if (tg_idx_load("data/mnist/train-images-idx3-ubyte.gz",
 *                   "data/mnist/train-labels-idx1-ubyte.gz", &train) != TG_OK ||
 *       tg_idx_load("data/mnist/t10k-images-idx3-ubyte.gz",
 *                   "data/mnist/t10k-labels-idx1-ubyte.gz", &test) != TG_OK)
 *       die("%s", tg_last_error());            // "path: what was expected"
 *   tg_image_set tr, val;                        // 5000 held out for model selection
 *   tg_image_set_split(&train, 5000, seed, &tr, &val);
 *   float mean[3], std[3];
 *   tg_image_stats(&tr, mean, std);             // from the training images only
 *   tg_image_normalize(&tr, mean, std); tg_image_normalize(&val, mean, std);
 *   tg_image_normalize(&test, mean, std);
 *   ...
 *   tg_image_gather(&tr, idx, b, raw, y);       // batch idx[0..b) → raw [B, H, W, C], y [B]
 *   tg_image_augment(raw, x->data, b, tr.h, tr.w, tr.c, 2, 0, &rng);   // pad 2, no flip (digits)
 *
 * Layout: every image is float32, channels-last [H, W, C] row-major, a set
 * [N, H, W, C] (why: docs/data.md — a P×P patch is P contiguous runs of P·C
 * floats, and it is the byte order of PNG, IDX rows and most photo files).
 * Values are the stored samples scaled to [0, 1] (8-bit: v / 255, 16-bit
 * PNG: v / 65535) until tg_image_normalize changes them.  Labels are int32
 * class indices 0..n_classes-1 (what tg_cross_entropy takes).
 *
 * Errors: every reader checks the whole input before it fills *out.  On
 * error it returns a negative status, leaves *out untouched, frees what it
 * allocated, and sets tg_last_error() to "path: what was expected" (the
 * path of the offending file, or folder).  Sizes in headers are checked
 * against the bytes actually present before any output is allocated, so a
 * header claiming 2^31 images costs nothing.  Arguments that are the
 * caller's mistake (NULL, channels not 1 or 3, …) abort through TG_CHECK.
 */
#ifndef TG_DATA_IMAGE_H
#define TG_DATA_IMAGE_H

#include <stdint.h>

#include "core/error.h"
#include "core/tensor.h"

/* Most decompressed bytes one image file may hold (4 GiB): a corrupt or
 * hostile .gz stops there instead of filling memory. */
#define TG_IMAGE_FILE_LIMIT ((size_t)1 << 32)

/* A labelled set of n images of h × w × c.  Owns every array; release
 * with tg_image_set_free.  Zero-initialise before use as an output only if
 * you want tg_image_set_free to be safe on it after a failed load. */
typedef struct tg_image_set {
    int64_t n;           /* N: images */
    int h, w, c;         /* H, W, C: height, width, channels (1 gray, 3 RGB) */
    float *pixels;       /* [N, H, W, C], 64-byte aligned */
    int32_t *labels;     /* [N], each 0..n_classes-1 */
    int n_classes;
    char **class_names;  /* [n_classes] NUL-terminated strings, or NULL */
} tg_image_set;

/* ---- readers -------------------------------------------------------------- */

/* MNIST / Fashion-MNIST: an IDX image file and an IDX label file, each
 * plain or gzip (http://yann.lecun.com/exdb/mnist/, "FILE FORMATS").
 * images: bytes 00 00 08 03, then big-endian u32 n, rows, cols, then
 * n·rows·cols u8 pixels (row-major); labels: 00 00 08 01, u32 n, n u8.
 * Result: c = 1, h = rows, w = cols, pixels v/255, n_classes = 1 + the
 * largest label, class_names NULL (tg_image_set_name_classes sets them).
 * Errors (TG_ERR_FORMAT unless noted; I/O and gzip errors as tg_read_file):
 *   "path: file is 10 bytes: expected a 16-byte IDX header (magic 0x00000803, n, rows, cols)"
 *   "path: magic 0x00000801: expected 0x00000803 (IDX images: unsigned bytes, 3 dimensions)"
 *   "path: header says 60000 images of 28x28 = 47040016 bytes, file has 47040000: expected
 *    the sizes to agree" (shorter or longer);  "path: header says 0 images: expected at least 1"
 *   "labels_path: 10000 labels for 60000 images in images_path: expected one label per image"
 *   TG_ERR_NOMEM when the pixels do not fit in memory. */
tg_status tg_idx_load(const char *images_path, const char *labels_path, tg_image_set *out);

/* CIFAR-10 binary batches (https://www.cs.toronto.edu/~kriz/cifar.html,
 * "Binary version"): each file, plain or gzip, is a sequence of 3073-byte
 * records: u8 label 0..9, then 1024 red, 1024 green, 1024 blue bytes (each
 * a 32×32 plane, row-major).  The n_paths files are concatenated in order.
 * Result: h = w = 32, c = 3 (planes interleaved into [H, W, C]), v/255,
 * n_classes = 10, class_names NULL (tg_image_read_class_names reads
 * batches.meta.txt).  Errors (TG_ERR_FORMAT unless noted):
 *   "path: 3100 bytes is not a whole number of 3073-byte records: record 1 is truncated
 *    (27 of 3073 bytes)";  "path: empty file: expected 3073-byte records"
 *   "path: record 17 (byte offset 52241): label 12: expected 0..9". */
tg_status tg_cifar_load(const char *const *paths, int n_paths, tg_image_set *out);

/* A folder tree in torchvision's ImageFolder layout: root/<class>/<file>.png.
 * Classes are the sub-folders of root (names not starting with '.'),
 * sorted by strcmp (byte order, as Python's sorted()); class k is the k-th
 * name and class_names holds them.  Images are the files ending in .png
 * (any case) directly inside each class folder, sorted by name; other
 * files and deeper folders are ignored.  Each PNG is decoded with
 * tg_png_read to `channels` (1 or 3).  h = w = 0 keeps the files' own size
 * (every image must then have the same size); h, w > 0 resizes every image
 * to h × w with tg_image_resize.  Errors (TG_ERR_FORMAT unless noted):
 *   "root: cannot open folder: <strerror>" (TG_ERR_IO);
 *   "root: no class folders: expected root/<class>/<image>.png"
 *   "root/cat: no .png files: expected at least one image per class folder"
 *   "root/cat/3.png: 30x32 image: expected 32x32 like root/airplane/0.png (or ask for a
 *    resize: h, w > 0)"; any error of tg_png_read. */
tg_status tg_imagefolder_load(const char *root, int channels, int h, int w, tg_image_set *out);

/* Reads class names from a text file, one per line (CR LF accepted; blank
 * lines skipped, as at the end of CIFAR's batches.meta.txt), and sets them
 * on s.  Errors: I/O as tg_read_file; TG_ERR_FORMAT
 * "path: 9 class names: expected 10 (one per line)"; s unchanged on error. */
tg_status tg_image_read_class_names(const char *path, tg_image_set *s);

/* Sets s->class_names to copies of names[0..n_classes) (replacing any). */
void tg_image_set_name_classes(tg_image_set *s, const char *const *names);

/* Frees the arrays and zeroes *s; safe on a zeroed set and twice. */
void tg_image_set_free(tg_image_set *s);

/* ---- subsets ---------------------------------------------------------------- */

/* out = the images idx[0..n) of s, in that order (copies; class names
 * copied).  Every idx must be in [0, s->n) (TG_CHECK). */
void tg_image_set_select(const tg_image_set *s, const int64_t *idx, int64_t n, tg_image_set *out);

/* A class-balanced random subset of n images: floor(n / n_classes) of each
 * class, plus one more for the first n mod n_classes classes, drawn
 * without replacement from each class by a generator seeded with seed;
 * out keeps the order of s.  Errors: TG_ERR_ARG "subset of 100: class 3 has
 * 7 images, needs 10" (out untouched). */
tg_status tg_image_set_subset(const tg_image_set *s, int64_t n, uint64_t seed, tg_image_set *out);

/* Splits s into train (s->n - n_val images) and val (n_val images) by a
 * permutation drawn from seed (tg_permutation); both keep the order of s.
 * 0 <= n_val <= s->n (TG_CHECK).  s is not changed. */
void tg_image_set_split(const tg_image_set *s, int64_t n_val, uint64_t seed, tg_image_set *train,
                        tg_image_set *val);

/* ---- normalisation ------------------------------------------------------------ */

/* Per-channel mean and standard deviation (population, divide by N·H·W)
 * over all pixels of s, accumulated in double: mean[c], std[c] for
 * c < s->c.  Compute them on the training images only. */
void tg_image_stats(const tg_image_set *s, float *mean, float *std);

/* x ← (x − mean[c]) / std[c] in place on every pixel of s; std[c] > 0. */
void tg_image_normalize(tg_image_set *s, const float *mean, const float *std);
/* The same on n_pixels pixels of c channels at x (one image, e.g. for predict). */
void tg_image_normalize_pixels(float *x, int64_t n_pixels, int c, const float *mean, const float *std);

/* ---- batches ---------------------------------------------------------------------- */

/* Copies images idx[0..b) of s into pixels [B, H, W, C] and their labels
 * into labels [B] (labels may be NULL).  idx in [0, s->n) (TG_CHECK). */
void tg_image_gather(const tg_image_set *s, const int64_t *idx, int64_t b, float *pixels,
                     int32_t *labels);

/* Seeded training augmentation of a batch: for each of the B images of
 * src [B, H, W, C], a random crop of the image zero-padded by `pad` pixels
 * on each side (offsets dy, dx uniform in [-pad, pad]: the image moves by
 * up to pad pixels, uncovered pixels become 0), then, if flip, a
 * horizontal mirror with probability 1/2 (off for digits and text).  As
 * torchvision's RandomCrop(size, padding=pad) + RandomHorizontalFlip().
 * Padding is 0 in whatever space src is in: after tg_image_normalize that
 * is the mean colour.  Writes dst [B, H, W, C] (must not overlap src).
 * Draws per image, in this order: dy, dx (only when pad > 0), the flip
 * (only when flip); so the same rng state gives the same batch. */
void tg_image_augment(const float *src, float *dst, int64_t b, int h, int w, int c, int pad,
                      int flip, tg_rng *rng);

/* ---- resizing ----------------------------------------------------------------------- */

/* Resizes src [H, W, C] to dst [OH, OW, C] with the bilinear (triangle)
 * filter, separably, pixel centres at i + 0.5 (PyTorch align_corners=False).
 * Upscaling is exactly bilinear interpolation with the edge pixels
 * repeated; downscaling widens the triangle to the scale factor so every
 * input pixel contributes (antialiasing, as PIL's Image.resize(BILINEAR)
 * and torchvision's Resize(antialias=True)); equal sizes copy.  All sizes
 * >= 1 (TG_CHECK).  Allocates a temporary [H, OW, C]. */
void tg_image_resize(const float *src, int h, int w, int c, float *dst, int oh, int ow);

#endif
