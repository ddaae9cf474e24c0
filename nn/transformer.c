/* nn/transformer.c — see nn/transformer.h. */
#include "nn/transformer.h"

#include "nn/internal.h"

static void check_config(const char *op, const char *prefix, const tg_block_config *cfg) {
    TG_CHECK(cfg, op, "%s: config is NULL", prefix);
    TG_CHECK(cfg->d_model >= 1 && cfg->n_heads >= 1 && cfg->d_ff >= 1, op,
             "%s: d_model, n_heads, d_ff must be >= 1, got %d, %d, %d", prefix, cfg->d_model,
             cfg->n_heads, cfg->d_ff);
    TG_CHECK(cfg->dropout >= 0.0f && cfg->dropout < 1.0f && (cfg->dropout == 0.0f || cfg->rng),
             op, "%s: dropout must be in [0, 1) and needs cfg.rng when > 0, got %g (rng %s)",
             prefix, (double)cfg->dropout, cfg->rng ? "set" : "NULL");
    TG_CHECK(cfg->ln_eps >= 0.0f, op, "%s: ln_eps must be >= 0 (0: 1e-5), got %g", prefix,
             (double)cfg->ln_eps);
}

/* A LayerNorm of the block, with the config's eps. */
static void init_ln(tg_layernorm_layer *ln, tg_params *ps, const char *name,
                    const tg_block_config *cfg) {
    tg_layernorm_layer_init(ln, ps, name, cfg->d_model, cfg->flags);
    if (cfg->ln_eps > 0.0f) ln->eps = cfg->ln_eps;
}

/* "<prefix>.<part>" into buf. */
static const char *sub(char *buf, const char *prefix, const char *part) {
    snprintf(buf, TG_PARAM_NAME_MAX, "%s.%s", prefix, part);
    return buf;
}

static void init_mha(tg_mha *m, tg_params *ps, const char *name, const tg_block_config *cfg,
                     tg_rng *rng) {
    unsigned flags = (cfg->flags & TG_NN_BIAS) | (cfg->timm_names ? TG_NN_PACKED_QKV : 0);
    tg_mha_init(m, ps, name, cfg->d_model, cfg->n_heads, flags, rng);
    m->use_composed = cfg->use_composed;
}

/* The two halves of one residual step around a sublayer f:
 *   pre-LN:  x + Drop(f(LN(x)))          post-LN:  LN(x + Drop(f(x)))
 * tg__block_norm_in gives f's input; tg__block_residual combines f's output
 * with x (declared in nn/transformer.h for nn/decode.c's cached steps). */
tg_tensor *tg__block_norm_in(tg_tape *tp, const tg_block_config *cfg,
                             const tg_layernorm_layer *ln, tg_tensor *x) {
    return cfg->pre_ln ? tg_layernorm_layer_forward(tp, ln, x) : x;
}

tg_tensor *tg__block_residual(tg_tape *tp, const tg_block_config *cfg,
                              const tg_layernorm_layer *ln, const tg_dropout_layer *drop,
                              tg_tensor *x, tg_tensor *fx) {
    tg_tensor *y = tg_add(tp, x, tg_dropout_layer_forward(tp, drop, fx));
    return cfg->pre_ln ? y : tg_layernorm_layer_forward(tp, ln, y);
}

void tg_encoder_block_init(tg_encoder_block *blk, tg_params *ps, const char *prefix,
                           const tg_block_config *cfg, tg_rng *rng) {
    TG_CHECK(blk && ps && prefix && rng, "tg_encoder_block_init", "an argument is NULL");
    check_config("tg_encoder_block_init", prefix, cfg);
    char b[TG_PARAM_NAME_MAX];
    blk->cfg = *cfg;
    int timm = cfg->timm_names;
    init_mha(&blk->self_attn, ps, sub(b, prefix, timm ? "attn" : "self_attn"), cfg, rng);
    init_ln(&blk->ln1, ps, sub(b, prefix, timm ? "norm1" : "ln1"), cfg);
    tg_mlp_init(&blk->mlp, ps, sub(b, prefix, "mlp"), cfg->d_model, cfg->d_ff, cfg->flags, 0.0f,
                rng);
    tg_dropout_layer_init(&blk->mlp.drop, cfg->dropout, cfg->rng);
    init_ln(&blk->ln2, ps, sub(b, prefix, timm ? "norm2" : "ln2"), cfg);
    tg_dropout_layer_init(&blk->drop, cfg->dropout, cfg->rng);
}

tg_tensor *tg_encoder_block_forward(tg_tape *tp, tg_encoder_block *blk, tg_tensor *x,
                                    const tg_attn_mask *mask) {
    TG_CHECK(blk, "tg_encoder_block_forward", "block is NULL");
    const tg_block_config *cfg = &blk->cfg;
    /* x = x + Drop(SelfAttn(LN1(x)))   or   x = LN1(x + Drop(SelfAttn(x))) */
    tg_tensor *h = tg__block_norm_in(tp, cfg, &blk->ln1, x);
    x = tg__block_residual(tp, cfg, &blk->ln1, &blk->drop, x,
                           tg_mha_forward(tp, &blk->self_attn, h, h, mask));
    /* x = x + Drop(MLP(LN2(x)))        or   x = LN2(x + Drop(MLP(x))) */
    h = tg__block_norm_in(tp, cfg, &blk->ln2, x);
    return tg__block_residual(tp, cfg, &blk->ln2, &blk->drop, x,
                              tg_mlp_forward(tp, &blk->mlp, h));
}

void tg_decoder_block_init(tg_decoder_block *blk, tg_params *ps, const char *prefix,
                           const tg_block_config *cfg, tg_rng *rng) {
    TG_CHECK(blk && ps && prefix && rng, "tg_decoder_block_init", "an argument is NULL");
    check_config("tg_decoder_block_init", prefix, cfg);
    TG_CHECK(!cfg->timm_names, "tg_decoder_block_init",
             "%s: timm_names is for encoder blocks (cross-attention cannot be packed)", prefix);
    char b[TG_PARAM_NAME_MAX];
    blk->cfg = *cfg;
    init_mha(&blk->self_attn, ps, sub(b, prefix, "self_attn"), cfg, rng);
    init_ln(&blk->ln1, ps, sub(b, prefix, "ln1"), cfg);
    init_mha(&blk->cross_attn, ps, sub(b, prefix, "cross_attn"), cfg, rng);
    init_ln(&blk->ln2, ps, sub(b, prefix, "ln2"), cfg);
    tg_mlp_init(&blk->mlp, ps, sub(b, prefix, "mlp"), cfg->d_model, cfg->d_ff, cfg->flags, 0.0f,
                rng);
    tg_dropout_layer_init(&blk->mlp.drop, cfg->dropout, cfg->rng);
    init_ln(&blk->ln3, ps, sub(b, prefix, "ln3"), cfg);
    tg_dropout_layer_init(&blk->drop, cfg->dropout, cfg->rng);
}

tg_tensor *tg_decoder_block_forward(tg_tape *tp, tg_decoder_block *blk, tg_tensor *y,
                                    tg_tensor *memory, const tg_attn_mask *self_mask,
                                    const tg_attn_mask *cross_mask) {
    TG_CHECK(blk, "tg_decoder_block_forward", "block is NULL");
    TG_CHECK_TENSOR("tg_decoder_block_forward", memory);
    const tg_block_config *cfg = &blk->cfg;
    /* masked self-attention over the target so far */
    tg_tensor *h = tg__block_norm_in(tp, cfg, &blk->ln1, y);
    y = tg__block_residual(tp, cfg, &blk->ln1, &blk->drop, y,
                           tg_mha_forward(tp, &blk->self_attn, h, h, self_mask));
    /* cross-attention: queries from the decoder, keys/values from the memory */
    h = tg__block_norm_in(tp, cfg, &blk->ln2, y);
    y = tg__block_residual(tp, cfg, &blk->ln2, &blk->drop, y,
                           tg_mha_forward(tp, &blk->cross_attn, h, memory, cross_mask));
    h = tg__block_norm_in(tp, cfg, &blk->ln3, y);
    return tg__block_residual(tp, cfg, &blk->ln3, &blk->drop, y,
                              tg_mlp_forward(tp, &blk->mlp, h));
}
