/* core/gradcheck.c — central finite differences against the reverse sweep. */
#include "core/gradcheck.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static double project(const tg_tensor *y, const float *r) {
    double L = 0.0;
    for (int64_t i = 0; i < y->size; i++) L += (double)r[i] * (double)y->data[i];
    return L;
}

static double eval(tg_gradcheck_fn f, tg_tape *tp, tg_tensor *const *x, int n, void *user,
                   const float *r, int64_t expect) {
    tg_tape_reset(tp);
    int old = tg_tape_set_grad(tp, 0);
    tg_tensor *y = f(tp, x, n, user);
    tg_tape_set_grad(tp, old);
    TG_CHECK(y && y->size == expect, "tg_gradcheck",
             "the function returned NULL or changed its output size");
    return project(y, r);
}

int tg_gradcheck(tg_gradcheck_fn f, int n, tg_tensor *const *inputs, void *user,
                 const tg_gradcheck_opts *opts, tg_gradcheck_result *res) {
    tg_gradcheck_opts o = {.h = 1e-3, .tol = 1e-2, .floor = 1e-2, .max_per_input = 256, .seed = 1};
    if (opts) {
        if (opts->h > 0) o.h = opts->h;
        if (opts->tol > 0) o.tol = opts->tol;
        if (opts->floor > 0) o.floor = opts->floor;
        o.max_per_input = opts->max_per_input;
        if (opts->seed) o.seed = opts->seed;
    }
    TG_CHECK(f && n >= 1 && inputs, "tg_gradcheck", "need a function and n >= 1 inputs, got n = %d", n);
    int any = 0;
    for (int i = 0; i < n; i++) {
        TG_CHECK(inputs[i], "tg_gradcheck", "input %d is NULL", i);
        if (inputs[i]->flags & TG_REQUIRES_GRAD) {
            TG_CHECK(inputs[i]->grad, "tg_gradcheck",
                     "input %d requires grad but has no grad buffer (use tg_tensor_new_grad)", i);
            tg_tensor_zero_grad(inputs[i]);
            any = 1;
        }
    }
    TG_CHECK(any, "tg_gradcheck", "no input requires grad: nothing to check");

    tg_rng rng;
    tg_rng_seed(&rng, o.seed);
    tg_tape *tp = tg_tape_new(0);
    tg_tensor *y = f(tp, inputs, n, user);
    TG_CHECK(y, "tg_gradcheck", "the function returned NULL");
    int64_t ny = y->size;
    float *r = tg_xmalloc((size_t)ny * sizeof(float));
    for (int64_t i = 0; i < ny; i++) r[i] = 2.0f * tg_rng_uniform(&rng) - 1.0f;
    tg_status st = tg_backward_seeded(tp, y, r);
    TG_CHECK(st == TG_OK, "tg_gradcheck", "backward failed: %s", tg_last_error());

    /* Keep the analytic gradients: the tape is reused for the evaluations. */
    float **analytic = tg_xcalloc((size_t)n * sizeof(float *));
    for (int i = 0; i < n; i++) {
        if (!(inputs[i]->flags & TG_REQUIRES_GRAD)) continue;
        analytic[i] = tg_xmalloc((size_t)inputs[i]->size * sizeof(float));
        memcpy(analytic[i], inputs[i]->grad, (size_t)inputs[i]->size * sizeof(float));
    }

    tg_gradcheck_result out = {.max_rel_err = 0.0, .input = -1, .index = -1};
    for (int i = 0; i < n; i++) {
        tg_tensor *x = inputs[i];
        if (!analytic[i]) continue;
        int64_t count = x->size;
        int sample = o.max_per_input > 0 && count > o.max_per_input;
        if (sample) count = o.max_per_input;
        for (int64_t c = 0; c < count; c++) {
            int64_t j = sample ? (int64_t)tg_rng_below(&rng, (uint32_t)x->size) : c;
            float orig = x->data[j];
            float xp = (float)(orig + o.h), xm = (float)(orig - o.h);
            x->data[j] = xp;
            double Lp = eval(f, tp, inputs, n, user, r, ny);
            x->data[j] = xm;
            double Lm = eval(f, tp, inputs, n, user, r, ny);
            x->data[j] = orig;
            double num = (Lp - Lm) / ((double)xp - (double)xm);
            double ana = analytic[i][j];
            double den = fmax(fmax(fabs(ana), fabs(num)), o.floor);
            double rel = fabs(ana - num) / den;
            if (isnan(rel)) rel = INFINITY; /* a NaN gradient is the worst error */
            if (out.input < 0 || rel > out.max_rel_err) {
                out.max_rel_err = rel;
                out.input = i;
                out.index = j;
                out.analytic = ana;
                out.numeric = num;
            }
            out.n_checked++;
        }
    }
    out.passed = out.max_rel_err <= o.tol;
    for (int i = 0; i < n; i++) {
        if (analytic[i]) memcpy(inputs[i]->grad, analytic[i], (size_t)inputs[i]->size * sizeof(float));
        free(analytic[i]);
    }
    free(analytic);
    free(r);
    tg_tape_free(tp);
    if (res) *res = out;
    return out.passed;
}

void tg_gradcheck_print(FILE *f, const char *name, const tg_gradcheck_result *r) {
    fprintf(f, "%s: max relative error %.3g at input %d [%lld] (analytic %.6g, numeric %.6g), "
               "%lld elements checked: %s\n",
            name, r->max_rel_err, r->input, (long long)r->index, r->analytic, r->numeric,
            (long long)r->n_checked, r->passed ? "ok" : "FAILED");
}
