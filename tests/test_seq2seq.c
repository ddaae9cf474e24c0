/* tests/test_seq2seq.c — a 2-layer encoder-decoder Transformer learns to
 * reverse short random sequences: teacher forcing, summed cross-entropy,
 * Adam; then greedy autoregressive decoding on held-out sequences.
 * The setup is written up as a worked example in docs/seq2seq.md.
 *
 * Data: tokens 3..10 (8 symbols), lengths 3..6; PAD = 0, BOS = 1, EOS = 2.
 *   source          a b c d                    (padded with PAD to the batch's max length)
 *   decoder input   BOS d c b a                (BOS + target shifted right)
 *   target          d c b a EOS                (the reversed source, then EOS; PAD after)
 * Model: one token embedding shared by the encoder and the decoder (same
 * vocabulary), sinusoidal positions, 2 pre-LN encoder blocks + final
 * LayerNorm, 2 pre-LN decoder blocks + final LayerNorm, a linear head to the
 * vocabulary (not tied to the embedding).  Masks: source key padding for the
 * encoder's self-attention and the decoder's cross-attention; causal + target
 * key padding for the decoder's self-attention. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <math.h>
#include <time.h>

#include "tests/helpers/testutil.h"

enum { PAD = 0, BOS = 1, EOS = 2, FIRST_SYM = 3, N_SYM = 8, V = FIRST_SYM + N_SYM };
enum { MIN_LEN = 3, MAX_LEN = 6, MAX_TGT = MAX_LEN + 1 };
enum { C = 32, N_HEADS = 4, D_FF = 64, N_LAYERS = 2 };
enum { BATCH = 32, STEPS = 400, N_EVAL = 200 };

typedef struct {
    tg_params ps;
    tg_embedding_layer emb; /* shared by source and target */
    tg_encoder_block enc[N_LAYERS];
    tg_decoder_block dec[N_LAYERS];
    tg_layernorm_layer enc_ln, dec_ln; /* final LayerNorms of the pre-LN stacks */
    tg_linear head;                    /* C -> V */
} model;

/* A batch of B sequences, each padded to the batch's longest. */
typedef struct {
    int B, Ls, Lt;
    int len[N_EVAL];
    int32_t src[N_EVAL * MAX_LEN];       /* [B, Ls] */
    uint8_t src_real[N_EVAL * MAX_LEN];  /* [B, Ls], 1 = real token */
    int32_t dec_in[N_EVAL * MAX_TGT];    /* [B, Lt]: BOS, reversed source */
    uint8_t tgt_real[N_EVAL * MAX_TGT];  /* [B, Lt] */
    int32_t target[N_EVAL * MAX_TGT];    /* [B, Lt]: reversed source, EOS, PAD ... */
} batch;

static void make_batch(batch *b, int B, tg_rng *rng) {
    assert_true(B <= N_EVAL);
    b->B = B;
    b->Ls = 0;
    for (int i = 0; i < B; i++) {
        b->len[i] = MIN_LEN + (int)tg_rng_below(rng, MAX_LEN - MIN_LEN + 1);
        if (b->len[i] > b->Ls) b->Ls = b->len[i];
    }
    b->Lt = b->Ls + 1;
    for (int i = 0; i < B; i++) {
        int n = b->len[i];
        int32_t *s = b->src + i * b->Ls, *d = b->dec_in + i * b->Lt, *t = b->target + i * b->Lt;
        for (int j = 0; j < b->Ls; j++) {
            s[j] = j < n ? FIRST_SYM + (int32_t)tg_rng_below(rng, N_SYM) : PAD;
            b->src_real[i * b->Ls + j] = j < n;
        }
        for (int j = 0; j < b->Lt; j++) {
            t[j] = j < n ? s[n - 1 - j] : j == n ? EOS : PAD;
            d[j] = j == 0 ? BOS : j <= n ? t[j - 1] : PAD;
            b->tgt_real[i * b->Lt + j] = j <= n;
        }
    }
}

/* Sequence i of b alone, unpadded (B = 1, Ls = its length). */
static void take_one(batch *dst, const batch *b, int i) {
    int n = b->len[i];
    dst->B = 1, dst->Ls = n, dst->Lt = n + 1, dst->len[0] = n;
    for (int j = 0; j < n; j++) dst->src[j] = b->src[i * b->Ls + j], dst->src_real[j] = 1;
    for (int j = 0; j <= n; j++) {
        dst->dec_in[j] = b->dec_in[i * b->Lt + j];
        dst->target[j] = b->target[i * b->Lt + j];
        dst->tgt_real[j] = 1;
    }
}

static void model_init(model *m, uint64_t seed) {
    tg_rng rng;
    tg_rng_seed(&rng, seed);
    tg_params_init(&m->ps);
    tg_block_config cfg = {.d_model = C, .n_heads = N_HEADS, .d_ff = D_FF, .pre_ln = 1,
                           .flags = TG_NN_BIAS};
    tg_embedding_layer_init(&m->emb, &m->ps, "embed", V, C, &rng);
    char name[64];
    for (int l = 0; l < N_LAYERS; l++) {
        snprintf(name, sizeof name, "encoder.layers.%d", l);
        tg_encoder_block_init(&m->enc[l], &m->ps, name, &cfg, &rng);
    }
    tg_layernorm_layer_init(&m->enc_ln, &m->ps, "encoder.norm", C, TG_NN_BIAS);
    for (int l = 0; l < N_LAYERS; l++) {
        snprintf(name, sizeof name, "decoder.layers.%d", l);
        tg_decoder_block_init(&m->dec[l], &m->ps, name, &cfg, &rng);
    }
    tg_layernorm_layer_init(&m->dec_ln, &m->ps, "decoder.norm", C, TG_NN_BIAS);
    tg_linear_init(&m->head, &m->ps, "head", C, V, TG_NN_BIAS, &rng);
}

/* Per tg_mha: the blocks copy cfg.use_composed into their attention layers
 * at init only, so blk->cfg.use_composed set afterwards would change nothing. */
static void set_composed(model *m, int composed) {
    for (int l = 0; l < N_LAYERS; l++) {
        m->enc[l].self_attn.use_composed = composed;
        m->dec[l].self_attn.use_composed = composed;
        m->dec[l].cross_attn.use_composed = composed;
    }
}

/* src [B, Ls] -> memory [B, Ls, C]. */
static tg_tensor *encode(tg_tape *tp, model *m, const int32_t *src, const uint8_t *src_real,
                         int B, int Ls) {
    tg_attn_mask mask = {.key_padding = src_real};
    tg_tensor *x = tg_posenc_sinusoidal(tp, tg_embedding_layer_forward(tp, &m->emb, src,
                                                                       TG_SHAPE(B, Ls)));
    for (int l = 0; l < N_LAYERS; l++) x = tg_encoder_block_forward(tp, &m->enc[l], x, &mask);
    return tg_layernorm_layer_forward(tp, &m->enc_ln, x);
}

/* dec_in [B, Lt] (tgt_real NULL: no target padding) -> logits [B, Lt, V]. */
static tg_tensor *decode(tg_tape *tp, model *m, tg_tensor *memory, const uint8_t *src_real,
                         const int32_t *dec_in, const uint8_t *tgt_real, int B, int Lt) {
    tg_attn_mask self_mask = {.causal = 1, .key_padding = tgt_real};
    tg_attn_mask cross_mask = {.key_padding = src_real};
    tg_tensor *y = tg_posenc_sinusoidal(tp, tg_embedding_layer_forward(tp, &m->emb, dec_in,
                                                                       TG_SHAPE(B, Lt)));
    for (int l = 0; l < N_LAYERS; l++)
        y = tg_decoder_block_forward(tp, &m->dec[l], y, memory, &self_mask, &cross_mask);
    return tg_linear_forward(tp, &m->head, tg_layernorm_layer_forward(tp, &m->dec_ln, y));
}

/* Greedy decoding of every sequence of b, one token at a time (the decoder
 * is recomputed over the whole prefix each step), with gradient recording
 * and training mode off.  out: [B, MAX_TGT] tokens.  Returns the exact-match
 * accuracy: the reversed source and then EOS, all correct. */
static float greedy_decode(tg_tape *tp, model *m, const batch *b, int32_t *out) {
    int was_grad = tg_tape_set_grad(tp, 0), was_training = tg_tape_set_training(tp, 0);
    tg_tape_reset(tp);
    const int B = b->B, T = b->Lt;
    tg_tensor *memory = encode(tp, m, b->src, b->src_real, B, b->Ls);
    int32_t *prefix = tg_tape_alloc(tp, (size_t)B * T * sizeof *prefix);
    for (int i = 0; i < B; i++) prefix[i * T] = BOS;
    for (int t = 1; t <= T; t++) {
        /* prefix [B, t] (row stride T: compact it into dec_in) */
        int32_t *dec_in = tg_tape_alloc(tp, (size_t)B * t * sizeof *dec_in);
        for (int i = 0; i < B; i++) memcpy(dec_in + i * t, prefix + i * T, t * sizeof *dec_in);
        tg_tensor *logits = decode(tp, m, memory, b->src_real, dec_in, NULL, B, t);
        assert_int_equal(tg_tape_n_nodes(tp), 0);
        for (int i = 0; i < B; i++) {
            const float *row = logits->data + ((int64_t)i * t + t - 1) * V;
            int best = 0;
            for (int v = 1; v < V; v++)
                if (row[v] > row[best]) best = v;
            out[i * MAX_TGT + t - 1] = best;
            if (t < T) prefix[i * T + t] = best;
        }
    }
    int exact = 0;
    for (int i = 0; i < B; i++) {
        int ok = 1;
        for (int j = 0; j <= b->len[i]; j++) ok &= out[i * MAX_TGT + j] == b->target[i * T + j];
        exact += ok;
    }
    tg_tape_reset(tp);
    tg_tape_set_grad(tp, was_grad);
    tg_tape_set_training(tp, was_training);
    return (float)exact / (float)B;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void test_transformer_learns_to_reverse(void **state) {
    (void)state;
    /* Every op here is tiny (the largest GEMM is [224, 32] x [32, 64]): a
     * team of threads only adds fork/join cost, and on a loaded machine
     * GOMP's spinning barriers made the 2-thread run 4-30x slower than this.
     * Results are bit-identical for any thread count, so nothing is lost. */
    int saved_threads = tg_get_num_threads();
    tg_set_num_threads(1);
    double t0 = now();
    static model m;
    model_init(&m, 1234);
    printf("seq2seq: %lld parameters\n", (long long)tg_params_count(&m.ps));

    tg_adam opt;
    tg_adam_init(&opt, &m.ps, 3e-3f, 0.9f, 0.98f, 1e-8f, 0.0f);
    tg_tape *tp = tg_tape_new(0);
    tg_rng data_rng;
    tg_rng_seed(&data_rng, 42);
    static batch b;

    /* Mean per-token loss over the last `tail` steps. */
    const int tail = 50;
    double tail_loss = 0.0;
    int64_t tail_tokens = 0;
    for (int step = 0; step < STEPS; step++) {
        make_batch(&b, BATCH, &data_rng);
        int n_tokens = 0;
        for (int i = 0; i < b.B; i++) n_tokens += b.len[i] + 1;
        tg_tape_reset(tp);
        tg_params_zero_grad(&m.ps);
        tg_tensor *memory = encode(tp, &m, b.src, b.src_real, b.B, b.Ls);
        tg_tensor *logits = decode(tp, &m, memory, b.src_real, b.dec_in, b.tgt_real, b.B, b.Lt);
        tg_tensor *loss = tg_cross_entropy(tp, logits, b.target, PAD, TG_SUM);
        float per_token = loss->data[0] / (float)n_tokens;
        assert_true(isfinite(per_token));
        if (step % 100 == 0 || step == STEPS - 1)
            printf("step %4d  loss/token %.4f\n", step, per_token);
        if (step >= STEPS - tail) {
            tail_loss += loss->data[0];
            tail_tokens += n_tokens;
        }
        assert_int_equal(tg_backward(tp, loss), TG_OK);
        opt.lr = tg_lr_warmup_cosine(step, 3e-3f, 3e-4f, 50, STEPS);
        tg_adam_step(&opt);
    }
    float train_loss = (float)(tail_loss / (double)tail_tokens);
    double t_train = now() - t0;

    /* Held-out: fresh sequences from another seed. */
    tg_rng eval_rng;
    tg_rng_seed(&eval_rng, 7);
    make_batch(&b, N_EVAL, &eval_rng);
    static int32_t out_fused[N_EVAL * MAX_TGT], out_composed[N_EVAL * MAX_TGT];
    float acc = greedy_decode(tp, &m, &b, out_fused);
    set_composed(&m, 1);
    float acc_composed = greedy_decode(tp, &m, &b, out_composed);
    set_composed(&m, 0);
    printf("seq2seq reversal: train loss/token %.4f (last %d steps), held-out exact match %.3f "
           "(%d sequences; composed attention %.3f), train %.2f s, total %.2f s\n",
           train_loss, tail, acc, N_EVAL, acc_composed, t_train, now() - t0);

    assert_true(train_loss < 0.05f);
    assert_true(acc >= 0.95f);
    /* The composed and fused forms of attention decode identically. */
    assert_memory_equal(out_fused, out_composed, sizeof out_fused);
    assert_true(acc_composed == acc);
    /* Padding does not leak: a sequence decoded alone, unpadded, gives the
     * tokens it got inside the padded batch of 200. */
    static batch one;
    int32_t out_one[MAX_TGT];
    for (int i = 0; i < 20; i++) {
        take_one(&one, &b, i);
        greedy_decode(tp, &m, &one, out_one);
        assert_memory_equal(out_one, out_fused + i * MAX_TGT, (b.len[i] + 1) * sizeof *out_one);
    }

    tg_tape_free(tp);
    tg_adam_free(&opt);
    tg_params_free(&m.ps);
    tg_set_num_threads(saved_threads);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_transformer_learns_to_reverse)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
