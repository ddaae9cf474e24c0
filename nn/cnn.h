/* nn/cnn.h — convolution layers (Conv2d, BatchNorm2d) and a small CNN
 * family: stages of conv3x3-BN-ReLU blocks, each stage ending in a 2×2 max
 * pool, then global average pooling (or a flatten) and a linear head.  The
 * CNN arm of the data-scaling experiment (examples/scaling): a
 * self-attention restricted to a fixed local window, with a width knob to
 * match a ViT's parameter count.
 *
 *   tg_cnn_config cfg = {.image_h = 28, .image_w = 28, .channels = 1, .n_classes = 10,
 *                        .width = 32, .n_stages = 2, .convs_per_stage = 2};
 *   if (tg_cnn_config_check(&cfg) != TG_OK) die(tg_last_error());
 *   cfg.width = tg_cnn_width_for_params(&cfg, tg_vit_param_count(&vit_cfg)); // match a ViT
 *   tg_cnn cnn;
 *   tg_cnn_init(&cnn, &ps, &cfg, &rng);
 *   ... each step:
 *   tg_tape_set_training(tp, 1);                              // batch statistics
 *   tg_tensor *logits = tg_cnn_forward(tp, &cnn, images, &drop_rng);  // [B, n_classes]
 *   ... evaluation: tg_tape_set_training(tp, 0) (running statistics) ...
 *   tg_cnn_free(&cnn);
 *
 * The model on images x [B, H, W, C] (channels-last, as data/ delivers
 * them), with widths c_s = width·2^s for stage s = 0 … n_stages−1:
 *   for each stage s, convs_per_stage times:
 *       x = ReLU(BatchNorm2d(Conv2d_3×3(x, pad 1, stride 1, no bias)))   [B, H_s, W_s, c_s]
 *   then x = MaxPool2d(x, 2, 2)                              [B, ⌊H_s/2⌋, ⌊W_s/2⌋, c_s]
 *   features = GlobalAvgPool(x) [B, c_last]   (flatten = 1: x flattened [B, H·W·c_last])
 *   logits = Linear(Dropout_p(features))                     [B, n_classes]
 * The convs have no bias (the BatchNorm's β takes its place, as in ResNet).
 *
 * Parameter names (PyTorch-style, a torch nn.Sequential model would use
 * the same with its module indices):
 *   stages.{s}.{j}.conv.weight   [c_s, 3, 3, c_in]   (torch: [c_s, c_in, 3, 3])
 *   stages.{s}.{j}.bn.weight, .bias [c_s], buffers .running_mean, .running_var [c_s]
 *   head.weight [n_classes, F], head.bias [n_classes]
 * A converter to/from torch permutes each conv weight (ours = torch's
 * .permute(0, 2, 3, 1)) and, with flatten = 1 only, the head's input order
 * (ours flattens (h, w, c), torch's NCHW flatten (c, h, w)).
 * Init as torch's defaults: Conv2d and Linear weights kaiming_uniform(a=√5)
 * = U(±1/√fan_in) (fan_in = 9·c_in for a conv), Linear bias likewise,
 * BatchNorm γ = 1, β = 0, running_mean 0, running_var 1; momentum 0.1,
 * eps 1e-5.
 */
#ifndef TG_NN_CNN_H
#define TG_NN_CNN_H

#include <stddef.h>
#include <stdint.h>

#include "core/ops.h"
#include "core/params.h"
#include "nn/linear.h"

/* ---- Conv2d ----------------------------------------------------------------
 * tg_conv2d (core/ops.h) with its weight "<prefix>.weight" [out, k, k, in]
 * and, with TG_NN_BIAS, "<prefix>.bias" [out], init as torch's nn.Conv2d:
 * U(±1/√(in·k·k)) for both. */
typedef struct tg_conv2d_layer {
    tg_tensor *weight; /* [out_channels, k, k, in_channels] */
    tg_tensor *bias;   /* [out_channels] or NULL */
    int in_channels, out_channels, kernel_size, stride, padding;
} tg_conv2d_layer;

/* Errors: a size < 1 or padding < 0 aborts. */
void tg_conv2d_layer_init(tg_conv2d_layer *l, tg_params *ps, const char *prefix, int in_channels,
                          int out_channels, int kernel_size, int stride, int padding,
                          unsigned flags, tg_rng *rng);
/* x [B, H, W, in_channels] -> [B, Ho, Wo, out_channels] (tg_conv2d). */
tg_tensor *tg_conv2d_layer_forward(tg_tape *tp, const tg_conv2d_layer *l, tg_tensor *x);

/* ---- BatchNorm2d -----------------------------------------------------------
 * tg_batchnorm with "<prefix>.weight" (γ, init 1), "<prefix>.bias" (β, 0)
 * and the buffers "<prefix>.running_mean" (0) and "<prefix>.running_var" (1)
 * (tg_params_new_buffer: saved in checkpoints, never trained).  Training or
 * evaluation statistics follow tg_tape_set_training. */
typedef struct tg_batchnorm_layer {
    tg_tensor *weight, *bias, *running_mean, *running_var; /* [channels] each */
    int channels;
    float momentum; /* 0.1 (torch's default); may be changed after init */
    float eps;      /* 1e-5 (torch's default) */
} tg_batchnorm_layer;

/* Errors: channels < 1 aborts. */
void tg_batchnorm_layer_init(tg_batchnorm_layer *bn, tg_params *ps, const char *prefix,
                             int channels);
/* x [..., channels] -> the same shape. */
tg_tensor *tg_batchnorm_layer_forward(tg_tape *tp, const tg_batchnorm_layer *bn, tg_tensor *x);

/* ---- the CNN family --------------------------------------------------------- */

typedef struct tg_cnn_config {
    int image_h, image_w, channels, n_classes;
    int width;           /* channels of stage 0; stage s has width << s */
    int n_stages;        /* each stage: convs_per_stage × (conv3x3 pad 1, BatchNorm2d, ReLU), then 2×2 max pool stride 2 */
    int convs_per_stage;
    float dropout;       /* before the head, in [0,1) */
    int flatten;         /* 0 (default): global average pooling before the head;
                            1: flatten the last [H, W, C] map (the classic small CNN) */
} tg_cnn_config;

/* Checks a configuration (e.g. from a file or the command line): every size
 * >= 1, n_stages at most 16, the image at least 2^n_stages pixels high and
 * wide (each stage halves it), width << (n_stages − 1) at most 2^20, dropout in [0, 1),
 * flatten 0 or 1.  Returns TG_OK or TG_ERR_ARG with a message naming the
 * field ("cnn config: n_stages 5 halves image_h 28 to 0").  Never aborts. */
tg_status tg_cnn_config_check(const tg_cnn_config *cfg);

/* Number of trainable scalars tg_cnn_init creates for cfg (buffers not
 * counted; cfg valid). */
int64_t tg_cnn_param_count(const tg_cnn_config *cfg);

/* The width >= 1 whose tg_cnn_param_count is nearest target (the smaller on
 * a tie), every other field from base (valid).  The count grows with the
 * width (about quadratically), so a scan up to the first width past target
 * finds it. */
int tg_cnn_width_for_params(const tg_cnn_config *base, int64_t target);

/* The configuration as one JSON object ({"image_h":28,"image_w":28,
 * "channels":1,"n_classes":10,"width":32,"n_stages":2,"convs_per_stage":2,
 * "dropout":0,"flatten":0}) for a checkpoint's metadata, by the field table
 * of core/config.h (floats read back to the same bits).  Returns what
 * snprintf returns (the length it needed). */
int tg_cnn_config_format(const tg_cnn_config *cfg, char *buf, size_t len);
/* Parses tg_cnn_config_format's text (or an older key=value line) with
 * tg_config_parse: every key exactly once, any order, each in its bounds,
 * then the rules of tg_cnn_config_check.  `what` names the source for
 * messages.  Returns TG_OK and fills *cfg, or TG_ERR_FORMAT with "what: ..."
 * and leaves *cfg untouched. */
tg_status tg_cnn_config_parse(const char *text, const char *what, tg_cnn_config *cfg);

/* One conv-BN-ReLU block. */
typedef struct tg_cnn_block {
    tg_conv2d_layer conv;   /* "stages.{s}.{j}.conv" */
    tg_batchnorm_layer bn;  /* "stages.{s}.{j}.bn" */
} tg_cnn_block;

typedef struct tg_cnn {
    tg_cnn_config cfg;
    int n_blocks;           /* n_stages · convs_per_stage */
    tg_cnn_block *blocks;   /* stage-major (owned array) */
    int feat_h, feat_w;     /* the last map's size after the final pool */
    int n_features;         /* the head's input width */
    tg_linear head;         /* "head" */
} tg_cnn;

/* Creates the parameters and buffers in ps (names above), initialised from
 * rng in creation order.  Create the optimizer after this call.
 * Errors: a config tg_cnn_config_check rejects aborts with its message. */
void tg_cnn_init(tg_cnn *m, tg_params *ps, const tg_cnn_config *cfg, tg_rng *rng);
/* Frees what the model owns (the blocks array), not ps. */
void tg_cnn_free(tg_cnn *m);

/* Logits [B, n_classes] from images [B, image_h, image_w, channels] (any
 * lifetime, not modified).  Training vs evaluation (BatchNorm statistics,
 * dropout) from tg_tape_set_training; in training mode the BatchNorm
 * running statistics in ps are updated.  dropout_rng: the dropout masks'
 * generator (not owned), may be NULL when dropout is 0 or evaluating.
 * Output on the tape.  Errors: images of another shape, a BatchNorm input
 * of one value per channel in training mode (B = 1 with a 1×1 map), or
 * dropout needed with dropout_rng NULL, abort. */
tg_tensor *tg_cnn_forward(tg_tape *tp, tg_cnn *m, tg_tensor *images, tg_rng *dropout_rng);

#endif
