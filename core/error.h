/* core/error.h — the two tiers of errors in tapegrad.
 *
 *  1. Programmer errors (shapes that do not fit, NULL arguments, backward
 *     without a loss) go through TG_CHECK: always on, prints
 *         file:line: tg_matmul: inner dimensions differ: a is [32, 64], b is [65, 10]
 *     and aborts.  There is nothing to recover: the call was wrong.
 *
 *  2. Errors from outside (files, user text, checkpoints, non-finite values)
 *     return a negative tg_status and leave a message, naming the file and
 *     line, in a thread-local buffer read with tg_last_error().
 *
 *     tg_status st = tg_conllu_read("train.conllu", &corpus);
 *     if (st != TG_OK) { fprintf(stderr, "%s\n", tg_last_error()); exit(1); }
 *
 * Out of memory follows the same split, by where the size comes from: a size
 * the program chose (tensors, parameters, tape, workspaces) is allocated with
 * tg_xmalloc / tg_xcalloc and failure aborts; a size read from a file (its
 * length, a count in its header) makes the reader return TG_ERR_NOMEM with
 * "path: cannot allocate ..." and its outputs untouched (docs/design.md).
 */
#ifndef TG_ERROR_H
#define TG_ERROR_H

#include <stddef.h>
#include <stdint.h>

/* X(name, value, text): the one list of statuses; the enum and
 * tg_status_str() are generated from it. */
#define TG_STATUS_LIST(X)                                                   \
    X(TG_OK, 0, "ok")                                                       \
    X(TG_ERR_IO, -1, "I/O error")                                           \
    X(TG_ERR_FORMAT, -2, "malformed input")                                 \
    X(TG_ERR_SHAPE, -3, "shape mismatch")                                   \
    X(TG_ERR_NOMEM, -4, "out of memory")                                    \
    X(TG_ERR_NONFINITE, -5, "non-finite value")                             \
    X(TG_ERR_ARG, -6, "invalid argument")                                   \
    X(TG_ERR_NOT_FOUND, -7, "not found")

typedef enum {
#define TG__STATUS_ENUM(name, value, text) name = value,
    TG_STATUS_LIST(TG__STATUS_ENUM)
#undef TG__STATUS_ENUM
} tg_status;

/* The fixed text of a status ("malformed input"); never NULL. */
const char *tg_status_str(tg_status st);

/* The message of the last error set on this thread, e.g.
 * "data/x.conllu:12: expected 10 tab-separated columns, found 9".
 * Valid until the next tg_set_error on this thread; "" when none. */
const char *tg_last_error(void);

/* Sets the thread's last-error message (printf format) and returns st, so a
 * reader can write `return tg_set_error(TG_ERR_FORMAT, "%s:%d: ...", ...)`. */
tg_status tg_set_error(tg_status st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Sets the last-error message to "file:line: message" (message: printf
 * format) and returns st, e.g.
 * `return tg_set_error_at(TG_ERR_FORMAT, name, ln, "found %d columns", n)`. */
tg_status tg_set_error_at(tg_status st, const char *file, int64_t line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Programmer-error check: always on.  `op` names the public function
 * (e.g. "tg_matmul"), the rest is a printf message describing what was
 * expected and what was given.  Prints "file:line: op: message" and aborts. */
#define TG_CHECK(cond, op, ...)                                             \
    do {                                                                    \
        if (!(cond)) tg__fail(__FILE__, __LINE__, (op), __VA_ARGS__);       \
    } while (0)

_Noreturn void tg__fail(const char *file, int line, const char *op,
                        const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Checked allocation: aborts with the byte count and call site on failure
 * (llm.c's mallocCheck).  Memory is 64-byte aligned; release with free(). */
#define tg_xmalloc(bytes) tg__xmalloc((bytes), __FILE__, __LINE__)
#define tg_xcalloc(bytes) tg__xcalloc((bytes), __FILE__, __LINE__)
void *tg__xmalloc(size_t bytes, const char *file, int line);
void *tg__xcalloc(size_t bytes, const char *file, int line);

#endif
