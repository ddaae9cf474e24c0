/* examples/exercises/check.c — see check.h.
 *
 * One case runs three gradients of L = Σ_i r_i·y_i (r fixed random weights,
 * as tg_gradcheck: a plain sum hides errors): the learner's backward (through
 * tg_custom), the library's backward (the reference), and central finite
 * differences of the library's forward.  A wrong gradient is then explained
 * by testing the error against structures a typical mistake leaves, each
 * computed from the case, never looked up:
 *   - nonzero where the gradient must be 0 (masked keys, ignored rows,
 *     embedding rows nobody looked up)           -> forgotten mask
 *   - prefilled grad overwritten, not added to   -> `=` instead of `+=`
 *   - got = 0                                    -> the input never written
 *   - got = one row's share of a broadcast input -> sum over the broadcast dims
 *   - got = k·expected                           -> a constant factor (named when the
 *                                                   case knows it: 1/√D, count/N)
 *   - got = expectedᵀ (element [i,j] at [j,i])   -> transposed product / layout
 *   - got = the gradient with another operand transposed -> transposed product
 *   - got = the gradient without the mask        -> forgotten mask
 *   - error = Σ c_k·term_k of the op's gradient (least squares) -> the term
 *     that is missing (c = −1), has the wrong sign (c = −2) or a wrong factor
 *   - error constant along the last dim          -> a per-row Σ term
 */
#define _POSIX_C_SOURCE 200809L
#include "examples/exercises/check.h"

#include <dlfcn.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define TOL_LIB 1e-3  /* learner vs library backward (both float, different orders) */
#define TOL_FD 2e-2   /* vs central differences, h = 1e-2 */
#define FD_H 1e-2
#define FD_FLOOR 3e-3
#define CPU_LIMIT 30 /* seconds of CPU per case */
#define CLOSE 2e-3    /* "got equals candidate" in the diagnostics, relative to max |candidate| */

/* ---- compiling and loading ------------------------------------------------ */

tg_status ex_load(const char *path, const char *root, const char *cflags, const char *want,
                  void **handle, const tg_custom_op **op, char *tmpdir, size_t tmpdir_len) {
    struct stat st;
    if (stat(path, &st) != 0)
        return tg_set_error(TG_ERR_IO, "%s: no such exercise file (run `exercise init` first?)",
                            path);
    if (strchr(path, '\'') || strchr(root, '\''))
        return tg_set_error(TG_ERR_ARG, "%s: paths with a quote character are not supported",
                            path);
    snprintf(tmpdir, tmpdir_len, "/tmp/tg_exercise_XXXXXX");
    if (!mkdtemp(tmpdir)) return tg_set_error(TG_ERR_IO, "cannot create a temporary directory");
    const char *cc = getenv("CC");
    char cmd[4096], so[600];
    snprintf(so, sizeof so, "%s/exercise.so", tmpdir);
    snprintf(cmd, sizeof cmd,
             "%s -std=c11 -O0 -g -Wall -fPIC -shared -I'%s' -I'%s/examples/exercises' %s '%s' "
             "-o '%s' -lm",
             cc && *cc ? cc : "cc", root, root, cflags ? cflags : "", path, so);
    int rc = system(cmd);
    if (rc != 0)
        return tg_set_error(TG_ERR_IO, "%s: the compiler failed (exit %d) running: %s", path,
                            WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, cmd);
    *handle = dlopen(so, RTLD_NOW | RTLD_LOCAL);
    if (!*handle) return tg_set_error(TG_ERR_IO, "%s: cannot load: %s", path, dlerror());
    *op = dlsym(*handle, "exercise_op");
    if (!*op)
        return tg_set_error(TG_ERR_FORMAT,
                            "%s: defines no `const tg_custom_op exercise_op` (see the skeleton)",
                            path);
    if (!(*op)->forward || !(*op)->backward || !(*op)->name || strcmp((*op)->name, want))
        return tg_set_error(TG_ERR_FORMAT,
                            "%s: exercise_op must be {\"%s\", forward, backward}, got name \"%s\"",
                            path, want, (*op)->name ? (*op)->name : "(null)");
    return TG_OK;
}

void ex_unload(void *handle, const char *tmpdir) {
    if (handle) dlclose(handle);
    if (tmpdir && *tmpdir) {
        char so[600];
        snprintf(so, sizeof so, "%s/exercise.so", tmpdir);
        unlink(so);
        rmdir(tmpdir);
    }
}

/* ---- gradients of one case -------------------------------------------------- */

typedef struct {
    const ex_op *op;
    const tg_custom_op *user; /* NULL: the library's reference */
} runner;

static tg_tensor *forward(const runner *ru, tg_tape *tp, ex_case *c, tg_tensor *const *in) {
    if (ru->user)
        return tg_custom(tp, ru->user, c->n_in, in, c->out_ndim, c->out_shape, c->ctx,
                         c->ctx_bytes);
    return ru->op->ref(tp, in, c);
}

static int64_t out_size(const ex_case *c) { return tg_shape_numel(c->out_ndim, c->out_shape); }

/* The pattern a grad buffer is prefilled with to see whether a backward
 * adds (+=) or assigns (=). */
static float prefill(int64_t j) { return 0.3f * sinf((float)j + 1.0f); }

/* g[i] (size of input i, or NULL when it needs no grad) = d(Σ r·y)/d in[i],
 * with in[] possibly substituted; with_prefill: grads start from prefill()
 * and g holds what the backward left there.  y_out: the forward's values
 * (n floats) or NULL. */
static void grads(const runner *ru, ex_case *c, tg_tensor *const *in, const float *r,
                  int with_prefill, float **g, float *y_out) {
    for (int i = 0; i < c->n_in; i++)
        if (in[i]->grad)
            for (int64_t j = 0; j < in[i]->size; j++)
                in[i]->grad[j] = with_prefill ? prefill(j) : 0.0f;
    tg_tape *tp = tg_tape_new(0);
    tg_tensor *y = forward(ru, tp, c, in);
    if (y_out) memcpy(y_out, y->data, (size_t)y->size * sizeof(float));
    tg_status s = tg_backward_seeded(tp, y, r);
    (void)s; /* a non-finite gradient shows in the comparison */
    for (int i = 0; i < c->n_in; i++)
        if (g[i]) memcpy(g[i], in[i]->grad, (size_t)in[i]->size * sizeof(float));
    tg_tape_free(tp);
}

static double loss_at(const runner *ru, ex_case *c, const float *r) {
    tg_tape *tp = tg_tape_new(0);
    tg_tape_set_grad(tp, 0);
    tg_tensor *y = forward(ru, tp, c, c->in);
    double L = 0.0;
    for (int64_t j = 0; j < y->size; j++) L += (double)r[j] * y->data[j];
    tg_tape_free(tp);
    return L;
}

/* Central differences of the reference's L for every element of input i. */
static void finite_diff(const runner *ref, ex_case *c, const float *r, int i, float *fd) {
    tg_tensor *x = c->in[i];
    for (int64_t j = 0; j < x->size; j++) {
        float x0 = x->data[j], xp = (float)(x0 + FD_H), xm = (float)(x0 - FD_H);
        x->data[j] = xp;
        double Lp = loss_at(ref, c, r);
        x->data[j] = xm;
        double Lm = loss_at(ref, c, r);
        x->data[j] = x0;
        fd[j] = (float)((Lp - Lm) / ((double)xp - xm));
    }
}

/* ---- comparing -------------------------------------------------------------- */

static double amax(const float *a, int64_t n) {
    double m = 0.0;
    for (int64_t j = 0; j < n; j++) m = fmax(m, fabs(a[j]));
    return m;
}

typedef struct {
    double worst;
    int64_t worst_at, first_wrong; /* -1: none */
} cmp;

static double rel_err(double a, double e, double floor) {
    return fabs(a - e) / fmax(fmax(fabs(a), fabs(e)), floor);
}

/* floor: gradients below it are compared absolutely (finite differences in
 * float carry an absolute noise of ~1e-5 whatever the gradient's size). */
static cmp compare(const float *got, const float *want, int64_t n, double tol, double floor) {
    floor = fmax(floor, 1e-2 * fmax(amax(want, n), 1e-3));
    cmp c = {0.0, -1, -1};
    for (int64_t j = 0; j < n; j++) {
        double e = isfinite(got[j]) ? rel_err(got[j], want[j], floor) : INFINITY;
        if (e > c.worst || c.worst_at < 0) c.worst = e, c.worst_at = j;
        if (e > tol && c.first_wrong < 0) c.first_wrong = j;
    }
    return c;
}

/* a ≈ b: max |a − b| <= CLOSE · max(max |b|, tiny). */
static int close_to(const float *a, const float *b, int64_t n) {
    double m = fmax(amax(b, n), 1e-6), d = 0.0;
    for (int64_t j = 0; j < n; j++) d = fmax(d, fabs((double)a[j] - b[j]));
    return d <= CLOSE * m;
}

/* "[1, 0, 3]" for flat index j of t. */
static char *index_str(const tg_tensor *t, int64_t j, char *buf, size_t len) {
    int idx[TG_MAX_DIMS];
    for (int d = t->ndim - 1; d >= 0; d--) idx[d] = (int)(j % t->shape[d]), j /= t->shape[d];
    size_t o = (size_t)snprintf(buf, len, "[");
    for (int d = 0; d < t->ndim && o < len; d++)
        o += (size_t)snprintf(buf + o, len - o, d ? ", %d" : "%d", idx[d]);
    if (o < len) snprintf(buf + o, len - o, "]");
    return buf;
}

/* ---- diagnostics ------------------------------------------------------------ */

typedef struct {
    const ex_op *op;
    ex_case *c;
    int i;                 /* the input being diagnosed */
    const float *r;        /* output gradient seed */
    const float *got, *got_pre, *want;
    FILE *f;
    int n_hints;
} diag;

static void hint(diag *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void hint(diag *d, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(d->f, "      hint: ");
    vfprintf(d->f, fmt, ap);
    fputc('\n', d->f);
    va_end(ap);
    d->n_hints++;
}

static float *fbuf(int64_t n) { return calloc((size_t)n, sizeof(float)); }

/* The reference gradient of input d->i with in[] substituted and seed r. */
static void ref_grad_with(diag *d, tg_tensor *const *in, const float *r, float *out) {
    runner ref = {d->op, NULL};
    float *g[EX_MAX_IN] = {0};
    g[d->i] = out;
    grads(&ref, d->c, in, r, 0, g, NULL);
}

static int check_zero_map(diag *d) {
    if (!d->op->zero) return 0;
    const tg_tensor *x = d->c->in[d->i];
    uint8_t *z = calloc((size_t)x->size, 1);
    const char *what = d->op->zero(d->c, d->i, z);
    int64_t bad = -1, n_bad = 0, n_z = 0;
    for (int64_t j = 0; what && j < x->size; j++) {
        n_z += z[j];
        if (z[j] && fabs(d->got[j]) > 1e-6) {
            n_bad++;
            if (bad < 0) bad = j;
        }
    }
    if (bad >= 0) {
        char s[TG_SHAPE_STR_LEN];
        hint(d,
             "the gradient must be 0 at the %s, but %lld of those %lld elements are not "
             "(first: %s%s = %.4g): %s",
             what, (long long)n_bad, (long long)n_z, d->c->in_name[d->i],
             index_str(x, bad, s, sizeof s), d->got[bad], d->op->zero_advice);
    }
    free(z);
    return bad >= 0;
}

static int check_accumulate(diag *d) {
    int64_t n = d->c->in[d->i]->size;
    float *added = fbuf(n);
    for (int64_t j = 0; j < n; j++) added[j] = d->got_pre[j] - prefill(j);
    int ok = close_to(added, d->got, n);
    free(added);
    if (!ok)
        hint(d,
             "the backward assigns (=) instead of adding (+=) into in[%d]->grad: when the "
             "grad already holds something (an input used twice, a gradient arriving from two "
             "places, a repeated index) that contribution is lost (docs/custom_ops.md: add, "
             "never assign)",
             d->i);
    return !ok;
}

static int check_nothing(diag *d) {
    int64_t n = d->c->in[d->i]->size;
    if (amax(d->got, n) > 1e-7 * fmax(amax(d->want, n), 1e-30)) return 0;
    hint(d, "no gradient reached %s: the backward never writes in[%d]->grad", d->c->in_name[d->i],
         d->i);
    return 1;
}

/* A broadcast input: got is only one row's share, or the mean over rows. */
static int check_broadcast(diag *d) {
    if (!d->c->bcast[d->i]) return 0;
    int64_t n = d->c->in[d->i]->size, R = out_size(d->c) / n;
    if (R < 2) return 0;
    float *seed = fbuf(out_size(d->c)), *share = fbuf(n);
    int found = 0;
    for (int pass = 0; pass < 2 && !found; pass++) {
        int64_t row = pass ? R - 1 : 0;
        memset(seed, 0, (size_t)out_size(d->c) * sizeof *seed);
        memcpy(seed + row * n, d->r + row * n, (size_t)n * sizeof *seed);
        ref_grad_with(d, d->c->in, seed, share);
        if (close_to(d->got, share, n)) {
            hint(d,
                 "%s got only the contribution of output row %lld of %lld: it is broadcast "
                 "over those rows, so its gradient is the SUM over them — sum over the "
                 "broadcast dims",
                 d->c->in_name[d->i], (long long)row, (long long)R);
            found = 1;
        }
    }
    if (!found) {
        for (int64_t j = 0; j < n; j++) share[j] = d->want[j] / (float)R;
        if (close_to(d->got, share, n)) {
            hint(d,
                 "%s got the MEAN over the %lld output rows it is broadcast over; its gradient "
                 "is their sum — sum over the broadcast dims",
                 d->c->in_name[d->i], (long long)R);
            found = 1;
        }
    }
    free(seed);
    free(share);
    return found;
}

static int check_scale(diag *d) {
    int64_t n = d->c->in[d->i]->size;
    double ge = 0.0, ee = 0.0;
    for (int64_t j = 0; j < n; j++) ge += (double)d->got[j] * d->want[j], ee += (double)d->want[j] * d->want[j];
    if (ee == 0.0) return 0;
    double k = ge / ee;
    float *kw = fbuf(n);
    for (int64_t j = 0; j < n; j++) kw[j] = (float)(k * d->want[j]);
    int is = close_to(d->got, kw, n) && fabs(k - 1.0) > 1e-3;
    free(kw);
    if (!is) return 0;
    const char *why = NULL;
    for (int m = 0; m < d->c->n_factors; m++)
        if (fabs(k - d->c->factor[m]) <= 1e-3 * fabs(d->c->factor[m])) why = d->c->factor_name[m];
    if (!why && fabs(k + 1.0) < 1e-3) why = "−1: the sign is flipped";
    else if (!why && fabs(k - 2.0) < 1e-3) why = "2: a contribution counted twice";
    hint(d, "got = %.4g × expected in every element: a constant factor is missing or extra%s%s",
         k, why ? " — " : "", why ? why : "");
    return 1;
}

/* Element [.., a, b] of want stored at [.., b, a] of got (the layout of the
 * transposed [b, a] tensor). */
static int check_layout_transposed(diag *d) {
    const tg_tensor *x = d->c->in[d->i];
    if (x->ndim < 2) return 0;
    int a = x->shape[x->ndim - 2], b = x->shape[x->ndim - 1];
    if (a < 2 || b < 2) return 0;
    int64_t n = x->size, mat = (int64_t)a * b;
    float *t = fbuf(n);
    for (int64_t o = 0; o < n; o += mat)
        for (int p = 0; p < a; p++)
            for (int q = 0; q < b; q++) t[o + (int64_t)q * a + p] = d->want[o + (int64_t)p * b + q];
    int is = close_to(d->got, t, n) && !close_to(d->want, t, n);
    free(t);
    if (is)
        hint(d,
             "got holds the transpose of d%s: element [i, j] was written at the place of [j, i] "
             "(a [%d, %d] result laid out as [%d, %d]) — a transposed product, e.g. xᵀ·dy where "
             "dyᵀ·x is needed, or the two indices swapped",
             d->c->in_name[d->i], a, b, b, a);
    return is;
}

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* got holds exactly the values of want, in other places: with random inputs
 * and a random output gradient the values are distinct, so equal sorted
 * lists mean an index shuffle (a layout or flattening-order mistake). */
static int check_permuted(diag *d) {
    int64_t n = d->c->in[d->i]->size;
    if (n < 2 || close_to(d->got, d->want, n)) return 0;
    float *g = fbuf(n), *w = fbuf(n);
    memcpy(g, d->got, (size_t)n * sizeof *g);
    memcpy(w, d->want, (size_t)n * sizeof *w);
    qsort(g, (size_t)n, sizeof *g, cmp_float);
    qsort(w, (size_t)n, sizeof *w, cmp_float);
    int is = close_to(g, w, n);
    free(g);
    free(w);
    if (is)
        hint(d,
             "got holds the right values in the wrong places (a permutation of d%s): the "
             "backward reads dout, or writes d%s, in another index order than the forward "
             "used — e.g. a flattening order such as (c, dy, dx) for (dy, dx, c), or the rows "
             "and columns of a grid swapped; reverse exactly the forward's indexing",
             d->c->in_name[d->i], d->c->in_name[d->i]);
    return is;
}

/* got equals the reference gradient computed with another operand P
 * replaced by P read as [b, a] and transposed (P [a, b] indexed P[j·a + i]
 * instead of P[i·b + j]: for square P, Pᵀ). */
static int check_operand_transposed(diag *d) {
    int found = 0;
    for (int p = 0; p < d->c->n_in && !found; p++) {
        const tg_tensor *P = d->c->in[p];
        if (p == d->i || P->ndim < 2) continue;
        int a = P->shape[P->ndim - 2], b = P->shape[P->ndim - 1];
        if (a < 2 || b < 2) continue;
        tg_tensor *Pt = tg_tensor_new_grad(P->ndim, P->shape);
        int64_t mat = (int64_t)a * b;
        for (int64_t o = 0; o < P->size; o += mat)
            for (int i = 0; i < a; i++)
                for (int j = 0; j < b; j++)
                    Pt->data[o + (int64_t)i * b + j] = P->data[o + (int64_t)j * a + i];
        tg_tensor *in[EX_MAX_IN];
        for (int q = 0; q < d->c->n_in; q++) in[q] = q == p ? Pt : d->c->in[q];
        if (!(P->flags & TG_REQUIRES_GRAD)) Pt->flags &= ~TG_REQUIRES_GRAD;
        int64_t n = d->c->in[d->i]->size;
        float *alt = fbuf(n);
        ref_grad_with(d, in, d->r, alt);
        if (close_to(d->got, alt, n) && !close_to(d->want, alt, n)) {
            const char *nm = d->c->in_name[p];
            hint(d,
                 "d%s equals the gradient computed with %sᵀ in place of %s: a transposed "
                 "product (multiply by %s itself, or index %s [%d, %d] as %s[i·%d + j], not "
                 "%s[j·%d + i])",
                 d->c->in_name[d->i], nm, nm, nm, nm, a, b, nm, b, nm, a);
            found = 1;
        }
        free(alt);
        tg_tensor_free(Pt);
    }
    return found;
}

static int check_dropped_mask(diag *d) {
    if (!d->c->has_mask) return 0;
    int64_t n = d->c->in[d->i]->size;
    float *alt = fbuf(n);
    d->c->drop_mask = 1;
    ref_grad_with(d, d->c->in, d->r, alt);
    d->c->drop_mask = 0;
    int is = close_to(d->got, alt, n) && !close_to(d->want, alt, n);
    free(alt);
    if (is)
        hint(d, "d%s equals the gradient of the UNMASKED op: forgotten mask — the backward "
                "must apply the same mask as the forward", d->c->in_name[d->i]);
    return is;
}

/* Solves the k×k system G c = h (k <= EX_MAX_TERMS) by Gaussian elimination
 * with partial pivoting; terms with a zero column get c = 0. */
static void solve(int k, double G[EX_MAX_TERMS][EX_MAX_TERMS], double *h, double *c) {
    int piv[EX_MAX_TERMS];
    for (int i = 0; i < k; i++) piv[i] = i, c[i] = 0.0;
    for (int col = 0; col < k; col++) {
        int best = col;
        for (int r = col + 1; r < k; r++)
            if (fabs(G[r][col]) > fabs(G[best][col])) best = r;
        if (fabs(G[best][col]) < 1e-30) continue;
        for (int j = 0; j < k; j++) {
            double t = G[col][j];
            G[col][j] = G[best][j];
            G[best][j] = t;
        }
        double t = h[col];
        h[col] = h[best];
        h[best] = t;
        for (int r = 0; r < k; r++) {
            if (r == col) continue;
            double f = G[r][col] / G[col][col];
            for (int j = 0; j < k; j++) G[r][j] -= f * G[col][j];
            h[r] -= f * h[col];
        }
    }
    for (int i = 0; i < k; i++) c[i] = fabs(G[i][i]) < 1e-30 ? 0.0 : h[i] / G[i][i];
    (void)piv;
}

static int check_terms(diag *d) {
    if (!d->op->terms) return 0;
    ex_terms t = {0};
    d->op->terms(d->c, d->r, d->i, &t);
    if (t.n == 0) return 0;
    int64_t n = d->c->in[d->i]->size;
    float *sum = fbuf(n), *D = fbuf(n);
    for (int k = 0; k < t.n; k++)
        for (int64_t j = 0; j < n; j++) sum[j] += t.t[k][j];
    for (int64_t j = 0; j < n; j++) D[j] = d->got[j] - d->want[j];
    int found = 0;
    if (!close_to(sum, d->want, n)) {
        fprintf(d->f, "      (the terms of the diagnosis do not add up to the library's "
                      "gradient; skipping them)\n");
    } else {
        double G[EX_MAX_TERMS][EX_MAX_TERMS] = {{0}}, h[EX_MAX_TERMS] = {0}, c[EX_MAX_TERMS];
        for (int a = 0; a < t.n; a++) {
            for (int64_t j = 0; j < n; j++) h[a] += (double)t.t[a][j] * D[j];
            for (int b = 0; b < t.n; b++)
                for (int64_t j = 0; j < n; j++) G[a][b] += (double)t.t[a][j] * t.t[b][j];
        }
        solve(t.n, G, h, c);
        double res = 0.0, dn = 0.0;
        for (int64_t j = 0; j < n; j++) {
            double fit = 0.0;
            for (int k = 0; k < t.n; k++) fit += c[k] * t.t[k][j];
            res += (D[j] - fit) * (D[j] - fit);
            dn += (double)D[j] * D[j];
        }
        if (dn > 0.0 && res <= 0.05 * 0.05 * dn) {
            for (int k = 0; k < t.n; k++) {
                if (fabs(c[k]) < 0.05) continue;
                if (fabs(c[k] + 1.0) < 0.05) hint(d, "the term %s is missing", t.what[k]);
                else if (fabs(c[k] + 2.0) < 0.05) hint(d, "the term %s has the wrong sign", t.what[k]);
                else if (fabs(c[k] - 1.0) < 0.05) hint(d, "the term %s is counted twice", t.what[k]);
                else hint(d, "the term %s enters %.3g times instead of once", t.what[k], 1.0 + c[k]);
                found = 1;
            }
        }
    }
    for (int k = 0; k < t.n; k++) free(t.t[k]);
    free(sum);
    free(D);
    return found;
}

/* Last resort: describe where the error is. */
static void check_structure(diag *d) {
    const tg_tensor *x = d->c->in[d->i];
    int C = x->shape[x->ndim - 1];
    int64_t n = x->size, rows = n / C, bad_rows = 0, first_row = -1;
    double m = 0.0;
    for (int64_t j = 0; j < n; j++) m = fmax(m, fabs((double)d->got[j] - d->want[j]));
    int constant = C > 1;
    for (int64_t r = 0; r < rows; r++) {
        double lo = INFINITY, hi = -INFINITY, rm = 0.0;
        for (int j = 0; j < C; j++) {
            double e = (double)d->got[r * C + j] - d->want[r * C + j];
            lo = fmin(lo, e), hi = fmax(hi, e), rm = fmax(rm, fabs(e));
        }
        if (hi - lo > 1e-2 * m) constant = 0;
        if (rm > 1e-3 * m) {
            bad_rows++;
            if (first_row < 0) first_row = r;
        }
    }
    if (constant)
        hint(d, "the error is the same for every element of a row (constant along the last "
                "dim): a per-row term — a Σ or mean over the row — is missing or wrong");
    else if (bad_rows < rows)
        hint(d, "only %lld of %lld rows (of the last dim) are wrong, the first is row %lld: "
                "look at what is special about it (masked, ignored, repeated, first/last)",
             (long long)bad_rows, (long long)rows, (long long)first_row);
    else
        hint(d, "the error has no simple structure; derive the gradient term by term and "
                "compare with %s", d->op->page);
}

/* Exact matches first (the error IS that structure), then the weaker
 * signals (where the error is, how it decomposes). */
static void diagnose(diag *d) {
    if (check_accumulate(d)) return;
    if (check_nothing(d)) return;
    if (check_layout_transposed(d)) return;
    if (check_permuted(d)) return;
    if (check_operand_transposed(d)) return;
    if (check_broadcast(d)) return;
    if (check_scale(d)) return;
    if (check_dropped_mask(d)) return;
    if (check_zero_map(d)) return;
    if (check_terms(d)) return;
    check_structure(d);
}

/* ---- one case ----------------------------------------------------------------- */

/* Returns 1 when every input passed. */
static int run_case(const ex_op *op, const tg_custom_op *user, int ci, FILE *f) {
    tg_rng rng;
    tg_rng_seed(&rng, 1000 + (uint64_t)ci);
    ex_case c = {0};
    op->make(ci, &c, &rng);
    int64_t ny = out_size(&c);
    float *r = fbuf(ny), *y_ref = fbuf(ny), *y_user = fbuf(ny);
    for (int64_t j = 0; j < ny; j++) r[j] = 2.0f * tg_rng_uniform(&rng) - 1.0f;
    float *want[EX_MAX_IN] = {0}, *got[EX_MAX_IN] = {0}, *pre[EX_MAX_IN] = {0};
    for (int i = 0; i < c.n_in; i++)
        if (c.in[i]->grad) {
            want[i] = fbuf(c.in[i]->size);
            got[i] = fbuf(c.in[i]->size);
            pre[i] = fbuf(c.in[i]->size);
        }
    runner ref = {op, NULL}, usr = {op, user};
    grads(&ref, &c, c.in, r, 0, want, y_ref);
    grads(&usr, &c, c.in, r, 0, got, y_user);
    grads(&usr, &c, c.in, r, 1, pre, NULL);

    int ok = 1;
    cmp fw = compare(y_user, y_ref, ny, 1e-4, 0.0);
    if (fw.first_wrong >= 0) {
        fprintf(f, "    forward differs from the library's at output element %lld (%.6g vs "
                   "%.6g): the forward is given — restore it from the skeleton\n",
                (long long)fw.first_wrong, y_user[fw.first_wrong], y_ref[fw.first_wrong]);
        ok = 0;
    }
    for (int i = 0; i < c.n_in; i++) {
        if (!want[i]) continue;
        const tg_tensor *x = c.in[i];
        int64_t n = x->size;
        float *fd = fbuf(n);
        finite_diff(&ref, &c, r, i, fd);
        float *added = fbuf(n); /* what the backward added to a prefilled grad */
        for (int64_t j = 0; j < n; j++) added[j] = pre[i][j] - prefill(j);
        cmp lib = compare(got[i], want[i], n, TOL_LIB, 0.0),
            num = compare(got[i], fd, n, TOL_FD, FD_FLOOR),
            self = compare(want[i], fd, n, TOL_FD, FD_FLOOR),
            acc = compare(added, want[i], n, TOL_LIB, 0.0);
        int pass = lib.first_wrong < 0 && num.first_wrong < 0 && acc.first_wrong < 0;
        char s[TG_SHAPE_STR_LEN], idx[TG_SHAPE_STR_LEN];
        fprintf(f, "    %-7s %-12s %s  worst rel err %.1e vs the library's backward, %.1e vs "
                   "finite differences\n",
                c.in_name[i], tg_shape_str(x, s, sizeof s), pass ? "pass" : "FAIL", lib.worst,
                num.worst);
        if (self.first_wrong >= 0)
            fprintf(f, "      (the library's own backward is %.1e from finite differences "
                       "here — report this)\n", self.worst);
        if (!pass && lib.first_wrong < 0 && num.first_wrong < 0) {
            int64_t j = acc.first_wrong;
            fprintf(f, "      right from a zeroed grad, wrong when in[%d]->grad already holds "
                       "values: first wrong element %s%s: added %.6g, expected %.6g\n",
                    i, c.in_name[i], index_str(x, j, idx, sizeof idx), added[j], want[i][j]);
            diag d = {op, &c, i, r, got[i], pre[i], want[i], f, 0};
            diagnose(&d);
            ok = 0;
        } else if (!pass) {
            int64_t j = lib.first_wrong >= 0 ? lib.first_wrong : num.first_wrong;
            fprintf(f, "      first wrong element %s%s: expected %.6g (library; finite "
                       "differences %.6g), got %.6g\n",
                    c.in_name[i], index_str(x, j, idx, sizeof idx), want[i][j], fd[j],
                    got[i][j]);
            diag d = {op, &c, i, r, got[i], pre[i], want[i], f, 0};
            diagnose(&d);
            ok = 0;
        }
        free(fd);
        free(added);
    }
    for (int i = 0; i < c.n_in; i++) free(want[i]), free(got[i]), free(pre[i]);
    free(r), free(y_ref), free(y_user);
    ex_case_free(&c);
    return ok;
}

int ex_check(const ex_op *op, const tg_custom_op *user, FILE *f) {
    int passed = 0;
    for (int ci = 0; ci < op->n_cases; ci++) {
        tg_rng rng;
        tg_rng_seed(&rng, 1000 + (uint64_t)ci);
        ex_case c = {0};
        op->make(ci, &c, &rng);
        fprintf(f, "  case %d/%d: %s\n", ci + 1, op->n_cases, c.label);
        ex_case_free(&c);
        fflush(f);
        pid_t pid = fork();
        if (pid == 0) { /* the learner's code may crash or hang: run it in a child */
            /* CPU seconds, not wall time: a loaded machine must not fail a case */
            struct rlimit cpu = {CPU_LIMIT, CPU_LIMIT + 1};
            setrlimit(RLIMIT_CPU, &cpu);
            int ok = run_case(op, user, ci, f);
            fflush(f);
            _exit(ok ? 0 : 1);
        }
        int st = 0;
        if (pid < 0 || waitpid(pid, &st, 0) < 0) {
            fprintf(f, "    cannot run the case (fork failed)\n");
            continue;
        }
        if (WIFSIGNALED(st)) {
            int sig = WTERMSIG(st);
            if (sig == SIGXCPU)
                fprintf(f, "    FAIL  used more than %d s of CPU (an endless loop?)\n", CPU_LIMIT);
            else
                fprintf(f, "    FAIL  crashed\n");
            if (sig != SIGXCPU)
                fprintf(f, "      hint: signal %d (%s): the backward read or wrote outside a "
                           "tensor — check the index arithmetic (row·C + column, [N, K] vs "
                           "[K, N]) against the shapes of this case\n",
                        sig, strsignal(sig));
        } else if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
            passed++;
        }
    }
    return passed;
}
