/* tests/fuzz/fuzz_conllu.c — libFuzzer target for the CoNLL-U readers.
 *
 * The first input byte picks the path, the rest is the text: 0 the string
 * parser, 1 the file reader (plain), 2 the file reader on the text gzip-
 * compressed (zlib's inflate path), 3 the raw bytes as a ".gz" file (a
 * corrupt or truncated gzip stream when they start with 1f 8b), 4 the
 * whitespace-token reader; bit 3 adds TG_CONLLU_UNLABELLED, bit 4
 * TG_CONLLU_NONEMPTY.  A success must give a consistent corpus (sentences
 * non-empty and contiguous, forms valid UTF-8 without TAB or NUL, tags in
 * range); an error must name the input. */
#include "tests/fuzz/fuzz_util.h"

#include "data/conllu.h"

static void conllu_check(const tg_conllu *c, int labelled) {
    FZ_ASSERT(c->n_sents >= 0 && c->n_words >= 0 && c->sent_start[0] == 0);
    FZ_ASSERT(c->sent_start[c->n_sents] == c->n_words);
    int64_t longest = 0;
    for (int64_t s = 0; s < c->n_sents; s++) {
        int64_t len = c->sent_start[s + 1] - c->sent_start[s];
        FZ_ASSERT(len >= 1);
        if (len > longest) longest = len;
    }
    FZ_ASSERT(longest == c->max_sent_len);
    for (int64_t w = 0; w < c->n_words; w++) {
        const char *f = tg_conllu_form(c, w);
        size_t n = strlen(f), bad;
        const char *why;
        FZ_ASSERT(n >= 1 && (int64_t)n == tg_conllu_form_len(c, w));
        FZ_ASSERT(tg_utf8_valid(f, n, &bad, &why));
        FZ_ASSERT(!memchr(f, '\t', n));
        FZ_ASSERT(c->upos[w] >= (labelled ? 0 : -1) && c->upos[w] < TG_UPOS_COUNT);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
    if (n < 1) return 0;
    int mode = data[0] & 7, gz = (data[0] & 32) != 0, flags = (data[0] & 8 ? TG_CONLLU_UNLABELLED : 0) | (data[0] & 16 ? TG_CONLLU_NONEMPTY : 0);
    data++, n--;
    tg_conllu c;
    memset(&c, 0x5a, sizeof c);
    tg_status st;
    const char *name;
    if (mode == 0 || mode >= 5) {
        char *s = fz_strdup(data, n);
        name = "t.conllu";
        st = tg_conllu_parse_string(name, s, flags, &c);
        free(s);
    } else if (mode == 4) {
        name = fz_put("t.txt", data, n, gz);
        st = tg_conllu_read_tokens(name, &c);
    } else {
        name = fz_put(mode == 3 ? "t.conllu.gz" : "t.conllu", data, n, mode == 2);
        st = tg_conllu_read(name, flags, &c);
    }
    fz_check_error(st, name);
    if (st == TG_OK) {
        conllu_check(&c, mode != 4 && !(flags & TG_CONLLU_UNLABELLED));
        if ((flags & TG_CONLLU_NONEMPTY) && mode != 4) FZ_ASSERT(c.n_sents >= 1); /* the token reader has no flags */
        tg_conllu_free(&c);
    } else {
        for (size_t i = 0; i < sizeof c; i++) FZ_ASSERT(((unsigned char *)&c)[i] == 0x5a);
    }
    return 0;
}
