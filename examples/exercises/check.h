/* examples/exercises/check.h — compiling a learner's exercise file and
 * checking its backward against the library and finite differences. */
#ifndef EX_CHECK_H
#define EX_CHECK_H

#include <stdio.h>

#include "examples/exercises/ops.h"

/* Compiles the exercise file `path` with the C compiler ($CC, default cc)
 * into a shared object in a fresh temporary directory, against the headers
 * under `root` (the tapegrad source tree), with extra `cflags` (may be
 * NULL), and loads its `exercise_op`.  On success *handle (for dlclose) and
 * *op are set and *tmpdir names the directory to remove (ex_unload).
 * Errors (TG_ERR_IO / TG_ERR_FORMAT, message set): the file is missing, the
 * compiler fails (its output is printed to stderr), no exercise_op symbol,
 * or exercise_op names another op than `want`. */
tg_status ex_load(const char *path, const char *root, const char *cflags, const char *want,
                  void **handle, const tg_custom_op **op, char *tmpdir, size_t tmpdir_len);
void ex_unload(void *handle, const char *tmpdir);

/* Runs every case of op with the learner's `user` op, each in a child
 * process (a crash, or more than 30 s of CPU, is reported as a failure of that case),
 * and prints per case and input: pass/fail, worst relative errors against
 * the library's backward and against central finite differences, the first
 * wrong element with its index, expected vs got, and hints computed from the
 * structure of the error.  Returns the number of cases that passed. */
int ex_check(const ex_op *op, const tg_custom_op *user, FILE *f);

#endif
