/* data/internal.h — helpers shared by the readers in data/ (private: not
 * installed for users; tg__ names). */
#ifndef TG_DATA_INTERNAL_H
#define TG_DATA_INTERNAL_H

#include <stddef.h>

#include "core/error.h"

/* Reads path (plain or gzip, zlib detects which; "-" = standard input) into
 * a malloc'd NUL-terminated buffer *out of *out_len bytes (the caller frees
 * it); messages name the file `name`.  Errors: TG_ERR_IO (cannot open, read
 * failed, corrupt or truncated gzip) / TG_ERR_NOMEM, message set, *out
 * untouched.  Defined in data/conllu.c. */
tg_status tg__read_all(const char *path, const char *name, char **out, size_t *out_len);

#endif
