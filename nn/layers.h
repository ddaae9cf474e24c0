/* nn/layers.h — LayerNorm, Embedding, Dropout and the MLP block as layers:
 * named parameters (PyTorch names under a caller-given prefix), a seeded
 * init, a forward on a tape.
 *
 *   tg_embedding_layer emb;   tg_layernorm_layer ln;   tg_mlp mlp;
 *   tg_embedding_layer_init(&emb, &ps, "embed", V, C, &rng);
 *   tg_layernorm_layer_init(&ln, &ps, "ln_f", C, TG_NN_BIAS);
 *   tg_mlp_init(&mlp, &ps, "layers.0.mlp", C, 4 * C, TG_NN_BIAS, 0.1f, &rng);
 *   tg_tensor *x = tg_embedding_layer_forward(tp, &emb, ids, TG_SHAPE(B, T));  // [B, T, C]
 *   x = tg_mlp_forward(tp, &mlp, tg_layernorm_layer_forward(tp, &ln, x));
 *
 * (The op functions tg_layernorm / tg_embedding / tg_dropout keep the short
 * names; the layer types carry the suffix _layer.)
 */
#ifndef TG_NN_LAYERS_H
#define TG_NN_LAYERS_H

#include <stdint.h>

#include "core/ops.h"
#include "nn/init.h"
#include "nn/linear.h"
#include "core/params.h"

/* ---- LayerNorm (Ba, Kiros & Hinton 2016; torch.nn.LayerNorm) ----------- */
typedef struct tg_layernorm_layer {
    tg_tensor *weight; /* gain [C], "<prefix>.weight", init 1 */
    tg_tensor *bias;   /* [C], "<prefix>.bias", init 0; NULL without TG_NN_BIAS */
    int dim;
    float eps;         /* 1e-5, torch's default; may be changed after init */
} tg_layernorm_layer;

/* flags: TG_NN_BIAS.  No randomness.  Errors: dim < 1 aborts. */
void tg_layernorm_layer_init(tg_layernorm_layer *ln, tg_params *ps, const char *prefix, int dim,
                             unsigned flags);
/* y = (x − mean)/√(var + eps) · weight + bias over the last dim:
 * x [..., C] -> [..., C].  Errors: last dim != C aborts. */
tg_tensor *tg_layernorm_layer_forward(tg_tape *tp, const tg_layernorm_layer *ln, tg_tensor *x);

/* ---- Embedding (torch.nn.Embedding) ------------------------------------- */
typedef struct tg_embedding_layer {
    tg_tensor *weight; /* [V, C], "<prefix>.weight", init N(0, 1) as torch */
    int vocab, dim;
} tg_embedding_layer;

/* Errors: vocab or dim < 1 aborts.  Rescale afterwards for another init
 * (e.g. N(0, 0.02²) as GPT-2: tg_init_normal(emb.weight, rng, 0, 0.02f)). */
void tg_embedding_layer_init(tg_embedding_layer *e, tg_params *ps, const char *prefix, int vocab,
                             int dim, tg_rng *rng);
/* out[..., c] = weight[ids[...], c]: ids an int array of the given shape
 * (1 to TG_MAX_DIMS−1 dims, e.g. [B, T]) -> [shape..., C].  Errors: an id outside [0, V)
 * aborts. */
tg_tensor *tg_embedding_layer_forward(tg_tape *tp, const tg_embedding_layer *e,
                                      const int32_t *ids, int ndim, const int *shape);

/* ---- Dropout (Srivastava et al. 2014; torch.nn.Dropout) ----------------- */
typedef struct tg_dropout_layer {
    float p;     /* drop probability, 0 <= p < 1; 0 = identity */
    tg_rng *rng; /* the caller's generator (not owned); may be NULL when p == 0 */
} tg_dropout_layer;

/* Errors: p outside [0, 1), or p > 0 with rng NULL, aborts. */
void tg_dropout_layer_init(tg_dropout_layer *d, float p, tg_rng *rng);
/* Inverted dropout when the tape is in training mode (tg_tape_training),
 * the identity (x itself) in evaluation mode or when p == 0. */
tg_tensor *tg_dropout_layer_forward(tg_tape *tp, const tg_dropout_layer *d, tg_tensor *x);

/* ---- MLP block: Linear -> GELU -> (Dropout) -> Linear ------------------- */
typedef struct tg_mlp {
    tg_linear fc1;         /* "<prefix>.fc1": C -> d_ff  (torch's linear1) */
    tg_linear fc2;         /* "<prefix>.fc2": d_ff -> C  (torch's linear2) */
    tg_dropout_layer drop; /* after the activation, as torch's TransformerEncoderLayer */
} tg_mlp;

/* Linear layers initialised as torch.nn.Linear (flags as tg_linear_init:
 * TG_NN_BIAS | TG_NN_XAVIER).  dropout: p after the GELU (0: none), masks
 * drawn from rng (which also initialises the weights).
 * Errors: dims < 1, p outside [0, 1) abort. */
void tg_mlp_init(tg_mlp *m, tg_params *ps, const char *prefix, int dim, int d_ff, unsigned flags,
                 float dropout, tg_rng *rng);
/* y = fc2(dropout(gelu(fc1(x)))): x [..., C] -> [..., C].  GELU in its tanh
 * form (Hendrycks & Gimpel 2016), as in GPT-2/BERT. */
tg_tensor *tg_mlp_forward(tg_tape *tp, const tg_mlp *m, tg_tensor *x);

#endif
