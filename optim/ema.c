/* optim/ema.c — exponential moving average of the parameters (Polyak &
 * Juditsky 1992; the "EMA of weights" of many Transformer recipes). */
#include <stdlib.h>
#include <string.h>

#include "optim/optim.h"
#include "core/parallel.h"

void tg_ema_init(tg_ema *ema, tg_params *ps, float decay) {
    TG_CHECK(decay >= 0.0f && decay < 1.0f, "tg_ema_init", "decay must be in [0, 1), got %g", decay);
    ema->ps = ps;
    ema->decay = decay;
    ema->n = ps->total;
    ema->t = 0;
    ema->avg = tg_xmalloc((size_t)(ema->n ? ema->n : 1) * sizeof(float));
    memcpy(ema->avg, ps->data, (size_t)ema->n * sizeof(float));
}

void tg_ema_update(tg_ema *ema) {
    TG_CHECK(ema->ps->total == ema->n, "tg_ema_update",
             "the parameter block changed size since tg_ema_init (%lld -> %lld)", (long long)ema->n,
             (long long)ema->ps->total);
    ema->t++;
    /* warm-up: d_t = min(decay, (1 + t) / (10 + t)), so early averages are not
     * dominated by the random initialisation */
    float d = (float)(1 + ema->t) / (float)(10 + ema->t);
    if (d > ema->decay) d = ema->decay;
    const float *restrict x = ema->ps->data;
    float *restrict a = ema->avg;
    const int64_t n = ema->n;
#ifdef _OPENMP
TG_OMP_FOR(n)
#endif
    for (int64_t i = 0; i < n; i++) a[i] += (1.0f - d) * (x[i] - a[i]);
}

void tg_ema_swap(tg_ema *ema) {
    float *restrict x = ema->ps->data, *restrict a = ema->avg;
    for (int64_t i = 0; i < ema->n; i++) {
        float t = x[i];
        x[i] = a[i];
        a[i] = t;
    }
}

void tg_ema_free(tg_ema *ema) {
    free(ema->avg);
    memset(ema, 0, sizeof *ema);
}
