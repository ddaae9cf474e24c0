/* core/graph.h — a graph's edges grouped by destination (CSR), and the
 * sparse operations of attention along edges: per-destination softmax,
 * weighted aggregation of source rows, per-edge dot products, and the
 * product of a sparse matrix with a dense one.
 *
 *   // undirected pairs (u, v) -> both directions, plus a self-loop per node
 *   tg_csr g;
 *   tg_csr_build(&g, N, 2 * E, src, dst, TG_CSR_SELF_LOOPS);
 *   tg_tensor *s = ...;                                     // [g.n_edges, H] scores
 *   tg_tensor *a = tg_segment_softmax(tp, s, &g);           // softmax over each node's in-edges
 *   tg_tensor *h = tg_segment_aggregate(tp, a, z, &g);      // z [N, H·D] -> [N, H·D]
 *   tg_csr_free(&g);
 *
 * Edge e goes from node src[e] (the neighbour j that is attended to) to
 * node dst[e] (the node i that attends), as PyG's edge_index[0] / [1].
 * Everything is O(E·H) memory: nothing [N, N], nothing [E, H·D].
 * A node with no in-edge gets a zero output row and passes zero gradient.
 *
 * Gather of rows by index (index_select) is tg_embedding (core/ops.h):
 * tg_embedding(tp, x, g.src, TG_SHAPE(g.n_edges)) is x[src] as [E, C].
 *
 * Threads: every kernel here is parallel over destinations (or, in the
 * backward into source rows, over sources through the transposed CSR),
 * each output row summed over its edges in a fixed order: bit-identical for
 * any thread count.
 * Derivations: docs/derivations/segment_softmax.md,
 * docs/derivations/segment_aggregate.md, docs/derivations/edge_dot.md,
 * docs/derivations/spmm.md.
 */
#ifndef TG_GRAPH_H
#define TG_GRAPH_H

#include <stdint.h>

#include "core/tape.h"

/* Edges sorted by (destination, source).  In-edges of node i are
 * e = row_ptr[i] … row_ptr[i+1]−1; their sources src[e] ascend.
 * The transpose lists, for each source j, the edges leaving it:
 * out_edge[col_ptr[j] … col_ptr[j+1]−1] (edge ids, ascending).
 * All arrays are owned by the struct (tg_csr_free). */
typedef struct tg_csr {
    int n_nodes;       /* N */
    int32_t n_edges;   /* E (after duplicates removed and self-loops added) */
    int64_t *row_ptr;  /* [N + 1] */
    int32_t *src;      /* [E] source of edge e */
    int32_t *dst;      /* [E] destination of edge e (row of e) */
    int64_t *col_ptr;  /* [N + 1] */
    int32_t *out_edge; /* [E] edge ids grouped by source */
} tg_csr;

enum {
    TG_CSR_SELF_LOOPS = 1u << 0, /* add (i, i) for every node that lacks one */
};

/* Builds g from n_edges directed edges src[k] -> dst[k] (k = 0 … n_edges−1,
 * ids in [0, n_nodes)).  Repeated edges are kept once; with
 * TG_CSR_SELF_LOOPS each node gets exactly one self-loop (PyG's
 * add_self_loops after remove_self_loops).  O(N + E) (counting sort).
 * Errors (abort, TG_CHECK): n_nodes < 1, n_edges < 0, an id out of range,
 * more than INT32_MAX edges.  Release with tg_csr_free. */
void tg_csr_build(tg_csr *g, int n_nodes, int64_t n_edges, const int32_t *src,
                  const int32_t *dst, unsigned flags);
void tg_csr_free(tg_csr *g);

/* ---- operations ----------------------------------------------------------
 * The graph g must stay alive and unchanged until the tape is reset (the
 * backward reads it). */

/* Softmax of edge scores over the in-edges of each destination, per head
 * (the attention coefficients of GAT, Veličković et al. 2018, eq. 2-3):
 *   α[e, h] = exp(s[e, h]) / Σ_{e' : dst[e'] = dst[e]} exp(s[e', h])
 * s: [E, H] -> α [E, H].  Max-subtracted per segment; a segment holding a
 * NaN stays NaN.  Backward: ds[e, h] = α[e, h] (dα[e, h] − Σ_{e'} α[e', h] dα[e', h]).
 * Errors: s not [g->n_edges, H] aborts. */
tg_tensor *tg_segment_softmax(tg_tape *tp, tg_tensor *s, const tg_csr *g);

/* Weighted sum of source rows into each destination, per head:
 *   out[i, h·D + d] = Σ_{e : dst[e] = i} α[e, h] · x[src[e], h·D + d]
 * x: [N, H·D], α: [E, H] (or NULL: every weight 1, a plain segment sum;
 * H is then 1) -> out [N, H·D].  Backward:
 *   dα[e, h] = Σ_d dout[dst[e], h·D + d] · x[src[e], h·D + d],
 *   dx[j, h·D + d] = Σ_{e : src[e] = j} α[e, h] · dout[dst[e], h·D + d].
 * Errors: x not [g->n_nodes, C], α not [g->n_edges, H] with H dividing C,
 * abort. */
tg_tensor *tg_segment_aggregate(tg_tape *tp, tg_tensor *alpha, tg_tensor *x, const tg_csr *g);

/* Per-edge, per-head scaled dot products of destination and source rows
 * (the scores of dot-product attention restricted to the edges; SDDMM):
 *   s[e, h] = scale · Σ_d q[dst[e], h·D + d] · k[src[e], h·D + d]
 * q, k: [N, H·D] -> s [E, H].  Backward:
 *   dq[i, h·D + d] = scale · Σ_{e : dst[e] = i} ds[e, h] k[src[e], h·D + d],
 *   dk[j, h·D + d] = scale · Σ_{e : src[e] = j} ds[e, h] q[dst[e], h·D + d].
 * Errors: q, k not both [g->n_nodes, C], n_heads not dividing C, abort. */
tg_tensor *tg_edge_dot(tg_tape *tp, tg_tensor *q, tg_tensor *k, int n_heads, float scale,
                       const tg_csr *g);

/* A sparse matrix in CSR form, rows [N] by columns [F]: the nonzeros of
 * row n are at positions p = row_ptr[n] … row_ptr[n+1]−1, in column col[p].
 * Its values live in a separate [nnz] tensor so that operations (dropout)
 * can act on them.  The struct does not own its arrays. */
typedef struct tg_sparse {
    int n_rows, n_cols;
    int64_t nnz;
    const int64_t *row_ptr; /* [n_rows + 1] */
    const int32_t *col;     /* [nnz], ascending within a row */
} tg_sparse;

/* out = X W with X the sparse matrix (pattern a, values val [nnz]) and W
 * dense [F, C] -> out [N, C]:
 *   out[n, c] = Σ_p val[p] · W[col[p], c]      (p over row n's nonzeros)
 * Backward: dW[f, c] = Σ_{p : col[p] = f} val[p] · dout[row(p), c],
 * dval[p] = Σ_c dout[row(p), c] · W[col[p], c].  Costs O(nnz·C) where the
 * dense product costs O(N·F·C).  a must stay alive until the tape is reset.
 * Errors: val not [nnz], W not [F, C], abort. */
tg_tensor *tg_spmm(tg_tape *tp, const tg_sparse *a, tg_tensor *val, tg_tensor *w);

#endif
