/* data/text.c — see data/text.h. */
#include "data/text.h"

#include <stdlib.h>
#include <string.h>

#include "data/conllu.h" /* tg_utf8_* */
#include "data/io.h"

/* ---- reading ------------------------------------------------------------- */

tg_status tg_text_read(const char *path, tg_text *out) {
    TG_CHECK(path && out, "tg_text_read", "path or out is NULL");
    void *buf;
    size_t len;
    tg_status st = tg_read_file(path, 0, &buf, &len);
    if (st != TG_OK) return st;
    const char *s = buf, *name = strcmp(path, "-") == 0 ? "<stdin>" : path;
    if (len == 0) {
        free(buf);
        return tg_set_error(TG_ERR_FORMAT, "%s: empty file: expected some text", name);
    }
    size_t bad;
    const char *why;
    const char *nul = memchr(s, '\0', len);
    if (nul) {
        int64_t line = 1;
        size_t line_start = 0;
        for (size_t i = 0; i < (size_t)(nul - s); i++)
            if (s[i] == '\n') line++, line_start = i + 1;
        size_t at = (size_t)(nul - s) - line_start + 1;
        free(buf);
        return tg_set_error_at(TG_ERR_FORMAT, name, line, "NUL byte at byte %zu of the line: expected text", at);
    }
    if (!tg_utf8_valid(s, len, &bad, &why)) {
        int64_t line = 1;
        size_t line_start = 0;
        for (size_t i = 0; i < bad; i++)
            if (s[i] == '\n') line++, line_start = i + 1;
        free(buf);
        return tg_set_error_at(TG_ERR_FORMAT, name, line,
                               "invalid UTF-8 (%s) at byte %zu of the line: expected a valid "
                               "UTF-8 sequence",
                               why, bad - line_start + 1);
    }
    int64_t n_chars = 0, n_lines = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        n_chars += (c & 0xC0) != 0x80; /* every byte but a continuation starts a code point */
        n_lines += c == '\n';
    }
    if (s[len - 1] != '\n') n_lines++;
    *out = (tg_text){.data = buf, .len = len, .n_chars = n_chars, .n_lines = n_lines};
    return TG_OK;
}

void tg_text_free(tg_text *t) {
    if (!t) return;
    free(t->data);
    *t = (tg_text){0};
}

/* ---- the vocabulary -------------------------------------------------------- */

static void fill_ascii(tg_char_vocab *v) {
    for (int c = 0; c < 128; c++) v->ascii[c] = -1;
    for (int32_t i = 0; i < v->size && v->cp[i] < 128; i++) v->ascii[v->cp[i]] = i;
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

void tg_char_vocab_build(tg_char_vocab *v, const char *s, size_t n) {
    TG_CHECK(v && s && n > 0, "tg_char_vocab_build", "need a vocabulary and non-empty text");
    /* ASCII in a table; other code points collected, then sorted and made unique */
    uint8_t seen[128] = {0};
    size_t n_other = 0; /* a non-ASCII code point takes >= 2 bytes: n/2 of them at most */
    uint32_t *other = tg_xmalloc((n / 2 + 1) * sizeof *other);
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        int len = tg_utf8_decode(s + i, n - i, &cp);
        TG_CHECK(len > 0, "tg_char_vocab_build", "invalid UTF-8 at byte %zu", i);
        i += (size_t)len;
        if (cp < 128) {
            seen[cp] = 1;
            continue;
        }
        other[n_other++] = cp;
    }
    qsort(other, n_other, sizeof *other, cmp_u32);
    size_t n_unique = 0;
    for (size_t i = 0; i < n_other; i++)
        if (i == 0 || other[i] != other[i - 1]) other[n_unique++] = other[i];
    int n_ascii = 0;
    for (int c = 0; c < 128; c++) n_ascii += seen[c];
    v->size = (int32_t)(n_ascii + n_unique);
    v->cp = tg_xmalloc((size_t)v->size * sizeof *v->cp);
    int32_t k = 0;
    for (int c = 0; c < 128; c++)
        if (seen[c]) v->cp[k++] = (uint32_t)c;
    memcpy(v->cp + k, other, n_unique * sizeof *other);
    free(other);
    fill_ascii(v);
}

void tg_char_vocab_free(tg_char_vocab *v) {
    if (!v) return;
    free(v->cp);
    *v = (tg_char_vocab){0};
}

int32_t tg_char_vocab_id(const tg_char_vocab *v, uint32_t cp) {
    if (cp < 128) return v->ascii[cp];
    int32_t lo = 0, hi = v->size; /* binary search in cp[lo, hi) */
    while (lo < hi) {
        int32_t mid = lo + (hi - lo) / 2;
        if (v->cp[mid] < cp) lo = mid + 1;
        else hi = mid;
    }
    return lo < v->size && v->cp[lo] == cp ? lo : -1;
}

tg_status tg_char_vocab_encode(const tg_char_vocab *v, const char *name, const char *s, size_t n,
                               int32_t *ids, int64_t *n_ids) {
    TG_CHECK(v && v->cp && name && (s || n == 0) && (ids || n == 0), "tg_char_vocab_encode",
             "an argument is NULL");
    int64_t k = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        int len = tg_utf8_decode(s + i, n - i, &cp);
        if (len == 0) {
            const char *why = "invalid byte";
            size_t bad = 0;
            tg_utf8_valid(s + i, n - i, &bad, &why);
            return tg_set_error(TG_ERR_FORMAT,
                                "%s: invalid UTF-8 (%s) at byte %zu: expected a valid UTF-8 "
                                "sequence",
                                name, why, i + bad);
        }
        int32_t id = tg_char_vocab_id(v, cp);
        if (id < 0)
            return tg_set_error(TG_ERR_NOT_FOUND,
                                "%s: character '%.*s' (U+%04X) at byte %zu is not in the "
                                "vocabulary of %d characters",
                                name, len, s + i, (unsigned)cp, i, (int)v->size);
        ids[k++] = id;
        i += (size_t)len;
    }
    if (n_ids) *n_ids = k;
    return TG_OK;
}

char *tg_char_vocab_decode(const tg_char_vocab *v, const int32_t *ids, int64_t n) {
    TG_CHECK(v && v->cp && (ids || n == 0) && n >= 0, "tg_char_vocab_decode",
             "bad arguments");
    char *out = tg_xmalloc((size_t)n * 4 + 1), *p = out;
    for (int64_t i = 0; i < n; i++) {
        TG_CHECK(ids[i] >= 0 && ids[i] < v->size, "tg_char_vocab_decode",
                 "ids[%lld] = %d outside [0, %d)", (long long)i, ids[i], (int)v->size);
        p += tg_utf8_encode(v->cp[ids[i]], p);
    }
    *p = '\0';
    return out;
}

/* ---- serialisation --------------------------------------------------------- */

char *tg_char_vocab_to_string(const tg_char_vocab *v) {
    TG_CHECK(v && v->cp, "tg_char_vocab_to_string", "vocabulary is NULL");
    char *out = tg_xmalloc((size_t)v->size * 8 + 1), *p = out;
    for (int32_t i = 0; i < v->size; i++) p += sprintf(p, i ? " %X" : "%X", (unsigned)v->cp[i]);
    *p = '\0';
    return out;
}

tg_status tg_char_vocab_from_string(const char *name, const char *s, tg_char_vocab *out) {
    TG_CHECK(name && s && out, "tg_char_vocab_from_string", "an argument is NULL");
    size_t n_max = strlen(s) / 2 + 1;
    uint32_t *cp = tg_xmalloc(n_max * sizeof *cp);
    int32_t n = 0;
    const char *p = s;
    while (*p) {
        const char *start = p;
        uint32_t x = 0;
        int digits = 0;
        for (; (*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'F'); p++, digits++)
            x = x * 16 + (uint32_t)(*p <= '9' ? *p - '0' : *p - 'A' + 10);
        /* canonical: no leading zero, one space between entries, none at the end */
        int ok = digits >= 1 && digits <= 6 && (*p == ' ' || *p == '\0') && x < 0x110000 &&
                 !(x >= 0xD800 && x <= 0xDFFF) && !(digits > 1 && *start == '0');
        if (!ok || (n > 0 && x <= cp[n - 1])) {
            free(cp);
            if (!ok)
                return tg_set_error(TG_ERR_FORMAT,
                                    "%s: entry %d: expected a hex code point (a Unicode scalar "
                                    "value), got '%.*s'",
                                    name, (int)n, (int)strcspn(start, " "), start);
            return tg_set_error(TG_ERR_FORMAT,
                                "%s: entry %d: code points must be strictly increasing", name,
                                (int)n);
        }
        cp[n++] = x;
        if (*p == ' ' && !*++p) {
            free(cp);
            return tg_set_error(TG_ERR_FORMAT, "%s: entry %d: expected a hex code point after the space, got the end",
                                name, (int)n);
        }
    }
    if (n == 0) {
        free(cp);
        return tg_set_error(TG_ERR_FORMAT, "%s: empty vocabulary", name);
    }
    *out = (tg_char_vocab){.size = n, .cp = cp};
    fill_ascii(out);
    return TG_OK;
}
