/* data/conllu.c — CoNLL-U reader/writer, UPOS table, strict UTF-8.
 * Format: https://universaldependencies.org/format.html
 *
 * The whole (decompressed) file is read into memory, then parsed twice by
 * the same function: pass 1 validates and counts, pass 2 fills arrays sized
 * exactly from the counts. So errors are all found before anything is
 * allocated for the corpus, and the corpus is a handful of flat arrays. */
#define _POSIX_C_SOURCE 200809L
#include "data/conllu.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/io.h"

/* ---- UPOS ------------------------------------------------------------------ */

const char *const tg_upos_names[TG_UPOS_COUNT] = {
#define TG__UPOS_NAME(name) #name,
    TG_UPOS_LIST(TG__UPOS_NAME)
#undef TG__UPOS_NAME
};

static int upos_index_n(const char *s, size_t n) {
    for (int i = 0; i < TG_UPOS_COUNT; i++)
        if (strlen(tg_upos_names[i]) == n && memcmp(tg_upos_names[i], s, n) == 0) return i;
    return -1;
}

int tg_upos_index(const char *tag) {
    TG_CHECK(tag != NULL, "tg_upos_index", "tag is NULL");
    return upos_index_n(tag, strlen(tag));
}

const char *tg_upos_name(int idx) {
    TG_CHECK(idx >= -1 && idx < TG_UPOS_COUNT, "tg_upos_name",
             "tag index %d out of range: expected -1..%d", idx, TG_UPOS_COUNT - 1);
    return idx < 0 ? "_" : tg_upos_names[idx];
}

/* ---- UTF-8 (RFC 3629, table 3-7 of the Unicode standard) ------------------- */

/* Returns length 1..4, or 0 with *why set. */
static int utf8_step(const unsigned char *s, size_t n, uint32_t *cp, const char **why) {
    if (n == 0) { *why = "truncated sequence"; return 0; }
    unsigned c = s[0];
    if (c < 0x80) { *cp = c; return 1; }
    if (c < 0xC0) { *why = "unexpected continuation byte"; return 0; }
    if (c < 0xC2) { *why = "overlong encoding"; return 0; }
    int len;
    unsigned lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    uint32_t v;
    if (c < 0xE0) { len = 2; v = c & 0x1F; }
    else if (c < 0xF0) {
        len = 3; v = c & 0x0F;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
    } else if (c < 0xF5) {
        len = 4; v = c & 0x07;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else if (c < 0xF8) { *why = "code point above U+10FFFF"; return 0; }
    else { *why = "invalid byte"; return 0; }
    for (int k = 1; k < len; k++) {
        if ((size_t)k >= n || (s[k] & 0xC0) != 0x80) { *why = "truncated sequence"; return 0; }
        if (k == 1 && (s[1] < lo || s[1] > hi)) {
            *why = c == 0xE0 || c == 0xF0 ? "overlong encoding"
                 : c == 0xED              ? "surrogate code point"
                                          : "code point above U+10FFFF";
            return 0;
        }
        v = (v << 6) | (s[k] & 0x3F);
    }
    *cp = v;
    return len;
}

int tg_utf8_decode(const char *s, size_t n, uint32_t *cp) {
    const char *why;
    uint32_t v = 0;
    int len = utf8_step((const unsigned char *)s, n, &v, &why);
    if (len && cp) *cp = v;
    return len;
}

int tg_utf8_encode(uint32_t cp, char out[4]) {
    TG_CHECK(cp < 0x110000 && (cp < 0xD800 || cp > 0xDFFF), "tg_utf8_encode",
             "U+%04X is not a Unicode scalar value", (unsigned)cp);
    if (cp < 0x80) { out[0] = (char)cp; return 1; }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6)); out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12)); out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18)); out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

int tg_utf8_valid(const char *s, size_t n, size_t *bad_off, const char **why) {
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        if (u[i] < 0x80) { i++; continue; }
        uint32_t cp;
        const char *w = NULL;
        int len = utf8_step(u + i, n - i, &cp, &w);
        if (!len) {
            if (bad_off) *bad_off = i;
            if (why) *why = w;
            return 0;
        }
        i += (size_t)len;
    }
    return 1;
}

/* ---- parsing ------------------------------------------------------------------ */

static const char *const column_names[10] = {"ID",    "FORM", "LEMMA",  "UPOS", "XPOS",
                                             "FEATS", "HEAD", "DEPREL", "DEPS", "MISC"};

/* A TG_ERR_FORMAT error at name:line. */
#define ferr(name, line, ...) tg_set_error_at(TG_ERR_FORMAT, (name), (line), __VA_ARGS__)

/* At most this many bytes of a bad field are quoted in a message. */
#define QUOTE 40
#define QLEN(n) ((int)((n) < QUOTE ? (n) : QUOTE))

/* What both passes see. In pass 1 (c == NULL) only counts; in pass 2 fills. */
typedef struct {
    int64_t n_sents, n_words, pool_bytes, meta_bytes, max_sent_len, n_multiword, n_empty;
} counts;

/* Checks a line for NUL bytes and invalid UTF-8. */
static tg_status check_bytes(const char *name, int64_t ln, const char *p, size_t n, int token_line) {
    const char *nul = memchr(p, '\0', n);
    size_t bad;
    const char *why;
    if (nul) return ferr(name, ln, "NUL byte at byte %zu of the line: expected UTF-8 text", (size_t)(nul - p) + 1);
    if (tg_utf8_valid(p, n, &bad, &why)) return TG_OK;
    if (!token_line)
        return ferr(name, ln, "invalid UTF-8 at byte %zu of the line (%s)", bad + 1, why);
    int col = 0;
    for (size_t i = 0; i < bad; i++) col += p[i] == '\t';
    return ferr(name, ln, "invalid UTF-8 in column %d (%s) at byte %zu of the line (%s)", col + 1,
                col < 10 ? column_names[col] : "extra", bad + 1, why);
}

/* Parses a decimal integer of 1..9 digits without leading zeros (except "0"
 * itself) from [p, e); returns the end pointer or NULL. */
static const char *parse_num(const char *p, const char *e, long *v) {
    const char *q = p;
    long x = 0;
    while (q < e && *q >= '0' && *q <= '9' && q - p < 9) x = x * 10 + (*q++ - '0');
    if (q == p || (q - p > 1 && *p == '0') || (q < e && *q >= '0' && *q <= '9')) return NULL;
    *v = x;
    return q;
}

/* If line [p,e) is "# key = value", sets the value span (*v, *vn). */
static int comment_value(const char *p, const char *e, const char *key, const char **v, size_t *vn) {
    size_t kn = strlen(key);
    p++; /* '#' */
    while (p < e && *p == ' ') p++;
    if ((size_t)(e - p) < kn || memcmp(p, key, kn) != 0) return 0;
    p += kn;
    while (p < e && *p == ' ') p++;
    if (p == e || *p != '=') return 0;
    p++;
    while (p < e && *p == ' ') p++;
    *v = p;
    *vn = (size_t)(e - p);
    return 1;
}

static int64_t put_meta(tg_conllu *c, counts *k, const char *v, size_t n) {
    int64_t off = k->meta_bytes;
    if (c) {
        memcpy(c->meta + off, v, n);
        c->meta[off + (int64_t)n] = '\0';
    }
    k->meta_bytes += (int64_t)n + 1;
    return off;
}

static int64_t put_form(tg_conllu *c, counts *k, const char *f, size_t n, int upos) {
    if (c) {
        c->form_off[k->n_words] = k->pool_bytes;
        memcpy(c->pool + k->pool_bytes, f, n);
        c->pool[k->pool_bytes + (int64_t)n] = '\0';
        c->upos[k->n_words] = (int8_t)upos;
    }
    k->pool_bytes += (int64_t)n + 1;
    return k->n_words++;
}

static void end_sentence(tg_conllu *c, counts *k, int64_t first_word, int64_t sid, int64_t txt) {
    if (c) {
        c->sent_start[k->n_sents] = first_word;
        c->sent_id_off[k->n_sents] = sid;
        c->text_off[k->n_sents] = txt;
    }
    if (k->n_words - first_word > k->max_sent_len) k->max_sent_len = k->n_words - first_word;
    k->n_sents++;
}

/* Iterates the lines of buf[0..len): sets *p, *e (CR before LF dropped),
 * returns 0 at the end. */
static int next_line(const char *buf, size_t len, size_t *pos, const char **p, const char **e) {
    if (*pos >= len) return 0;
    const char *s = buf + *pos;
    const char *nl = memchr(s, '\n', len - *pos);
    const char *end = nl ? nl : buf + len;
    *pos = nl ? (size_t)(nl - buf) + 1 : len;
    if (end > s && end[-1] == '\r') end--;
    *p = s;
    *e = end;
    return 1;
}

static size_t skip_bom(const char *buf, size_t len) {
    return len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
}

static tg_status parse_conllu(const char *name, const char *buf, size_t len, int flags,
                              tg_conllu *c, counts *k) {
    memset(k, 0, sizeof *k);
    size_t pos = skip_bom(buf, len);
    const char *p, *e;
    int64_t ln = 0;
    int64_t first_word = 0;   /* first word of the current sentence */
    int64_t n_tokens = 0;     /* token lines in the current sentence */
    int64_t last_token_ln = 0, first_comment_ln = 0, first_token_ln = 0;
    long next_id = 1, range_end = 0;
    int64_t sid = -1, txt = -1;
    while (next_line(buf, len, &pos, &p, &e)) {
        ln++;
        size_t n = (size_t)(e - p);
        if (n == 0) { /* blank line: ends a sentence */
            if (n_tokens > 0) {
                if (range_end >= next_id)
                    return ferr(name, ln, "sentence ends at word %ld but the multiword token before "
                                "covers words up to %ld: expected more word lines", next_id - 1, range_end);
                if (k->n_words == first_word)
                    return ferr(name, first_token_ln, "sentence has no word lines (only empty nodes "
                                "or multiword ranges): expected a word with ID 1");
                end_sentence(c, k, first_word, sid, txt);
            } else if (first_comment_ln) {
                return ferr(name, ln, "expected a token line after the comment lines "
                            "(from line %lld), found a blank line", (long long)first_comment_ln);
            }
            /* blank lines between sentences carry nothing: accepted */
            n_tokens = 0; first_comment_ln = 0; next_id = 1; range_end = 0; sid = txt = -1;
            first_word = k->n_words;
            continue;
        }
        if (c == NULL) {
            tg_status st = check_bytes(name, ln, p, n, p[0] != '#');
            if (st != TG_OK) return st;
        }
        if (p[0] == '#') {
            if (n_tokens > 0)
                return ferr(name, ln, "comment line inside a sentence: expected a token line "
                            "or a blank line to end the sentence");
            if (!first_comment_ln) first_comment_ln = ln;
            const char *v;
            size_t vn;
            if (sid < 0 && comment_value(p, e, "sent_id", &v, &vn)) sid = put_meta(c, k, v, vn);
            else if (txt < 0 && comment_value(p, e, "text", &v, &vn)) txt = put_meta(c, k, v, vn);
            continue;
        }
        /* token line: 10 TAB-separated non-empty fields */
        const char *f[10];
        size_t fn[10];
        int nf = 0;
        for (const char *q = p;; ) {
            const char *t = memchr(q, '\t', (size_t)(e - q));
            const char *fe = t ? t : e;
            if (nf < 10) { f[nf] = q; fn[nf] = (size_t)(fe - q); }
            nf++;
            if (!t) break;
            q = t + 1;
        }
        if (nf != 10) {
            int only_ws = 1;
            for (const char *q = p; q < e; q++) only_ws &= *q == ' ' || *q == '\t';
            if (only_ws)
                return ferr(name, ln, "line of only spaces/tabs: expected an empty line to end "
                            "a sentence, or 10 tab-separated columns");
            return ferr(name, ln, "expected 10 tab-separated columns, found %d", nf);
        }
        for (int i = 0; i < 10; i++)
            if (fn[i] == 0)
                return ferr(name, ln, "empty column %d (%s): expected a value or _", i + 1, column_names[i]);
        const char *ide = f[0] + fn[0];
        long a, b;
        const char *q = parse_num(f[0], ide, &a);
        if (q == ide) { /* word */
            if (a != next_id)
                return ferr(name, ln, "expected word ID %ld, found %.*s", next_id, QLEN(fn[0]), f[0]);
            int tag;
            if (fn[3] == 1 && f[3][0] == '_' && (flags & TG_CONLLU_UNLABELLED)) {
                tag = -1;
            } else if ((tag = upos_index_n(f[3], fn[3])) < 0) {
                return ferr(name, ln, "unknown UPOS tag '%.*s': expected one of ADJ ADP ADV AUX "
                            "CCONJ DET INTJ NOUN NUM PART PRON PROPN PUNCT SCONJ SYM VERB X%s",
                            QLEN(fn[3]), f[3], (flags & TG_CONLLU_UNLABELLED) ? " or _" : "");
            }
            put_form(c, k, f[1], fn[1], tag);
            next_id++;
        } else if (q && *q == '-' && parse_num(q + 1, ide, &b) == ide) { /* multiword token */
            if (a != next_id || b <= a || a <= range_end)
                return ferr(name, ln, "bad multiword token range %.*s: expected %ld-N with N > %ld, "
                            "not overlapping the previous range", QLEN(fn[0]), f[0], next_id, next_id);
            range_end = b;
            k->n_multiword++;
        } else if (q && *q == '.' && parse_num(q + 1, ide, &b) == ide && b >= 1) { /* empty node */
            if (a != next_id - 1)
                return ferr(name, ln, "bad empty node ID %.*s: expected %ld.N after word %ld",
                            QLEN(fn[0]), f[0], next_id - 1, next_id - 1);
            k->n_empty++;
        } else {
            return ferr(name, ln, "bad ID '%.*s': expected a word ID (integer %ld), a multiword "
                        "range like 1-2 or an empty node like 1.1", QLEN(fn[0]), f[0], next_id);
        }
        if (n_tokens++ == 0) first_token_ln = ln;
        last_token_ln = ln;
    }
    if (n_tokens > 0)
        return ferr(name, last_token_ln, "file ends inside a sentence: expected a blank line "
                    "after this token line");
    if (first_comment_ln)
        return ferr(name, first_comment_ln, "file ends after comment lines: expected a sentence");
    if (k->n_sents == 0 && (flags & TG_CONLLU_NONEMPTY))
        return ferr(name, 1, "no sentences: expected at least one (a blank-line-terminated block of "
                    "token lines)");
    if (c) c->sent_start[k->n_sents] = k->n_words, c->form_off[k->n_words] = k->pool_bytes;
    return TG_OK;
}

/* Whitespace-tokenised text: one sentence per non-blank line. */
static tg_status parse_tokens(const char *name, const char *buf, size_t len, tg_conllu *c, counts *k) {
    memset(k, 0, sizeof *k);
    size_t pos = skip_bom(buf, len);
    const char *p, *e;
    int64_t ln = 0;
    while (next_line(buf, len, &pos, &p, &e)) {
        ln++;
        if (c == NULL) {
            tg_status st = check_bytes(name, ln, p, (size_t)(e - p), 0);
            if (st != TG_OK) return st;
        }
        int64_t first = k->n_words;
        for (const char *q = p; q < e;) {
            while (q < e && (*q == ' ' || *q == '\t')) q++;
            const char *t = q;
            while (t < e && *t != ' ' && *t != '\t') t++;
            if (t > q) put_form(c, k, q, (size_t)(t - q), -1);
            q = t;
        }
        if (k->n_words == first) continue; /* blank line */
        char num[24];
        int nn = snprintf(num, sizeof num, "%lld", (long long)ln);
        int64_t sid = put_meta(c, k, num, (size_t)nn);
        int64_t txt = put_meta(c, k, p, (size_t)(e - p));
        end_sentence(c, k, first, sid, txt);
    }
    if (c) c->sent_start[k->n_sents] = k->n_words, c->form_off[k->n_words] = k->pool_bytes;
    return TG_OK;
}

typedef tg_status (*parse_fn)(const char *name, const char *buf, size_t len, int flags,
                              tg_conllu *c, counts *k);

static tg_status parse_tokens_fn(const char *name, const char *buf, size_t len, int flags,
                                 tg_conllu *c, counts *k) {
    (void)flags;
    return parse_tokens(name, buf, len, c, k);
}

/* Pass 1 (validate, count), allocate exactly, pass 2 (fill), hand over. */
static tg_status build(parse_fn fn, const char *name, const char *buf, size_t len, int flags,
                       tg_conllu *out) {
    counts k;
    tg_status st = fn(name, buf, len, flags, NULL, &k);
    if (st != TG_OK) return st;
    tg_conllu c = {0};
    c.sent_start = tg_xmalloc(sizeof(int64_t) * (size_t)(k.n_sents + 1));
    c.sent_id_off = tg_xmalloc(sizeof(int64_t) * (size_t)(k.n_sents + 1));
    c.text_off = tg_xmalloc(sizeof(int64_t) * (size_t)(k.n_sents + 1));
    c.form_off = tg_xmalloc(sizeof(int64_t) * (size_t)(k.n_words + 1));
    c.upos = tg_xmalloc((size_t)k.n_words + 1);
    c.pool = tg_xmalloc((size_t)k.pool_bytes + 1);
    c.meta = tg_xmalloc((size_t)k.meta_bytes + 1);
    counts k2;
    st = fn(name, buf, len, flags, &c, &k2);
    TG_CHECK(st == TG_OK && k2.n_words == k.n_words && k2.n_sents == k.n_sents &&
                 k2.pool_bytes == k.pool_bytes && k2.meta_bytes == k.meta_bytes,
             "tg_conllu_read", "internal error: second pass disagrees with the first");
    c.n_sents = k.n_sents;
    c.n_words = k.n_words;
    c.max_sent_len = k.max_sent_len;
    c.n_multiword = k.n_multiword;
    c.n_empty = k.n_empty;
    *out = c;
    return TG_OK;
}

static tg_status read_and_build(parse_fn fn, const char *path, int flags, tg_conllu *out) {
    TG_CHECK(path != NULL && out != NULL, "tg_conllu_read", "path and out must not be NULL");
    void *buf = NULL;
    size_t len = 0;
    const char *name = strcmp(path, "-") == 0 ? "<stdin>" : path;
    tg_status st = tg_read_file(path, 0, &buf, &len);
    if (st != TG_OK) return st;
    st = build(fn, name, buf, len, flags, out);
    free(buf);
    return st;
}

tg_status tg_conllu_read(const char *path, int flags, tg_conllu *out) {
    return read_and_build(parse_conllu, path, flags, out);
}

tg_status tg_conllu_parse_string(const char *name, const char *text, int flags, tg_conllu *out) {
    TG_CHECK(name != NULL && text != NULL && out != NULL, "tg_conllu_parse_string",
             "name, text and out must not be NULL");
    return build(parse_conllu, name, text, strlen(text), flags, out);
}

tg_status tg_conllu_parse_tokens(const char *name, const char *text, tg_conllu *out) {
    TG_CHECK(name != NULL && text != NULL && out != NULL, "tg_conllu_parse_tokens",
             "name, text and out must not be NULL");
    return build(parse_tokens_fn, name, text, strlen(text), 0, out);
}

tg_status tg_conllu_read_tokens(const char *path, tg_conllu *out) {
    return read_and_build(parse_tokens_fn, path, 0, out);
}

void tg_conllu_free(tg_conllu *c) {
    if (!c) return;
    free(c->sent_start);
    free(c->sent_id_off);
    free(c->text_off);
    free(c->form_off);
    free(c->upos);
    free(c->pool);
    free(c->meta);
    memset(c, 0, sizeof *c);
}

const char *tg_conllu_form(const tg_conllu *c, int64_t w) {
    TG_CHECK(c != NULL && w >= 0 && w < c->n_words, "tg_conllu_form",
             "word index %lld out of range: corpus has %lld words", (long long)w,
             c ? (long long)c->n_words : 0LL);
    return c->pool + c->form_off[w];
}

/* ---- writing ------------------------------------------------------------------ */

tg_status tg_conllu_write(FILE *f, const char *name, const tg_conllu *c, const int8_t *upos) {
    TG_CHECK(f != NULL && name != NULL && c != NULL, "tg_conllu_write",
             "f, name and c must not be NULL");
    const int8_t *tags = upos ? upos : c->upos;
    errno = 0;
    for (int64_t s = 0; s < c->n_sents; s++) {
        if (c->sent_id_off[s] >= 0) fprintf(f, "# sent_id = %s\n", c->meta + c->sent_id_off[s]);
        if (c->text_off[s] >= 0) fprintf(f, "# text = %s\n", c->meta + c->text_off[s]);
        for (int64_t w = c->sent_start[s]; w < c->sent_start[s + 1]; w++) {
            int t = tags[w];
            TG_CHECK(t >= -1 && t < TG_UPOS_COUNT, "tg_conllu_write",
                     "tag of word %lld is %d: expected -1..%d", (long long)w, t, TG_UPOS_COUNT - 1);
            fprintf(f, "%lld\t%s\t_\t%s\t_\t_\t_\t_\t_\t_\n", (long long)(w - c->sent_start[s] + 1),
                    c->pool + c->form_off[w], tg_upos_name(t));
        }
        fputc('\n', f);
        if (ferror(f)) break;
    }
    if (fflush(f) != 0 || ferror(f))
        return tg_set_error(TG_ERR_IO, "%s: write failed: %s", name,
                            errno ? strerror(errno) : "stream error");
    return TG_OK;
}
