/* examples/gat/model.c — see model.h. */
#include "examples/gat/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void model_init(model *m, const model_config *cfg, int n_features, int n_classes, tg_rng *rng) {
    memset(m, 0, sizeof *m);
    m->cfg = *cfg;
    m->n_features = n_features;
    m->n_classes = n_classes;
    tg_params_init(&m->ps);
    int HD = cfg->heads * cfg->hidden;
    if (cfg->layer == LAYER_GAT) {
        unsigned f = TG_NN_BIAS | (cfg->tf_attention ? TG_NN_GAT_TF : 0u);
        tg_gat_conv_init(&m->gat1, &m->ps, "conv1", n_features, cfg->hidden, cfg->heads, 1, f, rng);
        tg_gat_conv_init(&m->gat2, &m->ps, "conv2", HD, n_classes, cfg->out_heads, 0, f, rng);
        m->gat1.dropout = m->gat2.dropout = cfg->attn_dropout;
        m->gat1.value_dropout = m->gat2.value_dropout = cfg->value_dropout;
        if (cfg->dropout_per_head) m->gat1.head_in_dropout = m->gat2.head_in_dropout = cfg->in_dropout;
    } else {
        tg_edge_attention_init(&m->dot1, &m->ps, "conv1", n_features, cfg->hidden, cfg->heads, 1,
                               TG_NN_BIAS, rng);
        tg_edge_attention_init(&m->dot2, &m->ps, "conv2", HD, n_classes, cfg->out_heads, 0,
                               TG_NN_BIAS, rng);
        m->dot1.dropout = m->dot2.dropout = cfg->attn_dropout;
    }
}

void model_free(model *m) { tg_params_free(&m->ps); }

tg_tensor *model_forward(tg_tape *tp, const model *m, const tg_sparse *xs, tg_tensor *xval,
                         tg_tensor *xdense, const tg_csr *g, tg_rng *rng, tg_tensor **hidden_out) {
    int gat = m->cfg.layer == LAYER_GAT;
    float p = gat && m->cfg.dropout_per_head ? 0.0f : m->cfg.in_dropout; /* else inside the layers */
    tg_tensor *h;
    if (xs) {
        tg_tensor *v = tg_dropout(tp, xval, p, rng); /* dropout on the nonzeros of x */
        h = gat ? tg_gat_conv_forward_sparse(tp, &m->gat1, xs, v, g, rng)
                : tg_edge_attention_forward_sparse(tp, &m->dot1, xs, v, g, rng);
    } else {
        tg_tensor *x = tg_dropout(tp, xdense, p, rng);
        h = gat ? tg_gat_conv_forward(tp, &m->gat1, x, g, rng)
                : tg_edge_attention_forward(tp, &m->dot1, x, g, rng);
    }
    h = tg_elu(tp, h, 1.0f);
    if (hidden_out) *hidden_out = h;
    h = tg_dropout(tp, h, p, rng);
    return gat ? tg_gat_conv_forward(tp, &m->gat2, h, g, rng)
               : tg_edge_attention_forward(tp, &m->dot2, h, g, rng);
}

/* The fields a checkpoint keeps (core/config.h); the dropouts are training options. */
#define GAT_MAX_WIDTH 4096
static tg_status gat_cross_check(const void *cfg, const char *what) {
    const model_config *c = cfg;
    if (c->heads * c->hidden > GAT_MAX_WIDTH)
        return tg_set_error(TG_ERR_ARG, "%s: heads x hidden = %d x %d, at most %d", what, c->heads, c->hidden,
                            GAT_MAX_WIDTH);
    return TG_OK;
}
static const char *const layer_names[] = {"gat", "dot"}; /* LAYER_GAT, LAYER_DOT */
static const tg_config_field gat_fields[] = {
    TG_CONFIG_ENUM(model_config, layer, layer_names),
    TG_CONFIG_INT(model_config, heads, 1, GAT_MAX_WIDTH),
    TG_CONFIG_INT(model_config, hidden, 1, GAT_MAX_WIDTH),
    TG_CONFIG_INT(model_config, out_heads, 1, GAT_MAX_WIDTH),
    TG_CONFIG_INT_OPTIONAL(model_config, tf_attention, 0, 1, 0),
};
static const tg_config_schema gat_schema = TG_CONFIG_SCHEMA_LEGACY_LINE(model_config, gat_fields, gat_cross_check);

void model_config_format(const model_config *cfg, char *buf, size_t len) {
    tg_config_format(&gat_schema, cfg, buf, len);
}

tg_status model_config_parse(const char *s, const char *path, model_config *cfg) {
    char what[4200];
    snprintf(what, sizeof what, "%s: metadata gat.config", path);
    return tg_config_parse(&gat_schema, s, what, cfg);
}

tg_status model_check_checkpoint(const char *path, const model_config *cfg, int n_features, int n_classes) {
    const char *w = cfg->layer == LAYER_GAT ? "lin.weight" : "lin_query.weight";
    int HD = cfg->heads * cfg->hidden;
    tg_ckpt_shape want[2] = {{"", 2, {HD, n_features}}, {"", 2, {cfg->out_heads * n_classes, HD}}};
    snprintf(want[0].name, sizeof want[0].name, "conv1.%s", w);
    snprintf(want[1].name, sizeof want[1].name, "conv2.%s", w);
    return tg_checkpoint_expect_shapes(path, 2, want);
}
