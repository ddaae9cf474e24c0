/* nn/decode.h — autoregressive decoding: a key/value cache for the
 * Transformer blocks of nn/transformer.h, greedy decoding and beam search.
 *
 * Training runs a decoder over the whole target at once (teacher forcing,
 * a causal mask).  At test time tokens come one at a time, and re-running
 * the decoder over the prefix for every new token costs O(L²) per token in
 * attention and O(L) in everything else.  A key/value cache keeps, for every
 * self-attention layer, the keys and values of the positions already fed;
 * a step projects only the new position, appends its K/V and attends over
 * the cache: O(L) per token (Vaswani et al. 2017 decode this way; the
 * "incremental state" of fairseq, the past_key_values of Hugging Face).
 * Cross-attention keys/values depend only on the encoder's memory, so they
 * are projected once per source (tg_cross_kv).
 *
 *   // setup, once: caches for B sequences of at most L_max tokens
 *   tg_kv_cache cache[N_LAYERS];
 *   for (int l = 0; l < N_LAYERS; l++) tg_kv_cache_init(&cache[l], L_max, B, C, 0);
 *   tg_tape_set_grad(tp, 0);  tg_tape_set_training(tp, 0);
 *   // each token: position pos = cache[0].len, x [B, 1, C] its input embedding
 *   // (positions: tg_posenc_sinusoidal_at / tg_posenc_learned_at, nn/posenc.h)
 *   tg_tape_reset(tp);
 *   for (int l = 0; l < N_LAYERS; l++) x = tg_encoder_block_step(tp, &blk[l], x, &cache[l]);
 *   ... final LayerNorm, head -> logits [B, 1, V] ...
 *
 * The generic searches (tg_greedy_decode, tg_beam_search) see a model only
 * through tg_decoder: a step callback (next-token logits for one new token
 * per row) and a reorder callback (rows of the cache follow the surviving
 * beams).  They work for any model that can provide the two — the
 * encoder-decoder of examples/translate, the decoder-only char LM of
 * examples/charlm, a hand-written table in a test.
 *
 * Cache layout: position-major, k and v each [L_max, B, C] (C = H·D, heads
 * side by side as in core/attention.h).  The first n positions are then one
 * contiguous [1, n, B·C] block, so a step for all B rows is ONE call of the
 * fused tg_attention with the batch folded into the heads (B·H heads of
 * D = C/H; each query row sees only its own row's keys).  Memory:
 * 2·L_max·B·C floats per layer.
 *
 * Modes.  With gradient recording off (decoding) a step allocates only
 * [B, 1, ·]-sized tensors on the tape, none growing with L, so after the
 * first token a decoding loop with tg_tape_reset per token makes no heap
 * allocation.  With recording on, the step is differentiable with respect to
 * its input, the block's parameters and the cache contents (the cache's k/v
 * tensors, when they require grad: tests/test_decode.c checks the gradient
 * numerically); it then joins the cache and the new K/V with tg_concat, a
 * copy of the cache per step.
 */
#ifndef TG_NN_DECODE_H
#define TG_NN_DECODE_H

#include <stdint.h>

#include "nn/transformer.h"

/* ---- the key/value cache of one self-attention layer --------------------- */
typedef struct tg_kv_cache {
    int max_len;    /* L_max: positions it can hold */
    int batch;      /* B: sequences (rows) decoded side by side, e.g. beams */
    int d_model;    /* C */
    int len;        /* positions filled, 0..L_max; the next step writes position len */
    tg_tensor *k;   /* [L_max, B, C], owned; position p of row b at (p·B + b)·C */
    tg_tensor *v;   /* [L_max, B, C], owned */
    float *scratch; /* L_max·B·C floats for tg_kv_cache_reorder, owned */
} tg_kv_cache;

/* Allocates an empty cache (len 0; k, v zeroed).  requires_grad: 0 for
 * decoding; 1 gives k and v gradient buffers (TG_REQUIRES_GRAD), so a step
 * recorded on a tape passes d(loss)/d(cached K/V) into k->grad, v->grad (a
 * gradient check of a step; zero them between sweeps).  Heap memory, owned
 * by c until tg_kv_cache_free.  Errors: a dim < 1 aborts. */
void tg_kv_cache_init(tg_kv_cache *c, int max_len, int batch, int d_model, int requires_grad);
void tg_kv_cache_free(tg_kv_cache *c);
/* Forgets every position (len = 0), keeping the memory: a new sequence. */
void tg_kv_cache_reset(tg_kv_cache *c);
/* Beam reordering: for every filled position, row b becomes old row src[b]
 * (src: B ints in [0, B); repeats allowed — two beams continuing one
 * hypothesis).  O(len·B·C).  Errors: an index outside [0, B) aborts. */
void tg_kv_cache_reorder(tg_kv_cache *c, const int32_t *src);

/* ---- cross-attention keys/values, projected once per source --------------- */
typedef struct tg_cross_kv {
    int batch, src_len, d_model; /* B (after repeat), Ls, C */
    tg_tensor *k, *v;            /* [B, Ls, C] each, owned: memory W_kᵀ + b_k, memory W_vᵀ + b_v */
    uint8_t *key_padding;        /* [B, Ls] copy of the source mask (1 = real), or NULL; owned */
} tg_cross_kv;

/* Projects memory [B0, Ls, C] through attn's w_k and w_v (on tp, with
 * recording off for the duration of the call) and stores the results in
 * owned tensors, each source row repeated `repeat` times (row b0·repeat + r:
 * the beams of source b0), so B = B0·repeat.  key_padding: [B0, Ls] bytes
 * (1 = real token) or NULL, copied and repeated likewise.  Heap memory until
 * tg_cross_kv_free; tp's arena is used as scratch only.
 * Errors: memory not [B0, Ls, C] with C = attn->d_model, repeat < 1, abort. */
void tg_cross_kv_init(tg_cross_kv *ckv, tg_tape *tp, const tg_mha *attn, const tg_tensor *memory,
                      const uint8_t *key_padding, int repeat);
void tg_cross_kv_free(tg_cross_kv *ckv);

/* ---- cached steps --------------------------------------------------------- */

/* Multi-head self-attention for one new position per row:
 *   q, k, v = x W_qᵀ + b_q, x W_kᵀ + b_k, x W_vᵀ + b_v        x [B, 1, C]
 *   cache[len] ← (k, v);  len ← len + 1
 *   out = W_o · Attention(q, cache.k[0:len], cache.v[0:len]) + b_o
 * — exactly row `len` of tg_mha_forward(x_full, x_full, causal) over the
 * whole prefix.  Returns [B, 1, C] on tp.
 * Errors: x not [B, 1, C] with the cache's B and C, or a full cache
 * (len == max_len), abort. */
tg_tensor *tg_mha_step(tg_tape *tp, tg_mha *m, tg_tensor *x, tg_kv_cache *cache);

/* Multi-head cross-attention for one new position per row against keys and
 * values projected by tg_cross_kv_init (its key_padding masks the source):
 *   out = W_o · Attention(x W_qᵀ + b_q, ckv.k, ckv.v) + b_o      x [B, 1, C] -> [B, 1, C]
 * Errors: x not [ckv.batch, 1, C] aborts. */
tg_tensor *tg_mha_cross_step(tg_tape *tp, tg_mha *m, tg_tensor *x, const tg_cross_kv *ckv);

/* A tg_encoder_block used as a decoder-only (GPT) block — self-attention
 * under a causal mask, MLP; pre- or post-LN as its config — for one new
 * position: x [B, 1, C] -> [B, 1, C], appending to cache (one per block).
 * Equal to the last row of tg_encoder_block_forward(prefix, {.causal = 1})
 * (tests/test_decode.c: to ~1e-5).  Errors as tg_mha_step. */
tg_tensor *tg_encoder_block_step(tg_tape *tp, tg_encoder_block *blk, tg_tensor *x,
                                 tg_kv_cache *cache);

/* A tg_decoder_block for one new position: masked self-attention over
 * `cache`, cross-attention to `ckv`, MLP.  y [B, 1, C] -> [B, 1, C].  Equal
 * to the last row of tg_decoder_block_forward(prefix, memory, causal,
 * source padding).  Errors as tg_mha_step / tg_mha_cross_step. */
tg_tensor *tg_decoder_block_step(tg_tape *tp, tg_decoder_block *blk, tg_tensor *y,
                                 tg_kv_cache *cache, const tg_cross_kv *ckv);

/* ---- the model interface of the searches ---------------------------------- */
typedef struct tg_decoder {
    void *model; /* the caller's, passed back to the callbacks */
    int vocab;   /* V */
    /* Feeds ids[b] (b = 0..B−1) as the next token of row b — every row at
     * the same position, the model's own counter (e.g. its caches' len) —
     * and returns the next-token logits [B, V] (or [B, 1, V]) on tp, valid
     * until the next tg_tape_reset.  Called with recording off, after a
     * tg_tape_reset. */
    tg_tensor *(*step)(tg_tape *tp, void *model, const int32_t *ids, int B);
    /* Makes row b continue old row src[b] (b = 0..B−1), e.g. by
     * tg_kv_cache_reorder on every cache.  Needed by beam search with
     * W > 1; greedy decoding never calls it (may be NULL there). */
    void (*reorder)(void *model, const int32_t *src, int B);
} tg_decoder;

/* Greedy decoding of B rows in lockstep: feed first[b], take the argmax of
 * the logits (the lowest index on ties), feed it, ... until every row has
 * produced eos or max_len tokens.  The model must be positioned where
 * first[] goes (caches reset, or holding a prompt whose last token is
 * first[]).  out: [B, max_len] tokens (the produced ones; eos included, then
 * eos repeated as filler); out_len: [B] counts including the eos (max_len
 * when none).  eos < 0: never stop early (fixed-length generation).
 * Rows that finished keep being stepped (fed eos) until all have, so the
 * cost is B·(longest) steps.  Switches tp to recording off / evaluation mode
 * for the call and restores both.  Returns the number of steps taken.
 * Errors: B or max_len < 1, a NULL argument, logits not [B, V], abort. */
int tg_greedy_decode(tg_tape *tp, const tg_decoder *dec, int B, const int32_t *first, int eos,
                     int max_len, int32_t *out, int *out_len);

/* Beam search (Wu et al. 2016, §7, "GNMT"): hypotheses scored by their
 * summed log-probability s(Y) divided by the length penalty
 *   lp(Y) = ((5 + |Y|) / 6)^α                                      (eq. 14)
 * (|Y| counts the tokens produced, eos included; α = 0: no normalisation;
 * GNMT uses 0.6–0.7).  No coverage penalty.  Rows of the decoder:
 * beam_width (W); every row starts at the same position, fed `first`.
 * Each step the W live hypotheses are extended by every token; of the 2W
 * best candidates by s, those ending in eos among the first W become
 * finished hypotheses, and the best W others stay live (dec->reorder makes
 * the model's rows follow them).  Stops when W hypotheses have finished,
 * at max_len tokens, or as soon as no live hypothesis can beat the best
 * finished one (s only decreases with length, so s_live / lp(max_len)
 * bounds it).  With W = 1 this is greedy decoding (any α).
 * Returns the best finished hypothesis by s/lp (live ones compete at
 * max_len or when none finished): out [max_len] tokens, *out_len (eos
 * included), *score = s/lp (may be NULL), *logprob = s (may be NULL).
 * Recording off / evaluation mode for the call, restored after.
 * Scratch: heap buffers of O(W·max_len + W·V) allocated at entry, freed at
 * exit (none per token).
 * Errors: beam_width < 1, max_len < 1, alpha < 0, reorder NULL with W > 1,
 * logits not [W, V], abort. */
typedef struct tg_beam_opts {
    int beam_width; /* W >= 1 */
    float alpha;    /* length-penalty exponent α >= 0 */
    int max_len;    /* at most this many tokens produced */
    int eos;        /* end-of-sequence token; < 0: none (runs to max_len) */
} tg_beam_opts;

int tg_beam_search(tg_tape *tp, const tg_decoder *dec, int32_t first, const tg_beam_opts *opts,
                   int32_t *out, int *out_len, float *score, float *logprob);

/* lp(Y) above: ((5 + len)/6)^alpha. */
float tg_beam_length_penalty(int len, float alpha);

/* ---- sampling -------------------------------------------------------------
 * Draws a token from softmax(logits / temperature) restricted to the top_k
 * largest logits (Fan et al. 2018, top-k sampling; top_k <= 0 or >= V: all
 * V).  temperature == 0: the argmax (lowest index on ties), no draw.
 * logits: V floats (one row); scratch: V floats of the caller's (no
 * allocation here).  One tg_rng_uniform draw per call (none at temperature
 * 0), so a seed reproduces a sample.  Ties at the k-th value are all kept.
 * Errors: V < 1, temperature < 0, a NULL pointer, abort. */
int32_t tg_sample_logits(const float *logits, int V, float temperature, int top_k, tg_rng *rng,
                         float *scratch);

#endif
