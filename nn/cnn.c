/* nn/cnn.c — see nn/cnn.h. */
#include "nn/cnn.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/config.h"
#include "core/ops.h"
#include "nn/init.h"

/* ---- Conv2d ---------------------------------------------------------------- */

void tg_conv2d_layer_init(tg_conv2d_layer *l, tg_params *ps, const char *prefix, int in_channels,
                          int out_channels, int kernel_size, int stride, int padding,
                          unsigned flags, tg_rng *rng) {
    TG_CHECK(l && ps && prefix && rng, "tg_conv2d_layer_init", "an argument is NULL");
    TG_CHECK(in_channels >= 1 && out_channels >= 1 && kernel_size >= 1 && stride >= 1 &&
                 padding >= 0,
             "tg_conv2d_layer_init",
             "%s: channels, kernel_size, stride must be >= 1 and padding >= 0, got in %d, out "
             "%d, kernel %d, stride %d, padding %d",
             prefix, in_channels, out_channels, kernel_size, stride, padding);
    *l = (tg_conv2d_layer){.in_channels = in_channels, .out_channels = out_channels,
                           .kernel_size = kernel_size, .stride = stride, .padding = padding};
    int k = kernel_size, fan_in = in_channels * k * k;
    l->weight = tg_params_new(ps, TG_SHAPE(out_channels, k, k, in_channels), "%s.weight", prefix);
    tg_init_kaiming_uniform(l->weight, fan_in, rng); /* torch's Conv2d.reset_parameters */
    if (flags & TG_NN_BIAS) {
        l->bias = tg_params_new(ps, TG_SHAPE(out_channels), "%s.bias", prefix);
        tg_init_kaiming_uniform(l->bias, fan_in, rng);
    }
}

tg_tensor *tg_conv2d_layer_forward(tg_tape *tp, const tg_conv2d_layer *l, tg_tensor *x) {
    TG_CHECK(l && l->weight, "tg_conv2d_layer_forward", "layer is NULL or not initialised");
    return tg_conv2d(tp, x, l->weight, l->bias, l->stride, l->padding);
}

/* ---- BatchNorm2d ----------------------------------------------------------- */

void tg_batchnorm_layer_init(tg_batchnorm_layer *bn, tg_params *ps, const char *prefix,
                             int channels) {
    TG_CHECK(bn && ps && prefix, "tg_batchnorm_layer_init", "an argument is NULL");
    TG_CHECK(channels >= 1, "tg_batchnorm_layer_init", "%s: channels must be >= 1, got %d",
             prefix, channels);
    *bn = (tg_batchnorm_layer){.channels = channels, .momentum = 0.1f, .eps = 1e-5f};
    bn->weight = tg_params_new(ps, TG_SHAPE(channels), "%s.weight", prefix);
    tg_init_constant(bn->weight, 1.0f);
    bn->bias = tg_params_new(ps, TG_SHAPE(channels), "%s.bias", prefix);
    bn->running_mean = tg_params_new_buffer(ps, 0.0f, TG_SHAPE(channels), "%s.running_mean", prefix);
    bn->running_var = tg_params_new_buffer(ps, 1.0f, TG_SHAPE(channels), "%s.running_var", prefix);
}

tg_tensor *tg_batchnorm_layer_forward(tg_tape *tp, const tg_batchnorm_layer *bn, tg_tensor *x) {
    TG_CHECK(bn && bn->weight, "tg_batchnorm_layer_forward", "layer is NULL or not initialised");
    return tg_batchnorm(tp, x, bn->weight, bn->bias, bn->running_mean, bn->running_var,
                        bn->momentum, bn->eps);
}

/* ---- configuration ----------------------------------------------------------- */

/* Rules between fields (tg_config_schema.check); every field is in its bounds. */
static tg_status cnn_cross_check(const void *cfg, const char *what) {
    const tg_cnn_config *c = cfg;
    if ((c->image_h >> c->n_stages) < 1)
        return tg_set_error(TG_ERR_ARG, "%s: n_stages %d halves image_h %d to 0", what, c->n_stages, c->image_h);
    if ((c->image_w >> c->n_stages) < 1)
        return tg_set_error(TG_ERR_ARG, "%s: n_stages %d halves image_w %d to 0", what, c->n_stages, c->image_w);
    if (((int64_t)c->width << (c->n_stages - 1)) > (1 << 20))
        return tg_set_error(TG_ERR_ARG, "%s: width %d << (n_stages %d - 1) exceeds 2^20 channels", what, c->width,
                            c->n_stages);
    return TG_OK;
}

/* The configuration's fields (core/config.h), in the order they are written. */
#define SIZE(f) TG_CONFIG_INT(tg_cnn_config, f, 1, INT_MAX)
static const tg_config_field cnn_fields[] = {
    SIZE(image_h), SIZE(image_w), SIZE(channels), SIZE(n_classes), SIZE(width),
    TG_CONFIG_INT(tg_cnn_config, n_stages, 1, 16),
    SIZE(convs_per_stage),
    TG_CONFIG_FLOAT(tg_cnn_config, dropout, 0, 1, TG_CONFIG_HI_OPEN),
    TG_CONFIG_INT(tg_cnn_config, flatten, 0, 1),
};
#undef SIZE
static const tg_config_schema cnn_schema = TG_CONFIG_SCHEMA_LEGACY_LINE(tg_cnn_config, cnn_fields, cnn_cross_check);

tg_status tg_cnn_config_check(const tg_cnn_config *c) {
    if (!c) return tg_set_error(TG_ERR_ARG, "cnn config: NULL");
    return tg_config_check(&cnn_schema, c, "cnn config");
}

/* Channels of stage s. */
static int64_t stage_width(const tg_cnn_config *c, int s) { return (int64_t)c->width << s; }

/* The head's input width: c_last, or H·W·c_last after the final pool. */
static int64_t n_features_of(const tg_cnn_config *c) {
    int64_t cl = stage_width(c, c->n_stages - 1);
    return c->flatten ? (int64_t)(c->image_h >> c->n_stages) * (c->image_w >> c->n_stages) * cl
                      : cl;
}

int64_t tg_cnn_param_count(const tg_cnn_config *c) {
    int64_t n = 0, in = c->channels;
    for (int s = 0; s < c->n_stages; s++) {
        int64_t w = stage_width(c, s);
        for (int j = 0; j < c->convs_per_stage; j++) {
            n += 9 * in * w  /* conv.weight (no bias) */
                 + 2 * w;    /* bn.weight, bn.bias */
            in = w;
        }
    }
    return n + n_features_of(c) * c->n_classes + c->n_classes; /* head */
}

int tg_cnn_width_for_params(const tg_cnn_config *base, int64_t target) {
    TG_CHECK(base, "tg_cnn_width_for_params", "base is NULL");
    tg_cnn_config c = *base;
    int best = 1;
    int64_t best_err = INT64_MAX;
    int max_w = (1 << 20) >> (c.n_stages - 1);
    for (int w = 1; w <= max_w; w++) {
        c.width = w;
        int64_t n = tg_cnn_param_count(&c), err = n > target ? n - target : target - n;
        if (err < best_err) best = w, best_err = err;
        if (n > target) break; /* the count only grows with the width */
    }
    return best;
}

int tg_cnn_config_format(const tg_cnn_config *cfg, char *buf, size_t len) {
    return tg_config_format(&cnn_schema, cfg, buf, len);
}

tg_status tg_cnn_config_parse(const char *text, const char *what, tg_cnn_config *cfg) {
    TG_CHECK(cfg, "tg_cnn_config_parse", "cfg is NULL");
    tg_cnn_config c = {0};
    tg_status st = tg_config_parse(&cnn_schema, text, what ? what : "cnn config", &c);
    if (st == TG_OK) *cfg = c;
    return st;
}

/* ---- the model ------------------------------------------------------------- */

void tg_cnn_init(tg_cnn *m, tg_params *ps, const tg_cnn_config *cfg, tg_rng *rng) {
    TG_CHECK(m && ps && cfg && rng, "tg_cnn_init", "an argument is NULL");
    if (tg_cnn_config_check(cfg) != TG_OK) TG_CHECK(0, "tg_cnn_init", "%s", tg_last_error());
    *m = (tg_cnn){.cfg = *cfg, .n_blocks = cfg->n_stages * cfg->convs_per_stage};
    m->blocks = tg_xcalloc((size_t)m->n_blocks * sizeof *m->blocks);
    char name[TG_PARAM_NAME_MAX];
    int in = cfg->channels;
    for (int s = 0; s < cfg->n_stages; s++)
        for (int j = 0; j < cfg->convs_per_stage; j++) {
            tg_cnn_block *b = &m->blocks[s * cfg->convs_per_stage + j];
            int w = (int)stage_width(cfg, s);
            snprintf(name, sizeof name, "stages.%d.%d.conv", s, j);
            tg_conv2d_layer_init(&b->conv, ps, name, in, w, 3, 1, 1, 0, rng);
            snprintf(name, sizeof name, "stages.%d.%d.bn", s, j);
            tg_batchnorm_layer_init(&b->bn, ps, name, w);
            in = w;
        }
    m->feat_h = cfg->image_h >> cfg->n_stages;
    m->feat_w = cfg->image_w >> cfg->n_stages;
    m->n_features = (int)n_features_of(cfg);
    tg_linear_init(&m->head, ps, "head", m->n_features, cfg->n_classes, TG_NN_BIAS, rng);
}

void tg_cnn_free(tg_cnn *m) {
    if (!m) return;
    free(m->blocks);
    m->blocks = NULL;
}

tg_tensor *tg_cnn_forward(tg_tape *tp, tg_cnn *m, tg_tensor *images, tg_rng *dropout_rng) {
    TG_CHECK(m && m->blocks, "tg_cnn_forward", "model is NULL or not initialised");
    TG_CHECK_TENSOR("tg_cnn_forward", images);
    const tg_cnn_config *c = &m->cfg;
    TG_CHECK(images->ndim == 4 && images->shape[1] == c->image_h && images->shape[2] == c->image_w &&
                 images->shape[3] == c->channels,
             "tg_cnn_forward", "images must be [B, %d, %d, %d], got %s", c->image_h, c->image_w,
             c->channels, TG_SHAPE_STR(images));
    tg_tensor *x = images;
    for (int s = 0; s < c->n_stages; s++) {
        for (int j = 0; j < c->convs_per_stage; j++) {
            const tg_cnn_block *b = &m->blocks[s * c->convs_per_stage + j];
            x = tg_relu(tp, tg_batchnorm_layer_forward(tp, &b->bn,
                                                       tg_conv2d_layer_forward(tp, &b->conv, x)));
        }
        x = tg_max_pool2d(tp, x, 2, 2);
    }
    int B = images->shape[0];
    x = c->flatten ? tg_reshape(tp, x, TG_SHAPE(B, m->n_features)) : tg_global_avg_pool2d(tp, x);
    if (c->dropout > 0.0f && tg_tape_training(tp)) {
        TG_CHECK(dropout_rng, "tg_cnn_forward", "dropout %g in training mode needs dropout_rng",
                 (double)c->dropout);
        x = tg_dropout(tp, x, c->dropout, dropout_rng);
    }
    return tg_linear_forward(tp, &m->head, x);
}
