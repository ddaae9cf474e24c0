/* examples/pos_tagger/model.h — the tagger: words and their characters in,
 * 17 UPOS logits per word out.
 *
 *   word  ──emb──────────────────────────────┐
 *   chars ──emb── conv(widths kw_min..kw_max) ── ReLU ── max/attention pooling ──┤ concat [Dw + nW·F]
 *                                                              │ Linear → d_model, + positions
 *                                     N × Transformer encoder block (pre-LN, key padding mask)
 *                                     LayerNorm ── Linear → 17 UPOS logits
 *
 * The character view gives unseen words a representation (suffixes such as
 * -ly, -ing, capitalisation, digits); self-attention lets each tag depend on
 * the whole sentence ("I saw a saw": VERB then NOUN).
 *
 * With words_only = 1 the character view and the Linear are left out: the
 * word embedding (d_word = d_model) goes straight to the positions — with
 * learned positions and no dropout, the W5 model of shared/bench/WORKLOADS.md
 * (bench/pos_torch.py is the same model in PyTorch).
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
    /* sizes of the vocabularies (data/vocab.h), specials included, so at
     * least 2 words (<pad> <unk>) and 4 characters (<pad> <unk> <bow> <eow>);
     * the config table checks these lower bounds on load */
    int word_vocab, char_vocab;
    int d_word, d_char, n_filters; /* n_filters per convolution width */
    int char_kw_min, char_kw_max;  /* widths of the character convolutions (0, 0: width POS_KW only) */
    int d_model, n_layers, n_heads, d_ff;
    int words_only;              /* 0: the character view and the Linear; 1: words only */
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
    tg_linear char_conv[POS_MAX_KW]; /* [F, k·d_char] for width k = kw_min + i: one GEMM over windows */
    tg_linear char_score[POS_MAX_KW]; /* [1, F]: attention-pooling score per window */
    tg_linear proj;           /* [d_model, d_word + nW·F], nW = kw_max − kw_min + 1 */
    tg_posenc_learned pos;    /* used when cfg.learned_pos */
    tg_encoder_block layers[POS_MAX_LAYERS];
    tg_layernorm_layer ln_f;
    tg_linear head;           /* [17, d_model] */
    tg_rng drop_rng;          /* dropout masks, word dropout */
} pos_model;

/* Parameters named "word_emb.weight", "char_emb.weight", "char_conv.weight"
 * (one width; with several, "char_conv<k>.weight" for each width k), ...,
 * "layers.<i>.<...>", "ln_f.weight", "head.weight", initialised from seed.
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
/* UPOS accuracy over the labelled words of bs (tg_count_correct), with
 * recording and dropout off; resets tp.  0 when bs has no labelled word. */
double pos_model_accuracy(pos_model *m, tg_tape *tp, const pos_batches *bs);

/* TG_ERR_ARG "model config: ..." when a field is outside the range
 * pos_model_init accepts (every width 1..2^20, n_layers 1..8, n_heads
 * dividing d_model, flags 0/1, dropouts in [0, 1), convolution widths
 * 1 <= kw_min <= kw_max <= POS_MAX_KW or both 0). */
tg_status pos_config_check(const pos_config *cfg);

/* The character convolution widths of cfg: *lo..*hi (POS_KW, POS_KW when
 * both fields are 0); returns their number. */
int pos_config_char_widths(const pos_config *cfg, int *lo, int *hi);

/* The configuration as a JSON object string (malloc'd) and back.  From
 * JSON every field is checked (integral, in its range, n_heads dividing
 * d_model, dropouts in [0, 1)): TG_ERR_FORMAT "model config: ..." otherwise. */
char *pos_config_to_json(const pos_config *cfg);
tg_status pos_config_from_json(const char *json, pos_config *cfg);

/* Reads a checkpoint written by `pos_tagger train --save`: metadata model
 * "pos_tagger", the config (pos_config_from_json), the word and character
 * vocabularies (of those kinds, of the sizes the config gives), the shape
 * of every tensor carrying a config dimension (from the header, before any
 * allocation), then the parameters (tg_dist_checkpoint_load).  Errors:
 * "path: ..." statuses; *m, *words, *chars untouched. */
tg_status pos_model_load(const char *path, pos_model *m, tg_vocab *words, tg_vocab *chars);

/* TG_ERR_ARG "path: sentence S (sent_id X) has N words; ... max_len = M"
 * when a sentence of c is longer than a learned position table covers. */
tg_status pos_config_check_corpus(const pos_config *cfg, const tg_conllu *c, const char *path);

#endif
