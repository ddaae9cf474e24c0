/* examples/charlm/model.h — a decoder-only character Transformer (GPT-2's
 * layout at nanoGPT's small CPU size, workload W4): token + learned position
 * embeddings, n_layer pre-LN blocks with causal self-attention and a 4×
 * GELU MLP, a final LayerNorm, the output head tied to the token embedding
 * (logits = h · Eᵀ, Press & Wolf 2017).  No biases (flags 0: Linear and
 * LayerNorm without bias), dropout 0.
 *
 * Two ways to run it: charlm_forward over whole windows [B, T] (teacher
 * forcing, training and evaluation) and charlm_step, one new token per row
 * through the key/value caches of nn/decode.h (sampling), equal to the
 * last row of charlm_forward over the prefix. */
#ifndef CHARLM_MODEL_H
#define CHARLM_MODEL_H

#include "tapegrad.h"

#define CHARLM_MAX_LAYERS 16
/* Bounds of a configuration (charlm_config_check, charlm_config_from_json). */
#define CHARLM_MAX_VOCAB (1 << 20)
#define CHARLM_MAX_BLOCK (1 << 16)
#define CHARLM_MAX_D_MODEL (1 << 14)
/* Most characters `charlm sample` takes as a prompt and generates. */
#define CHARLM_MAX_SAMPLE (1 << 24)

typedef struct charlm_config {
    int vocab;      /* V */
    int block_size; /* T: the longest context (learned position table) */
    int n_layer, n_head, d_model;
} charlm_config;

typedef struct charlm {
    charlm_config cfg;
    tg_params ps;
    tg_embedding_layer tok; /* [V, C], also the output head */
    tg_posenc_learned pos;  /* [T, C] */
    tg_encoder_block blk[CHARLM_MAX_LAYERS];
    tg_layernorm_layer ln_f;
    tg_kv_cache cache[CHARLM_MAX_LAYERS]; /* for charlm_step; batch 0 until charlm_cache_init */
} charlm;

/* Builds the parameters and initialises them as GPT-2 / nanoGPT: every
 * matrix N(0, 0.02²), the residual output projections (w_o, fc2)
 * N(0, (0.02/√(2·n_layer))²), LayerNorm gains 1.  Errors: a bad config
 * aborts. */
void charlm_init(charlm *m, const charlm_config *cfg, uint64_t seed);
void charlm_free(charlm *m);

/* ids [B, T] (T <= block_size) -> logits [B, T, V] on tp. */
tg_tensor *charlm_forward(tg_tape *tp, charlm *m, const int32_t *ids, int B, int T);

/* Caches for B rows of up to block_size positions (frees earlier ones). */
void charlm_cache_init(charlm *m, int B);
void charlm_cache_reset(charlm *m);
/* Positions held by the caches. */
int charlm_cache_len(const charlm *m);

/* The tg_decoder step: feeds ids[0..B) at position charlm_cache_len and
 * returns logits [B, 1, V] (model is a charlm *). */
tg_tensor *charlm_step(tg_tape *tp, void *model, const int32_t *ids, int B);
/* The tg_decoder reorder: every cache follows src. */
void charlm_reorder(void *model, const int32_t *src, int B);

/* The configuration as a JSON object string (malloc'd) for the checkpoint
 * metadata, and back, by the field table of core/config.h (each field with
 * its CHARLM_MAX_* bounds: vocab 1.., block_size 2.., d_model 1.., n_layer
 * 1..CHARLM_MAX_LAYERS, n_head 1.. dividing d_model). */
char *charlm_config_to_json(const charlm_config *cfg);
/* Checks every field against those bounds.  Returns TG_OK or TG_ERR_ARG
 * "what: n_layer: expected an integer in 1..16, found 100"; never aborts. */
tg_status charlm_config_check(const charlm_config *cfg, const char *what);
/* Parses json (every key exactly once, no other key, the bounds above).
 * Returns TG_OK, or TG_ERR_FORMAT "what: ..." and leaves *cfg untouched. */
tg_status charlm_config_from_json(const char *what, const char *json, charlm_config *cfg);

/* Loads a checkpoint written by `charlm train` into a new model *m and its
 * character vocabulary *v (both owned by the caller afterwards:
 * charlm_free, tg_char_vocab_free).  Checks, before anything is allocated
 * from them, the metadata (charlm.config within the CHARLM_MAX_* bounds,
 * charlm.vocab of the config's size) and, reading only the header, the
 * shapes of the tensors that carry each dimension, so a few-KB file cannot
 * make it allocate gigabytes.  Errors: TG_ERR_FORMAT / TG_ERR_SHAPE /
 * TG_ERR_NOT_FOUND / TG_ERR_IO "path: ..." from tg_checkpoint_*; then *m
 * and *v are untouched. */
tg_status charlm_load(const char *path, charlm *m, tg_char_vocab *v);

#endif
