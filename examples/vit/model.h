/* examples/vit/model.h — the example's model: a tg_vit with its class names
 * and input normalisation, saved as one safetensors checkpoint.
 *
 *   vit_model m;
 *   vit_model_init(&m, &cfg, train.class_names, mean, std, seed);
 *   ... train m.vit with m.ps ...
 *   vit_model_save("vit.safetensors", &m, epoch);
 *   vit_model_free(&m);
 *   if (vit_model_load("vit.safetensors", &m) != TG_OK) die(tg_last_error());
 *   vit_model_logits(&m, tp, &test, 256, logits);      // [N, n_classes]
 *
 * Checkpoint metadata (besides the parameters under timm's names):
 *   model          "vit"
 *   vit.config     tg_vit_config_format's JSON object, validated on load
 *                  (tg_vit_config_parse → tg_vit_config_check)
 *   vit.classes    the class names, one per line (n_classes lines)
 *   vit.normalize  "m_0 .. m_{C-1} s_0 .. s_{C-1}": per-channel mean and
 *                  std of the training images, applied to every input.
 */
#ifndef VIT_MODEL_H
#define VIT_MODEL_H

#include "data/image.h"
#include "tapegrad.h"

typedef struct {
    tg_params ps;
    tg_vit vit;
    char **class_names;   /* [cfg.n_classes], owned */
    float mean[3], std[3];/* per channel, cfg.channels of them */
} vit_model;

/* A fresh model for cfg (checked by the caller), initialised from seed. */
void vit_model_init(vit_model *m, const tg_vit_config *cfg, char *const *class_names, const float *mean,
                    const float *std, uint64_t seed);
void vit_model_free(vit_model *m);

/* Writes the parameters and the metadata above (atomically); epoch goes to
 * tapegrad.epoch.  Errors: as tg_checkpoint_save. */
tg_status vit_model_save(const char *path, const vit_model *m, int64_t epoch);
/* Reads a checkpoint written by vit_model_save: metadata first (each value
 * checked), then the model is built and the tensors loaded (shapes checked
 * by tg_checkpoint_load).  Errors: "path: ..." statuses; *m untouched. */
tg_status vit_model_load(const char *path, vit_model *m);

/* Normalises n images of raw pixels [n, H, W, C] in [0, 1] into dst with
 * the model's mean/std. */
void vit_model_normalize(const vit_model *m, const float *raw, int64_t n, float *dst);

/* Logits [s->n, n_classes] of every image of s (raw pixels in [0, 1], the
 * model's size), batch_size at a time, with recording off and dropout
 * off; the tape is reset before each batch. */
void vit_model_logits(vit_model *m, tg_tape *tp, const tg_image_set *s, int batch_size, float *logits);

#endif
