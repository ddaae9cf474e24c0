/* examples/gat/model.h — the two-layer graph attention network of
 * Veličković et al. (2018, §3.3, transductive setup) over a Planetoid graph:
 *
 *   x ── dropout ── layer 1 (H heads × D, concat) ── ELU ── dropout ──
 *       layer 2 (out_heads heads × C classes, averaged) ── logits [N, C]
 *
 * with the layer either GAT (additive scores) or dot-product attention
 * along the edges (--layer dot), dropout also on the attention weights
 * and (GAT, as the authors' code) on the projected neighbours z_j.
 */
#ifndef EXAMPLES_GAT_MODEL_H
#define EXAMPLES_GAT_MODEL_H

#include "tapegrad.h"

typedef enum { LAYER_GAT = 0, LAYER_DOT = 1 } layer_kind;

typedef struct {
    layer_kind layer;
    int heads, hidden, out_heads; /* H, D, heads of the output layer */
    float in_dropout, attn_dropout, value_dropout;
    int dropout_per_head; /* gat: each head drops its layer's input with its own mask */
    int tf_attention;     /* gat: the attention scores of the authors' code (TG_NN_GAT_TF) */
} model_config;

typedef struct {
    model_config cfg;
    int n_features, n_classes;
    tg_params ps;
    tg_gat_conv gat1, gat2;
    tg_edge_attention dot1, dot2;
} model;

/* Creates the parameters from rng. */
void model_init(model *m, const model_config *cfg, int n_features, int n_classes, tg_rng *rng);
void model_free(model *m);

/* Logits [N, C] on tp for sparse features (pattern x, values xval [nnz])
 * or dense ones (xdense [N, F], xs NULL).  hidden_out (may be NULL)
 * receives the hidden representation after the ELU [N, H·D].  Dropout when
 * tp is in training mode, drawn from rng. */
tg_tensor *model_forward(tg_tape *tp, const model *m, const tg_sparse *xs, tg_tensor *xval,
                         tg_tensor *xdense, const tg_csr *g, tg_rng *rng, tg_tensor **hidden_out);

/* The configuration as checkpoint metadata "gat.config"
 * ({"layer":"gat","heads":8,"hidden":8,"out_heads":1}, core/config.h; the
 * key=value line of older checkpoints also parses) and back: layer, heads,
 * hidden, out_heads (each in 1..4096, heads x hidden at most 4096),
 * tf_attention (0 or 1, 0 when absent: files written before it); the
 * other fields of *cfg are left as they are.  Parse returns TG_ERR_FORMAT
 * "path: metadata gat.config: ..." on a bad string, *cfg untouched. */
void model_config_format(const model_config *cfg, char *buf, size_t len);
tg_status model_config_parse(const char *s, const char *path, model_config *cfg);
/* Before building a model from a checkpoint's config for a graph of
 * n_features features and n_classes classes: both layers' projection
 * weights in the file's header have the shapes they imply (so nothing is
 * allocated for a config the file does not hold).  "path: tensor ..." errors. */
tg_status model_check_checkpoint(const char *path, const model_config *cfg, int n_features, int n_classes);

#endif
