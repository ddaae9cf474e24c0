/* nn/rollout.c — see rollout.h. */
#include "nn/rollout.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"

/* Ã = rownorm(½·A + ½·I) of one layer into mix [N, N]. */
static void residual_mix(const float *a, int n, double *mix) {
    for (int i = 0; i < n; i++) {
        double row = 0.0;
        for (int j = 0; j < n; j++) {
            mix[(size_t)i * n + j] = 0.5 * (double)a[(size_t)i * n + j] + (i == j ? 0.5 : 0.0);
            row += mix[(size_t)i * n + j];
        }
        for (int j = 0; j < n; j++) mix[(size_t)i * n + j] /= row; /* row >= ½: the identity part */
    }
}

void tg_attention_rollout(const float *attn, int n_layers, int n_tokens, float *out) {
    const char *op = "tg_attention_rollout";
    TG_CHECK(attn && out, op, "NULL attention or output");
    TG_CHECK(n_layers >= 1 && n_tokens >= 1, op, "need n_layers >= 1 and n_tokens >= 1, got %d and %d",
             n_layers, n_tokens);
    const int n = n_tokens;
    const size_t nn = (size_t)n * n;
    double *roll = tg_xmalloc(nn * sizeof *roll), *mix = tg_xmalloc(nn * sizeof *mix),
           *next = tg_xmalloc(n * sizeof *next);
    residual_mix(attn, n, roll); /* R = Ã_1 */
    for (int l = 1; l < n_layers; l++) {
        residual_mix(attn + (size_t)l * nn, n, mix);
        for (int i = 0; i < n; i++) { /* R ← Ã_l · R, one row at a time */
            for (int j = 0; j < n; j++) next[j] = 0.0;
            for (int k = 0; k < n; k++) {
                const double m = mix[(size_t)i * n + k];
                const double *r = roll + (size_t)k * n;
                for (int j = 0; j < n; j++) next[j] += m * r[j];
            }
            memcpy(mix + (size_t)i * n, next, n * sizeof *next); /* row i of mix is no longer read */
        }
        double *t = roll;
        roll = mix;
        mix = t;
    }
    for (size_t i = 0; i < nn; i++) out[i] = (float)roll[i];
    free(roll);
    free(mix);
    free(next);
}
