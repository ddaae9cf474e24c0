/* optim/sgd.c — stochastic gradient descent with (Nesterov) momentum and
 * L2 weight decay, PyTorch's torch.optim.SGD with dampening 0.  Equations
 * in optim/optim.h and docs/optim.md. */
#include <stdlib.h>
#include <string.h>

#include "optim/optim.h"
#include "optim/internal.h"
#include "core/parallel.h"

void tg_sgd_init(tg_sgd *opt, tg_params *ps, float lr, float momentum, float weight_decay,
                 int nesterov) {
    TG_CHECK(opt && ps, "tg_sgd_init", "opt and ps must not be NULL");
    TG_CHECK(lr >= 0.0f, "tg_sgd_init", "lr must be >= 0, got %g", lr);
    TG_CHECK(momentum >= 0.0f && momentum < 1.0f, "tg_sgd_init",
             "momentum must be in [0, 1), got %g", momentum);
    TG_CHECK(weight_decay >= 0.0f, "tg_sgd_init", "weight_decay must be >= 0, got %g",
             weight_decay);
    TG_CHECK(!nesterov || momentum > 0.0f, "tg_sgd_init", "Nesterov momentum needs momentum > 0");
    memset(opt, 0, sizeof *opt);
    opt->lr = lr;
    opt->momentum = momentum;
    opt->weight_decay = weight_decay;
    opt->nesterov = nesterov;
    opt->ps = ps;
    opt->n = ps->total;
    if (momentum > 0.0f) opt->b = tg__state_floats(ps);
    opt->decay = tg__decay_mask(ps, NULL, NULL);
}

void tg_sgd_set_decay(tg_sgd *opt, tg_decay_fn fn, void *user) {
    TG_CHECK(opt && opt->ps, "tg_sgd_set_decay", "optimizer not initialised");
    free(opt->decay);
    opt->decay = tg__decay_mask(opt->ps, fn, user);
}

void tg_sgd_step(tg_sgd *opt) {
    TG_CHECK(opt && opt->decay, "tg_sgd_step", "optimizer not initialised");
    tg__check_block(opt->ps, opt->n, "tg_sgd_step");
    opt->t++;
    const float lr = opt->lr, mu = opt->momentum, wd = opt->weight_decay;
    const int nesterov = opt->nesterov;
    float *restrict theta = opt->ps->data;
    const float *restrict grad = opt->ps->grad;
    float *restrict b = opt->b;
    const unsigned char *restrict decay = opt->decay;
    const int64_t n = opt->n;
TG_OMP_FOR(n)
    for (int64_t i = 0; i < n; i++) {
        float p = theta[i];
        float g = grad[i] + (decay[i] ? wd : 0.0f) * p; /* g ← g + λθ */
        float d = g;
        if (b) {
            float bi = mu * b[i] + g;                   /* b ← μ b + g */
            b[i] = bi;
            d = nesterov ? g + mu * bi : bi;            /* Nesterov: g + μ b */
        }
        theta[i] = p - lr * d;                          /* θ ← θ − η d */
    }
}

void tg_sgd_free(tg_sgd *opt) {
    if (!opt) return;
    free(opt->b);
    free(opt->decay);
    memset(opt, 0, sizeof *opt);
}
