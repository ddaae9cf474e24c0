/* optim/optim.h — optimizers over a tg_params block, learning-rate
 * schedules, gradient clipping.
 *
 *   tg_adam opt;
 *   tg_adamw_init(&opt, &ps, 3e-4f, 0.9f, 0.999f, 1e-8f, 0.1f);
 *   tg_adam_set_decay(&opt, tg_decay_matrices, NULL);  // no decay on biases, LayerNorm
 *   for (int64_t step = 0; step < n_steps; step++) {
 *       tg_params_zero_grad(&ps);
 *       ... forward, tg_backward ...
 *       float norm = tg_clip_grad_norm(&ps, 1.0f);
 *       opt.lr = tg_lr_warmup_cosine(step, 3e-4f, 3e-5f, 100, n_steps);
 *       tg_adam_step(&opt);
 *   }
 *   tg_adam_free(&opt);
 *
 * Every optimizer is one flat loop over the ps->total floats of the
 * parameter block (the small alignment gaps between tensors hold zeros and
 * stay zero).  Its state (moments) is flat arrays of ps->total floats,
 * allocated once at init, so create the optimizer after the last
 * tg_params_new; a step checks that the block has not grown (aborts).
 * Loops are OpenMP-parallel over elements; every element is independent,
 * so results are bit-identical for any number of threads.
 *
 * Weight decay applies to every parameter unless a predicate says otherwise
 * (tg_*_set_decay); never to buffers (TG_BUFFER, e.g. BatchNorm running
 * statistics), whose gradient is always 0, so no optimizer moves them.  tg_decay_matrices decays only tensors with ndim >= 2
 * (weight matrices, embeddings) and exempts 1-D ones (biases, LayerNorm
 * gains and biases) — the nanoGPT / GPT-2 convention.
 *
 * The exact update equations are in each function's comment and in
 * docs/optim.md.  Hyper-parameters are plain fields: change opt.lr between
 * steps (schedules) freely.
 */
#ifndef TG_OPTIM_H
#define TG_OPTIM_H

#include <stdint.h>

#include "core/tensor.h"
#include "core/params.h"

/* ---- weight-decay selection ---------------------------------------------- */

/* Returns nonzero when weight decay applies to parameter t (user: the
 * pointer given to tg_*_set_decay). */
typedef int (*tg_decay_fn)(const tg_tensor *t, void *user);

/* ndim >= 2: decay matrices / embeddings, not biases or LayerNorm params. */
int tg_decay_matrices(const tg_tensor *t, void *user);

/* ---- SGD with momentum -----------------------------------------------------
 * Per element, with gradient g, parameter θ, momentum buffer b (starts at 0),
 * momentum μ, weight decay λ (0 for no-decay tensors), learning rate η:
 *     g ← g + λ·θ                         (L2 penalty ½λ‖θ‖² in the gradient)
 *     b ← μ·b + g                         (when μ > 0)
 *     d ← g + μ·b  (Nesterov)  or  d ← b  (classical; d ← g when μ = 0)
 *     θ ← θ − η·d
 * This is PyTorch's torch.optim.SGD with dampening 0 (Sutskever et al. 2013
 * for the Nesterov form).  The gradient block ps->grad is not modified. */
typedef struct tg_sgd {
    float lr;            /* η */
    float momentum;      /* μ in [0, 1) */
    float weight_decay;  /* λ >= 0 */
    int nesterov;        /* 1: Nesterov momentum (needs momentum > 0) */
    int64_t t;           /* steps taken */
    int64_t n;           /* ps->total at init */
    float *b;            /* n floats, or NULL when momentum == 0 */
    unsigned char *decay;/* n bytes: 1 where weight decay applies */
    tg_params *ps;       /* not owned */
} tg_sgd;

/* Allocates the state (zeroed) for the current parameter block.
 * Errors: lr < 0, momentum outside [0, 1), weight_decay < 0, or nesterov
 * with momentum == 0 abort (TG_CHECK).  Release with tg_sgd_free. */
void tg_sgd_init(tg_sgd *opt, tg_params *ps, float lr, float momentum,
                 float weight_decay, int nesterov);
void tg_sgd_step(tg_sgd *opt);
void tg_sgd_set_decay(tg_sgd *opt, tg_decay_fn fn, void *user);
void tg_sgd_free(tg_sgd *opt);

/* ---- Adam and AdamW --------------------------------------------------------
 * Kingma & Ba 2015, Algorithm 1, with the decoupled weight decay of
 * Loshchilov & Hutter 2019 (AdamW, Algorithm 2).  Per element, at step
 * t = 1, 2, ... (opt->t after the increment), with gradient g:
 *     Adam (L2):  g ← g + λ·θ
 *     m ← β1·m + (1 − β1)·g
 *     v ← β2·v + (1 − β2)·g²
 *     m̂ = m / (1 − β1^t),   v̂ = v / (1 − β2^t)
 *     AdamW:      θ ← θ − η·λ·θ          (decoupled; uses θ before the step)
 *     θ ← θ − η·m̂ / (√v̂ + ε)
 * λ is weight_decay (0 for no-decay tensors).  The AdamW decay is scaled by
 * the current learning rate η as in PyTorch's torch.optim.AdamW (so λ = 0.1
 * with η = 1e-3 shrinks θ by 1e-4 per step).  1 − β^t is computed in double.
 * On step 1 m̂ = g and v̂ = g², so each element moves by η·g/(|g| + ε):
 * about η·sign(g).  The gradient block ps->grad is not modified. */
typedef struct tg_adam {
    float lr;            /* η */
    float beta1, beta2;  /* β1, β2 in [0, 1) */
    float eps;           /* ε > 0 */
    float weight_decay;  /* λ >= 0 */
    int decoupled;       /* 1: AdamW; 0: Adam with L2 in the gradient */
    int64_t t;           /* steps taken (saved in checkpoints) */
    int64_t n;           /* ps->total at init */
    float *m, *v;        /* n floats each: first and second moments */
    unsigned char *decay;/* n bytes: 1 where weight decay applies */
    tg_params *ps;       /* not owned */
} tg_adam;

/* tg_adam_init: Adam with an L2 term λθ added to the gradient (PyTorch's
 * torch.optim.Adam(weight_decay=λ)).  tg_adamw_init: decoupled decay.
 * Typical: η 1e-3 (3e-4 for Transformers), β1 0.9, β2 0.999 (0.95 for
 * Transformers), ε 1e-8, λ 0 (Adam) or 0.01-0.1 (AdamW).
 * Allocates m and v (zeroed) for the current block; t = 0.
 * Errors: β outside [0, 1), eps <= 0, lr or weight_decay < 0 abort.
 * Release with tg_adam_free. */
void tg_adam_init(tg_adam *opt, tg_params *ps, float lr, float beta1,
                  float beta2, float eps, float weight_decay);
void tg_adamw_init(tg_adam *opt, tg_params *ps, float lr, float beta1,
                   float beta2, float eps, float weight_decay);
/* One update from the gradients in ps->grad; increments opt->t first. */
void tg_adam_step(tg_adam *opt);
/* Selects the tensors that weight decay applies to (fn NULL: all). */
void tg_adam_set_decay(tg_adam *opt, tg_decay_fn fn, void *user);
/* Zeroes m, v and t (a fresh start with the same hyper-parameters). */
void tg_adam_reset(tg_adam *opt);
void tg_adam_free(tg_adam *opt);

/* ---- learning-rate schedules (pure functions of the step) ----------------
 * step counts from 0 (the step about to be taken). */

/* lr_max at every step. */
float tg_lr_constant(int64_t step, float lr_max);

/* Linear warm-up then cosine decay to a floor (Loshchilov & Hutter 2017,
 * SGDR without restarts; the GPT-2/3 schedule):
 *   step < warmup:            lr_max · (step + 1) / warmup
 *   warmup <= step < total:   lr_min + ½(lr_max − lr_min)(1 + cos(π·p)),
 *                             p = (step − warmup) / (total − warmup)
 *   step >= total:            lr_min
 * So the last warm-up step (step = warmup−1) uses lr_max, the midpoint of
 * the decay (p = ½) uses (lr_max + lr_min)/2.  warmup may be 0.
 * Errors: warmup < 0, total < warmup abort. */
float tg_lr_warmup_cosine(int64_t step, float lr_max, float lr_min,
                          int64_t warmup_steps, int64_t total_steps);

/* ---- gradient clipping ----------------------------------------------------
 * Global L2 norm over every gradient in ps->grad, ‖g‖ = sqrt(Σ g²),
 * accumulated serially in double (independent of the thread count).  When
 * ‖g‖ > max_norm, every gradient is multiplied by max_norm / ‖g‖ (so the new
 * norm is max_norm up to float rounding) — Pascanu et al. 2013; PyTorch's
 * clip_grad_norm_ without its +1e-6.  Returns the norm before clipping
 * (NaN/Inf when a gradient is non-finite; nothing is scaled then).
 * Errors: max_norm <= 0 aborts. */
float tg_clip_grad_norm(tg_params *ps, float max_norm);
/* The global gradient norm alone (same accumulation). */
float tg_grad_norm(const tg_params *ps);

/* private, shared by sgd.c and adam.c (defined in adam.c):
 * tg__decay_mask: n bytes, 1 where fn (NULL: always) says decay applies.
 * tg__state_floats: zeroed state, ps->total floats (at least 1).
 * Both: caller frees.
 * tg__check_block: aborts, naming op, unless ps still holds the n floats the
 * optimizer was made for. */
unsigned char *tg__decay_mask(const tg_params *ps, tg_decay_fn fn, void *user);
float *tg__state_floats(const tg_params *ps);
void tg__check_block(const tg_params *ps, int64_t n, const char *op);

/* ---- exponential moving average of the parameters -------------------------
 * After each optimizer step:  a ← a + (1 − d_t)(θ − a),
 * d_t = min(decay, (1 + t)/(10 + t)) (a warm-up so the first averages do not
 * hold on to the initialisation).  Evaluating with the average rather than
 * the last iterate smooths out the noise of the final steps (Polyak &
 * Juditsky 1992).  tg_ema_swap exchanges θ and a in place: call it before an
 * evaluation (or a checkpoint of the averaged model) and again after.
 * Errors: decay outside [0, 1), or a block that changed size, abort. */
typedef struct tg_ema {
    tg_params *ps;   /* not owned */
    float decay;
    int64_t t, n;
    float *avg;      /* n floats */
} tg_ema;

void tg_ema_init(tg_ema *ema, tg_params *ps, float decay);
void tg_ema_update(tg_ema *ema);
void tg_ema_swap(tg_ema *ema);
void tg_ema_free(tg_ema *ema);

#endif
