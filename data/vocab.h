/* data/vocab.h — word and character vocabularies built from a corpus.
 *
 *     tg_vocab words, chars;
 *     tg_vocab_build_words(&train, 2, TG_VOCAB_DIGITS_TO_ZERO, &words);  // ids: 0 <pad>, 1 <unk>, 2.. words
 *     tg_vocab_build_chars(&train, 1, &chars);       // 0 <pad>, 1 <unk>, 2 <bow>, 3 <eow>, 4.. code points
 *     tg_vocab_build_sentences(sents, n, 1, &tgt);   // 0 <pad>, 1 <unk>, 2 <bos>, 3 <eos>, 4.. words
 *     int32_t id = tg_vocab_word_id(&words, "dog", 3);   // TG_VOCAB_UNK if unseen
 *     char *s = tg_vocab_to_string(&words);          // e.g. stored in a checkpoint's __metadata__
 *     tg_vocab back;
 *     if (tg_vocab_from_string("ckpt:words", s, &back) != TG_OK) puts(tg_last_error());
 *     free(s);
 *
 * Ids are deterministic: the special entries first, then entries by count
 * descending, ties broken by bytewise (memcmp) order of their UTF-8 bytes.
 * Lookup is a hash table (FNV-1a, open addressing), O(1) expected.
 * Special entries are never found by lookup: a corpus word spelled "<unk>"
 * is an ordinary word.
 *
 * Serialised form (UTF-8 text, LF line ends, every line ends with LF):
 *     tapegrad-vocab 1
 *     kind word|char|seq
 *     normalize none|digits
 *     specials <pad> <unk>            (char: <pad> <unk> <bow> <eow>;
 *                                      seq: <pad> <unk> <bos> <eos>)
 *     size N                          (entries after the specials)
 *     <count>\t<entry>                N lines, in id order from the first
 *                                     non-special id; a word entry is the
 *                                     word itself, a char entry is U+XXXX
 *                                     (upper-case hex, at least 4 digits)
 */
#ifndef TG_VOCAB_H
#define TG_VOCAB_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "data/conllu.h"

enum { TG_VOCAB_PAD = 0, TG_VOCAB_UNK = 1, TG_VOCAB_BOW = 2, TG_VOCAB_EOW = 3 };
/* Sequence vocabularies (TG_VOCAB_SEQ) mark sentence starts and ends. */
enum { TG_VOCAB_BOS = 2, TG_VOCAB_EOS = 3 };

/* WORD: word ids for tagging; CHAR: code points; SEQ: words of sentences
 * for sequence-to-sequence models (the specials add <bos>, <eos>). */
typedef enum { TG_VOCAB_WORD = 0, TG_VOCAB_CHAR = 1, TG_VOCAB_SEQ = 2 } tg_vocab_kind;

/* Word normalisation flags (applied when building and at every lookup). */
enum {
    /* Every ASCII digit 0-9 becomes '0' ("1984" and "2025" share one id). */
    TG_VOCAB_DIGITS_TO_ZERO = 1 << 0,
};

/* A vocabulary. All arrays owned by it, freed by tg_vocab_free. */
typedef struct tg_vocab {
    tg_vocab_kind kind;
    int flags;            /* TG_VOCAB_* normalisation (word vocabularies) */
    int32_t n_special;    /* 2 (word) or 4 (char, seq) */
    int32_t size;         /* number of ids, specials included */
    char *pool;           /* entry strings, NUL-terminated (chars as UTF-8) */
    int64_t *off;         /* [size]: entry id = pool + off[id] */
    int64_t *count;       /* [size]: count in the corpus it was built from (0 for specials) */
    int32_t *slots;       /* hash table of ids, -1 = empty; n_slots a power of 2 */
    int64_t n_slots;
} tg_vocab;

/* Word vocabulary over the forms of c: each distinct (normalised) form seen
 * at least min_count (>= 1) times gets an id >= 2. flags: TG_VOCAB_*.
 * Fills *out (free with tg_vocab_free). Bad arguments abort (TG_CHECK). */
void tg_vocab_build_words(const tg_conllu *c, int64_t min_count, int flags, tg_vocab *out);

/* Character vocabulary over the Unicode code points of the forms of c
 * (forms are valid UTF-8, as the reader guarantees): each code point seen at
 * least min_count (>= 1) times gets an id >= 4. Fills *out. */
void tg_vocab_build_chars(const tg_conllu *c, int64_t min_count, tg_vocab *out);

/* Sequence vocabulary (kind TG_VOCAB_SEQ) over the words of n sentences,
 * each a NUL-terminated string of words separated by single spaces (as
 * tg_pairs holds them; empty words from repeated spaces are skipped): each
 * distinct word seen at least min_count (>= 1) times gets an id >= 4.
 * No normalisation. Fills *out (free with tg_vocab_free). Bad arguments
 * abort (TG_CHECK). */
void tg_vocab_build_sentences(const char *const *sents, int64_t n, int64_t min_count, tg_vocab *out);

/* Ids of the space-separated words of s (word or seq vocabulary; unseen
 * words are TG_VOCAB_UNK), without <bos>/<eos>. Writes min(needed, cap) ids
 * and returns needed (the number of words). */
int64_t tg_vocab_encode_sentence(const tg_vocab *v, const char *s, int32_t *ids, int64_t cap);

/* Frees *v's arrays and zeroes it; safe on a zeroed struct and twice. */
void tg_vocab_free(tg_vocab *v);

/* Id of word s[0..n) after normalisation, or TG_VOCAB_UNK. Word or seq vocab. */
int32_t tg_vocab_word_id(const tg_vocab *v, const char *s, size_t n);

/* Id of code point cp, or TG_VOCAB_UNK (also for non-scalar values). Char vocab only. */
int32_t tg_vocab_char_id(const tg_vocab *v, uint32_t cp);

/* Entry string of id (0 <= id < size): "<pad>", "<unk>", a word, or a
 * character as UTF-8. Owned by v. */
const char *tg_vocab_str(const tg_vocab *v, int32_t id);

/* Word ids of all words of c: ids[w] for w in 0..c->n_words-1 (caller's
 * array of n_words int32). Word vocab only. */
void tg_vocab_encode_words(const tg_vocab *v, const tg_conllu *c, int32_t *ids);

/* Character ids of word s[0..n): <bow>, one id per code point, <eow>.
 * Writes min(needed, cap) ids to ids[] and returns needed (= code points + 2),
 * so a caller can size a buffer or truncate. Bytes that are not valid UTF-8
 * each count as one <unk>. Char vocab only. */
int64_t tg_vocab_word_chars(const tg_vocab *v, const char *s, size_t n, int32_t *ids, int64_t cap);

/* Serialises v in the format above. Returns a malloc'd NUL-terminated string;
 * the caller frees it with free(). tg_vocab_from_string of it gives a vocab
 * with the same ids, counts and flags, and serialising that gives the same
 * string byte for byte. */
char *tg_vocab_to_string(const tg_vocab *v);

/* Parses a serialised vocabulary. name is used in error messages.
 * On success fills *out and returns TG_OK; on error returns TG_ERR_FORMAT
 * with "name:line: what was expected" in tg_last_error(), *out untouched and
 * nothing allocated. Checks the header lines, the entry count against
 * `size`, counts (decimal, >= 0), entries (non-empty valid UTF-8 without
 * TAB; chars in canonical U+XXXX form of a scalar value), duplicates, and
 * that word entries are already normalised per `normalize`. */
tg_status tg_vocab_from_string(const char *name, const char *s, tg_vocab *out);

/* tg_vocab_from_string, then: a vocabulary of `kind` with `size` ids in all
 * (tg_vocab.size, specials included) — e.g. one read from a checkpoint's
 * metadata that must fit the embedding table the model's config gives.
 * Errors: those of tg_vocab_from_string, or TG_ERR_FORMAT "name: a char
 * vocabulary of 15 entries; expected a word vocabulary of 23"; on any error
 * *out is untouched and nothing stays allocated.  size < 0 aborts. */
tg_status tg_vocab_from_string_expect(const char *name, const char *s, tg_vocab_kind kind, int32_t size,
                                      tg_vocab *out);

#endif
