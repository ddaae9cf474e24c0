/* tests/test_torch_refs.c — tapegrad against PyTorch reference values
 * stored in tests/data/torch_refs.safetensors (made by
 * scripts/gen_torch_refs.py, which says what each case is): GELU, masked
 * softmax, LayerNorm, cross-entropy, multi-head self- and cross-attention,
 * pre- and post-LN encoder blocks and a pre-LN decoder block.  Outputs and
 * the gradients of loss = sum(out · R) with respect to inputs and weights,
 * max |Δ| / max |ref| ≤ 1e-5 per tensor.  Needs no torch: the values were
 * computed once in float64 and stored as float32.  The weights are stored
 * under tapegrad's names (converted by scripts/tg2torch.py), so this is
 * also a check of that mapping (packed in_proj, linear1/2, norm1/2/3). */
#include <math.h>

#include "tests/helpers/testutil.h"
#include "train/checkpoint.h"

#define REFS "tests/data/torch_refs.safetensors"
#define TOL 1e-5

/* A case's weights (ps: the tapegrad module) and its named inputs, results
 * and reference gradients (io), read from REFS.  The io tensors are
 * parameters too, so an input's gradient lands in its ->grad. */
typedef struct {
    const char *name;
    tg_params ps, io;
    tg_tape *tp;
    tg_rng rng;
    double worst; /* worst relative error so far */
    char where[TG_PARAM_NAME_MAX + 8];
} ref_case;

static void case_begin(ref_case *c, const char *name) {
    memset(c, 0, sizeof *c);
    c->name = name;
    tg_params_init(&c->ps);
    tg_params_init(&c->io);
    tg_rng_seed(&c->rng, 1);
    c->tp = tg_tape_new(0);
}

/* Declares io tensor "<case>.<what>" of this shape (before case_load). */
static void io_decl(ref_case *c, const char *what, int ndim, const int *shape) {
    tg_params_new(&c->io, ndim, shape, "%s.%s", c->name, what);
}

static tg_tensor *io(ref_case *c, const char *fmt_what) {
    char name[TG_PARAM_NAME_MAX];
    snprintf(name, sizeof name, "%s.%s", c->name, fmt_what);
    tg_tensor *t = tg_params_find(&c->io, name);
    if (!t) fail_msg("%s: no io tensor %s", c->name, name);
    return t;
}

/* Declares "grad.<case>.<in>" for each input already declared (not R, out,
 * masks) and "grad.<w>" for each weight, then loads everything from REFS. */
static void case_load(ref_case *c, int n_inputs, const char *const *inputs) {
    for (int i = 0; i < n_inputs; i++) {
        const tg_tensor *x = io(c, inputs[i]);
        tg_params_new(&c->io, x->ndim, x->shape, "grad.%s.%s", c->name, inputs[i]);
    }
    int n_w = c->ps.n;
    for (int i = 0; i < n_w; i++)
        tg_params_new(&c->io, c->ps.t[i]->ndim, c->ps.t[i]->shape, "grad.%s", c->ps.t[i]->name);
    tg_checkpoint_extra ex = {.flags = TG_CKPT_IGNORE_UNKNOWN};
    if (tg_checkpoint_load(REFS, &c->io, &ex) != TG_OK) fail_msg("%s", tg_last_error());
    tg_checkpoint_extra_free(&ex);
    if (c->ps.n) {
        tg_checkpoint_extra ex2 = {.flags = TG_CKPT_IGNORE_UNKNOWN};
        if (tg_checkpoint_load(REFS, &c->ps, &ex2) != TG_OK) fail_msg("%s", tg_last_error());
        tg_checkpoint_extra_free(&ex2);
    }
    tg_params_zero_grad(&c->io);
    tg_params_zero_grad(&c->ps);
}

static double rel_err(const float *got, const float *ref, int64_t n, double *ref_max) {
    double d = 0, m = 0;
    for (int64_t i = 0; i < n; i++) {
        d = fmax(d, fabs((double)got[i] - ref[i]));
        m = fmax(m, fabs(ref[i]));
    }
    if (ref_max) *ref_max = m;
    return d / (m > 0 ? m : 1);
}

static void note(ref_case *c, const char *what, double e) {
    if (e > c->worst || !isfinite(e)) {
        c->worst = isfinite(e) ? e : INFINITY;
        snprintf(c->where, sizeof c->where, "%s", what);
    }
}

static void check_out(ref_case *c, const tg_tensor *out) {
    const tg_tensor *ref = io(c, "out");
    assert_int_equal(out->size, ref->size);
    note(c, "out", rel_err(out->data, ref->data, out->size, NULL));
}

/* loss = Σ out·R, backward. */
static void backward_weighted(ref_case *c, tg_tensor *out) {
    assert_int_equal(tg_backward(c->tp, tg_sum(c->tp, tg_mul(c->tp, out, io(c, "R")))), TG_OK);
}

/* The key projection's bias has no gradient in exact arithmetic (softmax
 * ignores a constant per row): its computed gradient is rounding noise and
 * is checked against the case's largest gradient instead. */
static int zero_grad_name(const char *name) {
    size_t n = strlen(name);
    return n >= 8 && strcmp(name + n - 8, "w_k.bias") == 0;
}

static void check_grads(ref_case *c, int n_inputs, const char *const *inputs) {
    char name[TG_PARAM_NAME_MAX + 8];
    double scale = 0, zero = 0, m;
    for (int i = 0; i < n_inputs; i++) {
        const tg_tensor *x = io(c, inputs[i]);
        snprintf(name, sizeof name, "grad.%s.%s", c->name, inputs[i]);
        const tg_tensor *ref = tg_params_find(&c->io, name);
        note(c, name, rel_err(x->grad, ref->data, x->size, &m));
        scale = fmax(scale, m);
    }
    for (int i = 0; i < c->ps.n; i++) {
        const tg_tensor *w = c->ps.t[i];
        snprintf(name, sizeof name, "grad.%s", w->name);
        const tg_tensor *ref = tg_params_find(&c->io, name);
        double e = rel_err(w->grad, ref->data, w->size, &m);
        if (!zero_grad_name(w->name)) note(c, name, e), scale = fmax(scale, m);
    }
    for (int i = 0; i < c->ps.n; i++)
        if (zero_grad_name(c->ps.t[i]->name)) {
            const tg_tensor *w = c->ps.t[i];
            for (int64_t j = 0; j < w->size; j++) zero = fmax(zero, fabs(w->grad[j]) / scale);
            note(c, w->name, zero);
        }
}

static void case_end(ref_case *c) {
    printf("  %-10s worst %.2e (%s)\n", c->name, c->worst, c->where);
    int ok = c->worst <= TOL;
    tg_tape_free(c->tp);
    tg_params_free(&c->ps);
    tg_params_free(&c->io);
    if (!ok) fail_msg("%s: relative error %.3g > %g at %s", c->name, c->worst, TOL, c->where);
}

/* A [B, L] 0/1 float tensor as the bytes of a key padding mask. */
static void to_mask(const tg_tensor *t, uint8_t *m) {
    for (int64_t i = 0; i < t->size; i++) m[i] = t->data[i] > 0.5f;
}

/* The usual end of a case: out against the reference, backward of Σ out·R,
 * every gradient against its reference, the report. */
static void case_finish(ref_case *c, tg_tensor *out, int n_inputs, const char *const *inputs) {
    check_out(c, out);
    backward_weighted(c, out);
    check_grads(c, n_inputs, inputs);
    case_end(c);
}

/* Declares the key padding [B, Lk], R and out [B, Lq, D] of an attention
 * case (b, lq, lk, d: B, Lq, Lk, D), loads, and returns the padding as
 * bytes in real[B·Lk]. */
static void attention_io(ref_case *c, int b, int lq, int lk, int d, int n_inputs,
                         const char *const *inputs, uint8_t *real) {
    io_decl(c, "key_padding", TG_SHAPE(b, lk));
    io_decl(c, "R", TG_SHAPE(b, lq, d));
    io_decl(c, "out", TG_SHAPE(b, lq, d));
    case_load(c, n_inputs, inputs);
    to_mask(io(c, "key_padding"), real);
}

/* ---- ops ------------------------------------------------------------------ */

static void test_gelu(void **state) {
    (void)state;
    ref_case c;
    case_begin(&c, "gelu");
    static const char *const in[] = {"x"};
    io_decl(&c, "x", TG_SHAPE(4, 16));
    io_decl(&c, "R", TG_SHAPE(4, 16));
    io_decl(&c, "out", TG_SHAPE(4, 16));
    case_load(&c, 1, in);
    tg_tensor *y = tg_gelu(c.tp, io(&c, "x"));
    case_finish(&c, y, 1, in);
}

static void test_softmax(void **state) {
    (void)state;
    ref_case c;
    case_begin(&c, "softmax");
    static const char *const in[] = {"x"};
    io_decl(&c, "x", TG_SHAPE(3, 9));
    io_decl(&c, "blocked", TG_SHAPE(3, 9)); /* 1 where the key is masked out */
    io_decl(&c, "R", TG_SHAPE(3, 9));
    io_decl(&c, "out", TG_SHAPE(3, 9));
    case_load(&c, 1, in);
    tg_tensor *mask = io(&c, "blocked"); /* -> the additive mask, in place */
    for (int64_t i = 0; i < mask->size; i++) mask->data[i] = mask->data[i] > 0.5f ? -INFINITY : 0.0f;
    tg_tensor *y = tg_softmax(c.tp, io(&c, "x"), mask);
    case_finish(&c, y, 1, in);
}

static void test_layernorm(void **state) {
    (void)state;
    ref_case c;
    case_begin(&c, "layernorm");
    tg_layernorm_layer ln;
    tg_layernorm_layer_init(&ln, &c.ps, "layernorm", 12, TG_NN_BIAS);
    static const char *const in[] = {"x"};
    io_decl(&c, "x", TG_SHAPE(5, 12));
    io_decl(&c, "R", TG_SHAPE(5, 12));
    io_decl(&c, "out", TG_SHAPE(5, 12));
    case_load(&c, 1, in);
    tg_tensor *y = tg_layernorm_layer_forward(c.tp, &ln, io(&c, "x"));
    case_finish(&c, y, 1, in);
}

static void test_cross_entropy(void **state) {
    (void)state;
    ref_case c;
    case_begin(&c, "xent");
    static const char *const in[] = {"logits"};
    io_decl(&c, "logits", TG_SHAPE(6, 7));
    io_decl(&c, "targets", TG_SHAPE(6));
    io_decl(&c, "out", TG_SHAPE(1));
    case_load(&c, 1, in);
    int32_t targets[6];
    for (int i = 0; i < 6; i++) targets[i] = (int32_t)io(&c, "targets")->data[i];
    tg_tensor *loss = tg_cross_entropy(c.tp, io(&c, "logits"), targets, -1, TG_SUM);
    check_out(&c, loss);
    assert_int_equal(tg_backward(c.tp, loss), TG_OK);
    check_grads(&c, 1, in);
    case_end(&c);
}

/* ---- attention and blocks (d_model 16, 4 heads, MLP 32) ------------------- */

enum { D = 16, H = 4, FF = 32, B = 2, LS = 5, LT = 4 };

static void test_mha_self(void **state) {
    (void)state;
    ref_case c;
    case_begin(&c, "mha");
    tg_mha a;
    tg_mha_init(&a, &c.ps, "mha.self_attn", D, H, TG_NN_BIAS, &c.rng);
    static const char *const in[] = {"x"};
    io_decl(&c, "x", TG_SHAPE(B, LS, D));
    uint8_t real[B * LS];
    attention_io(&c, B, LS, LS, D, 1, in, real);
    tg_attn_mask m = {.key_padding = real};
    tg_tensor *y = tg_mha_forward(c.tp, &a, io(&c, "x"), io(&c, "x"), &m);
    case_finish(&c, y, 1, in);
}

static void test_mha_cross(void **state) {
    (void)state;
    ref_case c;
    case_begin(&c, "xattn");
    tg_mha a;
    tg_mha_init(&a, &c.ps, "xattn.cross_attn", D, H, TG_NN_BIAS, &c.rng);
    static const char *const in[] = {"q", "kv"};
    io_decl(&c, "q", TG_SHAPE(B, LT, D));
    io_decl(&c, "kv", TG_SHAPE(B, LS, D));
    uint8_t real[B * LS];
    attention_io(&c, B, LT, LS, D, 2, in, real);
    tg_attn_mask m = {.key_padding = real};
    tg_tensor *y = tg_mha_forward(c.tp, &a, io(&c, "q"), io(&c, "kv"), &m);
    case_finish(&c, y, 2, in);
}

static void encoder_case(const char *name, int pre_ln) {
    ref_case c;
    case_begin(&c, name);
    tg_block_config cfg = {.d_model = D, .n_heads = H, .d_ff = FF, .pre_ln = pre_ln,
                           .flags = TG_NN_BIAS};
    tg_encoder_block blk;
    tg_encoder_block_init(&blk, &c.ps, name, &cfg, &c.rng);
    static const char *const in[] = {"x"};
    io_decl(&c, "x", TG_SHAPE(B, LS, D));
    uint8_t real[B * LS];
    attention_io(&c, B, LS, LS, D, 1, in, real);
    tg_attn_mask m = {.key_padding = real};
    tg_tensor *y = tg_encoder_block_forward(c.tp, &blk, io(&c, "x"), &m);
    case_finish(&c, y, 1, in);
}

static void test_encoder_pre_ln(void **state) {
    (void)state;
    encoder_case("enc", 1);
}

static void test_encoder_post_ln(void **state) {
    (void)state;
    encoder_case("enc_post", 0);
}

static void test_decoder_pre_ln(void **state) {
    (void)state;
    ref_case c;
    case_begin(&c, "dec");
    tg_block_config cfg = {.d_model = D, .n_heads = H, .d_ff = FF, .pre_ln = 1, .flags = TG_NN_BIAS};
    tg_decoder_block blk;
    tg_decoder_block_init(&blk, &c.ps, "dec", &cfg, &c.rng);
    static const char *const in[] = {"y", "memory"};
    io_decl(&c, "y", TG_SHAPE(B, LT, D));
    io_decl(&c, "memory", TG_SHAPE(B, LS, D));
    io_decl(&c, "tgt_padding", TG_SHAPE(B, LT));
    uint8_t tgt[B * LT], src[B * LS];
    attention_io(&c, B, LT, LS, D, 2, in, src);
    to_mask(io(&c, "tgt_padding"), tgt);
    tg_attn_mask self = {.causal = 1, .key_padding = tgt}, cross = {.key_padding = src};
    tg_tensor *y = tg_decoder_block_forward(c.tp, &blk, io(&c, "y"), io(&c, "memory"), &self, &cross);
    case_finish(&c, y, 2, in);
}

int main(void) {
    printf("max |tapegrad - torch| / max |torch| per tensor, tolerance %g (%s)\n", TOL, REFS);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gelu),           cmocka_unit_test(test_softmax),
        cmocka_unit_test(test_layernorm),      cmocka_unit_test(test_cross_entropy),
        cmocka_unit_test(test_mha_self),       cmocka_unit_test(test_mha_cross),
        cmocka_unit_test(test_encoder_pre_ln), cmocka_unit_test(test_encoder_post_ln),
        cmocka_unit_test(test_decoder_pre_ln),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
