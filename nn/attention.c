/* nn/attention.c — see nn/attention.h.  The fused op is core/ops/attention.c;
 * the mask and its additive-tensor builder are shared with it. */
#include "nn/attention.h"

#include <math.h>

#include "core/ops.h"
#include "nn/init.h"

/* Swaps dims 1 and 2 of a 4-D tensor: [B, L, H, D] <-> [B, H, L, D]. */
static const int SWAP_LH[4] = {0, 2, 1, 3};

/* [B, L, H·D] -> [B, L, H, D] (reshape) -> [B, H, L, D] (permute). */
static tg_tensor *split_heads(tg_tape *tp, tg_tensor *x, int H) {
    int B = x->shape[0], L = x->shape[1], D = x->shape[2] / H;
    if (H == 1) return tg_reshape(tp, x, TG_SHAPE(B, 1, L, D));
    return tg_permute(tp, tg_reshape(tp, x, TG_SHAPE(B, L, H, D)), SWAP_LH);
}

/* [B, H, L, D] -> [B, L, H, D] -> [B, L, H·D]: the inverse of split_heads
 * (the heads' outputs concatenated in the last dim). */
static tg_tensor *merge_heads(tg_tape *tp, tg_tensor *o) {
    int B = o->shape[0], H = o->shape[1], L = o->shape[2], D = o->shape[3];
    if (H == 1) return tg_reshape(tp, o, TG_SHAPE(B, L, D));
    return tg_reshape(tp, tg_permute(tp, o, SWAP_LH), TG_SHAPE(B, L, H * D));
}

tg_tensor *tg_attention_composed(tg_tape *tp, tg_tensor *q, tg_tensor *k, tg_tensor *v,
                                 int n_heads, float scale, const tg_attn_mask *mask,
                                 tg_tensor **weights) {
    const char *op = "tg_attention_composed";
    tg_attention_check(op, q, k, v, n_heads, mask);
    int B = q->shape[0], Lq = q->shape[1], Lk = k->shape[1];
    tg_tensor *Q = split_heads(tp, q, n_heads), *K = split_heads(tp, k, n_heads),
              *V = split_heads(tp, v, n_heads);
    tg_tensor *S = tg_scale(tp, tg_matmul(tp, Q, K, 0, 1), scale); /* [B, H, Lq, Lk] */
    tg_tensor *M = tg_attn_mask_tensor(tp, mask, B, Lq, Lk);        /* 0 / −inf, or NULL */
    tg_tensor *P = tg_softmax(tp, S, M);
    if (weights) *weights = P;
    return merge_heads(tp, tg_matmul(tp, P, V, 0, 0));
}

/* ---- single-head self-attention ------------------------------------------ */

void tg_self_attention_init(tg_self_attention *a, tg_params *ps, const char *prefix, int d_model,
                            int d_k, int d_v, tg_rng *rng) {
    TG_CHECK(a && ps && prefix && rng, "tg_self_attention_init", "an argument is NULL");
    TG_CHECK(d_model >= 1 && d_k >= 1 && d_v >= 1, "tg_self_attention_init",
             "%s: dims must be >= 1, got d_model=%d d_k=%d d_v=%d", prefix, d_model, d_k, d_v);
    *a = (tg_self_attention){.d_model = d_model, .d_k = d_k, .d_v = d_v};
    a->w_q = tg_params_new(ps, TG_SHAPE(d_model, d_k), "%s.w_q", prefix);
    tg_init_xavier_uniform(a->w_q, d_model, d_k, rng);
    a->w_k = tg_params_new(ps, TG_SHAPE(d_model, d_k), "%s.w_k", prefix);
    tg_init_xavier_uniform(a->w_k, d_model, d_k, rng);
    a->w_v = tg_params_new(ps, TG_SHAPE(d_model, d_v), "%s.w_v", prefix);
    tg_init_xavier_uniform(a->w_v, d_model, d_v, rng);
}

tg_tensor *tg_self_attention_forward(tg_tape *tp, tg_self_attention *a, tg_tensor *x,
                                     const tg_attn_mask *mask) {
    TG_CHECK(a && a->w_q, "tg_self_attention_forward", "layer is NULL or not initialised");
    TG_CHECK_TENSOR("tg_self_attention_forward", x);
    TG_CHECK(x->ndim == 3 && x->shape[2] == a->d_model, "tg_self_attention_forward",
             "x is %s, expected [B, T, %d]", TG_SHAPE_STR(x), a->d_model);
    /* Q = X W_q, K = X W_k, V = X W_v  (each one GEMM over all B·T rows) */
    tg_tensor *Q = tg_matmul(tp, x, a->w_q, 0, 0), *K = tg_matmul(tp, x, a->w_k, 0, 0),
              *V = tg_matmul(tp, x, a->w_v, 0, 0);
    float scale = 1.0f / sqrtf((float)a->d_k);
    a->weights = NULL;
    if (a->use_composed) /* A' = softmax(Q Kᵀ / √d_k), O = A' V as separate nodes */
        return tg_attention_composed(tp, Q, K, V, 1, scale, mask,
                                     a->store_weights ? &a->weights : NULL);
    int B = x->shape[0], T = x->shape[1];
    if (a->store_weights) a->weights = tg_tape_tensor(tp, TG_SHAPE(B, 1, T, T));
    return tg_attention(tp, Q, K, V, 1, scale, mask, a->weights ? a->weights->data : NULL);
}

/* ---- multi-head attention ------------------------------------------------ */

void tg_mha_init(tg_mha *m, tg_params *ps, const char *prefix, int d_model, int n_heads,
                 unsigned flags, tg_rng *rng) {
    TG_CHECK(m && ps && prefix && rng, "tg_mha_init", "an argument is NULL");
    TG_CHECK(d_model >= 1 && n_heads >= 1, "tg_mha_init",
             "%s: d_model and n_heads must be >= 1, got %d, %d", prefix, d_model, n_heads);
    TG_CHECK(d_model % n_heads == 0, "tg_mha_init",
             "%s: d_model = %d is not divisible by n_heads = %d", prefix, d_model, n_heads);
    *m = (tg_mha){.d_model = d_model, .n_heads = n_heads, .head_dim = d_model / n_heads};
    char name[TG_PARAM_NAME_MAX];
    unsigned bias = flags & TG_NN_BIAS;
    if (flags & TG_NN_PACKED_QKV) { /* timm's Attention: qkv [3C, C], proj */
        m->packed = 1;
        snprintf(name, sizeof name, "%s.qkv", prefix);
        tg_linear_init(&m->qkv, ps, name, d_model, 3 * d_model, bias | TG_NN_XAVIER, rng);
        snprintf(name, sizeof name, "%s.proj", prefix);
        tg_linear_init(&m->w_o, ps, name, d_model, d_model, bias, rng);
        if (m->w_o.bias) tg_init_constant(m->w_o.bias, 0.0f);
        return;
    }
    snprintf(name, sizeof name, "%s.w_q", prefix);
    tg_linear_init(&m->w_q, ps, name, d_model, d_model, bias | TG_NN_XAVIER, rng);
    snprintf(name, sizeof name, "%s.w_k", prefix);
    tg_linear_init(&m->w_k, ps, name, d_model, d_model, bias | TG_NN_XAVIER, rng);
    snprintf(name, sizeof name, "%s.w_v", prefix);
    tg_linear_init(&m->w_v, ps, name, d_model, d_model, bias | TG_NN_XAVIER, rng);
    snprintf(name, sizeof name, "%s.w_o", prefix);
    tg_linear_init(&m->w_o, ps, name, d_model, d_model, bias, rng);
    if (m->w_o.bias) tg_init_constant(m->w_o.bias, 0.0f); /* torch zeroes out_proj.bias */
}

tg_tensor *tg_mha_forward(tg_tape *tp, tg_mha *m, tg_tensor *x_q, tg_tensor *x_kv,
                          const tg_attn_mask *mask) {
    const char *op = "tg_mha_forward";
    TG_CHECK(m && m->w_o.weight, op, "layer is NULL or not initialised");
    TG_CHECK_TENSOR(op, x_q);
    TG_CHECK_TENSOR(op, x_kv);
    int C = m->d_model;
    TG_CHECK(x_q->ndim == 3 && x_kv->ndim == 3 && x_q->shape[2] == C && x_kv->shape[2] == C &&
                 x_q->shape[0] == x_kv->shape[0],
             op, "%s: x_q is %s, x_kv is %s; expected [B, Lq, %d] and [B, Lk, %d]",
             (m->packed ? m->qkv.weight : m->w_q.weight)->name, TG_SHAPE_STR(x_q),
             TG_SHAPE_STR(x_kv), C, C);
    tg_tensor *Q, *K, *V;
    float scale = 1.0f / sqrtf((float)m->head_dim);
    int B = x_q->shape[0], Lq = x_q->shape[1], Lk = x_kv->shape[1], H = m->n_heads;
    m->weights = NULL;
    if (m->packed) { /* [Q K V] = x W_qkvᵀ + b_qkv: one GEMM */
        TG_CHECK(x_kv == x_q, op, "%s: a packed Q/K/V projection is self-attention only",
                 m->qkv.weight->name);
        tg_tensor *qkv = tg_linear_forward(tp, &m->qkv, x_q);
        if (!m->use_composed) { /* the fused kernel reads the three blocks in place */
            if (m->store_weights) m->weights = tg_tape_tensor(tp, TG_SHAPE(B, H, Lq, Lk));
            tg_tensor *O = tg_attention_qkv(tp, qkv, H, scale, mask,
                                            m->weights ? m->weights->data : NULL);
            return tg_linear_forward(tp, &m->w_o, O);
        }
        tg_tensor *parts[3];
        tg_split(tp, qkv, -1, 3, (const int[]){C, C, C}, parts);
        Q = parts[0], K = parts[1], V = parts[2];
    } else {
        Q = tg_linear_forward(tp, &m->w_q, x_q);
        K = tg_linear_forward(tp, &m->w_k, x_kv);
        V = tg_linear_forward(tp, &m->w_v, x_kv);
    }
    tg_tensor *O;
    if (m->use_composed) {
        O = tg_attention_composed(tp, Q, K, V, H, scale, mask,
                                  m->store_weights ? &m->weights : NULL);
    } else {
        if (m->store_weights) m->weights = tg_tape_tensor(tp, TG_SHAPE(B, H, Lq, Lk));
        O = tg_attention(tp, Q, K, V, H, scale, mask, m->weights ? m->weights->data : NULL);
    }
    return tg_linear_forward(tp, &m->w_o, O); /* Concat(heads) W_oᵀ + b_o */
}
