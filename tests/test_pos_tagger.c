/* tests/test_pos_tagger.c — the tagger of examples/pos_tagger end to end on
 * small inputs made here: it fits a toy treebank, its `tag` output is read
 * back by the CoNLL-U reader, its checkpoint round-trips. */
#define _POSIX_C_SOURCE 200809L
#include "tests/helpers/testutil.h"

#include "examples/pos_tagger/corpus.c"
#include "examples/pos_tagger/model.c"
#include "optim/optim.h"
#include "train/checkpoint.h"

/* "saw" is a VERB after a pronoun and a NOUN after a determiner: only the
 * context tells them apart. */
static const char *const toy =
    "1\tI\t_\tPRON\t_\t_\t_\t_\t_\t_\n2\tsaw\t_\tVERB\t_\t_\t_\t_\t_\t_\n3\ta\t_\tDET\t_\t_\t_\t_\t_\t_\n"
    "4\tsaw\t_\tNOUN\t_\t_\t_\t_\t_\t_\n5\t.\t_\tPUNCT\t_\t_\t_\t_\t_\t_\n\n"
    "1\tThe\t_\tDET\t_\t_\t_\t_\t_\t_\n2\tsaw\t_\tNOUN\t_\t_\t_\t_\t_\t_\n3\tis\t_\tAUX\t_\t_\t_\t_\t_\t_\n"
    "4\tsharp\t_\tADJ\t_\t_\t_\t_\t_\t_\n5\t.\t_\tPUNCT\t_\t_\t_\t_\t_\t_\n\n"
    "1\tWe\t_\tPRON\t_\t_\t_\t_\t_\t_\n2\tsaw\t_\tVERB\t_\t_\t_\t_\t_\t_\n3\tthe\t_\tDET\t_\t_\t_\t_\t_\t_\n"
    "4\tdog\t_\tNOUN\t_\t_\t_\t_\t_\t_\n5\tquickly\t_\tADV\t_\t_\t_\t_\t_\t_\n6\t!\t_\tPUNCT\t_\t_\t_\t_\t_\t_\n\n"
    "1\tdogs\t_\tNOUN\t_\t_\t_\t_\t_\t_\n2\tbark\t_\tVERB\t_\t_\t_\t_\t_\t_\n\n";

static const pos_config small_cfg = {.d_word = 16, .d_char = 8, .n_filters = 16, .d_model = 32,
                                     .n_layers = 1, .n_heads = 2, .d_ff = 32, .learned_pos = 0,
                                     .max_len = 64, .emb_std = 1.0f, .dropout = 0.0f,
                                     .word_dropout = 0.0f};

typedef struct {
    tg_conllu c;
    tg_vocab words, chars;
    pos_batches b;
} toy_data;

static void toy_load(toy_data *d) {
    assert_int_equal(tg_conllu_parse_string("toy", toy, 0, &d->c), TG_OK);
    tg_vocab_build_words(&d->c, 1, 0, &d->words);
    tg_vocab_build_chars(&d->c, 1, &d->chars);
    pos_batches_make(&d->b, &d->c, &d->words, &d->chars, 3); /* two batches, padded */
}

static void toy_free(toy_data *d) {
    pos_batches_free(&d->b);
    tg_vocab_free(&d->words);
    tg_vocab_free(&d->chars);
    tg_conllu_free(&d->c);
}

static void train_toy(pos_model *m, toy_data *d, int steps) {
    tg_adam opt;
    tg_adam_init(&opt, &m->ps, 3e-3f, 0.9f, 0.999f, 1e-8f, 0.0f);
    tg_tape *tp = tg_tape_new(0);
    for (int s = 0; s < steps; s++) {
        const pos_batch *b = &d->b.batches[s % d->b.n_batches];
        tg_tape_reset(tp);
        tg_params_zero_grad(&m->ps);
        tg_tensor *loss = tg_cross_entropy(tp, pos_model_forward(tp, m, b), b->targets, -1, TG_SUM);
        assert_int_equal(tg_backward(tp, loss), TG_OK);
        tg_adam_step(&opt);
    }
    tg_tape_free(tp);
    tg_adam_free(&opt);
}

static void test_batches_pad_and_share_types(void **state) {
    (void)state;
    toy_data d;
    toy_load(&d);
    assert_int_equal(d.b.n_batches, 2);
    const pos_batch *b = &d.b.batches[0]; /* the three shortest sentences: lengths 2, 5, 5 */
    assert_int_equal(b->B, 3);
    assert_int_equal(b->T, 5);
    assert_int_equal(b->n_words, 12);
    assert_int_equal(b->key_padding[2], 0);  /* "dogs bark" padded after 2 words */
    assert_int_equal(b->targets[2], -1);
    /* "saw" occurs twice in the batch and is one type */
    assert_int_equal(b->type_ids[5 + 1], b->type_ids[5 + 3]);
    assert_true(b->n_types < b->n_words);
    toy_free(&d);
}

static void test_fits_toy_treebank_and_uses_context(void **state) {
    (void)state;
    toy_data d;
    toy_load(&d);
    pos_config cfg = small_cfg;
    cfg.word_vocab = d.words.size;
    cfg.char_vocab = d.chars.size;
    pos_model m;
    pos_model_init(&m, &cfg, 3);
    train_toy(&m, &d, 150);
    int8_t pred[64];
    tg_tape *tp = tg_tape_new(0);
    pos_model_predict(&m, tp, &d.b, &d.c, pred);
    for (int64_t w = 0; w < d.c.n_words; w++) assert_int_equal(pred[w], d.c.upos[w]);
    assert_int_equal(pred[1], TG_UPOS_VERB); /* I saw */
    assert_int_equal(pred[3], TG_UPOS_NOUN); /* a saw */
    tg_tape_free(tp);
    pos_model_free(&m);
    toy_free(&d);
}

/* --chars 0 --learned-pos 1: the W5 model (words and positions only) has
 * no character parameters, fits the toy treebank, and pos_model_accuracy
 * (tg_count_correct) agrees with pos_model_predict. */
static void test_words_only_model(void **state) {
    (void)state;
    toy_data d;
    toy_load(&d);
    pos_config cfg = small_cfg;
    cfg.words_only = 1;
    cfg.learned_pos = 1;
    cfg.d_word = cfg.d_model;
    cfg.word_vocab = d.words.size;
    cfg.char_vocab = d.chars.size;
    pos_model m;
    pos_model_init(&m, &cfg, 3);
    assert_null(tg_params_find(&m.ps, "char_emb.weight"));
    assert_null(tg_params_find(&m.ps, "proj.weight"));
    assert_non_null(tg_params_find(&m.ps, "pos_emb.weight"));
    train_toy(&m, &d, 150);
    int8_t pred[64];
    tg_tape *tp = tg_tape_new(0);
    pos_model_predict(&m, tp, &d.b, &d.c, pred);
    int64_t right = 0;
    for (int64_t w = 0; w < d.c.n_words; w++) right += pred[w] == d.c.upos[w];
    assert_int_equal(right, d.c.n_words);
    assert_true(pos_model_accuracy(&m, tp, &d.b) == 1.0);
    char *js = pos_config_to_json(&m.cfg);
    pos_config back;
    assert_int_equal(pos_config_from_json(js, &back), TG_OK);
    assert_int_equal(back.words_only, 1);
    free(js);
    /* a checkpoint written before words_only existed has the character view */
    assert_int_equal(pos_config_from_json("{\"word_vocab\":9,\"char_vocab\":9,\"d_word\":8,\"d_char\":8,"
                                          "\"n_filters\":8,\"d_model\":8,\"n_layers\":1,\"n_heads\":1,"
                                          "\"d_ff\":8,\"char_pool\":1,\"learned_pos\":0,\"max_len\":8,"
                                          "\"emb_std\":0.1,\"dropout\":0,\"word_dropout\":0}", &back),
                     TG_OK);
    assert_int_equal(back.words_only, 0);
    tg_tape_free(tp);
    pos_model_free(&m);
    toy_free(&d);
}

/* Character convolutions of widths 1..4 side by side, with max-pooling and
 * with attention pooling: one conv per width (named by its width), the
 * projection sized for all of them, the toy treebank fitted; a width wider
 * than a form (a one-letter word, 3 ids with <bow>, <eow>) keeps one window.
 * A config written before the widths existed means width POS_KW only. */
static void test_several_char_widths(void **state) {
    (void)state;
    toy_data d;
    toy_load(&d);
    for (int pool = 0; pool <= 1; pool++) {
        pos_config cfg = small_cfg;
        cfg.char_pool = pool;
        cfg.char_kw_min = 1;
        cfg.char_kw_max = 4;
        cfg.word_vocab = d.words.size;
        cfg.char_vocab = d.chars.size;
        assert_int_equal(pos_config_check(&cfg), TG_OK);
        pos_model m;
        pos_model_init(&m, &cfg, 3);
        assert_null(tg_params_find(&m.ps, "char_conv.weight"));
        for (int k = 1; k <= 4; k++) {
            char name[32];
            snprintf(name, sizeof name, "char_conv%d.weight", k);
            tg_tensor *w = tg_params_find(&m.ps, name);
            assert_non_null(w);
            assert_int_equal(w->shape[1], k * cfg.d_char);
            snprintf(name, sizeof name, "char_score%d.weight", k);
            assert_true((tg_params_find(&m.ps, name) != NULL) == !pool);
        }
        assert_int_equal(tg_params_find(&m.ps, "proj.weight")->shape[1], cfg.d_word + 4 * cfg.n_filters);
        train_toy(&m, &d, 150);
        tg_tape *tp = tg_tape_new(0);
        assert_true(pos_model_accuracy(&m, tp, &d.b) == 1.0);
        tg_tape_free(tp);
        pos_model_free(&m);
    }
    pos_config c = small_cfg, back;
    c.word_vocab = c.char_vocab = 9;
    c.char_kw_min = 3;
    c.char_kw_max = 2;
    assert_int_equal(pos_config_check(&c), TG_ERR_ARG);
    assert_non_null(strstr(tg_last_error(), "widths 3..2"));
    c.char_kw_min = 0;
    c.char_kw_max = 4;
    assert_int_equal(pos_config_check(&c), TG_ERR_ARG);
    c.char_kw_min = 1;
    c.char_kw_max = POS_MAX_KW + 1;
    assert_int_equal(pos_config_check(&c), TG_ERR_ARG);
    assert_int_equal(pos_config_from_json("{\"word_vocab\":9,\"char_vocab\":9,\"d_word\":8,\"d_char\":8,"
                                          "\"n_filters\":8,\"d_model\":8,\"n_layers\":1,\"n_heads\":1,"
                                          "\"d_ff\":8,\"char_pool\":1,\"learned_pos\":0,\"max_len\":8,"
                                          "\"emb_std\":0.1,\"dropout\":0,\"word_dropout\":0}", &back),
                     TG_OK);
    int lo, hi;
    assert_int_equal(pos_config_char_widths(&back, &lo, &hi), 1);
    assert_int_equal(lo, POS_KW);
    assert_int_equal(hi, POS_KW);
    toy_free(&d);
}

static void test_tag_output_reads_back(void **state) {
    (void)state;
    toy_data d;
    toy_load(&d);
    pos_config cfg = small_cfg;
    cfg.word_vocab = d.words.size;
    cfg.char_vocab = d.chars.size;
    pos_model m;
    pos_model_init(&m, &cfg, 5);
    tg_conllu raw;
    assert_int_equal(tg_conllu_parse_tokens("<stdin>", "I saw a saw .\nunseen wörds here\n", &raw), TG_OK);
    pos_batches rb;
    pos_batches_make(&rb, &raw, &d.words, &d.chars, 64);
    int8_t pred[16];
    tg_tape *tp = tg_tape_new(0);
    pos_model_predict(&m, tp, &rb, &raw, pred);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_int_equal(tg_conllu_write(f, "<memory>", &raw, pred), TG_OK);
    fclose(f);
    tg_conllu back;
    assert_int_equal(tg_conllu_parse_string("<memory>", buf, 0, &back), TG_OK);
    assert_int_equal(back.n_sents, 2);
    assert_int_equal(back.n_words, raw.n_words);
    for (int64_t w = 0; w < back.n_words; w++) {
        assert_string_equal(tg_conllu_form(&back, w), tg_conllu_form(&raw, w));
        assert_int_equal(back.upos[w], pred[w]);
    }
    free(buf);
    tg_conllu_free(&back);
    pos_batches_free(&rb);
    tg_conllu_free(&raw);
    tg_tape_free(tp);
    pos_model_free(&m);
    toy_free(&d);
}

static void test_config_json_round_trip_and_errors(void **state) {
    (void)state;
    pos_config a = small_cfg, b;
    a.word_vocab = 123;
    a.char_vocab = 45;
    char *s = pos_config_to_json(&a);
    assert_int_equal(pos_config_from_json(s, &b), TG_OK);
    assert_memory_equal(&a, &b, sizeof a);
    free(s);
    assert_int_equal(pos_config_from_json("{\"d_word\": 3", &b), TG_ERR_FORMAT);
    assert_int_equal(pos_config_from_json("{\"d_word\": 3}", &b), TG_ERR_FORMAT);
    assert_non_null(strstr(tg_last_error(), "missing key 'word_vocab'"));
}

/* On the real treebank (when `make data` has placed it): a short run of
 * 400 Adam steps (1 epoch) must beat the most-frequent-tag baseline (86.1%
 * on dev) — the whole path (reader, vocabularies, batches,
 * model, loss, optimizer, prediction) on real data. */
static void test_real_ewt_short_run(void **state) {
    (void)state;
    const char *train = "data/ud_english_ewt/en_ewt-ud-train.conllu.gz";
    const char *dev = "data/ud_english_ewt/en_ewt-ud-dev.conllu.gz";
    FILE *f = fopen(train, "rb");
    if (!f) {
        printf("  %s not found (run `make data`): skipped\n", train);
        skip();
    }
    fclose(f);
    tg_conllu tc, dc;
    assert_int_equal(tg_conllu_read(train, 0, &tc), TG_OK);
    assert_int_equal(tg_conllu_read(dev, 0, &dc), TG_OK);
    tg_vocab words, chars;
    tg_vocab_build_words(&tc, 2, 0, &words);
    tg_vocab_build_chars(&tc, 1, &chars);
    pos_batches tb, db;
    pos_batches_make(&tb, &tc, &words, &chars, 32);
    pos_batches_make(&db, &dc, &words, &chars, 64);
    pos_config cfg = {.word_vocab = words.size, .char_vocab = chars.size, .d_word = 64, .d_char = 32,
                      .n_filters = 64, .d_model = 64, .n_layers = 1, .n_heads = 2, .d_ff = 128,
                      .char_pool = 1, .max_len = 512, .emb_std = 0.1f, .dropout = 0.1f,
                      .word_dropout = 0.1f};
    pos_model m;
    pos_model_init(&m, &cfg, 11);
    tg_adam opt;
    tg_adam_init(&opt, &m.ps, 3e-3f, 0.9f, 0.999f, 1e-8f, 0.0f);
    tg_tape *tp = tg_tape_new(0);
    tg_rng rng;
    tg_rng_seed(&rng, 12);
    for (int s = 0; s < 400; s++) {
        const pos_batch *b = &tb.batches[tg_rng_below(&rng, (uint32_t)tb.n_batches)];
        tg_tape_reset(tp);
        tg_params_zero_grad(&m.ps);
        tg_tensor *loss = tg_cross_entropy(tp, pos_model_forward(tp, &m, b), b->targets, -1, TG_SUM);
        assert_int_equal(tg_backward(tp, loss), TG_OK);
        tg_adam_step(&opt);
    }
    int8_t *pred = malloc((size_t)dc.n_words);
    pos_model_predict(&m, tp, &db, &dc, pred);
    int64_t ok = 0;
    for (int64_t w = 0; w < dc.n_words; w++) ok += pred[w] == dc.upos[w];
    double acc = (double)ok / (double)dc.n_words;
    printf("  400 steps on en_ewt train: dev UPOS accuracy %.2f%%\n", 100 * acc);
    assert_true(acc > 0.865); /* measured 87.18% */
    free(pred);
    tg_tape_free(tp);
    tg_adam_free(&opt);
    pos_model_free(&m);
    pos_batches_free(&tb);
    pos_batches_free(&db);
    tg_vocab_free(&words);
    tg_vocab_free(&chars);
    tg_conllu_free(&tc);
    tg_conllu_free(&dc);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batches_pad_and_share_types),
        cmocka_unit_test(test_fits_toy_treebank_and_uses_context),
        cmocka_unit_test(test_words_only_model),
        cmocka_unit_test(test_several_char_widths),
        cmocka_unit_test(test_tag_output_reads_back),
        cmocka_unit_test(test_config_json_round_trip_and_errors),
        cmocka_unit_test(test_real_ewt_short_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
