/* examples/pos_tagger/model.h — the tagger: words and their characters in,
 * 17 UPOS logits per word out.
 *
 *   word  ──emb──────────────────────────────┐
 *   chars ──emb── conv(width 3) ── ReLU ── attention pooling ──┤ concat [Dw + F]
 *                                                              │ Linear → d_model, + sinusoidal PE
 *                                     N × Transformer encoder block (pre-LN, key padding mask)
 *                                     LayerNorm ── Linear → 17 UPOS logits
 *
 * The character view gives unseen words a representation (suffixes such as
 * -ly, -ing, capitalisation, digits); self-attention lets each tag depend on
 * the whole sentence ("I saw a saw": VERB then NOUN).
 */
#ifndef POS_MODEL_H
#define POS_MODEL_H

#include "examples/pos_tagger/corpus.h"
#include "nn/layers.h"
#include "nn/linear.h"
#include "core/params.h"
#include "nn/posenc.h"
#include "nn/transformer.h"

typedef struct {
    int word_vocab, char_vocab;  /* from the vocabularies */
    int d_word, d_char, n_filters;
    int d_model, n_layers, n_heads, d_ff;
    int char_pool;               /* 1: max-pool the character windows; 0: attention pooling */
    int learned_pos;             /* 1: learned positions [max_len, d_model]; 0: sinusoidal */
    int max_len;                 /* longest sentence a learned table covers */
    float emb_std;               /* initial std of the word and character embeddings */
    float dropout, word_dropout;
} pos_config;

#define POS_MAX_LAYERS 8

typedef struct {
    pos_config cfg;
    tg_params ps;
    tg_embedding_layer word_emb, char_emb;
    tg_linear char_conv;      /* [F, POS_KW·d_char]: the convolution as one GEMM over windows */
    tg_linear char_score;     /* [1, F]: attention-pooling score per window */
    tg_linear proj;           /* [d_model, d_word + F] */
    tg_posenc_learned pos;    /* used when cfg.learned_pos */
    tg_encoder_block layers[POS_MAX_LAYERS];
    tg_layernorm_layer ln_f;
    tg_linear head;           /* [17, d_model] */
    tg_rng drop_rng;          /* dropout masks, word dropout */
} pos_model;

/* Parameters named "word_emb.weight", "char_emb.weight", "char_conv.weight",
 * ..., "layers.<i>.<...>", "ln_f.weight", "head.weight", initialised from seed.
 * Errors: a config outside its ranges aborts. */
void pos_model_init(pos_model *m, const pos_config *cfg, uint64_t seed);
void pos_model_free(pos_model *m);

/* Logits [B, T, 17] for a batch.  In training mode (tg_tape_training) word
 * dropout replaces word ids by <unk> with probability cfg.word_dropout. */
tg_tensor *pos_model_forward(tg_tape *tp, pos_model *m, const pos_batch *b);

/* The arg-max tag of every word of c (in corpus order) into pred[n_words],
 * batch by batch, with recording and dropout off; resets tp. */
void pos_model_predict(pos_model *m, tg_tape *tp, const pos_batches *bs, const tg_conllu *c,
                       int8_t *pred);

/* The configuration as a JSON object string (malloc'd) and back. */
char *pos_config_to_json(const pos_config *cfg);
tg_status pos_config_from_json(const char *json, pos_config *cfg);

#endif
