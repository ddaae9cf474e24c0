/* data/conllu.h — CoNLL-U reader and writer for POS tagging (UPOS).
 *
 *     tg_conllu train;
 *     if (tg_conllu_read("data/ud_english_ewt/en_ewt-ud-train.conllu.gz", 0, &train) != TG_OK) {
 *         fprintf(stderr, "%s\n", tg_last_error());   // "file:line: what was expected"
 *         exit(1);
 *     }
 *     for (int64_t s = 0; s < train.n_sents; s++)
 *         for (int64_t w = train.sent_start[s]; w < train.sent_start[s + 1]; w++)
 *             printf("%s/%s ", tg_conllu_form(&train, w), tg_upos_name(train.upos[w]));
 *     tg_conllu_free(&train);
 *
 * Format: https://universaldependencies.org/format.html — token lines of 10
 * TAB-separated fields ID FORM LEMMA UPOS XPOS FEATS HEAD DEPREL DEPS MISC,
 * `#` comment lines before a sentence, a blank line after each sentence.
 * Only FORM and UPOS of the words (integer IDs) are kept; multiword-token
 * lines (`3-4`) and empty nodes (`8.1`) are checked and counted, then skipped.
 * Of the comments, `# sent_id = …` and `# text = …` are kept.
 *
 * Memory: one corpus owns a few flat arrays (one string pool for all forms,
 * offsets per word, start offsets per sentence); nothing per word is
 * allocated on its own.
 */
#ifndef TG_CONLLU_H
#define TG_CONLLU_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/error.h"

/* ---- Universal POS tags ---------------------------------------------------
 * The 17 UD tags in the fixed UD order (https://universaldependencies.org/u/pos/).
 * M(name) generates the enum (TG_UPOS_ADJ = 0 … TG_UPOS_X = 16) and the name table. */
#define TG_UPOS_LIST(M) \
    M(ADJ) M(ADP) M(ADV) M(AUX) M(CCONJ) M(DET) M(INTJ) M(NOUN) M(NUM) \
    M(PART) M(PRON) M(PROPN) M(PUNCT) M(SCONJ) M(SYM) M(VERB) M(X)

enum {
#define TG__UPOS_ENUM(name) TG_UPOS_##name,
    TG_UPOS_LIST(TG__UPOS_ENUM)
#undef TG__UPOS_ENUM
    TG_UPOS_COUNT /* 17 */
};

/* Tag names indexed by tag id 0..TG_UPOS_COUNT-1 ("ADJ" … "X"). */
extern const char *const tg_upos_names[TG_UPOS_COUNT];

/* Index 0..16 of a UPOS tag name (exact, case-sensitive), or -1 if `tag` is
 * not one of the 17 tags (including "_"). */
int tg_upos_index(const char *tag);

/* Name of tag `idx`: "ADJ" … "X" for 0..16, "_" for -1 (no tag).
 * Any other idx is a programmer error (TG_CHECK aborts). Static storage. */
const char *tg_upos_name(int idx);

/* ---- UTF-8 ----------------------------------------------------------------
 * Strict UTF-8 (RFC 3629): rejects overlong forms, surrogates (U+D800..DFFF),
 * code points above U+10FFFF, stray continuation bytes, truncated sequences. */

/* Decodes one code point from s[0..n): returns its byte length 1..4 and sets
 * *cp, or returns 0 if the bytes at s are not valid UTF-8 (n == 0 included). */
int tg_utf8_decode(const char *s, size_t n, uint32_t *cp);

/* Encodes code point cp (< 0x110000, not a surrogate: else TG_CHECK aborts)
 * into out[0..4); returns the byte length 1..4. */
int tg_utf8_encode(uint32_t cp, char out[4]);

/* Checks s[0..n). Returns 1 if valid; else 0, with *bad_off the offset of the
 * first invalid byte and *why a static reason ("overlong encoding",
 * "surrogate code point", "code point above U+10FFFF", "unexpected
 * continuation byte", "invalid byte", "truncated sequence"). Either out
 * pointer may be NULL. */
int tg_utf8_valid(const char *s, size_t n, size_t *bad_off, const char **why);

/* ---- Corpus ---------------------------------------------------------------- */

/* Flags for the readers. */
enum {
    /* Accept UPOS "_" (no tag), stored as -1: for text to be tagged.
     * Without it "_" is an error like any unknown tag. */
    TG_CONLLU_UNLABELLED = 1 << 0,
    /* a file with no sentence is an error ("path:1: no sentences: ..."),
     * e.g. for a training file */
    TG_CONLLU_NONEMPTY = 1 << 1,
};

/* A corpus. All arrays are owned by the corpus, freed by tg_conllu_free.
 * Word w (0 <= w < n_words) is in sentence s iff
 * sent_start[s] <= w < sent_start[s+1]. */
typedef struct tg_conllu {
    int64_t n_sents;
    int64_t n_words;        /* words = lines with an integer ID */
    int64_t max_sent_len;   /* longest sentence, in words */
    int64_t *sent_start;    /* [n_sents + 1]; sent_start[n_sents] == n_words */
    char *pool;             /* all forms, each NUL-terminated, in word order */
    int64_t *form_off;      /* [n_words + 1]: form w = pool + form_off[w],
                               its byte length form_off[w+1] - form_off[w] - 1 */
    int8_t *upos;           /* [n_words]: 0..16 (TG_UPOS_*), or -1 for "_" */
    char *meta;             /* sent_id and text strings, NUL-terminated */
    int64_t *sent_id_off;   /* [n_sents]: offset into meta, or -1 if absent */
    int64_t *text_off;      /* [n_sents]: offset into meta, or -1 if absent */
    int64_t n_multiword;    /* multiword-token lines skipped (e.g. "3-4") */
    int64_t n_empty;        /* empty-node lines skipped (e.g. "8.1") */
} tg_conllu;

/* Reads a CoNLL-U file, plain or gzip-compressed (zlib detects which), or
 * standard input when path is "-". flags: TG_CONLLU_*.
 * On success fills *out (free with tg_conllu_free) and returns TG_OK.
 * On error returns a negative status, leaves *out untouched, frees all it
 * allocated, and sets tg_last_error() to "path:line: what was expected":
 *   TG_ERR_IO      file cannot be opened/read ("path: No such file or directory"),
 *                  gzip stream corrupt ("path: read failed: incorrect data check")
 *                  or truncated ("path: gzip: unexpected end of file")
 *   TG_ERR_FORMAT  wrong number of columns; bad or out-of-sequence ID; unknown
 *                  UPOS; empty FORM; invalid UTF-8 or NUL byte; comment inside
 *                  a sentence; no blank line after the last sentence; …
 *   TG_ERR_NOMEM   the file does not fit in memory.
 * A UTF-8 byte-order mark at the very start and a CR before each LF are
 * accepted and dropped. Lines may have any length. */
tg_status tg_conllu_read(const char *path, int flags, tg_conllu *out);

/* As tg_conllu_read, on the NUL-terminated text `text`; `name` is used in
 * error messages in place of a path (e.g. "<stdin>"). */
tg_status tg_conllu_parse_string(const char *name, const char *text, int flags,
                                 tg_conllu *out);

/* Builds an unlabelled corpus (upos all -1) from raw text already tokenised
 * by whitespace: one sentence per line, tokens separated by spaces or tabs.
 * Blank lines are not sentences and are skipped; each sentence keeps
 * `# sent_id = <line number>` and `# text = <line>` so that output can be
 * matched to input. Errors as tg_conllu_read (invalid UTF-8, NUL byte, I/O). */
tg_status tg_conllu_parse_tokens(const char *name, const char *text, tg_conllu *out);
/* The same from a file (plain or gzip) or "-" for standard input. */
tg_status tg_conllu_read_tokens(const char *path, tg_conllu *out);

/* Frees the arrays of *c and zeroes it; safe on a zeroed struct and twice. */
void tg_conllu_free(tg_conllu *c);

/* Form of word w (0 <= w < n_words, else TG_CHECK aborts), NUL-terminated,
 * owned by the corpus. */
const char *tg_conllu_form(const tg_conllu *c, int64_t w);
/* Byte length of the form of word w. */
static inline int64_t tg_conllu_form_len(const tg_conllu *c, int64_t w) {
    return c->form_off[w + 1] - c->form_off[w] - 1;
}

/* Writes c as CoNLL-U to f: per sentence the kept `# sent_id =` / `# text =`
 * comments, then one line per word `ID FORM _ UPOS _ _ _ _ _ _`, then a blank
 * line. Tags come from `upos` ([n_words], e.g. predictions) when non-NULL,
 * else from c->upos; -1 is written "_" (read it back with
 * TG_CONLLU_UNLABELLED). tg_conllu_read reads the output back to the same
 * forms, tags and comments. `name` names f in error messages.
 * Errors: TG_ERR_IO ("name: write failed: <strerror>"). */
tg_status tg_conllu_write(FILE *f, const char *name, const tg_conllu *c,
                          const int8_t *upos);

#endif
