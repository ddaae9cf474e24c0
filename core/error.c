/* core/error.c — statuses, the thread-local last error, always-on checks. */
#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *tg_status_str(tg_status st) {
    switch (st) {
#define TG__STATUS_CASE(name, value, text) \
    case name:                             \
        return text;
        TG_STATUS_LIST(TG__STATUS_CASE)
#undef TG__STATUS_CASE
    }
    return "unknown status";
}

static _Thread_local char last_error[1024];

const char *tg_last_error(void) { return last_error; }

tg_status tg_set_error(tg_status st, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return st;
}

tg_status tg_set_error_at(tg_status st, const char *file, int64_t line, const char *fmt, ...) {
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return tg_set_error(st, "%s:%lld: %s", file, (long long)line, msg);
}

void tg__fail(const char *file, int line, const char *op, const char *fmt, ...) {
    va_list ap;
    fflush(stdout);
    fprintf(stderr, "%s:%d: %s: ", file, line, op);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
    abort();
}

static size_t round_up64(size_t n) { return (n + 63) & ~(size_t)63; }

void *tg__xmalloc(size_t bytes, const char *file, int line) {
    void *p = aligned_alloc(64, round_up64(bytes ? bytes : 1));
    if (!p) tg__fail(file, line, "tg_xmalloc", "out of memory allocating %zu bytes", bytes);
    return p;
}

void *tg__xcalloc(size_t bytes, const char *file, int line) {
    void *p = tg__xmalloc(bytes, file, line);
    memset(p, 0, bytes);
    return p;
}
