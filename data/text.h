/* data/text.h — plain text for character models: read a UTF-8 file (plain
 * or gzip, through data/io.h), its character vocabulary (the sorted unique
 * code points, as nanoGPT's shakespeare_char: Tiny Shakespeare has 65),
 * encode/decode between text and ids.
 *
 *   tg_text text;
 *   if (tg_text_read("data/tinyshakespeare/input.txt", &text) != TG_OK) die(tg_last_error());
 *   tg_char_vocab cv;
 *   tg_char_vocab_build(&cv, text.data, text.len);        // cv.size == 65
 *   int32_t *ids = malloc(text.n_chars * sizeof *ids);
 *   tg_char_vocab_encode(&cv, "text", text.data, text.len, ids, NULL);
 *   char *s = tg_char_vocab_decode(&cv, ids, 100);         // the first 100 characters
 *   free(s);  free(ids);  tg_char_vocab_free(&cv);  tg_text_free(&text);
 *
 * A vocabulary has no special ids: id i is the i-th smallest code point seen.
 * Serialised (for a checkpoint's metadata) as the code points in id order,
 * upper-case hex separated by single spaces: "A 20 21 ..." (no "U+").
 */
#ifndef TG_DATA_TEXT_H
#define TG_DATA_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

/* A text file in memory. */
typedef struct tg_text {
    char *data;      /* len bytes + NUL, owned: valid UTF-8 */
    size_t len;      /* bytes */
    int64_t n_chars; /* code points */
    int64_t n_lines; /* '\n'-terminated lines (+1 if the last line has no '\n') */
} tg_text;

/* Reads path (plain or gzip; "-" = standard input) and checks it is UTF-8
 * (RFC 3629, strict: tg_utf8_valid of data/conllu.h).  A UTF-8 byte-order
 * mark at the start is kept as a character.  On success fills *out
 * (release with tg_text_free), TG_OK.  Errors, *out untouched, nothing
 * leaked: TG_ERR_IO / TG_ERR_NOMEM from tg_read_file ("path: cannot open:
 * ..."), TG_ERR_FORMAT "path:line: invalid UTF-8 (<why>) at byte <col> of
 * the line: expected a valid UTF-8 sequence" (line 1-based, byte 1-based),
 * TG_ERR_FORMAT "path: empty file: expected some text", TG_ERR_FORMAT
 * "path:line: NUL byte at byte <col> of the line: expected text" (a NUL
 * would end the text early for every C string function downstream). */
tg_status tg_text_read(const char *path, tg_text *out);
void tg_text_free(tg_text *t);

/* A character vocabulary: V sorted unique code points. */
typedef struct tg_char_vocab {
    int32_t size;       /* V */
    uint32_t *cp;       /* [V] code points, increasing; owned */
    int32_t ascii[128]; /* id of each ASCII code point, or -1 */
} tg_char_vocab;

/* The code points of s[0..n) (valid UTF-8: aborts otherwise), sorted
 * ascending.  Fills *v (release with tg_char_vocab_free).  Errors: invalid
 * UTF-8 or n == 0 aborts (a programmer error: read the text with
 * tg_text_read first). */
void tg_char_vocab_build(tg_char_vocab *v, const char *s, size_t n);
void tg_char_vocab_free(tg_char_vocab *v);

/* Id of code point cp, or -1 when it is not in v.  O(1) for ASCII, else a
 * binary search. */
int32_t tg_char_vocab_id(const tg_char_vocab *v, uint32_t cp);

/* Encodes s[0..n) to ids (a caller array of at least as many ints as s has
 * code points; n bytes always suffice); *n_ids (may be NULL) receives the
 * count.  Errors (name names s in the message, e.g. "--prompt"), ids
 * partly written but *n_ids untouched: TG_ERR_FORMAT "name: invalid UTF-8
 * (<why>) at byte <off>: expected a valid UTF-8 sequence";
 * TG_ERR_NOT_FOUND "name: character 'x' (U+0078) at byte <off> is not in
 * the vocabulary of <V> characters". */
tg_status tg_char_vocab_encode(const tg_char_vocab *v, const char *name, const char *s, size_t n,
                               int32_t *ids, int64_t *n_ids);

/* The UTF-8 text of ids[0..n): a malloc'd NUL-terminated string (the
 * caller frees it).  Errors: an id outside [0, V) aborts. */
char *tg_char_vocab_decode(const tg_char_vocab *v, const int32_t *ids, int64_t n);

/* Serialises v (format above): a malloc'd string the caller frees. */
char *tg_char_vocab_to_string(const tg_char_vocab *v);
/* Parses tg_char_vocab_to_string's format.  On success fills *out, TG_OK.
 * Errors (*out untouched): TG_ERR_FORMAT "name: entry <i>: expected a hex
 * code point (a Unicode scalar value), got '...'" or "name: entry <i>:
 * code points must be strictly increasing" or "name: empty vocabulary".
 * Only the canonical spelling is accepted (upper-case hex without leading
 * zeros, single spaces, none at the end), so a string means one vocabulary. */
tg_status tg_char_vocab_from_string(const char *name, const char *s, tg_char_vocab *out);

#endif
