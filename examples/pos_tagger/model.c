/* examples/pos_tagger/model.c — see model.h. */
#include "examples/pos_tagger/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "nn/posenc.h"
#include "train/checkpoint.h"
#include "train/dist.h"
#include "train/log.h" /* tg_argmax_rows, tg_count_correct */

void pos_model_init(pos_model *m, const pos_config *cfg, uint64_t seed) {
    const pos_config *c = cfg;
    TG_CHECK(c->n_layers >= 1 && c->n_layers <= POS_MAX_LAYERS, "pos_model_init",
             "n_layers must be in [1, %d], got %d", POS_MAX_LAYERS, c->n_layers);
    TG_CHECK(c->word_dropout >= 0 && c->word_dropout < 1, "pos_model_init",
             "word_dropout must be in [0, 1), got %g", c->word_dropout);
    memset(m, 0, sizeof *m);
    m->cfg = *cfg;
    tg_rng rng;
    tg_rng_seed(&rng, seed);
    tg_rng_seed(&m->drop_rng, seed ^ 0x5eedf00dull);
    tg_params_init(&m->ps);
    tg_embedding_layer_init(&m->word_emb, &m->ps, "word_emb", c->word_vocab, c->d_word, &rng);
    TG_CHECK(!c->words_only || c->d_word == c->d_model, "pos_model_init",
             "without characters the word embedding is the model's input: d_word %d must equal "
             "d_model %d", c->d_word, c->d_model);
    if (!c->words_only) {
        int lo, hi, n_widths = pos_config_char_widths(c, &lo, &hi);
        TG_CHECK(lo >= 1 && hi <= POS_MAX_KW && lo <= hi, "pos_model_init",
                 "character convolution widths %d..%d outside 1..%d", lo, hi, POS_MAX_KW);
        tg_embedding_layer_init(&m->char_emb, &m->ps, "char_emb", c->char_vocab, c->d_char, &rng);
        for (int k = lo; k <= hi; k++) {
            char conv[32], score[32];
            snprintf(conv, sizeof conv, n_widths == 1 ? "char_conv" : "char_conv%d", k);
            snprintf(score, sizeof score, n_widths == 1 ? "char_score" : "char_score%d", k);
            tg_linear_init(&m->char_conv[k - lo], &m->ps, conv, k * c->d_char, c->n_filters, TG_NN_BIAS, &rng);
            if (!c->char_pool)
                tg_linear_init(&m->char_score[k - lo], &m->ps, score, c->n_filters, 1, TG_NN_BIAS, &rng);
        }
        tg_linear_init(&m->proj, &m->ps, "proj", c->d_word + n_widths * c->n_filters, c->d_model, TG_NN_BIAS, &rng);
    }
    if (c->learned_pos) tg_posenc_learned_init(&m->pos, &m->ps, "pos_emb", c->max_len, c->d_model, &rng);
    tg_block_config bc = {.d_model = c->d_model, .n_heads = c->n_heads, .d_ff = c->d_ff,
                          .dropout = c->dropout, .pre_ln = 1, .flags = TG_NN_BIAS,
                          .rng = &m->drop_rng};
    for (int l = 0; l < c->n_layers; l++) {
        char name[32];
        snprintf(name, sizeof name, "layers.%d", l);
        tg_encoder_block_init(&m->layers[l], &m->ps, name, &bc, &rng);
    }
    tg_layernorm_layer_init(&m->ln_f, &m->ps, "ln_f", c->d_model, TG_NN_BIAS);
    tg_linear_init(&m->head, &m->ps, "head", c->d_model, TG_UPOS_COUNT, TG_NN_BIAS, &rng);
    tg_init_normal(m->word_emb.weight, &rng, 0.0f, c->emb_std);
    if (!c->words_only) tg_init_normal(m->char_emb.weight, &rng, 0.0f, c->emb_std);
    if (c->learned_pos) tg_init_normal(m->pos.weight, &rng, 0.0f, 0.02f);
}

void pos_model_free(pos_model *m) { tg_params_free(&m->ps); }

/* The −inf mask [NT, LW, 1] of the LW = POS_LC − k + 1 windows of width k:
 * 0 for a window that starts inside the form, −inf past it; a form shorter
 * than k keeps its first window (it runs into the padding).  For k = POS_KW
 * this is the batch's type_mask. */
static tg_tensor *window_mask(tg_tape *tp, const pos_batch *b, int k) {
    const int NT = b->n_types, LW = POS_LC - k + 1;
    tg_tensor *mask = tg_tape_tensor(tp, TG_SHAPE(NT, LW, 1));
    for (int t = 0; t < NT; t++) {
        int windows = b->type_len[t] - k + 1;
        if (windows < 1) windows = 1;
        for (int j = 0; j < LW; j++) mask->data[(size_t)t * LW + j] = j < windows ? 0.0f : -INFINITY;
    }
    return mask;
}

/* The character view of every word [B, T, nW·F], once per distinct form:
 * for each width k, windows of k character embeddings side by side
 * [NT, LW, k·d_char] → one GEMM = the convolution, pooled over the windows
 * inside the form; the widths' pooled features side by side. */
static tg_tensor *char_view(tg_tape *tp, pos_model *m, const pos_batch *b) {
    const pos_config *c = &m->cfg;
    const int B = b->B, T = b->T, NT = b->n_types, F = c->n_filters;
    int lo, hi, n_widths = pos_config_char_widths(c, &lo, &hi);
    tg_tensor *ce = tg_embedding_layer_forward(tp, &m->char_emb, b->type_chars, TG_SHAPE(NT, POS_LC));
    tg_tensor *pooled[POS_MAX_KW];                            /* [NT, F] each */
    for (int k = lo; k <= hi; k++) {
        const int LW = POS_LC - k + 1;
        tg_tensor *win[POS_MAX_KW];
        for (int j = 0; j < k; j++) win[j] = tg_slice(tp, ce, 1, j, LW);
        tg_tensor *h = tg_relu(tp, tg_linear_forward(tp, &m->char_conv[k - lo], tg_concat(tp, k, win, 2)));
        tg_tensor *mask = window_mask(tp, b, k);
        if (c->char_pool) {
            /* Max-pooling over the windows inside the form (Ma & Hovy 2016). */
            pooled[k - lo] = tg_max(tp, tg_add(tp, h, mask), 1);
        } else {
            /* Attention pooling: a = softmax(h·u + mask) over the windows, pooled = a·h. */
            tg_tensor *score = tg_reshape(tp, tg_linear_forward(tp, &m->char_score[k - lo], h), TG_SHAPE(NT, 1, LW));
            tg_tensor *a = tg_softmax(tp, score, tg_reshape(tp, mask, TG_SHAPE(NT, 1, LW)));
            pooled[k - lo] = tg_reshape(tp, tg_matmul(tp, a, h, 0, 0), TG_SHAPE(NT, F));
        }
    }
    tg_tensor *feat = n_widths == 1 ? pooled[0] : tg_concat(tp, n_widths, pooled, 1); /* [NT, nW·F] */
    /* Row 0 of the table is the padding position's zero vector. */
    tg_tensor *table = tg_concat(tp, 2, (tg_tensor *[]){tg_tape_tensor(tp, TG_SHAPE(1, n_widths * F)), feat}, 0);
    return tg_embedding(tp, table, b->type_ids, TG_SHAPE(B, T));            /* [B, T, nW·F] */
}

tg_tensor *pos_model_forward(tg_tape *tp, pos_model *m, const pos_batch *b) {
    const pos_config *c = &m->cfg;
    const int B = b->B, T = b->T;

    /* Word view [B, T, d_word]; word dropout teaches the <unk> row. */
    const int32_t *wids = b->word_ids;
    if (tg_tape_training(tp) && c->word_dropout > 0) {
        int32_t *w = tg_tape_alloc(tp, (size_t)B * T * sizeof *w);
        for (int i = 0; i < B * T; i++)
            w[i] = b->key_padding[i] && tg_rng_uniform(&m->drop_rng) < c->word_dropout
                       ? TG_VOCAB_UNK : b->word_ids[i];
        wids = w;
    }
    tg_tensor *we = tg_embedding_layer_forward(tp, &m->word_emb, wids, TG_SHAPE(B, T));

    tg_tensor *x = we;                                                              /* [B, T, d_model] */
    if (!c->words_only) {
        tg_tensor *cw = char_view(tp, m, b);
        x = tg_dropout(tp, tg_concat(tp, 2, (tg_tensor *[]){we, cw}, 2), c->dropout, &m->drop_rng);
        x = tg_linear_forward(tp, &m->proj, x);
    } else {
        x = tg_dropout(tp, we, c->dropout, &m->drop_rng);
    }
    x = c->learned_pos ? tg_posenc_learned_forward(tp, &m->pos, x) : tg_posenc_sinusoidal(tp, x);
    tg_attn_mask am = {.key_padding = b->key_padding};
    for (int l = 0; l < c->n_layers; l++) x = tg_encoder_block_forward(tp, &m->layers[l], x, &am);
    return tg_linear_forward(tp, &m->head, tg_layernorm_layer_forward(tp, &m->ln_f, x));
}

void pos_model_predict(pos_model *m, tg_tape *tp, const pos_batches *bs, const tg_conllu *c,
                       int8_t *pred) {
    int old_grad = tg_tape_set_grad(tp, 0), old_train = tg_tape_set_training(tp, 0);
    for (int k = 0; k < bs->n_batches; k++) {
        const pos_batch *b = &bs->batches[k];
        tg_tape_reset(tp);
        tg_tensor *logits = pos_model_forward(tp, m, b); /* [B, T, 17] */
        int32_t *tags = tg_tape_alloc(tp, (size_t)b->B * b->T * sizeof *tags);
        tg_argmax_rows(logits->data, (int64_t)b->B * b->T, TG_UPOS_COUNT, tags);
        for (int i = 0; i < b->B; i++) {
            int64_t w0 = c->sent_start[b->sent[i]], len = c->sent_start[b->sent[i] + 1] - w0;
            for (int t = 0; t < len; t++) pred[w0 + t] = (int8_t)tags[(size_t)i * b->T + t];
        }
    }
    tg_tape_reset(tp);
    tg_tape_set_grad(tp, old_grad);
    tg_tape_set_training(tp, old_train);
}

double pos_model_accuracy(pos_model *m, tg_tape *tp, const pos_batches *bs) {
    int old_grad = tg_tape_set_grad(tp, 0), old_train = tg_tape_set_training(tp, 0);
    int64_t correct = 0, counted = 0;
    for (int k = 0; k < bs->n_batches; k++) {
        const pos_batch *b = &bs->batches[k];
        tg_tape_reset(tp);
        tg_tensor *logits = pos_model_forward(tp, m, b); /* [B, T, 17]; padding targets are -1 */
        int64_t n = 0;
        correct += tg_count_correct(logits->data, b->targets, (int64_t)b->B * b->T, TG_UPOS_COUNT, -1, &n);
        counted += n;
    }
    tg_tape_reset(tp);
    tg_tape_set_grad(tp, old_grad);
    tg_tape_set_training(tp, old_train);
    return counted ? (double)correct / (double)counted : 0.0;
}

/* ---- configuration (checkpoint metadata) ---------------------------------- */

/* Rules between fields, after each is within its bounds. */
static tg_status pos_cross_check(const void *cfg, const char *what) {
    const pos_config *c = cfg;
    if (c->d_model % c->n_heads)
        return tg_set_error(TG_ERR_ARG, "%s: n_heads %d does not divide d_model %d", what, c->n_heads, c->d_model);
    if ((c->char_kw_min == 0) != (c->char_kw_max == 0) || c->char_kw_min > c->char_kw_max)
        return tg_set_error(TG_ERR_ARG, "%s: character convolution widths %d..%d: expected 1 <= "
                            "char_kw_min <= char_kw_max <= %d (or both 0)", what, c->char_kw_min, c->char_kw_max,
                            POS_MAX_KW);
    if (c->words_only && c->d_word != c->d_model)
        return tg_set_error(TG_ERR_ARG, "%s: words_only needs d_word %d = d_model %d", what, c->d_word, c->d_model);
    return TG_OK;
}

/* Each field with the range pos_model_init accepts (values from a file are
 * checked against these before anything is built). */
#define POS_MAX_WIDTH (1 << 20)
#define WIDTH(f, lo) TG_CONFIG_INT(pos_config, f, lo, POS_MAX_WIDTH)
#define FLAG(f) TG_CONFIG_INT(pos_config, f, 0, 1)
#define DROPOUT(f) TG_CONFIG_FLOAT(pos_config, f, 0, 1, TG_CONFIG_HI_OPEN)
static const tg_config_field pos_config_fields[] = {
    WIDTH(word_vocab, 2), WIDTH(char_vocab, 4), WIDTH(d_word, 1), WIDTH(d_char, 1), WIDTH(n_filters, 1),
    WIDTH(d_model, 1), TG_CONFIG_INT(pos_config, n_layers, 1, POS_MAX_LAYERS), WIDTH(n_heads, 1), WIDTH(d_ff, 1),
    FLAG(char_pool), FLAG(learned_pos), WIDTH(max_len, 1), TG_CONFIG_FLOAT(pos_config, emb_std, 0, INFINITY, 0),
    DROPOUT(dropout), DROPOUT(word_dropout),
    /* added later: a checkpoint without it has the character view */
    TG_CONFIG_INT_OPTIONAL(pos_config, words_only, 0, 1, 0),
    /* added later: a checkpoint without them has one convolution of width POS_KW */
    TG_CONFIG_INT_OPTIONAL(pos_config, char_kw_min, 0, POS_MAX_KW, POS_KW),
    TG_CONFIG_INT_OPTIONAL(pos_config, char_kw_max, 0, POS_MAX_KW, POS_KW),
};
#undef WIDTH
#undef FLAG
#undef DROPOUT
static const tg_config_schema pos_schema = TG_CONFIG_SCHEMA(pos_config, pos_config_fields, pos_cross_check);

char *pos_config_to_json(const pos_config *cfg) { return tg_config_to_string(&pos_schema, cfg); }

tg_status pos_config_check(const pos_config *c) { return tg_config_check(&pos_schema, c, "model config"); }

int pos_config_char_widths(const pos_config *cfg, int *lo, int *hi) {
    *lo = cfg->char_kw_min ? cfg->char_kw_min : POS_KW;
    *hi = cfg->char_kw_max ? cfg->char_kw_max : POS_KW;
    return *hi - *lo + 1;
}

tg_status pos_config_from_json(const char *json, pos_config *cfg) {
    return tg_config_parse(&pos_schema, json, "model config", cfg);
}

/* ---- loading a checkpoint ------------------------------------------------- */

/* The tensors that carry every dimension of cfg, checked against the file's
 * header before the model is allocated. */
static int pos_config_shapes(const pos_config *c, tg_ckpt_shape *w) {
    int n = 0;
    w[n++] = (tg_ckpt_shape){"word_emb.weight", 2, {c->word_vocab, c->d_word}};
    if (!c->words_only) {
        int lo, hi, n_widths = pos_config_char_widths(c, &lo, &hi);
        w[n++] = (tg_ckpt_shape){"char_emb.weight", 2, {c->char_vocab, c->d_char}};
        for (int k = lo; k <= hi; k++) {
            tg_ckpt_shape *x = &w[n++];
            snprintf(x->name, sizeof x->name, n_widths == 1 ? "char_conv.weight" : "char_conv%d.weight", k);
            x->ndim = 2, x->shape[0] = c->n_filters, x->shape[1] = k * c->d_char;
        }
        w[n++] = (tg_ckpt_shape){"proj.weight", 2, {c->d_model, c->d_word + n_widths * c->n_filters}};
    }
    if (c->learned_pos) w[n++] = (tg_ckpt_shape){"pos_emb.weight", 2, {c->max_len, c->d_model}};
    for (int l = 0; l < c->n_layers; l++) {
        tg_ckpt_shape *x = &w[n++];
        snprintf(x->name, sizeof x->name, "layers.%d.mlp.fc1.weight", l);
        x->ndim = 2, x->shape[0] = c->d_ff, x->shape[1] = c->d_model;
    }
    w[n++] = (tg_ckpt_shape){"head.weight", 2, {TG_UPOS_COUNT, c->d_model}};
    return n;
}

tg_status pos_model_load(const char *path, pos_model *m, tg_vocab *words, tg_vocab *chars) {
    char *kind = NULL, *cfg_s = NULL;
    pos_config cfg;
    tg_vocab wv = {0}, cv = {0};
    tg_ckpt_shape want[8 + POS_MAX_KW + POS_MAX_LAYERS];
    tg_status st = tg_checkpoint_read_metadata(path, "model", &kind);
    if (st == TG_OK && strcmp(kind, "pos_tagger"))
        st = tg_set_error(TG_ERR_FORMAT, "%s: metadata model '%s': expected 'pos_tagger' (a checkpoint of another model?)",
                          path, kind);
    if (st == TG_OK) st = tg_checkpoint_read_metadata(path, "config", &cfg_s);
    if (st == TG_OK && pos_config_from_json(cfg_s, &cfg) != TG_OK) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", tg_last_error());
        st = tg_set_error(TG_ERR_FORMAT, "%s: metadata config: %s", path, msg);
    }
    if (st == TG_OK) st = tg_checkpoint_read_vocab(path, "word_vocab", TG_VOCAB_WORD, cfg.word_vocab, &wv);
    if (st == TG_OK && (st = tg_checkpoint_read_vocab(path, "char_vocab", TG_VOCAB_CHAR, cfg.char_vocab, &cv)) != TG_OK)
        tg_vocab_free(&wv);
    if (st == TG_OK && (st = tg_checkpoint_expect_shapes(path, pos_config_shapes(&cfg, want), want)) != TG_OK) {
        tg_vocab_free(&wv);
        tg_vocab_free(&cv);
    }
    free(kind);
    free(cfg_s);
    if (st != TG_OK) return st;
    pos_model mm;
    pos_model_init(&mm, &cfg, 1);
    if ((st = tg_dist_checkpoint_load(path, &mm.ps, NULL)) != TG_OK) {
        pos_model_free(&mm);
        tg_vocab_free(&wv);
        tg_vocab_free(&cv);
        return st;
    }
    *m = mm;
    *words = wv;
    *chars = cv;
    return TG_OK;
}

tg_status pos_config_check_corpus(const pos_config *cfg, const tg_conllu *c, const char *path) {
    if (!cfg->learned_pos || c->max_sent_len <= cfg->max_len) return TG_OK;
    if (!path || !strcmp(path, "-")) path = "<stdin>";
    for (int64_t s = 0; s < c->n_sents; s++) {
        int64_t len = c->sent_start[s + 1] - c->sent_start[s];
        if (len <= cfg->max_len) continue;
        const char *sid = c->sent_id_off[s] >= 0 ? c->meta + c->sent_id_off[s] : "?";
        return tg_set_error(TG_ERR_ARG,
                            "%s: sentence %lld (sent_id %s) has %lld words; the model's learned position table "
                            "covers at most max_len = %d",
                            path, (long long)s + 1, sid, (long long)len, cfg->max_len);
    }
    return TG_OK;
}
