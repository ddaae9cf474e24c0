/* nn/decode.c — see nn/decode.h. */
#include "nn/decode.h"

#include <math.h>
#include <stdlib.h>

#include <string.h>

#include "core/ops.h"
#include "nn/internal.h"

/* ---- the cache ------------------------------------------------------------ */

void tg_kv_cache_init(tg_kv_cache *c, int max_len, int batch, int d_model, int requires_grad) {
    TG_CHECK(c, "tg_kv_cache_init", "cache is NULL");
    TG_CHECK(max_len >= 1 && batch >= 1 && d_model >= 1, "tg_kv_cache_init",
             "max_len, batch, d_model must be >= 1, got %d, %d, %d", max_len, batch, d_model);
    *c = (tg_kv_cache){.max_len = max_len, .batch = batch, .d_model = d_model};
    c->k = requires_grad ? tg_tensor_new_grad(TG_SHAPE(max_len, batch, d_model))
                         : tg_tensor_new(TG_SHAPE(max_len, batch, d_model));
    c->v = requires_grad ? tg_tensor_new_grad(TG_SHAPE(max_len, batch, d_model))
                         : tg_tensor_new(TG_SHAPE(max_len, batch, d_model));
    c->k->name = "kv_cache.k";
    c->v->name = "kv_cache.v";
    c->scratch = tg_xmalloc((size_t)max_len * batch * d_model * sizeof(float));
}

void tg_kv_cache_free(tg_kv_cache *c) {
    if (!c) return;
    tg_tensor_free(c->k);
    tg_tensor_free(c->v);
    free(c->scratch);
    *c = (tg_kv_cache){0};
}

void tg_kv_cache_reset(tg_kv_cache *c) {
    TG_CHECK(c && c->k, "tg_kv_cache_reset", "cache is NULL or not initialised");
    c->len = 0;
}

/* t[p, b, :] <- t[p, src[b], :] for p < len, through scratch. */
static void reorder_rows(float *t, float *scratch, const int32_t *src, int len, int B, int C) {
    size_t row = (size_t)C * sizeof(float);
    for (int p = 0; p < len; p++)
        for (int b = 0; b < B; b++)
            memcpy(scratch + ((int64_t)p * B + b) * C, t + ((int64_t)p * B + src[b]) * C, row);
    memcpy(t, scratch, (size_t)len * B * row);
}

void tg_kv_cache_reorder(tg_kv_cache *c, const int32_t *src) {
    TG_CHECK(c && c->k && src, "tg_kv_cache_reorder", "cache or src is NULL");
    for (int b = 0; b < c->batch; b++)
        TG_CHECK(src[b] >= 0 && src[b] < c->batch, "tg_kv_cache_reorder",
                 "src[%d] = %d outside [0, %d)", b, src[b], c->batch);
    reorder_rows(c->k->data, c->scratch, src, c->len, c->batch, c->d_model);
    reorder_rows(c->v->data, c->scratch, src, c->len, c->batch, c->d_model);
}

/* Positions [0, len) of a cache tensor [L_max, B, C] as a [1, len, B·C]
 * tensor sharing its data (and its gradient buffer, when it has one): the
 * batch folded into the last dim, one contiguous block. */
static tg_tensor *cache_view(tg_tape *tp, tg_tensor *t, int len, int B, int C) {
    tg_tensor *v = tg_tape_alloc(tp, sizeof *v);
    *v = (tg_tensor){.ndim = 3, .shape = {1, len, B * C, 1}, .size = (int64_t)len * B * C,
                     .data = t->data, .grad = t->grad,
                     .flags = TG_ARENA | (t->flags & TG_REQUIRES_GRAD), .node = -1,
                     .name = t->name};
    return v;
}

/* ---- cross-attention keys/values ------------------------------------------ */

/* dst [B0·repeat, Ls, C] <- src [B0, Ls, C], each row repeated. */
static void repeat_rows(float *dst, const float *src, int B0, int64_t row_floats, int repeat) {
    for (int b = 0; b < B0; b++)
        for (int r = 0; r < repeat; r++)
            memcpy(dst + ((int64_t)b * repeat + r) * row_floats, src + (int64_t)b * row_floats,
                   (size_t)row_floats * sizeof(float));
}

void tg_cross_kv_init(tg_cross_kv *ckv, tg_tape *tp, const tg_mha *attn, const tg_tensor *memory,
                      const uint8_t *key_padding, int repeat) {
    const char *op = "tg_cross_kv_init";
    TG_CHECK(ckv && tp && attn && attn->w_k.weight, op, "an argument is NULL or not initialised");
    TG_CHECK_TENSOR(op, memory);
    TG_CHECK(memory->ndim == 3 && memory->shape[2] == attn->d_model && repeat >= 1, op,
             "memory is %s, expected [B, Ls, %d]; repeat = %d must be >= 1",
             TG_SHAPE_STR(memory), attn->d_model, repeat);
    int B0 = memory->shape[0], Ls = memory->shape[1], C = attn->d_model, B = B0 * repeat;
    int was_grad = tg_tape_set_grad(tp, 0);
    tg_tensor *mem = (tg_tensor *)memory; /* read only: tg_linear_forward takes non-const */
    tg_tensor *k = tg_linear_forward(tp, &attn->w_k, mem), *v = tg_linear_forward(tp, &attn->w_v, mem);
    tg_tape_set_grad(tp, was_grad);
    *ckv = (tg_cross_kv){.batch = B, .src_len = Ls, .d_model = C};
    ckv->k = tg_tensor_new(TG_SHAPE(B, Ls, C));
    ckv->v = tg_tensor_new(TG_SHAPE(B, Ls, C));
    ckv->k->name = "cross_kv.k";
    ckv->v->name = "cross_kv.v";
    repeat_rows(ckv->k->data, k->data, B0, (int64_t)Ls * C, repeat);
    repeat_rows(ckv->v->data, v->data, B0, (int64_t)Ls * C, repeat);
    if (key_padding) {
        ckv->key_padding = tg_xmalloc((size_t)B * Ls);
        for (int b = 0; b < B0; b++)
            for (int r = 0; r < repeat; r++)
                memcpy(ckv->key_padding + ((int64_t)b * repeat + r) * Ls,
                       key_padding + (int64_t)b * Ls, (size_t)Ls);
    }
}

void tg_cross_kv_free(tg_cross_kv *ckv) {
    if (!ckv) return;
    tg_tensor_free(ckv->k);
    tg_tensor_free(ckv->v);
    free(ckv->key_padding);
    *ckv = (tg_cross_kv){0};
}

/* ---- cached steps ---------------------------------------------------------- */

tg_tensor *tg_mha_step(tg_tape *tp, tg_mha *m, tg_tensor *x, tg_kv_cache *cache) {
    const char *op = "tg_mha_step";
    TG_CHECK(m && m->w_q.weight && cache && cache->k, op, "layer or cache NULL / not initialised");
    TG_CHECK_TENSOR(op, x);
    int B = cache->batch, C = m->d_model, n = cache->len;
    TG_CHECK(x->ndim == 3 && x->shape[0] == B && x->shape[1] == 1 && x->shape[2] == C &&
                 cache->d_model == C,
             op, "%s: x is %s, expected [%d, 1, %d] (cache: batch %d, d_model %d)",
             m->w_q.weight->name, TG_SHAPE_STR(x), B, C, cache->batch, cache->d_model);
    TG_CHECK(n < cache->max_len, op, "%s: the cache is full (%d positions)", m->w_q.weight->name,
             cache->max_len);
    tg_tensor *q = tg_linear_forward(tp, &m->w_q, x); /* [B, 1, C] */
    tg_tensor *k = tg_linear_forward(tp, &m->w_k, x);
    tg_tensor *v = tg_linear_forward(tp, &m->w_v, x);
    /* cache[n] <- (k, v): rows b = 0..B−1 of position n, contiguous [B, C] */
    int64_t at = (int64_t)n * B * C;
    memcpy(cache->k->data + at, k->data, (size_t)B * C * sizeof(float));
    memcpy(cache->v->data + at, v->data, (size_t)B * C * sizeof(float));
    cache->len = n + 1;
    tg_tensor *K, *V;
    if (tg_tape_grad_enabled(tp)) {
        /* differentiable: [cache[0:n] ; k] joined by a recorded concat */
        tg_tensor *k1 = tg_reshape(tp, k, TG_SHAPE(1, 1, B * C));
        tg_tensor *v1 = tg_reshape(tp, v, TG_SHAPE(1, 1, B * C));
        K = n == 0 ? k1
                   : tg_concat(tp, 2, (tg_tensor *[]){cache_view(tp, cache->k, n, B, C), k1}, 1);
        V = n == 0 ? v1
                   : tg_concat(tp, 2, (tg_tensor *[]){cache_view(tp, cache->v, n, B, C), v1}, 1);
    } else { /* decoding: read positions 0..n in place */
        K = cache_view(tp, cache->k, n + 1, B, C);
        V = cache_view(tp, cache->v, n + 1, B, C);
    }
    /* B·H heads over [1, n+1, B·C]: head b·H + h is head h of row b */
    tg_tensor *o = tg_attention(tp, tg_reshape(tp, q, TG_SHAPE(1, 1, B * C)), K, V,
                                B * m->n_heads, 1.0f / sqrtf((float)m->head_dim), NULL, NULL);
    return tg_linear_forward(tp, &m->w_o, tg_reshape(tp, o, TG_SHAPE(B, 1, C)));
}

tg_tensor *tg_mha_cross_step(tg_tape *tp, tg_mha *m, tg_tensor *x, const tg_cross_kv *ckv) {
    const char *op = "tg_mha_cross_step";
    TG_CHECK(m && m->w_q.weight && ckv && ckv->k, op, "layer or cross K/V NULL / not initialised");
    TG_CHECK_TENSOR(op, x);
    int B = ckv->batch, C = m->d_model;
    TG_CHECK(x->ndim == 3 && x->shape[0] == B && x->shape[1] == 1 && x->shape[2] == C &&
                 ckv->d_model == C,
             op, "%s: x is %s, expected [%d, 1, %d] (cross K/V: batch %d, d_model %d)",
             m->w_q.weight->name, TG_SHAPE_STR(x), B, C, ckv->batch, ckv->d_model);
    tg_tensor *q = tg_linear_forward(tp, &m->w_q, x);
    tg_attn_mask mask = {.key_padding = ckv->key_padding};
    tg_tensor *o = tg_attention(tp, q, ckv->k, ckv->v, m->n_heads,
                                1.0f / sqrtf((float)m->head_dim), ckv->key_padding ? &mask : NULL,
                                NULL);
    return tg_linear_forward(tp, &m->w_o, o);
}

tg_tensor *tg_encoder_block_step(tg_tape *tp, tg_encoder_block *blk, tg_tensor *x,
                                 tg_kv_cache *cache) {
    TG_CHECK(blk, "tg_encoder_block_step", "block is NULL");
    const tg_block_config *cfg = &blk->cfg;
    tg_tensor *h = tg__block_norm_in(tp, cfg, &blk->ln1, x);
    x = tg__block_residual(tp, cfg, &blk->ln1, &blk->drop, x,
                           tg_mha_step(tp, &blk->self_attn, h, cache));
    h = tg__block_norm_in(tp, cfg, &blk->ln2, x);
    return tg__block_residual(tp, cfg, &blk->ln2, &blk->drop, x,
                              tg_mlp_forward(tp, &blk->mlp, h));
}

tg_tensor *tg_decoder_block_step(tg_tape *tp, tg_decoder_block *blk, tg_tensor *y,
                                 tg_kv_cache *cache, const tg_cross_kv *ckv) {
    TG_CHECK(blk, "tg_decoder_block_step", "block is NULL");
    const tg_block_config *cfg = &blk->cfg;
    tg_tensor *h = tg__block_norm_in(tp, cfg, &blk->ln1, y);
    y = tg__block_residual(tp, cfg, &blk->ln1, &blk->drop, y,
                           tg_mha_step(tp, &blk->self_attn, h, cache));
    h = tg__block_norm_in(tp, cfg, &blk->ln2, y);
    y = tg__block_residual(tp, cfg, &blk->ln2, &blk->drop, y,
                           tg_mha_cross_step(tp, &blk->cross_attn, h, ckv));
    h = tg__block_norm_in(tp, cfg, &blk->ln3, y);
    return tg__block_residual(tp, cfg, &blk->ln3, &blk->drop, y,
                              tg_mlp_forward(tp, &blk->mlp, h));
}

/* ---- searches -------------------------------------------------------------- */

/* One step of the model: logits [B, V] as a plain row-major array. */
static const float *model_step(tg_tape *tp, const tg_decoder *dec, const int32_t *ids, int B,
                               const char *op) {
    tg_tape_reset(tp);
    tg_tensor *logits = dec->step(tp, dec->model, ids, B);
    TG_CHECK(logits && logits->size == (int64_t)B * dec->vocab &&
                 logits->shape[logits->ndim - 1] == dec->vocab,
             op, "the step returned %s, expected [%d, %d] logits",
             logits ? TG_SHAPE_STR(logits) : "NULL", B, dec->vocab);
    return logits->data;
}

static void check_decoder(const tg_decoder *dec, const char *op) {
    TG_CHECK(dec && dec->step && dec->vocab >= 1, op, "decoder is NULL, has no step or vocab < 1");
}

int tg_greedy_decode(tg_tape *tp, const tg_decoder *dec, int B, const int32_t *first, int eos,
                     int max_len, int32_t *out, int *out_len) {
    const char *op = "tg_greedy_decode";
    check_decoder(dec, op);
    TG_CHECK(tp && first && out && out_len, op, "an argument is NULL");
    TG_CHECK(B >= 1 && max_len >= 1, op, "B and max_len must be >= 1, got %d, %d", B, max_len);
    int was_grad = tg_tape_set_grad(tp, 0), was_training = tg_tape_set_training(tp, 0);
    int32_t *ids = tg_xmalloc((size_t)B * sizeof *ids);
    memcpy(ids, first, (size_t)B * sizeof *ids);
    for (int b = 0; b < B; b++) out_len[b] = 0;
    const int V = dec->vocab;
    int t = 0, n_done = 0;
    while (t < max_len && n_done < B) {
        const float *logits = model_step(tp, dec, ids, B, op);
        for (int b = 0; b < B; b++) {
            int32_t *o = out + (int64_t)b * max_len;
            if (out_len[b] > 0 && o[out_len[b] - 1] == eos) { /* finished: eos as filler */
                o[t] = ids[b] = eos;
                continue;
            }
            const float *row = logits + (int64_t)b * V;
            int best = 0;
            for (int v = 1; v < V; v++)
                if (row[v] > row[best]) best = v;
            o[t] = ids[b] = best;
            out_len[b]++;
            if (best == eos) n_done++;
        }
        t++;
    }
    free(ids);
    tg_tape_set_grad(tp, was_grad);
    tg_tape_set_training(tp, was_training);
    return t;
}

float tg_beam_length_penalty(int len, float alpha) {
    return alpha == 0.0f ? 1.0f : (float)pow((5.0 + len) / 6.0, (double)alpha);
}

/* A candidate extension: hypothesis (row) w followed by token v, score s. */
typedef struct {
    double s;
    int w, v;
} cand;

/* Inserts c into the best-first list top[0..*n) of capacity cap (ties: the
 * lower w·V + v first, i.e. the earlier candidate stays ahead). */
static void top_insert(cand *top, int *n, int cap, cand c) {
    if (*n == cap && !(c.s > top[cap - 1].s)) return;
    int i = *n < cap ? (*n)++ : cap - 1;
    while (i > 0 && c.s > top[i - 1].s) {
        top[i] = top[i - 1];
        i--;
    }
    top[i] = c;
}

typedef struct {
    int32_t *tok; /* [max_len] */
    int len;
    double s, norm; /* summed log-probability, s / lp */
} hyp;

int tg_beam_search(tg_tape *tp, const tg_decoder *dec, int32_t first, const tg_beam_opts *opts,
                   int32_t *out, int *out_len, float *score, float *logprob) {
    const char *op = "tg_beam_search";
    check_decoder(dec, op);
    TG_CHECK(tp && opts && out && out_len, op, "an argument is NULL");
    const int W = opts->beam_width, L = opts->max_len, V = dec->vocab, eos = opts->eos;
    const float alpha = opts->alpha;
    TG_CHECK(W >= 1 && L >= 1 && alpha >= 0.0f, op,
             "beam_width and max_len must be >= 1 and alpha >= 0, got %d, %d, %g", W, L,
             (double)alpha);
    TG_CHECK(W == 1 || dec->reorder, op, "beam width %d needs dec->reorder", W);
    int was_grad = tg_tape_set_grad(tp, 0), was_training = tg_tape_set_training(tp, 0);

    /* scratch, all allocated here */
    int32_t *tok_all = tg_xcalloc((size_t)3 * W * L * sizeof *tok_all);
    int32_t *tok = tok_all, *tok_new = tok + (size_t)W * L, *fin_tok = tok_new + (size_t)W * L;
    double *s = tg_xmalloc((size_t)2 * W * sizeof *s), *s_new = s + W;
    int32_t *ids = tg_xmalloc((size_t)2 * W * sizeof *ids), *src = ids + W;
    cand *top = tg_xmalloc((size_t)2 * W * sizeof *top);
    hyp *fin = tg_xcalloc((size_t)W * sizeof *fin);
    for (int i = 0; i < W; i++) fin[i].tok = fin_tok + (size_t)i * L;
    int n_fin = 0, best_fin = -1;

    for (int w = 0; w < W; w++) s[w] = w == 0 ? 0.0 : -INFINITY, ids[w] = first;
    const double lp_max = tg_beam_length_penalty(L, alpha);
    int t = 0; /* tokens produced so far by every live hypothesis */
    while (t < L) {
        const float *logits = model_step(tp, dec, ids, W, op);
        /* the 2W best extensions by summed log-probability */
        int n_top = 0;
        for (int w = 0; w < W; w++) {
            if (s[w] == -INFINITY) continue;
            const float *row = logits + (int64_t)w * V;
            float mx = row[0];
            for (int v = 1; v < V; v++) mx = row[v] > mx ? row[v] : mx;
            double sum = 0.0;
            for (int v = 0; v < V; v++) sum += exp((double)row[v] - mx);
            double lse = mx + log(sum);
            for (int v = 0; v < V; v++)
                top_insert(top, &n_top, 2 * W, (cand){s[w] + ((double)row[v] - lse), w, v});
        }
        /* eos among the first W finishes a hypothesis; the best W others stay live */
        int n_live = 0;
        const double lp = tg_beam_length_penalty(t + 1, alpha);
        for (int i = 0; i < n_top && n_live < W; i++) {
            cand c = top[i];
            if (eos >= 0 && c.v == eos) {
                if (i >= W || n_fin == W) continue;
                hyp *h = &fin[n_fin];
                memcpy(h->tok, tok + (size_t)c.w * L, (size_t)t * sizeof *tok);
                h->tok[t] = eos;
                h->len = t + 1;
                h->s = c.s;
                h->norm = c.s / lp;
                if (best_fin < 0 || h->norm > fin[best_fin].norm) best_fin = n_fin;
                n_fin++;
                continue;
            }
            memcpy(tok_new + (size_t)n_live * L, tok + (size_t)c.w * L, (size_t)t * sizeof *tok);
            tok_new[(size_t)n_live * L + t] = c.v;
            s_new[n_live] = c.s;
            src[n_live] = c.w;
            ids[n_live] = c.v;
            n_live++;
        }
        for (int w = n_live; w < W; w++) /* fewer than W live (tiny V): dead rows */
            s_new[w] = -INFINITY, src[w] = n_live ? src[0] : 0, ids[w] = n_live ? ids[0] : first;
        int32_t *swap = tok;
        tok = tok_new, tok_new = swap;
        memcpy(s, s_new, (size_t)W * sizeof *s);
        t++;
        if (n_fin == W || n_live == 0 || t == L) break;
        /* no live hypothesis can beat the best finished one: s only falls
         * with length, and lp(len) <= lp(L), so s / lp(L) bounds it */
        if (best_fin >= 0) {
            double bound = -INFINITY;
            for (int w = 0; w < n_live; w++) bound = fmax(bound, s[w] / lp_max);
            if (fin[best_fin].norm >= bound) break;
        }
        if (W > 1) dec->reorder(dec->model, src, W);
    }

    /* the best by s / lp: finished ones; live ones too when they reached L or none finished */
    const int32_t *best_tok = NULL;
    int best_len = 0;
    double best_s = -INFINITY, best_norm = -INFINITY;
    if (best_fin >= 0) {
        best_tok = fin[best_fin].tok, best_len = fin[best_fin].len;
        best_s = fin[best_fin].s, best_norm = fin[best_fin].norm;
    }
    if (t == L || best_fin < 0) {
        double lp = tg_beam_length_penalty(t, alpha);
        for (int w = 0; w < W; w++)
            if (s[w] > -INFINITY && s[w] / lp > best_norm)
                best_tok = tok + (size_t)w * L, best_len = t, best_s = s[w], best_norm = s[w] / lp;
    }
    if (best_tok) memcpy(out, best_tok, (size_t)best_len * sizeof *out);
    *out_len = best_len;
    if (score) *score = (float)best_norm;
    if (logprob) *logprob = (float)best_s;

    free(tok_all);
    free(s);
    free(ids);
    free(top);
    free(fin);
    tg_tape_set_grad(tp, was_grad);
    tg_tape_set_training(tp, was_training);
    return t;
}

/* ---- sampling ----------------------------------------------------------------- */

/* The k-th largest of a[0..n) (1 <= k <= n), reordering a: Hoare's
 * quickselect (CACM 4(7), 1961, Algorithm 65 FIND), middle pivot. */
static float kth_largest(float *a, int n, int k) {
    int lo = 0, hi = n - 1, want = k - 1; /* index in descending order */
    while (lo < hi) {
        float pivot = a[lo + (hi - lo) / 2];
        int i = lo, j = hi;
        while (i <= j) {
            while (a[i] > pivot) i++;
            while (a[j] < pivot) j--;
            if (i <= j) {
                float t = a[i];
                a[i++] = a[j];
                a[j--] = t;
            }
        }
        if (want <= j) hi = j;
        else if (want >= i) lo = i;
        else break;
    }
    return a[want];
}

int32_t tg_sample_logits(const float *logits, int V, float temperature, int top_k, tg_rng *rng,
                         float *scratch) {
    TG_CHECK(logits && rng && scratch && V >= 1 && temperature >= 0.0f, "tg_sample_logits",
             "need logits, rng, scratch, V >= 1 and temperature >= 0 (got V %d, temperature %g)",
             V, (double)temperature);
    int best = 0;
    for (int v = 1; v < V; v++)
        if (logits[v] > logits[best]) best = v;
    if (temperature == 0.0f) return best;
    float thresh = -INFINITY;
    if (top_k > 0 && top_k < V) {
        memcpy(scratch, logits, (size_t)V * sizeof *scratch);
        thresh = kth_largest(scratch, V, top_k);
    }
    /* p_v ∝ exp((l_v − max) / temperature) over l_v >= thresh */
    double sum = 0.0, inv_t = 1.0 / temperature, mx = logits[best];
    for (int v = 0; v < V; v++) {
        double p = logits[v] >= thresh ? exp(((double)logits[v] - mx) * inv_t) : 0.0;
        scratch[v] = (float)p;
        sum += p;
    }
    double u = (double)tg_rng_uniform(rng) * sum, acc = 0.0;
    int last = best;
    for (int v = 0; v < V; v++) {
        if (scratch[v] == 0.0f) continue;
        acc += scratch[v];
        last = v;
        if (u < acc) return v;
    }
    return last; /* u rounded up to the total */
}
