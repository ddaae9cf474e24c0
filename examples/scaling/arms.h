/* examples/scaling/arms.h — the three models ("arms") of the experiment,
 * behind one interface, with matched parameter counts.
 *
 *   scaling_arch a = scaling_arch_default();
 *   scaling_arch_fit(&a, 28, 28, 1, 10);       // ViT config, CNN width to match it
 *   scaling_model m;
 *   scaling_model_init(&m, SCALING_CNN, &a, seed);
 *   tg_tensor *logits = scaling_model_forward(tp, &m, images, &drop_rng);   // [B, n_classes]
 *   scaling_model_free(&m);
 *
 *   vit        a Vision Transformer (nn/vit.h), global attention;
 *   vit-local  the same ViT with attention restricted to each patch's
 *              k × k neighbourhood of patches (tg_vit_config.local_window):
 *              "a CNN is a restricted self-attention", made measurable;
 *   cnn        conv-BN-ReLU stages with 2×2 max pooling, global average
 *              pooling and a linear head (nn/cnn.h), its width chosen by
 *              tg_cnn_width_for_params so its parameter count is the
 *              closest to the ViT's.
 */
#ifndef SCALING_ARMS_H
#define SCALING_ARMS_H

#include <stdint.h>

#include "nn/cnn.h"
#include "tapegrad.h"

typedef enum { SCALING_CNN = 0, SCALING_VIT = 1, SCALING_VIT_LOCAL = 2, SCALING_N_ARMS = 3 } scaling_arm;

/* "cnn", "vit", "vit-local". */
const char *scaling_arm_name(scaling_arm a);
/* The arm named name; -1 if none. */
int scaling_arm_parse(const char *name);

typedef struct {
    tg_vit_config vit;   /* the ViT arms (vit-local adds local_window) */
    int local_window;    /* k of vit-local */
    tg_cnn_config cnn;   /* the CNN arm; width set by scaling_arch_fit */
} scaling_arch;

/* The defaults before fitting to a dataset (docs/scaling.md). */
scaling_arch scaling_arch_default(void);
/* Sets the image size and classes of both configs and the CNN width that
 * matches the ViT's parameter count.  Errors: a config the checks reject
 * (TG_ERR_ARG with their message). */
tg_status scaling_arch_fit(scaling_arch *a, int image_h, int image_w, int channels, int n_classes);
/* Parameters of arm under a (fitted). */
int64_t scaling_arch_params(const scaling_arch *a, scaling_arm arm);
/* Multiply-adds of one image's forward pass through arm under a (fitted):
 * the convolutions and linear maps, and the attention's Q·Kᵀ and A·V over
 * every token pair (vit-local too: its window is a mask on the dense
 * scores, tg_attn_mask.allowed).  A cost estimate for spreading cells over
 * ranks (tg_dist_assign), not a measurement. */
double scaling_arch_macs(const scaling_arch *a, scaling_arm arm);

typedef struct {
    scaling_arm arm;
    tg_params ps;
    tg_vit vit;
    tg_cnn cnn;
} scaling_model;

/* A fresh model of arm, initialised from seed. */
void scaling_model_init(scaling_model *m, scaling_arm arm, const scaling_arch *a, uint64_t seed);
void scaling_model_free(scaling_model *m);
/* Logits [B, n_classes] of normalised images [B, H, W, C]; training or
 * evaluation from tg_tape_set_training. */
tg_tensor *scaling_model_forward(tg_tape *tp, scaling_model *m, tg_tensor *images, tg_rng *dropout_rng);

#endif
