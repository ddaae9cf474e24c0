/* nn/init.c — see nn/init.h. */
#include "nn/init.h"

#include <math.h>

void tg_init_uniform(tg_tensor *t, tg_rng *rng, float bound) {
    TG_CHECK(t && rng, "tg_init_uniform", "tensor or rng is NULL");
    tg_tensor_uniform(t, rng, -bound, bound);
}

void tg_init_kaiming_uniform(tg_tensor *t, int fan_in, tg_rng *rng) {
    TG_CHECK(fan_in >= 1, "tg_init_kaiming_uniform", "fan_in must be >= 1, got %d", fan_in);
    tg_init_uniform(t, rng, 1.0f / sqrtf((float)fan_in));
}

void tg_init_xavier_uniform(tg_tensor *t, int fan_in, int fan_out, tg_rng *rng) {
    TG_CHECK(fan_in >= 1 && fan_out >= 1, "tg_init_xavier_uniform",
             "fan_in and fan_out must be >= 1, got %d and %d", fan_in, fan_out);
    tg_init_uniform(t, rng, sqrtf(6.0f / (float)(fan_in + fan_out)));
}

void tg_init_normal(tg_tensor *t, tg_rng *rng, float mean, float std) {
    TG_CHECK(t && rng, "tg_init_normal", "tensor or rng is NULL");
    tg_tensor_normal(t, rng, mean, std);
}

void tg_init_constant(tg_tensor *t, float value) {
    TG_CHECK(t, "tg_init_constant", "tensor is NULL");
    tg_tensor_fill(t, value);
}
