/* bench_decode.c — W9: autoregressive decoding with and without the
 * key/value cache (nn/decode.h).
 *
 * The translation model's decoder: token embedding [3000, 256] + sinusoidal
 * positions, 3 pre-LN tg_decoder_blocks (d_model 256, 4 heads, d_ff 1024,
 * biases), final LayerNorm, a linear head to the 3,000-word vocabulary;
 * an encoder memory of 10 tokens (random, fixed); batch 1 and 32.
 * Greedy decoding of L new tokens after <bos>, L in {16, 64, 256}, eos
 * ignored (every row produces exactly L tokens):
 *   cached    tg_greedy_decode over tg_decoder_block_step (one position per
 *             token through the caches; cross-attention K/V projected once);
 *   uncached  for t = 1..L: the full tg_decoder_block_forward over the
 *             prefix [B, t] (causal mask), the head on its last position
 *             only, argmax — what decoding costs without a cache.
 * Both produce the same tokens (checked: the run aborts otherwise).
 * Figures: tokens/s = B·L / seconds (one run after a warm-up of the same
 * configuration), and the time ratio to the next shorter L: ~4 for 4× the
 * tokens means linear total time (O(L) per token), ~16 quadratic... for
 * uncached decoding the per-token cost grows with L, so its total grows
 * as L² (attention: L³).  Beam search (width 4, α 0.6) of L = 64 tokens:
 * tokens/s of the output hypothesis (64 / seconds; each step runs 4 rows).
 *
 * Run: ./build/bench_decode [--quick | --full]
 *   --quick  L in {16, 64} only
 *   --full   also the uncached B = 32, L = 256 run (Σ_t 32·t ≈ 10⁶ positions
 *            through the decoder, ~5·10¹² flops: minutes; skipped by default)
 * Threads: OMP_NUM_THREADS (default all cores).
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tapegrad.h"

enum { C = 256, H = 4, D_FF = 1024, NL = 3, V = 3000, LS = 10, BOS = 1, LMAX = 256 };

typedef struct {
    tg_params ps;
    tg_embedding_layer emb;
    tg_decoder_block blk[NL];
    tg_layernorm_layer ln;
    tg_linear head;
    tg_tensor *memory;          /* [B, LS, C] */
    tg_kv_cache cache[NL];
    tg_cross_kv ckv[NL];
    int B;
} decoder;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void decoder_init(decoder *d, int B, tg_tape *tp) {
    tg_rng rng;
    tg_rng_seed(&rng, 9);
    tg_params_init(&d->ps);
    tg_block_config cfg = {.d_model = C, .n_heads = H, .d_ff = D_FF, .pre_ln = 1,
                           .flags = TG_NN_BIAS};
    tg_embedding_layer_init(&d->emb, &d->ps, "embed", V, C, &rng);
    for (int l = 0; l < NL; l++) {
        char name[32];
        snprintf(name, sizeof name, "decoder.layers.%d", l);
        tg_decoder_block_init(&d->blk[l], &d->ps, name, &cfg, &rng);
    }
    tg_layernorm_layer_init(&d->ln, &d->ps, "decoder.norm", C, TG_NN_BIAS);
    tg_linear_init(&d->head, &d->ps, "head", C, V, TG_NN_BIAS, &rng);
    d->memory = tg_tensor_new(TG_SHAPE(B, LS, C));
    tg_tensor_normal(d->memory, &rng, 0.0f, 1.0f);
    d->B = B;
    for (int l = 0; l < NL; l++) {
        tg_kv_cache_init(&d->cache[l], LMAX + 1, B, C, 0);
        tg_cross_kv_init(&d->ckv[l], tp, &d->blk[l].cross_attn, d->memory, NULL, 1);
    }
}

static void decoder_free(decoder *d) {
    for (int l = 0; l < NL; l++) {
        tg_kv_cache_free(&d->cache[l]);
        tg_cross_kv_free(&d->ckv[l]);
    }
    tg_tensor_free(d->memory);
    tg_params_free(&d->ps);
}

/* The cached step of tg_decoder. */
static tg_tensor *cached_step(tg_tape *tp, void *model, const int32_t *ids, int B) {
    decoder *d = model;
    tg_tensor *y = tg_embedding_layer_forward(tp, &d->emb, ids, TG_SHAPE(B, 1));
    y = tg_posenc_sinusoidal_at(tp, y, d->cache[0].len);
    for (int l = 0; l < NL; l++) y = tg_decoder_block_step(tp, &d->blk[l], y, &d->cache[l], &d->ckv[l]);
    return tg_linear_forward(tp, &d->head, tg_layernorm_layer_forward(tp, &d->ln, y));
}

static void reorder(void *model, const int32_t *src, int B) {
    decoder *d = model;
    (void)B;
    for (int l = 0; l < NL; l++) tg_kv_cache_reorder(&d->cache[l], src);
}

static void reset(decoder *d) {
    for (int l = 0; l < NL; l++) tg_kv_cache_reset(&d->cache[l]);
}

/* Greedy without a cache: re-runs the decoder over the prefix per token.
 * out [B, L]. */
static void uncached_greedy(tg_tape *tp, decoder *d, int L, int32_t *out) {
    int B = d->B;
    int32_t *prefix = malloc((size_t)B * (L + 1) * sizeof *prefix), *dec_in = malloc((size_t)B * (L + 1) * sizeof *dec_in);
    for (int b = 0; b < B; b++) prefix[b * (L + 1)] = BOS;
    tg_attn_mask causal = {.causal = 1};
    for (int t = 1; t <= L; t++) {
        tg_tape_reset(tp);
        for (int b = 0; b < B; b++) memcpy(dec_in + b * t, prefix + b * (L + 1), (size_t)t * sizeof *dec_in);
        tg_tensor *y = tg_posenc_sinusoidal(tp, tg_embedding_layer_forward(tp, &d->emb, dec_in, TG_SHAPE(B, t)));
        for (int l = 0; l < NL; l++)
            y = tg_decoder_block_forward(tp, &d->blk[l], y, d->memory, &causal, NULL);
        tg_tensor *last = tg_slice(tp, y, 1, t - 1, 1); /* [B, 1, C]: the head on the last position */
        tg_tensor *logits = tg_linear_forward(tp, &d->head, tg_layernorm_layer_forward(tp, &d->ln, last));
        for (int b = 0; b < B; b++) {
            const float *row = logits->data + (int64_t)b * V;
            int best = 0;
            for (int v = 1; v < V; v++)
                if (row[v] > row[best]) best = v;
            out[b * L + t - 1] = best;
            prefix[b * (L + 1) + t] = best;
        }
    }
    free(prefix);
    free(dec_in);
}

int main(int argc, char **argv) {
    int quick = argc > 1 && !strcmp(argv[1], "--quick"), full = argc > 1 && !strcmp(argv[1], "--full");
    const int Ls[3] = {16, 64, 256}, n_L = quick ? 2 : 3, Bs[2] = {1, 32};
    printf("W9 decoding: decoder d_model %d, %d heads, %d blocks, d_ff %d, vocab %d, memory %d "
           "tokens; %d threads\n", C, H, NL, D_FF, V, LS, tg_get_num_threads());
    printf("| B | L | cached tok/s | x time vs L/4 | uncached tok/s | x time vs L/4 | speed-up |\n");
    printf("|---|---|---|---|---|---|---|\n");
    tg_tape *tp = tg_tape_new(0);
    tg_tape_set_grad(tp, 0);
    tg_tape_set_training(tp, 0);
    for (int bi = 0; bi < 2; bi++) {
        int B = Bs[bi];
        decoder d;
        decoder_init(&d, B, tp);
        tg_decoder dec = {&d, V, cached_step, reorder};
        int32_t *first = malloc((size_t)B * sizeof *first), *out = malloc((size_t)B * LMAX * sizeof *out);
        int32_t *ref = malloc((size_t)B * LMAX * sizeof *ref);
        int *len = malloc((size_t)B * sizeof *len);
        for (int b = 0; b < B; b++) first[b] = BOS;
        double prev_c = 0, prev_u = 0;
        for (int li = 0; li < n_L; li++) {
            int L = Ls[li];
            double tc = 0, tu = 0;
            for (int rep = 0; rep < 2; rep++) { /* rep 0: warm-up */
                reset(&d);
                double t0 = now_s();
                tg_greedy_decode(tp, &dec, B, first, -1, L, out, len);
                tc = now_s() - t0;
            }
            int run_uncached = full || !(B == 32 && L == 256);
            for (int rep = 0; run_uncached && rep < (L >= 256 ? 1 : 2); rep++) { /* long runs: no warm-up */
                double t0 = now_s();
                uncached_greedy(tp, &d, L, ref);
                tu = now_s() - t0;
            }
            for (int b = 0; b < B && run_uncached; b++)
                if (memcmp(out + b * L, ref + b * L, (size_t)L * sizeof *out) != 0) {
                    fprintf(stderr, "bench_decode: cached and uncached greedy differ (B %d, L %d, row %d)\n", B, L, b);
                    return 1;
                }
            char gc[16] = "-", gu[16] = "-", su[32] = "not run (--full)", sp[16] = "-";
            if (prev_c > 0) snprintf(gc, sizeof gc, "%.1f", tc / prev_c);
            if (run_uncached) {
                snprintf(su, sizeof su, "%.0f", B * L / tu);
                snprintf(sp, sizeof sp, "%.1fx", tu / tc);
                if (prev_u > 0) snprintf(gu, sizeof gu, "%.1f", tu / prev_u);
            }
            printf("| %d | %d | %.0f | %s | %s | %s | %s |\n", B, L, B * L / tc, gc, su, gu, sp);
            fflush(stdout);
            prev_c = tc, prev_u = tu;
        }
        free(first);
        free(out);
        free(ref);
        free(len);
        decoder_free(&d);
    }
    /* beam search, width 4, one source */
    decoder d;
    decoder_init(&d, 4, tp);
    tg_decoder dec = {&d, V, cached_step, reorder};
    tg_beam_opts o = {.beam_width = 4, .alpha = 0.6f, .max_len = 64, .eos = -1};
    int32_t out[64];
    int len;
    double tb = 0;
    for (int rep = 0; rep < 2; rep++) {
        reset(&d);
        double t0 = now_s();
        tg_beam_search(tp, &dec, BOS, &o, out, &len, NULL, NULL);
        tb = now_s() - t0;
    }
    printf("beam search, width 4, L = 64: %d tokens in %.3f s = %.0f tokens/s (output tokens; "
           "4 rows per step)\n", len, tb, len / tb);
    decoder_free(&d);
    tg_tape_free(tp);
    return 0;
}
