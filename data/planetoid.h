/* data/planetoid.h — the Planetoid citation graphs (Cora, Citeseer) in the
 * text conversion of shared/data (README §2): node features, labels,
 * undirected edges, the train/val/test split.
 *
 *   tg_planetoid d;
 *   if (tg_planetoid_read("data/cora", &d) != TG_OK) {       // reads data/cora/cora.*
 *       fprintf(stderr, "%s\n", tg_last_error());            // "path:line: what was expected"
 *       exit(1);
 *   }
 *   tg_csr g;
 *   tg_planetoid_graph(&d, TG_CSR_SELF_LOOPS, &g);           // both directions + self-loops
 *   tg_sparse x = tg_planetoid_features(&d);                 // [N, F] pattern; values d.feat_val
 *   ... train ...
 *   tg_csr_free(&g);
 *   tg_planetoid_free(&d);
 *
 * Files in DIR, NAME = the last component of DIR ("cora"):
 *   NAME.meta      `key value` lines; nodes, features, classes, edges, train,
 *                  val, test, none are required (others are ignored);
 *   NAME.features  line n: `n f1 f2 …`, the ascending indices in [0, F) of
 *                  node n's nonzero (binary) features, possibly none;
 *   NAME.labels    line n: `n label`, label in [0, C) or −1 (no label);
 *   NAME.edges     `u v`, 0 <= u < v < N, each undirected edge once, sorted
 *                  by (u, v);
 *   NAME.split     line n: `n train|val|test|none`.
 * Every count must agree with NAME.meta.
 *
 * Errors: TG_ERR_IO ("path: cannot open: reason") or TG_ERR_FORMAT with
 * "path:line: what was expected", e.g.
 *   data/cora/cora.edges:17: node id 2708 out of range [0, 2708)
 *   data/cora/cora.split:3: expected node 2, found 7
 *   data/cora/cora.meta:1: nodes = 2708 but cora.features has 2707 lines
 * On error *out is untouched (everything is parsed into temporaries).
 */
#ifndef TG_DATA_PLANETOID_H
#define TG_DATA_PLANETOID_H

#include <stdint.h>

#include "core/error.h"
#include "core/graph.h"

enum { TG_SPLIT_NONE = 0, TG_SPLIT_TRAIN = 1, TG_SPLIT_VAL = 2, TG_SPLIT_TEST = 3 };

typedef struct tg_planetoid {
    char name[64];              /* "cora" */
    int n_nodes, n_features, n_classes;
    int64_t n_edges;            /* undirected edges in NAME.edges */
    int64_t nnz;                /* nonzero features */
    int64_t *feat_ptr;          /* [N + 1] row n's nonzeros: feat_ptr[n] … feat_ptr[n+1]−1 */
    int32_t *feat_idx;          /* [nnz] feature index, ascending per row */
    float *feat_val;            /* [nnz] 1/(nonzeros of the row): rows normalised to sum 1,
                                   as Kipf & Welling / Veličković et al. preprocess */
    int32_t *labels;            /* [N] class, or −1 */
    uint8_t *split;             /* [N] TG_SPLIT_* */
    int32_t *edge_u, *edge_v;   /* [n_edges] u < v */
    int n_split[4];             /* nodes per split (none, train, val, test) */
} tg_planetoid;

/* Reads DIR/NAME.* (NAME = basename of dir).  Errors as above. */
tg_status tg_planetoid_read(const char *dir, tg_planetoid *out);
void tg_planetoid_free(tg_planetoid *d);

/* The graph for message passing: every undirected edge in both directions
 * (u -> v and v -> u), plus self-loops with TG_CSR_SELF_LOOPS.  Release g
 * with tg_csr_free. */
void tg_planetoid_graph(const tg_planetoid *d, unsigned flags, tg_csr *g);

/* The features as a sparse [N, F] pattern pointing into d (values:
 * d->feat_val); valid while d is. */
tg_sparse tg_planetoid_features(const tg_planetoid *d);

/* The row-normalised features as a dense [N, F] row-major array,
 * out[n·F + f] (the caller's N·F floats). */
void tg_planetoid_dense_features(const tg_planetoid *d, float *out);

#endif
