/* tests/test_nn.c — the layers of nn/: Linear, LayerNorm, Embedding,
 * Dropout, MLP, positional encodings, single-head and multi-head attention
 * (each kind of mask, cross-attention), encoder and decoder blocks in pre-LN
 * and post-LN.  Finite-difference gradient checks of inputs AND parameters
 * (parameters are TG_REQUIRES_GRAD tensors with a grad buffer, passed in the
 * inputs array); the sinusoidal table against the formula; parameter names;
 * init ranges; error messages.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/attention.h"
#include "nn/layers.h"
#include "nn/linear.h"
#include "core/params.h"
#include "nn/posenc.h"
#include "nn/transformer.h"
#include "tests/helpers/testutil.h"

/* Gives every parameter random N(0, s²) values (LayerNorm's 1/0 init would
 * hide a wrong gain or bias gradient). */
static void jitter_params(tg_params *ps, tg_rng *rng, float s) {
    for (int i = 0; i < ps->n; i++)
        for (int64_t j = 0; j < ps->t[i]->size; j++) ps->t[i]->data[j] += s * tg_rng_normal(rng);
}

/* Attention layers and blocks compute in float32 through several GEMMs and
 * softmaxes: with the default step h = 1e-3 the rounding noise of the
 * central difference (~1e-4 absolute here) exceeds tol·floor on gradients
 * that are exactly 0 (e.g. the key bias: softmax ignores a per-row shift).
 * A step of 1e-2 puts the noise ~10x lower; the truncation error O(h²)
 * stays well below the tolerance for these smooth functions. */
static const tg_gradcheck_opts DEEP = {.h = 1e-2, .tol = 1e-2, .floor = 1e-2, .max_per_input = 256, .seed = 1};
/* The same for the blocks, checking a random 48 elements of each of their
 * 16-26 parameters and inputs (keeps the test at a few seconds under ASan). */
static const tg_gradcheck_opts BLOCK = {.h = 1e-2, .tol = 1e-2, .floor = 1e-2, .max_per_input = 48, .seed = 1};

/* ---- Linear --------------------------------------------------------------- */

static tg_tensor *linear_fn(tg_tape *tp, tg_tensor *const *x, int n, void *user) {
    (void)n;
    return tg_linear_forward(tp, user, x[0]);
}

static void test_linear(void **state) {
    (void)state;
    tg_rng rng;
    tg_rng_seed(&rng, 1);
    tg_params ps;
    tg_params_init(&ps);
    tg_linear fc;
    tg_linear_init(&fc, &ps, "fc", 5, 4, TG_NN_BIAS, &rng);
    assert_string_equal(ps.t[0]->name, "fc.weight");
    assert_string_equal(ps.t[1]->name, "fc.bias");
    assert_int_equal(fc.weight->shape[0], 4);
    assert_int_equal(fc.weight->shape[1], 5);
    float bound = 1.0f / sqrtf(5.0f);
    for (int64_t i = 0; i < fc.weight->size; i++) assert_true(fabsf(fc.weight->data[i]) <= bound);
    for (int64_t i = 0; i < fc.bias->size; i++) assert_true(fabsf(fc.bias->data[i]) <= bound);
    tg_tensor *x = tu_randn_grad(&rng, TG_SHAPE(2, 3, 5));
    tg_tensor *in[8] = {x};
    TU_GRADCHECK("linear [2, 3, 5] -> [2, 3, 4] (x, weight, bias)", linear_fn,
                 tu_with_params(in, 1, &ps), in, &fc, NULL);
    /* no bias, Xavier */
    tg_linear nb;
    tg_linear_init(&nb, &ps, "nb", 5, 3, TG_NN_XAVIER, &rng);
    assert_null(nb.bias);
    float xb = sqrtf(6.0f / 8.0f);
    for (int64_t i = 0; i < nb.weight->size; i++) assert_true(fabsf(nb.weight->data[i]) <= xb);
    TU_GRADCHECK("linear without bias", linear_fn, 2, ((tg_tensor *[]){x, nb.weight}), &nb, NULL);
    tg_tape *tp = tg_tape_new(0);
    tg_tensor *bad = tg_tensor_new(TG_SHAPE(2, 6));
    TU_EXPECT_DEATH(tg_linear_forward(tp, &fc, bad),
                    "tg_linear_forward: fc.weight: x is [2, 6], expected last dim 5");
    tg_tape_free(tp);
    tg_tensor_free(bad);
    tg_tensor_free(x);
    tg_params_free(&ps);
}

/* ---- LayerNorm, Embedding, Dropout ---------------------------------------- */

static tg_tensor *ln_fn(tg_tape *tp, tg_tensor *const *x, int n, void *user) {
    (void)n;
    return tg_layernorm_layer_forward(tp, user, x[0]);
}

static void test_layernorm_layer(void **state) {
    (void)state;
    tg_rng rng;
    tg_rng_seed(&rng, 2);
    tg_params ps;
    tg_params_init(&ps);
    tg_layernorm_layer ln;
    tg_layernorm_layer_init(&ln, &ps, "ln", 6, TG_NN_BIAS);
    assert_string_equal(ln.weight->name, "ln.weight");
    assert_string_equal(ln.bias->name, "ln.bias");
    assert_true(ln.eps == 1e-5f);
    for (int i = 0; i < 6; i++) assert_true(ln.weight->data[i] == 1.0f && ln.bias->data[i] == 0.0f);
    jitter_params(&ps, &rng, 0.5f);
    tg_tensor *x = tu_randn_grad(&rng, TG_SHAPE(2, 3, 6));
    tg_tensor *in[4] = {x};
    TU_GRADCHECK("layernorm layer (x, weight, bias)", ln_fn, tu_with_params(in, 1, &ps), in, &ln, NULL);
    tg_tensor_free(x);
    tg_params_free(&ps);
}

typedef struct {
    tg_embedding_layer *e;
    const int32_t *ids;
} emb_user;

static tg_tensor *emb_fn(tg_tape *tp, tg_tensor *const *x, int n, void *user) {
    (void)x;
    (void)n;
    const emb_user *u = user;
    return tg_embedding_layer_forward(tp, u->e, u->ids, TG_SHAPE(2, 4));
}

static void test_embedding_layer(void **state) {
    (void)state;
    tg_rng rng;
    tg_rng_seed(&rng, 3);
    tg_params ps;
    tg_params_init(&ps);
    tg_embedding_layer e;
    tg_embedding_layer_init(&e, &ps, "tok_embed", 7, 5, &rng);
    assert_string_equal(e.weight->name, "tok_embed.weight");
    double mean = 0.0, var = 0.0;
    for (int64_t i = 0; i < e.weight->size; i++) mean += e.weight->data[i];
    mean /= (double)e.weight->size;
    for (int64_t i = 0; i < e.weight->size; i++) var += pow(e.weight->data[i] - mean, 2);
    var /= (double)e.weight->size;
    assert_true(fabs(mean) < 0.5 && var > 0.4 && var < 2.0); /* N(0, 1) */
    static const int32_t ids[8] = {1, 3, 3, 0, 6, 1, 1, 2}; /* repeats accumulate */
    emb_user u = {&e, ids};
    TU_GRADCHECK("embedding layer (weight, repeated ids)", emb_fn, 1, ((tg_tensor *[]){e.weight}),
                 &u, NULL);
    tg_params_free(&ps);
}

static void test_dropout_layer(void **state) {
    (void)state;
    tg_rng rng, drng;
    tg_rng_seed(&rng, 4);
    tg_rng_seed(&drng, 99);
    tg_dropout_layer d;
    tg_dropout_layer_init(&d, 0.5f, &drng);
    tg_tensor *x = tu_randn(&rng, TG_SHAPE(4, 50));
    tg_tape *tp = tg_tape_new(0);
    tg_tensor *y = tg_dropout_layer_forward(tp, &d, x);
    int zeros = 0;
    for (int64_t i = 0; i < x->size; i++) {
        if (y->data[i] == 0.0f) zeros++;
        else assert_true(fabsf(y->data[i] - 2.0f * x->data[i]) < 1e-6f);
    }
    assert_true(zeros > 60 && zeros < 140);
    tg_tape_set_training(tp, 0);
    assert_ptr_equal(tg_dropout_layer_forward(tp, &d, x), x); /* evaluation: identity */
    TU_EXPECT_DEATH(tg_dropout_layer_init(&d, 1.0f, &drng), "tg_dropout_layer_init: p must be in [0, 1), got 1");
    TU_EXPECT_DEATH(tg_dropout_layer_init(&d, 0.1f, NULL), "tg_dropout_layer_init: p = 0.1 needs an rng");
    tg_tape_free(tp);
    tg_tensor_free(x);
}

/* ---- MLP, positional encodings -------------------------------------------- */

static tg_tensor *mlp_fn(tg_tape *tp, tg_tensor *const *x, int n, void *user) {
    (void)n;
    return tg_mlp_forward(tp, user, x[0]);
}

static void test_mlp(void **state) {
    (void)state;
    tg_rng rng;
    tg_rng_seed(&rng, 5);
    tg_params ps;
    tg_params_init(&ps);
    tg_mlp m;
    tg_mlp_init(&m, &ps, "mlp", 4, 10, TG_NN_BIAS, 0.0f, &rng);
    static const char *names[] = {"mlp.fc1.weight", "mlp.fc1.bias", "mlp.fc2.weight", "mlp.fc2.bias"};
    assert_int_equal(ps.n, 4);
    for (int i = 0; i < 4; i++) assert_string_equal(ps.t[i]->name, names[i]);
    tg_tensor *x = tu_randn_grad(&rng, TG_SHAPE(3, 2, 4));
    tg_tensor *in[8] = {x};
    TU_GRADCHECK("mlp Linear-GELU-Linear (x, 4 parameters)", mlp_fn, tu_with_params(in, 1, &ps), in,
                 &m, NULL);
    tg_tensor_free(x);
    tg_params_free(&ps);
}

static void test_posenc_sinusoidal(void **state) {
    (void)state;
    int T = 50, C = 7; /* odd C: the last column is a sin */
    float *tab = malloc((size_t)T * C * sizeof *tab);
    tg_posenc_sinusoidal_table(tab, T, C);
    double worst = 0.0;
    for (int pos = 0; pos < T; pos++)
        for (int i = 0; 2 * i < C; i++) {
            double ang = pos / pow(10000.0, 2.0 * i / C);
            worst = fmax(worst, fabs(tab[pos * C + 2 * i] - sin(ang)));
            if (2 * i + 1 < C) worst = fmax(worst, fabs(tab[pos * C + 2 * i + 1] - cos(ang)));
        }
    printf("  sinusoidal table [50, 7] vs sin/cos(pos / 10000^(2i/C)): max |diff| %.2e\n", worst);
    assert_true(worst < 1e-6);
    /* hand values: PE(0) = (0, 1, 0, 1, ...), PE(1, 0) = sin 1, PE(1, 1) = cos 1 */
    assert_true(tab[0] == 0.0f && tab[1] == 1.0f && tab[2] == 0.0f && tab[3] == 1.0f);
    assert_true(fabsf(tab[C] - sinf(1.0f)) < 1e-7f && fabsf(tab[C + 1] - cosf(1.0f)) < 1e-7f);
    /* the forward adds it to every batch entry */
    tg_rng rng;
    tg_rng_seed(&rng, 6);
    tg_tensor *x = tu_randn(&rng, TG_SHAPE(2, 10, C));
    tg_tape *tp = tg_tape_new(0);
    tg_tensor *y = tg_posenc_sinusoidal(tp, x);
    for (int b = 0; b < 2; b++)
        for (int i = 0; i < 10 * C; i++)
            assert_true(fabsf(y->data[b * 10 * C + i] - (x->data[b * 10 * C + i] + tab[i])) < 1e-6f);
    tg_tape_free(tp);
    tg_tensor_free(x);
    free(tab);
}

static tg_tensor *posenc_fn(tg_tape *tp, tg_tensor *const *x, int n, void *user) {
    (void)n;
    return tg_posenc_learned_forward(tp, user, x[0]);
}

static void test_posenc_learned(void **state) {
    (void)state;
    tg_rng rng;
    tg_rng_seed(&rng, 7);
    tg_params ps;
    tg_params_init(&ps);
    tg_posenc_learned pe;
    tg_posenc_learned_init(&pe, &ps, "pos_embed", 9, 4, &rng);
    assert_string_equal(pe.weight->name, "pos_embed.weight");
    tg_tensor *x = tu_randn_grad(&rng, TG_SHAPE(2, 6, 4)); /* T = 6 < max_len = 9 */
    TU_GRADCHECK("learned posenc, T < max_len (x, weight)", posenc_fn, 2,
                 ((tg_tensor *[]){x, pe.weight}), &pe, NULL);
    /* rows T.. of the table get no gradient */
    for (int64_t i = 6 * 4; i < pe.weight->size; i++) assert_true(pe.weight->grad[i] == 0.0f);
    tg_tape *tp = tg_tape_new(0);
    tg_tensor *big = tg_tensor_new(TG_SHAPE(1, 10, 4));
    TU_EXPECT_DEATH(tg_posenc_learned_forward(tp, &pe, big),
                    "tg_posenc_learned_forward: x is [1, 10, 4], expected [..., T, 4] with T <= max_len 9");
    tg_tape_free(tp);
    tg_tensor_free(big);
    tg_tensor_free(x);
    tg_params_free(&ps);
}

/* ---- attention layers ------------------------------------------------------- */

typedef struct {
    tg_self_attention *sa;
    tg_mha *mha;
    const tg_attn_mask *m;
    int cross; /* x[1] is the key/value sequence */
} attn_user;

static tg_tensor *sa_fn(tg_tape *tp, tg_tensor *const *x, int n, void *user) {
    (void)n;
    const attn_user *u = user;
    return tg_self_attention_forward(tp, u->sa, x[0], u->m);
}

static tg_tensor *mha_fn(tg_tape *tp, tg_tensor *const *x, int n, void *user) {
    (void)n;
    const attn_user *u = user;
    return tg_mha_forward(tp, u->mha, x[0], u->cross ? x[1] : x[0], u->m);
}

static void test_single_head_attention(void **state) {
    (void)state;
    tg_rng rng;
    tg_rng_seed(&rng, 8);
    tg_params ps;
    tg_params_init(&ps);
    tg_self_attention sa;
    tg_self_attention_init(&sa, &ps, "attn", 6, 4, 5, &rng);
    assert_string_equal(ps.t[0]->name, "attn.w_q");
    assert_string_equal(ps.t[2]->name, "attn.w_v");
    assert_int_equal(sa.w_v->shape[1], 5);
    tg_tensor *x = tu_randn_grad(&rng, TG_SHAPE(2, 5, 6));
    tg_tensor *in[4] = {x};
    int n = tu_with_params(in, 1, &ps);
    attn_user u = {.sa = &sa};
    for (int composed = 0; composed < 2; composed++) {
        sa.use_composed = composed;
        TU_GRADCHECK(composed ? "single-head attention, composed (x, W_q, W_k, W_v)"
                              : "single-head attention, fused (x, W_q, W_k, W_v)",
                     sa_fn, n, in, &u, &DEEP);
    }
    tg_attn_mask causal = {.causal = 1};
    u.m = &causal;
    TU_GRADCHECK("single-head attention, causal", sa_fn, n, in, &u, &DEEP);
    tg_tensor_free(x);
    tg_params_free(&ps);
}

static void test_mha_masks(void **state) {
    (void)state;
    enum { B = 2, L = 5, C = 8, H = 2 };
    static const uint8_t kp[B * L] = {1, 1, 1, 1, 1, 1, 1, 0, 0, 0};
    static uint8_t adj[L * L]; /* a ring graph with self loops; node 4 sees nobody */
    for (int i = 0; i < L; i++)
        for (int j = 0; j < L; j++) adj[i * L + j] = i != 4 && (abs(i - j) <= 1 || abs(i - j) == L - 1);
    const struct {
        const char *name;
        tg_attn_mask m;
    } masks[] = {
        {"no mask", {0}},
        {"key padding", {.key_padding = kp}},
        {"causal", {.causal = 1}},
        {"window 1", {.window = 1}},
        {"boolean (graph)", {.allowed = adj}},
    };
    tg_rng rng;
    tg_rng_seed(&rng, 9);
    tg_params ps;
    tg_params_init(&ps);
    tg_mha mha;
    tg_mha_init(&mha, &ps, "attn", C, H, TG_NN_BIAS, &rng);
    jitter_params(&ps, &rng, 0.1f); /* nonzero biases */
    assert_int_equal(ps.n, 8);
    assert_int_equal(mha.head_dim, 4);
    tg_tensor *x = tu_randn_grad(&rng, TG_SHAPE(B, L, C));
    tg_tensor *in[16] = {x};
    int n = tu_with_params(in, 1, &ps);
    for (int k = 0; k < 5; k++)
        for (int composed = 0; composed < 2; composed++) {
            mha.use_composed = composed;
            attn_user u = {.mha = &mha, .m = &masks[k].m};
            char name[96];
            snprintf(name, sizeof name, "multi-head self-attention, %s, %s (x, 8 parameters)",
                     masks[k].name, composed ? "composed" : "fused");
            TU_GRADCHECK(name, mha_fn, n, in, &u, &DEEP);
        }
    tg_tensor_free(x);
    tg_params_free(&ps);
}

static void test_cross_attention(void **state) {
    (void)state;
    enum { B = 2, Lq = 3, Lk = 6, C = 6, H = 3 };
    static const uint8_t kp[B * Lk] = {1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0};
    tg_attn_mask m = {.key_padding = kp};
    tg_rng rng;
    tg_rng_seed(&rng, 10);
    tg_params ps;
    tg_params_init(&ps);
    tg_mha mha;
    tg_mha_init(&mha, &ps, "cross", C, H, TG_NN_BIAS, &rng);
    jitter_params(&ps, &rng, 0.1f);
    tg_tensor *xq = tu_randn_grad(&rng, TG_SHAPE(B, Lq, C)), *xkv = tu_randn_grad(&rng, TG_SHAPE(B, Lk, C));
    tg_tensor *in[16] = {xq, xkv};
    int n = tu_with_params(in, 2, &ps);
    attn_user u = {.mha = &mha, .m = &m, .cross = 1};
    TU_GRADCHECK("cross-attention Lq=3, Lk=6, key padding, fused (x_q, x_kv, 8 parameters)", mha_fn,
                 n, in, &u, &DEEP);
    mha.use_composed = 1;
    TU_GRADCHECK("cross-attention, composed", mha_fn, n, in, &u, &DEEP);
    /* store_weights: [B, H, Lq, Lk], rows sum to 1, padding columns 0 */
    tg_tape *tp = tg_tape_new(0);
    for (int composed = 0; composed < 2; composed++) {
        mha.use_composed = composed;
        mha.store_weights = 1;
        tg_mha_forward(tp, &mha, xq, xkv, &m);
        tg_tensor *w = mha.weights;
        assert_non_null(w);
        assert_int_equal(w->ndim, 4);
        assert_int_equal(w->shape[1], H);
        assert_int_equal(w->shape[3], Lk);
        for (int r = 0; r < B * H * Lq; r++) {
            int b = r / (H * Lq);
            double s = 0.0;
            for (int j = 0; j < Lk; j++) {
                s += w->data[r * Lk + j];
                if (!kp[b * Lk + j]) assert_true(w->data[r * Lk + j] == 0.0f);
            }
            assert_true(fabs(s - 1.0) < 1e-5);
        }
    }
    tg_tensor *bad = tg_tensor_new(TG_SHAPE(B, Lk, 4));
    TU_EXPECT_DEATH(tg_mha_forward(tp, &mha, xq, bad, NULL),
                    "tg_mha_forward: cross.w_q.weight: x_q is [2, 3, 6], x_kv is [2, 6, 4]; "
                    "expected [B, Lq, 6] and [B, Lk, 6]");
    tg_tensor_free(bad);
    tg_tape_free(tp);
    tg_tensor_free(xq);
    tg_tensor_free(xkv);
    tg_params_free(&ps);
}

static void test_mha_errors(void **state) {
    (void)state;
    tg_rng rng;
    tg_rng_seed(&rng, 11);
    tg_params ps;
    tg_params_init(&ps);
    tg_mha mha;
    TU_EXPECT_DEATH(tg_mha_init(&mha, &ps, "enc.attn", 10, 3, 0, &rng),
                    "tg_mha_init: enc.attn: d_model = 10 is not divisible by n_heads = 3");
    tg_encoder_block blk;
    tg_block_config cfg = {.d_model = 8, .n_heads = 3, .d_ff = 16};
    TU_EXPECT_DEATH(tg_encoder_block_init(&blk, &ps, "enc", &cfg, &rng),
                    "d_model = 8 is not divisible by n_heads = 3");
    cfg.n_heads = 2;
    cfg.dropout = 0.1f;
    TU_EXPECT_DEATH(tg_encoder_block_init(&blk, &ps, "enc", &cfg, &rng),
                    "tg_encoder_block_init: enc: dropout must be in [0, 1) and needs cfg.rng");
    tg_params_free(&ps);
}

/* ---- blocks ------------------------------------------------------------------ */

typedef struct {
    tg_encoder_block *enc;
    tg_decoder_block *dec;
    const tg_attn_mask *m1, *m2;
} block_user;

static tg_tensor *enc_fn(tg_tape *tp, tg_tensor *const *x, int n, void *user) {
    (void)n;
    const block_user *u = user;
    return tg_encoder_block_forward(tp, u->enc, x[0], u->m1);
}

static tg_tensor *dec_fn(tg_tape *tp, tg_tensor *const *x, int n, void *user) {
    (void)n;
    const block_user *u = user;
    return tg_decoder_block_forward(tp, u->dec, x[0], x[1], u->m1, u->m2);
}

static void test_encoder_block(void **state) {
    (void)state;
    enum { B = 2, L = 4, C = 8 };
    static const uint8_t kp[B * L] = {1, 1, 1, 1, 1, 1, 0, 0};
    tg_attn_mask m = {.key_padding = kp};
    for (int pre = 0; pre < 2; pre++) {
        tg_rng rng;
        tg_rng_seed(&rng, 12 + pre);
        tg_params ps;
        tg_params_init(&ps);
        tg_block_config cfg = {.d_model = C, .n_heads = 2, .d_ff = 12, .pre_ln = pre,
                               .flags = TG_NN_BIAS};
        tg_encoder_block enc;
        tg_encoder_block_init(&enc, &ps, "encoder.layers.0", &cfg, &rng);
        if (pre == 0) {
            static const char *want[] = {
                "encoder.layers.0.self_attn.w_q.weight", "encoder.layers.0.self_attn.w_q.bias",
                "encoder.layers.0.self_attn.w_k.weight", "encoder.layers.0.self_attn.w_k.bias",
                "encoder.layers.0.self_attn.w_v.weight", "encoder.layers.0.self_attn.w_v.bias",
                "encoder.layers.0.self_attn.w_o.weight", "encoder.layers.0.self_attn.w_o.bias",
                "encoder.layers.0.ln1.weight",           "encoder.layers.0.ln1.bias",
                "encoder.layers.0.mlp.fc1.weight",       "encoder.layers.0.mlp.fc1.bias",
                "encoder.layers.0.mlp.fc2.weight",       "encoder.layers.0.mlp.fc2.bias",
                "encoder.layers.0.ln2.weight",           "encoder.layers.0.ln2.bias",
            };
            assert_int_equal(ps.n, 16);
            for (int i = 0; i < 16; i++) assert_string_equal(ps.t[i]->name, want[i]);
            /* 4·(C² + C) + 2·2C + (C·d_ff + d_ff) + (d_ff·C + C) */
            assert_int_equal(tg_params_count(&ps), 4 * (64 + 8) + 32 + (96 + 12) + (96 + 8));
        }
        jitter_params(&ps, &rng, 0.1f);
        tg_tensor *x = tu_randn_grad(&rng, TG_SHAPE(B, L, C));
        tg_tensor *in[24] = {x};
        int n = tu_with_params(in, 1, &ps);
        block_user u = {.enc = &enc, .m1 = &m};
        for (int composed = 0; composed < 2; composed++) {
            enc.self_attn.use_composed = composed;
            char name[96];
            snprintf(name, sizeof name, "encoder block %s, key padding, %s (x, 16 parameters)",
                     pre ? "pre-LN" : "post-LN", composed ? "composed" : "fused");
            TU_GRADCHECK(name, enc_fn, n, in, &u, &BLOCK);
        }
        tg_tensor_free(x);
        tg_params_free(&ps);
    }
}

static void test_decoder_block(void **state) {
    (void)state;
    enum { B = 2, Lt = 4, Ls = 5, C = 8 };
    static const uint8_t tgt[B * Lt] = {1, 1, 1, 1, 1, 1, 1, 0};
    static const uint8_t src[B * Ls] = {1, 1, 1, 1, 1, 1, 1, 0, 0, 0};
    tg_attn_mask self_m = {.causal = 1, .key_padding = tgt}, cross_m = {.key_padding = src};
    for (int pre = 0; pre < 2; pre++) {
        tg_rng rng;
        tg_rng_seed(&rng, 20 + pre);
        tg_params ps;
        tg_params_init(&ps);
        tg_block_config cfg = {.d_model = C, .n_heads = 2, .d_ff = 12, .pre_ln = pre,
                               .flags = TG_NN_BIAS};
        tg_decoder_block dec;
        tg_decoder_block_init(&dec, &ps, "decoder.layers.1", &cfg, &rng);
        assert_int_equal(ps.n, 26);
        assert_non_null(tg_params_find(&ps, "decoder.layers.1.cross_attn.w_k.weight"));
        assert_non_null(tg_params_find(&ps, "decoder.layers.1.ln3.bias"));
        jitter_params(&ps, &rng, 0.1f);
        tg_tensor *y = tu_randn_grad(&rng, TG_SHAPE(B, Lt, C));
        tg_tensor *mem = tu_randn_grad(&rng, TG_SHAPE(B, Ls, C));
        tg_tensor *in[32] = {y, mem};
        int n = tu_with_params(in, 2, &ps);
        block_user u = {.dec = &dec, .m1 = &self_m, .m2 = &cross_m};
        char name[112];
        snprintf(name, sizeof name,
                 "decoder block %s, causal+padding / src padding (y, memory, 26 parameters)",
                 pre ? "pre-LN" : "post-LN");
        TU_GRADCHECK(name, dec_fn, n, in, &u, &BLOCK);
        tg_tensor_free(y);
        tg_tensor_free(mem);
        tg_params_free(&ps);
    }
}

/* Dropout inside a block: training differs from evaluation, evaluation is
 * deterministic, and a reseeded rng reproduces the training output. */
static void test_block_dropout(void **state) {
    (void)state;
    tg_rng rng, drng;
    tg_rng_seed(&rng, 30);
    tg_params ps;
    tg_params_init(&ps);
    tg_block_config cfg = {.d_model = 8, .n_heads = 2, .d_ff = 16, .pre_ln = 1, .flags = TG_NN_BIAS,
                           .dropout = 0.3f, .rng = &drng};
    tg_encoder_block enc;
    tg_encoder_block_init(&enc, &ps, "enc", &cfg, &rng);
    tg_tensor *x = tu_randn(&rng, TG_SHAPE(2, 6, 8));
    tg_tape *tp = tg_tape_new(0);
    tg_rng_seed(&drng, 1);
    tg_tensor *a = tg_encoder_block_forward(tp, &enc, x, NULL);
    tg_rng_seed(&drng, 1);
    tg_tensor *b = tg_encoder_block_forward(tp, &enc, x, NULL);
    assert_memory_equal(a->data, b->data, (size_t)a->size * sizeof(float));
    tg_tape_set_training(tp, 0);
    tg_tensor *e = tg_encoder_block_forward(tp, &enc, x, NULL);
    assert_true(tu_max_abs_diff(a->data, e->data, a->size) > 1e-3);
    tg_tape_free(tp);
    tg_tensor_free(x);
    tg_params_free(&ps);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_linear),
        cmocka_unit_test(test_layernorm_layer),
        cmocka_unit_test(test_embedding_layer),
        cmocka_unit_test(test_dropout_layer),
        cmocka_unit_test(test_mlp),
        cmocka_unit_test(test_posenc_sinusoidal),
        cmocka_unit_test(test_posenc_learned),
        cmocka_unit_test(test_single_head_attention),
        cmocka_unit_test(test_mha_masks),
        cmocka_unit_test(test_cross_attention),
        cmocka_unit_test(test_mha_errors),
        cmocka_unit_test(test_encoder_block),
        cmocka_unit_test(test_decoder_block),
        cmocka_unit_test(test_block_dropout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
