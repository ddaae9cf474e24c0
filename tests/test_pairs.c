/* tests/test_pairs.c — the sentence-pair reader (data/pairs.h): the
 * tutorial's normalisation and filter, its errors, sequence vocabularies;
 * and corpus BLEU (train/bleu.h) against values computed by hand. */
#include <math.h>
#include <zlib.h>

#include "tests/helpers/testutil.h"

/* ---- normalisation -------------------------------------------------------- */

static void expect_norm(const char *in, const char *want) {
    char out[256];
    int64_t n = tg_normalize_ascii(in, strlen(in), out);
    if (n < 0 || strcmp(out, want) != 0) print_error("'%s' -> '%s', want '%s'\n", in, out, want);
    assert_int_equal(n, (int64_t)strlen(want));
    assert_string_equal(out, want);
}

/* Expected outputs are the tutorial's normalizeString(unicodeToAscii(...))
 * as Python 3 computes them. */
static void test_normalize_like_the_tutorial(void **state) {
    (void)state;
    expect_norm("Élève", "eleve");
    expect_norm("ÇA VA?", "ca va ?");
    expect_norm("l'œuf…", "l uf");          /* œ is not decomposed by NFD */
    expect_norm("naïve café", "naive cafe");
    expect_norm("e\xCC\x81t\xC3\xA9", "ete");     /* e + U+0301 (Mn, dropped), é */
    expect_norm("Wait...Go!", "wait . . .go !");  /* the regexes' exact output */
    expect_norm("  Hello,  World! ", "hello world !");
    expect_norm("¿Qué?", "que ?");
    expect_norm("Straße", "stra e");
    expect_norm("Kelvin \xE2\x84\xAA", "kelvin k"); /* U+212A KELVIN SIGN lowers to k */
    expect_norm("Va\xE2\x80\xAF!", "va !");         /* narrow no-break space */
    expect_norm("123 -- ,", "");
    expect_norm("", "");
    char out[8];
    assert_int_equal(tg_normalize_ascii("a\xC3", 2, out), -1); /* truncated UTF-8 */
    assert_int_equal(tg_count_words(""), 0);
    assert_int_equal(tg_count_words("i m ."), 3);
}

/* ---- reading ------------------------------------------------------------------ */

static const char *toy =
    "Go.\tVa !\n"
    "I am cold.\tJ'ai froid.\n"
    "He is a very, very, very, very good boy, really.\tC'est un très, très, très bon garçon.\n"
    "She's happy!\tElle est heureuse\xE2\x80\xAF!\r\n"
    "You are late.\tTu es en retard.\tCC-BY 2.0 (France) Attribution: tatoeba.org\n"
    "They're here.\tIls sont là."; /* no final LF */

static void test_read_all_pairs(void **state) {
    (void)state;
    tg_pairs p;
    assert_int_equal(tg_pairs_parse_string("toy", toy, NULL, &p), TG_OK);
    assert_int_equal(p.n, 6);
    assert_int_equal(p.n_lines, 6);
    assert_string_equal(tg_pairs_src(&p, 0), "go .");
    assert_string_equal(tg_pairs_tgt(&p, 0), "va !");
    assert_string_equal(tg_pairs_tgt(&p, 3), "elle est heureuse !");
    assert_string_equal(tg_pairs_tgt(&p, 4), "tu es en retard .");   /* third field ignored */
    assert_string_equal(tg_pairs_tgt(&p, 5), "ils sont la .");
    assert_int_equal(p.line[5], 6);
    tg_pairs_free(&p);
    tg_pairs_free(&p); /* twice is safe */
}

static void test_tutorial_filter(void **state) {
    (void)state;
    tg_pairs p;
    tg_pairs_filter f = tg_pairs_tutorial_filter();
    assert_int_equal(tg_pairs_parse_string("toy", toy, &f, &p), TG_OK);
    /* kept: "i am cold", "she s happy", "you are late", "they re here"; not
     * "go" (no prefix) nor the long "he is ..." (>= 10 words). Reversed. */
    assert_int_equal(p.n, 4);
    assert_int_equal(p.n_lines, 6);
    assert_string_equal(tg_pairs_src(&p, 0), "j ai froid .");
    assert_string_equal(tg_pairs_tgt(&p, 0), "i am cold .");
    assert_string_equal(tg_pairs_tgt(&p, 1), "she s happy !");
    assert_string_equal(tg_pairs_src(&p, 3), "ils sont la .");
    assert_int_equal(p.line[3], 6);
    tg_pairs_free(&p);
    /* exactly 10 words is too long, 9 is kept: len(split(' ')) < 10 */
    f.prefixes = NULL;
    f.n_prefixes = 0;
    assert_int_equal(tg_pairs_parse_string("t", "a b c d e f g h i\tx\na b c d e f g h i j\tx\n", &f, &p),
                     TG_OK);
    assert_int_equal(p.n, 1);
    tg_pairs_free(&p);
}

static void expect_error(const char *text, const char *msg) {
    tg_pairs out, before;
    memset(&out, 0xAB, sizeof out);
    memcpy(&before, &out, sizeof out);
    tg_status got = tg_pairs_parse_string("t.txt", text, NULL, &out);
    if (got != TG_ERR_FORMAT || strcmp(tg_last_error(), msg) != 0)
        print_error("want '%s'\ngot  %d '%s'\n", msg, got, tg_last_error());
    assert_int_equal(got, TG_ERR_FORMAT);
    assert_string_equal(tg_last_error(), msg);
    assert_memory_equal(&out, &before, sizeof out); /* nothing half-filled */
}

static void test_errors(void **state) {
    (void)state;
    expect_error("Go.\tVa !\nno tab here\n", "t.txt:2: expected two TAB-separated sentences, found no TAB");
    expect_error("Go.\tVa !\n\nHi.\tSalut.\n",
                 "t.txt:2: expected two TAB-separated sentences, found an empty line");
    expect_error("Go.\tVa !\n\tSalut.\n", "t.txt:2: empty source side: expected a sentence");
    expect_error("Go.\tVa !\nHi.\t\n", "t.txt:2: empty target side: expected a sentence");
    expect_error("Hi.\tSalut.\tx\nGo.\tVa\xC3\n", "t.txt:2: invalid UTF-8 at byte 7 (truncated sequence)");
    expect_error("H\xC0\xAF.\tSalut.\n", "t.txt:1: invalid UTF-8 at byte 2 (overlong encoding)");
}

static void write_gz(const char *path, const void *data, size_t n) {
    gzFile gz = gzopen(path, "wb9");
    assert_non_null(gz);
    assert_int_equal(gzwrite(gz, data, (unsigned)n), (int)n);
    assert_int_equal(gzclose(gz), Z_OK);
}

static void test_read_files(void **state) {
    (void)state;
    tg_pairs p, before;
    const char *path = tu_tmp_path("pairs.txt.gz");
    write_gz(path, toy, strlen(toy));
    assert_int_equal(tg_pairs_read(path, NULL, &p), TG_OK);
    assert_int_equal(p.n, 6);
    tg_pairs_free(&p);
    /* a NUL byte in the file is an error with its line */
    write_gz(path, "Go.\tVa !\nHi\0.\tSalut.\n", 21);
    memset(&p, 0xAB, sizeof p);
    memcpy(&before, &p, sizeof p);
    assert_int_equal(tg_pairs_read(path, NULL, &p), TG_ERR_FORMAT);
    char want[512];
    snprintf(want, sizeof want, "%s:2: NUL byte: expected text", path);
    assert_string_equal(tg_last_error(), want);
    assert_memory_equal(&p, &before, sizeof p);
    /* a missing file */
    assert_int_equal(tg_pairs_read(tu_tmp_path("absent.txt"), NULL, &p), TG_ERR_IO);
    assert_non_null(strstr(tg_last_error(), "absent.txt: cannot open: No such file or directory"));
    assert_memory_equal(&p, &before, sizeof p);
}

/* ---- sequence vocabulary ---------------------------------------------------- */

static void test_seq_vocab(void **state) {
    (void)state;
    const char *sents[] = {"i am cold .", "i m cold .", "you are here ."};
    tg_vocab v, back;
    tg_vocab_build_sentences(sents, 3, 1, &v);
    assert_int_equal(v.kind, TG_VOCAB_SEQ);
    assert_int_equal(v.n_special, 4);
    assert_string_equal(tg_vocab_str(&v, TG_VOCAB_PAD), "<pad>");
    assert_string_equal(tg_vocab_str(&v, TG_VOCAB_UNK), "<unk>");
    assert_string_equal(tg_vocab_str(&v, TG_VOCAB_BOS), "<bos>");
    assert_string_equal(tg_vocab_str(&v, TG_VOCAB_EOS), "<eos>");
    /* by count: "." 3, then "cold" 2, "i" 2 (bytewise), then the singletons */
    assert_int_equal(v.size, 4 + 8);
    assert_string_equal(tg_vocab_str(&v, 4), ".");
    assert_string_equal(tg_vocab_str(&v, 5), "cold");
    assert_string_equal(tg_vocab_str(&v, 6), "i");
    int32_t ids[8];
    assert_int_equal(tg_vocab_encode_sentence(&v, "i am warm .", ids, 8), 4);
    assert_int_equal(ids[0], 6);
    assert_int_equal(ids[2], TG_VOCAB_UNK);
    assert_int_equal(ids[3], 4);
    assert_int_equal(tg_vocab_encode_sentence(&v, "i am warm .", ids, 2), 4); /* truncated */
    assert_int_equal(tg_vocab_encode_sentence(&v, "", ids, 8), 0);
    /* round trip through the serialised form */
    char *s = tg_vocab_to_string(&v);
    assert_non_null(strstr(s, "kind seq\nnormalize none\nspecials <pad> <unk> <bos> <eos>\n"));
    assert_int_equal(tg_vocab_from_string("v", s, &back), TG_OK);
    char *s2 = tg_vocab_to_string(&back);
    assert_string_equal(s, s2);
    assert_int_equal(tg_vocab_word_id(&back, "cold", 4), 5);
    free(s);
    free(s2);
    tg_vocab_free(&v);
    tg_vocab_free(&back);
}

/* ---- the real corpus --------------------------------------------------------- */

static void test_eng_fra_tutorial_counts(void **state) {
    (void)state;
    const char *path = "data/eng_fra/eng-fra.txt.gz";
    if (access(path, R_OK) != 0) {
        printf("  %s not found (run `make data`): SKIPPED\n", path);
        skip();
    }
    tg_pairs p;
    tg_pairs_filter f = tg_pairs_tutorial_filter();
    assert_int_equal(tg_pairs_read(path, &f, &p), TG_OK);
    /* the tutorial prints: Read 135842 sentence pairs / Trimmed to 10599
     * sentence pairs / fra 4345 / eng 2803 (its counts include SOS, EOS) */
    assert_int_equal(p.n_lines, 135842);
    assert_int_equal(p.n, 10599);
    const char **src = malloc(sizeof *src * (size_t)p.n), **tgt = malloc(sizeof *tgt * (size_t)p.n);
    for (int64_t i = 0; i < p.n; i++) src[i] = tg_pairs_src(&p, i), tgt[i] = tg_pairs_tgt(&p, i);
    tg_vocab fra, eng;
    tg_vocab_build_sentences(src, p.n, 1, &fra);
    tg_vocab_build_sentences(tgt, p.n, 1, &eng);
    printf("  %lld pairs, fra %d words, eng %d words (+ SOS, EOS: %d / %d)\n", (long long)p.n,
           fra.size - 4, eng.size - 4, fra.size - 2, eng.size - 2);
    assert_int_equal(fra.size - 4 + 2, 4345);
    assert_int_equal(eng.size - 4 + 2, 2803);
    tg_vocab_free(&fra);
    tg_vocab_free(&eng);
    free(src);
    free(tgt);
    tg_pairs_free(&p);
}

/* ---- BLEU ------------------------------------------------------------------------ */

static double bleu_of(int n, const char *const *hyp, const char *const *ref) {
    tg_bleu b;
    tg_bleu_init(&b);
    for (int i = 0; i < n; i++) tg_bleu_add(&b, hyp[i], ref[i]);
    return tg_bleu_score(&b);
}

static double bleu1(const char *hyp, const char *ref) { return bleu_of(1, &hyp, &ref); }

static void test_bleu_hand_computed(void **state) {
    (void)state;
    assert_float_equal(bleu1("the cat sat on the mat", "the cat sat on the mat"), 1.0, 1e-12);
    /* shorter: p = 4/5, 3/4, 2/3, 1/2; BP = exp(1 - 6/5) */
    assert_float_equal(bleu1("a b c d e", "a b c d f g"), 0.5475182535069453, 1e-12);
    /* longer: p = 5/7, 4/6, 3/5, 2/4; BP = 1 */
    assert_float_equal(bleu1("a b c d e f g", "a b c d e"), 0.6147881529512643, 1e-12);
    /* clipping: "a" thrice in the hypothesis, twice in the reference:
     * p = 5/6, 3/5, 2/4, 1/3; c = r so BP = 1 */
    assert_float_equal(bleu1("a a a b c d", "a b c d a x"), 0.537284965911771, 1e-12);
    /* corpus-level: counts summed before dividing (not a mean of sentence
     * BLEUs): p = 9/12, 7/10, 5/8, 3/6; c = 12 > r = 11 */
    const char *hyp[] = {"a b c d e", "a b c d e f g"}, *ref[] = {"a b c d f g", "a b c d e"};
    assert_float_equal(bleu_of(2, hyp, ref), 0.6364324737554576, 1e-12);
    tg_bleu b;
    tg_bleu_init(&b);
    tg_bleu_add(&b, " a  b\tc d e\n", "a b c d f g"); /* any whitespace separates */
    assert_int_equal(b.match[0], 4);
    assert_int_equal(b.total[3], 2);
    assert_float_equal(tg_bleu_precision(&b, 2), 0.75, 1e-12);
    assert_float_equal(tg_bleu_brevity_penalty(&b), exp(-0.2), 1e-12);
}

static void test_bleu_degenerate(void **state) {
    (void)state;
    /* Papineni's example: unigram precision clipped to 2/7, no bigram match */
    tg_bleu b;
    tg_bleu_init(&b);
    tg_bleu_add(&b, "the the the the the the the", "the cat is on the mat");
    assert_float_equal(tg_bleu_precision(&b, 1), 2.0 / 7.0, 1e-12);
    assert_float_equal(tg_bleu_score(&b), 0.0, 0.0);
    /* no 4-gram at all (3 words) -> 0, even with every trigram matched */
    assert_float_equal(bleu1("a b c", "a b c"), 0.0, 0.0);
    /* no 4-gram match -> 0 */
    assert_float_equal(bleu1("a b c x d e f", "a b c d e f"), 0.0, 0.0);
    /* empty hypothesis or empty corpus -> 0 */
    assert_float_equal(bleu1("", "a b c d"), 0.0, 0.0);
    tg_bleu_init(&b);
    assert_float_equal(tg_bleu_score(&b), 0.0, 0.0);
    assert_float_equal(tg_bleu_brevity_penalty(&b), 0.0, 0.0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalize_like_the_tutorial),
        cmocka_unit_test(test_read_all_pairs),
        cmocka_unit_test(test_tutorial_filter),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_read_files),
        cmocka_unit_test(test_seq_vocab),
        cmocka_unit_test(test_eng_fra_tutorial_counts),
        cmocka_unit_test(test_bleu_hand_computed),
        cmocka_unit_test(test_bleu_degenerate),
    };
    return cmocka_run_group_tests(tests, tu_tmpdir_setup, tu_tmpdir_teardown);
}
