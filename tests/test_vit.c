/* tests/test_vit.c — patchify (values, gradient checks on edge shapes,
 * errors), the patch embedding against a direct convolution, the packed
 * Q/K/V projection against separate ones, a timm-named ViT block and a
 * whole tiny ViT under tg_gradcheck, configuration checks and their text
 * form, no allocation after the first training step, 1 vs 2 threads
 * bit-identical over 10 AdamW steps, and a tiny ViT learning a synthetic
 * image task. */
#include "tests/helpers/testutil.h"

#include <math.h>

#ifdef _OPENMP
#include <omp.h>
#endif

/* ---- patchify ------------------------------------------------------------- */

typedef struct {
    int P;
} patch_user;

static tg_tensor *patch_fn(tg_tape *tp, tg_tensor *const *x, int n, void *user) {
    (void)n;
    return tg_patchify(tp, x[0], ((patch_user *)user)->P);
}

/* The definition, element by element: y[b, py·Wp + px, (dy·P + dx)·C + c]
 * = x[b, py·P + dy, px·P + dx, c]. */
static void check_patch_values(tg_rng *rng, int B, int H, int W, int C, int P) {
    tg_tensor *x = tu_randn(rng, TG_SHAPE(B, H, W, C));
    tg_tape *tp = tg_tape_new(0);
    tg_tensor *y = tg_patchify(tp, x, P);
    int Hp = H / P, Wp = W / P, K = P * P * C;
    assert_int_equal(y->ndim, 3);
    assert_int_equal(y->shape[0], B);
    assert_int_equal(y->shape[1], Hp * Wp);
    assert_int_equal(y->shape[2], K);
    for (int b = 0; b < B; b++)
        for (int py = 0; py < Hp; py++)
            for (int px = 0; px < Wp; px++)
                for (int dy = 0; dy < P; dy++)
                    for (int dx = 0; dx < P; dx++)
                        for (int c = 0; c < C; c++) {
                            float want = x->data[(((int64_t)b * H + py * P + dy) * W + px * P + dx) * C + c];
                            float got = y->data[((int64_t)b * Hp * Wp + py * Wp + px) * K +
                                                (dy * P + dx) * C + c];
                            assert_true(want == got);
                        }
    tg_tape_free(tp);
    tg_tensor_free(x);
}

static void test_patchify_values(void **state) {
    (void)state;
    tg_rng rng;
    tg_rng_seed(&rng, 1);
    check_patch_values(&rng, 2, 8, 8, 3, 4);
    check_patch_values(&rng, 2, 28, 28, 1, 7);
    check_patch_values(&rng, 1, 28, 28, 1, 14);
    check_patch_values(&rng, 2, 32, 48, 3, 16); /* non-square, P = 16 */
    check_patch_values(&rng, 1, 6, 4, 2, 1);    /* P = 1: every pixel a patch */
    check_patch_values(&rng, 3, 5, 5, 3, 5);    /* P = H = W: one patch */
    /* a 3-D x (one image) gives [N, P·P·C] */
    tg_tensor *x = tu_randn(&rng, TG_SHAPE(8, 4, 2));
    tg_tape *tp = tg_tape_new(0);
    tg_tensor *y = tg_patchify(tp, x, 4);
    assert_int_equal(y->ndim, 2);
    assert_int_equal(y->shape[0], 2);
    assert_int_equal(y->shape[1], 32);
    tg_tape_free(tp);
    tg_tensor_free(x);
}

static void test_patchify_gradcheck(void **state) {
    (void)state;
    tg_rng rng;
    tg_rng_seed(&rng, 2);
    const struct { int B, H, W, C, P; const char *name; } cases[] = {
        {2, 8, 8, 3, 4, "patchify [2, 8, 8, 3] P=4"},
        {2, 6, 4, 1, 2, "patchify non-square [2, 6, 4, 1] P=2"},
        {1, 3, 5, 2, 1, "patchify P=1 [1, 3, 5, 2]"},
        {2, 7, 7, 3, 7, "patchify P=H=W [2, 7, 7, 3]"},
        {1, 28, 14, 1, 14, "patchify [1, 28, 14, 1] P=14"},
        {1, 32, 16, 3, 16, "patchify [1, 32, 16, 3] P=16"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tg_tensor *x = tu_randn_grad(&rng, TG_SHAPE(cases[i].B, cases[i].H, cases[i].W, cases[i].C));
        patch_user u = {cases[i].P};
        TU_GRADCHECK(cases[i].name, patch_fn, 1, (tg_tensor *[]){x}, &u, NULL);
        tg_tensor_free(x);
    }
}

static void test_patchify_errors(void **state) {
    (void)state;
    tg_tape *tp = tg_tape_new(0);
    tg_tensor *x = tg_tensor_new(TG_SHAPE(2, 28, 28, 1));
    TU_EXPECT_DEATH(tg_patchify(tp, x, 5),
                    "tg_patchify: patch_size 5 must be >= 1 and divide H = 28 and W = 28 (x is [2, 28, 28, 1])");
    TU_EXPECT_DEATH(tg_patchify(tp, x, 0), "patch_size 0 must be >= 1");
    tg_tensor *flat = tg_tensor_new(TG_SHAPE(4, 4));
    TU_EXPECT_DEATH(tg_patchify(tp, flat, 2), "tg_patchify: x must be [..., H, W, C], got [4, 4]");
    tg_tensor_free(flat);
    tg_tensor_free(x);
    tg_tape_free(tp);
}

/* The patch embedding is timm's Conv2d(C, d, kernel = stride = P): check it
 * against that convolution written directly, with torch's weight
 * w_t[o, c, dy, dx] = ours[o, (dy·P + dx)·C + c] (docs/layers.md). */
static void test_patch_embed_is_strided_conv(void **state) {
    (void)state;
    tg_rng rng;
    tg_rng_seed(&rng, 3);
    enum { B = 2, H = 8, W = 12, C = 3, P = 4, D = 5 };
    tg_params ps;
    tg_params_init(&ps);
    tg_patch_embed pe;
    tg_patch_embed_init(&pe, &ps, "patch_embed.proj", P, C, D, &rng);
    assert_string_equal(pe.proj.weight->name, "patch_embed.proj.weight");
    assert_int_equal(pe.proj.weight->shape[1], P * P * C);
    tg_tensor *x = tu_randn(&rng, TG_SHAPE(B, H, W, C));
    tg_tape *tp = tg_tape_new(0);
    tg_tensor *y = tg_patch_embed_forward(tp, &pe, x);
    int Wp = W / P;
    for (int b = 0; b < B; b++)
        for (int py = 0; py < H / P; py++)
            for (int px = 0; px < Wp; px++)
                for (int o = 0; o < D; o++) {
                    double s = pe.proj.bias->data[o];
                    for (int c = 0; c < C; c++)
                        for (int dy = 0; dy < P; dy++)
                            for (int dx = 0; dx < P; dx++)
                                s += (double)pe.proj.weight->data[o * P * P * C + (dy * P + dx) * C + c] *
                                     x->data[((b * H + py * P + dy) * W + px * P + dx) * C + c];
                    float got = y->data[((b * (H / P) + py) * Wp + px) * D + o];
                    assert_true(fabs(got - s) < 1e-5);
                }
    tg_tape_free(tp);
    tg_tensor_free(x);
    tg_params_free(&ps);
}

/* ---- packed Q/K/V and the timm-named block -------------------------------- */

/* A packed layer equals separate projections holding the rows of qkv. */
static void test_packed_qkv_equals_separate(void **state) {
    (void)state;
    tg_rng rng;
    tg_rng_seed(&rng, 4);
    enum { B = 2, L = 7, C = 12, H = 3 };
    tg_params ps;
    tg_params_init(&ps);
    tg_mha packed, sep;
    tg_mha_init(&packed, &ps, "attn", C, H, TG_NN_BIAS | TG_NN_PACKED_QKV, &rng);
    tg_mha_init(&sep, &ps, "sep", C, H, TG_NN_BIAS, &rng);
    assert_string_equal(packed.qkv.weight->name, "attn.qkv.weight");
    assert_string_equal(packed.w_o.weight->name, "attn.proj.weight");
    tg_init_normal(packed.qkv.bias, &rng, 0, 0.1f);
    tg_linear *parts[3] = {&sep.w_q, &sep.w_k, &sep.w_v};
    for (int p = 0; p < 3; p++) {
        memcpy(parts[p]->weight->data, packed.qkv.weight->data + p * C * C, C * C * sizeof(float));
        memcpy(parts[p]->bias->data, packed.qkv.bias->data + p * C, C * sizeof(float));
    }
    memcpy(sep.w_o.weight->data, packed.w_o.weight->data, C * C * sizeof(float));
    memcpy(sep.w_o.bias->data, packed.w_o.bias->data, C * sizeof(float));
    tg_tensor *x = tu_randn(&rng, TG_SHAPE(B, L, C));
    tg_tape *tp = tg_tape_new(0);
    tg_tensor *a = tg_mha_forward(tp, &packed, x, x, NULL), *b = tg_mha_forward(tp, &sep, x, x, NULL);
    assert_true(tu_max_abs_diff(a->data, b->data, a->size) < 1e-5);
    tg_tensor *y = tu_randn(&rng, TG_SHAPE(B, L, C));
    TU_EXPECT_DEATH(tg_mha_forward(tp, &packed, x, y, NULL),
                    "attn.qkv.weight: a packed Q/K/V projection is self-attention only");
    tg_tensor_free(y);
    tg_tensor_free(x);
    tg_tape_free(tp);
    tg_params_free(&ps);
}

/* The packed fused attention reads Q, K, V in place and equals
 * tg_attention on the three column slices, values and gradients bit for
 * bit (with a local mask, and with Lq > one 64-row tile). */
static void test_attention_qkv_equals_split(void **state) {
    (void)state;
    tg_rng rng;
    tg_rng_seed(&rng, 12);
    enum { B = 2, L = 70, H = 3, D = 8, C = H * D };
    uint8_t *allowed = malloc(L * L);
    for (int i = 0; i < L * L; i++) allowed[i] = (uint8_t)(tg_rng_below(&rng, 4) != 0 || i % (L + 1) == 0);
    for (int masked = 0; masked < 2; masked++) {
        tg_attn_mask m = {.allowed = allowed};
        const tg_attn_mask *mp = masked ? &m : NULL;
        tg_tensor *qkv = tu_randn_grad(&rng, TG_SHAPE(B, L, 3 * C));
        tg_tensor *r = tu_randn(&rng, TG_SHAPE(B, L, C));
        float *w1 = malloc(sizeof(float) * B * H * L * L), *w2 = malloc(sizeof(float) * B * H * L * L);
        tg_tape *tp = tg_tape_new(0);
        tg_tensor *o1 = tg_attention_qkv(tp, qkv, H, 0.35f, mp, w1);
        assert_int_equal(tg_backward(tp, tg_sum(tp, tg_mul(tp, o1, r))), TG_OK);
        float *g1 = malloc(sizeof(float) * qkv->size);
        memcpy(g1, qkv->grad, sizeof(float) * qkv->size);
        tg_tensor_zero_grad(qkv);
        tg_tensor *parts[3];
        tg_split(tp, qkv, -1, 3, (const int[]){C, C, C}, parts);
        tg_tensor *o2 = tg_attention(tp, parts[0], parts[1], parts[2], H, 0.35f, mp, w2);
        assert_int_equal(tg_backward(tp, tg_sum(tp, tg_mul(tp, o2, r))), TG_OK);
        assert_memory_equal(o1->data, o2->data, sizeof(float) * o1->size);
        assert_memory_equal(g1, qkv->grad, sizeof(float) * qkv->size);
        assert_memory_equal(w1, w2, sizeof(float) * B * H * L * L);
        tg_tensor *bad = tg_tensor_new(TG_SHAPE(B, L, 10));
        if (!masked) TU_EXPECT_DEATH(tg_attention_qkv(tp, bad, H, 1.0f, NULL, NULL),
                                     "tg_attention_qkv: qkv must be [B, L, 3·H·D] with H = n_heads = 3, got [2, 70, 10]");
        tg_tensor_free(bad);
        tg_tape_free(tp);
        free(g1), free(w1), free(w2);
        tg_tensor_free(qkv);
        tg_tensor_free(r);
    }
    free(allowed);
}

/* See tests/test_nn.c: float32 through several GEMMs and softmaxes wants a
 * larger step; a random subset of each input keeps the test fast. */
static const tg_gradcheck_opts DEEP = {.h = 1e-2, .tol = 1e-2, .floor = 1e-2, .max_per_input = 48, .seed = 1};

typedef struct {
    tg_encoder_block *blk;
    const tg_attn_mask *mask;
} block_user;

static tg_tensor *block_fn(tg_tape *tp, tg_tensor *const *x, int n, void *user) {
    (void)n;
    block_user *u = user;
    return tg_encoder_block_forward(tp, u->blk, x[0], u->mask);
}

static void test_vit_block_gradcheck(void **state) {
    (void)state;
    tg_rng rng;
    tg_rng_seed(&rng, 5);
    tg_params ps;
    tg_params_init(&ps);
    tg_block_config cfg = {.d_model = 8, .n_heads = 2, .d_ff = 16, .pre_ln = 1,
                           .flags = TG_NN_BIAS, .timm_names = 1, .ln_eps = 1e-6f};
    tg_encoder_block blk;
    tg_encoder_block_init(&blk, &ps, "blocks.0", &cfg, &rng);
    const char *names[] = {"blocks.0.attn.qkv.weight", "blocks.0.attn.qkv.bias",
                           "blocks.0.attn.proj.weight", "blocks.0.attn.proj.bias",
                           "blocks.0.norm1.weight", "blocks.0.norm1.bias",
                           "blocks.0.mlp.fc1.weight", "blocks.0.mlp.fc1.bias",
                           "blocks.0.mlp.fc2.weight", "blocks.0.mlp.fc2.bias",
                           "blocks.0.norm2.weight", "blocks.0.norm2.bias"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        assert_non_null(tg_params_find(&ps, names[i]));
    assert_int_equal(ps.n, 12);
    assert_true(blk.ln1.eps == 1e-6f);
    for (int i = 0; i < ps.n; i++) tg_init_normal(ps.t[i], &rng, 0.0f, 0.3f); /* nothing at 0 */
    tg_tensor *x = tu_randn_grad(&rng, TG_SHAPE(2, 5, 8));
    tg_tensor *in[16] = {x};
    block_user u = {&blk, NULL};
    TU_GRADCHECK("ViT block (timm names, packed qkv): x and 12 parameters", block_fn,
                 tu_with_params(in, 1, &ps), in, &u, &DEEP);
    blk.self_attn.use_composed = 1;
    TU_GRADCHECK("ViT block, composed attention", block_fn, tu_with_params(in, 1, &ps), in, &u, &DEEP);
    tg_tensor_free(x);
    tg_params_free(&ps);
}

/* ---- configuration --------------------------------------------------------- */

static tg_vit_config tiny_config(void) {
    return (tg_vit_config){.image_h = 8, .image_w = 12, .channels = 3, .patch_size = 4,
                           .d_model = 8, .depth = 2, .n_heads = 2, .d_ff = 16, .n_classes = 3,
                           .pool = TG_VIT_POOL_CLS, .pos = TG_VIT_POS_LEARNED,
                           .ln_eps = 1e-6f};
}

static void expect_config_error(tg_vit_config c, const char *msg) {
    assert_int_equal(tg_vit_config_check(&c), TG_ERR_ARG);
    if (!strstr(tg_last_error(), msg)) fail_msg("expected \"%s\", got \"%s\"", msg, tg_last_error());
}

static void test_vit_config_check(void **state) {
    (void)state;
    tg_vit_config c = tiny_config();
    assert_int_equal(tg_vit_config_check(&c), TG_OK);
    c.patch_size = 5;
    expect_config_error(c, "vit config: patch_size 5 does not divide image_h 8");
    c = tiny_config(), c.image_w = 10;
    expect_config_error(c, "patch_size 4 does not divide image_w 10");
    c = tiny_config(), c.n_heads = 3;
    expect_config_error(c, "n_heads 3 does not divide d_model 8");
    c = tiny_config(), c.depth = 0;
    expect_config_error(c, "vit config: depth: expected an integer >= 1, found 0");
    c = tiny_config(), c.pool = (tg_vit_pool)7;
    expect_config_error(c, "pool: expected one of cls, mean, found 7");
    c = tiny_config(), c.pos = (tg_vit_pos)-1;
    expect_config_error(c, "pos: expected one of learned, sinusoidal, found -1");
    c = tiny_config(), c.dropout = 1.0f;
    expect_config_error(c, "dropout: expected a number in [0, 1), found 1");
    c = tiny_config(), c.ln_eps = 0.0f;
    expect_config_error(c, "ln_eps: expected a finite number > 0, found 0");
    c = tiny_config(), c.local_window = -1;
    expect_config_error(c, "local_window: expected an integer >= 0, found -1");
    c = tiny_config(), c.patch_size = 0;
    expect_config_error(c, "patch_size: expected an integer >= 1, found 0");
    tg_params ps;
    tg_params_init(&ps);
    tg_vit m;
    tg_rng rng;
    tg_rng_seed(&rng, 1);
    c = tiny_config(), c.n_heads = 3;
    TU_EXPECT_DEATH(tg_vit_init(&m, &ps, &c, &rng), "tg_vit_init: vit config: n_heads 3");
    tg_params_free(&ps);
}

static void test_vit_config_text(void **state) {
    (void)state;
    tg_vit_config c = tiny_config(), back;
    c.pool = TG_VIT_POOL_MEAN;
    c.pos = TG_VIT_POS_SINUSOIDAL;
    c.dropout = 0.1f;
    c.local_window = 3;
    char buf[512];
    int n = tg_vit_config_format(&c, buf, sizeof buf);
    assert_int_equal(n, (int)strlen(buf));
    assert_string_equal(buf, "{\"image_h\":8,\"image_w\":12,\"channels\":3,\"patch_size\":4,\"d_model\":8,"
                             "\"depth\":2,\"n_heads\":2,\"d_ff\":16,\"n_classes\":3,\"pool\":\"mean\","
                             "\"pos\":\"sinusoidal\",\"dropout\":0.1,\"ln_eps\":1e-06,\"local_window\":3}");
    assert_int_equal(tg_vit_config_parse(buf, "m.safetensors", &back), TG_OK);
    assert_memory_equal(&c, &back, sizeof c);
    /* the key=value line of checkpoints written before the JSON form */
    memset(&back, 0, sizeof back);
    assert_int_equal(tg_vit_config_parse("image_h=8 image_w=12 channels=3 patch_size=4 d_model=8 depth=2 "
                                         "n_heads=2 d_ff=16 n_classes=3 pool=mean pos=sinusoidal "
                                         "dropout=0.100000001 ln_eps=9.99999997e-07 local_window=3",
                                         "m.safetensors", &back), TG_OK);
    assert_memory_equal(&c, &back, sizeof c);
    char small[10];
    assert_int_equal(tg_vit_config_format(&c, small, sizeof small), n); /* truncated, length needed */
    /* errors name the source and leave the output alone */
    const struct { const char *text, *msg; } bad[] = {
        {"image_h=8", "m: missing key 'image_w'"},
        {"colour=3", "m: unknown key 'colour'"},
        {"image_h=8 image_h=8", "m: key 'image_h' given twice"},
        {"image_h", "m: expected key=value, found 'image_h'"},
        {"image_h=eight", "m: image_h: expected an integer >= 1, found 'eight'"},
        {"pool=max", "m: pool: expected one of cls, mean, found 'max'"},
        {"pos=rope", "m: pos: expected one of learned, sinusoidal, found 'rope'"},
        {"dropout=", "m: dropout: expected a number in [0, 1), found ''"},
        {"{\"image_h\":8,\"image_h\":8}", "m: key 'image_h' given twice"},
        {"{\"image_h\":8.5}", "m: image_h: expected an integer >= 1, found 8.5"},
        {"{\"pool\":\"max\"}", "m: pool: expected one of cls, mean, found \"max\""},
    };
    tg_vit_config untouched = tiny_config();
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tg_vit_config out = untouched;
        assert_int_equal(tg_vit_config_parse(bad[i].text, "m", &out), TG_ERR_FORMAT);
        if (!strstr(tg_last_error(), bad[i].msg))
            fail_msg("expected \"%s\", got \"%s\"", bad[i].msg, tg_last_error());
        assert_memory_equal(&out, &untouched, sizeof out);
    }
    /* a well-formed text with an invalid configuration */
    char *p = strstr(buf, "\"patch_size\":4");
    p[13] = '5';
    tg_vit_config out = untouched;
    assert_int_equal(tg_vit_config_parse(buf, "m", &out), TG_ERR_FORMAT);
    assert_non_null(strstr(tg_last_error(), "m: patch_size 5 does not divide image_h 8"));
    assert_memory_equal(&out, &untouched, sizeof out);
}

/* ---- the model ------------------------------------------------------------- */

static void test_vit_names_and_count(void **state) {
    (void)state;
    tg_rng rng;
    tg_rng_seed(&rng, 6);
    const tg_vit_pool pools[2] = {TG_VIT_POOL_CLS, TG_VIT_POOL_MEAN};
    const tg_vit_pos poss[2] = {TG_VIT_POS_LEARNED, TG_VIT_POS_SINUSOIDAL};
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++) {
            tg_vit_config c = tiny_config();
            c.pool = pools[a];
            c.pos = poss[b];
            tg_params ps;
            tg_params_init(&ps);
            tg_vit m;
            tg_vit_init(&m, &ps, &c, &rng);
            assert_int_equal(tg_params_count(&ps), tg_vit_param_count(&c));
            assert_int_equal(m.n_patches, 6);
            assert_int_equal(m.n_tokens, a == 0 ? 7 : 6);
            assert_true((tg_params_find(&ps, "cls_token") != NULL) == (a == 0));
            assert_true((tg_params_find(&ps, "pos_embed") != NULL) == (b == 0));
            assert_non_null(tg_params_find(&ps, a == 0 ? "norm.weight" : "fc_norm.weight"));
            assert_non_null(tg_params_find(&ps, "patch_embed.proj.weight"));
            assert_non_null(tg_params_find(&ps, "blocks.1.attn.qkv.weight"));
            assert_non_null(tg_params_find(&ps, "head.bias"));
            tg_vit_free(&m);
            tg_params_free(&ps);
        }
    /* W2's model: 0.80M parameters by this formula, checked against init */
    tg_vit_config w2 = {.image_h = 32, .image_w = 32, .channels = 3, .patch_size = 4,
                        .d_model = 128, .depth = 6, .n_heads = 4, .d_ff = 256, .n_classes = 10,
                        .ln_eps = 1e-5f};
    tg_params ps;
    tg_params_init(&ps);
    tg_vit m;
    tg_vit_init(&m, &ps, &w2, &rng);
    assert_int_equal(tg_params_count(&ps), tg_vit_param_count(&w2));
    tg_vit_free(&m);
    tg_params_free(&ps);
}

typedef struct {
    tg_vit *m;
} vit_user;

static tg_tensor *vit_fn(tg_tape *tp, tg_tensor *const *x, int n, void *user) {
    (void)n;
    return tg_vit_forward(tp, ((vit_user *)user)->m, x[0], NULL);
}

/* The whole tiny ViT (every configuration flag) against finite differences,
 * for the images and every parameter. */
static void test_vit_gradcheck(void **state) {
    (void)state;
    tg_rng rng;
    tg_rng_seed(&rng, 7);
    const struct { tg_vit_pool pool; tg_vit_pos pos; int window; const char *name; } cases[] = {
        {TG_VIT_POOL_CLS, TG_VIT_POS_LEARNED, 0, "tiny ViT: CLS, learned positions"},
        {TG_VIT_POOL_MEAN, TG_VIT_POS_SINUSOIDAL, 0, "tiny ViT: mean pooling, sinusoidal"},
        {TG_VIT_POOL_CLS, TG_VIT_POS_LEARNED, 1, "tiny ViT: CLS, local window 1"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        tg_vit_config c = tiny_config();
        c.pool = cases[k].pool;
        c.pos = cases[k].pos;
        c.local_window = cases[k].window;
        tg_params ps;
        tg_params_init(&ps);
        tg_vit m;
        tg_vit_init(&m, &ps, &c, &rng);
        for (int i = 0; i < ps.n; i++) tg_init_normal(ps.t[i], &rng, 0.0f, 0.3f);
        tg_tensor *x = tu_randn_grad(&rng, TG_SHAPE(2, 8, 12, 3));
        tg_tensor *in[64] = {x};
        vit_user u = {&m};
        TU_GRADCHECK(cases[k].name, vit_fn, tu_with_params(in, 1, &ps), in, &u, &DEEP);
        tg_tensor_free(x);
        tg_vit_free(&m);
        tg_params_free(&ps);
    }
}

/* local_window: a patch sees only its k×k neighbourhood, [CLS] everything. */
static void test_vit_local_window_mask(void **state) {
    (void)state;
    tg_rng rng;
    tg_rng_seed(&rng, 8);
    tg_vit_config c = tiny_config(); /* grid 2 × 3 */
    c.local_window = 3;
    tg_params ps;
    tg_params_init(&ps);
    tg_vit m;
    tg_vit_init(&m, &ps, &c, &rng);
    int T = m.n_tokens;
    assert_int_equal(T, 7);
    tg_tensor *x = tu_randn(&rng, TG_SHAPE(1, 8, 12, 3));
    float *attn = malloc((size_t)c.depth * c.n_heads * T * T * sizeof(float));
    tg_tape *tp = tg_tape_new(0);
    tg_tensor *logits = tg_vit_attention(tp, &m, x, attn);
    assert_int_equal(logits->shape[1], 3);
    for (int l = 0; l < c.depth; l++)
        for (int h = 0; h < c.n_heads; h++)
            for (int i = 0; i < T; i++) {
                const float *row = attn + (((int64_t)l * c.n_heads + h) * T + i) * T;
                double s = 0;
                for (int j = 0; j < T; j++) {
                    s += row[j];
                    int allowed = i == 0 || j == 0 ||
                                  (abs((i - 1) / 3 - (j - 1) / 3) <= 1 && abs((i - 1) % 3 - (j - 1) % 3) <= 1);
                    if (!allowed) assert_true(row[j] == 0.0f);
                    else assert_true(row[j] > 0.0f);
                }
                assert_true(fabs(s - 1.0) < 1e-5);
            }
    /* patch (0, 0) = token 1 does not see patch (0, 2) = token 3 */
    assert_true(attn[1 * T + 3] == 0.0f);
    tg_tape_free(tp);
    free(attn);
    tg_tensor_free(x);
    tg_vit_free(&m);
    tg_params_free(&ps);
}

/* One AdamW training run of a small ViT on fixed random data: losses and
 * the tape's heap allocations per step. */
static void train_steps(int threads, int steps, float *losses, long *allocs) {
    tg_set_num_threads(threads);
    tg_rng rng, drop;
    tg_rng_seed(&rng, 9);
    tg_rng_seed(&drop, 10);
    tg_vit_config c = {.image_h = 16, .image_w = 16, .channels = 3, .patch_size = 4,
                       .d_model = 32, .depth = 2, .n_heads = 4, .d_ff = 64, .n_classes = 10,
                       .dropout = 0.1f, .ln_eps = 1e-5f};
    tg_params ps;
    tg_params_init(&ps);
    tg_vit m;
    tg_vit_init(&m, &ps, &c, &rng);
    tg_adam opt;
    tg_adamw_init(&opt, &ps, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.05f);
    enum { B = 32 }; /* big enough that the kernels' parallel paths run */
    tg_tensor *x = tu_randn(&rng, TG_SHAPE(B, 16, 16, 3));
    int32_t y[B];
    for (int i = 0; i < B; i++) y[i] = (int32_t)tg_rng_below(&rng, 10);
    tg_tape *tp = tg_tape_new(4096); /* small: the first step must grow it */
    for (int s = 0; s < steps; s++) {
        tg_tape_reset(tp);
        tg_params_zero_grad(&ps);
        tg_tensor *loss = tg_cross_entropy(tp, tg_vit_forward(tp, &m, x, &drop), y, -1, TG_MEAN);
        assert_int_equal(tg_backward(tp, loss), TG_OK);
        tg_adam_step(&opt);
        losses[s] = loss->data[0];
        allocs[s] = tg_tape_heap_allocs(tp);
    }
    tg_tape_free(tp);
    tg_tensor_free(x);
    tg_adam_free(&opt);
    tg_vit_free(&m);
    tg_params_free(&ps);
}

static void test_vit_train_no_alloc_after_first_step(void **state) {
    (void)state;
    float losses[6];
    long allocs[6];
    train_steps(tg_get_num_threads(), 6, losses, allocs);
    assert_true(allocs[0] > 1); /* the first step grew the arena */
    for (int s = 2; s < 6; s++) assert_int_equal(allocs[s], allocs[1]);
    assert_true(losses[5] < losses[0]);
}

static void test_vit_bit_identical_1_vs_2_threads(void **state) {
    (void)state;
#ifndef _OPENMP
    skip();
#else
    int saved = omp_get_max_threads();
    float l1[10], l2[10];
    long a[10];
    train_steps(1, 10, l1, a);
    train_steps(2, 10, l2, a);
    tg_set_num_threads(saved);
    for (int s = 0; s < 10; s++) printf("  step %d: loss %.9g (1 thread) %.9g (2 threads)\n", s, l1[s], l2[s]);
    assert_memory_equal(l1, l2, sizeof l1);
#endif
}

/* A task only attention over positions solves: 8×8 gray images, patch 4
 * (a 2×2 grid), a bright square in one of the 4 patches plus noise; the
 * class is the patch that holds it.  A 2-block ViT must get the training
 * loss from ln 4 = 1.39 below 0.1 in 150 AdamW steps. */
static void test_vit_learns_synthetic_task(void **state) {
    (void)state;
    tg_rng rng;
    tg_rng_seed(&rng, 11);
    tg_vit_config c = {.image_h = 8, .image_w = 8, .channels = 1, .patch_size = 4,
                       .d_model = 32, .depth = 2, .n_heads = 2, .d_ff = 64, .n_classes = 4,
                       .ln_eps = 1e-6f};
    tg_params ps;
    tg_params_init(&ps);
    tg_vit m;
    tg_vit_init(&m, &ps, &c, &rng);
    tg_adam opt;
    tg_adamw_init(&opt, &ps, 3e-3f, 0.9f, 0.999f, 1e-8f, 0.05f);
    tg_adam_set_decay(&opt, tg_decay_matrices, NULL);
    enum { B = 32 };
    tg_tape *tp = tg_tape_new(0);
    float first = 0, last = 0;
    for (int s = 0; s < 150; s++) {
        tg_tape_reset(tp);
        tg_params_zero_grad(&ps);
        tg_tensor *x = tg_tape_tensor(tp, TG_SHAPE(B, 8, 8, 1));
        int32_t *y = tg_tape_alloc(tp, B * sizeof *y);
        for (int b = 0; b < B; b++) {
            y[b] = (int32_t)tg_rng_below(&rng, 4);
            int r0 = (y[b] / 2) * 4 + (int)tg_rng_below(&rng, 3), c0 = (y[b] % 2) * 4 + (int)tg_rng_below(&rng, 3);
            for (int i = 0; i < 64; i++) x->data[b * 64 + i] = 0.3f * tg_rng_normal(&rng);
            for (int dr = 0; dr < 2; dr++)
                for (int dc = 0; dc < 2; dc++) x->data[b * 64 + (r0 + dr) * 8 + c0 + dc] += 2.0f;
        }
        tg_tensor *loss = tg_cross_entropy(tp, tg_vit_forward(tp, &m, x, NULL), y, -1, TG_MEAN);
        assert_int_equal(tg_backward(tp, loss), TG_OK);
        tg_adam_step(&opt);
        if (s == 0) first = loss->data[0];
        last = loss->data[0];
    }
    printf("  synthetic task: loss %.4f -> %.4f after 150 steps\n", first, last);
    assert_true(first > 1.0f);
    assert_true(last < 0.1f);
    tg_tape_free(tp);
    tg_adam_free(&opt);
    tg_vit_free(&m);
    tg_params_free(&ps);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_patchify_values),
        cmocka_unit_test(test_patchify_gradcheck),
        cmocka_unit_test(test_patchify_errors),
        cmocka_unit_test(test_patch_embed_is_strided_conv),
        cmocka_unit_test(test_packed_qkv_equals_separate),
        cmocka_unit_test(test_attention_qkv_equals_split),
        cmocka_unit_test(test_vit_block_gradcheck),
        cmocka_unit_test(test_vit_config_check),
        cmocka_unit_test(test_vit_config_text),
        cmocka_unit_test(test_vit_names_and_count),
        cmocka_unit_test(test_vit_gradcheck),
        cmocka_unit_test(test_vit_local_window_mask),
        cmocka_unit_test(test_vit_train_no_alloc_after_first_step),
        cmocka_unit_test(test_vit_bit_identical_1_vs_2_threads),
        cmocka_unit_test(test_vit_learns_synthetic_task),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
