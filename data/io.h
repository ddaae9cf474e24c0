/* data/io.h — the one place for whole-file input and atomic file output.
 *
 *   void *buf;  size_t len;
 *   if (tg_read_file("data/mnist/t10k-labels-idx1-ubyte.gz", 1 << 30, &buf, &len) != TG_OK)
 *       die("%s", tg_last_error());      // "path: what went wrong"
 *   ... parse buf[0..len) ...            // buf[len] == '\0'
 *   free(buf);
 *
 *   if (tg_write_file_atomic("run/metrics.json", text, strlen(text)) != TG_OK) ...
 *
 * Every reader in data/ gets its bytes through tg_read_file, so gzip
 * support, size limits and the wording of I/O errors are the same for all
 * formats; every file tapegrad writes (checkpoints, metrics, PNGs) goes
 * through tg_write_atomic.  This is the only file besides data/png.c that
 * includes zlib.  train/ depends on this header (see docs/design.md).
 */
#ifndef TG_DATA_IO_H
#define TG_DATA_IO_H

#include <stddef.h>
#include <stdio.h>

#include "core/error.h"

/* Reads the whole file at path into memory.  The file may be plain or
 * gzip-compressed: zlib's gzread looks at the first two bytes and inflates
 * only when they are the gzip magic 1f 8b (RFC 1952), so a plain file
 * whose name ends in ".gz" and a gzip file without the suffix both work.
 * Concatenated gzip members are read one after another.  path "-" reads
 * standard input (messages then say "<stdin>").
 *
 * limit: the most decompressed bytes accepted (0 = no limit).  The buffer
 * grows with the data actually read (at most twice its size), so a header
 * that claims a huge size cannot make a caller allocate before the bytes
 * exist; the limit stops a decompression bomb.
 *
 * On success: *data = a malloc'ed buffer of *len bytes plus a NUL at
 * data[len] (the caller frees it), TG_OK.  On error *data and *len are
 * untouched, nothing is leaked, and tg_last_error() says:
 *   TG_ERR_IO      "path: cannot open: <strerror>", "path: read failed: <strerror or
 *                  zlib message>" (also a corrupt gzip stream: "incorrect data check"),
 *                  "path: gzip: unexpected end of file" (truncated stream)
 *   TG_ERR_FORMAT  "path: more than <limit> bytes (decompressed): expected at most <limit>"
 *   TG_ERR_NOMEM   "path: out of memory after reading <n> bytes" */
tg_status tg_read_file(const char *path, size_t limit, void **data, size_t *len);

/* Writes the body of a file into f.  Returns 0 on success; otherwise
 * non-zero with errno set to the cause (EIO when there is no system error). */
typedef int (*tg_write_fn)(FILE *f, void *ctx);

/* Creates path atomically: fn writes "<path>.tmp.<pid>", which is flushed,
 * fsync'ed, renamed over path, and the directory fsync'ed (best effort).
 * Readers of path see the old file or the whole new one, never a part.
 * Errors: TG_ERR_IO "path: cannot create temporary file '<tmp>': <strerror>" or
 * "path: <write|flush|fsync|close|rename> failed: <strerror> (file left unchanged)";
 * the temporary file is removed and an existing file at path is untouched. */
tg_status tg_write_atomic(const char *path, tg_write_fn fn, void *ctx);

/* tg_write_atomic of the n bytes at data.  Errors: as tg_write_atomic. */
tg_status tg_write_file_atomic(const char *path, const void *data, size_t n);

/* Before a long run: can tg_write_atomic create path later?  Creates and
 * removes the same temporary file "<path>.tmp.<pid>" in path's directory;
 * touches nothing else (an existing file at path is left as it is, and so
 * is a temporary file of that name left by a crashed run, which the writer
 * would simply overwrite).  The folder must exist: nothing here creates it.  Call it
 * for every output option at the start, so that a typo in --save fails in
 * a second, not after the training.  Errors: TG_ERR_IO "path: is a
 * directory: expected a file name" or "path: cannot write there: <strerror>
 * (checked before the run)". */
tg_status tg_check_writable(const char *path);

#endif
