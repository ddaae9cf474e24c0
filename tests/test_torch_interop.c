/* tests/test_torch_interop.c — tapegrad checkpoints in PyTorch and back,
 * proven on outputs and gradients (issue 12 item 5).
 *
 * Models: the POS tagger of examples/pos_tagger (its default layout, and
 * attention pooling with learned positions) and the encoder-decoder of
 * examples/translate.  For each, in both directions:
 *
 *   tapegrad -> torch   this test saves a checkpoint (random weights), runs it
 *                       on one batch and writes inputs, logits and every
 *                       parameter's gradient of loss = sum(logits * R);
 *                       tests/torch_interop.py converts the checkpoint with
 *                       scripts/tg2torch.py, loads it into the torch model
 *                       (load_state_dict strict) and compares;
 *   torch -> tapegrad   torch_interop.py makes a torch model, converts its
 *                       state_dict to a tapegrad checkpoint; this test reads
 *                       the config from its metadata, builds the model,
 *                       tg_checkpoint_load's it (strict) and writes the same
 *                       outputs; torch_interop.py compares them with torch's.
 *
 * Tolerance: max |Δ| / max |torch| ≤ 1e-5 per tensor.  Needs /usr/bin/python3
 * with torch (Debian python3-torch; TG_TORCH_PYTHON overrides the path):
 * SKIPPED when absent. */
#define _POSIX_C_SOURCE 200809L
#include "tests/helpers/testutil.h"

#include "examples/pos_tagger/corpus.c"
#include "examples/pos_tagger/model.c"
#include "examples/translate/model.c"
#include "train/checkpoint.h"

static const char *python(void) {
    const char *p = getenv("TG_TORCH_PYTHON");
    return p && *p ? p : "/usr/bin/python3";
}

static int have_torch(void) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s -c 'import torch' >/dev/null 2>&1", python());
    return system(cmd) == 0;
}

static int run_python(const char *what, const char *dir) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s tests/torch_interop.py %s %s", python(), what, dir);
    fflush(stdout);
    return system(cmd);
}

/* ---- the output file: named tensors written with the checkpoint writer -- */

static void put(tg_params *io, const char *name, int ndim, const int *shape, const float *v) {
    tg_tensor *t = tg_params_new(io, ndim, shape, "%s", name);
    memcpy(t->data, v, (size_t)t->size * sizeof(float)); /* before the next tg_params_new */
}

static void put_ints(tg_params *io, const char *name, int ndim, const int *shape,
                     const int32_t *v) {
    tg_tensor *t = tg_params_new(io, ndim, shape, "%s", name);
    for (int64_t i = 0; i < t->size; i++) t->data[i] = (float)v[i];
}

static void put_bytes(tg_params *io, const char *name, int ndim, const int *shape,
                      const uint8_t *v) {
    tg_tensor *t = tg_params_new(io, ndim, shape, "%s", name);
    for (int64_t i = 0; i < t->size; i++) t->data[i] = (float)v[i];
}

/* loss = Σ logits·R (R uniform in [−1, 1) from seed), backward; logits, R and
 * every gradient of ps into io; resets the gradients first. */
static tg_tensor *weighted_sum_backward(tg_tape *tp, tg_tensor *logits, tg_params *io, uint64_t seed) {
    tg_rng rng;
    tg_rng_seed(&rng, seed);
    tg_tensor *r = tg_tape_tensor(tp, logits->ndim, logits->shape);
    for (int64_t i = 0; i < r->size; i++) r->data[i] = 2.0f * tg_rng_uniform(&rng) - 1.0f;
    assert_int_equal(tg_backward(tp, tg_sum(tp, tg_mul(tp, logits, r))), TG_OK);
    put(io, "in.R", r->ndim, r->shape, r->data);
    put(io, "out.logits", logits->ndim, logits->shape, logits->data);
    return logits;
}

static void put_grads(tg_params *io, const tg_params *ps) {
    for (int i = 0; i < ps->n; i++) {
        char name[TG_PARAM_NAME_MAX + 8];
        snprintf(name, sizeof name, "grad.%s", ps->t[i]->name);
        put(io, name, ps->t[i]->ndim, ps->t[i]->shape, ps->t[i]->grad);
    }
}

static void save_io(tg_params *io, const char *file) {
    assert_int_equal(tg_checkpoint_save(tu_tmp_path(file), io, NULL), TG_OK);
    tg_params_free(io);
}

/* Biases and LayerNorm affine moved off their inits (0, 1), so that every
 * term of the forward and backward is exercised. */
static void perturb_vectors(tg_params *ps, uint64_t seed) {
    tg_rng rng;
    tg_rng_seed(&rng, seed);
    for (int i = 0; i < ps->n; i++)
        if (ps->t[i]->ndim == 1)
            for (int64_t j = 0; j < ps->t[i]->size; j++)
                ps->t[i]->data[j] += tg_rng_uniform(&rng) - 0.5f;
}

static void save_model(const char *file, const char *model, const char *config, tg_params *ps) {
    tg_checkpoint_extra ex = {0};
    tg_checkpoint_meta_set(&ex, "model", model);
    tg_checkpoint_meta_set(&ex, "config", config);
    assert_int_equal(tg_checkpoint_save(tu_tmp_path(file), ps, &ex), TG_OK);
    tg_checkpoint_extra_free(&ex);
}

static char *read_config(const char *file) {
    char *config = NULL;
    if (tg_checkpoint_read_metadata(tu_tmp_path(file), "config", &config) != TG_OK)
        fail_msg("%s", tg_last_error());
    return config;
}

/* ---- the POS tagger ------------------------------------------------------ */

/* Sentences of lengths 6, 3, 1, 5 and 2: one batch with padding; forms from
 * 1 to 11 characters, repeated forms, digits and capitals. */
static const char *const corpus =
    "1\tThe\t_\tDET\t_\t_\t_\t_\t_\t_\n2\tdog\t_\tNOUN\t_\t_\t_\t_\t_\t_\n3\tsaw\t_\tVERB\t_\t_\t_\t_\t_\t_\n"
    "4\ta\t_\tDET\t_\t_\t_\t_\t_\t_\n5\tsaw\t_\tNOUN\t_\t_\t_\t_\t_\t_\n6\t.\t_\tPUNCT\t_\t_\t_\t_\t_\t_\n\n"
    "1\tWe\t_\tPRON\t_\t_\t_\t_\t_\t_\n2\tbark\t_\tVERB\t_\t_\t_\t_\t_\t_\n3\tquickly\t_\tADV\t_\t_\t_\t_\t_\t_\n\n"
    "1\tHello\t_\tINTJ\t_\t_\t_\t_\t_\t_\n\n"
    "1\tIn\t_\tADP\t_\t_\t_\t_\t_\t_\n2\t1984\t_\tNUM\t_\t_\t_\t_\t_\t_\n3\tdogs\t_\tNOUN\t_\t_\t_\t_\t_\t_\n"
    "4\tbarked\t_\tVERB\t_\t_\t_\t_\t_\t_\n5\tcontinually\t_\tADV\t_\t_\t_\t_\t_\t_\n\n"
    "1\tThe\t_\tDET\t_\t_\t_\t_\t_\t_\n2\tend\t_\tNOUN\t_\t_\t_\t_\t_\t_\n\n";

typedef struct {
    tg_conllu c;
    tg_vocab words, chars;
    pos_batches b;
} pos_data;

static void pos_data_load(pos_data *d) {
    assert_int_equal(tg_conllu_parse_string("interop", corpus, 0, &d->c), TG_OK);
    tg_vocab_build_words(&d->c, 1, 0, &d->words);
    tg_vocab_build_chars(&d->c, 1, &d->chars);
    pos_batches_make(&d->b, &d->c, &d->words, &d->chars, 8); /* all 5 sentences in one batch */
    assert_int_equal(d->b.n_batches, 1);
}

static void pos_data_free(pos_data *d) {
    pos_batches_free(&d->b);
    tg_vocab_free(&d->words);
    tg_vocab_free(&d->chars);
    tg_conllu_free(&d->c);
}

static void pos_run(pos_model *m, const pos_batch *b, const char *out_file) {
    tg_tape *tp = tg_tape_new(0);
    tg_tape_set_training(tp, 0); /* no dropout; gradients still recorded */
    tg_params_zero_grad(&m->ps);
    tg_params io;
    tg_params_init(&io);
    const int NT = b->n_types;
    put_ints(&io, "in.word_ids", TG_SHAPE(b->B, b->T), b->word_ids);
    put_bytes(&io, "in.key_padding", TG_SHAPE(b->B, b->T), b->key_padding);
    put_ints(&io, "in.type_chars", TG_SHAPE(NT, POS_LC), b->type_chars);
    put(&io, "in.type_mask", TG_SHAPE(NT, POS_LW), b->type_mask);
    put_ints(&io, "in.type_ids", TG_SHAPE(b->B, b->T), b->type_ids);
    weighted_sum_backward(tp, pos_model_forward(tp, m, b), &io, 99);
    put_grads(&io, &m->ps);
    save_io(&io, out_file);
    tg_tape_free(tp);
}

static const char *const pos_names[2] = {"pos", "pos_attn"};

static void pos_config_for(int variant, const pos_data *d, pos_config *cfg) {
    *cfg = (pos_config){.word_vocab = d->words.size, .char_vocab = d->chars.size, .d_word = 12,
                        .d_char = 8, .n_filters = 16, .d_model = 32, .n_layers = 2, .n_heads = 4,
                        .d_ff = 48, .char_pool = variant == 0, .learned_pos = variant == 1,
                        .max_len = 16, .emb_std = 1.0f, .dropout = 0.0f, .word_dropout = 0.0f};
}

/* tapegrad side of "tapegrad -> torch": <name>_tg.safetensors, <name>_tg_out. */
static void pos_export(int variant, const pos_data *d) {
    pos_config cfg;
    pos_config_for(variant, d, &cfg);
    pos_model m;
    pos_model_init(&m, &cfg, 7 + variant);
    perturb_vectors(&m.ps, 11 + variant);
    char *json = pos_config_to_json(&cfg), file[64];
    snprintf(file, sizeof file, "%s_tg.safetensors", pos_names[variant]);
    save_model(file, "pos_tagger", json, &m.ps);
    free(json);
    snprintf(file, sizeof file, "%s_tg_out.safetensors", pos_names[variant]);
    pos_run(&m, &d->b.batches[0], file);
    pos_model_free(&m);
}

/* tapegrad side of "torch -> tapegrad": load <name>_torch.safetensors. */
static void pos_import(int variant, const pos_data *d) {
    char file[64];
    snprintf(file, sizeof file, "%s_torch.safetensors", pos_names[variant]);
    char *json = read_config(file);
    pos_config cfg;
    assert_int_equal(pos_config_from_json(json, &cfg), TG_OK);
    free(json);
    pos_model m;
    pos_model_init(&m, &cfg, 1);
    if (tg_checkpoint_load(tu_tmp_path(file), &m.ps, NULL) != TG_OK) fail_msg("%s", tg_last_error());
    snprintf(file, sizeof file, "%s_torch_out.safetensors", pos_names[variant]);
    pos_run(&m, &d->b.batches[0], file);
    pos_model_free(&m);
}

/* ---- the translation model ----------------------------------------------- */

enum { TR_B = 3, TR_LS = 6, TR_LT = 5 };

static const tr_config tr_cfg = {.src_vocab = 23, .tgt_vocab = 19, .d_model = 32, .n_heads = 4,
                                 .d_ff = 48, .n_enc = 2, .n_dec = 2, .dropout = 0.0f};

static void tr_run(tr_model *m, const char *out_file) {
    static const int src_len[TR_B] = {6, 4, 2}, tgt_len[TR_B] = {5, 3, 1};
    int32_t src[TR_B * TR_LS], dec_in[TR_B * TR_LT];
    uint8_t src_real[TR_B * TR_LS], tgt_real[TR_B * TR_LT];
    tg_rng rng;
    tg_rng_seed(&rng, 5);
    for (int b = 0; b < TR_B; b++) {
        for (int t = 0; t < TR_LS; t++) {
            src_real[b * TR_LS + t] = t < src_len[b];
            src[b * TR_LS + t] = t < src_len[b] ? 4 + (int)(tg_rng_uniform(&rng) * (m->cfg.src_vocab - 4)) : 0;
        }
        for (int t = 0; t < TR_LT; t++) {
            tgt_real[b * TR_LT + t] = t < tgt_len[b];
            dec_in[b * TR_LT + t] = t == 0 ? 2 /* <bos> */
                                    : t < tgt_len[b] ? 4 + (int)(tg_rng_uniform(&rng) * (m->cfg.tgt_vocab - 4))
                                                     : 0;
        }
    }
    tg_tape *tp = tg_tape_new(0);
    tg_tape_set_training(tp, 0);
    tg_params_zero_grad(&m->ps);
    tg_params io;
    tg_params_init(&io);
    put_ints(&io, "in.src", TG_SHAPE(TR_B, TR_LS), src);
    put_bytes(&io, "in.src_real", TG_SHAPE(TR_B, TR_LS), src_real);
    put_ints(&io, "in.dec_in", TG_SHAPE(TR_B, TR_LT), dec_in);
    put_bytes(&io, "in.tgt_real", TG_SHAPE(TR_B, TR_LT), tgt_real);
    tg_tensor *memory = tr_encode(tp, m, src, src_real, TR_B, TR_LS);
    weighted_sum_backward(tp, tr_decode(tp, m, memory, src_real, dec_in, tgt_real, TR_B, TR_LT), &io, 98);
    put_grads(&io, &m->ps);
    save_io(&io, out_file);
    tg_tape_free(tp);
}

static void tr_export(void) {
    tr_model m;
    tr_model_init(&m, &tr_cfg, 21);
    perturb_vectors(&m.ps, 22);
    char *json = tr_config_to_json(&tr_cfg);
    save_model("tr_tg.safetensors", "translate", json, &m.ps);
    free(json);
    tr_run(&m, "tr_tg_out.safetensors");
    tr_model_free(&m);
}

static void tr_import(void) {
    char *json = read_config("tr_torch.safetensors");
    tr_config cfg;
    assert_int_equal(tr_config_from_json(json, &cfg), TG_OK);
    free(json);
    tr_model m;
    tr_model_init(&m, &cfg, 1);
    if (tg_checkpoint_load(tu_tmp_path("tr_torch.safetensors"), &m.ps, NULL) != TG_OK)
        fail_msg("%s", tg_last_error());
    tr_run(&m, "tr_torch_out.safetensors");
    tr_model_free(&m);
}

/* ---- the test ------------------------------------------------------------ */

static void test_torch_interop(void **state) {
    (void)state;
    if (!have_torch()) {
        printf("SKIPPED: torch interop: %s cannot import torch (Debian: apt-get install python3-torch)\n",
               python());
        skip();
    }
    pos_data d;
    pos_data_load(&d);
    for (int v = 0; v < 2; v++) pos_export(v, &d);
    tr_export();
    assert_int_equal(run_python("make", tu_tmpdir()), 0);
    for (int v = 0; v < 2; v++) pos_import(v, &d);
    tr_import();
    assert_int_equal(run_python("check", tu_tmpdir()), 0);
    pos_data_free(&d);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_torch_interop)};
    return cmocka_run_group_tests(tests, tu_tmpdir_setup, tu_tmpdir_teardown);
}
