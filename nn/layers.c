/* nn/layers.c — see nn/layers.h. */
#include "nn/layers.h"

#include "core/ops.h"

void tg_layernorm_layer_init(tg_layernorm_layer *ln, tg_params *ps, const char *prefix, int dim,
                             unsigned flags) {
    TG_CHECK(ln && ps && prefix, "tg_layernorm_layer_init", "an argument is NULL");
    TG_CHECK(dim >= 1, "tg_layernorm_layer_init", "%s: dim must be >= 1, got %d", prefix, dim);
    ln->dim = dim;
    ln->eps = 1e-5f;
    ln->weight = tg_params_new(ps, TG_SHAPE(dim), "%s.weight", prefix);
    tg_init_constant(ln->weight, 1.0f);
    ln->bias = (flags & TG_NN_BIAS) ? tg_params_new(ps, TG_SHAPE(dim), "%s.bias", prefix) : NULL;
}

tg_tensor *tg_layernorm_layer_forward(tg_tape *tp, const tg_layernorm_layer *ln, tg_tensor *x) {
    TG_CHECK(ln && ln->weight, "tg_layernorm_layer_forward", "layer is NULL or not initialised");
    TG_CHECK_TENSOR("tg_layernorm_layer_forward", x);
    TG_CHECK(x->shape[x->ndim - 1] == ln->dim, "tg_layernorm_layer_forward",
             "%s: x is %s, expected last dim %d", ln->weight->name ? ln->weight->name : "layernorm",
             TG_SHAPE_STR(x), ln->dim);
    return tg_layernorm(tp, x, ln->weight, ln->bias, ln->eps);
}

void tg_embedding_layer_init(tg_embedding_layer *e, tg_params *ps, const char *prefix, int vocab,
                             int dim, tg_rng *rng) {
    TG_CHECK(e && ps && prefix && rng, "tg_embedding_layer_init", "an argument is NULL");
    TG_CHECK(vocab >= 1 && dim >= 1, "tg_embedding_layer_init",
             "%s: vocab and dim must be >= 1, got %d, %d", prefix, vocab, dim);
    e->vocab = vocab;
    e->dim = dim;
    e->weight = tg_params_new(ps, TG_SHAPE(vocab, dim), "%s.weight", prefix);
    tg_init_normal(e->weight, rng, 0.0f, 1.0f);
}

tg_tensor *tg_embedding_layer_forward(tg_tape *tp, const tg_embedding_layer *e,
                                      const int32_t *ids, int ndim, const int *shape) {
    TG_CHECK(e && e->weight, "tg_embedding_layer_forward", "layer is NULL or not initialised");
    return tg_embedding(tp, e->weight, ids, ndim, shape);
}

void tg_dropout_layer_init(tg_dropout_layer *d, float p, tg_rng *rng) {
    TG_CHECK(d, "tg_dropout_layer_init", "layer is NULL");
    TG_CHECK(p >= 0.0f && p < 1.0f, "tg_dropout_layer_init", "p must be in [0, 1), got %g",
             (double)p);
    TG_CHECK(p == 0.0f || rng, "tg_dropout_layer_init", "p = %g needs an rng, got NULL",
             (double)p);
    d->p = p;
    d->rng = rng;
}

tg_tensor *tg_dropout_layer_forward(tg_tape *tp, const tg_dropout_layer *d, tg_tensor *x) {
    if (!d || d->p == 0.0f || !tg_tape_training(tp)) return x;
    return tg_dropout(tp, x, d->p, d->rng);
}

void tg_mlp_init(tg_mlp *m, tg_params *ps, const char *prefix, int dim, int d_ff, unsigned flags,
                 float dropout, tg_rng *rng) {
    TG_CHECK(m && ps && prefix && rng, "tg_mlp_init", "an argument is NULL");
    char name[TG_PARAM_NAME_MAX];
    snprintf(name, sizeof name, "%s.fc1", prefix);
    tg_linear_init(&m->fc1, ps, name, dim, d_ff, flags, rng);
    snprintf(name, sizeof name, "%s.fc2", prefix);
    tg_linear_init(&m->fc2, ps, name, d_ff, dim, flags, rng);
    tg_dropout_layer_init(&m->drop, dropout, rng);
}

tg_tensor *tg_mlp_forward(tg_tape *tp, const tg_mlp *m, tg_tensor *x) {
    TG_CHECK(m, "tg_mlp_forward", "layer is NULL");
    tg_tensor *h = tg_gelu(tp, tg_linear_forward(tp, &m->fc1, x));
    return tg_linear_forward(tp, &m->fc2, tg_dropout_layer_forward(tp, &m->drop, h));
}
