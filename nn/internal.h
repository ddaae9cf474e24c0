/* nn/internal.h — helpers shared by the layer files (private).
 *
 * tg__block_norm_in / tg__block_residual: shared by nn/transformer.c and
 * nn/decode.c (the cached decoding steps run the same residual steps):
 * f's input, LN(x) for pre-LN or x for post-LN; and the step's output,
 * x + Drop(fx) for pre-LN or LN(x + Drop(fx)) for post-LN.
 *
 * Layers use only the public core headers (core/ops.h, core/tensor.h for
 * TG_SHAPE_STR / TG_CHECK_TENSOR, core/parallel.h); core/ops/internal.h
 * belongs to the operation files. */
#ifndef TG_NN_INTERNAL_H
#define TG_NN_INTERNAL_H

#include "nn/transformer.h"

tg_tensor *tg__block_norm_in(tg_tape *tp, const tg_block_config *cfg,
                             const tg_layernorm_layer *ln, tg_tensor *x);
tg_tensor *tg__block_residual(tg_tape *tp, const tg_block_config *cfg,
                              const tg_layernorm_layer *ln, const tg_dropout_layer *drop,
                              tg_tensor *x, tg_tensor *fx);

#endif
