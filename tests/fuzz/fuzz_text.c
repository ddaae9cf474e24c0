/* tests/fuzz/fuzz_text.c — libFuzzer target for the plain-text reader and
 * the character vocabulary (data/text.c).
 *
 * The first input byte picks the path: 0 the file (plain), 1 the file
 * gzip-compressed, 2 the raw bytes as a ".gz" file; the rest is the text.
 * A success must give valid UTF-8 with the stated counts; the vocabulary
 * built from it must encode it, and decode back to the same bytes, and
 * survive its string round trip. */
#include "tests/fuzz/fuzz_util.h"

#include "data/conllu.h"
#include "data/text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
    if (n < 1) return 0;
    int mode = data[0] % 3;
    data++, n--;
    const char *path = fz_put(mode == 2 ? "t.txt.gz" : "t.txt", data, n, mode == 1);
    tg_text t;
    memset(&t, 0x5a, sizeof t);
    tg_status st = tg_text_read(path, &t);
    fz_check_error(st, path);
    if (st != TG_OK) {
        for (size_t i = 0; i < sizeof t; i++) FZ_ASSERT(((unsigned char *)&t)[i] == 0x5a);
        return 0;
    }
    size_t bad;
    const char *why;
    FZ_ASSERT(t.len >= 1 && t.data[t.len] == '\0' && tg_utf8_valid(t.data, t.len, &bad, &why));
    tg_char_vocab v, back;
    tg_char_vocab_build(&v, t.data, t.len);
    int32_t *ids = malloc(t.len * sizeof *ids);
    int64_t n_ids = -1;
    FZ_ASSERT(tg_char_vocab_encode(&v, "text", t.data, t.len, ids, &n_ids) == TG_OK);
    FZ_ASSERT(n_ids == t.n_chars);
    char *dec = tg_char_vocab_decode(&v, ids, n_ids);
    FZ_ASSERT(strlen(dec) == t.len && !memcmp(dec, t.data, t.len));
    char *s = tg_char_vocab_to_string(&v);
    FZ_ASSERT(tg_char_vocab_from_string("again", s, &back) == TG_OK && back.size == v.size);
    tg_char_vocab_free(&back);
    free(s);
    free(dec);
    free(ids);
    tg_char_vocab_free(&v);
    tg_text_free(&t);
    return 0;
}
