/* examples/scaling/arms.c — see arms.h. */
#include "examples/scaling/arms.h"

#include <string.h>

static const char *const names[SCALING_N_ARMS] = {"cnn", "vit", "vit-local"};

const char *scaling_arm_name(scaling_arm a) {
    return names[a];
}

int scaling_arm_parse(const char *name) {
    for (int a = 0; a < SCALING_N_ARMS; a++)
        if (!strcmp(name, names[a])) return a;
    return -1;
}

scaling_arch scaling_arch_default(void) {
    return (scaling_arch){
        .vit = {.patch_size = 4, .d_model = 48, .depth = 4, .n_heads = 4, .d_ff = 96, .pool = TG_VIT_POOL_MEAN,
                .pos = TG_VIT_POS_LEARNED, .ln_eps = 1e-6f},
        .local_window = 3,
        .cnn = {.n_stages = 3, .convs_per_stage = 1, .width = 1},
    };
}

tg_status scaling_arch_fit(scaling_arch *a, int image_h, int image_w, int channels, int n_classes) {
    scaling_arch t = *a;
    t.vit.image_h = t.cnn.image_h = image_h;
    t.vit.image_w = t.cnn.image_w = image_w;
    t.vit.channels = t.cnn.channels = channels;
    t.vit.n_classes = t.cnn.n_classes = n_classes;
    t.vit.local_window = 0;
    if (tg_vit_config_check(&t.vit) != TG_OK) return TG_ERR_ARG;
    if (t.local_window < 1) return tg_set_error(TG_ERR_ARG, "--local-window %d: expected >= 1", t.local_window);
    t.cnn.width = 1;
    if (tg_cnn_config_check(&t.cnn) != TG_OK) return TG_ERR_ARG;
    t.cnn.width = tg_cnn_width_for_params(&t.cnn, tg_vit_param_count(&t.vit));
    if (tg_cnn_config_check(&t.cnn) != TG_OK) return TG_ERR_ARG;
    *a = t;
    return TG_OK;
}

static tg_vit_config vit_config(const scaling_arch *a, scaling_arm arm) {
    tg_vit_config c = a->vit;
    c.local_window = arm == SCALING_VIT_LOCAL ? a->local_window : 0;
    return c;
}

int64_t scaling_arch_params(const scaling_arch *a, scaling_arm arm) {
    if (arm == SCALING_CNN) return tg_cnn_param_count(&a->cnn);
    tg_vit_config c = vit_config(a, arm);
    return tg_vit_param_count(&c);
}

double scaling_arch_macs(const scaling_arch *a, scaling_arm arm) {
    if (arm == SCALING_CNN) {
        const tg_cnn_config *c = &a->cnn;
        double macs = 0, in = c->channels;
        for (int s = 0; s < c->n_stages; s++)
            for (int j = 0; j < c->convs_per_stage; j++) {
                double w = (double)c->width * (double)(1 << s);
                macs += (double)(c->image_h >> s) * (double)(c->image_w >> s) * 9.0 * in * w; /* 3x3, pad 1 */
                in = w;
            }
        double features = c->flatten ? (double)(c->image_h >> c->n_stages) * (double)(c->image_w >> c->n_stages) * in
                                     : in;
        return macs + features * c->n_classes;
    }
    const tg_vit_config *v = &a->vit;
    const double d = v->d_model, patches = (double)(v->image_h / v->patch_size) * (v->image_w / v->patch_size),
                 T = patches + (v->pool == TG_VIT_POOL_CLS);
    const double embed = patches * v->patch_size * v->patch_size * v->channels * d;
    const double block = T * (4 * d * d + 2 * d * v->d_ff) + 2 * T * T * d; /* Q, K, V, O; MLP; Q·Kᵀ, A·V */
    return embed + v->depth * block + d * v->n_classes;
}

void scaling_model_init(scaling_model *m, scaling_arm arm, const scaling_arch *a, uint64_t seed) {
    memset(m, 0, sizeof *m);
    m->arm = arm;
    tg_rng rng;
    tg_rng_seed(&rng, seed);
    tg_params_init(&m->ps);
    if (arm == SCALING_CNN) {
        tg_cnn_init(&m->cnn, &m->ps, &a->cnn, &rng);
    } else {
        tg_vit_config c = vit_config(a, arm);
        tg_vit_init(&m->vit, &m->ps, &c, &rng);
    }
}

void scaling_model_free(scaling_model *m) {
    if (m->arm == SCALING_CNN) tg_cnn_free(&m->cnn);
    else tg_vit_free(&m->vit);
    tg_params_free(&m->ps);
    memset(m, 0, sizeof *m);
}

tg_tensor *scaling_model_forward(tg_tape *tp, scaling_model *m, tg_tensor *images, tg_rng *dropout_rng) {
    if (m->arm == SCALING_CNN) return tg_cnn_forward(tp, &m->cnn, images, dropout_rng);
    return tg_vit_forward(tp, &m->vit, images, dropout_rng);
}
