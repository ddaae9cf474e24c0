/* nn/posenc.h — positional encodings added to token embeddings x [B, T, C].
 *
 *   x = tg_posenc_sinusoidal(tp, x);                  // fixed table, no parameters
 *   tg_posenc_learned pe;
 *   tg_posenc_learned_init(&pe, &ps, "pos_embed", 512, C, &rng);
 *   x = tg_posenc_learned_forward(tp, &pe, x);        // rows 0..T-1 of a [T_max, C] parameter
 */
#ifndef TG_NN_POSENC_H
#define TG_NN_POSENC_H

#include "core/ops.h"
#include "core/params.h"

/* The sinusoidal table of Vaswani et al. 2017, §3.5, into table[T·C]
 * ([T, C], row-major):
 *   PE(pos, 2i)   = sin(pos / 10000^(2i/C)),
 *   PE(pos, 2i+1) = cos(pos / 10000^(2i/C)),
 * computed in double, rounded to float (an odd C ends with a sin column).
 * Errors: T or C < 1, table NULL, abort. */
void tg_posenc_sinusoidal_table(float *table, int T, int C);

/* x + PE[0:T] for x [B, T, C] (or [T, C]); the table is built on the tape
 * (no gradient).  Errors: x with fewer than 2 dims aborts. */
tg_tensor *tg_posenc_sinusoidal(tg_tape *tp, tg_tensor *x);
/* x + PE[pos0 : pos0+T]: the positions of a chunk that starts at pos0, e.g.
 * one new token of a cached decoding step (nn/decode.h).  pos0 = 0 is
 * tg_posenc_sinusoidal.  Errors: pos0 < 0, x with fewer than 2 dims, abort. */
tg_tensor *tg_posenc_sinusoidal_at(tg_tape *tp, tg_tensor *x, int pos0);

/* A learned table (BERT, GPT-2): a [T_max, C] parameter
 * "<prefix>.weight", init N(0, 0.02²) (GPT-2's scale; torch has no single
 * default: nn.Embedding would be N(0, 1)). */
typedef struct tg_posenc_learned {
    tg_tensor *weight; /* [T_max, C] */
    int max_len, dim;
} tg_posenc_learned;

/* Errors: max_len or dim < 1 aborts. */
void tg_posenc_learned_init(tg_posenc_learned *pe, tg_params *ps, const char *prefix,
                            int max_len, int dim, tg_rng *rng);
/* x + weight[0:T] for x [B, T, C] (or [T, C]): a slice of the parameter,
 * broadcast over B; the gradient flows into rows 0..T−1.
 * Errors: T > max_len or last dim != C aborts. */
tg_tensor *tg_posenc_learned_forward(tg_tape *tp, const tg_posenc_learned *pe, tg_tensor *x);
/* x + weight[pos0 : pos0+T] (a chunk starting at pos0, as a cached decoding
 * step); the gradient flows into those rows.  Errors: pos0 < 0,
 * pos0 + T > max_len or last dim != C aborts. */
tg_tensor *tg_posenc_learned_at(tg_tape *tp, const tg_posenc_learned *pe, tg_tensor *x,
                                int pos0);

#endif
