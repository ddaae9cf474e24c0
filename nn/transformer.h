/* nn/transformer.h — Transformer encoder and decoder blocks (Vaswani et al.
 * 2017, §3.1), with post-LN (the original) or pre-LN (Xiong et al. 2020)
 * placement of the LayerNorms.
 *
 *   tg_block_config cfg = {.d_model = 64, .n_heads = 4, .d_ff = 256, .pre_ln = 1,
 *                          .flags = TG_NN_BIAS, .dropout = 0.1f, .rng = &drop_rng};
 *   tg_encoder_block enc;  tg_decoder_block dec;
 *   tg_encoder_block_init(&enc, &ps, "encoder.layers.0", &cfg, &rng);
 *   tg_decoder_block_init(&dec, &ps, "decoder.layers.0", &cfg, &rng);
 *   tg_attn_mask src = {.key_padding = src_real};               // [B, Ls]
 *   tg_attn_mask tgt = {.causal = 1, .key_padding = tgt_real};  // [B, Lt]
 *   tg_tensor *memory = tg_encoder_block_forward(tp, &enc, x, &src);       // [B, Ls, C]
 *   tg_tensor *h = tg_decoder_block_forward(tp, &dec, y, memory, &tgt, &src);  // [B, Lt, C]
 *
 * Sublayer(x) is attention or the MLP; Drop is dropout on its output:
 *   post-LN:  x = LN(x + Drop(Sublayer(x)))
 *   pre-LN:   x = x + Drop(Sublayer(LN(x)))
 * A pre-LN stack needs one more LayerNorm after its last block (the
 * model's job, as torch's TransformerEncoder(norm=...)).
 */
#ifndef TG_NN_TRANSFORMER_H
#define TG_NN_TRANSFORMER_H

#include "nn/attention.h"
#include "nn/layers.h"

typedef struct tg_block_config {
    int d_model;      /* C */
    int n_heads;      /* H, dividing C */
    int d_ff;         /* hidden width of the MLP (e.g. 4·C) */
    float dropout;    /* p on each sublayer's output and after the MLP's GELU; 0: none */
    int pre_ln;       /* 1: pre-LN (Xiong et al. 2020); 0: post-LN (Vaswani et al.) */
    unsigned flags;   /* TG_NN_BIAS: biases in every Linear and LayerNorm */
    int use_composed; /* 1: composed attention (separate tape nodes); 0: fused (default).
                         Read at init: afterwards set blk.self_attn.use_composed etc. */
    tg_rng *rng;      /* dropout masks (not owned); may be NULL when dropout == 0 */
    int timm_names;   /* encoder block only: 1 = timm's ViT Block names and a packed
                         Q/K/V projection (attn.qkv, attn.proj, norm1, norm2, mlp.*);
                         0 = the names below (default) */
    float ln_eps;     /* LayerNorm eps; 0 means 1e-5 (torch's default) */
} tg_block_config;

/* Encoder block: self-attention, MLP.  Parameter names under prefix:
 *   self_attn.{w_q,w_k,w_v,w_o}.{weight,bias}, ln1.{weight,bias},
 *   mlp.fc1.{weight,bias}, mlp.fc2.{weight,bias}, ln2.{weight,bias}
 * (ln1 precedes/follows the attention, ln2 the MLP; docs/layers.md maps them
 * to torch.nn.TransformerEncoderLayer's self_attn, linear1/2, norm1/2).
 * With cfg.timm_names (timm's VisionTransformer Block):
 *   attn.qkv.{weight [3C, C],bias}, attn.proj.*, norm1.*, mlp.fc1.*, mlp.fc2.*, norm2.*
 * (self_attn is then a packed tg_mha, TG_NN_PACKED_QKV). */
typedef struct tg_encoder_block {
    tg_block_config cfg;
    tg_mha self_attn;
    tg_layernorm_layer ln1, ln2;
    tg_mlp mlp;
    tg_dropout_layer drop;
} tg_encoder_block;

/* Init: the sublayers' inits (tg_mha_init, tg_mlp_init, LayerNorm 1/0),
 * drawn from rng in creation order.  Errors: a bad config (d_model not
 * divisible by n_heads, dims < 1, dropout outside [0, 1) or > 0 without
 * cfg->rng) aborts. */
void tg_encoder_block_init(tg_encoder_block *blk, tg_params *ps, const char *prefix,
                           const tg_block_config *cfg, tg_rng *rng);
/* x [B, L, C] -> [B, L, C].  mask (may be NULL): usually the source key
 * padding {.key_padding = real [B, L]}. */
tg_tensor *tg_encoder_block_forward(tg_tape *tp, tg_encoder_block *blk, tg_tensor *x,
                                    const tg_attn_mask *mask);

/* Decoder block: masked self-attention, cross-attention over the encoder's
 * memory, MLP.  Names under prefix: self_attn.*, ln1.*, cross_attn.*, ln2.*,
 * mlp.*, ln3.* (torch: self_attn, multihead_attn, linear1/2, norm1/2/3). */
typedef struct tg_decoder_block {
    tg_block_config cfg;
    tg_mha self_attn, cross_attn;
    tg_layernorm_layer ln1, ln2, ln3;
    tg_mlp mlp;
    tg_dropout_layer drop;
} tg_decoder_block;

void tg_decoder_block_init(tg_decoder_block *blk, tg_params *ps, const char *prefix,
                           const tg_block_config *cfg, tg_rng *rng);
/* y [B, Lt, C], memory [B, Ls, C] -> [B, Lt, C].
 * self_mask over [Lt, Lt]: usually {.causal = 1, .key_padding = tgt_real [B, Lt]};
 * cross_mask over [Lt, Ls]: usually {.key_padding = src_real [B, Ls]}.
 * Either may be NULL.  Errors: shapes that do not fit abort. */
tg_tensor *tg_decoder_block_forward(tg_tape *tp, tg_decoder_block *blk, tg_tensor *y,
                                    tg_tensor *memory, const tg_attn_mask *self_mask,
                                    const tg_attn_mask *cross_mask);

#endif
