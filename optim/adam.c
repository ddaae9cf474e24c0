/* optim/adam.c — Adam (Kingma & Ba 2015, Algorithm 1) and AdamW (Loshchilov
 * & Hutter 2019); the weight-decay mask shared with sgd.c.  Equations in
 * optim/optim.h and docs/optim.md. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "optim/optim.h"

int tg_decay_matrices(const tg_tensor *t, void *user) {
    (void)user;
    return t->ndim >= 2;
}

unsigned char *tg__decay_mask(const tg_params *ps, tg_decay_fn fn, void *user) {
    size_t n = ps->total > 0 ? (size_t)ps->total : 1;
    unsigned char *mask = tg_xcalloc(n);
    for (int i = 0; i < ps->n; i++) {
        /* buffers (TG_BUFFER: running statistics) are never decayed */
        int on = (ps->t[i]->flags & TG_BUFFER) ? 0 : fn ? (fn(ps->t[i], user) != 0) : 1;
        memset(mask + ps->offset[i], on, (size_t)ps->t[i]->size);
    }
    return mask;
}

float *tg__state_floats(const tg_params *ps) {
    return tg_xcalloc((size_t)(ps->total > 0 ? ps->total : 1) * sizeof(float));
}

void tg__check_block(const tg_params *ps, int64_t n, const char *op) {
    TG_CHECK(ps->total == n, op,
             "the parameter block has %lld floats, the optimizer was made for %lld "
             "(create the optimizer after the last tg_params_new)",
             (long long)ps->total, (long long)n);
}

static void adam_init(tg_adam *opt, tg_params *ps, float lr, float beta1, float beta2, float eps,
                      float weight_decay, int decoupled, const char *op) {
    TG_CHECK(opt && ps, op, "opt and ps must not be NULL");
    TG_CHECK(lr >= 0.0f, op, "lr must be >= 0, got %g", lr);
    TG_CHECK(beta1 >= 0.0f && beta1 < 1.0f, op, "beta1 must be in [0, 1), got %g", beta1);
    TG_CHECK(beta2 >= 0.0f && beta2 < 1.0f, op, "beta2 must be in [0, 1), got %g", beta2);
    TG_CHECK(eps > 0.0f, op, "eps must be > 0, got %g", eps);
    TG_CHECK(weight_decay >= 0.0f, op, "weight_decay must be >= 0, got %g", weight_decay);
    memset(opt, 0, sizeof *opt);
    opt->lr = lr;
    opt->beta1 = beta1;
    opt->beta2 = beta2;
    opt->eps = eps;
    opt->weight_decay = weight_decay;
    opt->decoupled = decoupled;
    opt->ps = ps;
    opt->n = ps->total;
    opt->m = tg__state_floats(ps);
    opt->v = tg__state_floats(ps);
    opt->decay = tg__decay_mask(ps, NULL, NULL);
}

void tg_adam_init(tg_adam *opt, tg_params *ps, float lr, float beta1, float beta2, float eps,
                  float weight_decay) {
    adam_init(opt, ps, lr, beta1, beta2, eps, weight_decay, 0, "tg_adam_init");
}

void tg_adamw_init(tg_adam *opt, tg_params *ps, float lr, float beta1, float beta2, float eps,
                   float weight_decay) {
    adam_init(opt, ps, lr, beta1, beta2, eps, weight_decay, 1, "tg_adamw_init");
}

void tg_adam_set_decay(tg_adam *opt, tg_decay_fn fn, void *user) {
    TG_CHECK(opt && opt->ps, "tg_adam_set_decay", "optimizer not initialised");
    free(opt->decay);
    opt->decay = tg__decay_mask(opt->ps, fn, user);
}

void tg_adam_step(tg_adam *opt) {
    TG_CHECK(opt && opt->m, "tg_adam_step", "optimizer not initialised");
    tg__check_block(opt->ps, opt->n, "tg_adam_step");
    opt->t++;
    const float b1 = opt->beta1, b2 = opt->beta2, eps = opt->eps, lr = opt->lr;
    const float wd = opt->weight_decay;
    /* bias corrections 1 − β^t, in double (β2^t underflows slowly) */
    const float bc1 = (float)(1.0 - pow((double)b1, (double)opt->t));
    const float bc2 = (float)(1.0 - pow((double)b2, (double)opt->t));
    const int decoupled = opt->decoupled;
    float *restrict theta = opt->ps->data;
    const float *restrict grad = opt->ps->grad;
    float *restrict m = opt->m, *restrict v = opt->v;
    const unsigned char *restrict decay = opt->decay;
    const int64_t n = opt->n;
#pragma omp parallel for schedule(static) if (n >= 32768)
    for (int64_t i = 0; i < n; i++) {
        float g = grad[i];
        float p = theta[i];
        float lambda = decay[i] ? wd : 0.0f;
        if (!decoupled) g += lambda * p;                 /* Adam: L2 in the gradient */
        float mi = b1 * m[i] + (1.0f - b1) * g;          /* m ← β1 m + (1−β1) g */
        float vi = b2 * v[i] + (1.0f - b2) * g * g;      /* v ← β2 v + (1−β2) g² */
        m[i] = mi;
        v[i] = vi;
        float mhat = mi / bc1, vhat = vi / bc2;          /* bias correction */
        if (decoupled) p -= lr * lambda * p;             /* AdamW: θ ← θ − ηλθ */
        theta[i] = p - lr * mhat / (sqrtf(vhat) + eps);  /* θ ← θ − η m̂/(√v̂+ε) */
    }
}

void tg_adam_reset(tg_adam *opt) {
    TG_CHECK(opt && opt->m, "tg_adam_reset", "optimizer not initialised");
    opt->t = 0;
    memset(opt->m, 0, (size_t)opt->n * sizeof(float));
    memset(opt->v, 0, (size_t)opt->n * sizeof(float));
}

void tg_adam_free(tg_adam *opt) {
    if (!opt) return;
    free(opt->m);
    free(opt->v);
    free(opt->decay);
    memset(opt, 0, sizeof *opt);
}
