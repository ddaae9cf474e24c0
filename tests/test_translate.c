/* tests/test_translate.c — the pieces of examples/translate on small inputs:
 * teacher-forcing batches, a tiny model that learns toy pairs and decodes
 * them (cached greedy decoding = the argmax of the teacher-forced decoder
 * over its own output; beam width 1 = greedy), the split files, and the
 * labelled heat map. */
#define _POSIX_C_SOURCE 200809L
#include "tests/helpers/testutil.h"

#include "examples/translate/corpus.c"
#include "examples/translate/model.c"

static const char *const toy =
    "un chat .\ta cat .\n"
    "deux chats .\ttwo cats .\n"
    "un chien noir .\ta black dog .\n"
    "deux chiens noirs .\ttwo black dogs .\n"
    "un chat noir .\ta black cat .\n"
    "deux chiens .\ttwo dogs .\n";

typedef struct {
    tg_pairs p;
    tg_vocab src_v, tgt_v;
} toy_data;

static void toy_load(toy_data *d) {
    assert_int_equal(tg_pairs_parse_string("toy", toy, NULL, &d->p), TG_OK);
    const char **s = tr_sides(&d->p, 1), **t = tr_sides(&d->p, 0);
    tg_vocab_build_sentences(s, d->p.n, 1, &d->src_v);
    tg_vocab_build_sentences(t, d->p.n, 1, &d->tgt_v);
    free(s);
    free(t);
}

static void toy_free(toy_data *d) {
    tg_vocab_free(&d->src_v);
    tg_vocab_free(&d->tgt_v);
    tg_pairs_free(&d->p);
}

static void test_batch_shift(void **state) {
    (void)state;
    toy_data d;
    toy_load(&d);
    tr_batch b;
    tr_batch_alloc(&b, &d.p, 4);
    tr_batch_fill(&b, &d.p, (int64_t[]){0, 3}, 2, &d.src_v, &d.tgt_v);
    assert_int_equal(b.B, 2);
    assert_int_equal(b.Ls, 4);          /* "deux chiens noirs ." */
    assert_int_equal(b.Lt, 5);          /* "two black dogs ." + <eos> */
    assert_int_equal(b.n_tokens, 4 + 5);
    int32_t a = tg_vocab_word_id(&d.tgt_v, "a", 1), cat = tg_vocab_word_id(&d.tgt_v, "cat", 3),
            dot = tg_vocab_word_id(&d.tgt_v, ".", 1);
    const int32_t dec0[5] = {TG_VOCAB_BOS, a, cat, dot, TG_VOCAB_PAD};
    const int32_t tgt0[5] = {a, cat, dot, TG_VOCAB_EOS, TG_VOCAB_PAD};
    const uint8_t real0[5] = {1, 1, 1, 1, 0}, sreal0[4] = {1, 1, 1, 0};
    assert_memory_equal(b.dec_in, dec0, sizeof dec0);
    assert_memory_equal(b.target, tgt0, sizeof tgt0);
    assert_memory_equal(b.tgt_real, real0, sizeof real0);
    assert_memory_equal(b.src_real, sreal0, sizeof sreal0);
    assert_int_equal(b.src[3], TG_VOCAB_PAD);
    assert_int_equal(b.target[5 + 4], TG_VOCAB_EOS);
    tr_batch_free(&b);
    toy_free(&d);
}

static void test_learns_and_decodes(void **state) {
    (void)state;
    int saved = tg_get_num_threads();
    tg_set_num_threads(1);
    toy_data d;
    toy_load(&d);
    tr_config cfg = {.src_vocab = d.src_v.size, .tgt_vocab = d.tgt_v.size, .d_model = 32, .n_heads = 4,
                     .d_ff = 64, .n_enc = 1, .n_dec = 2, .dropout = 0.0f};
    tr_model m;
    tr_model_init(&m, &cfg, 7);
    tg_adam opt;
    tg_adamw_init(&opt, &m.ps, 3e-3f, 0.9f, 0.98f, 1e-9f, 0.0f);
    tg_tape *tp = tg_tape_new(0);
    tr_batch b;
    tr_batch_alloc(&b, &d.p, 6);
    int64_t all[6] = {0, 1, 2, 3, 4, 5};
    tr_batch_fill(&b, &d.p, all, 6, &d.src_v, &d.tgt_v);
    float loss0 = 0, loss = 0;
    for (int step = 0; step < 150; step++) {
        tg_tape_reset(tp);
        tg_params_zero_grad(&m.ps);
        tg_tensor *mem = tr_encode(tp, &m, b.src, b.src_real, b.B, b.Ls);
        tg_tensor *logits = tr_decode(tp, &m, mem, b.src_real, b.dec_in, b.tgt_real, b.B, b.Lt);
        tg_tensor *l = tg_cross_entropy_smoothed(tp, logits, b.target, TG_VOCAB_PAD, TG_SUM, 0.0f);
        loss = l->data[0] / (float)b.n_tokens;
        if (step == 0) loss0 = loss;
        assert_int_equal(tg_backward(tp, l), TG_OK);
        tg_adam_step(&opt);
    }
    printf("  toy pairs: loss/token %.4f -> %.4f\n", loss0, loss);
    assert_true(loss < 0.05f);

    /* cached greedy decoding of all six */
    enum { MAXL = 8 };
    tg_tape_set_grad(tp, 0);
    tg_tape_set_training(tp, 0);
    tg_tape_reset(tp);
    tg_tensor *mem = tr_encode(tp, &m, b.src, b.src_real, b.B, b.Ls);
    tr_stepper st;
    tr_stepper_init(&st, &m, tp, mem, b.src_real, 1, MAXL);
    tg_decoder dec = tr_stepper_decoder(&st);
    int32_t first[6], out[6 * MAXL];
    int out_len[6];
    for (int i = 0; i < 6; i++) first[i] = TG_VOCAB_BOS;
    tg_greedy_decode(tp, &dec, 6, first, TG_VOCAB_EOS, MAXL, out, out_len);
    tr_stepper_free(&st);
    for (int i = 0; i < 6; i++) {
        /* learned: the output is the reference, then <eos> */
        assert_int_equal(out_len[i], (int)tg_count_words(tg_pairs_tgt(&d.p, i)) + 1);
        assert_memory_equal(out + i * MAXL, b.target + i * b.Lt, (size_t)out_len[i] * sizeof *out);
    }
    /* beam width 1 = greedy, one sentence at a time */
    for (int i = 0; i < 6; i++) {
        tr_batch one;
        tr_batch_alloc(&one, &d.p, 1);
        tr_batch_fill(&one, &d.p, &all[i], 1, &d.src_v, &d.tgt_v);
        tg_tape_reset(tp);
        tg_tensor *m1 = tr_encode(tp, &m, one.src, one.src_real, 1, one.Ls);
        tr_stepper s1;
        tr_stepper_init(&s1, &m, tp, m1, one.src_real, 1, MAXL);
        tg_decoder d1 = tr_stepper_decoder(&s1);
        tg_beam_opts bo = {.beam_width = 1, .alpha = 0.6f, .max_len = MAXL, .eos = TG_VOCAB_EOS};
        int32_t bout[MAXL];
        int blen;
        tg_beam_search(tp, &d1, TG_VOCAB_BOS, &bo, bout, &blen, NULL, NULL);
        assert_int_equal(blen, out_len[i]);
        assert_memory_equal(bout, out + i * MAXL, (size_t)blen * sizeof *bout);
        tr_stepper_free(&s1);
        tr_batch_free(&one);
    }
    tr_batch_free(&b);
    tg_tape_free(tp);
    tg_adam_free(&opt);
    tr_model_free(&m);
    toy_free(&d);
    tg_set_num_threads(saved);
}

static void test_config_json(void **state) {
    (void)state;
    tr_config c = {.src_vocab = 50, .tgt_vocab = 40, .d_model = 32, .n_heads = 4, .d_ff = 64, .n_enc = 2,
                   .n_dec = 3, .dropout = 0.25f}, back;
    char *s = tr_config_to_json(&c);
    assert_int_equal(tr_config_from_json(s, &back), TG_OK);
    assert_memory_equal(&c, &back, sizeof c);
    free(s);
    assert_int_equal(tr_config_from_json("{\"src_vocab\": 5}", &back), TG_ERR_FORMAT);
    assert_string_equal(tg_last_error(), "model config: missing key 'tgt_vocab' (an integer in 5..1048576)");
    assert_int_equal(tr_config_from_json("nope", &back), TG_ERR_FORMAT);
}

static void test_heatmap_png(void **state) {
    (void)state;
    const double w[6] = {0.7, 0.2, 0.1, 0.05, 0.15, 0.8};
    const char *rows[] = {"a", "cat"}, *cols[] = {"un", "chat", "."};
    const char *path = tu_tmp_path("att.png");
    assert_int_equal(tg_plot_heatmap_labelled(path, w, 2, 3, rows, cols, "t", "x", "y"), TG_OK);
    size_t n;
    char *png = tu_slurp(path, &n);
    assert_true(n > 1000);
    assert_memory_equal(png, "\x89PNG\r\n\x1a\n", 8);
    free(png);
    /* a folder that does not exist: an error, nothing written */
    assert_int_equal(tg_plot_heatmap_labelled(tu_tmp_path("no/such/dir/att.png"), w, 2, 3, rows, cols, NULL,
                                              NULL, NULL),
                     TG_ERR_IO);
    assert_non_null(strstr(tg_last_error(), "att.png: cannot create temporary file"));
    assert_non_null(strstr(tg_last_error(), "No such file or directory"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_shift),
        cmocka_unit_test(test_learns_and_decodes),
        cmocka_unit_test(test_config_json),
        cmocka_unit_test(test_heatmap_png),
    };
    return cmocka_run_group_tests(tests, tu_tmpdir_setup, tu_tmpdir_teardown);
}
