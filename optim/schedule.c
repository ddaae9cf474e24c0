/* optim/schedule.c — learning-rate schedules (pure functions of the step)
 * and gradient clipping by global norm.  Formulas in optim/optim.h. */
#include <math.h>

#include "optim/optim.h"
#include "core/parallel.h"

float tg_lr_constant(int64_t step, float lr_max) {
    (void)step;
    return lr_max;
}

float tg_lr_warmup_cosine(int64_t step, float lr_max, float lr_min, int64_t warmup_steps,
                          int64_t total_steps) {
    TG_CHECK(warmup_steps >= 0 && total_steps >= warmup_steps, "tg_lr_warmup_cosine",
             "need 0 <= warmup_steps <= total_steps, got warmup %lld, total %lld",
             (long long)warmup_steps, (long long)total_steps);
    if (step < 0) step = 0;
    if (step < warmup_steps) return (float)((double)lr_max * (double)(step + 1) / (double)warmup_steps);
    if (step >= total_steps) return lr_min;
    double p = (double)(step - warmup_steps) / (double)(total_steps - warmup_steps);
    const double pi = 3.14159265358979323846;
    return (float)((double)lr_min + 0.5 * ((double)lr_max - (double)lr_min) * (1.0 + cos(pi * p)));
}

float tg_lr_warmup_cosine_frac(int64_t step, double frac, double lr_max, double lr_min,
                               int64_t warmup_steps) {
    TG_CHECK(warmup_steps >= 1, "tg_lr_warmup_cosine_frac", "need warmup_steps >= 1, got %lld",
             (long long)warmup_steps);
    if (step < 0) step = 0;
    if (step < warmup_steps) return (float)lr_max * (float)(step + 1) / (float)warmup_steps;
    double p = frac < 0 ? 0 : frac > 1 ? 1 : frac;
    const double pi = 3.14159265358979323846;
    return (float)(lr_min + 0.5 * (lr_max - lr_min) * (1.0 + cos(pi * p)));
}

/* Σ g² serially in double: the same bits for any thread count. */
static double grad_sumsq(const tg_params *ps) {
    double s = 0.0;
    for (int64_t i = 0; i < ps->total; i++) s += (double)ps->grad[i] * (double)ps->grad[i];
    return s;
}

float tg_grad_norm(const tg_params *ps) {
    TG_CHECK(ps != NULL, "tg_grad_norm", "ps must not be NULL");
    return (float)sqrt(grad_sumsq(ps));
}

float tg_clip_grad_norm(tg_params *ps, float max_norm) {
    TG_CHECK(ps != NULL, "tg_clip_grad_norm", "ps must not be NULL");
    TG_CHECK(max_norm > 0.0f, "tg_clip_grad_norm", "max_norm must be > 0, got %g", max_norm);
    double norm = sqrt(grad_sumsq(ps));
    if (!isfinite(norm) || norm <= (double)max_norm) return (float)norm;
    const float scale = (float)((double)max_norm / norm);
    float *restrict g = ps->grad;
    const int64_t n = ps->total;
TG_OMP_FOR(n)
    for (int64_t i = 0; i < n; i++) g[i] *= scale;
    return (float)norm;
}
