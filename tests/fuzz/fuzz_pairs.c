/* tests/fuzz/fuzz_pairs.c — libFuzzer target for the sentence-pair reader
 * (data/pairs.c) and its normalisation.
 *
 * The first input byte picks the path, the rest is the text: 0 the string
 * parser without a filter, 1 with the tutorial's filter (reversed, at most
 * 10 words, English prefixes), 2 the file reader (plain), 3 the file reader
 * on the text gzip-compressed, 4 the raw bytes as a ".gz" file, 5
 * tg_normalize_ascii on the raw bytes.  A success must give pairs whose
 * sides are NUL-terminated inside the pool and whose line numbers rise; an
 * error must name the input and leave the output untouched. */
#include "tests/fuzz/fuzz_util.h"

#include "data/pairs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
    if (n < 1) return 0;
    int mode = data[0] % 6;
    data++, n--;
    if (mode == 5) {
        char *out = malloc(2 * n + 1);
        int64_t k = tg_normalize_ascii((const char *)data, n, out);
        FZ_ASSERT(k >= -1 && k <= (int64_t)(2 * n));
        if (k >= 0) FZ_ASSERT(strlen(out) == (size_t)k);
        free(out);
        return 0;
    }
    static const char *const prefixes[] = {"i am ", "i m ", "he is", "he s ", "she is", "she s "};
    tg_pairs_filter filter = {.reverse = 1, .max_words = 10, .prefixes = prefixes, .n_prefixes = 6};
    tg_pairs p;
    memset(&p, 0x5a, sizeof p);
    tg_status st;
    const char *name;
    if (mode <= 1) {
        char *s = fz_strdup(data, n);
        name = "t.tsv";
        st = tg_pairs_parse_string(name, s, mode ? &filter : NULL, &p);
        free(s);
    } else {
        name = fz_put(mode == 4 ? "t.tsv.gz" : "t.tsv", data, n, mode == 3);
        st = tg_pairs_read(name, NULL, &p);
    }
    fz_check_error(st, name);
    if (st != TG_OK) {
        for (size_t i = 0; i < sizeof p; i++) FZ_ASSERT(((unsigned char *)&p)[i] == 0x5a);
        return 0;
    }
    FZ_ASSERT(p.n >= 0 && p.n <= p.n_lines);
    for (int64_t i = 0; i < p.n; i++) {
        FZ_ASSERT(!strchr(tg_pairs_src(&p, i), '\t') && !strchr(tg_pairs_tgt(&p, i), '\t'));
        FZ_ASSERT(p.line[i] >= 1 && p.line[i] <= p.n_lines && (i == 0 || p.line[i - 1] < p.line[i]));
        if (mode == 1) FZ_ASSERT(tg_count_words(tg_pairs_src(&p, i)) < 10);
    }
    tg_pairs_free(&p);
    return 0;
}
