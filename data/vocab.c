/* data/vocab.c — word / character vocabularies: build, lookup, (de)serialise. */
#include "data/vocab.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const word_specials[] = {"<pad>", "<unk>"};
static const char *const char_specials[] = {"<pad>", "<unk>", "<bow>", "<eow>"};
static const char *const seq_specials[] = {"<pad>", "<unk>", "<bos>", "<eos>"};

static const char *const *specials_of(tg_vocab_kind kind) {
    return kind == TG_VOCAB_WORD ? word_specials : kind == TG_VOCAB_CHAR ? char_specials : seq_specials;
}
static int32_t n_specials_of(tg_vocab_kind kind) { return kind == TG_VOCAB_WORD ? 2 : 4; }
static int is_word_kind(tg_vocab_kind kind) { return kind == TG_VOCAB_WORD || kind == TG_VOCAB_SEQ; }

static unsigned char norm_byte(unsigned char b, int flags) {
    return (flags & TG_VOCAB_DIGITS_TO_ZERO) && b >= '0' && b <= '9' ? '0' : b;
}

/* FNV-1a 64 of the normalised bytes. */
static uint64_t hash_bytes(const char *s, size_t n, int flags) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= norm_byte((unsigned char)s[i], flags);
        h *= 1099511628211ull;
    }
    return h;
}

static void *xrealloc(void *p, size_t bytes) {
    void *q = realloc(p, bytes ? bytes : 1);
    TG_CHECK(q != NULL, "tg_vocab", "out of memory reallocating %zu bytes", bytes);
    return q;
}

static int64_t pow2_at_least(int64_t n) {
    int64_t p = 16;
    while (p < n) p *= 2;
    return p;
}

/* ---- the vocabulary's own table -------------------------------------------- */

static size_t entry_len(const tg_vocab *v, int32_t id) {
    return (size_t)(v->off[id + 1] - v->off[id] - 1);
}

/* Slot holding s (normalised by flags) or the empty slot where it would go. */
static int64_t find_slot(const tg_vocab *v, const char *s, size_t n, int flags) {
    uint64_t mask = (uint64_t)v->n_slots - 1;
    for (uint64_t i = hash_bytes(s, n, flags) & mask;; i = (i + 1) & mask) {
        int32_t id = v->slots[i];
        if (id < 0) return (int64_t)i;
        if (entry_len(v, id) != n) continue;
        const unsigned char *e = (const unsigned char *)v->pool + v->off[id];
        size_t k = 0;
        while (k < n && e[k] == norm_byte((unsigned char)s[k], flags)) k++;
        if (k == n) return (int64_t)i;
    }
}

static void table_alloc(tg_vocab *v) {
    v->n_slots = pow2_at_least(2 * (int64_t)v->size + 2);
    v->slots = tg_xmalloc(sizeof(int32_t) * (size_t)v->n_slots);
    memset(v->slots, 0xff, sizeof(int32_t) * (size_t)v->n_slots); /* all -1 */
}

/* Inserts id; returns 0 if an equal entry is already there. Entries are
 * stored normalised, so they are hashed with flags 0. */
static int table_insert(tg_vocab *v, int32_t id) {
    int64_t slot = find_slot(v, v->pool + v->off[id], entry_len(v, id), 0);
    if (v->slots[slot] >= 0) return 0;
    v->slots[slot] = id;
    return 1;
}

/* ---- counting (build time) --------------------------------------------------- */

typedef struct {
    const char *s; /* into counter.keys during counting, then resolved */
    int64_t key_off;
    int32_t len;
    int64_t count;
} entry;

typedef struct {
    char *keys;
    int64_t keys_len, keys_cap;
    entry *e;
    int64_t n, cap;
    int64_t *slots; /* index into e, -1 empty */
    int64_t n_slots;
} counter;

static void counter_rehash(counter *ct, int64_t n_slots) {
    free(ct->slots);
    ct->n_slots = n_slots;
    ct->slots = xrealloc(NULL, sizeof(int64_t) * (size_t)n_slots);
    memset(ct->slots, 0xff, sizeof(int64_t) * (size_t)n_slots);
    uint64_t mask = (uint64_t)n_slots - 1;
    for (int64_t j = 0; j < ct->n; j++) {
        uint64_t i = hash_bytes(ct->keys + ct->e[j].key_off, (size_t)ct->e[j].len, 0) & mask;
        while (ct->slots[i] >= 0) i = (i + 1) & mask;
        ct->slots[i] = j;
    }
}

static void counter_add(counter *ct, const char *s, size_t n) {
    if (2 * (ct->n + 1) > ct->n_slots) counter_rehash(ct, pow2_at_least(4 * (ct->n + 1)));
    uint64_t mask = (uint64_t)ct->n_slots - 1;
    uint64_t i = hash_bytes(s, n, 0) & mask;
    for (; ct->slots[i] >= 0; i = (i + 1) & mask) {
        entry *e = &ct->e[ct->slots[i]];
        if ((size_t)e->len == n && memcmp(ct->keys + e->key_off, s, n) == 0) {
            e->count++;
            return;
        }
    }
    if (ct->n == ct->cap) {
        ct->cap = ct->cap ? 2 * ct->cap : 1024;
        ct->e = xrealloc(ct->e, sizeof(entry) * (size_t)ct->cap);
    }
    while (ct->keys_len + (int64_t)n + 1 > ct->keys_cap) {
        ct->keys_cap = ct->keys_cap ? 2 * ct->keys_cap : 1 << 16;
        ct->keys = xrealloc(ct->keys, (size_t)ct->keys_cap);
    }
    memcpy(ct->keys + ct->keys_len, s, n);
    ct->keys[ct->keys_len + (int64_t)n] = '\0';
    ct->e[ct->n] = (entry){NULL, ct->keys_len, (int32_t)n, 1};
    ct->keys_len += (int64_t)n + 1;
    ct->slots[i] = ct->n++;
}

static int entry_cmp(const void *pa, const void *pb) {
    const entry *a = pa, *b = pb;
    if (a->count != b->count) return a->count > b->count ? -1 : 1;
    size_t n = (size_t)(a->len < b->len ? a->len : b->len);
    int c = memcmp(a->s, b->s, n);
    if (c) return c;
    return (a->len > b->len) - (a->len < b->len);
}

/* Makes *out from the counted entries: specials, then entries with
 * count >= min_count sorted by count desc, then bytes. Frees the counter. */
static void make_vocab(counter *ct, int64_t min_count, tg_vocab_kind kind, int flags, tg_vocab *out) {
    const char *const *spec = specials_of(kind);
    int32_t ns = n_specials_of(kind);
    int64_t kept = 0, bytes = 0;
    for (int64_t j = 0; j < ct->n; j++) {
        ct->e[j].s = ct->keys + ct->e[j].key_off;
        if (ct->e[j].count >= min_count) ct->e[kept++] = ct->e[j];
    }
    TG_CHECK(kept < INT32_MAX - ns, "tg_vocab_build", "%lld entries: too many", (long long)kept);
    if (kept > 1) qsort(ct->e, (size_t)kept, sizeof(entry), entry_cmp);
    for (int32_t i = 0; i < ns; i++) bytes += (int64_t)strlen(spec[i]) + 1;
    for (int64_t j = 0; j < kept; j++) bytes += ct->e[j].len + 1;
    tg_vocab v = {.kind = kind, .flags = flags, .n_special = ns, .size = (int32_t)(ns + kept)};
    v.pool = tg_xmalloc((size_t)bytes);
    v.off = tg_xmalloc(sizeof(int64_t) * (size_t)(v.size + 1));
    v.count = tg_xcalloc(sizeof(int64_t) * (size_t)v.size);
    int64_t at = 0;
    for (int32_t id = 0; id < v.size; id++) {
        const char *s = id < ns ? spec[id] : ct->e[id - ns].s;
        size_t n = id < ns ? strlen(s) : (size_t)ct->e[id - ns].len;
        v.off[id] = at;
        memcpy(v.pool + at, s, n);
        v.pool[at + (int64_t)n] = '\0';
        at += (int64_t)n + 1;
        if (id >= ns) v.count[id] = ct->e[id - ns].count;
    }
    v.off[v.size] = at;
    table_alloc(&v);
    for (int32_t id = ns; id < v.size; id++) table_insert(&v, id);
    free(ct->keys);
    free(ct->e);
    free(ct->slots);
    *out = v;
}

void tg_vocab_build_words(const tg_conllu *c, int64_t min_count, int flags, tg_vocab *out) {
    TG_CHECK(c != NULL && out != NULL, "tg_vocab_build_words", "c and out must not be NULL");
    TG_CHECK(min_count >= 1, "tg_vocab_build_words", "min_count is %lld: expected >= 1", (long long)min_count);
    TG_CHECK((flags & ~TG_VOCAB_DIGITS_TO_ZERO) == 0, "tg_vocab_build_words", "unknown flags 0x%x", flags);
    counter ct = {0};
    char *scratch = NULL;
    int64_t scratch_cap = 0;
    for (int64_t w = 0; w < c->n_words; w++) {
        const char *s = c->pool + c->form_off[w];
        int64_t n = tg_conllu_form_len(c, w);
        if (flags) {
            if (n > scratch_cap) scratch = xrealloc(scratch, (size_t)(scratch_cap = 2 * n));
            for (int64_t i = 0; i < n; i++) scratch[i] = (char)norm_byte((unsigned char)s[i], flags);
            s = scratch;
        }
        counter_add(&ct, s, (size_t)n);
    }
    free(scratch);
    make_vocab(&ct, min_count, TG_VOCAB_WORD, flags, out);
}

void tg_vocab_build_sentences(const char *const *sents, int64_t n, int64_t min_count, tg_vocab *out) {
    TG_CHECK((sents != NULL || n == 0) && n >= 0 && out != NULL, "tg_vocab_build_sentences",
             "sents and out must not be NULL, n >= 0 (got %lld)", (long long)n);
    TG_CHECK(min_count >= 1, "tg_vocab_build_sentences", "min_count is %lld: expected >= 1",
             (long long)min_count);
    counter ct = {0};
    for (int64_t i = 0; i < n; i++)
        for (const char *w = sents[i], *e; *w; w = *e ? e + 1 : e) {
            e = strchr(w, ' ');
            if (!e) e = w + strlen(w);
            if (e > w) counter_add(&ct, w, (size_t)(e - w));
        }
    make_vocab(&ct, min_count, TG_VOCAB_SEQ, 0, out);
}

int64_t tg_vocab_encode_sentence(const tg_vocab *v, const char *s, int32_t *ids, int64_t cap) {
    TG_CHECK(v != NULL && is_word_kind(v->kind) && s != NULL && cap >= 0 && (ids != NULL || cap == 0),
             "tg_vocab_encode_sentence", "expected a word vocabulary, a string and cap >= 0");
    int64_t k = 0;
    for (const char *w = s, *e; *w; w = *e ? e + 1 : e) {
        e = strchr(w, ' ');
        if (!e) e = w + strlen(w);
        if (e == w) continue;
        if (k < cap) ids[k] = tg_vocab_word_id(v, w, (size_t)(e - w));
        k++;
    }
    return k;
}

void tg_vocab_build_chars(const tg_conllu *c, int64_t min_count, tg_vocab *out) {
    TG_CHECK(c != NULL && out != NULL, "tg_vocab_build_chars", "c and out must not be NULL");
    TG_CHECK(min_count >= 1, "tg_vocab_build_chars", "min_count is %lld: expected >= 1", (long long)min_count);
    counter ct = {0};
    for (int64_t w = 0; w < c->n_words; w++) {
        const char *s = c->pool + c->form_off[w];
        size_t n = (size_t)tg_conllu_form_len(c, w);
        for (size_t i = 0; i < n;) {
            int len = tg_utf8_decode(s + i, n - i, NULL);
            TG_CHECK(len > 0, "tg_vocab_build_chars", "word %lld is not valid UTF-8", (long long)w);
            counter_add(&ct, s + i, (size_t)len);
            i += (size_t)len;
        }
    }
    make_vocab(&ct, min_count, TG_VOCAB_CHAR, 0, out);
}

void tg_vocab_free(tg_vocab *v) {
    if (!v) return;
    free(v->pool);
    free(v->off);
    free(v->count);
    free(v->slots);
    memset(v, 0, sizeof *v);
}

/* ---- lookup ------------------------------------------------------------------- */

int32_t tg_vocab_word_id(const tg_vocab *v, const char *s, size_t n) {
    TG_CHECK(v != NULL && is_word_kind(v->kind) && (s != NULL || n == 0), "tg_vocab_word_id",
             "expected a word vocabulary and a string");
    int32_t id = v->slots[find_slot(v, s, n, v->flags)];
    return id < 0 ? TG_VOCAB_UNK : id;
}

int32_t tg_vocab_char_id(const tg_vocab *v, uint32_t cp) {
    TG_CHECK(v != NULL && v->kind == TG_VOCAB_CHAR, "tg_vocab_char_id", "expected a character vocabulary");
    if (cp >= 0x110000 || (cp >= 0xD800 && cp <= 0xDFFF)) return TG_VOCAB_UNK;
    char b[4];
    int n = tg_utf8_encode(cp, b);
    int32_t id = v->slots[find_slot(v, b, (size_t)n, 0)];
    return id < 0 ? TG_VOCAB_UNK : id;
}

const char *tg_vocab_str(const tg_vocab *v, int32_t id) {
    TG_CHECK(v != NULL && id >= 0 && id < v->size, "tg_vocab_str",
             "id %d out of range: vocabulary has %d entries", id, v ? v->size : 0);
    return v->pool + v->off[id];
}

void tg_vocab_encode_words(const tg_vocab *v, const tg_conllu *c, int32_t *ids) {
    TG_CHECK(c != NULL && (ids != NULL || c->n_words == 0), "tg_vocab_encode_words",
             "c and ids must not be NULL");
    for (int64_t w = 0; w < c->n_words; w++)
        ids[w] = tg_vocab_word_id(v, c->pool + c->form_off[w], (size_t)tg_conllu_form_len(c, w));
}

int64_t tg_vocab_word_chars(const tg_vocab *v, const char *s, size_t n, int32_t *ids, int64_t cap) {
    TG_CHECK(v != NULL && v->kind == TG_VOCAB_CHAR, "tg_vocab_word_chars", "expected a character vocabulary");
    TG_CHECK(cap >= 0 && (ids != NULL || cap == 0) && (s != NULL || n == 0), "tg_vocab_word_chars",
             "bad arguments: cap %lld", (long long)cap);
    int64_t k = 0;
    if (k < cap) ids[k] = TG_VOCAB_BOW;
    k++;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        int len = tg_utf8_decode(s + i, n - i, &cp);
        int32_t id = len ? tg_vocab_char_id(v, cp) : TG_VOCAB_UNK;
        i += len ? (size_t)len : 1;
        if (k < cap) ids[k] = id;
        k++;
    }
    if (k < cap) ids[k] = TG_VOCAB_EOW;
    return k + 1;
}

/* ---- serialisation ---------------------------------------------------------------- */

char *tg_vocab_to_string(const tg_vocab *v) {
    TG_CHECK(v != NULL, "tg_vocab_to_string", "v is NULL");
    const char *const *spec = specials_of(v->kind);
    size_t cap = 256 + (size_t)(v->off[v->size]) + (size_t)v->size * 32;
    char *buf = tg_xmalloc(cap);
    size_t at = 0;
    at += (size_t)snprintf(buf + at, cap - at, "tapegrad-vocab 1\nkind %s\nnormalize %s\nspecials",
                           v->kind == TG_VOCAB_WORD ? "word" : v->kind == TG_VOCAB_CHAR ? "char" : "seq",
                           (v->flags & TG_VOCAB_DIGITS_TO_ZERO) ? "digits" : "none");
    for (int32_t i = 0; i < v->n_special; i++) at += (size_t)snprintf(buf + at, cap - at, " %s", spec[i]);
    at += (size_t)snprintf(buf + at, cap - at, "\nsize %d\n", v->size - v->n_special);
    for (int32_t id = v->n_special; id < v->size; id++) {
        at += (size_t)snprintf(buf + at, cap - at, "%lld\t", (long long)v->count[id]);
        if (v->kind == TG_VOCAB_CHAR) {
            uint32_t cp = 0;
            tg_utf8_decode(v->pool + v->off[id], entry_len(v, id), &cp);
            at += (size_t)snprintf(buf + at, cap - at, "U+%04X\n", (unsigned)cp);
        } else {
            size_t n = entry_len(v, id);
            memcpy(buf + at, v->pool + v->off[id], n);
            at += n;
            buf[at++] = '\n';
        }
    }
    TG_CHECK(at < cap, "tg_vocab_to_string", "internal error: buffer too small");
    buf[at] = '\0';
    return buf;
}

/* A TG_ERR_FORMAT error at name:line. */
#define verr(name, line, ...) tg_set_error_at(TG_ERR_FORMAT, (name), (line), __VA_ARGS__)

/* Next LF-terminated line; 0 at end of string, -1 if the last line has no LF. */
static int get_line(const char **pos, const char **p, size_t *n) {
    if (**pos == '\0') return 0;
    const char *nl = strchr(*pos, '\n');
    if (!nl) return -1;
    *p = *pos;
    *n = (size_t)(nl - *pos);
    *pos = nl + 1;
    return 1;
}

static int line_is(const char *p, size_t n, const char *lit) {
    return strlen(lit) == n && memcmp(p, lit, n) == 0;
}

/* Canonical non-negative decimal of at most 18 digits. */
static int parse_count(const char *p, size_t n, int64_t *v) {
    if (n == 0 || n > 18 || (n > 1 && p[0] == '0')) return 0;
    int64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') return 0;
        x = x * 10 + (p[i] - '0');
    }
    *v = x;
    return 1;
}

/* Canonical "U+XXXX" (upper-case hex, 4..6 digits, no extra leading zero) of a scalar value. */
static int parse_codepoint(const char *p, size_t n, uint32_t *cp) {
    if (n < 6 || n > 8 || p[0] != 'U' || p[1] != '+' || (n > 6 && p[2] == '0')) return 0;
    uint32_t x = 0;
    for (size_t i = 2; i < n; i++) {
        char ch = p[i];
        int d = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
        if (d < 0) return 0;
        x = x * 16 + (uint32_t)d;
    }
    if (x >= 0x110000 || (x >= 0xD800 && x <= 0xDFFF)) return 0;
    *cp = x;
    return 1;
}

#define QLEN(n) ((int)((n) < 40 ? (n) : 40))

tg_status tg_vocab_from_string(const char *name, const char *s, tg_vocab *out) {
    TG_CHECK(name != NULL && s != NULL && out != NULL, "tg_vocab_from_string",
             "name, s and out must not be NULL");
    const char *pos = s, *p = NULL;
    size_t n = 0;
    int64_t ln = 0;
    tg_vocab_kind kind;
    int flags, r;
    /* header */
    static const char *const expect[5] = {"tapegrad-vocab 1", "kind word|char|seq", "normalize none|digits",
                                          "specials …", "size N"};
    const char *field[5];
    size_t fieldn[5];
    for (int i = 0; i < 5; i++) {
        ln++;
        if ((r = get_line(&pos, &p, &n)) != 1)
            return verr(name, ln, "expected '%s', found %s", expect[i],
                        r == 0 ? "end of text" : "a line without a final newline");
        field[i] = p;
        fieldn[i] = n;
    }
    if (!line_is(field[0], fieldn[0], "tapegrad-vocab 1"))
        return verr(name, 1, "expected 'tapegrad-vocab 1', found '%.*s'", QLEN(fieldn[0]), field[0]);
    if (line_is(field[1], fieldn[1], "kind word")) kind = TG_VOCAB_WORD;
    else if (line_is(field[1], fieldn[1], "kind char")) kind = TG_VOCAB_CHAR;
    else if (line_is(field[1], fieldn[1], "kind seq")) kind = TG_VOCAB_SEQ;
    else return verr(name, 2, "expected 'kind word', 'kind char' or 'kind seq', found '%.*s'",
                     QLEN(fieldn[1]), field[1]);
    if (line_is(field[2], fieldn[2], "normalize none")) flags = 0;
    else if (kind == TG_VOCAB_WORD && line_is(field[2], fieldn[2], "normalize digits")) flags = TG_VOCAB_DIGITS_TO_ZERO;
    else return verr(name, 3, "expected 'normalize none'%s, found '%.*s'",
                     kind == TG_VOCAB_WORD ? " or 'normalize digits'" : kind == TG_VOCAB_CHAR ? " (char vocabulary)" : "",
                     QLEN(fieldn[2]), field[2]);
    const char *spec_line = kind == TG_VOCAB_WORD   ? "specials <pad> <unk>"
                            : kind == TG_VOCAB_CHAR ? "specials <pad> <unk> <bow> <eow>"
                                                    : "specials <pad> <unk> <bos> <eos>";
    if (!line_is(field[3], fieldn[3], spec_line))
        return verr(name, 4, "expected '%s', found '%.*s'", spec_line, QLEN(fieldn[3]), field[3]);
    int64_t size;
    if (fieldn[4] < 6 || memcmp(field[4], "size ", 5) != 0 || !parse_count(field[4] + 5, fieldn[4] - 5, &size))
        return verr(name, 5, "expected 'size N' with N a non-negative integer, found '%.*s'",
                    QLEN(fieldn[4]), field[4]);
    int64_t lines_left = 0;
    for (const char *q = pos; *q; q++) lines_left += *q == '\n';
    if (size > lines_left)
        return verr(name, 5, "size %lld but only %lld entry lines follow", (long long)size, (long long)lines_left);
    /* entries: filled straight into a vocab, freed on error */
    const char *const *spec = specials_of(kind);
    int32_t ns = n_specials_of(kind);
    if (size > INT32_MAX - ns) return verr(name, 5, "size %lld is too large", (long long)size);
    int64_t bytes = 0;
    for (int32_t i = 0; i < ns; i++) bytes += (int64_t)strlen(spec[i]) + 1;
    bytes += (int64_t)strlen(pos) + 1;
    tg_vocab v = {.kind = kind, .flags = flags, .n_special = ns, .size = (int32_t)(ns + size)};
    v.pool = tg_xmalloc((size_t)bytes);
    v.off = tg_xmalloc(sizeof(int64_t) * (size_t)(v.size + 1));
    v.count = tg_xcalloc(sizeof(int64_t) * (size_t)v.size);
    table_alloc(&v);
    int64_t at = 0;
    for (int32_t i = 0; i < ns; i++) {
        v.off[i] = at;
        size_t k = strlen(spec[i]);
        memcpy(v.pool + at, spec[i], k + 1);
        at += (int64_t)k + 1;
    }
    tg_status st = TG_OK;
    for (int32_t id = ns; id < v.size; id++) {
        ln++;
        if ((r = get_line(&pos, &p, &n)) != 1) {
            st = verr(name, ln, "expected entry %d of %lld ('count<TAB>entry'), found %s", id - ns + 1,
                      (long long)size, r == 0 ? "end of text" : "a line without a final newline");
            break;
        }
        const char *tab = memchr(p, '\t', n);
        if (!tab) { st = verr(name, ln, "expected 'count<TAB>entry', found no TAB"); break; }
        if (!parse_count(p, (size_t)(tab - p), &v.count[id])) {
            st = verr(name, ln, "expected a count (non-negative integer, no leading zeros), found '%.*s'",
                      QLEN((size_t)(tab - p)), p);
            break;
        }
        const char *e = tab + 1;
        size_t en = n - (size_t)(e - p);
        char cpbuf[4];
        if (kind == TG_VOCAB_CHAR) {
            uint32_t cp;
            if (!parse_codepoint(e, en, &cp)) {
                st = verr(name, ln, "expected a character as U+XXXX (upper-case hex, 4 to 6 digits, "
                          "a Unicode scalar value), found '%.*s'", QLEN(en), e);
                break;
            }
            en = (size_t)tg_utf8_encode(cp, cpbuf);
            e = cpbuf;
        } else {
            size_t bad;
            const char *why;
            if (en == 0) { st = verr(name, ln, "empty entry: expected a word after the TAB"); break; }
            if (memchr(e, '\t', en)) { st = verr(name, ln, "expected one TAB per line, found more"); break; }
            if (!tg_utf8_valid(e, en, &bad, &why)) {
                st = verr(name, ln, "invalid UTF-8 in the entry at byte %zu (%s)", bad + 1, why);
                break;
            }
            size_t k = 0;
            while (k < en && (unsigned char)e[k] == norm_byte((unsigned char)e[k], flags)) k++;
            if (k < en) {
                st = verr(name, ln, "entry '%.*s' is not normalised: expected digits written as 0",
                          QLEN(en), e);
                break;
            }
        }
        v.off[id] = at;
        memcpy(v.pool + at, e, en);
        v.pool[at + (int64_t)en] = '\0';
        at += (int64_t)en + 1;
        v.off[id + 1] = at;
        if (!table_insert(&v, id)) {
            st = verr(name, ln, "duplicate entry '%.*s': expected each entry once", QLEN(en), v.pool + v.off[id]);
            break;
        }
    }
    if (st == TG_OK && *pos != '\0')
        st = verr(name, ln + 1, "expected end of text after %lld entries, found more", (long long)size);
    if (st != TG_OK) {
        tg_vocab_free(&v);
        return st;
    }
    v.off[v.size] = at;
    *out = v;
    return TG_OK;
}

tg_status tg_vocab_from_string_expect(const char *name, const char *s, tg_vocab_kind kind, int32_t size,
                                      tg_vocab *out) {
    TG_CHECK(size >= 0 && kind >= TG_VOCAB_WORD && kind <= TG_VOCAB_SEQ, "tg_vocab_from_string_expect",
             "size %d, kind %d", (int)size, (int)kind);
    tg_vocab v;
    tg_status st = tg_vocab_from_string(name, s, &v);
    if (st != TG_OK) return st;
    if (v.kind != kind || v.size != size) {
        static const char *const kinds[] = {"word", "char", "seq"};
        st = tg_set_error(TG_ERR_FORMAT, "%s: a %s vocabulary of %d entries; expected a %s vocabulary of %d", name,
                          kinds[v.kind], (int)v.size, kinds[kind], (int)size);
        tg_vocab_free(&v);
        return st;
    }
    *out = v;
    return TG_OK;
}
