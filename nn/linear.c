/* nn/linear.c — see nn/linear.h. */
#include "nn/linear.h"

#include "core/ops.h"

void tg_linear_init(tg_linear *l, tg_params *ps, const char *prefix, int in, int out,
                    unsigned flags, tg_rng *rng) {
    TG_CHECK(l && ps && prefix && rng, "tg_linear_init", "an argument is NULL");
    TG_CHECK(in >= 1 && out >= 1, "tg_linear_init", "%s: in and out must be >= 1, got %d, %d",
             prefix, in, out);
    l->in = in;
    l->out = out;
    l->weight = tg_params_new(ps, TG_SHAPE(out, in), "%s.weight", prefix);
    l->bias = (flags & TG_NN_BIAS) ? tg_params_new(ps, TG_SHAPE(out), "%s.bias", prefix) : NULL;
    if (flags & TG_NN_XAVIER) {
        tg_init_xavier_uniform(l->weight, in, out, rng);
    } else {
        tg_init_kaiming_uniform(l->weight, in, rng);
        if (l->bias) tg_init_kaiming_uniform(l->bias, in, rng);
    }
}

tg_tensor *tg_linear_forward(tg_tape *tp, const tg_linear *l, tg_tensor *x) {
    TG_CHECK(l && l->weight, "tg_linear_forward", "layer is NULL or not initialised");
    TG_CHECK_TENSOR("tg_linear_forward", x);
    TG_CHECK(x->shape[x->ndim - 1] == l->in, "tg_linear_forward",
             "%s: x is %s, expected last dim %d (weight is %s)",
             l->weight->name ? l->weight->name : "linear", TG_SHAPE_STR(x), l->in,
             TG_SHAPE_STR(l->weight));
    return tg_affine(tp, x, l->weight, l->bias); /* one node: x Wᵀ + b */
}
