/* tests/helpers/testutil.h — shared by the cmocka tests (linked into each).
 *
 *   tg_tensor *x = tu_randn_grad(&rng, TG_SHAPE(3, 4));     // N(0,1), with grad
 *   TU_GRADCHECK("softmax", f, 1, (tg_tensor *[]){x}, NULL, NULL);
 *   TU_EXPECT_DEATH(tg_matmul(tp, a, b, 0, 0), "inner dimensions differ: a is [2, 3], b is [4, 5]");
 *   return cmocka_run_group_tests(tests, tu_tmpdir_setup, tu_tmpdir_teardown);
 */
#ifndef TG_TESTUTIL_H
#define TG_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tapegrad.h"

/* Free-standing tensors (caller frees) filled from rng. */
tg_tensor *tu_randn(tg_rng *rng, int ndim, const int *shape);
tg_tensor *tu_randn_grad(tg_rng *rng, int ndim, const int *shape);
tg_tensor *tu_uniform_grad(tg_rng *rng, float lo, float hi, int ndim, const int *shape);

/* Runs tg_gradcheck, prints its line, and fails the cmocka test unless it
 * passed.  opts may be NULL. */
void tu_gradcheck(const char *name, tg_gradcheck_fn f, int n, tg_tensor *const *x, void *user,
                  const tg_gradcheck_opts *opts);
#define TU_GRADCHECK(name, f, n, x, user, opts) tu_gradcheck((name), (f), (n), (x), (user), (opts))

/* Runs `stmt` in a child process; the test passes only if the child aborts
 * (does not return normally) and its stderr contains `expect`. */
typedef struct {
    int pid, fd;
} tu__child;
int tu__fork(tu__child *c);  /* 1 in the child (stderr redirected), 0 in the parent */
int tu__child_died_with(tu__child *c, const char *expect, char *got, size_t len);
#define TU_EXPECT_DEATH(stmt, expect)                                                  \
    do {                                                                               \
        tu__child tu_c_;                                                               \
        char tu_got_[2048];                                                            \
        if (tu__fork(&tu_c_)) {                                                        \
            stmt;                                                                      \
            _exit(0);                                                                  \
        }                                                                              \
        if (!tu__child_died_with(&tu_c_, (expect), tu_got_, sizeof tu_got_))           \
            fail_msg("expected death with \"%s\", child said: %s", (expect), tu_got_); \
    } while (0)

/* Appends every parameter of ps to in[n...] and returns the new count (the
 * inputs of a layer's gradient check: its input(s), then its parameters). */
int tu_with_params(tg_tensor **in, int n, const tg_params *ps);

/* Max |a − b| over n floats. */
double tu_max_abs_diff(const float *a, const float *b, int64_t n);

/* A scratch directory for the test program, /tmp/tg_test_XXXXXX (one at a time). */
int tu_tmpdir_setup(void **state);    /* cmocka group setup: mkdtemp; 0 or -1 */
int tu_tmpdir_teardown(void **state); /* cmocka group teardown: rm -rf it (nftw); 0 or -1 */
const char *tu_tmpdir(void);          /* its path */
const char *tu_tmp_path(const char *file);   /* "<tmpdir>/file", valid for 3 more calls */
char *tu_slurp(const char *path, size_t *n); /* whole file + NUL; length in *n if n; caller frees */
/* Width and height from a PNG file's IHDR chunk; fails the test if path is
 * not a PNG. */
void tu_png_size(const char *path, int *width, int *height);

#endif
