/* tests/test_image.c — image readers (IDX, CIFAR-10, PNG folders), their
 * errors, subsets, normalisation, augmentation, resizing, data/io.h. */
#define _POSIX_C_SOURCE 200809L
#include "tests/helpers/testutil.h"

#include <errno.h>
#include <math.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <png.h>
#include <zlib.h>

#include "data/image.h"
#include "data/io.h"
#include "data/png.h"

/* ---- writing test files --------------------------------------------------------- */

static void write_file(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static void write_gz(const char *path, const void *data, size_t n) {
    gzFile gz = gzopen(path, "wb6");
    assert_non_null(gz);
    assert_int_equal(gzwrite(gz, data, (unsigned)n), (int)n);
    assert_int_equal(gzclose(gz), Z_OK);
}

static void put32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8), p[3] = (unsigned char)v;
}

/* An IDX image file of n images rows×cols, pixel (i, y, x) = (i*7 + y*cols + x) mod 256,
 * with `extra` bytes appended (negative: cut off).  Returns its malloc'ed bytes. */
static unsigned char *idx_images(uint32_t n, uint32_t rows, uint32_t cols, long extra, size_t *len) {
    size_t body = (size_t)n * rows * cols;
    *len = (size_t)((long)(16 + body) + extra);
    unsigned char *b = calloc(16 + body + (extra > 0 ? (size_t)extra : 0), 1);
    put32(b, 0x803), put32(b + 4, n), put32(b + 8, rows), put32(b + 12, cols);
    for (size_t i = 0; i < n; i++)
        for (size_t q = 0; q < (size_t)rows * cols; q++) b[16 + i * rows * cols + q] = (unsigned char)((i * 7 + q) % 256);
    return b;
}

static unsigned char *idx_labels(uint32_t n, size_t *len) {
    *len = 8 + n;
    unsigned char *b = malloc(*len);
    put32(b, 0x801), put32(b + 4, n);
    for (uint32_t i = 0; i < n; i++) b[8 + i] = (unsigned char)(i * 3 % 10);
    return b;
}

/* Expects tg_idx_load to fail with status st and the message `want` (a
 * printf format whose only %s is the images path, or labels path when
 * on_labels), and *out untouched. */
static void expect_idx_error(const char *img, const char *lab, tg_status st, const char *want) {
    tg_image_set s, before;
    memset(&s, 0xAB, sizeof s);
    memcpy(&before, &s, sizeof s);
    tg_status got = tg_idx_load(img, lab, &s);
    if (got == TG_OK) tg_image_set_free(&s);
    assert_int_equal(got, st);
    assert_string_equal(tg_last_error(), want);
    assert_memory_equal(&s, &before, sizeof s);
}

/* ---- data/io.h ------------------------------------------------------------------- */

static void test_read_file(void **state) {
    (void)state;
    const char *plain = tu_tmp_path("r.bin"), *gz = tu_tmp_path("r.gz"), *odd = tu_tmp_path("plain.gz");
    unsigned char data[3000];
    for (int i = 0; i < 3000; i++) data[i] = (unsigned char)(i * 31 % 251);
    write_file(plain, data, sizeof data);
    write_gz(gz, data, sizeof data);
    write_file(odd, data, sizeof data); /* plain bytes under a .gz name: the magic decides */
    const char *paths[3] = {plain, gz, odd};
    for (int k = 0; k < 3; k++) {
        void *buf = NULL;
        size_t len = 0;
        assert_int_equal(tg_read_file(paths[k], 0, &buf, &len), TG_OK);
        assert_int_equal(len, sizeof data);
        assert_memory_equal(buf, data, sizeof data);
        assert_int_equal(((char *)buf)[len], '\0');
        free(buf);
    }
    /* the limit: exactly the size passes, one byte less fails, for plain and gzip */
    void *buf = (void *)0x1, *keep = buf;
    size_t len = 77;
    assert_int_equal(tg_read_file(gz, sizeof data, &buf, &len), TG_OK);
    free(buf);
    buf = keep;
    len = 77;
    char want[512];
    for (int k = 0; k < 2; k++) {
        assert_int_equal(tg_read_file(paths[k], sizeof data - 1, &buf, &len), TG_ERR_FORMAT);
        snprintf(want, sizeof want, "%s: more than 2999 bytes (decompressed): expected at most 2999", paths[k]);
        assert_string_equal(tg_last_error(), want);
        assert_ptr_equal(buf, keep);
        assert_int_equal(len, 77);
    }
    /* missing file */
    assert_int_equal(tg_read_file(tu_tmp_path("none"), 0, &buf, &len), TG_ERR_IO);
    snprintf(want, sizeof want, "%s: cannot open: %s", tu_tmp_path("none"), strerror(ENOENT));
    assert_string_equal(tg_last_error(), want);
}

static const char *atomic_text = "hello, atomic";

static int write_then_fail(FILE *f, void *ctx) {
    (void)ctx;
    fputs("partial", f);
    errno = ENOSPC;
    return -1;
}

static void test_write_atomic(void **state) {
    (void)state;
    const char *p = tu_tmp_path("a.txt");
    assert_int_equal(tg_write_file_atomic(p, atomic_text, strlen(atomic_text)), TG_OK);
    size_t n;
    char *got = tu_slurp(p, &n);
    assert_string_equal(got, atomic_text);
    free(got);
    /* a failing writer leaves the old file and no temporary */
    assert_int_equal(tg_write_atomic(p, write_then_fail, NULL), TG_ERR_IO);
    char want[512];
    snprintf(want, sizeof want, "%s: write failed: %s (file left unchanged)", p, strerror(ENOSPC));
    assert_string_equal(tg_last_error(), want);
    got = tu_slurp(p, &n);
    assert_string_equal(got, atomic_text);
    free(got);
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", p, (long)getpid());
    assert_int_not_equal(access(tmp, F_OK), 0);
}

/* ---- IDX ------------------------------------------------------------------------------ */

static void test_idx_valid(void **state) {
    (void)state;
    size_t il, ll;
    unsigned char *img = idx_images(5, 3, 4, 0, &il), *lab = idx_labels(5, &ll);
    const char *ip = tu_tmp_path("i.idx"), *lp = tu_tmp_path("l.idx.gz");
    write_file(ip, img, il);
    write_gz(lp, lab, ll);
    tg_image_set s;
    assert_int_equal(tg_idx_load(ip, lp, &s), TG_OK);
    assert_int_equal(s.n, 5);
    assert_int_equal(s.h, 3);
    assert_int_equal(s.w, 4);
    assert_int_equal(s.c, 1);
    assert_int_equal(s.n_classes, 10); /* labels 0 3 6 9 2: 1 + max */
    assert_null(s.class_names);
    assert_int_equal((uintptr_t)s.pixels % 64, 0);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(s.labels[i], i * 3 % 10);
        for (int q = 0; q < 12; q++) assert_true(s.pixels[i * 12 + q] == (float)((i * 7 + q) % 256) / 255.0f);
    }
    const char *names[10] = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "nine"};
    tg_image_set_name_classes(&s, names);
    assert_string_equal(s.class_names[9], "nine");
    tg_image_set_free(&s);
    tg_image_set_free(&s); /* twice is safe */
    free(img);
    free(lab);
}

static void test_idx_errors(void **state) {
    (void)state;
    char want[1024];
    size_t il, ll;
    const char *ip = tu_tmp_path("bad.idx"), *lp = tu_tmp_path("lab.idx");
    unsigned char *lab = idx_labels(4, &ll);
    write_file(lp, lab, ll);
    /* too short for the header */
    write_file(ip, "\0\0\x08\x03\0\0", 6);
    snprintf(want, sizeof want, "%s: file is 6 bytes: expected a 16-byte IDX header (magic 0x00000803, n, rows, cols)", ip);
    expect_idx_error(ip, lp, TG_ERR_FORMAT, want);
    /* labels given as images: bad magic */
    snprintf(want, sizeof want, "%s: magic 0x00000801: expected 0x00000803 (IDX images: unsigned bytes, 3 dimensions)", lp);
    expect_idx_error(lp, lp, TG_ERR_FORMAT, want);
    /* float IDX (type 0x0D) */
    unsigned char *img = idx_images(4, 2, 2, 0, &il);
    img[2] = 0x0D;
    write_file(ip, img, il);
    snprintf(want, sizeof want, "%s: magic 0x00000D03: expected 0x00000803 (IDX images: unsigned bytes, 3 dimensions)", ip);
    expect_idx_error(ip, lp, TG_ERR_FORMAT, want);
    free(img);
    /* one byte short, one byte long */
    img = idx_images(4, 2, 2, -1, &il);
    write_file(ip, img, il);
    snprintf(want, sizeof want, "%s: header says 4 images of 2x2 = 32 bytes, file has 31: expected the sizes to agree", ip);
    expect_idx_error(ip, lp, TG_ERR_FORMAT, want);
    free(img);
    img = idx_images(4, 2, 2, 1, &il);
    write_gz(ip, img, il);
    snprintf(want, sizeof want, "%s: header says 4 images of 2x2 = 32 bytes, file has 33: expected the sizes to agree", ip);
    expect_idx_error(ip, lp, TG_ERR_FORMAT, want);
    free(img);
    /* zero images, zero rows */
    img = idx_images(0, 2, 2, 0, &il);
    write_file(ip, img, il);
    snprintf(want, sizeof want, "%s: header says 0 images: expected at least 1", ip);
    expect_idx_error(ip, lp, TG_ERR_FORMAT, want);
    free(img);
    img = idx_images(4, 0, 2, 0, &il);
    write_file(ip, img, il);
    snprintf(want, sizeof want, "%s: header says images of 0x2: expected rows and cols in 1..32768", ip);
    expect_idx_error(ip, lp, TG_ERR_FORMAT, want);
    free(img);
    /* image / label counts differ */
    img = idx_images(5, 2, 2, 0, &il);
    write_file(ip, img, il);
    snprintf(want, sizeof want, "%s: 4 labels for 5 images in %s: expected one label per image", lp, ip);
    expect_idx_error(ip, lp, TG_ERR_FORMAT, want);
    /* a truncated label file */
    write_file(lp, lab, ll - 1);
    snprintf(want, sizeof want, "%s: header says 4 labels = 12 bytes, file has 11: expected the sizes to agree", lp);
    expect_idx_error(ip, lp, TG_ERR_FORMAT, want);
    /* a missing file, a corrupt gzip stream */
    snprintf(want, sizeof want, "%s: cannot open: %s", tu_tmp_path("missing"), strerror(ENOENT));
    expect_idx_error(tu_tmp_path("missing"), lp, TG_ERR_IO, want);
    write_gz(ip, img, il);
    size_t gl;
    char *gzb = tu_slurp(ip, &gl);
    write_file(ip, gzb, gl / 2);
    snprintf(want, sizeof want, "%s: gzip: unexpected end of file", ip);
    expect_idx_error(ip, lp, TG_ERR_IO, want);
    free(gzb);
    free(img);
    free(lab);
}

/* A header that claims 2^31 - 1 images of 28x28 (1.6 TB of pixels) over a
 * 100-byte body: the reader must refuse it from the length, allocating
 * nothing near the claim.  Run in a child with its address space capped
 * at 512 MiB (not under AddressSanitizer, which reserves terabytes). */
static void test_idx_huge_header(void **state) {
    (void)state;
    unsigned char b[16 + 100] = {0};
    put32(b, 0x803), put32(b + 4, 0x7FFFFFFF), put32(b + 8, 28), put32(b + 12, 28);
    const char *ip = tu_tmp_path("huge.idx"), *lp = tu_tmp_path("huge_l.idx");
    write_file(ip, b, sizeof b);
    unsigned char l[8 + 2] = {0};
    put32(l, 0x801), put32(l + 4, 0x7FFFFFFF);
    write_file(lp, l, sizeof l);
    char want[512];
    snprintf(want, sizeof want, "%s: header says 2147483647 images of 28x28 = %llu bytes, "
             "file has 116: expected the sizes to agree", ip, 2147483647ULL * 784 + 16);
#if defined(__SANITIZE_ADDRESS__)
    expect_idx_error(ip, lp, TG_ERR_FORMAT, want);
#else
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct rlimit rl = {512u << 20, 512u << 20};
        if (setrlimit(RLIMIT_AS, &rl) != 0) _exit(3);
        tg_image_set s;
        tg_status st = tg_idx_load(ip, lp, &s);
        _exit(st == TG_ERR_FORMAT && strcmp(tg_last_error(), want) == 0 ? 0 : 1);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
#endif
    /* the same for a claim that hides in a gzip stream */
    write_gz(ip, b, sizeof b);
    expect_idx_error(ip, lp, TG_ERR_FORMAT, want);
}

/* ---- sets: subsets, split, stats, normalisation ------------------------------------------ */

/* A set of n 2x2x3 images, image i filled with i + channel/10, label i % k. */
static void make_set(tg_image_set *s, int64_t n, int k) {
    memset(s, 0, sizeof *s);
    s->n = n, s->h = 2, s->w = 2, s->c = 3, s->n_classes = k;
    s->pixels = malloc(sizeof(float) * (size_t)n * 12);
    s->labels = malloc(sizeof(int32_t) * (size_t)n);
    for (int64_t i = 0; i < n; i++) {
        s->labels[i] = (int32_t)(i % k);
        for (int q = 0; q < 12; q++) s->pixels[i * 12 + q] = (float)i + (float)(q % 3) / 10;
    }
}

static void test_subset_split(void **state) {
    (void)state;
    tg_image_set s, a, b, v, t;
    make_set(&s, 103, 4); /* classes: 26 26 26 25 */
    const char *names[4] = {"a", "b", "c", "d"};
    tg_image_set_name_classes(&s, names);
    assert_int_equal(tg_image_set_subset(&s, 42, 7, &a), TG_OK);
    assert_int_equal(a.n, 42);
    int cnt[4] = {0};
    for (int64_t i = 0; i < a.n; i++) {
        cnt[a.labels[i]]++;
        int64_t src = (int64_t)a.pixels[i * 12]; /* which image it was */
        assert_int_equal(a.labels[i], src % 4);
        if (i > 0) assert_true(a.pixels[i * 12] > a.pixels[(i - 1) * 12]); /* order kept */
        assert_true(a.pixels[i * 12 + 2] == s.pixels[src * 12 + 2]);
    }
    assert_int_equal(cnt[0], 11), assert_int_equal(cnt[1], 11);
    assert_int_equal(cnt[2], 10), assert_int_equal(cnt[3], 10);
    assert_string_equal(a.class_names[3], "d");
    /* same seed, same subset; another seed, another subset */
    assert_int_equal(tg_image_set_subset(&s, 42, 7, &b), TG_OK);
    assert_memory_equal(a.pixels, b.pixels, sizeof(float) * 42 * 12);
    tg_image_set_free(&b);
    assert_int_equal(tg_image_set_subset(&s, 42, 8, &b), TG_OK);
    assert_true(memcmp(a.pixels, b.pixels, sizeof(float) * 42 * 12) != 0);
    tg_image_set_free(&b);
    /* the whole set is a subset of itself */
    assert_int_equal(tg_image_set_subset(&s, 103, 1, &b), TG_OK);
    assert_memory_equal(b.pixels, s.pixels, sizeof(float) * 103 * 12);
    tg_image_set_free(&b);
    /* too many asked of one class */
    memset(&b, 0xAB, sizeof b);
    tg_image_set before = b;
    assert_int_equal(tg_image_set_subset(&s, 104, 1, &b), TG_ERR_ARG);
    assert_string_equal(tg_last_error(), "subset of 104: class 3 has 25 images, needs 26");
    assert_memory_equal(&b, &before, sizeof b);
    assert_int_equal(tg_image_set_subset(&s, 108, 1, &b), TG_ERR_ARG);
    assert_string_equal(tg_last_error(), "subset of 108: class 0 has 26 images, needs 27");
    /* split: a partition of s, both in order, seeded */
    tg_image_set_split(&s, 20, 3, &t, &v);
    assert_int_equal(v.n, 20);
    assert_int_equal(t.n, 83);
    char seen[103] = {0};
    for (int64_t i = 0; i < v.n; i++) seen[(int)v.pixels[i * 12]]++;
    for (int64_t i = 0; i < t.n; i++) seen[(int)t.pixels[i * 12]]++;
    for (int i = 0; i < 103; i++) assert_int_equal(seen[i], 1);
    for (int64_t i = 1; i < v.n; i++) assert_true(v.pixels[i * 12] > v.pixels[(i - 1) * 12]);
    assert_string_equal(t.class_names[0], "a");
    tg_image_set t2, v2;
    tg_image_set_split(&s, 20, 3, &t2, &v2);
    assert_memory_equal(v.labels, v2.labels, sizeof(int32_t) * 20);
    assert_memory_equal(v.pixels, v2.pixels, sizeof(float) * 20 * 12);
    tg_image_set_free(&t2), tg_image_set_free(&v2);
    tg_image_set_free(&t), tg_image_set_free(&v);
    tg_image_set_free(&a);
    tg_image_set_free(&s);
}

static void test_stats_normalize(void **state) {
    (void)state;
    tg_image_set s;
    make_set(&s, 10, 2); /* channel ch of image i: i + ch/10; mean 4.5 + ch/10, std sqrt(8.25) */
    float mean[3], std[3];
    tg_image_stats(&s, mean, std);
    for (int ch = 0; ch < 3; ch++) {
        assert_float_equal(mean[ch], 4.5 + ch / 10.0, 1e-6);
        assert_float_equal(std[ch], sqrt(8.25), 1e-6);
    }
    tg_image_normalize(&s, mean, std);
    float m2[3], s2[3];
    tg_image_stats(&s, m2, s2);
    for (int ch = 0; ch < 3; ch++) {
        assert_float_equal(m2[ch], 0, 1e-6);
        assert_float_equal(s2[ch], 1, 1e-6);
    }
    assert_float_equal(s.pixels[0], (0 - 4.5) / sqrt(8.25), 1e-6);
    assert_float_equal(s.pixels[9 * 12 + 2], (9.2 - 4.7) / sqrt(8.25), 1e-5);
    TU_EXPECT_DEATH(tg_image_normalize(&s, mean, (float[]){1, 0, 1}), "std[1] = 0: expected > 0");
    tg_image_set_free(&s);
}

static void test_gather(void **state) {
    (void)state;
    tg_image_set s;
    make_set(&s, 10, 3);
    int64_t idx[3] = {7, 0, 7};
    float px[36];
    int32_t y[3];
    tg_image_gather(&s, idx, 3, px, y);
    assert_memory_equal(px, s.pixels + 7 * 12, sizeof(float) * 12);
    assert_memory_equal(px + 12, s.pixels, sizeof(float) * 12);
    assert_int_equal(y[0], 1), assert_int_equal(y[1], 0), assert_int_equal(y[2], 1);
    TU_EXPECT_DEATH(tg_image_gather(&s, (int64_t[]){10}, 1, px, NULL), "index 10 out of range: the set has 10 images");
    tg_image_set_free(&s);
}

/* ---- augmentation ---------------------------------------------------------------------------------- */

/* Reference: output (y, x) = input (y + dy, mirror ? w-1-x : x + dx) or 0. */
static float aug_ref(const float *im, int h, int w, int c, int y, int x, int ch, int dy, int dx, int mirror) {
    int cx = mirror ? w - 1 - x : x;
    int sy = y + dy, sx = cx + dx;
    if (sy < 0 || sy >= h || sx < 0 || sx >= w) return 0;
    return im[((int64_t)sy * w + sx) * c + ch];
}

static void test_augment(void **state) {
    (void)state;
    enum { B = 16, H = 5, W = 7, C = 2, PAD = 2 };
    float src[B * H * W * C], a[B * H * W * C], b2[B * H * W * C];
    for (int i = 0; i < B * H * W * C; i++) src[i] = 1 + (float)i;
    /* determinism: the same seed gives the same batch, another seed another */
    for (int flip = 0; flip < 2; flip++) {
        tg_rng r1, r2;
        tg_rng_seed(&r1, 5), tg_rng_seed(&r2, 5);
        tg_image_augment(src, a, B, H, W, C, PAD, flip, &r1);
        tg_image_augment(src, b2, B, H, W, C, PAD, flip, &r2);
        assert_memory_equal(a, b2, sizeof a);
        assert_memory_equal(&r1, &r2, sizeof r1);
        tg_rng_seed(&r2, 6);
        tg_image_augment(src, b2, B, H, W, C, PAD, flip, &r2);
        assert_true(memcmp(a, b2, sizeof a) != 0);
        /* each image equals the reference for the draws, replayed in the documented order */
        tg_rng rr;
        tg_rng_seed(&rr, 5);
        int mirrored = 0, moved = 0;
        for (int i = 0; i < B; i++) {
            int dy = (int)tg_rng_below(&rr, 2 * PAD + 1) - PAD;
            int dx = (int)tg_rng_below(&rr, 2 * PAD + 1) - PAD;
            int m = flip ? (int)(tg_rng_u32(&rr) >> 31) : 0;
            mirrored += m, moved += dy != 0 || dx != 0;
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++)
                    for (int ch = 0; ch < C; ch++)
                        assert_true(a[((i * H + y) * W + x) * C + ch] ==
                                    aug_ref(src + i * H * W * C, H, W, C, y, x, ch, dy, dx, m));
        }
        assert_true(moved > 0);
        if (flip) assert_true(mirrored > 0 && mirrored < B);
    }
    /* pad 0, no flip: a copy, and no draws */
    tg_rng r;
    tg_rng_seed(&r, 1);
    tg_rng before = r;
    tg_image_augment(src, a, B, H, W, C, 0, 0, &r);
    assert_memory_equal(a, src, sizeof a);
    assert_memory_equal(&r, &before, sizeof r);
    /* pad larger than the image: still in range (rows or columns all 0) */
    tg_image_augment(src, a, B, H, W, C, 9, 1, &r);
    TU_EXPECT_DEATH(tg_image_augment(src, src + 1, B, H, W, C, 1, 0, &r), "dst overlaps src");
}

/* ---- resizing ------------------------------------------------------------------------------------------ */

static void test_resize(void **state) {
    (void)state;
    /* upscaling a ramp 0..3 to 8 columns: bilinear with half-pixel centres,
     * x_src = (x + 0.5) / 2 - 0.5 clamped to [0, 3], value = x_src */
    float ramp[4] = {0, 1, 2, 3}, up[8];
    tg_image_resize(ramp, 1, 4, 1, up, 1, 8);
    for (int x = 0; x < 8; x++) {
        double xs = (x + 0.5) / 2 - 0.5;
        xs = xs < 0 ? 0 : xs > 3 ? 3 : xs;
        assert_float_equal(up[x], xs, 1e-6);
    }
    /* the same on rows, 3 channels at once: a 2-D ramp v = 10 y + x + ch/10 from 3x4 to 5x7 */
    float src[3 * 4 * 3], dst[5 * 7 * 3];
    for (int y = 0; y < 3; y++)
        for (int x = 0; x < 4; x++)
            for (int ch = 0; ch < 3; ch++) src[(y * 4 + x) * 3 + ch] = 10.0f * y + x + ch / 10.0f;
    tg_image_resize(src, 3, 4, 3, dst, 5, 7);
    for (int y = 0; y < 5; y++)
        for (int x = 0; x < 7; x++)
            for (int ch = 0; ch < 3; ch++) {
                double ys = (y + 0.5) * 3 / 5 - 0.5, xs = (x + 0.5) * 4 / 7 - 0.5;
                ys = ys < 0 ? 0 : ys > 2 ? 2 : ys;
                xs = xs < 0 ? 0 : xs > 3 ? 3 : xs;
                assert_float_equal(dst[(y * 7 + x) * 3 + ch], 10 * ys + xs + ch / 10.0, 1e-5);
            }
    /* downscaling by 2: each output averages its 2x2 footprint with the
     * triangle weights 1/8 3/8 3/8 1/8; inside a ramp that is the footprint's mean */
    float r8[8], d4[4];
    for (int x = 0; x < 8; x++) r8[x] = (float)x;
    tg_image_resize(r8, 1, 8, 1, d4, 1, 4);
    assert_float_equal(d4[1], 2.5, 1e-6);
    assert_float_equal(d4[2], 4.5, 1e-6);
    assert_float_equal(d4[0], (0 * 0.75 + 1 * 0.75 + 2 * 0.25) / 1.75, 1e-6); /* edge: renormalised */
    /* a constant image stays constant at any scale; equal sizes copy */
    float k[6 * 9], ko[4 * 13];
    for (int i = 0; i < 54; i++) k[i] = 0.25f;
    tg_image_resize(k, 6, 9, 1, ko, 4, 13);
    for (int i = 0; i < 52; i++) assert_float_equal(ko[i], 0.25, 1e-6);
    tg_image_resize(src, 3, 4, 3, dst, 3, 4);
    assert_memory_equal(dst, src, sizeof src);
}

/* ---- CIFAR-10 ------------------------------------------------------------------------ */

/* n CIFAR records: label (first_label + r) % 10 (or bad_label at record bad_at),
 * channel ch of pixel q = (r + 3 q + 50 ch) mod 256. */
static unsigned char *cifar_records(int n, int first_label, int bad_at, int bad_label) {
    unsigned char *b = malloc((size_t)n * 3073);
    for (int r = 0; r < n; r++) {
        unsigned char *rec = b + (size_t)r * 3073;
        rec[0] = (unsigned char)(r == bad_at ? bad_label : (first_label + r) % 10);
        for (int ch = 0; ch < 3; ch++)
            for (int q = 0; q < 1024; q++) rec[1 + ch * 1024 + q] = (unsigned char)((r + 3 * q + 50 * ch) % 256);
    }
    return b;
}

static void expect_cifar_error(const char *const *paths, int n, tg_status st, const char *want) {
    tg_image_set s, before;
    memset(&s, 0xAB, sizeof s);
    memcpy(&before, &s, sizeof s);
    tg_status got = tg_cifar_load(paths, n, &s);
    if (got == TG_OK) tg_image_set_free(&s);
    assert_int_equal(got, st);
    assert_string_equal(tg_last_error(), want);
    assert_memory_equal(&s, &before, sizeof s);
}

static void test_cifar(void **state) {
    (void)state;
    const char *a = tu_tmp_path("c1.bin"), *b = tu_tmp_path("c2.bin.gz");
    unsigned char *r1 = cifar_records(3, 0, -1, 0), *r2 = cifar_records(2, 3, -1, 0);
    write_file(a, r1, 3 * 3073);
    write_gz(b, r2, 2 * 3073);
    const char *paths[2] = {a, b};
    tg_image_set s;
    assert_int_equal(tg_cifar_load(paths, 2, &s), TG_OK);
    assert_int_equal(s.n, 5);
    assert_int_equal(s.h, 32), assert_int_equal(s.w, 32), assert_int_equal(s.c, 3);
    assert_int_equal(s.n_classes, 10);
    int want_labels[5] = {0, 1, 2, 3, 4};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(s.labels[i], want_labels[i]);
        int r = i < 3 ? i : i - 3; /* record index within its file */
        for (int q = 0; q < 1024; q += 37)
            for (int ch = 0; ch < 3; ch++) /* plane ch, position q → [y, x, ch] */
                assert_true(s.pixels[((int64_t)i * 1024 + q) * 3 + ch] == (float)((r + 3 * q + 50 * ch) % 256) / 255.0f);
    }
    /* class names from a file (batches.meta.txt ends with blank lines) */
    const char *names = tu_tmp_path("meta.txt");
    const char *text = "airplane\nautomobile\r\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n\n";
    write_file(names, text, strlen(text));
    assert_int_equal(tg_image_read_class_names(names, &s), TG_OK);
    assert_string_equal(s.class_names[1], "automobile");
    assert_string_equal(s.class_names[9], "truck");
    write_file(names, "a\nb\n", 4);
    char want[1024];
    snprintf(want, sizeof want, "%s: 2 class names: expected 10 (one per line)", names);
    assert_int_equal(tg_image_read_class_names(names, &s), TG_ERR_FORMAT);
    assert_string_equal(tg_last_error(), want);
    assert_string_equal(s.class_names[9], "truck"); /* unchanged */
    tg_image_set_free(&s);
    /* a truncated record */
    write_file(a, r1, 2 * 3073 + 27);
    snprintf(want, sizeof want, "%s: 6173 bytes is not a whole number of 3073-byte records: record 2 is "
             "truncated (27 of 3073 bytes)", a);
    expect_cifar_error(paths, 2, TG_ERR_FORMAT, want);
    /* an empty file */
    write_file(a, "", 0);
    snprintf(want, sizeof want, "%s: empty file: expected 3073-byte records", a);
    expect_cifar_error(paths, 2, TG_ERR_FORMAT, want);
    /* a label out of range, in the second (gzip) file */
    write_file(a, r1, 3 * 3073);
    unsigned char *bad = cifar_records(2, 3, 1, 10);
    write_gz(b, bad, 2 * 3073);
    snprintf(want, sizeof want, "%s: record 1 (byte offset 3073): label 10: expected 0..9", b);
    expect_cifar_error(paths, 2, TG_ERR_FORMAT, want);
    /* a missing file */
    const char *miss[2] = {a, tu_tmp_path("nope.bin")};
    snprintf(want, sizeof want, "%s: cannot open: %s", miss[1], strerror(ENOENT));
    expect_cifar_error(miss, 2, TG_ERR_IO, want);
    free(bad);
    free(r1);
    free(r2);
}

/* ---- PNG ---------------------------------------------------------------------------- */

/* Writes a PNG with libpng: samples [h, w, channels of the colour type]
 * (palette indices for PNG_COLOR_TYPE_PALETTE), at bit depth `depth`. */
static void write_png(const char *path, int color, int depth, int w, int h, const uint16_t *samples,
                      const png_color *palette, int n_palette, const png_byte *trans, int n_trans,
                      int interlace) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    assert_non_null(info);
    if (setjmp(png_jmpbuf(png))) fail_msg("libpng failed writing the test image %s", path);
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, depth, color,
                 interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    if (palette) png_set_PLTE(png, info, palette, n_palette);
    if (trans) png_set_tRNS(png, info, trans, n_trans, NULL);
    png_write_info(png, info);
    if (depth < 8) png_set_packing(png);
    if (depth == 16) png_set_swap(png); /* rows below are host-order uint16 */
    int nc = png_get_channels(png, info);
    int bps = depth == 16 ? 2 : 1;
    png_bytep rows = calloc((size_t)h * w * nc * bps, 1);
    png_bytepp rp = malloc(sizeof(png_bytep) * (size_t)h);
    for (int y = 0; y < h; y++) {
        rp[y] = rows + (size_t)y * w * nc * bps;
        for (int q = 0; q < w * nc; q++) {
            uint16_t v = samples[(size_t)y * w * nc + q];
            if (depth == 16) memcpy(rp[y] + 2 * q, &v, 2);
            else rp[y][q] = (png_byte)v;
        }
    }
    png_write_image(png, rp);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(rows);
    free(rp);
    assert_int_equal(fclose(f), 0);
}

/* Reads path with channels c and checks each pixel against want (RGB floats per pixel). */
static void expect_png(const char *path, int w, int h, const float *rgb, int gray_source) {
    for (int c = 1; c <= 3; c += 2) {
        float *px = NULL;
        int ph = 0, pw = 0;
        tg_status st = tg_png_read(path, c, &px, &ph, &pw);
        if (st != TG_OK) fail_msg("%s", tg_last_error());
        assert_int_equal(ph, h);
        assert_int_equal(pw, w);
        for (int p = 0; p < w * h; p++) {
            const float *e = rgb + 3 * p;
            if (c == 3)
                for (int ch = 0; ch < 3; ch++) assert_float_equal(px[3 * p + ch], e[ch], 1e-7);
            else if (gray_source) assert_float_equal(px[p], e[0], 1e-7);
            else assert_float_equal(px[p], 0.299f * e[0] + 0.587f * e[1] + 0.114f * e[2], 1e-6);
        }
        free(px);
    }
}

static void test_png_colour_types(void **state) {
    (void)state;
    enum { W = 5, H = 3, P = W * H };
    uint16_t smp[P * 4];
    float want[P * 3];
    const char *path = tu_tmp_path("t.png");
    /* gray at every depth, then gray+alpha */
    int depths[5] = {1, 2, 4, 8, 16};
    for (int d = 0; d < 5; d++)
        for (int alpha = 0; alpha < 2; alpha++) {
            int depth = depths[d];
            if (alpha && depth < 8) continue;
            unsigned maxv = (1u << depth) - 1;
            int nc = 1 + alpha;
            for (int p = 0; p < P; p++) {
                unsigned v = (unsigned)(p * 40503u + 7) % (maxv + 1);
                smp[p * nc] = (uint16_t)v;
                if (alpha) smp[p * nc + 1] = (uint16_t)(maxv - v / 2);
                /* libpng expands 1/2/4-bit gray to 8 bits by bit replication: v · 255 / maxv */
                float g = depth == 16 ? (float)v / 65535.0f : (float)(v * 255 / maxv) / 255.0f;
                want[3 * p] = want[3 * p + 1] = want[3 * p + 2] = g;
            }
            write_png(path, alpha ? PNG_COLOR_TYPE_GRAY_ALPHA : PNG_COLOR_TYPE_GRAY, depth, W, H, smp,
                      NULL, 0, NULL, 0, 0);
            expect_png(path, W, H, want, 1);
        }
    /* RGB and RGBA, 8 and 16 bits, and interlaced */
    for (int depth = 8; depth <= 16; depth += 8)
        for (int alpha = 0; alpha < 2; alpha++)
            for (int inter = 0; inter < 2; inter++) {
                unsigned maxv = (1u << depth) - 1;
                int nc = 3 + alpha;
                for (int p = 0; p < P; p++)
                    for (int k = 0; k < nc; k++) {
                        unsigned v = (unsigned)(p * 7919u + k * 104729u + 13) % (maxv + 1);
                        smp[p * nc + k] = (uint16_t)v;
                        if (k < 3) want[3 * p + k] = (float)v / (float)maxv;
                    }
                write_png(path, alpha ? PNG_COLOR_TYPE_RGBA : PNG_COLOR_TYPE_RGB, depth, W, H, smp,
                          NULL, 0, NULL, 0, inter);
                expect_png(path, W, H, want, 0);
            }
    /* palette, 8 and 4 bits, with a tRNS chunk (alpha dropped) */
    png_color pal[6] = {{0, 0, 0}, {255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {10, 20, 30}, {255, 255, 255}};
    png_byte trans[3] = {0, 128, 255};
    for (int depth = 4; depth <= 8; depth += 4)
        for (int t = 0; t < 2; t++) {
            for (int p = 0; p < P; p++) {
                int i = (p * 5 + 1) % 6;
                smp[p] = (uint16_t)i;
                want[3 * p] = pal[i].red / 255.0f;
                want[3 * p + 1] = pal[i].green / 255.0f;
                want[3 * p + 2] = pal[i].blue / 255.0f;
            }
            write_png(path, PNG_COLOR_TYPE_PALETTE, depth, W, H, smp, pal, 6, t ? trans : NULL, 3, 0);
            expect_png(path, W, H, want, 0);
        }
}

static void expect_png_error(const char *path, tg_status st, const char *want_prefix, const char *want_suffix) {
    float *px = (float *)0x1;
    int h = -5, w = -6;
    tg_status got = tg_png_read(path, 3, &px, &h, &w);
    if (got == TG_OK) free(px);
    assert_int_equal(got, st);
    const char *msg = tg_last_error();
    if (strncmp(msg, want_prefix, strlen(want_prefix)) != 0 ||
        strlen(msg) < strlen(want_suffix) || strcmp(msg + strlen(msg) - strlen(want_suffix), want_suffix) != 0)
        fail_msg("got \"%s\", expected \"%s...%s\"", msg, want_prefix, want_suffix);
    assert_ptr_equal(px, (float *)0x1);
    assert_int_equal(h, -5);
    assert_int_equal(w, -6);
}

static void test_png_errors(void **state) {
    (void)state;
    enum { W = 40, H = 30 };
    uint16_t smp[W * H * 3];
    for (int i = 0; i < W * H * 3; i++) smp[i] = (uint16_t)((i * 2654435761u) >> 24);
    const char *good = tu_tmp_path("good.png"), *bad = tu_tmp_path("bad.png");
    write_png(good, PNG_COLOR_TYPE_RGB, 8, W, H, smp, NULL, 0, NULL, 0, 0);
    size_t n;
    unsigned char *bytes = (unsigned char *)tu_slurp(good, &n);
    char pre[600];
    /* not a PNG at all */
    write_file(bad, "GIF89a....", 10);
    snprintf(pre, sizeof pre, "%s: not a PNG file: expected the signature 89 50 4E 47 0D 0A 1A 0A", bad);
    expect_png_error(bad, TG_ERR_FORMAT, pre, "");
    write_file(bad, bytes, 5); /* shorter than the signature */
    expect_png_error(bad, TG_ERR_FORMAT, pre, "");
    /* truncated inside the image data */
    write_file(bad, bytes, n / 2);
    snprintf(pre, sizeof pre, "%s: libpng: ", bad);
    expect_png_error(bad, TG_ERR_FORMAT, pre, "unexpected end of file (truncated?): expected a valid PNG image");
    /* header CRC broken */
    unsigned char *copy = malloc(n);
    memcpy(copy, bytes, n);
    copy[16 + 3] ^= 0x01; /* a byte of the IHDR width */
    write_file(bad, copy, n);
    expect_png_error(bad, TG_ERR_FORMAT, pre, "IHDR: CRC error: expected a valid PNG image");
    /* compressed data corrupt (CRC fixed up, so zlib itself must notice) */
    memcpy(copy, bytes, n);
    size_t idat = 8;
    while (idat + 8 < n && memcmp(copy + idat + 4, "IDAT", 4) != 0)
        idat += 12 + ((size_t)copy[idat] << 24 | (size_t)copy[idat + 1] << 16 | (size_t)copy[idat + 2] << 8 | copy[idat + 3]);
    assert_true(idat + 8 < n);
    size_t len = (size_t)copy[idat] << 24 | (size_t)copy[idat + 1] << 16 | (size_t)copy[idat + 2] << 8 | copy[idat + 3];
    for (size_t k = 2; k < len; k += 3) copy[idat + 8 + k] ^= 0xA5;
    uLong crc = crc32(0, copy + idat + 4, (uInt)(len + 4));
    put32(copy + idat + 8 + len, (uint32_t)crc);
    write_file(bad, copy, n);
    expect_png_error(bad, TG_ERR_FORMAT, pre, ": expected a valid PNG image");
    /* a missing file */
    snprintf(pre, sizeof pre, "%s: cannot open: %s", tu_tmp_path("nope.png"), strerror(ENOENT));
    expect_png_error(tu_tmp_path("nope.png"), TG_ERR_IO, pre, "");
    free(copy);
    free(bytes);
}

/* ---- PNG folders ---------------------------------------------------------------------- */

/* An 8-bit RGB PNG of w×h whose pixel (y, x) channel k is (seed + 11 y + 5 x + 70 k) mod 256. */
static void write_rgb_png(const char *path, int w, int h, int seed) {
    uint16_t *smp = malloc(sizeof(uint16_t) * (size_t)w * h * 3);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int k = 0; k < 3; k++) smp[(y * w + x) * 3 + k] = (uint16_t)((seed + 11 * y + 5 * x + 70 * k) % 256);
    write_png(path, PNG_COLOR_TYPE_RGB, 8, w, h, smp, NULL, 0, NULL, 0, 0);
    free(smp);
}

static const char *mkpath(const char *rel) {
    const char *p = tu_tmp_path(rel);
    return p;
}

static void mkd(const char *rel) {
    assert_int_equal(mkdir(mkpath(rel), 0755), 0);
}

static void expect_folder_error(const char *root, int h, int w, tg_status st, const char *want) {
    tg_image_set s, before;
    memset(&s, 0xAB, sizeof s);
    memcpy(&before, &s, sizeof s);
    tg_status got = tg_imagefolder_load(root, 3, h, w, &s);
    if (got == TG_OK) tg_image_set_free(&s);
    assert_int_equal(got, st);
    assert_string_equal(tg_last_error(), want);
    assert_memory_equal(&s, &before, sizeof s);
}

static void test_imagefolder(void **state) {
    (void)state;
    mkd("f"), mkd("f/cat"), mkd("f/ant"), mkd("f/.git"), mkd("f/bee"), mkd("f/bee/deeper");
    write_rgb_png(mkpath("f/cat/1.png"), 4, 3, 10);
    write_rgb_png(mkpath("f/cat/0.png"), 4, 3, 20);
    write_rgb_png(mkpath("f/ant/z.PNG"), 4, 3, 30);
    write_rgb_png(mkpath("f/bee/a.png"), 4, 3, 40);
    write_rgb_png(mkpath("f/bee/deeper/x.png"), 9, 9, 50); /* ignored: not directly in the class folder */
    write_rgb_png(mkpath("f/.git/x.png"), 9, 9, 50);       /* ignored: hidden */
    write_file(mkpath("f/bee/notes.txt"), "hi", 2);        /* ignored: not .png */
    write_file(mkpath("f/README"), "hi", 2);               /* ignored: not a folder */
    char root[600];
    snprintf(root, sizeof root, "%s", mkpath("f"));
    tg_image_set s;
    tg_status st = tg_imagefolder_load(root, 3, 0, 0, &s);
    if (st != TG_OK) fail_msg("%s", tg_last_error());
    assert_int_equal(s.n, 4);
    assert_int_equal(s.h, 3), assert_int_equal(s.w, 4), assert_int_equal(s.c, 3);
    assert_int_equal(s.n_classes, 3);
    assert_string_equal(s.class_names[0], "ant");
    assert_string_equal(s.class_names[1], "bee");
    assert_string_equal(s.class_names[2], "cat");
    int labels[4] = {0, 1, 2, 2}, seeds[4] = {30, 40, 20, 10}; /* ant/z, bee/a, cat/0, cat/1 */
    for (int i = 0; i < 4; i++) {
        assert_int_equal(s.labels[i], labels[i]);
        for (int y = 0; y < 3; y++)
            for (int x = 0; x < 4; x++)
                for (int k = 0; k < 3; k++)
                    assert_true(s.pixels[(((int64_t)i * 3 + y) * 4 + x) * 3 + k] ==
                                (float)((seeds[i] + 11 * y + 5 * x + 70 * k) % 256) / 255.0f);
    }
    tg_image_set_free(&s);
    /* gray output of an RGB folder: the luma */
    assert_int_equal(tg_imagefolder_load(root, 1, 0, 0, &s), TG_OK);
    assert_int_equal(s.c, 1);
    float r = (float)(30 % 256) / 255.0f, g = (float)(100 % 256) / 255.0f, b = (float)(170 % 256) / 255.0f;
    assert_float_equal(s.pixels[0], 0.299f * r + 0.587f * g + 0.114f * b, 1e-6);
    tg_image_set_free(&s);
    /* a size that differs: an error without a resize, fine with one */
    write_rgb_png(mkpath("f/cat/2.png"), 6, 5, 60);
    char want[2048];
    snprintf(want, sizeof want, "%s/cat/2.png: 6x5 image: expected 4x3 like %s/ant/z.PNG (or ask for a resize: h, w > 0)",
             root, root);
    expect_folder_error(root, 0, 0, TG_ERR_FORMAT, want);
    assert_int_equal(tg_imagefolder_load(root, 3, 8, 8, &s), TG_OK);
    assert_int_equal(s.n, 5);
    assert_int_equal(s.h, 8), assert_int_equal(s.w, 8);
    float *px;
    int ph, pw;
    assert_int_equal(tg_png_read(mkpath("f/cat/2.png"), 3, &px, &ph, &pw), TG_OK);
    float ref[8 * 8 * 3];
    tg_image_resize(px, ph, pw, 3, ref, 8, 8);
    assert_memory_equal(s.pixels + 4 * 8 * 8 * 3, ref, sizeof ref);
    free(px);
    tg_image_set_free(&s);
    /* a corrupt PNG: the error names the first bad file in order, whatever the threads */
    write_file(mkpath("f/cat/3.png"), "not a png", 9);
    write_file(mkpath("f/bee/b.png"), "not a png either", 16);
    snprintf(want, sizeof want, "%s/bee/b.png: not a PNG file: expected the signature 89 50 4E 47 0D 0A 1A 0A", root);
    expect_folder_error(root, 8, 8, TG_ERR_FORMAT, want);
    /* a class folder without images */
    mkd("f/dog");
    snprintf(want, sizeof want, "%s/dog: no .png files: expected at least one image per class folder", root);
    expect_folder_error(root, 8, 8, TG_ERR_FORMAT, want);
    /* a root without class folders, and a missing root */
    mkd("empty");
    snprintf(want, sizeof want, "%s: no class folders: expected %s/<class>/<image>.png", mkpath("empty"), mkpath("empty"));
    expect_folder_error(mkpath("empty"), 0, 0, TG_ERR_FORMAT, want);
    snprintf(want, sizeof want, "%s: cannot open folder: %s", mkpath("nothing"), strerror(ENOENT));
    expect_folder_error(mkpath("nothing"), 0, 0, TG_ERR_IO, want);
}

/* ---- the real datasets (make data) ---------------------------------------------------------------- */

static int have(const char *path) {
    if (access(path, R_OK) == 0) return 1;
    print_message("SKIPPED: %s not present (make data)\n", path);
    return 0;
}

static void test_real_mnist(void **state) {
    (void)state;
    const char *dirs[2] = {"data/mnist", "data/fashion_mnist"};
    static const int first[2][10] = {{5, 0, 4, 1, 9, 2, 1, 3, 1, 4}, {9, 0, 0, 3, 0, 2, 7, 2, 5, 5}};
    static const int first_test[2][10] = {{7, 2, 1, 0, 4, 1, 4, 9, 5, 9}, {9, 2, 1, 1, 6, 1, 4, 6, 5, 7}};
    int ran = 0;
    for (int d = 0; d < 2; d++) {
        char ip[256], lp[256];
        snprintf(ip, sizeof ip, "%s/train-images-idx3-ubyte.gz", dirs[d]);
        if (!have(ip)) continue;
        ran++;
        for (int split = 0; split < 2; split++) {
            const char *pre = split ? "t10k" : "train";
            snprintf(ip, sizeof ip, "%s/%s-images-idx3-ubyte.gz", dirs[d], pre);
            snprintf(lp, sizeof lp, "%s/%s-labels-idx1-ubyte.gz", dirs[d], pre);
            tg_image_set s;
            tg_status st = tg_idx_load(ip, lp, &s);
            if (st != TG_OK) print_error("%s\n", tg_last_error());
            assert_int_equal(st, TG_OK);
            assert_int_equal(s.n, split ? 10000 : 60000);
            assert_int_equal(s.h, 28), assert_int_equal(s.w, 28), assert_int_equal(s.c, 1);
            assert_int_equal(s.n_classes, 10);
            for (int i = 0; i < 10; i++) assert_int_equal(s.labels[i], split ? first_test[d][i] : first[d][i]);
            if (d == 0 && !split) { /* README label counts */
                static const int64_t counts[10] = {5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949};
                int64_t got[10] = {0};
                for (int64_t i = 0; i < s.n; i++) got[s.labels[i]]++;
                for (int k = 0; k < 10; k++) assert_int_equal(got[k], counts[k]);
                float mean, std;
                tg_image_stats(&s, &mean, &std);
                /* the well-known MNIST statistics 0.1307 / 0.3081 */
                assert_float_equal(mean, 0.1307, 1e-4);
                assert_float_equal(std, 0.3081, 1e-4);
            }
            tg_image_set_free(&s);
        }
    }
    if (!ran) skip();
}

static void test_real_cifar(void **state) {
    (void)state;
    const char *tr = "data/cifar10_subset/data_batch_1.first4000.bin.gz";
    const char *te = "data/cifar10_subset/test_batch.first1000.bin.gz";
    if (!have(tr) || !have(te) || !have("data/cifar10_png/test")) skip();
    tg_image_set a, b, pa, pb;
    assert_int_equal(tg_cifar_load(&tr, 1, &a), TG_OK);
    assert_int_equal(tg_cifar_load(&te, 1, &b), TG_OK);
    assert_int_equal(a.n, 4000);
    assert_int_equal(b.n, 1000);
    static const int first_train[10] = {6, 9, 9, 4, 1, 1, 2, 7, 8, 3}, first_test[10] = {3, 8, 8, 0, 6, 6, 1, 6, 3, 1};
    for (int i = 0; i < 10; i++) {
        assert_int_equal(a.labels[i], first_train[i]);
        assert_int_equal(b.labels[i], first_test[i]);
    }
    /* README: test image 0 starts (158,112,49), (159,111,47), (165,116,51) */
    static const int px0[9] = {158, 112, 49, 159, 111, 47, 165, 116, 51};
    for (int k = 0; k < 9; k++) assert_true(b.pixels[k] == (float)px0[k] / 255.0f);
    assert_int_equal(tg_image_read_class_names("data/cifar10_subset/class_names.txt", &a), TG_OK);
    assert_string_equal(a.class_names[6], "frog");
    /* the PNG folders hold the same images: class k's files, in name
     * (= record) order, are the records of label k in order */
    assert_int_equal(tg_imagefolder_load("data/cifar10_png/train", 3, 0, 0, &pa), TG_OK);
    assert_int_equal(tg_imagefolder_load("data/cifar10_png/test", 3, 0, 0, &pb), TG_OK);
    assert_int_equal(pa.n, 2000);
    assert_int_equal(pb.n, 1000);
    assert_int_equal(pa.n_classes, 10), assert_int_equal(pb.n_classes, 10);
    assert_int_equal(pa.h, 32), assert_int_equal(pa.w, 32), assert_int_equal(pa.c, 3);
    for (int k = 0; k < 10; k++) assert_string_equal(pa.class_names[k], a.class_names[k]);
    static const int64_t train_counts[10] = {202, 191, 203, 195, 214, 183, 207, 199, 203, 203};
    int64_t cnt[10] = {0};
    for (int64_t i = 0; i < pa.n; i++) cnt[pa.labels[i]]++;
    for (int k = 0; k < 10; k++) assert_int_equal(cnt[k], train_counts[k]);
    const tg_image_set *bin[2] = {&a, &b}, *png[2] = {&pa, &pb};
    for (int sp = 0; sp < 2; sp++) {
        int64_t j = 0; /* walks png[sp] */
        for (int k = 0; k < 10; k++)
            for (int64_t r = 0; r < png[sp]->n && r < (sp ? 1000 : 2000); r++)
                if (bin[sp]->labels[r] == k) {
                    assert_int_equal(png[sp]->labels[j], k);
                    assert_memory_equal(png[sp]->pixels + j * 3072, bin[sp]->pixels + r * 3072, sizeof(float) * 3072);
                    j++;
                }
        assert_int_equal(j, png[sp]->n);
    }
    tg_image_set_free(&a), tg_image_set_free(&b), tg_image_set_free(&pa), tg_image_set_free(&pb);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_file),     cmocka_unit_test(test_write_atomic),
        cmocka_unit_test(test_idx_valid),     cmocka_unit_test(test_idx_errors),
        cmocka_unit_test(test_idx_huge_header), cmocka_unit_test(test_subset_split),
        cmocka_unit_test(test_stats_normalize), cmocka_unit_test(test_gather),
        cmocka_unit_test(test_augment),       cmocka_unit_test(test_resize),
        cmocka_unit_test(test_cifar),         cmocka_unit_test(test_png_colour_types),
        cmocka_unit_test(test_png_errors),    cmocka_unit_test(test_imagefolder),
        cmocka_unit_test(test_real_mnist),    cmocka_unit_test(test_real_cifar),
    };
    return cmocka_run_group_tests(tests, tu_tmpdir_setup, tu_tmpdir_teardown);
}
