/* examples/translate/model.h — an encoder-decoder Transformer (Vaswani et
 * al. 2017) built from the blocks of nn/transformer.h:
 *
 *   source ids ── embedding ── + sinusoidal PE ── N_enc × encoder block (pre-LN) ── LayerNorm ── memory
 *   <bos> y1 … ── embedding ── + sinusoidal PE ── N_dec × decoder block (pre-LN,   ── LayerNorm ── Linear ── logits [B, Lt, V_tgt]
 *                                                   causal self-attention, cross-attention to memory)
 *
 * Separate source and target vocabularies and embeddings (N(0, 1), as
 * torch.nn.Embedding); the output layer is not tied.  Masks: source key
 * padding in the encoder and in every cross-attention; causal + target key
 * padding in the decoder's self-attention.  At test time the decoder runs
 * one token at a time with a key/value cache (nn/decode.h).
 */
#ifndef TRANSLATE_MODEL_H
#define TRANSLATE_MODEL_H

#include "core/error.h"
#include "nn/decode.h"
#include "nn/layers.h"
#include "nn/linear.h"
#include "core/params.h"
#include "nn/transformer.h"

#define TR_MAX_LAYERS 8

typedef struct {
    int src_vocab, tgt_vocab;    /* from the vocabularies */
    int d_model, n_heads, d_ff;  /* C, H, MLP width */
    int n_enc, n_dec;            /* blocks */
    float dropout;               /* on every sublayer output and after the MLP's GELU */
} tr_config;

typedef struct {
    tr_config cfg;
    tg_params ps;
    tg_embedding_layer src_emb, tgt_emb;
    tg_encoder_block enc[TR_MAX_LAYERS];
    tg_decoder_block dec[TR_MAX_LAYERS];
    tg_layernorm_layer enc_ln, dec_ln;
    tg_linear head;              /* C -> V_tgt */
    tg_rng drop_rng;             /* dropout masks */
} tr_model;

/* Parameters "src_emb.weight", "tgt_emb.weight", "encoder.layers.<i>.*",
 * "encoder.norm.*", "decoder.layers.<i>.*", "decoder.norm.*", "head.*",
 * drawn from seed.  Errors: a config out of range aborts. */
void tr_model_init(tr_model *m, const tr_config *cfg, uint64_t seed);
void tr_model_free(tr_model *m);

/* src [B, Ls] ids, src_real [B, Ls] (1 = token) -> memory [B, Ls, C]. */
tg_tensor *tr_encode(tg_tape *tp, tr_model *m, const int32_t *src, const uint8_t *src_real, int B,
                     int Ls);
/* Teacher forcing: dec_in [B, Lt] (<bos> y1 … y_{n}, padded), tgt_real
 * [B, Lt] or NULL -> logits [B, Lt, V_tgt]. */
tg_tensor *tr_decode(tg_tape *tp, tr_model *m, tg_tensor *memory, const uint8_t *src_real,
                     const int32_t *dec_in, const uint8_t *tgt_real, int B, int Lt);

/* Incremental decoding state for B rows (sentences, or the beams of one
 * sentence): a key/value cache per decoder block and the cross-attention
 * keys/values of the memory.  tr_stepper_decoder gives the tg_decoder that
 * tg_greedy_decode / tg_beam_search drive. */
typedef struct {
    tr_model *m;
    int B;
    tg_kv_cache cache[TR_MAX_LAYERS];
    tg_cross_kv cross[TR_MAX_LAYERS];
} tr_stepper;

/* memory [B0, Ls, C] of B0 sources, each repeated `repeat` times (beams):
 * B = B0·repeat rows, at most max_len tokens each.  Heap until tr_stepper_free. */
void tr_stepper_init(tr_stepper *s, tr_model *m, tg_tape *tp, const tg_tensor *memory,
                     const uint8_t *src_real, int repeat, int max_len);
void tr_stepper_free(tr_stepper *s);
tg_decoder tr_stepper_decoder(tr_stepper *s);

/* The configuration as a JSON object (malloc'd) and back (TG_ERR_FORMAT
 * "model config: ..." on a missing or bad field). */
char *tr_config_to_json(const tr_config *cfg);
tg_status tr_config_from_json(const char *json, tr_config *cfg);

#endif
