/* tests/test_text.c — text for character models: data/text.h (reading plain
 * and gzip files, UTF-8 errors with path:line, the character vocabulary,
 * encode/decode, serialisation) and train/batch.h's random windows.  The
 * real Tiny Shakespeare (65 characters) when ./data has it. */
#include <zlib.h>

#include "data/text.h"
#include "tests/helpers/testutil.h"

static const char *write_tmp(const char *file, const char *bytes, size_t n) {
    const char *path = tu_tmp_path(file);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, n, f), n);
    fclose(f);
    return path;
}

static void test_read_plain_and_gzip(void **state) {
    (void)state;
    const char body[] = "First Citizen:\nBefore we proceed, h\xC3\xA9!\nlast";
    tg_text t;
    assert_int_equal(tg_text_read(write_tmp("a.txt", body, sizeof body - 1), &t), TG_OK);
    assert_int_equal(t.len, sizeof body - 1);
    assert_int_equal(t.n_chars, (int64_t)sizeof body - 2); /* é is 2 bytes */
    assert_int_equal(t.n_lines, 3);
    assert_memory_equal(t.data, body, t.len);
    tg_text_free(&t);
    /* the same bytes gzip-compressed */
    const char *gz = tu_tmp_path("a.txt.gz");
    gzFile g = gzopen(gz, "wb");
    assert_non_null(g);
    assert_int_equal(gzwrite(g, body, sizeof body - 1), (int)sizeof body - 1);
    gzclose(g);
    assert_int_equal(tg_text_read(gz, &t), TG_OK);
    assert_int_equal(t.len, sizeof body - 1);
    assert_memory_equal(t.data, body, t.len);
    tg_text_free(&t);
}

static void expect_read_error(const char *file, const char *bytes, size_t n, tg_status st,
                              const char *msg) {
    tg_text t = {.data = (char *)"untouched"};
    const char *path = write_tmp(file, bytes, n);
    assert_int_equal(tg_text_read(path, &t), st);
    char want[512];
    snprintf(want, sizeof want, "%s%s", path, msg);
    if (strcmp(tg_last_error(), want) != 0) fail_msg("got '%s', want '%s'", tg_last_error(), want);
    assert_string_equal(t.data, "untouched");
}

static void test_read_errors(void **state) {
    (void)state;
    expect_read_error("bad1.txt", "ok\nab\xFF", 6, TG_ERR_FORMAT,
                      ":2: invalid UTF-8 (invalid byte) at byte 3 of the line: expected a valid "
                      "UTF-8 sequence");
    expect_read_error("bad2.txt", "a\nb\nc\xC3", 6, TG_ERR_FORMAT,
                      ":3: invalid UTF-8 (truncated sequence) at byte 2 of the line: expected a "
                      "valid UTF-8 sequence");
    expect_read_error("bad3.txt", "\xC0\xAF", 2, TG_ERR_FORMAT,
                      ":1: invalid UTF-8 (overlong encoding) at byte 1 of the line: expected a "
                      "valid UTF-8 sequence");
    expect_read_error("empty.txt", "", 0, TG_ERR_FORMAT, ": empty file: expected some text");
    expect_read_error("nul.txt", "zen:\nBcg\0d", 9, TG_ERR_FORMAT, ":2: NUL byte at byte 4 of the line: expected text");
    tg_text t;
    assert_int_equal(tg_text_read(tu_tmp_path("missing.txt"), &t), TG_ERR_IO);
    assert_non_null(strstr(tg_last_error(), "missing.txt: cannot open"));
}

static void test_vocab(void **state) {
    (void)state;
    const char s[] = "bab\xC3\xA9 \xE2\x82\xAC" "a\n"; /* b a b é ␠ € a \n */
    tg_char_vocab v;
    tg_char_vocab_build(&v, s, sizeof s - 1);
    assert_int_equal(v.size, 6);
    const uint32_t want[6] = {'\n', ' ', 'a', 'b', 0xE9, 0x20AC};
    assert_memory_equal(v.cp, want, sizeof want);
    assert_int_equal(tg_char_vocab_id(&v, 'a'), 2);
    assert_int_equal(tg_char_vocab_id(&v, 0x20AC), 5);
    assert_int_equal(tg_char_vocab_id(&v, 'z'), -1);
    assert_int_equal(tg_char_vocab_id(&v, 0x4E00), -1);
    int32_t ids[16];
    int64_t n;
    assert_int_equal(tg_char_vocab_encode(&v, "text", s, sizeof s - 1, ids, &n), TG_OK);
    assert_int_equal(n, 8);
    const int32_t want_ids[8] = {3, 2, 3, 4, 1, 5, 2, 0};
    assert_memory_equal(ids, want_ids, sizeof want_ids);
    char *back = tg_char_vocab_decode(&v, ids, n);
    assert_string_equal(back, s);
    free(back);
    /* unknown character, invalid UTF-8 */
    n = -7;
    assert_int_equal(tg_char_vocab_encode(&v, "--prompt", "abz", 3, ids, &n), TG_ERR_NOT_FOUND);
    assert_string_equal(tg_last_error(),
                        "--prompt: character 'z' (U+007A) at byte 2 is not in the vocabulary of 6 "
                        "characters");
    assert_int_equal(n, -7);
    assert_int_equal(tg_char_vocab_encode(&v, "--prompt", "a\xE2\x82", 3, ids, &n), TG_ERR_FORMAT);
    assert_string_equal(tg_last_error(), "--prompt: invalid UTF-8 (truncated sequence) at byte 1: "
                                         "expected a valid UTF-8 sequence");
    /* serialisation round trip and its errors */
    char *str = tg_char_vocab_to_string(&v);
    assert_string_equal(str, "A 20 61 62 E9 20AC");
    tg_char_vocab w;
    assert_int_equal(tg_char_vocab_from_string("meta", str, &w), TG_OK);
    assert_int_equal(w.size, v.size);
    assert_memory_equal(w.cp, v.cp, sizeof want);
    assert_int_equal(tg_char_vocab_id(&w, 'b'), 3);
    tg_char_vocab_free(&w);
    free(str);
    w.size = -1;
    assert_int_equal(tg_char_vocab_from_string("meta", "A 20 20", &w), TG_ERR_FORMAT);
    assert_string_equal(tg_last_error(), "meta: entry 2: code points must be strictly increasing");
    assert_int_equal(tg_char_vocab_from_string("meta", "A zz", &w), TG_ERR_FORMAT);
    assert_string_equal(tg_last_error(),
                        "meta: entry 1: expected a hex code point (a Unicode scalar value), got 'zz'");
    assert_int_equal(tg_char_vocab_from_string("meta", "D800", &w), TG_ERR_FORMAT);
    /* one spelling per vocabulary (found by tests/fuzz/fuzz_config): no
     * trailing or doubled space, no leading zero */
    assert_int_equal(tg_char_vocab_from_string("meta", "A ", &w), TG_ERR_FORMAT);
    assert_string_equal(tg_last_error(), "meta: entry 1: expected a hex code point after the space, got the end");
    assert_int_equal(tg_char_vocab_from_string("meta", "A  20", &w), TG_ERR_FORMAT);
    assert_int_equal(tg_char_vocab_from_string("meta", "0A 20", &w), TG_ERR_FORMAT);
    assert_int_equal(tg_char_vocab_from_string("meta", "0 A", &w), TG_OK);
    tg_char_vocab_free(&w);
    w.size = -1;
    assert_int_equal(tg_char_vocab_from_string("meta", "", &w), TG_ERR_FORMAT);
    assert_string_equal(tg_last_error(), "meta: empty vocabulary");
    assert_int_equal(w.size, -1);
    tg_char_vocab_free(&v);
    TU_EXPECT_DEATH(tg_char_vocab_decode(&v, (const int32_t[]){1}, 1), "tg_char_vocab_decode");
}

static void test_random_windows(void **state) {
    (void)state;
    enum { N = 50, B = 7, T = 9 };
    int32_t tok[N], x[B * T], y[B * T];
    for (int i = 0; i < N; i++) tok[i] = 1000 + i;
    tg_rng rng, again;
    tg_rng_seed(&rng, 3);
    again = rng;
    int64_t starts[B];
    int64_t lo = N, hi = -1;
    for (int rep = 0; rep < 200; rep++) {
        tg_random_windows(tok, N, B, T, &rng, x, y, starts);
        for (int b = 0; b < B; b++) {
            assert_true(starts[b] >= 0 && starts[b] < N - T);
            lo = starts[b] < lo ? starts[b] : lo;
            hi = starts[b] > hi ? starts[b] : hi;
            for (int t = 0; t < T; t++) {
                assert_int_equal(x[b * T + t], tok[starts[b] + t]);
                assert_int_equal(y[b * T + t], tok[starts[b] + t + 1]); /* shifted by one */
            }
        }
    }
    assert_int_equal(lo, 0);         /* every start is reachable ... */
    assert_int_equal(hi, N - T - 1); /* ... up to the last full window */
    int32_t x2[B * T], y2[B * T];
    tg_random_windows(tok, N, B, T, &again, x2, y2, NULL); /* same seed, same windows */
    tg_rng_seed(&rng, 3);
    tg_random_windows(tok, N, B, T, &rng, x, y, NULL);
    assert_memory_equal(x, x2, sizeof x);
    TU_EXPECT_DEATH(tg_random_windows(tok, T, B, T, &rng, x, y, NULL), "T + 1 <= n");
}

static void test_tinyshakespeare(void **state) {
    (void)state;
    const char *path = "data/tinyshakespeare/input.txt";
    if (access(path, R_OK) != 0) {
        printf("SKIPPED: %s absent (make data)\n", path);
        return;
    }
    tg_text t;
    assert_int_equal(tg_text_read(path, &t), TG_OK);
    tg_char_vocab v;
    tg_char_vocab_build(&v, t.data, t.len);
    printf("Tiny Shakespeare: %zu bytes, %lld characters, %d distinct\n", t.len,
           (long long)t.n_chars, (int)v.size);
    assert_int_equal(t.len, 1115394);
    assert_int_equal(v.size, 65);
    assert_int_equal(v.cp[0], '\n');
    tg_char_vocab_free(&v);
    tg_text_free(&t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_plain_and_gzip), cmocka_unit_test(test_read_errors),
        cmocka_unit_test(test_vocab),               cmocka_unit_test(test_random_windows),
        cmocka_unit_test(test_tinyshakespeare),
    };
    return cmocka_run_group_tests(tests, tu_tmpdir_setup, tu_tmpdir_teardown);
}
