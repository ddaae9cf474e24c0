/* nn/gat.c — see nn/gat.h.  Both layers are compositions of tape ops:
 * a projection (tg_matmul or tg_spmm), per-edge scores (tg_embedding gathers
 * of per-node terms, or tg_edge_dot), tg_segment_softmax, tg_dropout,
 * tg_segment_aggregate. */
#include "nn/gat.h"

#include <math.h>

#include "core/ops.h"

/* y = x Wᵀ (+ b) for dense x [N, F] or sparse x with values; W [out, F]. */
static tg_tensor *project(tg_tape *tp, tg_tensor *w, tg_tensor *b, tg_tensor *x,
                          const tg_sparse *xs, tg_tensor *xval) {
    tg_tensor *y = x ? tg_matmul(tp, x, w, 0, 1) : tg_spmm(tp, xs, xval, tg_transpose(tp, w));
    return b ? tg_add(tp, y, b) : y;
}

static void check_input(const char *op, const tg_tensor *x, const tg_sparse *xs, int F,
                        const tg_csr *g) {
    TG_CHECK(g != NULL, op, "graph is NULL");
    if (x)
        TG_CHECK(x->ndim == 2 && x->shape[0] == g->n_nodes && x->shape[1] == F, op,
                 "x must be [N, F] = [%d, %d], got %s", g->n_nodes, F, TG_SHAPE_STR(x));
    else
        TG_CHECK(xs && xs->n_rows == g->n_nodes && xs->n_cols == F, op,
                 "sparse x must be [%d, %d]", g->n_nodes, F);
}

tg_tensor *tg_heads_mean(tg_tape *tp, tg_tensor *x, int heads) {
    TG_CHECK_TENSOR("tg_heads_mean", x);
    TG_CHECK(x->ndim == 2 && heads >= 1 && x->shape[1] % heads == 0, "tg_heads_mean",
             "x must be [N, H·D] with H = %d dividing the last dim, got %s", heads, TG_SHAPE_STR(x));
    if (heads == 1) return x;
    int N = x->shape[0], D = x->shape[1] / heads;
    tg_tensor *t = tg_transpose(tp, tg_reshape(tp, x, TG_SHAPE(N, heads, D))); /* [N, D, H] */
    return tg_mean_last(tp, t);
}

/* Heads concatenated or averaged, then the bias. */
static tg_tensor *finish(tg_tape *tp, tg_tensor *h, int heads, int concat, tg_tensor *bias) {
    if (!concat) h = tg_heads_mean(tp, h, heads);
    return bias ? tg_add(tp, h, bias) : h;
}

/* ---- GAT -------------------------------------------------------------------- */

void tg_gat_conv_init(tg_gat_conv *l, tg_params *ps, const char *prefix, int in_channels,
                      int out_channels, int heads, int concat, unsigned flags, tg_rng *rng) {
    TG_CHECK(l && ps && prefix && rng, "tg_gat_conv_init", "an argument is NULL");
    TG_CHECK(in_channels >= 1 && out_channels >= 1 && heads >= 1, "tg_gat_conv_init",
             "%s: in_channels, out_channels, heads must be >= 1, got %d, %d, %d", prefix,
             in_channels, out_channels, heads);
    int HD = heads * out_channels;
    *l = (tg_gat_conv){.in_channels = in_channels, .out_channels = out_channels, .heads = heads,
                       .concat = concat != 0, .negative_slope = 0.2f};
    l->lin_weight = tg_params_new(ps, TG_SHAPE(HD, in_channels), "%s.lin.weight", prefix);
    l->att_src = tg_params_new(ps, TG_SHAPE(1, heads, out_channels), "%s.att_src", prefix);
    l->att_dst = tg_params_new(ps, TG_SHAPE(1, heads, out_channels), "%s.att_dst", prefix);
    if (flags & TG_NN_BIAS)
        l->bias = tg_params_new(ps, TG_SHAPE(concat ? HD : out_channels), "%s.bias", prefix);
    if (flags & TG_NN_GAT_TF)
        l->att_bias = tg_params_new(ps, TG_SHAPE(1, heads), "%s.att_bias", prefix);
    tg_init_xavier_uniform(l->lin_weight, in_channels, HD, rng);
    int fan_in = flags & TG_NN_GAT_TF ? out_channels : heads; /* conv1d [1, D, 1] or PyG's [H, D] */
    int fan_out = flags & TG_NN_GAT_TF ? 1 : out_channels;
    tg_init_xavier_uniform(l->att_src, fan_in, fan_out, rng);
    tg_init_xavier_uniform(l->att_dst, fan_in, fan_out, rng);
}

/* z [N, H·D] -> α-weighted sums, the GAT equations after the projection. */
static tg_tensor *gat_attend(tg_tape *tp, const tg_gat_conv *l, tg_tensor *z, const tg_csr *g,
                             tg_rng *rng) {
    int N = g->n_nodes, H = l->heads, D = l->out_channels;
    tg_tensor *z3 = tg_reshape(tp, z, TG_SHAPE(N, H, D));
    tg_tensor *s_src = tg_sum_last(tp, tg_mul(tp, z3, l->att_src)); /* a_srcᵀ z_j  [N, H] */
    tg_tensor *s_dst = tg_sum_last(tp, tg_mul(tp, z3, l->att_dst)); /* a_dstᵀ z_i  [N, H] */
    tg_tensor *e = tg_add(tp, tg_embedding(tp, s_dst, g->dst, TG_SHAPE(g->n_edges)),
                          tg_embedding(tp, s_src, g->src, TG_SHAPE(g->n_edges))); /* [E, H] */
    if (l->att_bias) e = tg_add(tp, e, l->att_bias);
    e = tg_leaky_relu(tp, e, l->negative_slope);
    tg_tensor *alpha = tg_dropout(tp, tg_segment_softmax(tp, e, g), l->dropout, rng);
    tg_tensor *values = tg_dropout(tp, z, l->value_dropout, rng);
    return finish(tp, tg_segment_aggregate(tp, alpha, values, g), H, l->concat, l->bias);
}

/* z = x Wᵀ [N, H·D].  With head_in_dropout (training mode), head h projects
 * its own dropout of x (dense x, or the values of sparse x) through its rows
 * W[hD, (h+1)D) and the heads are concatenated. */
static tg_tensor *gat_project(tg_tape *tp, const tg_gat_conv *l, tg_tensor *x,
                              const tg_sparse *xs, tg_tensor *xval, tg_rng *rng) {
    float p = tg_tape_training(tp) ? l->head_in_dropout : 0.0f;
    if (p == 0.0f) return project(tp, l->lin_weight, NULL, x, xs, xval);
    int H = l->heads, D = l->out_channels;
    tg_tensor **zh = tg_tape_alloc(tp, (size_t)H * sizeof *zh);
    for (int h = 0; h < H; h++) {
        tg_tensor *wh = tg_slice(tp, l->lin_weight, 0, h * D, D); /* [D, F] */
        zh[h] = x ? project(tp, wh, NULL, tg_dropout(tp, x, p, rng), NULL, NULL)
                  : project(tp, wh, NULL, NULL, xs, tg_dropout(tp, xval, p, rng));
    }
    return H == 1 ? zh[0] : tg_concat(tp, H, zh, 1);
}

tg_tensor *tg_gat_conv_forward(tg_tape *tp, const tg_gat_conv *l, tg_tensor *x,
                               const tg_csr *g, tg_rng *rng) {
    TG_CHECK(l && l->lin_weight, "tg_gat_conv_forward", "layer is NULL or not initialised");
    TG_CHECK_TENSOR("tg_gat_conv_forward", x);
    check_input("tg_gat_conv_forward", x, NULL, l->in_channels, g);
    return gat_attend(tp, l, gat_project(tp, l, x, NULL, NULL, rng), g, rng);
}

tg_tensor *tg_gat_conv_forward_sparse(tg_tape *tp, const tg_gat_conv *l, const tg_sparse *x,
                                      tg_tensor *values, const tg_csr *g, tg_rng *rng) {
    TG_CHECK(l && l->lin_weight, "tg_gat_conv_forward_sparse", "layer is NULL or not initialised");
    check_input("tg_gat_conv_forward_sparse", NULL, x, l->in_channels, g);
    return gat_attend(tp, l, gat_project(tp, l, NULL, x, values, rng), g, rng);
}

/* ---- dot-product attention along the edges ----------------------------------- */

void tg_edge_attention_init(tg_edge_attention *l, tg_params *ps, const char *prefix,
                            int in_channels, int out_channels, int heads, int concat,
                            unsigned flags, tg_rng *rng) {
    TG_CHECK(l && ps && prefix && rng, "tg_edge_attention_init", "an argument is NULL");
    TG_CHECK(in_channels >= 1 && out_channels >= 1 && heads >= 1, "tg_edge_attention_init",
             "%s: in_channels, out_channels, heads must be >= 1, got %d, %d, %d", prefix,
             in_channels, out_channels, heads);
    *l = (tg_edge_attention){.in_channels = in_channels, .out_channels = out_channels,
                             .heads = heads, .concat = concat != 0};
    char name[TG_PARAM_NAME_MAX];
    int HD = heads * out_channels;
    unsigned f = flags & TG_NN_BIAS;
    snprintf(name, sizeof name, "%s.lin_query", prefix);
    tg_linear_init(&l->lin_query, ps, name, in_channels, HD, f, rng);
    snprintf(name, sizeof name, "%s.lin_key", prefix);
    tg_linear_init(&l->lin_key, ps, name, in_channels, HD, f, rng);
    snprintf(name, sizeof name, "%s.lin_value", prefix);
    tg_linear_init(&l->lin_value, ps, name, in_channels, HD, f, rng);
}

static tg_tensor *edge_attention(tg_tape *tp, const tg_edge_attention *l, tg_tensor *x,
                                 const tg_sparse *xs, tg_tensor *xval, const tg_csr *g,
                                 tg_rng *rng) {
    tg_tensor *q = project(tp, l->lin_query.weight, l->lin_query.bias, x, xs, xval);
    tg_tensor *k = project(tp, l->lin_key.weight, l->lin_key.bias, x, xs, xval);
    tg_tensor *v = project(tp, l->lin_value.weight, l->lin_value.bias, x, xs, xval);
    tg_tensor *s = tg_edge_dot(tp, q, k, l->heads, 1.0f / sqrtf((float)l->out_channels), g);
    tg_tensor *alpha = tg_dropout(tp, tg_segment_softmax(tp, s, g), l->dropout, rng);
    return finish(tp, tg_segment_aggregate(tp, alpha, v, g), l->heads, l->concat, NULL);
}

tg_tensor *tg_edge_attention_forward(tg_tape *tp, const tg_edge_attention *l, tg_tensor *x,
                                     const tg_csr *g, tg_rng *rng) {
    TG_CHECK(l && l->lin_query.weight, "tg_edge_attention_forward", "layer is NULL or not initialised");
    TG_CHECK_TENSOR("tg_edge_attention_forward", x);
    check_input("tg_edge_attention_forward", x, NULL, l->in_channels, g);
    return edge_attention(tp, l, x, NULL, NULL, g, rng);
}

tg_tensor *tg_edge_attention_forward_sparse(tg_tape *tp, const tg_edge_attention *l,
                                            const tg_sparse *x, tg_tensor *values,
                                            const tg_csr *g, tg_rng *rng) {
    TG_CHECK(l && l->lin_query.weight, "tg_edge_attention_forward_sparse",
             "layer is NULL or not initialised");
    check_input("tg_edge_attention_forward_sparse", NULL, x, l->in_channels, g);
    return edge_attention(tp, l, NULL, x, values, g, rng);
}
