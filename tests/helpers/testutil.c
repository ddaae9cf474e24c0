/* tests/helpers/testutil.c — see testutil.h. */
#define _XOPEN_SOURCE 700 /* nftw */
#include "tests/helpers/testutil.h"

#include <ftw.h>
#include <math.h>
#include <string.h>
#include <sys/wait.h>

tg_tensor *tu_randn(tg_rng *rng, int ndim, const int *shape) {
    tg_tensor *t = tg_tensor_new(ndim, shape);
    tg_tensor_normal(t, rng, 0.0f, 1.0f);
    return t;
}

tg_tensor *tu_randn_grad(tg_rng *rng, int ndim, const int *shape) {
    tg_tensor *t = tg_tensor_new_grad(ndim, shape);
    tg_tensor_normal(t, rng, 0.0f, 1.0f);
    return t;
}

tg_tensor *tu_uniform_grad(tg_rng *rng, float lo, float hi, int ndim, const int *shape) {
    tg_tensor *t = tg_tensor_new_grad(ndim, shape);
    tg_tensor_uniform(t, rng, lo, hi);
    return t;
}

void tu_gradcheck(const char *name, tg_gradcheck_fn f, int n, tg_tensor *const *x, void *user,
                  const tg_gradcheck_opts *opts) {
    tg_gradcheck_result r;
    int ok = tg_gradcheck(f, n, x, user, opts, &r);
    tg_gradcheck_print(stdout, name, &r);
    if (!ok) fail_msg("gradient check failed: %s", name);
}

int tu__fork(tu__child *c) {
    int fds[2];
    if (pipe(fds) != 0) fail_msg("pipe failed");
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) fail_msg("fork failed");
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], 2);
        close(fds[1]);
        return 1;
    }
    close(fds[1]);
    c->pid = (int)pid;
    c->fd = fds[0];
    return 0;
}

int tu__child_died_with(tu__child *c, const char *expect, char *got, size_t len) {
    size_t n = 0;
    ssize_t k;
    char sink[512];
    while ((k = read(c->fd, n + 1 < len ? got + n : sink,
                     n + 1 < len ? len - 1 - n : sizeof sink)) > 0)
        if (n + 1 < len) n += (size_t)k;
    got[n] = 0;
    close(c->fd);
    int status = 0;
    waitpid(c->pid, &status, 0);
    int died = !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    return died && strstr(got, expect) != NULL;
}

int tu_with_params(tg_tensor **in, int n, const tg_params *ps) {
    for (int i = 0; i < ps->n; i++) in[n + i] = ps->t[i];
    return n + ps->n;
}

double tu_max_abs_diff(const float *a, const float *b, int64_t n) {
    double m = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (!(d <= m)) m = d;
    }
    return m;
}

static char tmpdir[64];

int tu_tmpdir_setup(void **state) {
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/tg_test_XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

int tu_tmpdir_teardown(void **state) {
    (void)state;
    return nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -1;
}

const char *tu_tmpdir(void) { return tmpdir; }

const char *tu_tmp_path(const char *file) {
    static char buf[4][256];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, file);
    return buf[k];
}

char *tu_slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)len + 1);
    assert_int_equal(fread(b, 1, (size_t)len, f), (size_t)len);
    b[len] = '\0';
    fclose(f);
    if (n) *n = (size_t)len;
    return b;
}

void tu_png_size(const char *path, int *width, int *height) {
    size_t n;
    unsigned char *b = (unsigned char *)tu_slurp(path, &n);
    if (!b) fail_msg("%s was not written", path);
    if (!(n > 24 && !memcmp(b + 1, "PNG", 3) && !memcmp(b + 12, "IHDR", 4))) fail_msg("%s is not a PNG file", path);
    *width = (b[16] << 24) | (b[17] << 16) | (b[18] << 8) | b[19];
    *height = (b[20] << 24) | (b[21] << 16) | (b[22] << 8) | b[23];
    free(b);
}
