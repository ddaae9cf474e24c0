/* tests/test_checkpoint.c — safetensors checkpoints: round trip, layout,
 * metadata, bit-identical resume, malformed files (model left unchanged),
 * atomic save. */
#define _POSIX_C_SOURCE 200809L
#include "helpers/testutil.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "core/params.h"
#include "optim/optim.h"
#include "train/checkpoint.h"

static void write_raw(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

/* A safetensors file from a header string (padded to 8) and data bytes. */
static void write_st(const char *path, const char *header, const void *data, size_t n) {
    size_t hl = strlen(header), padded = (hl + 7) & ~(size_t)7;
    unsigned char *b = calloc(8 + padded + n + 1, 1);
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    memcpy(b + 8, header, hl);
    memset(b + 8 + hl, ' ', padded - hl);
    if (n) memcpy(b + 8 + padded, data, n);
    write_raw(path, b, 8 + padded + n);
    free(b);
}

/* ---- a small model with PyTorch-style names ------------------------------ */

typedef struct {
    tg_params ps;
    tg_tensor *wq, *bq, *w2;
} small_model;

static void small_init(small_model *m, uint64_t seed) {
    tg_params_init(&m->ps);
    m->wq = tg_params_new(&m->ps, TG_SHAPE(64, 32), "encoder.layers.0.attn.w_q.weight");
    m->bq = tg_params_new(&m->ps, TG_SHAPE(64), "encoder.layers.0.attn.w_q.bias");
    m->w2 = tg_params_new(&m->ps, TG_SHAPE(3, 2, 5), "head.weight");
    tg_rng r;
    tg_rng_seed(&r, seed);
    for (int64_t i = 0; i < m->ps.total; i++) m->ps.data[i] = tg_rng_normal(&r);
}

/* Snapshot of the whole block, to check that a failed load changed nothing. */
typedef struct {
    float *data;
    int64_t n;
} snap;

static snap take(const tg_params *ps) {
    snap s = {malloc((size_t)ps->total * sizeof(float)), ps->total};
    memcpy(s.data, ps->data, (size_t)ps->total * sizeof(float));
    return s;
}

static void expect_same(const snap *s, const tg_params *ps) {
    assert_int_equal(s->n, ps->total);
    assert_memory_equal(s->data, ps->data, (size_t)s->n * sizeof(float));
}

/* Loads path into a model and expects failure with status st, a message
 * containing every one of the NULL-terminated snippets, and the model (and
 * its Adam state) unchanged. */
static void expect_load_fails(const char *path, tg_status st, const char *const *snippets) {
    small_model m;
    small_init(&m, 99);
    tg_adam opt;
    tg_adam_init(&opt, &m.ps, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.0f);
    opt.m[5] = 1.5f, opt.v[7] = 2.5f, opt.t = 4;
    snap s = take(&m.ps);
    tg_rng rng;
    tg_rng_seed(&rng, 3);
    tg_rng rng0 = rng;
    tg_checkpoint_extra ex = {0};
    tg_checkpoint_meta_set(&ex, "keep", "me");
    ex.step = 77;
    tg_status got = tg_checkpoint_load(path, &m.ps, &ex);
    if (got != st) print_error("%s: status %d, want %d; message: %s\n", path, got, st, tg_last_error());
    assert_int_equal(got, st);
    for (int i = 0; snippets[i]; i++)
        if (!strstr(tg_last_error(), snippets[i]))
            fail_msg("message \"%s\" lacks \"%s\"", tg_last_error(), snippets[i]);
    expect_same(&s, &m.ps);
    assert_true(opt.m[5] == 1.5f && opt.v[7] == 2.5f && opt.t == 4);
    assert_memory_equal(&rng, &rng0, sizeof rng);
    assert_int_equal(ex.step, 77);
    assert_string_equal(tg_checkpoint_meta_get(&ex, "keep"), "me");
    /* the same with the optimizer and rng requested */
    ex.adam = &opt;
    ex.rng[0] = &rng;
    got = tg_checkpoint_load(path, &m.ps, &ex);
    assert_true(got < 0);
    expect_same(&s, &m.ps);
    assert_true(opt.m[5] == 1.5f && opt.v[7] == 2.5f && opt.t == 4);
    assert_memory_equal(&rng, &rng0, sizeof rng);
    tg_checkpoint_extra_free(&ex);
    tg_adam_free(&opt);
    free(s.data);
    tg_params_free(&m.ps);
}

#define SNIPS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* ---- round trip and layout ---------------------------------------------- */

static void test_roundtrip_and_layout(void **state) {
    (void)state;
    const char *path = tu_tmp_path("rt.safetensors");
    small_model a, b;
    small_init(&a, 1);
    small_init(&b, 2);
    /* a ~1 MB metadata value with every kind of character */
    size_t vl = 1 << 20;
    char *vocab = malloc(vl + 1);
    const char *pieces[] = {"word\t", "zürich\n", "\"q\"", "\\", "\x01", "日本 "};
    size_t k = 0;
    for (int i = 0; k + 16 < vl; i++) {
        size_t pl = strlen(pieces[i % 6]);
        memcpy(vocab + k, pieces[i % 6], pl);
        k += pl;
    }
    vocab[k] = '\0';
    tg_rng rng, rng2;
    tg_rng_seed(&rng, 42);
    for (int i = 0; i < 5; i++) tg_rng_u32(&rng);
    tg_checkpoint_extra ex = {0};
    tg_checkpoint_meta_set(&ex, "config", "{\"d_model\": 32}");
    tg_checkpoint_meta_set(&ex, "vocab", vocab);
    ex.step = 1234567890123LL;
    ex.epoch = 7;
    ex.rng[1] = &rng;
    assert_int_equal(tg_checkpoint_save(path, &a.ps, &ex), TG_OK);
    tg_checkpoint_extra_free(&ex);

    /* layout: u64 N, N % 8 == 0, JSON object, data right after, F32 LE */
    size_t n;
    unsigned char *f = (unsigned char *)tu_slurp(path, &n);
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--) hl = (hl << 8) | f[i];
    assert_int_equal(hl % 8, 0);
    assert_int_equal(f[8], '{');
    size_t params_bytes = (64 * 32 + 64 + 30) * sizeof(float);
    assert_int_equal(n, 8 + hl + params_bytes);
    assert_memory_equal(f + 8 + hl, a.wq->data, 64 * 32 * sizeof(float));
    assert_non_null(strstr((char *)f + 8, "\"encoder.layers.0.attn.w_q.weight\":{\"dtype\":\"F32\",\"shape\":[64,32],\"data_offsets\":[0,8192]}"));
    assert_non_null(strstr((char *)f + 8, "\"head.weight\":{\"dtype\":\"F32\",\"shape\":[3,2,5],\"data_offsets\":[8448,8568]}"));
    free(f);
    /* no temporary file left */
    assert_int_not_equal(access(tu_tmp_path("rt.safetensors.tmp"), F_OK), 0);

    tg_checkpoint_extra in = {0};
    tg_rng_seed(&rng2, 0);
    in.rng[1] = &rng2;
    assert_int_equal(tg_checkpoint_load(path, &b.ps, &in), TG_OK);
    assert_memory_equal(a.ps.data, b.ps.data, (size_t)a.ps.total * sizeof(float));
    assert_memory_equal(&rng, &rng2, sizeof rng);
    assert_true(in.step == 1234567890123LL && in.epoch == 7);
    assert_int_equal(in.n_meta, 2); /* reserved tapegrad.* keys are not returned */
    assert_string_equal(tg_checkpoint_meta_get(&in, "config"), "{\"d_model\": 32}");
    assert_string_equal(tg_checkpoint_meta_get(&in, "vocab"), vocab);
    tg_checkpoint_extra_free(&in);

    char *cfg = NULL;
    assert_int_equal(tg_checkpoint_read_metadata(path, "config", &cfg), TG_OK);
    assert_string_equal(cfg, "{\"d_model\": 32}");
    free(cfg);
    assert_int_equal(tg_checkpoint_read_metadata(path, "tapegrad.step", &cfg), TG_OK);
    assert_string_equal(cfg, "1234567890123");
    free(cfg);
    assert_int_equal(tg_checkpoint_read_metadata(path, "nope", &cfg), TG_ERR_NOT_FOUND);
    assert_null(cfg);
    assert_non_null(strstr(tg_last_error(), "no metadata key 'nope'"));
    /* a NULL extra loads the parameters only */
    tg_params_free(&b.ps);
    small_init(&b, 3);
    assert_int_equal(tg_checkpoint_load(path, &b.ps, NULL), TG_OK);
    assert_memory_equal(a.ps.data, b.ps.data, (size_t)a.ps.total * sizeof(float));
    free(vocab);
    tg_params_free(&a.ps);
    tg_params_free(&b.ps);
}

/* A file as safetensors.torch.save_file writes it: tensors sorted
 * differently, metadata absent, no tapegrad keys. */
static void test_foreign_file_loads(void **state) {
    (void)state;
    const char *path = tu_tmp_path("torch.safetensors");
    small_model m;
    small_init(&m, 5);
    size_t nb = (size_t)(64 + 30 + 64 * 32) * sizeof(float);
    unsigned char *data = malloc(nb);
    memcpy(data, m.bq->data, 64 * sizeof(float));
    memcpy(data + 256, m.w2->data, 30 * sizeof(float));
    memcpy(data + 376, m.wq->data, 64 * 32 * sizeof(float));
    write_st(path,
             "{\"encoder.layers.0.attn.w_q.bias\":{\"dtype\":\"F32\",\"shape\":[64],\"data_offsets\":[0,256]},"
             "\"head.weight\":{\"dtype\":\"F32\",\"shape\":[3,2,5],\"data_offsets\":[256,376]},"
             "\"encoder.layers.0.attn.w_q.weight\":{\"dtype\":\"F32\",\"shape\":[64,32],\"data_offsets\":[376,8568]}}",
             data, nb);
    small_model l;
    small_init(&l, 6);
    tg_checkpoint_extra ex = {0};
    assert_int_equal(tg_checkpoint_load(path, &l.ps, &ex), TG_OK);
    assert_memory_equal(l.ps.data, m.ps.data, (size_t)m.ps.total * sizeof(float));
    assert_int_equal(ex.n_meta, 0);
    assert_int_equal(ex.step, 0);
    free(data);
    tg_params_free(&m.ps);
    tg_params_free(&l.ps);
}

/* ---- resume: k steps, save, fresh state, load, k steps == 2k steps ------- */

typedef struct {
    tg_params ps;
    tg_tensor *w1, *b1, *w2, *b2;
    tg_adam opt;
    tg_rng rng; /* minibatch sampling and dropout */
} mlp;

#define N_ITEMS 96
#define N_IN 6
#define N_HID 24
#define N_CLS 4
#define BATCH 16
#define TOTAL_STEPS 60

static float X[N_ITEMS][N_IN];
static int32_t Y[N_ITEMS];

static void make_data(void) {
    tg_rng r;
    tg_rng_seed(&r, 2024);
    for (int i = 0; i < N_ITEMS; i++) {
        float s = 0;
        for (int j = 0; j < N_IN; j++) s += (X[i][j] = tg_rng_normal(&r)) * (float)(j - 2);
        Y[i] = (s > 1.0f) + (s > 0.0f) + (s > -1.0f);
    }
}

static void mlp_init(mlp *m, uint64_t seed) {
    tg_params_init(&m->ps);
    m->w1 = tg_params_new(&m->ps, TG_SHAPE(N_HID, N_IN), "fc1.weight");
    m->b1 = tg_params_new(&m->ps, TG_SHAPE(N_HID), "fc1.bias");
    m->w2 = tg_params_new(&m->ps, TG_SHAPE(N_CLS, N_HID), "fc2.weight");
    m->b2 = tg_params_new(&m->ps, TG_SHAPE(N_CLS), "fc2.bias");
    tg_rng_seed(&m->rng, seed);
    tg_tensor_normal(m->w1, &m->rng, 0.0f, 0.4f);
    tg_tensor_normal(m->w2, &m->rng, 0.0f, 0.2f);
    tg_adamw_init(&m->opt, &m->ps, 1e-2f, 0.9f, 0.95f, 1e-8f, 0.1f);
    tg_adam_set_decay(&m->opt, tg_decay_matrices, NULL);
}

static void mlp_free(mlp *m) {
    tg_adam_free(&m->opt);
    tg_params_free(&m->ps);
}

static float mlp_step(mlp *m, tg_tape *tp, int64_t step) {
    tg_tape_reset(tp);
    tg_params_zero_grad(&m->ps);
    tg_tensor *x = tg_tape_tensor(tp, TG_SHAPE(BATCH, N_IN));
    int32_t y[BATCH];
    for (int b = 0; b < BATCH; b++) {
        uint32_t i = tg_rng_below(&m->rng, N_ITEMS);
        memcpy(x->data + b * N_IN, X[i], sizeof X[i]);
        y[b] = Y[i];
    }
    tg_tensor *h = tg_relu(tp, tg_add(tp, tg_matmul(tp, x, m->w1, 0, 1), m->b1));
    h = tg_dropout(tp, h, 0.1f, &m->rng);
    tg_tensor *logits = tg_add(tp, tg_matmul(tp, h, m->w2, 0, 1), m->b2);
    tg_tensor *loss = tg_cross_entropy(tp, logits, y, -1, TG_MEAN);
    assert_int_equal(tg_backward(tp, loss), TG_OK);
    tg_clip_grad_norm(&m->ps, 1.0f);
    m->opt.lr = tg_lr_warmup_cosine(step, 1e-2f, 1e-3f, 5, TOTAL_STEPS);
    tg_adam_step(&m->opt);
    return loss->data[0];
}

static void test_resume_bit_identical(void **state) {
    (void)state;
    make_data();
    const char *path = tu_tmp_path("resume.safetensors");
    tg_tape *tp = tg_tape_new(0);
    /* straight run */
    mlp a;
    mlp_init(&a, 11);
    float first = 0, last = 0;
    for (int64_t s = 0; s < TOTAL_STEPS; s++) {
        float l = mlp_step(&a, tp, s);
        if (s == 0) first = l;
        last = l;
    }
    assert_true(last < first); /* it did train */

    /* interrupted run */
    mlp b;
    mlp_init(&b, 11);
    const int64_t k = TOTAL_STEPS / 2;
    for (int64_t s = 0; s < k; s++) mlp_step(&b, tp, s);
    tg_checkpoint_extra ex = {.adam = &b.opt, .rng = {&b.rng}, .step = k, .epoch = 1};
    tg_checkpoint_meta_set(&ex, "config", "mlp 6-24-4");
    assert_int_equal(tg_checkpoint_save(path, &b.ps, &ex), TG_OK);
    tg_checkpoint_extra_free(&ex);
    mlp_free(&b);

    /* a fresh process, in effect: other init, other seed */
    mlp c;
    mlp_init(&c, 999);
    tg_checkpoint_extra in = {.adam = &c.opt, .rng = {&c.rng}};
    assert_int_equal(tg_checkpoint_load(path, &c.ps, &in), TG_OK);
    assert_int_equal(in.step, k);
    assert_int_equal(c.opt.t, k);
    assert_string_equal(tg_checkpoint_meta_get(&in, "config"), "mlp 6-24-4");
    for (int64_t s = in.step; s < TOTAL_STEPS; s++) mlp_step(&c, tp, s);
    tg_checkpoint_extra_free(&in);

    assert_int_equal(a.ps.total, c.ps.total);
    if (memcmp(a.ps.data, c.ps.data, (size_t)a.ps.total * sizeof(float)) != 0)
        fail_msg("resumed run differs from the straight run: max |diff| %g",
                 tu_max_abs_diff(a.ps.data, c.ps.data, a.ps.total));
    assert_memory_equal(a.opt.m, c.opt.m, (size_t)a.ps.total * sizeof(float));
    assert_memory_equal(a.opt.v, c.opt.v, (size_t)a.ps.total * sizeof(float));
    assert_memory_equal(&a.rng, &c.rng, sizeof a.rng);
    mlp_free(&a);
    mlp_free(&c);
    tg_tape_free(tp);
}

/* SGD momentum state round trip. */
static void test_sgd_state_roundtrip(void **state) {
    (void)state;
    const char *path = tu_tmp_path("sgd.safetensors");
    small_model a, b;
    small_init(&a, 1);
    small_init(&b, 2);
    tg_sgd sa, sb;
    tg_sgd_init(&sa, &a.ps, 0.1f, 0.9f, 0.0f, 1);
    tg_sgd_init(&sb, &b.ps, 0.1f, 0.9f, 0.0f, 1);
    for (int64_t i = 0; i < a.ps.total; i++) a.ps.grad[i] = (float)(i % 7) - 3.0f;
    tg_sgd_step(&sa);
    tg_sgd_step(&sa);
    tg_checkpoint_extra ex = {.sgd = &sa};
    assert_int_equal(tg_checkpoint_save(path, &a.ps, &ex), TG_OK);
    tg_checkpoint_extra in = {.sgd = &sb};
    assert_int_equal(tg_checkpoint_load(path, &b.ps, &in), TG_OK);
    assert_int_equal(sb.t, 2);
    assert_memory_equal(sa.b, sb.b, (size_t)a.ps.total * sizeof(float));
    /* asking for Adam state from an SGD file: missing, nothing changed */
    tg_adam opt;
    tg_adam_init(&opt, &b.ps, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.0f);
    snap s = take(&b.ps);
    tg_checkpoint_extra ia = {.adam = &opt};
    assert_int_equal(tg_checkpoint_load(path, &b.ps, &ia), TG_ERR_NOT_FOUND);
    assert_non_null(strstr(tg_last_error(), "tensor '__optim__.m.encoder.layers.0.attn.w_q.weight' missing"));
    expect_same(&s, &b.ps);
    free(s.data);
    tg_adam_free(&opt);
    tg_sgd_free(&sa);
    tg_sgd_free(&sb);
    tg_params_free(&a.ps);
    tg_params_free(&b.ps);
}

/* ---- malformed files ---------------------------------------------------- */

static void test_truncated(void **state) {
    (void)state;
    const char *good = tu_tmp_path("good.safetensors");
    const char *cut = tu_tmp_path("cut.safetensors");
    small_model a;
    small_init(&a, 1);
    tg_adam opt;
    tg_adam_init(&opt, &a.ps, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.0f);
    tg_checkpoint_extra ex = {.adam = &opt};
    assert_int_equal(tg_checkpoint_save(good, &a.ps, &ex), TG_OK);
    size_t n;
    unsigned char *f = (unsigned char *)tu_slurp(good, &n);
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--) hl = (hl << 8) | f[i];
    size_t cuts[] = {0, 3, 8, 9, 8 + hl / 2, 8 + hl - 1, 8 + hl, 8 + hl + 100, n - 4, n - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        write_raw(cut, f, cuts[i]);
        if (cuts[i] < 8)
            expect_load_fails(cut, TG_ERR_FORMAT, SNIPS(cut, "too short for the 8-byte header length"));
        else if (cuts[i] < 8 + hl)
            expect_load_fails(cut, TG_ERR_FORMAT, SNIPS(cut, "exceeds the", "truncated"));
        else
            expect_load_fails(cut, TG_ERR_FORMAT, SNIPS(cut, "out of range", "truncated file?"));
    }
    free(f);
    tg_adam_free(&opt);
    tg_params_free(&a.ps);
}

static void test_bad_header_length_and_json(void **state) {
    (void)state;
    const char *p = tu_tmp_path("bad.safetensors");
    unsigned char b[64] = {0};
    b[0] = 0x00, b[1] = 0x10; /* 4096, file is 64 bytes */
    write_raw(p, b, sizeof b);
    expect_load_fails(p, TG_ERR_FORMAT, SNIPS("header length 4096 bytes exceeds the 56 bytes"));
    memset(b, 0xFF, 8); /* 2^64 - 1 */
    write_raw(p, b, sizeof b);
    expect_load_fails(p, TG_ERR_FORMAT, SNIPS("header length 18446744073709551615 bytes exceeds"));
    write_st(p, "{\"head.weight\": {\"dtype\": \"F32\", \"shape\": [3, 2, 5]", NULL, 0);
    expect_load_fails(p, TG_ERR_FORMAT, SNIPS(p, "header is not a valid JSON object"));
    write_st(p, "[1, 2, 3]", NULL, 0);
    expect_load_fails(p, TG_ERR_FORMAT, SNIPS("not a valid JSON object"));
    write_st(p, "{} xx", NULL, 0);
    expect_load_fails(p, TG_ERR_FORMAT, SNIPS("unexpected bytes after the JSON header"));
    write_st(p, "{\"head.weight\": 5}", NULL, 0);
    expect_load_fails(p, TG_ERR_FORMAT, SNIPS("tensor 'head.weight': expected {\"dtype\""));
    write_st(p, "{\"__metadata__\": {\"a\": 1}}", NULL, 0);
    expect_load_fails(p, TG_ERR_FORMAT, SNIPS("metadata 'a' is not a string"));
    expect_load_fails(tu_tmp_path("does-not-exist"), TG_ERR_IO, SNIPS("does-not-exist: cannot open"));
}

/* A header for the small model with one entry replaced. */
static char *header_with(const char *wq_entry, const char *extra_entries) {
    char *h = malloc(4096);
    snprintf(h, 4096,
             "{\"__metadata__\":{\"tapegrad.optim.t\":\"1\"},%s"
             "\"encoder.layers.0.attn.w_q.bias\":{\"dtype\":\"F32\",\"shape\":[64],\"data_offsets\":[0,256]},"
             "\"head.weight\":{\"dtype\":\"F32\",\"shape\":[3,2,5],\"data_offsets\":[256,376]}%s%s}",
             extra_entries, wq_entry ? ",\"encoder.layers.0.attn.w_q.weight\":" : "",
             wq_entry ? wq_entry : "");
    return h;
}

static void test_wrong_tensors(void **state) {
    (void)state;
    const char *p = tu_tmp_path("wrong.safetensors");
    static unsigned char data[376 + 64 * 64 * 4];
    char *h;

    h = header_with("{\"dtype\":\"F32\",\"shape\":[64,64],\"data_offsets\":[376,16760]}", "");
    write_st(p, h, data, sizeof data);
    free(h);
    char want[512];
    snprintf(want, sizeof want,
             "%s: tensor 'encoder.layers.0.attn.w_q.weight': shape [64, 64] in file, [64, 32] in model", p);
    expect_load_fails(p, TG_ERR_SHAPE, SNIPS(want));
    assert_string_equal(tg_last_error(), want);

    h = header_with("{\"dtype\":\"F16\",\"shape\":[64,32],\"data_offsets\":[376,4472]}", "");
    write_st(p, h, data, sizeof data);
    free(h);
    expect_load_fails(p, TG_ERR_FORMAT,
                      SNIPS("tensor 'encoder.layers.0.attn.w_q.weight': dtype F16 in file, F32 expected"));

    h = header_with(NULL, "");
    write_st(p, h, data, 376);
    free(h);
    expect_load_fails(p, TG_ERR_NOT_FOUND,
                      SNIPS(p, "tensor 'encoder.layers.0.attn.w_q.weight' missing (the model has it"));

    h = header_with("{\"dtype\":\"F32\",\"shape\":[64,32],\"data_offsets\":[376,999999]}", "");
    write_st(p, h, data, sizeof data);
    free(h);
    expect_load_fails(p, TG_ERR_FORMAT,
                      SNIPS("tensor 'encoder.layers.0.attn.w_q.weight': data_offsets [376, 999999] out of range"));

    h = header_with("{\"dtype\":\"F32\",\"shape\":[64,32],\"data_offsets\":[400,376]}", "");
    write_st(p, h, data, sizeof data);
    free(h);
    expect_load_fails(p, TG_ERR_FORMAT, SNIPS("data_offsets [400, 376] out of range"));

    h = header_with("{\"dtype\":\"F32\",\"shape\":[64,32],\"data_offsets\":[376,4000]}", "");
    write_st(p, h, data, sizeof data);
    free(h);
    expect_load_fails(p, TG_ERR_FORMAT, SNIPS("hold 3624 bytes, shape [64, 32] of F32 needs 8192"));

    h = header_with("{\"dtype\":\"F32\",\"shape\":[64,32],\"data_offsets\":[300,8492]}", "");
    write_st(p, h, data, sizeof data);
    free(h);
    expect_load_fails(p, TG_ERR_FORMAT,
                      SNIPS("tensors 'head.weight' and 'encoder.layers.0.attn.w_q.weight' overlap"));

    h = header_with("{\"dtype\":\"F32\",\"shape\":[64,-32],\"data_offsets\":[376,8568]}", "");
    write_st(p, h, data, sizeof data);
    free(h);
    expect_load_fails(p, TG_ERR_FORMAT, SNIPS("shape entries must be non-negative integers"));

    h = header_with("{\"dtype\":\"F32\",\"shape\":[64,32],\"data_offsets\":[376,8568]}",
                    "\"encoder.layers.0.attn.w_q.bias\":{\"dtype\":\"F32\",\"shape\":[64],\"data_offsets\":[0,256]},");
    write_st(p, h, data, sizeof data);
    free(h);
    expect_load_fails(p, TG_ERR_FORMAT, SNIPS("tensor 'encoder.layers.0.attn.w_q.bias' appears twice"));
}

/* Unknown tensors: strict by default, skipped with TG_CKPT_IGNORE_UNKNOWN
 * (even of another dtype, e.g. BatchNorm's int64 num_batches_tracked). */
static void test_unknown_tensors(void **state) {
    (void)state;
    const char *p = tu_tmp_path("unknown.safetensors");
    static unsigned char data[8568 + 8];
    for (size_t i = 0; i < 8568; i += 4) {
        float v = (float)i;
        memcpy(data + i, &v, 4);
    }
    char *h = header_with("{\"dtype\":\"F32\",\"shape\":[64,32],\"data_offsets\":[376,8568]}",
                          "\"bn.num_batches_tracked\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[8568,8576]},");
    write_st(p, h, data, sizeof data);
    free(h);
    expect_load_fails(p, TG_ERR_FORMAT,
                      SNIPS("tensor 'bn.num_batches_tracked' is not a parameter of the model"));
    small_model m;
    small_init(&m, 1);
    tg_checkpoint_extra ex = {.flags = TG_CKPT_IGNORE_UNKNOWN};
    assert_int_equal(tg_checkpoint_load(p, &m.ps, &ex), TG_OK);
    assert_true(m.wq->data[0] == 376.0f && m.bq->data[1] == 4.0f);
    tg_checkpoint_extra_free(&ex);
    tg_params_free(&m.ps);
}

/* A failing save leaves the previous checkpoint intact and no temporary
 * file behind. */
static void test_atomic_save(void **state) {
    (void)state;
    const char *p = tu_tmp_path("atomic.safetensors");
    small_model a, b;
    small_init(&a, 1);
    small_init(&b, 2);
    assert_int_equal(tg_checkpoint_save(p, &a.ps, NULL), TG_OK);
    size_t n0;
    unsigned char *before = (unsigned char *)tu_slurp(p, &n0);

    /* the file-size limit makes the write fail part-way */
    struct rlimit old, lim;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    lim = old;
    lim.rlim_cur = 4096;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    tg_status st = tg_checkpoint_save(p, &b.ps, NULL);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, prev);
    assert_int_equal(st, TG_ERR_IO);
    assert_non_null(strstr(tg_last_error(), "write failed"));
    assert_non_null(strstr(tg_last_error(), "file left unchanged"));
    size_t n1;
    unsigned char *after = (unsigned char *)tu_slurp(p, &n1);
    assert_int_equal(n0, n1);
    assert_memory_equal(before, after, n0);
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", p, (long)getpid());
    assert_int_not_equal(access(tmp, F_OK), 0);
    free(before);
    free(after);

    st = tg_checkpoint_save(tu_tmp_path("no/such/dir/x.safetensors"), &a.ps, NULL);
    assert_int_equal(st, TG_ERR_IO);
    assert_non_null(strstr(tg_last_error(), "cannot create temporary file"));

    /* overwriting works and is atomic from the reader's point of view */
    assert_int_equal(tg_checkpoint_save(p, &b.ps, NULL), TG_OK);
    tg_params_free(&a.ps);
    small_init(&a, 7);
    assert_int_equal(tg_checkpoint_load(p, &a.ps, NULL), TG_OK);
    assert_memory_equal(a.ps.data, b.ps.data, (size_t)a.ps.total * sizeof(float));
    tg_params_free(&a.ps);
    tg_params_free(&b.ps);
}

static void test_reserved_metadata(void **state) {
    (void)state;
    const char *p = tu_tmp_path("meta.safetensors");
    tg_checkpoint_extra ex = {0};
    TU_EXPECT_DEATH(tg_checkpoint_meta_set(&ex, "tapegrad.step", "1"), "is reserved");
    tg_checkpoint_meta_set(&ex, "a", "1");
    tg_checkpoint_meta_set(&ex, "a", "2");
    assert_int_equal(ex.n_meta, 1);
    assert_string_equal(tg_checkpoint_meta_get(&ex, "a"), "2");
    tg_checkpoint_extra_free(&ex);
    /* a malformed rng / step string is a format error, nothing changed */
    static unsigned char data[8568];
    char *h = header_with("{\"dtype\":\"F32\",\"shape\":[64,32],\"data_offsets\":[376,8568]}", "");
    char *q = strstr(h, "\"tapegrad.optim.t\":\"1\"");
    char *h2 = malloc(4200);
    snprintf(h2, 4200, "%.*s\"tapegrad.step\":\"12x\",%s", (int)(q - h), h, q);
    write_st(p, h2, data, sizeof data);
    expect_load_fails(p, TG_ERR_FORMAT, SNIPS("metadata 'tapegrad.step' = \"12x\" is not an integer"));
    snprintf(h2, 4200, "%.*s\"tapegrad.rng.0\":\"1 2 3\",%s", (int)(q - h), h, q);
    write_st(p, h2, data, sizeof data);
    small_model m;
    small_init(&m, 1);
    tg_rng r;
    tg_rng_seed(&r, 1);
    snap s = take(&m.ps);
    tg_checkpoint_extra in = {.rng = {&r}};
    assert_int_equal(tg_checkpoint_load(p, &m.ps, &in), TG_ERR_FORMAT);
    assert_non_null(strstr(tg_last_error(), "expected 4 decimal 32-bit words"));
    expect_same(&s, &m.ps);
    free(s.data);
    free(h);
    free(h2);
    tg_params_free(&m.ps);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_and_layout),
        cmocka_unit_test(test_foreign_file_loads),
        cmocka_unit_test(test_resume_bit_identical),
        cmocka_unit_test(test_sgd_state_roundtrip),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_bad_header_length_and_json),
        cmocka_unit_test(test_wrong_tensors),
        cmocka_unit_test(test_unknown_tensors),
        cmocka_unit_test(test_atomic_save),
        cmocka_unit_test(test_reserved_metadata),
    };
    return cmocka_run_group_tests(tests, tu_tmpdir_setup, tu_tmpdir_teardown);
}
