/* nn/gat.h — attention along the edges of a graph: the graph attention
 * layer (GAT, additive scores) and dot-product self-attention restricted to
 * the edges (the lecture's form).
 *
 *   tg_csr g;  tg_csr_build(&g, N, E, src, dst, TG_CSR_SELF_LOOPS);
 *   tg_gat_conv l1, l2;
 *   tg_gat_conv_init(&l1, &ps, "conv1", F, 8, 8, 1, TG_NN_BIAS, &rng);   // 8 heads × 8, concat
 *   tg_gat_conv_init(&l2, &ps, "conv2", 64, C, 1, 0, TG_NN_BIAS, &rng);  // 1 head, averaged
 *   l1.dropout = l2.dropout = 0.6f;                                      // on α, training only
 *   tg_tensor *h = tg_elu(tp, tg_gat_conv_forward(tp, &l1, tg_dropout(tp, x, 0.6f, &rng), &g, &rng), 1.0f);
 *   tg_tensor *logits = tg_gat_conv_forward(tp, &l2, tg_dropout(tp, h, 0.6f, &rng), &g, &rng);
 *
 * Nodes are rows: x [N, F].  Edge e goes from src[e] = j to dst[e] = i, and
 * node i attends over its in-edges (core/graph.h).  Everything is O(E·H)
 * memory beyond the [N, H·D] projections; a node with no in-edge gets the
 * bias alone (zero before it) and passes no gradient through attention.
 * The _sparse forms take x as a sparse [N, F] pattern and a [nnz] values
 * tensor (bag-of-words inputs; dropout on the values is dropout on x), and
 * project with tg_spmm instead of a dense GEMM; same result.
 */
#ifndef TG_NN_GAT_H
#define TG_NN_GAT_H

#include "core/graph.h"
#include "core/ops.h"
#include "nn/init.h"
#include "nn/linear.h"
#include "core/params.h"

/* ---- GAT (Veličković et al., ICLR 2018, eq. 1-6) ---------------------------
 * Per head h (W_h the rows h·D … h·D+D−1 of lin.weight):
 *   z_i = W_h x_i                                              [D]
 *   e_ij = LeakyReLU_0.2(a_dst,hᵀ z_i + a_src,hᵀ z_j)          for each edge j -> i
 *   α_ij = softmax_j(e_ij) over the in-edges of i;  dropout on α in training
 *   h'_i = Σ_j α_ij z_j
 * then heads concatenated ([N, H·D], concat = 1) or averaged ([N, D]), plus
 * the bias.  No activation (the caller applies ELU between layers).
 * Parameters (PyG GATConv's names, docs/layers.md):
 *   <prefix>.lin.weight [H·D, F]   Glorot uniform U(±√(6/(F + H·D)))
 *   <prefix>.att_src    [1, H, D]  Glorot uniform U(±√(6/(H + D)))
 *   <prefix>.att_dst    [1, H, D]  same
 *   <prefix>.bias       [H·D] (concat) or [D] (mean); zeros; with TG_NN_BIAS
 * With TG_NN_GAT_TF the scores follow the authors' TensorFlow code instead
 * (PetarV-/GAT, utils/layers.py attn_head: f_1, f_2 = conv1d(z, 1, 1), each
 * with a bias, glorot_uniform over its [1, D, 1] kernel):
 *   e_ij = LeakyReLU_0.2(a_dst,hᵀ z_i + a_src,hᵀ z_j + b_h)
 *   <prefix>.att_bias   [1, H]     b_h: f_1's and f_2's biases enter e_ij only as their
 *                                  sum, so one parameter gives the same function (not the
 *                                  same training: Adam moves two biases' sum twice as
 *                                  fast, and L2 on two is half of L2 on one); zeros
 *   att_src, att_dst                U(±√(6/(D + 1))) (fan_in D, fan_out 1)
 * (PyG has no att_bias; its init is the default's.) */
typedef struct tg_gat_conv {
    tg_tensor *lin_weight, *att_src, *att_dst, *bias;
    tg_tensor *att_bias; /* [1, H] with TG_NN_GAT_TF, else NULL */
    int in_channels, out_channels, heads, concat;
    float negative_slope; /* 0.2 */
    float dropout;        /* on α in training mode; 0 after init */
    float value_dropout;  /* on z_j as it enters the sum (training mode), as the
                             authors' code (PetarV-/GAT, utils/layers.py attn_head)
                             does besides the paper's dropouts; 0 after init */
    float head_in_dropout; /* on the input x (its values, when sparse) in training
                              mode with an independent mask per head, as the authors'
                              attn_head draws one per head; 0 after init (the caller
                              drops x, if at all, with one mask shared by the heads) */
} tg_gat_conv;

/* out_channels = D per head, heads = H.  flags: TG_NN_BIAS, TG_NN_GAT_TF.
 * Errors: a size < 1 aborts. */
void tg_gat_conv_init(tg_gat_conv *l, tg_params *ps, const char *prefix, int in_channels,
                      int out_channels, int heads, int concat, unsigned flags, tg_rng *rng);
/* x [N, F] -> [N, H·D] or [N, D].  rng draws the α, value and per-head input
 * dropouts (may be NULL when they are 0 or the tape is in evaluation mode).
 * g: N = g->n_nodes.
 * Errors: x not [g->n_nodes, in_channels] aborts. */
tg_tensor *tg_gat_conv_forward(tg_tape *tp, const tg_gat_conv *l, tg_tensor *x,
                               const tg_csr *g, tg_rng *rng);
/* x given as a sparse [N, F] pattern and its values [nnz]. */
tg_tensor *tg_gat_conv_forward_sparse(tg_tape *tp, const tg_gat_conv *l, const tg_sparse *x,
                                      tg_tensor *values, const tg_csr *g, tg_rng *rng);

/* ---- dot-product attention along the edges ---------------------------------
 * Scaled dot-product self-attention (Vaswani et al. 2017, eq. 1) in which
 * node i sees only the sources of its in-edges:
 *   q_i = W_q x_i + b_q,  k_j = W_k x_j + b_k,  v_j = W_v x_j + b_v   (per head, D each)
 *   α_ij = softmax_j(q_i · k_j / √D) over the in-edges of i;  dropout on α
 *   h'_i = Σ_j α_ij v_j;  heads concatenated or averaged; no skip term.
 * It equals tg_attention on the whole node set with the adjacency as the
 * `allowed` mask (tests/test_gat.c), at O(E·H) instead of O(N²) memory.
 * Parameters (PyG TransformerConv's names with root_weight = False):
 *   <prefix>.lin_query, .lin_key, .lin_value (tg_linear: .weight [H·D, F],
 *   .bias [H·D] with TG_NN_BIAS; torch.nn.Linear's init). */
typedef struct tg_edge_attention {
    tg_linear lin_query, lin_key, lin_value;
    int in_channels, out_channels, heads, concat;
    float dropout; /* on α in training mode; 0 after init */
} tg_edge_attention;

void tg_edge_attention_init(tg_edge_attention *l, tg_params *ps, const char *prefix,
                            int in_channels, int out_channels, int heads, int concat,
                            unsigned flags, tg_rng *rng);
tg_tensor *tg_edge_attention_forward(tg_tape *tp, const tg_edge_attention *l, tg_tensor *x,
                                     const tg_csr *g, tg_rng *rng);
tg_tensor *tg_edge_attention_forward_sparse(tg_tape *tp, const tg_edge_attention *l,
                                            const tg_sparse *x, tg_tensor *values,
                                            const tg_csr *g, tg_rng *rng);

/* Mean over heads: [N, H·D] -> [N, D] (reshape, transpose, mean_last). */
tg_tensor *tg_heads_mean(tg_tape *tp, tg_tensor *x, int heads);

#endif
