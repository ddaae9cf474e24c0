/* train/bleu.c — corpus BLEU; formulas in train/bleu.h. */
#include "train/bleu.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

typedef struct {
    const char *s;
    int len;
} token;

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* Splits s into tokens; returns a malloc'd array (count in *n). */
static token *tokenize(const char *s, int64_t *n) {
    int64_t k = 0, cap = 16;
    token *t = tg_xmalloc(sizeof *t * (size_t)cap);
    for (const char *p = s; *p;) {
        while (*p && is_space(*p)) p++;
        if (!*p) break;
        const char *q = p;
        while (*q && !is_space(*q)) q++;
        if (k == cap) {
            cap *= 2;
            token *nt = realloc(t, sizeof *t * (size_t)cap);
            TG_CHECK(nt != NULL, "tg_bleu_add", "out of memory (%lld tokens)", (long long)cap);
            t = nt;
        }
        t[k++] = (token){p, (int)(q - p)};
        p = q;
    }
    *n = k;
    return t;
}

static int gram_eq(const token *a, const token *b, int n) {
    for (int i = 0; i < n; i++)
        if (a[i].len != b[i].len || memcmp(a[i].s, b[i].s, (size_t)a[i].len) != 0) return 0;
    return 1;
}

/* Occurrences of the n-gram g among the n-grams of t[0..len). */
static int64_t count_gram(const token *g, const token *t, int64_t len, int n) {
    int64_t c = 0;
    for (int64_t i = 0; i + n <= len; i++) c += gram_eq(g, t + i, n);
    return c;
}

void tg_bleu_init(tg_bleu *b) {
    TG_CHECK(b != NULL, "tg_bleu_init", "b is NULL");
    memset(b, 0, sizeof *b);
}

void tg_bleu_add(tg_bleu *b, const char *hyp, const char *ref) {
    TG_CHECK(b != NULL && hyp != NULL && ref != NULL, "tg_bleu_add", "b, hyp and ref must not be NULL");
    int64_t nh, nr;
    token *h = tokenize(hyp, &nh), *r = tokenize(ref, &nr);
    for (int n = 1; n <= TG_BLEU_MAX_N; n++) {
        for (int64_t i = 0; i + n <= nh; i++) {
            /* each distinct n-gram once: at its first occurrence */
            int64_t first = 0;
            while (!gram_eq(h + first, h + i, n)) first++;
            if (first < i) continue;
            int64_t ch = count_gram(h + i, h, nh, n), cr = count_gram(h + i, r, nr, n);
            b->match[n - 1] += ch < cr ? ch : cr;
        }
        if (nh >= n) b->total[n - 1] += nh - n + 1;
    }
    b->hyp_len += nh;
    b->ref_len += nr;
    b->n_sents++;
    free(h);
    free(r);
}

double tg_bleu_precision(const tg_bleu *b, int n) {
    TG_CHECK(b != NULL && n >= 1 && n <= TG_BLEU_MAX_N, "tg_bleu_precision", "n = %d: expected 1..4", n);
    return b->total[n - 1] ? (double)b->match[n - 1] / (double)b->total[n - 1] : 0.0;
}

double tg_bleu_brevity_penalty(const tg_bleu *b) {
    TG_CHECK(b != NULL, "tg_bleu_brevity_penalty", "b is NULL");
    if (b->hyp_len == 0) return 0.0;
    if (b->hyp_len > b->ref_len) return 1.0;
    return exp(1.0 - (double)b->ref_len / (double)b->hyp_len);
}

double tg_bleu_score(const tg_bleu *b) {
    TG_CHECK(b != NULL, "tg_bleu_score", "b is NULL");
    double log_sum = 0.0;
    for (int n = 1; n <= TG_BLEU_MAX_N; n++) {
        double p = tg_bleu_precision(b, n);
        if (p == 0.0) return 0.0;
        log_sum += log(p);
    }
    return tg_bleu_brevity_penalty(b) * exp(log_sum / TG_BLEU_MAX_N);
}
