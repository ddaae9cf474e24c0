/* tests/test_decode.c — nn/decode.h: the key/value cache and the searches.
 *   - cached steps equal the full (uncached) forward, row by row, to ~1e-5:
 *     a decoder-only stack (encoder blocks under a causal mask, pre-LN and
 *     post-LN) and encoder-decoder blocks with a padded source;
 *   - tg_kv_cache_reorder moves rows;
 *   - a recorded decoder step passes the right gradients into its input, its
 *     parameters, the cached K/V and the cross-attention K/V (tg_gradcheck);
 *   - no heap allocation per token after the first;
 *   - beam width 1 = greedy; beam search finds a sequence with a higher
 *     score than greedy on a hand-made Markov model, and honours max_len,
 *     length normalisation and eos;
 *   - argument errors abort with a message.
 */
#include <math.h>

#include "tests/helpers/testutil.h"

enum { C = 16, H = 4, D_FF = 32, NL = 2, V = 11, LMAX = 24 };

static void jitter_params(tg_params *ps, tg_rng *rng, float s) {
    for (int i = 0; i < ps->n; i++)
        for (int64_t j = 0; j < ps->t[i]->size; j++) ps->t[i]->data[j] += s * tg_rng_normal(rng);
}

/* ---- a decoder-only LM: embedding, learned positions, blocks, LN, tied head */
typedef struct {
    tg_params ps;
    tg_embedding_layer emb;
    tg_posenc_learned pos;
    tg_encoder_block blk[NL];
    tg_layernorm_layer ln_f;
    tg_kv_cache cache[NL];
} lm;

/* emb_std: the token embedding's N(0, σ²) init; the head is tied to it, so
 * a small σ gives flat next-token distributions (searches that differ). */
static void lm_init_std(lm *m, int pre_ln, unsigned flags, int B, uint64_t seed, float emb_std) {
    tg_rng rng;
    tg_rng_seed(&rng, seed);
    tg_params_init(&m->ps);
    tg_block_config cfg = {.d_model = C, .n_heads = H, .d_ff = D_FF, .pre_ln = pre_ln,
                           .flags = flags};
    tg_embedding_layer_init(&m->emb, &m->ps, "embed", V, C, &rng);
    tg_posenc_learned_init(&m->pos, &m->ps, "pos", LMAX, C, &rng);
    char name[64];
    for (int l = 0; l < NL; l++) {
        snprintf(name, sizeof name, "layers.%d", l);
        tg_encoder_block_init(&m->blk[l], &m->ps, name, &cfg, &rng);
        tg_kv_cache_init(&m->cache[l], LMAX, B, C, 0);
    }
    tg_layernorm_layer_init(&m->ln_f, &m->ps, "ln_f", C, flags);
    jitter_params(&m->ps, &rng, 0.1f);
    for (int64_t i = 0; i < m->emb.weight->size; i++) m->emb.weight->data[i] *= emb_std;
}

static void lm_init(lm *m, int pre_ln, unsigned flags, int B, uint64_t seed) {
    lm_init_std(m, pre_ln, flags, B, seed, 1.0f);
}

static void lm_free(lm *m) {
    for (int l = 0; l < NL; l++) tg_kv_cache_free(&m->cache[l]);
    tg_params_free(&m->ps);
}

/* logits [B, T, V] of the whole prefix ids [B, T] (the uncached form). */
static tg_tensor *lm_forward(tg_tape *tp, lm *m, const int32_t *ids, int B, int T) {
    tg_attn_mask causal = {.causal = 1};
    tg_tensor *x = tg_posenc_learned_forward(
        tp, &m->pos, tg_embedding_layer_forward(tp, &m->emb, ids, TG_SHAPE(B, T)));
    for (int l = 0; l < NL; l++) x = tg_encoder_block_forward(tp, &m->blk[l], x, &causal);
    x = tg_layernorm_layer_forward(tp, &m->ln_f, x);
    return tg_matmul(tp, x, m->emb.weight, 0, 1);
}

/* The tg_decoder step: one token per row at position cache[0].len. */
static tg_tensor *lm_step(tg_tape *tp, void *model, const int32_t *ids, int B) {
    lm *m = model;
    int pos = m->cache[0].len;
    tg_tensor *x = tg_posenc_learned_at(
        tp, &m->pos, tg_embedding_layer_forward(tp, &m->emb, ids, TG_SHAPE(B, 1)), pos);
    for (int l = 0; l < NL; l++) x = tg_encoder_block_step(tp, &m->blk[l], x, &m->cache[l]);
    x = tg_layernorm_layer_forward(tp, &m->ln_f, x);
    return tg_matmul(tp, x, m->emb.weight, 0, 1); /* [B, 1, V] */
}

static void lm_reorder(void *model, const int32_t *src, int B) {
    lm *m = model;
    (void)B;
    for (int l = 0; l < NL; l++) tg_kv_cache_reorder(&m->cache[l], src);
}

static void lm_reset(lm *m) {
    for (int l = 0; l < NL; l++) tg_kv_cache_reset(&m->cache[l]);
}

static void check_lm_cached_equals_uncached(int pre_ln, unsigned flags) {
    enum { B = 3, T = 13 };
    static lm m;
    lm_init(&m, pre_ln, flags, B, 11);
    tg_rng rng;
    tg_rng_seed(&rng, 5);
    int32_t ids[B * T];
    for (int i = 0; i < B * T; i++) ids[i] = (int32_t)tg_rng_below(&rng, V);
    tg_tape *tp = tg_tape_new(0), *tq = tg_tape_new(0);
    tg_tape_set_grad(tp, 0);
    tg_tape_set_grad(tq, 0);
    tg_tensor *full = lm_forward(tq, &m, ids, B, T); /* [B, T, V] */
    double worst = 0.0;
    for (int t = 0; t < T; t++) {
        int32_t col[B];
        for (int b = 0; b < B; b++) col[b] = ids[b * T + t];
        tg_tape_reset(tp);
        tg_tensor *lg = lm_step(tp, &m, col, B);
        assert_int_equal(tg_tape_n_nodes(tp), 0);
        for (int b = 0; b < B; b++) {
            double d = tu_max_abs_diff(lg->data + b * V, full->data + ((int64_t)b * T + t) * V, V);
            worst = d > worst ? d : worst;
        }
    }
    printf("decoder-only %s-LN%s: max |cached - uncached| logit = %.2e over %d steps\n",
           pre_ln ? "pre" : "post", flags ? " with biases" : "", worst, T);
    assert_true(worst < 1e-5);
    assert_int_equal(m.cache[0].len, T);
    tg_tape_free(tp);
    tg_tape_free(tq);
    lm_free(&m);
}

static void test_lm_cached_equals_uncached(void **state) {
    (void)state;
    check_lm_cached_equals_uncached(1, 0);          /* the char LM's configuration */
    check_lm_cached_equals_uncached(0, TG_NN_BIAS); /* post-LN, biases */
}

/* ---- encoder-decoder blocks with a padded source --------------------------- */
static void test_decoder_blocks_cached_equal_uncached(void **state) {
    (void)state;
    enum { B = 2, LS = 5, T = 7 };
    tg_rng rng;
    tg_rng_seed(&rng, 3);
    tg_params ps;
    tg_params_init(&ps);
    tg_block_config cfg = {.d_model = C, .n_heads = H, .d_ff = D_FF, .pre_ln = 1,
                           .flags = TG_NN_BIAS};
    tg_decoder_block blk[NL];
    for (int l = 0; l < NL; l++) tg_decoder_block_init(&blk[l], &ps, l ? "dec.1" : "dec.0", &cfg, &rng);
    jitter_params(&ps, &rng, 0.1f);
    tg_tensor *memory = tu_randn(&rng, TG_SHAPE(B, LS, C));
    tg_tensor *y = tu_randn(&rng, TG_SHAPE(B, T, C));
    const uint8_t src_real[B * LS] = {1, 1, 1, 1, 1, 1, 1, 1, 0, 0}; /* row 1 has 3 tokens */
    tg_tape *tp = tg_tape_new(0);
    tg_tape_set_grad(tp, 0);
    tg_attn_mask self = {.causal = 1}, cross = {.key_padding = src_real};
    tg_tensor *full = y;
    for (int l = 0; l < NL; l++) full = tg_decoder_block_forward(tp, &blk[l], full, memory, &self, &cross);

    tg_kv_cache cache[NL];
    tg_cross_kv ckv[NL];
    for (int l = 0; l < NL; l++) {
        tg_kv_cache_init(&cache[l], T, B, C, 0);
        tg_cross_kv_init(&ckv[l], tp, &blk[l].cross_attn, memory, src_real, 1);
    }
    tg_tape *ts = tg_tape_new(0);
    tg_tape_set_grad(ts, 0);
    double worst = 0.0;
    for (int t = 0; t < T; t++) {
        tg_tape_reset(ts);
        tg_tensor *x = tg_tape_tensor(ts, TG_SHAPE(B, 1, C));
        for (int b = 0; b < B; b++) memcpy(x->data + b * C, y->data + ((int64_t)b * T + t) * C, C * sizeof(float));
        for (int l = 0; l < NL; l++) x = tg_decoder_block_step(ts, &blk[l], x, &cache[l], &ckv[l]);
        for (int b = 0; b < B; b++) {
            double d = tu_max_abs_diff(x->data + b * C, full->data + ((int64_t)b * T + t) * C, C);
            worst = d > worst ? d : worst;
        }
    }
    printf("decoder blocks: max |cached - uncached| = %.2e\n", worst);
    assert_true(worst < 1e-5);
    TU_EXPECT_DEATH(tg_decoder_block_step(ts, &blk[0], tg_tape_tensor(ts, TG_SHAPE(B, 1, C)), &cache[0], &ckv[0]),
                    "the cache is full (7 positions)");
    TU_EXPECT_DEATH(tg_mha_step(ts, &blk[0].self_attn, tg_tape_tensor(ts, TG_SHAPE(B, 2, C)), &cache[0]),
                    "expected [2, 1, 16]");
    TU_EXPECT_DEATH(tg_mha_cross_step(ts, &blk[0].cross_attn, tg_tape_tensor(ts, TG_SHAPE(3, 1, C)), &ckv[0]),
                    "expected [2, 1, 16]");
    for (int l = 0; l < NL; l++) {
        tg_kv_cache_free(&cache[l]);
        tg_cross_kv_free(&ckv[l]);
    }
    tg_tensor_free(memory);
    tg_tensor_free(y);
    tg_tape_free(tp);
    tg_tape_free(ts);
    tg_params_free(&ps);
}

static void test_cache_reorder(void **state) {
    (void)state;
    enum { B = 3, L = 4, CC = 2 };
    tg_kv_cache c;
    tg_kv_cache_init(&c, L + 1, B, CC, 0);
    for (int64_t i = 0; i < c.k->size; i++) c.k->data[i] = (float)i, c.v->data[i] = (float)-i;
    c.len = L;
    const int32_t src[B] = {2, 2, 0};
    tg_kv_cache_reorder(&c, src);
    for (int p = 0; p < L; p++)
        for (int b = 0; b < B; b++)
            for (int d = 0; d < CC; d++) {
                float want = (float)((p * B + src[b]) * CC + d);
                assert_true(c.k->data[(p * B + b) * CC + d] == want);
                assert_true(c.v->data[(p * B + b) * CC + d] == -want);
            }
    /* position L (not filled) is untouched */
    assert_true(c.k->data[L * B * CC] == (float)(L * B * CC));
    TU_EXPECT_DEATH(tg_kv_cache_reorder(&c, (const int32_t[]){0, 3, 1}), "src[1] = 3 outside [0, 3)");
    tg_kv_cache_reset(&c);
    assert_int_equal(c.len, 0);
    tg_kv_cache_free(&c);
}

/* ---- gradient check of a decoder step that reads the cache ----------------- */
typedef struct {
    tg_decoder_block *blk;
    tg_kv_cache *cache;
    tg_cross_kv *ckv;
    int n_past;
} step_ctx;

/* x = {y [B, 1, C], cache.k, cache.v, ckv.k, ckv.v, parameters...}: the
 * cache tensors are the caller's, so f only rewinds the cache to n_past. */
static tg_tensor *step_fn(tg_tape *tp, tg_tensor *const *x, int n, void *user) {
    (void)n;
    step_ctx *s = user;
    s->cache->len = s->n_past;
    return tg_decoder_block_step(tp, s->blk, x[0], s->cache, s->ckv);
}

static void check_step_gradient(int pre_ln) {
    enum { B = 2, LS = 3, NPAST = 4 };
    tg_rng rng;
    tg_rng_seed(&rng, 9);
    tg_params ps;
    tg_params_init(&ps);
    tg_block_config cfg = {.d_model = 8, .n_heads = 2, .d_ff = 12, .pre_ln = pre_ln,
                           .flags = TG_NN_BIAS};
    tg_decoder_block blk;
    tg_decoder_block_init(&blk, &ps, "dec", &cfg, &rng);
    jitter_params(&ps, &rng, 0.2f);
    tg_kv_cache cache;
    tg_kv_cache_init(&cache, NPAST + 2, B, 8, 1);
    for (int64_t i = 0; i < cache.k->size; i++)
        cache.k->data[i] = tg_rng_normal(&rng), cache.v->data[i] = tg_rng_normal(&rng);
    tg_tape *tp = tg_tape_new(0);
    tg_tensor *memory = tu_randn(&rng, TG_SHAPE(B, LS, 8));
    const uint8_t src_real[B * LS] = {1, 1, 1, 1, 1, 0};
    tg_cross_kv ckv;
    tg_cross_kv_init(&ckv, tp, &blk.cross_attn, memory, src_real, 1);
    /* the projected cross K/V as leaves with gradients */
    tg_tensor *ck = tg_tensor_new_grad(TG_SHAPE(B, LS, 8)), *cv = tg_tensor_new_grad(TG_SHAPE(B, LS, 8));
    tg_tensor_copy_from(ck, ckv.k->data);
    tg_tensor_copy_from(cv, ckv.v->data);
    tg_tensor_free(ckv.k);
    tg_tensor_free(ckv.v);
    ckv.k = ck, ckv.v = cv;
    tg_tensor *y = tu_randn_grad(&rng, TG_SHAPE(B, 1, 8));
    tg_tensor *in[64] = {y, cache.k, cache.v, ckv.k, ckv.v};
    int n_in = 5;
    for (int i = 0; i < ps.n; i++) in[n_in++] = ps.t[i];
    step_ctx s = {&blk, &cache, &ckv, NPAST};
    const tg_gradcheck_opts opts = {.h = 1e-2, .tol = 1e-2, .floor = 1e-2, .max_per_input = 64, .seed = 3};
    TU_GRADCHECK(pre_ln ? "decoder block step (pre-LN): y, cached K/V, cross K/V, parameters"
                        : "decoder block step (post-LN): y, cached K/V, cross K/V, parameters",
                 step_fn, n_in, in, &s, &opts);
    /* the gradient reaches the cached positions (and only those) */
    tg_tape_reset(tp);
    tg_tensor_zero_grad(cache.k);
    tg_params_zero_grad(&ps);
    tg_tensor *out = step_fn(tp, in, n_in, &s);
    assert_int_equal(tg_backward(tp, tg_sum(tp, tg_mul(tp, out, out))), TG_OK);
    double past = 0.0, rest = 0.0;
    for (int64_t i = 0; i < cache.k->size; i++)
        *(i < (int64_t)NPAST * B * 8 ? &past : &rest) += fabs(cache.k->grad[i]);
    assert_true(past > 0.0);
    assert_true(rest == 0.0);
    tg_kv_cache_free(&cache);
    tg_cross_kv_free(&ckv);
    tg_tensor_free(memory);
    tg_tensor_free(y);
    tg_tape_free(tp);
    tg_params_free(&ps);
}

static void test_step_gradcheck(void **state) {
    (void)state;
    check_step_gradient(1);
    check_step_gradient(0);
}

/* ---- no heap allocation per token ------------------------------------------ */
static void test_no_allocation_per_token(void **state) {
    (void)state;
    enum { B = 2 };
    static lm m;
    lm_init(&m, 1, 0, B, 4);
    tg_tape *tp = tg_tape_new(0);
    tg_tape_set_grad(tp, 0);
    int32_t ids[B] = {1, 2};
    tg_tape_reset(tp);
    lm_step(tp, &m, ids, B);
    long after_first = tg_tape_heap_allocs(tp);
    size_t peak_first = tg_tape_bytes_peak(tp);
    for (int t = 1; t < LMAX; t++) {
        tg_tape_reset(tp);
        lm_step(tp, &m, ids, B);
    }
    assert_int_equal(tg_tape_heap_allocs(tp), after_first);
    assert_true(tg_tape_bytes_peak(tp) == peak_first); /* per-step arena use does not grow with L */
    tg_tape_free(tp);
    lm_free(&m);
}

/* ---- searches ---------------------------------------------------------------- */
static void test_beam1_is_greedy(void **state) {
    (void)state;
    enum { N = 6, MAXL = 20 };
    static lm g, bm;
    tg_tape *tp = tg_tape_new(0);
    int n_eos = 0;
    for (int trial = 0; trial < N; trial++) {
        lm_init_std(&g, 1, 0, 1, 100 + trial, 0.4f);
        lm_init_std(&bm, 1, 0, 1, 100 + trial, 0.4f);
        tg_decoder dg = {&g, V, lm_step, lm_reorder}, db = {&bm, V, lm_step, lm_reorder};
        int32_t first = 1 + trial % (V - 1), out_g[MAXL], out_b[MAXL];
        int len_g, len_b;
        /* eos: a token greedy produces (from a run without eos), so it stops */
        tg_greedy_decode(tp, &dg, 1, &first, -1, MAXL, out_g, &len_g);
        const int32_t EOS = out_g[2 + trial % 4];
        float alphas[2] = {0.0f, 0.6f};
        for (int a = 0; a < 2; a++) {
            lm_reset(&g);
            lm_reset(&bm);
            tg_greedy_decode(tp, &dg, 1, &first, EOS, MAXL, out_g, &len_g);
            tg_beam_opts o = {.beam_width = 1, .alpha = alphas[a], .max_len = MAXL, .eos = EOS};
            tg_beam_search(tp, &db, first, &o, out_b, &len_b, NULL, NULL);
            assert_int_equal(len_g, len_b);
            assert_memory_equal(out_g, out_b, (size_t)len_g * sizeof *out_g);
        }
        n_eos += len_g < MAXL;
        lm_free(&g);
        lm_free(&bm);
    }
    printf("beam 1 = greedy on %d random models (%d stopped at eos)\n", N, n_eos);
    tg_tape_free(tp);
}

/* Greedy over B rows equals B greedy runs of one row (rows are independent). */
static void test_greedy_batch(void **state) {
    (void)state;
    enum { B = 3, MAXL = 12 };
    static lm mb, m1;
    lm_init(&mb, 1, 0, B, 77);
    lm_init(&m1, 1, 0, 1, 77);
    tg_tape *tp = tg_tape_new(0);
    tg_decoder db = {&mb, V, lm_step, NULL}, d1 = {&m1, V, lm_step, NULL};
    int32_t first[B] = {3, 5, 7}, out[B * MAXL], one[MAXL];
    int len[B], len1;
    int steps = tg_greedy_decode(tp, &db, B, first, 2, MAXL, out, len);
    assert_true(steps >= 1 && steps <= MAXL);
    for (int b = 0; b < B; b++) {
        lm_reset(&m1);
        tg_greedy_decode(tp, &d1, 1, &first[b], 2, MAXL, one, &len1);
        assert_int_equal(len1, len[b]);
        assert_memory_equal(one, out + b * MAXL, (size_t)len1 * sizeof *one);
    }
    /* eos < 0: exactly max_len tokens */
    lm_reset(&mb);
    assert_int_equal(tg_greedy_decode(tp, &db, B, first, -1, MAXL, out, len), MAXL);
    for (int b = 0; b < B; b++) assert_int_equal(len[b], MAXL);
    tg_tape_free(tp);
    lm_free(&mb);
    lm_free(&m1);
}

/* A first-order Markov model given by a table: logits of the next token
 * depend on the last token fed.  Its per-row state is that last token. */
enum { MV = 4, M_EOS = 0, M_BOS = 1, M_A = 2, M_B = 3, MW = 4 };
typedef struct {
    float logp[MV][MV]; /* [prev][next] log-probabilities */
    int32_t last[MW];
    int steps;
} markov;

static tg_tensor *markov_step(tg_tape *tp, void *model, const int32_t *ids, int B) {
    markov *m = model;
    tg_tensor *lg = tg_tape_tensor(tp, TG_SHAPE(B, MV));
    for (int b = 0; b < B; b++) {
        m->last[b] = ids[b];
        memcpy(lg->data + b * MV, m->logp[ids[b]], sizeof m->logp[0]);
    }
    m->steps++;
    return lg;
}

static void markov_reorder(void *model, const int32_t *src, int B) {
    markov *m = model;
    int32_t old[MW];
    memcpy(old, m->last, sizeof old);
    for (int b = 0; b < B; b++) m->last[b] = old[src[b]];
}

static void markov_set(markov *m, int prev, const float *p) {
    for (int v = 0; v < MV; v++) m->logp[prev][v] = p[v] > 0 ? logf(p[v]) : -INFINITY;
}

static void test_beam_beats_greedy(void **state) {
    (void)state;
    /* After BOS: A 0.55, B 0.45.  After A: A, B, eos ~ 1/3 each — no good
     * continuation.  After B: eos 0.9.  Greedy takes A (0.55) and then its
     * best, eos at 1/3 (ties: lowest index, eos = 0): p = 0.183.  Beam (W = 2)
     * keeps B too and finds "B eos": p = 0.405. */
    static markov m;
    memset(&m, 0, sizeof m);
    markov_set(&m, M_BOS, (const float[]){0.0f, 0.0f, 0.55f, 0.45f});
    markov_set(&m, M_A, (const float[]){1.0f / 3, 0.0f, 1.0f / 3, 1.0f / 3});
    markov_set(&m, M_B, (const float[]){0.9f, 0.0f, 0.05f, 0.05f});
    markov_set(&m, M_EOS, (const float[]){1.0f, 0.0f, 0.0f, 0.0f});
    tg_decoder dec = {&m, MV, markov_step, markov_reorder};
    tg_tape *tp = tg_tape_new(0);
    int32_t first = M_BOS, g[8], bo[8];
    int gl, bl;
    tg_greedy_decode(tp, &dec, 1, &first, M_EOS, 8, g, &gl);
    assert_int_equal(gl, 2);
    assert_int_equal(g[0], M_A);
    assert_int_equal(g[1], M_EOS);
    float score, lp;
    tg_beam_opts o = {.beam_width = 2, .alpha = 0.0f, .max_len = 8, .eos = M_EOS};
    m.steps = 0;
    tg_beam_search(tp, &dec, first, &o, bo, &bl, &score, &lp);
    assert_int_equal(bl, 2);
    assert_int_equal(bo[0], M_B);
    assert_int_equal(bo[1], M_EOS);
    assert_float_equal(lp, logf(0.45f) + logf(0.9f), 1e-5);
    assert_float_equal(score, lp, 1e-6); /* alpha 0: lp = 1 */
    double greedy_lp = log(0.55) + log(1.0 / 3);
    printf("beam 2 log p = %.4f > greedy %.4f after %d steps\n", lp, greedy_lp, m.steps);
    assert_true(lp > greedy_lp);
    assert_int_equal(m.steps, 2); /* stopped as soon as nothing live could win */

    /* Length normalisation: after BOS, eos 0.5 at once or A 0.5 then eos
     * with 0.9.  Raw: "eos" (log 0.5) beats "A eos" (log 0.45); with α = 2
     * lp(1) = 1, lp(2) = (7/6)² = 1.36: log 0.45 / 1.36 = −0.59 > −0.69. */
    markov_set(&m, M_BOS, (const float[]){0.5f, 0.0f, 0.5f, 0.0f});
    markov_set(&m, M_A, (const float[]){0.9f, 0.0f, 0.1f, 0.0f});
    o.alpha = 0.0f;
    tg_beam_search(tp, &dec, first, &o, bo, &bl, &score, NULL);
    assert_int_equal(bl, 1);
    o.alpha = 2.0f;
    tg_beam_search(tp, &dec, first, &o, bo, &bl, &score, &lp);
    assert_int_equal(bl, 2);
    assert_int_equal(bo[0], M_A);
    assert_float_equal(score, (logf(0.5f) + logf(0.9f)) / tg_beam_length_penalty(2, 2.0f), 1e-5);
    assert_float_equal(tg_beam_length_penalty(2, 2.0f), (7.0f / 6) * (7.0f / 6), 1e-6);

    /* max_len: never eos (eos = −1) -> exactly max_len tokens, the best path */
    o = (tg_beam_opts){.beam_width = 3, .alpha = 0.6f, .max_len = 5, .eos = -1};
    tg_beam_search(tp, &dec, first, &o, bo, &bl, &score, NULL);
    assert_int_equal(bl, 5);
    TU_EXPECT_DEATH(tg_beam_search(tp, &(tg_decoder){&m, MV, markov_step, NULL}, first, &o, bo,
                                   &bl, NULL, NULL),
                    "beam width 3 needs dec->reorder");
    o.beam_width = 0;
    TU_EXPECT_DEATH(tg_beam_search(tp, &dec, first, &o, bo, &bl, NULL, NULL),
                    "beam_width and max_len must be >= 1");
    tg_tape_free(tp);
}

/* Beam search on a real model keeps its rows in step with the cache: the
 * returned hypothesis re-scored by a fresh uncached forward gives the same
 * log-probability, and it is at least as good as greedy's (alpha = 0). */
static void test_beam_rescored(void **state) {
    (void)state;
    enum { W = 4, MAXL = 10, EOS = 0 };
    static lm m, g;
    lm_init_std(&m, 1, 0, W, 31, 0.4f);
    lm_init_std(&g, 1, 0, 1, 31, 0.4f);
    tg_tape *tp = tg_tape_new(0);
    tg_decoder dec = {&m, V, lm_step, lm_reorder}, dg = {&g, V, lm_step, NULL};
    int32_t first = 4, out[MAXL], gout[MAXL];
    int len, glen;
    float lp;
    tg_beam_opts o = {.beam_width = W, .alpha = 0.0f, .max_len = MAXL, .eos = EOS};
    tg_beam_search(tp, &dec, first, &o, out, &len, NULL, &lp);
    tg_greedy_decode(tp, &dg, 1, &first, EOS, MAXL, gout, &glen);
    /* re-score both with the uncached forward over [first, out...] */
    double scores[2];
    for (int which = 0; which < 2; which++) {
        const int32_t *seq = which ? gout : out;
        int n = which ? glen : len;
        int32_t ids[MAXL + 1];
        ids[0] = first;
        memcpy(ids + 1, seq, (size_t)n * sizeof *ids);
        tg_tape_reset(tp);
        tg_tape_set_grad(tp, 0);
        tg_tensor *lg = lm_forward(tp, &m, ids, 1, n);
        tg_tensor *ls = tg_log_softmax(tp, lg, NULL);
        double s = 0.0;
        for (int t = 0; t < n; t++) s += ls->data[t * V + seq[t]];
        scores[which] = s;
    }
    printf("beam %d: log p %.4f (re-scored %.4f), %d tokens; greedy %.4f, %d tokens\n", W, lp,
           scores[0], len, scores[1], glen);
    assert_float_equal(lp, scores[0], 1e-4);
    assert_true(scores[0] >= scores[1] - 1e-5);
    tg_tape_free(tp);
    lm_free(&m);
    lm_free(&g);
}

static void test_posenc_at(void **state) {
    (void)state;
    tg_tape *tp = tg_tape_new(0);
    tg_tensor *x = tg_tape_tensor(tp, TG_SHAPE(1, 6, 5));
    tg_tensor *full = tg_posenc_sinusoidal(tp, x);
    tg_tensor *part = tg_posenc_sinusoidal_at(tp, tg_tape_tensor(tp, TG_SHAPE(1, 2, 5)), 3);
    assert_true(tu_max_abs_diff(part->data, full->data + 3 * 5, 10) == 0.0);
    tg_rng rng;
    tg_rng_seed(&rng, 1);
    tg_params ps;
    tg_params_init(&ps);
    tg_posenc_learned pe;
    tg_posenc_learned_init(&pe, &ps, "pos", 6, 5, &rng);
    tg_tensor *lp = tg_posenc_learned_at(tp, &pe, tg_tape_tensor(tp, TG_SHAPE(2, 1, 5)), 5);
    assert_true(tu_max_abs_diff(lp->data, pe.weight->data + 25, 5) == 0.0);
    TU_EXPECT_DEATH(tg_posenc_learned_at(tp, &pe, tg_tape_tensor(tp, TG_SHAPE(1, 2, 5)), 5),
                    "positions 5 .. 6 of x [1, 2, 5] outside the table [0, max_len 6)");
    tg_params_free(&ps);
    tg_tape_free(tp);
}

/* Sampling: temperature 0 is the argmax; top-k keeps only the k largest;
 * frequencies follow softmax(logits / T). */
static void test_sample_logits(void **state) {
    (void)state;
    enum { NV = 5, DRAWS = 20000 };
    const float logits[NV] = {0.5f, 2.0f, -1.0f, 1.0f, 0.0f};
    float scratch[NV];
    tg_rng rng;
    tg_rng_seed(&rng, 12);
    assert_int_equal(tg_sample_logits(logits, NV, 0.0f, 0, &rng, scratch), 1);
    int count[NV] = {0};
    for (int i = 0; i < DRAWS; i++) count[tg_sample_logits(logits, NV, 1.0f, 2, &rng, scratch)]++;
    assert_int_equal(count[0] + count[2] + count[4], 0); /* outside the top 2 */
    double p1 = 1.0 / (1.0 + exp(-1.0));                  /* e^2 / (e^2 + e^1) */
    assert_true(fabs(count[1] / (double)DRAWS - p1) < 0.015);
    memset(count, 0, sizeof count);
    const float T = 2.0f;
    double z = 0.0;
    for (int v = 0; v < NV; v++) z += exp(logits[v] / T);
    for (int i = 0; i < DRAWS; i++) count[tg_sample_logits(logits, NV, T, 0, &rng, scratch)]++;
    for (int v = 0; v < NV; v++)
        assert_true(fabs(count[v] / (double)DRAWS - exp(logits[v] / T) / z) < 0.015);
    /* the same seed draws the same tokens */
    tg_rng a, b;
    tg_rng_seed(&a, 5);
    tg_rng_seed(&b, 5);
    for (int i = 0; i < 50; i++)
        assert_int_equal(tg_sample_logits(logits, NV, 0.8f, 3, &a, scratch),
                         tg_sample_logits(logits, NV, 0.8f, 3, &b, scratch));
    TU_EXPECT_DEATH(tg_sample_logits(logits, NV, -1.0f, 0, &rng, scratch), "temperature >= 0");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lm_cached_equals_uncached),
        cmocka_unit_test(test_decoder_blocks_cached_equal_uncached),
        cmocka_unit_test(test_cache_reorder),
        cmocka_unit_test(test_step_gradcheck),
        cmocka_unit_test(test_no_allocation_per_token),
        cmocka_unit_test(test_beam1_is_greedy),
        cmocka_unit_test(test_greedy_batch),
        cmocka_unit_test(test_beam_beats_greedy),
        cmocka_unit_test(test_beam_rescored),
        cmocka_unit_test(test_posenc_at),
        cmocka_unit_test(test_sample_logits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
