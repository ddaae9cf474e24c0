/* examples/translate/corpus.c — see corpus.h. */
#define _POSIX_C_SOURCE 200809L
#include "examples/translate/corpus.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/io.h"
#include "train/batch.h"

static tg_status write_part(const char *path, const tg_pairs *p, const int64_t *idx, int64_t n) {
    size_t cap = 1, at = 0;
    for (int64_t i = 0; i < n; i++) cap += strlen(tg_pairs_src(p, idx[i])) + strlen(tg_pairs_tgt(p, idx[i])) + 2;
    char *buf = tg_xmalloc(cap);
    for (int64_t i = 0; i < n; i++)
        at += (size_t)snprintf(buf + at, cap - at, "%s\t%s\n", tg_pairs_src(p, idx[i]), tg_pairs_tgt(p, idx[i]));
    tg_status st = tg_write_file_atomic(path, buf, at);
    free(buf);
    return st;
}

tg_status tr_split_write(const char *corpus, const char *dir, uint64_t seed, int64_t counts[3]) {
    tg_pairs p;
    tg_pairs_filter f = tg_pairs_tutorial_filter();
    tg_status st = tg_pairs_read(corpus, &f, &p);
    if (st != TG_OK) return st;
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        tg_pairs_free(&p);
        return tg_set_error(TG_ERR_IO, "%s: cannot create directory: %s", dir, strerror(errno));
    }
    int64_t *perm = tg_xmalloc(sizeof *perm * (size_t)(p.n + 1));
    tg_rng rng;
    tg_rng_seed(&rng, seed);
    tg_permutation(perm, p.n, &rng);
    counts[0] = p.n * 90 / 100;
    counts[1] = p.n * 5 / 100;
    counts[2] = p.n - counts[0] - counts[1];
    static const char *const names[3] = {"train", "dev", "test"};
    int64_t at = 0;
    for (int k = 0; k < 3 && st == TG_OK; k++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s.tsv", dir, names[k]);
        st = write_part(path, &p, perm + at, counts[k]);
        at += counts[k];
    }
    free(perm);
    tg_pairs_free(&p);
    return st;
}

void tr_batch_alloc(tr_batch *b, const tg_pairs *p, int max_b) {
    int64_t ls = 1, lt = 1;
    for (int64_t i = 0; i < p->n; i++) {
        int64_t a = tg_count_words(tg_pairs_src(p, i)), c = tg_count_words(tg_pairs_tgt(p, i)) + 1;
        if (a > ls) ls = a;
        if (c > lt) lt = c;
    }
    size_t ns = (size_t)max_b * (size_t)ls, nt = (size_t)max_b * (size_t)lt;
    memset(b, 0, sizeof *b);
    b->src = tg_xmalloc(ns * sizeof *b->src);
    b->src_real = tg_xmalloc(ns);
    b->dec_in = tg_xmalloc(nt * sizeof *b->dec_in);
    b->tgt_real = tg_xmalloc(nt);
    b->target = tg_xmalloc(nt * sizeof *b->target);
}

void tr_batch_free(tr_batch *b) {
    free(b->src);
    free(b->src_real);
    free(b->dec_in);
    free(b->tgt_real);
    free(b->target);
    memset(b, 0, sizeof *b);
}

void tr_batch_fill(tr_batch *b, const tg_pairs *p, const int64_t *idx, int n, const tg_vocab *src_v,
                   const tg_vocab *tgt_v) {
    int ls = 1, lt = 1;
    for (int i = 0; i < n; i++) {
        int a = (int)tg_count_words(tg_pairs_src(p, idx[i])), c = (int)tg_count_words(tg_pairs_tgt(p, idx[i])) + 1;
        if (a > ls) ls = a;
        if (c > lt) lt = c;
    }
    b->B = n, b->Ls = ls, b->Lt = lt, b->n_tokens = 0;
    for (int i = 0; i < n; i++) {
        int32_t *s = b->src + i * ls, *d = b->dec_in + i * lt, *t = b->target + i * lt;
        int ns = (int)tg_vocab_encode_sentence(src_v, tg_pairs_src(p, idx[i]), s, ls);
        int nt = (int)tg_vocab_encode_sentence(tgt_v, tg_pairs_tgt(p, idx[i]), t, lt);
        for (int j = 0; j < ls; j++) {
            b->src_real[i * ls + j] = j < ns;
            if (j >= ns) s[j] = TG_VOCAB_PAD;
        }
        /* an empty source still needs one key to attend to: a real <pad> */
        if (ns == 0) b->src_real[i * ls] = 1;
        for (int j = 0; j < lt; j++) {
            d[j] = j == 0 ? TG_VOCAB_BOS : j <= nt ? t[j - 1] : TG_VOCAB_PAD;
            b->tgt_real[i * lt + j] = j <= nt;
        }
        t[nt] = TG_VOCAB_EOS;
        for (int j = nt + 1; j < lt; j++) t[j] = TG_VOCAB_PAD;
        b->n_tokens += nt + 1;
    }
}

const char **tr_sides(const tg_pairs *p, int source) {
    const char **s = tg_xmalloc(sizeof *s * (size_t)(p->n + 1));
    for (int64_t i = 0; i < p->n; i++) s[i] = source ? tg_pairs_src(p, i) : tg_pairs_tgt(p, i);
    return s;
}
