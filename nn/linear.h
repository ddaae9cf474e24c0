/* nn/linear.h — the fully connected layer, y = x Wᵀ + b (torch.nn.Linear).
 *
 *   tg_linear fc;
 *   tg_linear_init(&fc, &ps, "encoder.layers.0.mlp.fc1", 64, 256, TG_NN_BIAS, &rng);
 *   tg_tensor *y = tg_linear_forward(tp, &fc, x);          // [B, T, 64] -> [B, T, 256]
 */
#ifndef TG_NN_LINEAR_H
#define TG_NN_LINEAR_H

#include "core/ops.h"
#include "nn/init.h"
#include "core/params.h"

typedef struct tg_linear {
    tg_tensor *weight; /* [out, in], named "<prefix>.weight" */
    tg_tensor *bias;   /* [out], named "<prefix>.bias"; NULL without TG_NN_BIAS */
    int in, out;
} tg_linear;

/* Creates the parameters in ps under prefix and initialises them from rng.
 * Init (flags without TG_NN_XAVIER) as torch.nn.Linear: weight and bias
 * U(±1/√in) (tg_init_kaiming_uniform).  With TG_NN_XAVIER: weight Xavier
 * uniform U(±√(6/(in+out))), bias 0 (the attention projections of Vaswani
 * et al. / torch.nn.MultiheadAttention).
 * flags: TG_NN_BIAS | TG_NN_XAVIER.  Errors: in or out < 1, a duplicate
 * name, abort. */
void tg_linear_init(tg_linear *l, tg_params *ps, const char *prefix, int in, int out,
                    unsigned flags, tg_rng *rng);

/* y[..., out] = x[..., in] · Wᵀ + b: one GEMM for all leading dims and the
 * bias added in place, as one tape node (tg_affine; equal bit for bit to
 * tg_add(tg_matmul(x, W, 0, 1), b)).  Output on the tape.
 * Errors: x's last dim != in aborts ("tg_linear_forward: ..."). */
tg_tensor *tg_linear_forward(tg_tape *tp, const tg_linear *l, tg_tensor *x);

#endif
