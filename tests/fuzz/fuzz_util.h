/* tests/fuzz/fuzz_util.h — what the libFuzzer targets of tests/fuzz share:
 * a private temporary folder, writing the input as a file there, and the
 * checks every reader's result must pass.  A check that fails calls
 * abort(), which libFuzzer (and tests/test_fuzz_regress.c, the replay of
 * the kept inputs in `make test`) reports as a crash. */
#ifndef TG_FUZZ_UTIL_H
#define TG_FUZZ_UTIL_H
#ifndef _XOPEN_SOURCE
#define _XOPEN_SOURCE 700 /* nftw, mkdtemp */
#endif
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "core/error.h"

static char fz_dir_path[64];

static int fz_rm(const char *p, const struct stat *sb, int type, struct FTW *ftw) {
    (void)sb, (void)type, (void)ftw;
    return remove(p);
}

static void fz_dir_remove(void) { nftw(fz_dir_path, fz_rm, 16, FTW_DEPTH | FTW_PHYS); }

/* The folder (made once per process, e.g. /dev/shm/tg_fuzz_ab12cd — in
 * memory, as every input is written as a file — or under /tmp; removed at
 * exit). */
static const char *fz_dir(void) {
    if (!fz_dir_path[0]) {
        snprintf(fz_dir_path, sizeof fz_dir_path, "/dev/shm/tg_fuzz_XXXXXX");
        if (!mkdtemp(fz_dir_path)) {
            snprintf(fz_dir_path, sizeof fz_dir_path, "/tmp/tg_fuzz_XXXXXX");
            if (!mkdtemp(fz_dir_path)) abort();
        }
        atexit(fz_dir_remove);
    }
    return fz_dir_path;
}

/* "<dir>/name" (valid for 8 more calls). */
static const char *fz_path(const char *name) {
    static char path[8][256];
    static int k;
    char *p = path[k++ & 7];
    snprintf(p, sizeof path[0], "%s/%s", fz_dir(), name);
    return p;
}

/* Writes data[0..n) to <dir>/name (gzip-compressed when gz) and returns the path. */
static const char *fz_put(const char *name, const uint8_t *data, size_t n, int gz) {
    const char *p = fz_path(name);
    if (gz) {
        gzFile g = gzopen(p, "wb1");
        if (!g) abort();
        if (n && gzwrite(g, data, (unsigned)n) != (int)n) abort();
        if (gzclose(g) != Z_OK) abort();
        return p;
    }
    FILE *f = fopen(p, "wb");
    if (!f) abort();
    if (n && fwrite(data, 1, n, f) != n) abort();
    if (fclose(f) != 0) abort();
    return p;
}

/* A NUL-terminated copy of data[0..n) (the caller frees). */
static char *fz_strdup(const uint8_t *data, size_t n) {
    char *s = malloc(n + 1);
    if (!s) abort();
    memcpy(s, data, n);
    s[n] = '\0';
    return s;
}

/* An error must be negative and its message must start with `name`. */
static void fz_check_error(tg_status st, const char *name) {
    if (getenv("FZ_VERBOSE")) fprintf(stderr, "  -> %d %s\n", st, st == TG_OK ? "ok" : tg_last_error());
    if (st == TG_OK) return;
    if (st > 0) abort();
    if (strncmp(tg_last_error(), name, strlen(name)) != 0) {
        fprintf(stderr, "error message does not start with '%s': %s\n", name, tg_last_error());
        abort();
    }
}

#define FZ_ASSERT(cond)                                                                   \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                      \
        }                                                                                 \
    } while (0)

#endif
