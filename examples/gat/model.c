/* examples/gat/model.c — see model.h. */
#include "examples/gat/model.h"

#include <stdio.h>
#include <string.h>

void model_init(model *m, const model_config *cfg, int n_features, int n_classes, tg_rng *rng) {
    memset(m, 0, sizeof *m);
    m->cfg = *cfg;
    m->n_features = n_features;
    m->n_classes = n_classes;
    tg_params_init(&m->ps);
    int HD = cfg->heads * cfg->hidden;
    if (cfg->layer == LAYER_GAT) {
        tg_gat_conv_init(&m->gat1, &m->ps, "conv1", n_features, cfg->hidden, cfg->heads, 1,
                         TG_NN_BIAS, rng);
        tg_gat_conv_init(&m->gat2, &m->ps, "conv2", HD, n_classes, cfg->out_heads, 0, TG_NN_BIAS,
                         rng);
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

void model_config_format(const model_config *cfg, char *buf, size_t len) {
    snprintf(buf, len, "layer=%s heads=%d hidden=%d out_heads=%d",
             cfg->layer == LAYER_GAT ? "gat" : "dot", cfg->heads, cfg->hidden, cfg->out_heads);
}

tg_status model_config_parse(const char *s, const char *path, model_config *cfg) {
    char layer[16];
    model_config c = *cfg;
    if (sscanf(s, "layer=%15s heads=%d hidden=%d out_heads=%d", layer, &c.heads, &c.hidden,
               &c.out_heads) != 4 ||
        (strcmp(layer, "gat") && strcmp(layer, "dot")) || c.heads < 1 || c.hidden < 1 ||
        c.out_heads < 1)
        return tg_set_error(TG_ERR_FORMAT,
                            "%s: metadata gat.config: expected \"layer=gat|dot heads=N hidden=N "
                            "out_heads=N\", found \"%.80s\"", path, s);
    c.layer = strcmp(layer, "gat") ? LAYER_DOT : LAYER_GAT;
    *cfg = c;
    return TG_OK;
}
