/* nn/vit.c — see nn/vit.h. */
#include "nn/vit.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>

#include <string.h>

#include "core/config.h"
#include "core/ops.h"
#include "nn/init.h"
#include "nn/posenc.h"

/* ---- patch embedding ----------------------------------------------------- */

void tg_patch_embed_init(tg_patch_embed *pe, tg_params *ps, const char *prefix, int patch_size,
                         int channels, int d_model, tg_rng *rng) {
    TG_CHECK(pe && ps && prefix && rng, "tg_patch_embed_init", "an argument is NULL");
    TG_CHECK(patch_size >= 1 && channels >= 1 && d_model >= 1, "tg_patch_embed_init",
             "%s: patch_size, channels, d_model must be >= 1, got %d, %d, %d", prefix,
             patch_size, channels, d_model);
    *pe = (tg_patch_embed){.patch_size = patch_size, .channels = channels, .d_model = d_model};
    /* torch's Conv2d init is its Linear init over fan_in = C·P·P */
    tg_linear_init(&pe->proj, ps, prefix, patch_size * patch_size * channels, d_model,
                   TG_NN_BIAS, rng);
}

tg_tensor *tg_patch_embed_forward(tg_tape *tp, const tg_patch_embed *pe, tg_tensor *images) {
    TG_CHECK(pe && pe->proj.weight, "tg_patch_embed_forward", "layer is NULL or not initialised");
    TG_CHECK_TENSOR("tg_patch_embed_forward", images);
    TG_CHECK(images->ndim == 4 && images->shape[3] == pe->channels, "tg_patch_embed_forward",
             "images must be [B, H, W, %d], got %s", pe->channels, TG_SHAPE_STR(images));
    /* [B, H, W, C] -> [B, N, P·P·C] -> [B, N, d_model]: one GEMM over all B·N patches */
    return tg_linear_forward(tp, &pe->proj, tg_patchify(tp, images, pe->patch_size));
}

/* ---- configuration ------------------------------------------------------- */

/* Rules between fields (tg_config_schema.check); every field is in its bounds. */
static tg_status vit_cross_check(const void *cfg, const char *what) {
    const tg_vit_config *c = cfg;
    if (c->image_h % c->patch_size)
        return tg_set_error(TG_ERR_ARG, "%s: patch_size %d does not divide image_h %d", what, c->patch_size,
                            c->image_h);
    if (c->image_w % c->patch_size)
        return tg_set_error(TG_ERR_ARG, "%s: patch_size %d does not divide image_w %d", what, c->patch_size,
                            c->image_w);
    if (c->d_model % c->n_heads)
        return tg_set_error(TG_ERR_ARG, "%s: n_heads %d does not divide d_model %d", what, c->n_heads, c->d_model);
    int64_t n = (int64_t)(c->image_h / c->patch_size) * (c->image_w / c->patch_size);
    if (n + 1 > 65536)
        return tg_set_error(TG_ERR_ARG, "%s: %lld patches, at most 65535 supported", what, (long long)n);
    return TG_OK;
}

/* The configuration's fields (core/config.h), in the order they are written. */
static const char *const pool_names[] = {"cls", "mean"};          /* TG_VIT_POOL_* */
static const char *const pos_names[] = {"learned", "sinusoidal"}; /* TG_VIT_POS_* */
#define SIZE(f) TG_CONFIG_INT(tg_vit_config, f, 1, INT_MAX)
static const tg_config_field vit_fields[] = {
    SIZE(image_h), SIZE(image_w), SIZE(channels), SIZE(patch_size), SIZE(d_model), SIZE(depth), SIZE(n_heads),
    SIZE(d_ff), SIZE(n_classes),
    TG_CONFIG_ENUM(tg_vit_config, pool, pool_names),
    TG_CONFIG_ENUM(tg_vit_config, pos, pos_names),
    TG_CONFIG_FLOAT(tg_vit_config, dropout, 0, 1, TG_CONFIG_HI_OPEN),
    TG_CONFIG_FLOAT(tg_vit_config, ln_eps, 0, INFINITY, TG_CONFIG_LO_OPEN),
    TG_CONFIG_INT(tg_vit_config, local_window, 0, INT_MAX),
};
#undef SIZE
static const tg_config_schema vit_schema = TG_CONFIG_SCHEMA_LEGACY_LINE(tg_vit_config, vit_fields, vit_cross_check);
_Static_assert(sizeof(tg_vit_pool) == sizeof(int) && sizeof(tg_vit_pos) == sizeof(int),
               "enum fields are read as int");

tg_status tg_vit_config_check(const tg_vit_config *c) {
    if (!c) return tg_set_error(TG_ERR_ARG, "vit config: NULL");
    return tg_config_check(&vit_schema, c, "vit config");
}

static int n_patches_of(const tg_vit_config *c) {
    return (c->image_h / c->patch_size) * (c->image_w / c->patch_size);
}

int64_t tg_vit_param_count(const tg_vit_config *c) {
    int64_t d = c->d_model, f = c->d_ff, K = (int64_t)c->patch_size * c->patch_size * c->channels;
    int64_t T = n_patches_of(c) + (c->pool == TG_VIT_POOL_CLS);
    int64_t block = 2 * 2 * d             /* norm1, norm2 */
                    + 3 * d * d + 3 * d   /* attn.qkv */
                    + d * d + d           /* attn.proj */
                    + f * d + f + d * f + d; /* mlp.fc1, mlp.fc2 */
    return K * d + d                                  /* patch_embed.proj */
           + (c->pool == TG_VIT_POOL_CLS ? d : 0)     /* cls_token */
           + (c->pos == TG_VIT_POS_LEARNED ? T * d : 0) /* pos_embed */
           + c->depth * block + 2 * d                 /* blocks, norm */
           + (int64_t)c->n_classes * d + c->n_classes; /* head */
}

int tg_vit_config_format(const tg_vit_config *c, char *buf, size_t len) {
    return tg_config_format(&vit_schema, c, buf, len);
}

tg_status tg_vit_config_parse(const char *text, const char *what, tg_vit_config *cfg) {
    TG_CHECK(cfg, "tg_vit_config_parse", "cfg is NULL");
    tg_vit_config c = {0};
    tg_status st = tg_config_parse(&vit_schema, text, what ? what : "vit config", &c);
    if (st == TG_OK) *cfg = c;
    return st;
}

/* ---- the model ----------------------------------------------------------- */

/* allowed[i, j] for the local window: token t >= first is patch t − first at
 * grid (r, c) = ((t − first) / Wp, (t − first) % Wp); a patch sees patches
 * with |Δr|, |Δc| <= k/2; [CLS] (token 0 when first = 1) sees and is seen by
 * every token. */
static uint8_t *local_mask(int T, int first, int Wp, int k) {
    uint8_t *a = tg_xmalloc((size_t)T * T);
    int half = k / 2;
    for (int i = 0; i < T; i++)
        for (int j = 0; j < T; j++) {
            int ok = i < first || j < first;
            if (!ok) {
                int ri = (i - first) / Wp, ci = (i - first) % Wp;
                int rj = (j - first) / Wp, cj = (j - first) % Wp;
                ok = abs(ri - rj) <= half && abs(ci - cj) <= half;
            }
            a[(int64_t)i * T + j] = (uint8_t)ok;
        }
    return a;
}

/* timm's init_weights_vit_timm for one Linear: weight N(0, 0.02²), bias 0. */
static void init_linear_timm(tg_linear *l, tg_rng *rng) {
    tg_init_normal(l->weight, rng, 0.0f, 0.02f);
    if (l->bias) tg_init_constant(l->bias, 0.0f);
}

void tg_vit_init(tg_vit *m, tg_params *ps, const tg_vit_config *cfg, tg_rng *rng) {
    TG_CHECK(m && ps && cfg && rng, "tg_vit_init", "an argument is NULL");
    if (tg_vit_config_check(cfg) != TG_OK) TG_CHECK(0, "tg_vit_init", "%s", tg_last_error());
    *m = (tg_vit){.cfg = *cfg};
    int d = cfg->d_model, cls = cfg->pool == TG_VIT_POOL_CLS;
    m->n_patches = n_patches_of(cfg);
    m->n_tokens = m->n_patches + cls;
    int T = m->n_tokens;

    tg_patch_embed_init(&m->patch_embed, ps, "patch_embed.proj", cfg->patch_size,
                        cfg->channels, d, rng);
    if (cls) {
        m->cls_token = tg_params_new(ps, TG_SHAPE(1, 1, d), "cls_token");
        tg_init_normal(m->cls_token, rng, 0.0f, 1e-6f);
    }
    if (cfg->pos == TG_VIT_POS_LEARNED) {
        m->pos_embed = tg_params_new(ps, TG_SHAPE(1, T, d), "pos_embed");
        tg_init_normal(m->pos_embed, rng, 0.0f, 0.02f);
    } else {
        m->pos_table = tg_xmalloc((size_t)T * d * sizeof(float));
        tg_posenc_sinusoidal_table(m->pos_table, T, d);
    }
    tg_dropout_layer_init(&m->pos_drop, cfg->dropout, rng);

    /* cfg.rng is only a placeholder here: tg_vit_features points the dropout
     * layers at the caller's dropout_rng before each forward. */
    tg_block_config bc = {.d_model = d, .n_heads = cfg->n_heads, .d_ff = cfg->d_ff,
                          .dropout = cfg->dropout, .pre_ln = 1, .flags = TG_NN_BIAS,
                          .rng = rng, .timm_names = 1, .ln_eps = cfg->ln_eps};
    m->blocks = tg_xcalloc((size_t)cfg->depth * sizeof *m->blocks);
    for (int i = 0; i < cfg->depth; i++) {
        char prefix[TG_PARAM_NAME_MAX];
        snprintf(prefix, sizeof prefix, "blocks.%d", i);
        tg_encoder_block *blk = &m->blocks[i];
        tg_encoder_block_init(blk, ps, prefix, &bc, rng);
        init_linear_timm(&blk->self_attn.qkv, rng);
        init_linear_timm(&blk->self_attn.w_o, rng);
        init_linear_timm(&blk->mlp.fc1, rng);
        init_linear_timm(&blk->mlp.fc2, rng);
    }
    /* timm: "norm" before the CLS read-out; "fc_norm" after mean pooling */
    tg_layernorm_layer_init(&m->norm, ps, cls ? "norm" : "fc_norm", d, TG_NN_BIAS);
    m->norm.eps = cfg->ln_eps;
    tg_linear_init(&m->head, ps, "head", d, cfg->n_classes, TG_NN_BIAS, rng);
    init_linear_timm(&m->head, rng);

    if (cfg->local_window > 0) {
        m->allowed = local_mask(T, cls, cfg->image_w / cfg->patch_size, cfg->local_window);
        m->mask.allowed = m->allowed;
    }
}

void tg_vit_free(tg_vit *m) {
    if (!m) return;
    free(m->blocks);
    free(m->allowed);
    free(m->pos_table);
    *m = (tg_vit){0};
}

/* Points every dropout layer at the step's generator. */
static void set_dropout_rng(tg_vit *m, tg_rng *rng) {
    m->pos_drop.rng = rng;
    for (int i = 0; i < m->cfg.depth; i++) {
        m->blocks[i].drop.rng = rng;
        m->blocks[i].mlp.drop.rng = rng;
        m->blocks[i].cfg.rng = rng;
    }
}

/* z0 = [x_cls; patchify(x) E + b_E] + E_pos, then dropout: [B, T, d]. */
static tg_tensor *embed(tg_tape *tp, tg_vit *m, tg_tensor *images) {
    const tg_vit_config *c = &m->cfg;
    int B = images->shape[0], T = m->n_tokens, d = c->d_model;
    tg_tensor *x = tg_patch_embed_forward(tp, &m->patch_embed, images); /* [B, N, d] */
    if (m->cls_token) { /* the same learned token in front of every image's patches */
        tg_tensor *zeros = tg_tape_tensor(tp, TG_SHAPE(B, 1, d));
        tg_tensor *cls = tg_add(tp, zeros, m->cls_token); /* [B, 1, d]; grad sums over B */
        x = tg_concat(tp, 2, (tg_tensor *[]){cls, x}, 1);
    }
    if (m->pos_embed) {
        x = tg_add(tp, x, m->pos_embed);
    } else {
        tg_tensor *pe = tg_tape_tensor(tp, TG_SHAPE(T, d));
        memcpy(pe->data, m->pos_table, (size_t)T * d * sizeof(float));
        pe->name = "pos_table";
        x = tg_add(tp, x, pe);
    }
    return tg_dropout_layer_forward(tp, &m->pos_drop, x);
}

tg_tensor *tg_vit_features(tg_tape *tp, tg_vit *m, tg_tensor *images, tg_rng *dropout_rng) {
    const char *op = "tg_vit_features";
    TG_CHECK(tp && m && m->blocks, op, "tape or model is NULL or not initialised");
    TG_CHECK_TENSOR(op, images);
    const tg_vit_config *c = &m->cfg;
    TG_CHECK(images->ndim == 4 && images->shape[1] == c->image_h &&
                 images->shape[2] == c->image_w && images->shape[3] == c->channels,
             op, "images must be [B, %d, %d, %d], got %s", c->image_h, c->image_w, c->channels,
             TG_SHAPE_STR(images));
    TG_CHECK(c->dropout == 0.0f || !tg_tape_training(tp) || dropout_rng, op,
             "dropout %g in training mode needs a dropout_rng, got NULL", (double)c->dropout);
    set_dropout_rng(m, dropout_rng);
    int B = images->shape[0], d = c->d_model;
    tg_tensor *x = embed(tp, m, images);
    const tg_attn_mask *mask = m->allowed ? &m->mask : NULL;
    for (int i = 0; i < c->depth; i++) x = tg_encoder_block_forward(tp, &m->blocks[i], x, mask);
    if (m->cls_token) { /* LN(z_L)[:, 0]: LN is per token, so slice first */
        tg_tensor *z = tg_reshape(tp, tg_slice(tp, x, 1, 0, 1), TG_SHAPE(B, d));
        return tg_layernorm_layer_forward(tp, &m->norm, z);
    }
    /* mean over tokens: [B, T, d] -> [B, d, T] -> mean of the last dim, then fc_norm */
    tg_tensor *z = tg_mean_last(tp, tg_transpose(tp, x));
    return tg_layernorm_layer_forward(tp, &m->norm, z);
}

tg_tensor *tg_vit_forward(tg_tape *tp, tg_vit *m, tg_tensor *images, tg_rng *dropout_rng) {
    return tg_linear_forward(tp, &m->head, tg_vit_features(tp, m, images, dropout_rng));
}

tg_tensor *tg_vit_attention(tg_tape *tp, tg_vit *m, tg_tensor *images, float *attn) {
    TG_CHECK(tp && m && m->blocks && attn, "tg_vit_attention", "an argument is NULL");
    int grad = tg_tape_set_grad(tp, 0), training = tg_tape_set_training(tp, 0);
    for (int i = 0; i < m->cfg.depth; i++) m->blocks[i].self_attn.store_weights = 1;
    tg_tensor *logits = tg_vit_forward(tp, m, images, NULL);
    int64_t per = 0;
    for (int i = 0; i < m->cfg.depth; i++) {
        tg_mha *a = &m->blocks[i].self_attn;
        per = a->weights->size; /* B·H·T·T */
        memcpy(attn + i * per, a->weights->data, (size_t)per * sizeof(float));
        a->store_weights = 0;
        a->weights = NULL;
    }
    tg_tape_set_grad(tp, grad);
    tg_tape_set_training(tp, training);
    return logits;
}
