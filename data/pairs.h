/* data/pairs.h — tab-separated sentence pairs for translation (the Tatoeba /
 * manythings.org "eng<TAB>fra" files), normalised and filtered as in the
 * PyTorch tutorial "NLP From Scratch: Translation with a Sequence to
 * Sequence Network and Attention" (prepareData('eng', 'fra', True)).
 *
 *     tg_pairs p;
 *     tg_pairs_filter f = tg_pairs_tutorial_filter();      // < 10 words, "i am ", "he is", ...
 *     if (tg_pairs_read("data/eng_fra/eng-fra.txt.gz", &f, &p) != TG_OK) {
 *         fprintf(stderr, "%s\n", tg_last_error());          // "path:line: what was expected"
 *         exit(1);
 *     }
 *     // p.n == 10599; tg_pairs_src(&p, 0) == "j ai ans .", tg_pairs_tgt(&p, 0) == "i m .",
 *     tg_pairs_free(&p);
 *
 * Input: UTF-8 text, one pair per line, the two sides in the first two
 * TAB-separated fields (further fields, such as the attribution column of
 * newer manythings.org files, are ignored).  A CR before the LF and a final
 * line without LF are accepted.
 *
 * Normalisation (the tutorial's normalizeString(unicodeToAscii(...))):
 *   lower-case; Unicode NFD with every nonspacing mark (category Mn)
 *   dropped, so "Élève" -> "eleve"; `([.!?])` -> ` \1`; every run of
 *   characters outside [a-zA-Z.!?] -> one space; strip.  The result is
 *   ASCII words separated by single spaces.  Non-ASCII code points are
 *   mapped by a table generated from Python's unicodedata
 *   (scripts/gen_ascii_fold.py), so the result equals the tutorial's for
 *   every input, not only the characters of this corpus.
 *
 * Memory: one string pool for all sentences, offsets per pair.
 */
#ifndef TG_DATA_PAIRS_H
#define TG_DATA_PAIRS_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

/* Which pairs to keep and which side is the source. */
typedef struct tg_pairs_filter {
    int reverse;          /* 0: source = field 1, target = field 2;
                             1: source = field 2, target = field 1 (fra -> eng
                             from "eng<TAB>fra" lines, the tutorial's choice) */
    int max_words;        /* keep a pair only if both sides have fewer than
                             max_words space-separated words; 0: no limit */
    const char *const *prefixes; /* keep a pair only if its field-1 side (after
                             normalisation) starts with one of these; NULL: all */
    int n_prefixes;
} tg_pairs_filter;

/* The tutorial's eng_prefixes: "i am ", "i m ", "he is", "he s ", "she is",
 * "she s ", "you are", "you re ", "we are", "we re ", "they are", "they re ". */
#define TG_PAIRS_N_ENG_PREFIXES 12
extern const char *const tg_pairs_eng_prefixes[TG_PAIRS_N_ENG_PREFIXES];

/* {reverse 1, max_words 10, the English prefixes}: on eng-fra.txt, 10,599
 * pairs, French source, English target. */
tg_pairs_filter tg_pairs_tutorial_filter(void);

/* Sentence pairs. All arrays owned, freed by tg_pairs_free. */
typedef struct tg_pairs {
    int64_t n;            /* pairs kept */
    int64_t n_lines;      /* pairs read (lines) before filtering */
    char *pool;           /* every kept sentence, normalised, NUL-terminated */
    int64_t *src_off;     /* [n]: source sentence i = pool + src_off[i] */
    int64_t *tgt_off;     /* [n]: target sentence i = pool + tgt_off[i] */
    int64_t *line;        /* [n]: 1-based line number of pair i in the input */
} tg_pairs;

/* Reads path (plain or gzip, zlib detects which; "-" = standard input).
 * filter may be NULL (keep every pair, field 1 -> field 2).
 * On success fills *out and returns TG_OK.  On error returns a negative
 * status, *out untouched, nothing left allocated, and tg_last_error() as
 *   TG_ERR_IO      "path: cannot open: No such file or directory", gzip errors
 *   TG_ERR_FORMAT  "path:7: expected two TAB-separated sentences, found no TAB"
 *                  "path:7: invalid UTF-8 at byte 12 (truncated sequence)"
 *                  "path:7: empty source side: expected a sentence before the TAB"
 *                  (also: empty second side, an empty line, a NUL byte)
 * Sides that normalise to nothing (e.g. "¿") are kept, empty. */
tg_status tg_pairs_read(const char *path, const tg_pairs_filter *filter, tg_pairs *out);

/* As tg_pairs_read, on the NUL-terminated text; name is used in messages. */
tg_status tg_pairs_parse_string(const char *name, const char *text, const tg_pairs_filter *filter,
                                tg_pairs *out);

/* Frees the arrays and zeroes *p; safe on a zeroed struct and twice. */
void tg_pairs_free(tg_pairs *p);

/* Sentence i (0 <= i < n, else TG_CHECK aborts), owned by p. */
const char *tg_pairs_src(const tg_pairs *p, int64_t i);
const char *tg_pairs_tgt(const tg_pairs *p, int64_t i);

/* The normalisation above, of the valid UTF-8 text s[0..n), into out (room
 * for 2n + 1 bytes: each '.', '!', '?' may gain a space), NUL-terminated.
 * Returns the output length, or -1 (out unspecified) if s is not valid
 * UTF-8 or holds a NUL byte. */
int64_t tg_normalize_ascii(const char *s, size_t n, char *out);

/* Space-separated words of the normalised sentence s ("" has 0; as the
 * tutorial's len(s.split(' ')) for non-empty s). */
int64_t tg_count_words(const char *s);

#endif
