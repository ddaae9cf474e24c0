/* data/io.c — whole-file reading through zlib, atomic writing.  See io.h. */
#define _POSIX_C_SOURCE 200809L
#include "data/io.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* ---- reading ----------------------------------------------------------------- */

/* gzerror's message without the "path: " prefix zlib puts in front. */
static const char *gz_msg(gzFile gz, int *errnum) {
    const char *msg = gzerror(gz, errnum);
    const char *sep = strstr(msg, ": ");
    /* zlib builds "<path>: <text>"; its texts contain no ": " themselves */
    const char *last = sep;
    while (sep) { last = sep; sep = strstr(sep + 2, ": "); }
    return last ? last + 2 : msg;
}

tg_status tg_read_file(const char *path, size_t limit, void **data, size_t *len_out) {
    TG_CHECK(path && data && len_out, "tg_read_file", "path, data and len must not be NULL");
    int is_stdin = strcmp(path, "-") == 0;
    const char *name = is_stdin ? "<stdin>" : path;
    gzFile gz;
    errno = 0;
    if (is_stdin) {
        int fd = dup(STDIN_FILENO);
        gz = fd < 0 ? NULL : gzdopen(fd, "rb");
        if (!gz && fd >= 0) close(fd);
    } else {
        gz = gzopen(path, "rb");
    }
    if (!gz)
        return tg_set_error(TG_ERR_IO, "%s: cannot open: %s", name,
                            errno ? strerror(errno) : "out of memory");
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    tg_status st = TG_OK;
    if (!buf) {
        gzclose_r(gz);
        return tg_set_error(TG_ERR_NOMEM, "%s: out of memory reading the file", name);
    }
    for (;;) {
        if (cap - len < (1 << 16)) {
            char *nb = cap > SIZE_MAX / 2 ? NULL : realloc(buf, cap * 2);
            if (!nb) {
                st = tg_set_error(TG_ERR_NOMEM, "%s: out of memory after reading %zu bytes", name, len);
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t want = cap - len - 1; /* keep room for the NUL */
        if (want > INT_MAX) want = INT_MAX;
        if (limit && want > limit - len + 1) want = limit - len + 1; /* one byte past tells */
        errno = 0;
        int r = gzread(gz, buf + len, (unsigned)want);
        if (r < 0) {
            int errnum;
            const char *msg = gz_msg(gz, &errnum);
            st = tg_set_error(TG_ERR_IO, "%s: read failed: %s", name,
                              errnum == Z_ERRNO ? strerror(errno) : msg);
            break;
        }
        if (r == 0) {
            /* zlib reports a truncated gzip stream as Z_BUF_ERROR with a short
             * read, not as a failing gzread: check explicitly. */
            int errnum;
            const char *msg = gz_msg(gz, &errnum);
            if (errnum != Z_OK) st = tg_set_error(TG_ERR_IO, "%s: gzip: %s", name, msg);
            break;
        }
        len += (size_t)r;
        if (limit && len > limit) {
            st = tg_set_error(TG_ERR_FORMAT, "%s: more than %zu bytes (decompressed): expected at most %zu",
                              name, limit, limit);
            break;
        }
    }
    int cr = gzclose_r(gz);
    if (st == TG_OK && cr != Z_OK)
        st = tg_set_error(TG_ERR_IO, "%s: gzip: %s", name,
                          cr == Z_BUF_ERROR ? "unexpected end of file" : "close failed");
    if (st != TG_OK) {
        free(buf);
        return st;
    }
    buf[len] = '\0';
    *data = buf;
    *len_out = len;
    return TG_OK;
}

/* ---- atomic writing ---------------------------------------------------------- */

static void fsync_dir_of(const char *path) {
    const char *slash = strrchr(path, '/');
    size_t n = !slash ? 1 : slash == path ? 1 : (size_t)(slash - path);
    char *dir = tg_xmalloc(n + 1);
    if (!slash) memcpy(dir, ".", 2);
    else if (slash == path) memcpy(dir, "/", 2);
    else memcpy(dir, path, n), dir[n] = '\0';
    int fd = open(dir, O_RDONLY);
    if (fd >= 0) {
        (void)fsync(fd); /* best effort: some file systems refuse fsync on directories */
        close(fd);
    }
    free(dir);
}

tg_status tg_write_atomic(const char *path, tg_write_fn fn, void *ctx) {
    TG_CHECK(path && fn, "tg_write_atomic", "path and fn must not be NULL");
    size_t len = strlen(path) + 32;
    char *tmp = tg_xmalloc(len);
    snprintf(tmp, len, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        int e = errno;
        tg_status st = tg_set_error(TG_ERR_IO, "%s: cannot create temporary file '%s': %s", path,
                                    tmp, strerror(e));
        free(tmp);
        return st;
    }
    errno = 0;
    int e = 0;
    const char *what = NULL;
    if (fn(f, ctx) != 0) what = "write", e = errno ? errno : EIO;
    else if (fflush(f) != 0) what = "flush", e = errno;
    else if (fsync(fileno(f)) != 0) what = "fsync", e = errno;
    if (fclose(f) != 0 && !what) what = "close", e = errno;
    if (!what && rename(tmp, path) != 0) what = "rename", e = errno;
    if (what) {
        unlink(tmp);
        tg_status st = tg_set_error(TG_ERR_IO, "%s: %s failed: %s (file left unchanged)", path,
                                    what, e ? strerror(e) : "unknown error");
        free(tmp);
        return st;
    }
    free(tmp);
    fsync_dir_of(path);
    return TG_OK;
}

typedef struct {
    const void *data;
    size_t n;
} bytes_ctx;

static int write_bytes(FILE *f, void *ctx) {
    bytes_ctx *b = ctx;
    return fwrite(b->data, 1, b->n, f) == b->n ? 0 : -1;
}

tg_status tg_write_file_atomic(const char *path, const void *data, size_t n) {
    TG_CHECK(path && (data || n == 0), "tg_write_file_atomic", "path and data must not be NULL");
    bytes_ctx b = {data, n};
    return tg_write_atomic(path, write_bytes, &b);
}

tg_status tg_check_writable(const char *path) {
    TG_CHECK(path != NULL, "tg_check_writable", "path is NULL");
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
        return tg_set_error(TG_ERR_IO, "%s: is a directory: expected a file name", path);
    size_t len = strlen(path) + 32;
    char *tmp = tg_xmalloc(len);
    snprintf(tmp, len, "%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0 && errno == EEXIST) { /* a crashed run's leftover: the writer's fopen("wb") reuses it */
        free(tmp);
        return TG_OK;
    }
    if (fd < 0) {
        int e = errno;
        free(tmp);
        return tg_set_error(TG_ERR_IO, "%s: cannot write there: %s (checked before the run)", path,
                            strerror(e));
    }
    close(fd);
    unlink(tmp);
    free(tmp);
    return TG_OK;
}
