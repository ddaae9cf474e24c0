/* examples/translate/model.c — see model.h. */
#include "examples/translate/model.h"

#include <string.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/config.h"
#include "nn/posenc.h"
#include "train/checkpoint.h"
#include "train/dist.h"

/* torch.nn.MultiheadAttention draws W_q, W_k, W_v as one packed [3C, C]
 * Xavier matrix (bound √(6/4C)); tg_mha draws each [C, C] (bound √(6/2C)).
 * Scaling by 1/√2 gives torch's distribution, as the PyTorch peer has. */
static void torch_qkv_scale(tg_mha *a) {
    tg_tensor *w[3] = {a->w_q.weight, a->w_k.weight, a->w_v.weight};
    for (int i = 0; i < 3; i++)
        for (int64_t j = 0; j < w[i]->size; j++) w[i]->data[j] *= 0.70710678f;
}

void tr_model_init(tr_model *m, const tr_config *cfg, uint64_t seed) {
    TG_CHECK(cfg->n_enc >= 1 && cfg->n_enc <= TR_MAX_LAYERS && cfg->n_dec >= 1 &&
                 cfg->n_dec <= TR_MAX_LAYERS && cfg->src_vocab > 4 && cfg->tgt_vocab > 4,
             "tr_model_init", "layers %d/%d (1..%d), vocabularies %d/%d", cfg->n_enc, cfg->n_dec,
             TR_MAX_LAYERS, cfg->src_vocab, cfg->tgt_vocab);
    memset(m, 0, sizeof *m);
    m->cfg = *cfg;
    tg_rng rng;
    tg_rng_seed(&rng, seed);
    tg_rng_seed(&m->drop_rng, seed ^ 0x9e3779b97f4a7c15ull);
    tg_params_init(&m->ps);
    tg_block_config bc = {.d_model = cfg->d_model, .n_heads = cfg->n_heads, .d_ff = cfg->d_ff,
                          .pre_ln = 1, .flags = TG_NN_BIAS, .dropout = cfg->dropout,
                          .rng = &m->drop_rng};
    char name[64];
    tg_embedding_layer_init(&m->src_emb, &m->ps, "src_emb", cfg->src_vocab, cfg->d_model, &rng);
    tg_embedding_layer_init(&m->tgt_emb, &m->ps, "tgt_emb", cfg->tgt_vocab, cfg->d_model, &rng);
    for (int l = 0; l < cfg->n_enc; l++) {
        snprintf(name, sizeof name, "encoder.layers.%d", l);
        tg_encoder_block_init(&m->enc[l], &m->ps, name, &bc, &rng);
        torch_qkv_scale(&m->enc[l].self_attn);
    }
    tg_layernorm_layer_init(&m->enc_ln, &m->ps, "encoder.norm", cfg->d_model, TG_NN_BIAS);
    for (int l = 0; l < cfg->n_dec; l++) {
        snprintf(name, sizeof name, "decoder.layers.%d", l);
        tg_decoder_block_init(&m->dec[l], &m->ps, name, &bc, &rng);
        torch_qkv_scale(&m->dec[l].self_attn);
        torch_qkv_scale(&m->dec[l].cross_attn);
    }
    tg_layernorm_layer_init(&m->dec_ln, &m->ps, "decoder.norm", cfg->d_model, TG_NN_BIAS);
    tg_linear_init(&m->head, &m->ps, "head", cfg->d_model, cfg->tgt_vocab, TG_NN_BIAS, &rng);
}

void tr_model_free(tr_model *m) { tg_params_free(&m->ps); }

tg_tensor *tr_encode(tg_tape *tp, tr_model *m, const int32_t *src, const uint8_t *src_real, int B,
                     int Ls) {
    tg_attn_mask mask = {.key_padding = src_real};
    tg_tensor *x = tg_embedding_layer_forward(tp, &m->src_emb, src, TG_SHAPE(B, Ls));
    x = tg_posenc_sinusoidal(tp, x);
    for (int l = 0; l < m->cfg.n_enc; l++) x = tg_encoder_block_forward(tp, &m->enc[l], x, &mask);
    return tg_layernorm_layer_forward(tp, &m->enc_ln, x);
}

tg_tensor *tr_decode(tg_tape *tp, tr_model *m, tg_tensor *memory, const uint8_t *src_real,
                     const int32_t *dec_in, const uint8_t *tgt_real, int B, int Lt) {
    tg_attn_mask self_mask = {.causal = 1, .key_padding = tgt_real};
    tg_attn_mask cross_mask = {.key_padding = src_real};
    tg_tensor *y = tg_embedding_layer_forward(tp, &m->tgt_emb, dec_in, TG_SHAPE(B, Lt));
    y = tg_posenc_sinusoidal(tp, y);
    for (int l = 0; l < m->cfg.n_dec; l++)
        y = tg_decoder_block_forward(tp, &m->dec[l], y, memory, &self_mask, &cross_mask);
    return tg_linear_forward(tp, &m->head, tg_layernorm_layer_forward(tp, &m->dec_ln, y));
}

/* ---- incremental decoding ------------------------------------------------- */

void tr_stepper_init(tr_stepper *s, tr_model *m, tg_tape *tp, const tg_tensor *memory,
                     const uint8_t *src_real, int repeat, int max_len) {
    memset(s, 0, sizeof *s);
    s->m = m;
    s->B = memory->shape[0] * repeat;
    for (int l = 0; l < m->cfg.n_dec; l++) {
        tg_kv_cache_init(&s->cache[l], max_len, s->B, m->cfg.d_model, 0);
        tg_cross_kv_init(&s->cross[l], tp, &m->dec[l].cross_attn, memory, src_real, repeat);
    }
}

void tr_stepper_free(tr_stepper *s) {
    for (int l = 0; l < s->m->cfg.n_dec; l++) {
        tg_kv_cache_free(&s->cache[l]);
        tg_cross_kv_free(&s->cross[l]);
    }
}

/* One token per row at position cache[0].len -> logits [B, 1, V]. */
static tg_tensor *step(tg_tape *tp, void *model, const int32_t *ids, int B) {
    tr_stepper *s = model;
    tr_model *m = s->m;
    int pos = s->cache[0].len;
    tg_tensor *y = tg_embedding_layer_forward(tp, &m->tgt_emb, ids, TG_SHAPE(B, 1));
    y = tg_posenc_sinusoidal_at(tp, y, pos);
    for (int l = 0; l < m->cfg.n_dec; l++)
        y = tg_decoder_block_step(tp, &m->dec[l], y, &s->cache[l], &s->cross[l]);
    return tg_linear_forward(tp, &m->head, tg_layernorm_layer_forward(tp, &m->dec_ln, y));
}

/* Beams: the self-attention caches follow their hypotheses; the cross
 * keys/values are the same for every beam of a sentence. */
static void reorder(void *model, const int32_t *src, int B) {
    tr_stepper *s = model;
    (void)B;
    for (int l = 0; l < s->m->cfg.n_dec; l++) tg_kv_cache_reorder(&s->cache[l], src);
}

tg_decoder tr_stepper_decoder(tr_stepper *s) {
    return (tg_decoder){.model = s, .vocab = s->m->cfg.tgt_vocab, .step = step, .reorder = reorder};
}

/* ---- configuration (checkpoint metadata) ---------------------------------- */

static tg_status tr_cross_check(const void *cfg, const char *what) {
    const tr_config *c = cfg;
    if (c->d_model % c->n_heads)
        return tg_set_error(TG_ERR_ARG, "%s: n_heads %d does not divide d_model %d", what, c->n_heads, c->d_model);
    return TG_OK;
}

/* Every field in the range tr_model_init and the blocks accept. */
#define WIDTH(f, lo) TG_CONFIG_INT(tr_config, f, lo, TR_MAX_WIDTH)
#define LAYERS(f) TG_CONFIG_INT(tr_config, f, 1, TR_MAX_LAYERS)
static const tg_config_field tr_config_fields[] = {
    WIDTH(src_vocab, 5), WIDTH(tgt_vocab, 5), WIDTH(d_model, 1), WIDTH(n_heads, 1), WIDTH(d_ff, 1),
    LAYERS(n_enc), LAYERS(n_dec), TG_CONFIG_FLOAT(tr_config, dropout, 0, 1, TG_CONFIG_HI_OPEN),
};
#undef WIDTH
#undef LAYERS
static const tg_config_schema tr_schema = TG_CONFIG_SCHEMA(tr_config, tr_config_fields, tr_cross_check);

char *tr_config_to_json(const tr_config *cfg) { return tg_config_to_string(&tr_schema, cfg); }

tg_status tr_config_check(const tr_config *c) { return tg_config_check(&tr_schema, c, "model config"); }

tg_status tr_config_from_json(const char *json, tr_config *cfg) {
    return tg_config_parse(&tr_schema, json, "model config", cfg);
}

/* ---- loading a checkpoint ------------------------------------------------- */

tg_status tr_model_load(const char *path, tr_model *m, tg_vocab *src_v, tg_vocab *tgt_v) {
    char *kind = NULL, *cfg_s = NULL;
    tr_config cfg;
    tg_vocab sv = {0}, tv = {0};
    tg_status st = tg_checkpoint_read_metadata(path, "model", &kind);
    if (st == TG_OK && strcmp(kind, "translate"))
        st = tg_set_error(TG_ERR_FORMAT, "%s: metadata model '%s': expected 'translate' (a checkpoint of another model?)",
                          path, kind);
    if (st == TG_OK) st = tg_checkpoint_read_metadata(path, "config", &cfg_s);
    if (st == TG_OK && tr_config_from_json(cfg_s, &cfg) != TG_OK) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", tg_last_error());
        st = tg_set_error(TG_ERR_FORMAT, "%s: metadata config: %s", path, msg);
    }
    free(kind);
    free(cfg_s);
    if (st == TG_OK) st = tg_checkpoint_read_vocab(path, "src_vocab", TG_VOCAB_SEQ, cfg.src_vocab, &sv);
    if (st == TG_OK && (st = tg_checkpoint_read_vocab(path, "tgt_vocab", TG_VOCAB_SEQ, cfg.tgt_vocab, &tv)) != TG_OK) tg_vocab_free(&sv);
    if (st != TG_OK) return st;
    /* every dimension of the config, checked in the header before allocating */
    tg_ckpt_shape w[3 + 2 * TR_MAX_LAYERS];
    int n = 0;
    w[n++] = (tg_ckpt_shape){"src_emb.weight", 2, {cfg.src_vocab, cfg.d_model}};
    w[n++] = (tg_ckpt_shape){"tgt_emb.weight", 2, {cfg.tgt_vocab, cfg.d_model}};
    for (int l = 0; l < cfg.n_enc + cfg.n_dec; l++) {
        tg_ckpt_shape *x = &w[n++];
        snprintf(x->name, sizeof x->name, "%s.layers.%d.mlp.fc1.weight", l < cfg.n_enc ? "encoder" : "decoder",
                 l < cfg.n_enc ? l : l - cfg.n_enc);
        x->ndim = 2, x->shape[0] = cfg.d_ff, x->shape[1] = cfg.d_model;
    }
    w[n++] = (tg_ckpt_shape){"head.weight", 2, {cfg.tgt_vocab, cfg.d_model}};
    tr_model mm;
    if ((st = tg_checkpoint_expect_shapes(path, n, w)) == TG_OK) {
        tr_model_init(&mm, &cfg, 1);
        if ((st = tg_dist_checkpoint_load(path, &mm.ps, NULL)) != TG_OK) tr_model_free(&mm);
    }
    if (st != TG_OK) {
        tg_vocab_free(&sv);
        tg_vocab_free(&tv);
        return st;
    }
    *m = mm;
    *src_v = sv;
    *tgt_v = tv;
    return TG_OK;
}
