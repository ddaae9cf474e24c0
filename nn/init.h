/* nn/init.h — seeded initialisation of parameters, and the layer flags.
 *
 *   tg_rng rng;  tg_rng_seed(&rng, 42);
 *   tg_init_kaiming_uniform(w, in, &rng);    // as torch.nn.Linear's weight
 *
 * Every initialiser draws from the caller's tg_rng in element order, so a
 * seed reproduces a model exactly (not torch's numbers: torch uses its own
 * generator; the distributions are the same).
 */
#ifndef TG_NN_INIT_H
#define TG_NN_INIT_H

#include "core/tensor.h"

/* Flags taken by the layers' init functions. */
enum {
    TG_NN_BIAS = 1u << 0,   /* the layer has a bias (Linear, LayerNorm) */
    TG_NN_XAVIER = 1u << 1, /* Linear weight: Xavier/Glorot uniform instead of torch's default */
    TG_NN_PACKED_QKV = 1u << 2, /* tg_mha: one [3C, C] Q/K/V projection (self-attention only) */
    TG_NN_GAT_TF = 1u << 3, /* tg_gat_conv: the attention scores as the authors' TensorFlow code
                               (PetarV-/GAT utils/layers.py): a learned bias per head in e_ij and
                               a_src, a_dst initialised as conv1d kernels [D, 1] */
};

/* U(−bound, bound) in every element. */
void tg_init_uniform(tg_tensor *t, tg_rng *rng, float bound);

/* torch.nn.Linear's default weight init: kaiming_uniform_(a = √5), which is
 * U(−1/√fan_in, 1/√fan_in) (He et al. 2015 with the gain of a leaky ReLU of
 * slope √5: bound = √(6 / ((1 + 5) fan_in)) = 1/√fan_in).  Also the Linear
 * bias's init.  Errors: fan_in < 1 aborts. */
void tg_init_kaiming_uniform(tg_tensor *t, int fan_in, tg_rng *rng);

/* Xavier/Glorot uniform (Glorot & Bengio 2010, eq. 16):
 * U(−b, b), b = √(6 / (fan_in + fan_out)).  torch.nn.init.xavier_uniform_,
 * which torch.nn.MultiheadAttention uses for its in_proj_weight. */
void tg_init_xavier_uniform(tg_tensor *t, int fan_in, int fan_out, tg_rng *rng);

/* N(mean, std²) in every element; a constant. */
void tg_init_normal(tg_tensor *t, tg_rng *rng, float mean, float std);
void tg_init_constant(tg_tensor *t, float value);

#endif
