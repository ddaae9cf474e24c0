/* examples/pos_tagger/corpus.c — see corpus.h. */
#include "examples/pos_tagger/corpus.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const tg_conllu *sort_corpus; /* qsort has no user pointer in C11 */

static int by_length(const void *a, const void *b) {
    int64_t i = *(const int64_t *)a, j = *(const int64_t *)b;
    int64_t li = sort_corpus->sent_start[i + 1] - sort_corpus->sent_start[i];
    int64_t lj = sort_corpus->sent_start[j + 1] - sort_corpus->sent_start[j];
    if (li != lj) return li < lj ? -1 : 1;
    return i < j ? -1 : i > j; /* stable: the corpus order breaks ties */
}

static uint64_t hash_str(const char *s) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    while (*s) h = (h ^ (unsigned char)*s++) * 1099511628211ull;
    return h;
}

/* The POS_LC character ids of one form; returns how many are real. */
static int form_chars(const tg_vocab *chars, const char *s, int32_t *out) {
    int32_t small[512], *buf = small;
    size_t len = strlen(s);
    int64_t need = tg_vocab_word_chars(chars, s, len, buf, 512);
    if (need > 512) { /* a very long form: all its ids, so the suffix is its real end */
        buf = tg_xmalloc((size_t)need * sizeof *buf);
        tg_vocab_word_chars(chars, s, len, buf, need);
    }
    int n = (int)need;
    memset(out, 0, POS_LC * sizeof *out);
    if (n <= POS_LC) {
        memcpy(out, buf, (size_t)n * sizeof *out);
        return n;
    }
    memcpy(out, buf, (POS_LC / 2) * sizeof *out);                     /* prefix */
    memcpy(out + POS_LC / 2, buf + n - POS_LC / 2, (POS_LC / 2) * sizeof *out); /* suffix */
    if (buf != small) free(buf);
    return POS_LC;
}

static void make_batch(pos_batch *b, const tg_conllu *c, const tg_vocab *words,
                       const tg_vocab *chars, const int64_t *sents, int B) {
    int T = 0;
    for (int i = 0; i < B; i++) {
        int len = (int)(c->sent_start[sents[i] + 1] - c->sent_start[sents[i]]);
        if (len > T) T = len;
    }
    b->B = B;
    b->T = T;
    b->sent = tg_xmalloc((size_t)B * sizeof *b->sent);
    memcpy(b->sent, sents, (size_t)B * sizeof *b->sent);
    size_t BT = (size_t)B * T;
    b->word_ids = tg_xcalloc(BT * sizeof *b->word_ids);
    b->targets = tg_xmalloc(BT * sizeof *b->targets);
    b->key_padding = tg_xcalloc(BT);
    b->type_ids = tg_xcalloc(BT * sizeof *b->type_ids);
    for (size_t i = 0; i < BT; i++) b->targets[i] = -1;

    /* distinct forms through an open-addressing table of word indices */
    size_t cap = 16;
    while (cap < 2 * BT) cap *= 2;
    int64_t *slot_word = malloc(cap * sizeof *slot_word);
    int32_t *slot_type = malloc(cap * sizeof *slot_type);
    for (size_t i = 0; i < cap; i++) slot_word[i] = -1;
    int64_t *type_word = malloc(BT * sizeof *type_word);
    int n_types = 0, n_words = 0;
    for (int i = 0; i < B; i++) {
        int64_t w0 = c->sent_start[sents[i]], len = c->sent_start[sents[i] + 1] - w0;
        for (int t = 0; t < len; t++) {
            int64_t w = w0 + t;
            size_t p = (size_t)i * T + t;
            const char *form = tg_conllu_form(c, w);
            b->word_ids[p] = tg_vocab_word_id(words, form, strlen(form));
            b->targets[p] = c->upos[w];
            b->key_padding[p] = 1;
            size_t h = hash_str(form) & (cap - 1);
            while (slot_word[h] >= 0 && strcmp(tg_conllu_form(c, slot_word[h]), form) != 0)
                h = (h + 1) & (cap - 1);
            if (slot_word[h] < 0) {
                slot_word[h] = w;
                slot_type[h] = n_types;
                type_word[n_types++] = w;
            }
            b->type_ids[p] = 1 + slot_type[h];
            n_words++;
        }
    }
    b->n_types = n_types;
    b->n_words = n_words;
    b->type_chars = tg_xmalloc((size_t)n_types * POS_LC * sizeof *b->type_chars);
    b->type_mask = tg_xmalloc((size_t)n_types * POS_LW * sizeof *b->type_mask);
    b->type_len = tg_xmalloc((size_t)(n_types ? n_types : 1) * sizeof *b->type_len);
    for (int k = 0; k < n_types; k++) {
        int n = form_chars(chars, tg_conllu_form(c, type_word[k]), b->type_chars + k * POS_LC);
        b->type_len[k] = n;
        int windows = n - POS_KW + 1; /* >= 1: <bow>, a character, <eow> */
        for (int j = 0; j < POS_LW; j++) b->type_mask[k * POS_LW + j] = j < windows ? 0.0f : -INFINITY;
    }
    free(slot_word);
    free(slot_type);
    free(type_word);
}

void pos_batches_make(pos_batches *out, const tg_conllu *c, const tg_vocab *words,
                      const tg_vocab *chars, int batch_size) {
    int64_t n = c->n_sents;
    int64_t *order = tg_xmalloc((size_t)(n ? n : 1) * sizeof *order);
    for (int64_t i = 0; i < n; i++) order[i] = i;
    sort_corpus = c;
    qsort(order, (size_t)n, sizeof *order, by_length);
    out->n_batches = (int)((n + batch_size - 1) / batch_size);
    out->batches = tg_xcalloc((size_t)(out->n_batches ? out->n_batches : 1) * sizeof(pos_batch));
    out->n_words = c->n_words;
    for (int k = 0; k < out->n_batches; k++) {
        int64_t first = (int64_t)k * batch_size;
        int B = (int)(n - first < batch_size ? n - first : batch_size);
        make_batch(&out->batches[k], c, words, chars, order + first, B);
        out->batches[k].first_sent = first;
    }
    free(order);
}

void pos_batches_free(pos_batches *b) {
    for (int k = 0; k < b->n_batches; k++) {
        pos_batch *x = &b->batches[k];
        free(x->sent);
        free(x->word_ids);
        free(x->targets);
        free(x->key_padding);
        free(x->type_ids);
        free(x->type_chars);
        free(x->type_mask);
        free(x->type_len);
    }
    free(b->batches);
    memset(b, 0, sizeof *b);
}
