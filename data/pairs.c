/* data/pairs.c — tab-separated sentence pairs: read, normalise, filter.
 *
 * The whole (decompressed) file is read into memory, then parsed twice by
 * the same function: pass 1 validates every line and measures what is kept,
 * pass 2 fills arrays sized from pass 1.  So every error is found before the
 * pairs are allocated. */
#include "data/pairs.h"

#include <stdlib.h>
#include <string.h>

#include "data/conllu.h" /* tg_utf8_decode, tg_utf8_valid */
#include "data/io.h"

#include "data/ascii_fold.inc"

const char *const tg_pairs_eng_prefixes[TG_PAIRS_N_ENG_PREFIXES] = {
    "i am ", "i m ", "he is", "he s ", "she is", "she s ",
    "you are", "you re ", "we are", "we re ", "they are", "they re ",
};

tg_pairs_filter tg_pairs_tutorial_filter(void) {
    return (tg_pairs_filter){.reverse = 1, .max_words = 10, .prefixes = tg_pairs_eng_prefixes,
                             .n_prefixes = TG_PAIRS_N_ENG_PREFIXES};
}

/* ---- normalisation ----------------------------------------------------------- */

enum { CP_SEPARATOR = 0, CP_DROP = -1 };

/* What code point cp >= 0x80 becomes: an ASCII letter, CP_DROP (a
 * nonspacing mark) or CP_SEPARATOR. Binary searches in the generated tables. */
static int fold(uint32_t cp) {
    size_t lo = 0, hi = sizeof fold_marks / sizeof fold_marks[0];
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cp < fold_marks[mid][0]) hi = mid;
        else if (cp > fold_marks[mid][1]) lo = mid + 1;
        else return CP_DROP;
    }
    lo = 0, hi = sizeof fold_letters / sizeof fold_letters[0];
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cp < fold_letters[mid].cp) hi = mid;
        else if (cp > fold_letters[mid].cp) lo = mid + 1;
        else return fold_letters[mid].ascii;
    }
    return CP_SEPARATOR;
}

/* The tutorial's three regex steps in one pass: a kept character (letter or
 * . ! ?) is written after one space if a separator came since the previous
 * kept character (and something was written already: the strip), and every
 * . ! ? counts as preceded by a separator (the ` \1` substitution). */
int64_t tg_normalize_ascii(const char *s, size_t n, char *out) {
    int64_t k = 0;
    int sep = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        int len = tg_utf8_decode(s + i, n - i, &cp);
        if (len == 0 || cp == 0) return -1;
        i += (size_t)len;
        int c;
        if (cp >= 'A' && cp <= 'Z') c = (int)(cp - 'A' + 'a');
        else if ((cp >= 'a' && cp <= 'z') || cp == '.' || cp == '!' || cp == '?') c = (int)cp;
        else if (cp < 0x80) c = CP_SEPARATOR;
        else c = fold(cp);
        if (c == CP_DROP) continue;
        if (c == CP_SEPARATOR) { sep = 1; continue; }
        if (c == '.' || c == '!' || c == '?') sep = 1;
        if (sep && k > 0) out[k++] = ' ';
        sep = 0;
        out[k++] = (char)c;
    }
    out[k] = '\0';
    return k;
}

int64_t tg_count_words(const char *s) {
    int64_t n = 0;
    for (const char *p = s; *p; p++)
        if (*p != ' ' && (p == s || p[-1] == ' ')) n++;
    return n;
}

/* ---- parsing ------------------------------------------------------------------ */

#define perr(name, line, ...) tg_set_error_at(TG_ERR_FORMAT, (name), (line), __VA_ARGS__)

static int keep_pair(const tg_pairs_filter *f, const char *field1, const char *src, const char *tgt) {
    if (!f) return 1;
    if (f->max_words > 0 && (tg_count_words(src) >= f->max_words || tg_count_words(tgt) >= f->max_words))
        return 0;
    if (!f->prefixes) return 1;
    for (int i = 0; i < f->n_prefixes; i++)
        if (strncmp(field1, f->prefixes[i], strlen(f->prefixes[i])) == 0) return 1;
    return 0;
}

/* Checks field s[0..n) of line ln and normalises it into buf. */
static tg_status side(const char *name, int64_t ln, const char *what, const char *s, size_t n,
                      size_t col, char *buf) {
    size_t bad;
    const char *why;
    if (n == 0) return perr(name, ln, "empty %s side: expected a sentence", what);
    if (!tg_utf8_valid(s, n, &bad, &why))
        return perr(name, ln, "invalid UTF-8 at byte %zu (%s)", col + bad + 1, why);
    tg_normalize_ascii(s, n, buf);
    return TG_OK;
}

/* One pass over the text. Pass 1 (p == NULL): validates and adds up the
 * kept pairs' count and bytes. Pass 2: fills p, sized from pass 1. */
static tg_status parse(const char *name, const char *text, size_t len, const tg_pairs_filter *f,
                       int64_t *n_kept, int64_t *bytes, int64_t *n_lines, tg_pairs *p) {
    char *buf = NULL; /* two normalised sides of the current line */
    size_t cap = 0;
    int64_t ln = 0, kept = 0, at = 0;
    tg_status st = TG_OK;
    for (size_t pos = 0; pos < len && st == TG_OK;) {
        const char *s = text + pos, *nl = memchr(s, '\n', len - pos);
        const char *e = nl ? nl : text + len;
        pos = nl ? (size_t)(nl - text) + 1 : len;
        ln++;
        if (e > s && e[-1] == '\r') e--;
        size_t n = (size_t)(e - s);
        if (n == 0) { st = perr(name, ln, "expected two TAB-separated sentences, found an empty line"); break; }
        const char *tab = memchr(s, '\t', n);
        if (!tab) { st = perr(name, ln, "expected two TAB-separated sentences, found no TAB"); break; }
        const char *b = tab + 1, *b_end = memchr(b, '\t', (size_t)(e - b));
        if (!b_end) b_end = e;
        size_t na = (size_t)(tab - s), nb = (size_t)(b_end - b);
        if (2 * (na + nb) + 2 > cap) {
            free(buf);
            cap = 2 * (2 * (na + nb) + 2);
            buf = tg_xmalloc(cap);
        }
        char *a_norm = buf, *b_norm = buf + 2 * na + 1;
        int rev = f && f->reverse;
        if ((st = side(name, ln, rev ? "target" : "source", s, na, 0, a_norm)) != TG_OK) break;
        if ((st = side(name, ln, rev ? "source" : "target", b, nb, na + 1, b_norm)) != TG_OK) break;
        const char *src = rev ? b_norm : a_norm, *tgt = rev ? a_norm : b_norm;
        if (!keep_pair(f, a_norm, src, tgt)) continue;
        size_t ls = strlen(src) + 1, lt = strlen(tgt) + 1;
        if (p) {
            memcpy(p->pool + at, src, ls);
            p->src_off[kept] = at;
            memcpy(p->pool + at + (int64_t)ls, tgt, lt);
            p->tgt_off[kept] = at + (int64_t)ls;
            p->line[kept] = ln;
        }
        at += (int64_t)(ls + lt);
        kept++;
    }
    free(buf);
    *n_kept = kept;
    *bytes = at;
    *n_lines = ln;
    return st;
}

tg_status tg_pairs_parse_string(const char *name, const char *text, const tg_pairs_filter *filter,
                                tg_pairs *out) {
    TG_CHECK(name != NULL && text != NULL && out != NULL, "tg_pairs_parse_string",
             "name, text and out must not be NULL");
    TG_CHECK(!filter || (filter->max_words >= 0 && filter->n_prefixes >= 0 &&
                         (filter->prefixes != NULL || filter->n_prefixes == 0)),
             "tg_pairs_parse_string", "bad filter: max_words %d, n_prefixes %d",
             filter ? filter->max_words : 0, filter ? filter->n_prefixes : 0);
    size_t len = strlen(text);
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) text += 3, len -= 3; /* BOM */
    int64_t n, bytes, lines;
    tg_status st = parse(name, text, len, filter, &n, &bytes, &lines, NULL);
    if (st != TG_OK) return st;
    tg_pairs p = {.n = n, .n_lines = lines};
    p.pool = tg_xmalloc((size_t)bytes + 1);
    p.src_off = tg_xmalloc(sizeof(int64_t) * (size_t)(n + 1));
    p.tgt_off = tg_xmalloc(sizeof(int64_t) * (size_t)(n + 1));
    p.line = tg_xmalloc(sizeof(int64_t) * (size_t)(n + 1));
    int64_t n2, bytes2, lines2;
    st = parse(name, text, len, filter, &n2, &bytes2, &lines2, &p);
    TG_CHECK(st == TG_OK && n2 == n && bytes2 == bytes, "tg_pairs_parse_string",
             "internal error: second pass disagrees with the first");
    *out = p;
    return TG_OK;
}

tg_status tg_pairs_read(const char *path, const tg_pairs_filter *filter, tg_pairs *out) {
    TG_CHECK(path != NULL && out != NULL, "tg_pairs_read", "path and out must not be NULL");
    const char *name = strcmp(path, "-") == 0 ? "<stdin>" : path;
    void *data;
    size_t len;
    tg_status st = tg_read_file(path, 0, &data, &len);
    if (st != TG_OK) return st;
    char *buf = data;
    if (memchr(buf, '\0', len)) {
        /* the line of the first NUL byte */
        const char *z = memchr(buf, '\0', len);
        int64_t ln = 1;
        for (const char *q = buf; q < z; q++) ln += *q == '\n';
        free(buf);
        return perr(name, ln, "NUL byte: expected text");
    }
    st = tg_pairs_parse_string(name, buf, filter, out);
    free(buf);
    return st;
}

void tg_pairs_free(tg_pairs *p) {
    if (!p) return;
    free(p->pool);
    free(p->src_off);
    free(p->tgt_off);
    free(p->line);
    memset(p, 0, sizeof *p);
}

const char *tg_pairs_src(const tg_pairs *p, int64_t i) {
    TG_CHECK(p != NULL && i >= 0 && i < p->n, "tg_pairs_src", "pair %lld out of range [0, %lld)",
             (long long)i, (long long)(p ? p->n : 0));
    return p->pool + p->src_off[i];
}

const char *tg_pairs_tgt(const tg_pairs *p, int64_t i) {
    TG_CHECK(p != NULL && i >= 0 && i < p->n, "tg_pairs_tgt", "pair %lld out of range [0, %lld)",
             (long long)i, (long long)(p ? p->n : 0));
    return p->pool + p->tgt_off[i];
}
