/* tests/test_conllu.c — CoNLL-U reader/writer, UTF-8, vocabularies.
 * Run from the repository root (the real-data test looks for
 * data/ud_english_ewt/ and skips when it is absent). */
#define _XOPEN_SOURCE 700
#include "helpers/testutil.h"

#include <errno.h>
#include <zlib.h>

#include "data/conllu.h"
#include "data/vocab.h"

static void write_file(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static void write_gz(const char *path, const char *text) {
    gzFile gz = gzopen(path, "wb9");
    assert_non_null(gz);
    assert_int_equal(gzwrite(gz, text, (unsigned)strlen(text)), (int)strlen(text));
    assert_int_equal(gzclose(gz), Z_OK);
}

/* Parses text, expects status st and exactly message msg, and *out untouched. */
static void expect_error(const char *text, int flags, tg_status st, const char *msg) {
    tg_conllu out, before;
    memset(&out, 0xAB, sizeof out);
    memcpy(&before, &out, sizeof out);
    tg_status got = tg_conllu_parse_string("t.conllu", text, flags, &out);
    if (got != st || strcmp(tg_last_error(), msg) != 0)
        print_error("text:\n%s\nwant %d '%s'\ngot  %d '%s'\n", text, st, msg, got, tg_last_error());
    assert_int_equal(got, st);
    assert_string_equal(tg_last_error(), msg);
    assert_memory_equal(&out, &before, sizeof out);
}

#define T1 "1\tThe\tthe\tDET\tDT\t_\t2\tdet\t_\t_\n"
#define T2 "2\tdog\tdog\tNOUN\tNN\t_\t0\troot\t_\t_\n"

static const char *valid_text =
    "# newdoc id = d1\n"
    "# sent_id = s1\n"
    "# text = I don't know.\n"
    "1\tI\tI\tPRON\tPRP\t_\t4\tnsubj\t_\t_\n"
    "2-3\tdon't\t_\t_\t_\t_\t_\t_\t_\t_\n"
    "2\tdo\tdo\tAUX\tVBP\t_\t4\taux\t_\t_\n"
    "3\tn't\tnot\tPART\tRB\t_\t4\tadvmod\t_\t_\n"
    "4\tknow\tknow\tVERB\tVB\t_\t0\troot\t_\t_\n"
    "4.1\tknow\tknow\tVERB\tVB\t_\t_\t_\t4:conj\tCopyOf=4\n"
    "5\t.\t.\tPUNCT\t.\t_\t4\tpunct\t_\t_\n"
    "\n"
    "# sent_id = s2\n"
    "0.1\tsaw\tsee\tVERB\tVBD\t_\t_\t_\t0:root\t_\n"
    "1\tCafé\tcafé\tPROPN\tNNP\t_\t0\troot\t_\tSpaceAfter=No\n"
    "2\t_\t_\tSYM\tNFP\t_\t1\tpunct\t_\t_\n"
    "\n";

static void check_valid(const tg_conllu *c) {
    assert_int_equal(c->n_sents, 2);
    assert_int_equal(c->n_words, 7);
    assert_int_equal(c->n_multiword, 1);
    assert_int_equal(c->n_empty, 2);
    assert_int_equal(c->max_sent_len, 5);
    assert_int_equal(c->sent_start[0], 0);
    assert_int_equal(c->sent_start[1], 5);
    assert_int_equal(c->sent_start[2], 7);
    static const char *forms[8] = {"I", "do", "n't", "know", ".", "Café", "_", NULL};
    static const int tags[8] = {TG_UPOS_PRON, TG_UPOS_AUX, TG_UPOS_PART, TG_UPOS_VERB,
                                TG_UPOS_PUNCT, TG_UPOS_PROPN, TG_UPOS_SYM, 0};
    for (int w = 0; w < 7; w++) {
        assert_string_equal(tg_conllu_form(c, w), forms[w]);
        assert_int_equal(tg_conllu_form_len(c, w), (int64_t)strlen(forms[w]));
        assert_int_equal(c->upos[w], tags[w]);
    }
    assert_string_equal(c->meta + c->sent_id_off[0], "s1");
    assert_string_equal(c->meta + c->text_off[0], "I don't know.");
    assert_string_equal(c->meta + c->sent_id_off[1], "s2");
    assert_int_equal(c->text_off[1], -1);
}

static void test_upos_table(void **state) {
    (void)state;
    assert_int_equal(TG_UPOS_COUNT, 17);
    static const char *order[17] = {"ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM",
                                    "PART", "PRON", "PROPN", "PUNCT", "SCONJ", "SYM", "VERB", "X"};
    for (int i = 0; i < 17; i++) {
        assert_string_equal(tg_upos_names[i], order[i]);
        assert_string_equal(tg_upos_name(i), order[i]);
        assert_int_equal(tg_upos_index(order[i]), i);
    }
    assert_int_equal(TG_UPOS_X, 16);
    assert_string_equal(tg_upos_name(-1), "_");
    assert_int_equal(tg_upos_index("_"), -1);
    assert_int_equal(tg_upos_index("noun"), -1);
    assert_int_equal(tg_upos_index("NOUNS"), -1);
    assert_int_equal(tg_upos_index(""), -1);
}

static void test_utf8(void **state) {
    (void)state;
    struct { const char *s; const char *why; size_t off; } bad[] = {
        {"ab\xC0\x80", "overlong encoding", 2},
        {"\xC1\xBF", "overlong encoding", 0},
        {"\xE0\x80\xAF", "overlong encoding", 0},
        {"\xF0\x80\x80\xAF", "overlong encoding", 0},
        {"\xED\xA0\x80", "surrogate code point", 0},
        {"x\xED\xBF\xBF", "surrogate code point", 1},
        {"\xF4\x90\x80\x80", "code point above U+10FFFF", 0},
        {"\xF5\x80\x80\x80", "code point above U+10FFFF", 0},
        {"\xFF", "invalid byte", 0},
        {"a\x80", "unexpected continuation byte", 1},
        {"\xE2\x82", "truncated sequence", 0},
        {"\xE2\x82x", "truncated sequence", 0},
        {"ok\xF0\x9F\x98", "truncated sequence", 2},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t off = 99;
        const char *why = NULL;
        assert_int_equal(tg_utf8_valid(bad[i].s, strlen(bad[i].s), &off, &why), 0);
        assert_string_equal(why, bad[i].why);
        assert_int_equal(off, bad[i].off);
    }
    const char *good = "a\xC2\x80\xDF\xBF\xE0\xA0\x80\xED\x9F\xBF\xEE\x80\x80\xEF\xBF\xBF"
                       "\xF0\x90\x80\x80\xF4\x8F\xBF\xBF";
    assert_int_equal(tg_utf8_valid(good, strlen(good), NULL, NULL), 1);
    uint32_t cps[] = {0x41, 0x80, 0x7FF, 0x800, 0xD7FF, 0xE000, 0xFFFF, 0x10000, 0x1F600, 0x10FFFF};
    for (size_t i = 0; i < sizeof cps / sizeof cps[0]; i++) {
        char b[4];
        uint32_t back = 0;
        int n = tg_utf8_encode(cps[i], b);
        assert_int_equal(tg_utf8_decode(b, (size_t)n, &back), n);
        assert_int_equal(back, cps[i]);
        assert_int_equal(tg_utf8_decode(b, (size_t)n - 1, &back), n == 1 ? 0 : 0);
    }
}

static void test_valid_small(void **state) {
    (void)state;
    tg_conllu c;
    assert_int_equal(tg_conllu_parse_string("v.conllu", valid_text, 0, &c), TG_OK);
    check_valid(&c);
    tg_conllu_free(&c);
    tg_conllu_free(&c); /* twice is safe */
    /* BOM, CRLF and extra blank lines between sentences are accepted */
    assert_int_equal(tg_conllu_parse_string("b.conllu", "\xEF\xBB\xBF" "1\tThe\tthe\tDET\tDT\t_\t2\tdet\t_\t_\r\n"
                                            "2\tdog\tdog\tNOUN\tNN\t_\t0\troot\t_\t_\r\n\r\n\n" T1 "\n",
                                            0, &c), TG_OK);
    assert_int_equal(c.n_sents, 2);
    assert_int_equal(c.n_words, 3);
    assert_string_equal(tg_conllu_form(&c, 2), "The");
    tg_conllu_free(&c);
    /* empty input: zero sentences */
    assert_int_equal(tg_conllu_parse_string("e.conllu", "", 0, &c), TG_OK);
    assert_int_equal(c.n_sents, 0);
    assert_int_equal(c.n_words, 0);
    tg_conllu_free(&c);
}

static void test_err_columns(void **state) {
    (void)state;
    expect_error(T1 "2\tdog\tdog\tNOUN\tNN\t_\t0\troot\t_\n\n", 0, TG_ERR_FORMAT,
                 "t.conllu:2: expected 10 tab-separated columns, found 9");
    expect_error(T1 T2 "3\t.\t.\tPUNCT\t.\t_\t2\tpunct\t_\t_\t_\n\n", 0, TG_ERR_FORMAT,
                 "t.conllu:3: expected 10 tab-separated columns, found 11");
    expect_error("1 The the DET DT _ 2 det _ _\n\n", 0, TG_ERR_FORMAT,
                 "t.conllu:1: expected 10 tab-separated columns, found 1");
    expect_error(T1 "  \n", 0, TG_ERR_FORMAT,
                 "t.conllu:2: line of only spaces/tabs: expected an empty line to end a sentence, "
                 "or 10 tab-separated columns");
}

static void test_err_ids(void **state) {
    (void)state;
    expect_error(T1 T2 "4\tx\tx\tX\t_\t_\t2\tdep\t_\t_\n\n", 0, TG_ERR_FORMAT,
                 "t.conllu:3: expected word ID 3, found 4");
    expect_error("2\tx\tx\tX\t_\t_\t0\troot\t_\t_\n\n", 0, TG_ERR_FORMAT,
                 "t.conllu:1: expected word ID 1, found 2");
    expect_error("x\tx\tx\tX\t_\t_\t0\troot\t_\t_\n\n", 0, TG_ERR_FORMAT,
                 "t.conllu:1: bad ID 'x': expected a word ID (integer 1), a multiword range like "
                 "1-2 or an empty node like 1.1");
    expect_error(T1 "02\tx\tx\tX\t_\t_\t0\troot\t_\t_\n\n", 0, TG_ERR_FORMAT,
                 "t.conllu:2: bad ID '02': expected a word ID (integer 2), a multiword range like "
                 "1-2 or an empty node like 1.1");
    expect_error(T1 "2-\tx\t_\t_\t_\t_\t_\t_\t_\t_\n" T2 "\n", 0, TG_ERR_FORMAT,
                 "t.conllu:2: bad ID '2-': expected a word ID (integer 2), a multiword range like "
                 "1-2 or an empty node like 1.1");
    expect_error(T1 "3-4\tx\t_\t_\t_\t_\t_\t_\t_\t_\n\n", 0, TG_ERR_FORMAT,
                 "t.conllu:2: bad multiword token range 3-4: expected 2-N with N > 2, not "
                 "overlapping the previous range");
    expect_error(T1 "2-2\tx\t_\t_\t_\t_\t_\t_\t_\t_\n\n", 0, TG_ERR_FORMAT,
                 "t.conllu:2: bad multiword token range 2-2: expected 2-N with N > 2, not "
                 "overlapping the previous range");
    expect_error(T1 "2.1\tx\tx\tX\t_\t_\t_\t_\t1:dep\t_\n\n", 0, TG_ERR_FORMAT,
                 "t.conllu:2: bad empty node ID 2.1: expected 1.N after word 1");
    expect_error(T1 "1.0\tx\tx\tX\t_\t_\t_\t_\t1:dep\t_\n\n", 0, TG_ERR_FORMAT,
                 "t.conllu:2: bad ID '1.0': expected a word ID (integer 2), a multiword range like "
                 "1-2 or an empty node like 1.1");
    expect_error("1-2\tx\t_\t_\t_\t_\t_\t_\t_\t_\n" T1 "\n", 0, TG_ERR_FORMAT,
                 "t.conllu:3: sentence ends at word 1 but the multiword token before covers words "
                 "up to 2: expected more word lines");
}

/* A sentence of only empty nodes (0.1 precedes word 1 in UD) has no words. */
static void test_err_no_words(void **state) {
    (void)state;
    expect_error(T1 "\n# sent_id = 2\n0.1\tx\tx\tX\t_\t_\t_\t_\t0:root\t_\n0.2\ty\ty\tX\t_\t_\t_\t_\t0:root\t_\n\n",
                 0, TG_ERR_FORMAT,
                 "t.conllu:4: sentence has no word lines (only empty nodes or multiword ranges): "
                 "expected a word with ID 1");
    expect_error("", TG_CONLLU_NONEMPTY, TG_ERR_FORMAT,
                 "t.conllu:1: no sentences: expected at least one (a blank-line-terminated block of token lines)");
    expect_error("# only a comment\n\n", TG_CONLLU_NONEMPTY, TG_ERR_FORMAT,
                 "t.conllu:2: expected a token line after the comment lines (from line 1), found a blank line");
    expect_error("1-2\tdon't\t_\t_\t_\t_\t_\t_\t_\t_\n\n", 0, TG_ERR_FORMAT,
                 "t.conllu:2: sentence ends at word 0 but the multiword token before covers words up "
                 "to 2: expected more word lines");
}

static void test_err_upos(void **state) {
    (void)state;
    expect_error(T1 "2\tdog\tdog\tNOUNS\tNN\t_\t0\troot\t_\t_\n\n", 0, TG_ERR_FORMAT,
                 "t.conllu:2: unknown UPOS tag 'NOUNS': expected one of ADJ ADP ADV AUX CCONJ DET "
                 "INTJ NOUN NUM PART PRON PROPN PUNCT SCONJ SYM VERB X");
    expect_error(T1 "2\tdog\tdog\t_\tNN\t_\t0\troot\t_\t_\n\n", 0, TG_ERR_FORMAT,
                 "t.conllu:2: unknown UPOS tag '_': expected one of ADJ ADP ADV AUX CCONJ DET "
                 "INTJ NOUN NUM PART PRON PROPN PUNCT SCONJ SYM VERB X");
    expect_error(T1 "2\tdog\tdog\tnoun\tNN\t_\t0\troot\t_\t_\n\n", TG_CONLLU_UNLABELLED, TG_ERR_FORMAT,
                 "t.conllu:2: unknown UPOS tag 'noun': expected one of ADJ ADP ADV AUX CCONJ DET "
                 "INTJ NOUN NUM PART PRON PROPN PUNCT SCONJ SYM VERB X or _");
    tg_conllu c;
    assert_int_equal(tg_conllu_parse_string("u", T1 "2\tdog\t_\t_\t_\t_\t_\t_\t_\t_\n\n",
                                            TG_CONLLU_UNLABELLED, &c), TG_OK);
    assert_int_equal(c.upos[0], TG_UPOS_DET);
    assert_int_equal(c.upos[1], -1);
    tg_conllu_free(&c);
}

static void test_err_utf8(void **state) {
    (void)state;
    expect_error(T1 "2\tdo\xC0\xAFg\tdog\tNOUN\tNN\t_\t0\troot\t_\t_\n\n", 0, TG_ERR_FORMAT,
                 "t.conllu:2: invalid UTF-8 in column 2 (FORM) at byte 5 of the line (overlong encoding)");
    expect_error(T1 "2\tdog\t\xED\xA0\x80\tNOUN\tNN\t_\t0\troot\t_\t_\n\n", 0, TG_ERR_FORMAT,
                 "t.conllu:2: invalid UTF-8 in column 3 (LEMMA) at byte 7 of the line (surrogate code point)");
    expect_error(T1 "2\tdog\tdog\tNOUN\tNN\t_\t0\troot\t_\tX=\xF4\x90\x80\x80\n\n", 0, TG_ERR_FORMAT,
                 "t.conllu:2: invalid UTF-8 in column 10 (MISC) at byte 32 of the line (code point above U+10FFFF)");
    expect_error("# text = caf\xC3\n" T1 "\n", 0, TG_ERR_FORMAT,
                 "t.conllu:1: invalid UTF-8 at byte 13 of the line (truncated sequence)");
}

static void test_err_structure(void **state) {
    (void)state;
    /* no blank line after the last sentence (real UD files end with one) */
    expect_error(T1 T2, 0, TG_ERR_FORMAT,
                 "t.conllu:2: file ends inside a sentence: expected a blank line after this token line");
    expect_error(T1 "2\tdog\tdog\tNOUN\tNN\t_\t0\troot\t_\t_", 0, TG_ERR_FORMAT,
                 "t.conllu:2: file ends inside a sentence: expected a blank line after this token line");
    expect_error(T1 "\n# sent_id = 2\n", 0, TG_ERR_FORMAT,
                 "t.conllu:3: file ends after comment lines: expected a sentence");
    expect_error(T1 "# text = x\n" T2 "\n", 0, TG_ERR_FORMAT,
                 "t.conllu:2: comment line inside a sentence: expected a token line or a blank line "
                 "to end the sentence");
    expect_error("# sent_id = 1\n\n" T1 "\n", 0, TG_ERR_FORMAT,
                 "t.conllu:2: expected a token line after the comment lines (from line 1), found a blank line");
    /* empty fields */
    expect_error(T1 "2\t\tdog\tNOUN\tNN\t_\t0\troot\t_\t_\n\n", 0, TG_ERR_FORMAT,
                 "t.conllu:2: empty column 2 (FORM): expected a value or _");
    expect_error(T1 "2\tdog\tdog\tNOUN\tNN\t_\t0\troot\t_\t\n\n", 0, TG_ERR_FORMAT,
                 "t.conllu:2: empty column 10 (MISC): expected a value or _");
}

static void test_long_line(void **state) {
    (void)state;
    size_t n = 200000;
    char *text = malloc(n + 200);
    char *p = text;
    p += sprintf(p, "1\t");
    memset(p, 'a', n);
    p += n;
    sprintf(p, "\ta\tNOUN\t_\t_\t0\troot\t_\t_\n\n");
    tg_conllu c;
    assert_int_equal(tg_conllu_parse_string("long", text, 0, &c), TG_OK);
    assert_int_equal(tg_conllu_form_len(&c, 0), (int64_t)n);
    tg_conllu_free(&c);
    free(text);
}

static void test_files(void **state) {
    (void)state;
    tg_conllu c, before;
    /* plain and gzip give the same corpus */
    const char *plain = tu_tmp_path("v.conllu"), *gz = tu_tmp_path("v.conllu.gz");
    write_file(plain, valid_text, strlen(valid_text));
    write_gz(gz, valid_text);
    assert_int_equal(tg_conllu_read(plain, 0, &c), TG_OK);
    check_valid(&c);
    tg_conllu_free(&c);
    assert_int_equal(tg_conllu_read(gz, 0, &c), TG_OK);
    check_valid(&c);
    tg_conllu_free(&c);
    /* errors name the path given */
    const char *badp = tu_tmp_path("bad.conllu.gz");
    write_gz(badp, T1 "2\tdog\n\n");
    char want[512];
    assert_int_equal(tg_conllu_read(badp, 0, &c), TG_ERR_FORMAT);
    snprintf(want, sizeof want, "%s:2: expected 10 tab-separated columns, found 2", badp);
    assert_string_equal(tg_last_error(), want);
    /* missing file */
    memset(&c, 0xAB, sizeof c);
    memcpy(&before, &c, sizeof c);
    const char *missing = tu_tmp_path("nope.conllu");
    assert_int_equal(tg_conllu_read(missing, 0, &c), TG_ERR_IO);
    snprintf(want, sizeof want, "%s: cannot open: %s", missing, strerror(ENOENT));
    assert_string_equal(tg_last_error(), want);
    assert_memory_equal(&c, &before, sizeof c);
    /* NUL byte inside a file */
    const char *nul = tu_tmp_path("nul.conllu");
    write_file(nul, T1 "2\tdo\0g\tdog\tNOUN\tNN\t_\t0\troot\t_\t_\n\n", strlen(T1) + 33);
    assert_int_equal(tg_conllu_read(nul, 0, &c), TG_ERR_FORMAT);
    snprintf(want, sizeof want, "%s:2: NUL byte at byte 5 of the line: expected UTF-8 text", nul);
    assert_string_equal(tg_last_error(), want);
    /* a directory is an I/O error, not a crash */
    assert_int_equal(tg_conllu_read(tu_tmpdir(), 0, &c), TG_ERR_IO);
    snprintf(want, sizeof want, "%s: read failed: %s", tu_tmpdir(), strerror(EISDIR));
    assert_string_equal(tg_last_error(), want);
}

static void test_gzip_corrupt(void **state) {
    (void)state;
    /* a gzip stream big enough to span several deflate blocks */
    size_t n = 0, cap = 1 << 20;
    char *text = malloc(cap);
    for (int s = 0; s < 2000; s++)
        n += (size_t)snprintf(text + n, cap - n, "1\tw%d\tw\tNOUN\t_\t_\t0\troot\t_\t_\n\n", s * 7919 % 10007);
    const char *gz = tu_tmp_path("big.conllu.gz");
    write_gz(gz, text);
    free(text);
    size_t len;
    char *bytes = tu_slurp(gz, &len);
    tg_conllu c, before;
    assert_int_equal(tg_conllu_read(gz, 0, &c), TG_OK);
    assert_int_equal(c.n_sents, 2000);
    tg_conllu_free(&c);
    char want[512];
    /* truncated: cut the stream in the middle */
    const char *cut = tu_tmp_path("cut.conllu.gz");
    write_file(cut, bytes, len / 2);
    memset(&c, 0xAB, sizeof c);
    memcpy(&before, &c, sizeof c);
    assert_int_equal(tg_conllu_read(cut, 0, &c), TG_ERR_IO);
    snprintf(want, sizeof want, "%s: gzip: unexpected end of file", cut);
    assert_string_equal(tg_last_error(), want);
    assert_memory_equal(&c, &before, sizeof c);
    /* truncated trailer only (CRC and length missing) */
    write_file(cut, bytes, len - 4);
    assert_int_equal(tg_conllu_read(cut, 0, &c), TG_ERR_IO);
    assert_string_equal(tg_last_error(), want);
    /* corrupt: flip bits in the middle of the deflate data */
    const char *bad = tu_tmp_path("bad.conllu.gz");
    for (size_t at = 20; at < len - 8; at += len / 7) {
        char *copy = malloc(len);
        memcpy(copy, bytes, len);
        copy[at] ^= 0x5A;
        write_file(bad, copy, len);
        free(copy);
        tg_status st = tg_conllu_read(bad, 0, &c);
        if (st == TG_OK) tg_conllu_free(&c); /* cannot happen: CRC-32 catches it */
        assert_int_equal(st, TG_ERR_IO);
        snprintf(want, sizeof want, "%s: ", bad);
        assert_memory_equal(tg_last_error(), want, strlen(want));
    }
    free(bytes);
}

static void test_write_roundtrip(void **state) {
    (void)state;
    tg_conllu c, d;
    assert_int_equal(tg_conllu_parse_string("v", valid_text, 0, &c), TG_OK);
    const char *path = tu_tmp_path("out.conllu");
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(tg_conllu_write(f, path, &c, NULL), TG_OK);
    fclose(f);
    size_t n;
    char *written = tu_slurp(path, &n);
    assert_string_equal(written,
                        "# sent_id = s1\n# text = I don't know.\n"
                        "1\tI\t_\tPRON\t_\t_\t_\t_\t_\t_\n2\tdo\t_\tAUX\t_\t_\t_\t_\t_\t_\n"
                        "3\tn't\t_\tPART\t_\t_\t_\t_\t_\t_\n4\tknow\t_\tVERB\t_\t_\t_\t_\t_\t_\n"
                        "5\t.\t_\tPUNCT\t_\t_\t_\t_\t_\t_\n\n"
                        "# sent_id = s2\n1\tCafé\t_\tPROPN\t_\t_\t_\t_\t_\t_\n2\t_\t_\tSYM\t_\t_\t_\t_\t_\t_\n\n");
    free(written);
    assert_int_equal(tg_conllu_read(path, 0, &d), TG_OK);
    d.n_multiword = c.n_multiword, d.n_empty = c.n_empty; /* not written */
    check_valid(&d);
    tg_conllu_free(&d);
    /* predicted tags override, -1 written as _ and read back unlabelled */
    int8_t pred[8] = {TG_UPOS_X, TG_UPOS_X, -1, TG_UPOS_NOUN, TG_UPOS_PUNCT, TG_UPOS_ADJ, TG_UPOS_SYM};
    f = fopen(path, "w");
    assert_int_equal(tg_conllu_write(f, path, &c, pred), TG_OK);
    fclose(f);
    assert_int_equal(tg_conllu_read(path, 0, &d), TG_ERR_FORMAT);
    assert_int_equal(tg_conllu_read(path, TG_CONLLU_UNLABELLED, &d), TG_OK);
    assert_int_equal(d.n_words, 7);
    for (int w = 0; w < 7; w++) {
        assert_int_equal(d.upos[w], pred[w]);
        assert_string_equal(tg_conllu_form(&d, w), tg_conllu_form(&c, w));
    }
    tg_conllu_free(&d);
    /* write errors are reported, not ignored */
    FILE *full = fopen("/dev/full", "w");
    if (full) {
        assert_int_equal(tg_conllu_write(full, "/dev/full", &c, NULL), TG_ERR_IO);
        assert_memory_equal(tg_last_error(), "/dev/full: write failed: ", 25);
        fclose(full);
    }
    tg_conllu_free(&c);
}

static void test_tokens(void **state) {
    (void)state;
    tg_conllu c, d;
    assert_int_equal(tg_conllu_parse_tokens("raw", "The  dog\tbarks .\n\n   \nCafé au lait\r\nlast", &c), TG_OK);
    assert_int_equal(c.n_sents, 3);
    assert_int_equal(c.n_words, 8);
    static const char *forms[8] = {"The", "dog", "barks", ".", "Café", "au", "lait", "last"};
    for (int w = 0; w < 8; w++) {
        assert_string_equal(tg_conllu_form(&c, w), forms[w]);
        assert_int_equal(c.upos[w], -1);
    }
    assert_string_equal(c.meta + c.sent_id_off[0], "1");
    assert_string_equal(c.meta + c.text_off[0], "The  dog\tbarks .");
    assert_string_equal(c.meta + c.sent_id_off[1], "4");
    assert_string_equal(c.meta + c.sent_id_off[2], "5");
    assert_int_equal(c.sent_start[1], 4);
    /* write, read back unlabelled: same forms */
    const char *path = tu_tmp_path("tok.conllu");
    FILE *f = fopen(path, "w");
    assert_int_equal(tg_conllu_write(f, path, &c, NULL), TG_OK);
    fclose(f);
    assert_int_equal(tg_conllu_read(path, TG_CONLLU_UNLABELLED, &d), TG_OK);
    assert_int_equal(d.n_sents, 3);
    assert_int_equal(d.n_words, 8);
    for (int w = 0; w < 8; w++) assert_string_equal(tg_conllu_form(&d, w), forms[w]);
    tg_conllu_free(&d);
    tg_conllu_free(&c);
    /* from a gzip file, and errors */
    const char *gz = tu_tmp_path("tok.txt.gz");
    write_gz(gz, "a b\nc\n");
    assert_int_equal(tg_conllu_read_tokens(gz, &c), TG_OK);
    assert_int_equal(c.n_sents, 2);
    tg_conllu_free(&c);
    memset(&c, 0xAB, sizeof c);
    memcpy(&d, &c, sizeof c);
    assert_int_equal(tg_conllu_parse_tokens("raw", "ok\nbad \xFF\n", &c), TG_ERR_FORMAT);
    assert_string_equal(tg_last_error(), "raw:2: invalid UTF-8 at byte 5 of the line (invalid byte)");
    assert_memory_equal(&c, &d, sizeof c);
}

/* ---- vocab ---------------------------------------------------------------- */

static const char *vocab_text =
    "1\tthe\t_\tDET\t_\t_\t_\t_\t_\t_\n2\tcat\t_\tNOUN\t_\t_\t_\t_\t_\t_\n3\tsaw\t_\tVERB\t_\t_\t_\t_\t_\t_\n"
    "4\tthe\t_\tDET\t_\t_\t_\t_\t_\t_\n5\tdog\t_\tNOUN\t_\t_\t_\t_\t_\t_\n6\tin\t_\tADP\t_\t_\t_\t_\t_\t_\n"
    "7\t1984\t_\tNUM\t_\t_\t_\t_\t_\t_\n\n"
    "1\tThe\t_\tDET\t_\t_\t_\t_\t_\t_\n2\tdog\t_\tNOUN\t_\t_\t_\t_\t_\t_\n3\tnaïve\t_\tADJ\t_\t_\t_\t_\t_\t_\n"
    "4\t2025\t_\tNUM\t_\t_\t_\t_\t_\t_\n5\t<unk>\t_\tX\t_\t_\t_\t_\t_\t_\n\n";

static void test_vocab_words(void **state) {
    (void)state;
    tg_conllu c;
    assert_int_equal(tg_conllu_parse_string("v", vocab_text, 0, &c), TG_OK);
    tg_vocab v;
    tg_vocab_build_words(&c, 1, 0, &v);
    /* counts: the 2, dog 2, then count 1 in byte order */
    static const char *order[] = {"<pad>", "<unk>", "dog", "the", "1984", "2025", "<unk>", "The",
                                  "cat", "in", "naïve", "saw"};
    assert_int_equal(v.size, 12);
    for (int i = 0; i < 12; i++) assert_string_equal(tg_vocab_str(&v, i), order[i]);
    assert_int_equal(v.count[2], 2);
    assert_int_equal(v.count[0], 0);
    assert_int_equal(tg_vocab_word_id(&v, "the", 3), 3);
    assert_int_equal(tg_vocab_word_id(&v, "thee", 4), TG_VOCAB_UNK);
    assert_int_equal(tg_vocab_word_id(&v, "th", 2), TG_VOCAB_UNK);
    assert_int_equal(tg_vocab_word_id(&v, "", 0), TG_VOCAB_UNK);
    assert_int_equal(tg_vocab_word_id(&v, "<pad>", 5), TG_VOCAB_UNK); /* specials never match */
    assert_int_equal(tg_vocab_word_id(&v, "<unk>", 5), 6);           /* the corpus word "<unk>" */
    assert_int_equal(tg_vocab_word_id(&v, "naïve", strlen("naïve")), 10);
    int32_t ids[12];
    tg_vocab_encode_words(&v, &c, ids);
    assert_int_equal(ids[0], 3);
    assert_int_equal(ids[8], 2);
    tg_vocab_free(&v);
    /* min_count 2 and digit normalisation */
    tg_vocab_build_words(&c, 2, TG_VOCAB_DIGITS_TO_ZERO, &v);
    assert_int_equal(v.size, 5);
    assert_string_equal(tg_vocab_str(&v, 2), "0000");
    assert_string_equal(tg_vocab_str(&v, 3), "dog");
    assert_string_equal(tg_vocab_str(&v, 4), "the");
    assert_int_equal(tg_vocab_word_id(&v, "1776", 4), 2);
    assert_int_equal(tg_vocab_word_id(&v, "0000", 4), 2);
    assert_int_equal(tg_vocab_word_id(&v, "cat", 3), TG_VOCAB_UNK);
    /* serialisation round trip, exact */
    char *s = tg_vocab_to_string(&v);
    assert_string_equal(s, "tapegrad-vocab 1\nkind word\nnormalize digits\nspecials <pad> <unk>\nsize 3\n"
                           "2\t0000\n2\tdog\n2\tthe\n");
    tg_vocab w;
    assert_int_equal(tg_vocab_from_string("s", s, &w), TG_OK);
    char *s2 = tg_vocab_to_string(&w);
    assert_string_equal(s, s2);
    assert_int_equal(tg_vocab_word_id(&w, "1999", 4), 2);
    assert_int_equal(w.flags, TG_VOCAB_DIGITS_TO_ZERO);
    free(s);
    free(s2);
    tg_vocab_free(&w);
    tg_vocab_free(&v);
    tg_vocab_free(&v);
    tg_vocab_build_words(&c, 1, 0, &v);
    s = tg_vocab_to_string(&v);
    assert_int_equal(tg_vocab_from_string("s", s, &w), TG_OK);
    s2 = tg_vocab_to_string(&w);
    assert_string_equal(s, s2);
    for (int i = 0; i < v.size; i++) {
        assert_string_equal(tg_vocab_str(&v, i), tg_vocab_str(&w, i));
        if (i >= 2) assert_int_equal(tg_vocab_word_id(&w, tg_vocab_str(&v, i), strlen(tg_vocab_str(&v, i))), i);
    }
    free(s);
    free(s2);
    tg_vocab_free(&w);
    tg_vocab_free(&v);
    tg_conllu_free(&c);
}

static void test_vocab_chars(void **state) {
    (void)state;
    tg_conllu c;
    assert_int_equal(tg_conllu_parse_string("v", vocab_text, 0, &c), TG_OK);
    tg_vocab v;
    tg_vocab_build_chars(&c, 1, &v);
    assert_string_equal(tg_vocab_str(&v, 0), "<pad>");
    assert_string_equal(tg_vocab_str(&v, 3), "<eow>");
    assert_string_equal(tg_vocab_str(&v, 4), "e"); /* most frequent: e (4 times) */
    assert_int_equal(v.count[4], 4);
    int32_t ids[16];
    const char *word = "naïve!";
    int64_t k = tg_vocab_word_chars(&v, word, strlen(word), ids, 16);
    assert_int_equal(k, 8);
    assert_int_equal(ids[0], TG_VOCAB_BOW);
    assert_int_equal(ids[1], tg_vocab_char_id(&v, 'n'));
    assert_int_equal(ids[3], tg_vocab_char_id(&v, 0xEF));
    assert_string_equal(tg_vocab_str(&v, ids[3]), "ï");
    assert_int_equal(ids[6], TG_VOCAB_UNK); /* '!' unseen */
    assert_int_equal(ids[7], TG_VOCAB_EOW);
    assert_int_equal(tg_vocab_word_chars(&v, word, strlen(word), ids, 2), 8); /* truncated write */
    assert_int_equal(tg_vocab_char_id(&v, 0xD800), TG_VOCAB_UNK);
    assert_int_equal(tg_vocab_char_id(&v, 0x110000), TG_VOCAB_UNK);
    char *s = tg_vocab_to_string(&v);
    assert_non_null(strstr(s, "\tU+00EF\n"));
    assert_memory_equal(s, "tapegrad-vocab 1\nkind char\nnormalize none\nspecials <pad> <unk> <bow> <eow>\n", 75);
    tg_vocab w;
    assert_int_equal(tg_vocab_from_string("s", s, &w), TG_OK);
    char *s2 = tg_vocab_to_string(&w);
    assert_string_equal(s, s2);
    assert_int_equal(tg_vocab_char_id(&w, 0xEF), ids[3]);
    free(s);
    free(s2);
    tg_vocab_free(&w);
    tg_vocab_free(&v);
    tg_conllu_free(&c);
}

static void expect_vocab_error(const char *text, const char *msg) {
    tg_vocab out, before;
    memset(&out, 0xAB, sizeof out);
    memcpy(&before, &out, sizeof out);
    tg_status st = tg_vocab_from_string("v.txt", text, &out);
    if (st != TG_ERR_FORMAT || strcmp(tg_last_error(), msg) != 0)
        print_error("want '%s'\ngot  %d '%s'\n", msg, st, tg_last_error());
    assert_int_equal(st, TG_ERR_FORMAT);
    assert_string_equal(tg_last_error(), msg);
    assert_memory_equal(&out, &before, sizeof out);
}

#define VH "tapegrad-vocab 1\nkind word\nnormalize none\nspecials <pad> <unk>\n"
#define CH "tapegrad-vocab 1\nkind char\nnormalize none\nspecials <pad> <unk> <bow> <eow>\n"

static void test_vocab_errors(void **state) {
    (void)state;
    expect_vocab_error("", "v.txt:1: expected 'tapegrad-vocab 1', found end of text");
    expect_vocab_error("tapegrad-vocab 2\nkind word\nnormalize none\nspecials <pad> <unk>\nsize 0\n",
                       "v.txt:1: expected 'tapegrad-vocab 1', found 'tapegrad-vocab 2'");
    expect_vocab_error("tapegrad-vocab 1\nkind words\nnormalize none\nspecials <pad> <unk>\nsize 0\n",
                       "v.txt:2: expected 'kind word', 'kind char' or 'kind seq', found 'kind words'");
    expect_vocab_error(CH "size 0", "v.txt:5: expected 'size N', found a line without a final newline");
    expect_vocab_error(VH "size -1\n", "v.txt:5: expected 'size N' with N a non-negative integer, found 'size -1'");
    expect_vocab_error(VH "size 3\n1\ta\n1\tb\n", "v.txt:5: size 3 but only 2 entry lines follow");
    expect_vocab_error(VH "size 2\n1\ta\n1\ta\n", "v.txt:7: duplicate entry 'a': expected each entry once");
    expect_vocab_error(VH "size 1\n1\ta\n1\tb\n", "v.txt:7: expected end of text after 1 entries, found more");
    expect_vocab_error(VH "size 1\nx\ta\n",
                       "v.txt:6: expected a count (non-negative integer, no leading zeros), found 'x'");
    expect_vocab_error(VH "size 1\n01\ta\n",
                       "v.txt:6: expected a count (non-negative integer, no leading zeros), found '01'");
    expect_vocab_error(VH "size 1\n1 a\n", "v.txt:6: expected 'count<TAB>entry', found no TAB");
    expect_vocab_error(VH "size 1\n1\t\n", "v.txt:6: empty entry: expected a word after the TAB");
    expect_vocab_error(VH "size 1\n1\ta\xC0\x80\n", "v.txt:6: invalid UTF-8 in the entry at byte 2 (overlong encoding)");
    expect_vocab_error("tapegrad-vocab 1\nkind word\nnormalize digits\nspecials <pad> <unk>\nsize 1\n1\ta1\n",
                       "v.txt:6: entry 'a1' is not normalised: expected digits written as 0");
    expect_vocab_error(CH "size 1\n1\tU+D800\n",
                       "v.txt:6: expected a character as U+XXXX (upper-case hex, 4 to 6 digits, a Unicode "
                       "scalar value), found 'U+D800'");
    expect_vocab_error(CH "size 1\n1\tU+41\n",
                       "v.txt:6: expected a character as U+XXXX (upper-case hex, 4 to 6 digits, a Unicode "
                       "scalar value), found 'U+41'");
    expect_vocab_error(CH "size 2\n1\tU+0041\n1\tU+0041\n", "v.txt:7: duplicate entry 'A': expected each entry once");
    expect_vocab_error("tapegrad-vocab 1\nkind char\nnormalize none\nspecials <pad> <unk>\nsize 0\n",
                       "v.txt:4: expected 'specials <pad> <unk> <bow> <eow>', found 'specials <pad> <unk>'");
    tg_vocab v;
    assert_int_equal(tg_vocab_from_string("ok", VH "size 0\n", &v), TG_OK);
    assert_int_equal(v.size, 2);
    assert_int_equal(tg_vocab_word_id(&v, "a", 1), TG_VOCAB_UNK);
    tg_vocab_free(&v);
}

/* A vocabulary of the kind and size a model's config expects. */
static void test_vocab_expect(void **state) {
    (void)state;
    tg_vocab v, keep;
    memset(&keep, 0x5a, sizeof keep);
    const char *words = VH "size 2\n3\ta\n1\tb\n";
    assert_int_equal(tg_vocab_from_string_expect("m: word_vocab", words, TG_VOCAB_WORD, 4, &v), TG_OK);
    assert_int_equal(v.size, 4);
    assert_int_equal(tg_vocab_word_id(&v, "b", 1), 3);
    tg_vocab_free(&v);
    const struct { const char *text; tg_vocab_kind kind; int32_t size; const char *msg; } bad[] = {
        {words, TG_VOCAB_WORD, 5, "m: word_vocab: a word vocabulary of 4 entries; expected a word vocabulary of 5"},
        {words, TG_VOCAB_SEQ, 4, "m: word_vocab: a word vocabulary of 4 entries; expected a seq vocabulary of 4"},
        {CH "size 1\n1\tU+0041\n", TG_VOCAB_WORD, 5,
         "m: word_vocab: a char vocabulary of 5 entries; expected a word vocabulary of 5"},
        {VH "size 1\n1\ta\n1\tb\n", TG_VOCAB_WORD, 3, "m: word_vocab:7: expected end of text after 1 entries"},
        {"", TG_VOCAB_WORD, 2, "m: word_vocab:1: expected 'tapegrad-vocab 1'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        memcpy(&v, &keep, sizeof v);
        assert_int_equal(tg_vocab_from_string_expect("m: word_vocab", bad[i].text, bad[i].kind, bad[i].size, &v),
                         TG_ERR_FORMAT);
        if (!strstr(tg_last_error(), bad[i].msg)) fail_msg("expected \"%s\", got \"%s\"", bad[i].msg, tg_last_error());
        assert_memory_equal(&v, &keep, sizeof v); /* untouched */
    }
}

/* ---- the real treebank ------------------------------------------------------ */

static void test_real_ewt(void **state) {
    (void)state;
    const char *dir = "data/ud_english_ewt/";
    if (access("data/ud_english_ewt/en_ewt-ud-train.conllu.gz", R_OK) != 0) {
        print_message("skipping: %sen_ewt-ud-train.conllu.gz not present (make data)\n", dir);
        skip();
    }
    struct { const char *file; int64_t sents, words, mw, empty; } want[3] = {
        {"data/ud_english_ewt/en_ewt-ud-train.conllu.gz", 12544, 204577, 2614, 37},
        {"data/ud_english_ewt/en_ewt-ud-dev.conllu.gz", 2001, 25147, 359, 4},
        {"data/ud_english_ewt/en_ewt-ud-test.conllu.gz", 2077, 25094, 354, 2},
    };
    for (int i = 0; i < 3; i++) {
        tg_conllu c;
        tg_status st = tg_conllu_read(want[i].file, 0, &c);
        if (st != TG_OK) print_error("%s\n", tg_last_error());
        assert_int_equal(st, TG_OK);
        assert_int_equal(c.n_sents, want[i].sents);
        assert_int_equal(c.n_words, want[i].words);
        assert_int_equal(c.n_multiword, want[i].mw);
        assert_int_equal(c.n_empty, want[i].empty);
        if (i == 0) { /* README train tag counts */
            static const int64_t counts[17] = {13137, 17742, 10167, 12815, 6687, 16299, 695, 34751, 4126,
                                               5748,  18677, 12620, 23596, 3819, 722,   22576, 400};
            int64_t got[17] = {0};
            for (int64_t w = 0; w < c.n_words; w++) got[c.upos[w]]++;
            for (int t = 0; t < 17; t++) assert_int_equal(got[t], counts[t]);
            tg_vocab v;
            tg_vocab_build_words(&c, 1, 0, &v);
            char *s = tg_vocab_to_string(&v);
            tg_vocab w;
            assert_int_equal(tg_vocab_from_string("train", s, &w), TG_OK);
            char *s2 = tg_vocab_to_string(&w);
            assert_string_equal(s, s2);
            free(s);
            free(s2);
            tg_vocab_free(&w);
            tg_vocab_free(&v);
        }
        tg_conllu_free(&c);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_upos_table),     cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_valid_small),    cmocka_unit_test(test_err_columns),
        cmocka_unit_test(test_err_ids),
        cmocka_unit_test(test_err_no_words),
        cmocka_unit_test(test_err_upos),
        cmocka_unit_test(test_err_utf8),       cmocka_unit_test(test_err_structure),
        cmocka_unit_test(test_long_line),      cmocka_unit_test(test_files),
        cmocka_unit_test(test_gzip_corrupt),   cmocka_unit_test(test_write_roundtrip),
        cmocka_unit_test(test_tokens),         cmocka_unit_test(test_vocab_words),
        cmocka_unit_test(test_vocab_chars),    cmocka_unit_test(test_vocab_errors),
        cmocka_unit_test(test_vocab_expect),
        cmocka_unit_test(test_real_ewt),
    };
    return cmocka_run_group_tests(tests, tu_tmpdir_setup, tu_tmpdir_teardown);
}
