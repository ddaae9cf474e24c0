/* examples/charlm/model.c — see model.h. */
#include "examples/charlm/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static tg_block_config block_config(const charlm_config *c) {
    return (tg_block_config){.d_model = c->d_model, .n_heads = c->n_head, .d_ff = 4 * c->d_model,
                             .pre_ln = 1, .flags = 0 /* no biases */};
}

void charlm_init(charlm *m, const charlm_config *cfg, uint64_t seed) {
    TG_CHECK(cfg->n_layer >= 1 && cfg->n_layer <= CHARLM_MAX_LAYERS, "charlm_init",
             "n_layer must be in [1, %d], got %d", CHARLM_MAX_LAYERS, cfg->n_layer);
    *m = (charlm){.cfg = *cfg};
    tg_rng rng;
    tg_rng_seed(&rng, seed);
    tg_params_init(&m->ps);
    int C = cfg->d_model;
    tg_embedding_layer_init(&m->tok, &m->ps, "tok_emb", cfg->vocab, C, &rng);
    tg_posenc_learned_init(&m->pos, &m->ps, "pos_emb", cfg->block_size, C, &rng);
    tg_block_config bc = block_config(cfg);
    for (int l = 0; l < cfg->n_layer; l++) {
        char name[32];
        snprintf(name, sizeof name, "blocks.%d", l);
        tg_encoder_block_init(&m->blk[l], &m->ps, name, &bc, &rng);
    }
    tg_layernorm_layer_init(&m->ln_f, &m->ps, "ln_f", C, 0);
    /* GPT-2 init (Radford et al. 2019, §2.3): N(0, 0.02²), residual
     * projections scaled by 1/√(2·n_layer) */
    float std_res = 0.02f / sqrtf(2.0f * (float)cfg->n_layer);
    tg_init_normal(m->tok.weight, &rng, 0.0f, 0.02f);
    tg_init_normal(m->pos.weight, &rng, 0.0f, 0.02f);
    for (int l = 0; l < cfg->n_layer; l++) {
        tg_encoder_block *b = &m->blk[l];
        tg_init_normal(b->self_attn.w_q.weight, &rng, 0.0f, 0.02f);
        tg_init_normal(b->self_attn.w_k.weight, &rng, 0.0f, 0.02f);
        tg_init_normal(b->self_attn.w_v.weight, &rng, 0.0f, 0.02f);
        tg_init_normal(b->self_attn.w_o.weight, &rng, 0.0f, std_res);
        tg_init_normal(b->mlp.fc1.weight, &rng, 0.0f, 0.02f);
        tg_init_normal(b->mlp.fc2.weight, &rng, 0.0f, std_res);
    }
}

void charlm_free(charlm *m) {
    for (int l = 0; l < m->cfg.n_layer; l++) tg_kv_cache_free(&m->cache[l]);
    tg_params_free(&m->ps);
}

/* h [B, T, C] -> logits [B, T, V]: final LayerNorm, then the tied head h·Eᵀ. */
static tg_tensor *head(tg_tape *tp, charlm *m, tg_tensor *h) {
    return tg_matmul(tp, tg_layernorm_layer_forward(tp, &m->ln_f, h), m->tok.weight, 0, 1);
}

tg_tensor *charlm_forward(tg_tape *tp, charlm *m, const int32_t *ids, int B, int T) {
    tg_attn_mask causal = {.causal = 1};
    tg_tensor *x = tg_embedding_layer_forward(tp, &m->tok, ids, TG_SHAPE(B, T));
    x = tg_posenc_learned_forward(tp, &m->pos, x);
    for (int l = 0; l < m->cfg.n_layer; l++) x = tg_encoder_block_forward(tp, &m->blk[l], x, &causal);
    return head(tp, m, x);
}

void charlm_cache_init(charlm *m, int B) {
    for (int l = 0; l < m->cfg.n_layer; l++) {
        tg_kv_cache_free(&m->cache[l]);
        tg_kv_cache_init(&m->cache[l], m->cfg.block_size, B, m->cfg.d_model, 0);
    }
}

void charlm_cache_reset(charlm *m) {
    for (int l = 0; l < m->cfg.n_layer; l++) tg_kv_cache_reset(&m->cache[l]);
}

int charlm_cache_len(const charlm *m) { return m->cache[0].len; }

tg_tensor *charlm_step(tg_tape *tp, void *model, const int32_t *ids, int B) {
    charlm *m = model;
    tg_tensor *x = tg_embedding_layer_forward(tp, &m->tok, ids, TG_SHAPE(B, 1));
    x = tg_posenc_learned_at(tp, &m->pos, x, charlm_cache_len(m));
    for (int l = 0; l < m->cfg.n_layer; l++) x = tg_encoder_block_step(tp, &m->blk[l], x, &m->cache[l]);
    return head(tp, m, x);
}

void charlm_reorder(void *model, const int32_t *src, int B) {
    charlm *m = model;
    (void)B;
    for (int l = 0; l < m->cfg.n_layer; l++) tg_kv_cache_reorder(&m->cache[l], src);
}

/* ---- configuration (checkpoint metadata) ---------------------------------- */

static tg_status charlm_cross_check(const void *cfg, const char *what) {
    const charlm_config *c = cfg;
    if (c->d_model % c->n_head)
        return tg_set_error(TG_ERR_ARG, "%s: n_head %d does not divide d_model %d", what, c->n_head, c->d_model);
    return TG_OK;
}

static const tg_config_field charlm_config_fields[] = {
    TG_CONFIG_INT(charlm_config, vocab, 1, CHARLM_MAX_VOCAB),
    TG_CONFIG_INT(charlm_config, block_size, 2, CHARLM_MAX_BLOCK),
    TG_CONFIG_INT(charlm_config, n_layer, 1, CHARLM_MAX_LAYERS),
    TG_CONFIG_INT(charlm_config, n_head, 1, CHARLM_MAX_D_MODEL),
    TG_CONFIG_INT(charlm_config, d_model, 1, CHARLM_MAX_D_MODEL),
};
static const tg_config_schema charlm_schema = TG_CONFIG_SCHEMA(charlm_config, charlm_config_fields, charlm_cross_check);

char *charlm_config_to_json(const charlm_config *c) { return tg_config_to_string(&charlm_schema, c); }

tg_status charlm_config_check(const charlm_config *c, const char *what) {
    return tg_config_check(&charlm_schema, c, what);
}

tg_status charlm_config_from_json(const char *what, const char *json, charlm_config *cfg) {
    return tg_config_parse(&charlm_schema, json, what, cfg);
}

tg_status charlm_load(const char *path, charlm *m, tg_char_vocab *v) {
    char *cfg_s = NULL, *vocab_s = NULL;
    charlm_config cfg;
    tg_char_vocab vv;
    tg_status st = tg_checkpoint_read_metadata(path, "charlm.config", &cfg_s);
    if (st == TG_OK) {
        char name[512];
        snprintf(name, sizeof name, "%s: metadata charlm.config", path);
        st = charlm_config_from_json(name, cfg_s, &cfg);
    }
    free(cfg_s);
    if (st == TG_OK) st = tg_checkpoint_read_metadata(path, "charlm.vocab", &vocab_s);
    if (st == TG_OK) {
        char name[512];
        snprintf(name, sizeof name, "%s: charlm.vocab", path);
        st = tg_char_vocab_from_string(name, vocab_s, &vv);
        if (st == TG_OK && vv.size != cfg.vocab) {
            st = tg_set_error(TG_ERR_FORMAT, "%s: charlm.vocab holds %d characters, the config says vocab %d",
                              path, vv.size, cfg.vocab);
            tg_char_vocab_free(&vv);
        }
    }
    free(vocab_s);
    if (st != TG_OK) return st;
    /* every dimension of the config, checked in the header before allocating */
    const int C = cfg.d_model;
    tg_ckpt_shape w[2 + CHARLM_MAX_LAYERS];
    int n = 0;
    w[n++] = (tg_ckpt_shape){"tok_emb.weight", 2, {cfg.vocab, C}};
    w[n++] = (tg_ckpt_shape){"pos_emb.weight", 2, {cfg.block_size, C}};
    for (int l = 0; l < cfg.n_layer; l++) {
        tg_ckpt_shape *x = &w[n++];
        snprintf(x->name, sizeof x->name, "blocks.%d.mlp.fc1.weight", l);
        x->ndim = 2, x->shape[0] = 4 * C, x->shape[1] = C;
    }
    charlm mm;
    if ((st = tg_checkpoint_expect_shapes(path, n, w)) == TG_OK) {
        charlm_init(&mm, &cfg, 0);
        if ((st = tg_checkpoint_load(path, &mm.ps, NULL)) != TG_OK) charlm_free(&mm);
    }
    if (st != TG_OK) {
        tg_char_vocab_free(&vv);
        return st;
    }
    *m = mm;
    *v = vv;
    return TG_OK;
}
