/* nn/posenc.c — see nn/posenc.h. */
#include "nn/posenc.h"

#include <math.h>

#include "core/ops.h"
#include "nn/init.h"

/* Rows pos0 .. pos0+T−1 of the table into rows[T·C]. */
static void sinusoidal_rows(float *rows, int pos0, int T, int C) {
    for (int t = 0; t < T; t++)
        for (int c = 0; c < C; c++) {
            int two_i = c & ~1; /* 2i for both columns 2i and 2i+1 */
            double angle = (double)(pos0 + t) / pow(10000.0, (double)two_i / C);
            rows[(int64_t)t * C + c] = (float)((c & 1) ? cos(angle) : sin(angle));
        }
}

void tg_posenc_sinusoidal_table(float *table, int T, int C) {
    TG_CHECK(table && T >= 1 && C >= 1, "tg_posenc_sinusoidal_table",
             "need a table and T, C >= 1, got T=%d C=%d", T, C);
    sinusoidal_rows(table, 0, T, C);
}

tg_tensor *tg_posenc_sinusoidal(tg_tape *tp, tg_tensor *x) {
    return tg_posenc_sinusoidal_at(tp, x, 0);
}

tg_tensor *tg_posenc_sinusoidal_at(tg_tape *tp, tg_tensor *x, int pos0) {
    TG_CHECK_TENSOR("tg_posenc_sinusoidal", x);
    TG_CHECK(x->ndim >= 2 && pos0 >= 0, "tg_posenc_sinusoidal",
             "x must be [..., T, C] and pos0 >= 0, got %s, pos0 = %d", TG_SHAPE_STR(x), pos0);
    int T = x->shape[x->ndim - 2], C = x->shape[x->ndim - 1];
    tg_tensor *pe = tg_tape_tensor(tp, TG_SHAPE(T, C));
    sinusoidal_rows(pe->data, pos0, T, C); /* rows pos0 .. pos0+T−1 */
    pe->name = "posenc";
    return tg_add(tp, x, pe);
}

void tg_posenc_learned_init(tg_posenc_learned *pe, tg_params *ps, const char *prefix,
                            int max_len, int dim, tg_rng *rng) {
    TG_CHECK(pe && ps && prefix && rng, "tg_posenc_learned_init", "an argument is NULL");
    TG_CHECK(max_len >= 1 && dim >= 1, "tg_posenc_learned_init",
             "%s: max_len and dim must be >= 1, got %d, %d", prefix, max_len, dim);
    pe->max_len = max_len;
    pe->dim = dim;
    pe->weight = tg_params_new(ps, TG_SHAPE(max_len, dim), "%s.weight", prefix);
    tg_init_normal(pe->weight, rng, 0.0f, 0.02f);
}

tg_tensor *tg_posenc_learned_forward(tg_tape *tp, const tg_posenc_learned *pe, tg_tensor *x) {
    return tg_posenc_learned_at(tp, pe, x, 0);
}

tg_tensor *tg_posenc_learned_at(tg_tape *tp, const tg_posenc_learned *pe, tg_tensor *x,
                                int pos0) {
    TG_CHECK(pe && pe->weight, "tg_posenc_learned_forward", "layer is NULL or not initialised");
    TG_CHECK_TENSOR("tg_posenc_learned_forward", x);
    int T = x->ndim >= 2 ? x->shape[x->ndim - 2] : 0, C = x->shape[x->ndim - 1];
    TG_CHECK(x->ndim >= 2 && C == pe->dim && T <= pe->max_len, "tg_posenc_learned_forward",
             "x is %s, expected [..., T, %d] with T <= max_len %d", TG_SHAPE_STR(x), pe->dim,
             pe->max_len);
    TG_CHECK(pos0 >= 0 && (int64_t)pos0 + T <= pe->max_len, "tg_posenc_learned_forward",
             "positions %d .. %d of x %s outside the table [0, max_len %d)", pos0, pos0 + T - 1,
             TG_SHAPE_STR(x), pe->max_len);
    tg_tensor *rows = T == pe->max_len ? pe->weight : tg_slice(tp, pe->weight, 0, pos0, T);
    return tg_add(tp, x, rows);
}
