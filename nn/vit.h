/* nn/vit.h — the Vision Transformer (Dosovitskiy et al. 2021, "An Image is
 * Worth 16x16 Words", §3.1, eqs. 1-4) and its patch embedding layer.
 *
 *   tg_vit_config cfg = {.image_h = 28, .image_w = 28, .channels = 1, .patch_size = 4,
 *                        .d_model = 64, .depth = 6, .n_heads = 4, .d_ff = 128,
 *                        .n_classes = 10, .pool = TG_VIT_POOL_CLS,
 *                        .pos = TG_VIT_POS_LEARNED, .ln_eps = 1e-6f};
 *   if (tg_vit_config_check(&cfg) != TG_OK) die(tg_last_error());
 *   tg_vit vit;
 *   tg_vit_init(&vit, &ps, &cfg, &rng);
 *   ... each step:
 *   tg_tensor *logits = tg_vit_forward(tp, &vit, images, &drop_rng);   // [B, n_classes]
 *   tg_tensor *loss = tg_cross_entropy(tp, logits, labels, -1, TG_MEAN);
 *   ...
 *   tg_vit_free(&vit);   // the model's own buffers; parameters live in ps
 *
 * The model, with images x [B, H, W, C] (channels-last, as data/ delivers
 * them), N = (H/P)·(W/P) patches and T = N + 1 tokens with a [CLS] token
 * (T = N with mean pooling):
 *   z0 = [x_cls; patchify(x) E + b_E] + E_pos      [B, T, d_model]   (eq. 1)
 *   z_l = z_{l−1} + MSA(LN(z_{l−1}))                                  (eq. 2)
 *   z_l = z_l + MLP(LN(z_l))          for l = 1 … depth              (eq. 3)
 *   y = head(LN(z_L)[:, 0])   (CLS)   or   head(mean_t LN(z_L)[:, t])  (eq. 4)
 * The encoder blocks are nn/transformer.h's tg_encoder_block in pre-LN form
 * with timm's names (cfg.timm_names): packed Q/K/V projection, GELU (tanh
 * form) MLP, dropout p on each sublayer's output, after the GELU and after
 * the position embedding.
 *
 * Parameter names follow timm's VisionTransformer state_dict (docs/layers.md
 * maps each tensor, including the [d_model, C, P, P] Conv2d of
 * patch_embed.proj, whose flattening differs from ours):
 *   cls_token [1, 1, d], pos_embed [1, T, d] (learned positions only),
 *   patch_embed.proj.{weight [d, P·P·C], bias [d]},
 *   blocks.{i}.norm1.{weight,bias}, blocks.{i}.attn.qkv.{weight [3d, d], bias [3d]},
 *   blocks.{i}.attn.proj.{weight,bias}, blocks.{i}.norm2.{weight,bias},
 *   blocks.{i}.mlp.fc1.{weight,bias}, blocks.{i}.mlp.fc2.{weight,bias},
 *   norm.{weight,bias} (fc_norm.* with mean pooling, applied after the mean,
 *   as timm's global_pool='avg'), head.{weight [n_classes, d], bias}.
 * Init as timm's default (init_weights_vit_timm): every Linear weight of the
 * blocks and the head N(0, 0.02²) (timm's trunc_normal_ at ±2, which at
 * std 0.02 truncates nothing), biases 0, LayerNorms 1/0, pos_embed
 * N(0, 0.02²), cls_token N(0, 1e-6²), patch_embed.proj as torch's Conv2d
 * (U(±1/√(P·P·C)) for weight and bias).
 */
#ifndef TG_NN_VIT_H
#define TG_NN_VIT_H

#include <stddef.h>
#include <stdint.h>

#include "core/attention.h"
#include "core/ops.h"
#include "nn/linear.h"
#include "core/params.h"
#include "nn/transformer.h"

/* ---- patch embedding ------------------------------------------------------
 * tg_patchify (core/ops.h) then a Linear P·P·C -> d_model: the patch
 * embedding E of eq. 1, equal to timm's Conv2d(C, d_model, kernel = stride
 * = P) on the same image.  Parameters "<prefix>.weight" [d_model, P·P·C]
 * (input order (dy, dx, c), c fastest) and "<prefix>.bias" [d_model], init
 * as torch's Conv2d / Linear: U(±1/√(P·P·C)). */
typedef struct tg_patch_embed {
    tg_linear proj;
    int patch_size, channels, d_model;
} tg_patch_embed;

/* Errors: a dim < 1 aborts. */
void tg_patch_embed_init(tg_patch_embed *pe, tg_params *ps, const char *prefix, int patch_size,
                         int channels, int d_model, tg_rng *rng);
/* images [B, H, W, C] (P dividing H and W) -> [B, N, d_model], N = (H/P)·(W/P),
 * patches in row-major grid order.  Errors: C != channels or P not dividing
 * H and W aborts. */
tg_tensor *tg_patch_embed_forward(tg_tape *tp, const tg_patch_embed *pe, tg_tensor *images);

/* ---- the model ------------------------------------------------------------ */

typedef enum {
    TG_VIT_POOL_CLS = 0,  /* a learned [CLS] token; the head reads its final state */
    TG_VIT_POOL_MEAN = 1, /* no [CLS]; the head reads the mean over the patch tokens */
} tg_vit_pool;

typedef enum {
    TG_VIT_POS_LEARNED = 0,    /* pos_embed [1, T, d] parameter (ViT's 1-D learned) */
    TG_VIT_POS_SINUSOIDAL = 1, /* fixed 1-D table of Vaswani et al. §3.5 over token index */
} tg_vit_pos;

typedef struct tg_vit_config {
    int image_h, image_w; /* H, W: the input size, multiples of patch_size */
    int channels;         /* C: 1 (gray) or 3 (RGB), any >= 1 */
    int patch_size;       /* P */
    int d_model;          /* width of every token */
    int depth;            /* number of encoder blocks */
    int n_heads;          /* H, dividing d_model */
    int d_ff;             /* hidden width of each block's MLP */
    int n_classes;        /* outputs of the head */
    tg_vit_pool pool;
    tg_vit_pos pos;
    float dropout;        /* p in [0, 1): after pos embedding, sublayer outputs, GELU */
    float ln_eps;         /* LayerNorm eps, > 0 (timm 1e-6, torch 1e-5) */
    int local_window;     /* 0: global attention.  k > 0: patch (r, c) attends only to
                             patches (r', c') with |r − r'| <= k/2 and |c − c'| <= k/2
                             (a k×k neighbourhood for odd k) — a 2-D local mask
                             through tg_attn_mask.allowed; [CLS] attends to and is
                             attended by every token. */
} tg_vit_config;

/* Checks a configuration, e.g. one read from a file or the command line:
 * every size >= 1, patch_size dividing image_h and image_w, n_heads dividing
 * d_model, pool and pos known values, dropout in [0, 1), ln_eps > 0,
 * local_window >= 0.  Returns TG_OK, or TG_ERR_ARG with a message naming the
 * field and the values ("vit config: patch_size 5 does not divide image_h
 * 28").  Never aborts. */
tg_status tg_vit_config_check(const tg_vit_config *cfg);

/* Number of scalar parameters tg_vit_init creates for cfg (cfg valid). */
int64_t tg_vit_param_count(const tg_vit_config *cfg);

/* The configuration as one JSON object ({"image_h":28,"image_w":28,
 * "channels":1,"patch_size":4,...,"pool":"cls","pos":"learned","dropout":0,
 * "ln_eps":1e-06,"local_window":0}) for a checkpoint's metadata
 * (tg_checkpoint_meta_set(&ex, "vit.config", buf)), by the field table of
 * core/config.h; floats in the shortest form that reads back to the same
 * bits.  Returns what snprintf returns (the length it needed). */
int tg_vit_config_format(const tg_vit_config *cfg, char *buf, size_t len);
/* Parses tg_vit_config_format's text (or the key=value line of older
 * checkpoints) with tg_config_parse: every key exactly once, in any order,
 * each in its bounds, then the rules of tg_vit_config_check.  `what` names
 * the source for messages (e.g. "model.safetensors: metadata vit.config").
 * Returns TG_OK and fills *cfg, or TG_ERR_FORMAT with "what: ..." (an
 * unknown, missing or repeated key, a value that is not an integer >= 1 /
 * not cls|mean / not learned|sinusoidal, patch_size not dividing image_h)
 * and leaves *cfg untouched. */
tg_status tg_vit_config_parse(const char *text, const char *what, tg_vit_config *cfg);

typedef struct tg_vit {
    tg_vit_config cfg;
    int n_patches;             /* N = (H/P)·(W/P) */
    int n_tokens;              /* T = N + 1 (CLS) or N (mean pooling) */
    tg_patch_embed patch_embed; /* "patch_embed.proj" */
    tg_tensor *cls_token;      /* [1, 1, d] "cls_token"; NULL with mean pooling */
    tg_tensor *pos_embed;      /* [1, T, d] "pos_embed"; NULL with sinusoidal positions */
    float *pos_table;          /* [T, d] sinusoidal table (owned), or NULL */
    tg_encoder_block *blocks;  /* depth blocks "blocks.{i}" (owned array) */
    tg_layernorm_layer norm;   /* "norm" (CLS) or "fc_norm" (mean pooling) */
    tg_linear head;            /* "head": d -> n_classes */
    tg_dropout_layer pos_drop; /* after the position embedding */
    uint8_t *allowed;          /* [T, T] local-window mask (owned), or NULL */
    tg_attn_mask mask;         /* {.allowed = allowed}, or empty (global attention) */
} tg_vit;

/* Creates the parameters in ps (names above) and initialises them from rng
 * in creation order (timm's scheme, see the top).  Create the optimizer
 * after this call.  Errors: a config that tg_vit_config_check rejects
 * aborts with its message. */
void tg_vit_init(tg_vit *m, tg_params *ps, const tg_vit_config *cfg, tg_rng *rng);
/* Frees what the model owns (blocks array, masks, tables), not ps. */
void tg_vit_free(tg_vit *m);

/* The pooled, final-normalised features [B, d_model] (the head's input):
 * LN(z_L)[:, 0] with CLS pooling, mean_t LN(z_L)[:, t] with mean pooling.
 * images [B, image_h, image_w, channels], any lifetime (not modified; a
 * gradient flows into it only if it requires grad).  dropout_rng: the
 * dropout masks' generator (not owned), used when cfg.dropout > 0 and the
 * tape is in training mode (tg_tape_set_training); may be NULL otherwise.
 * Output on the tape.  Errors: images of another shape, or dropout needed
 * with dropout_rng NULL, abort. */
tg_tensor *tg_vit_features(tg_tape *tp, tg_vit *m, tg_tensor *images, tg_rng *dropout_rng);
/* Logits [B, n_classes] = head(tg_vit_features(...)).  Same arguments. */
tg_tensor *tg_vit_forward(tg_tape *tp, tg_vit *m, tg_tensor *images, tg_rng *dropout_rng);

/* Attention probabilities of every layer, for plots (the [CLS] token's
 * attention, attention rollout): runs the forward with recording off and in
 * evaluation mode (both restored afterwards) and writes
 *   attn[l, b, h, i, j]   shape [depth, B, n_heads, T, T]
 * (softmax rows over keys j; token 0 is [CLS] with CLS pooling, token 1 + n
 * is patch n in row-major grid order) into the caller's buffer of
 * depth·B·n_heads·T·T floats.  Returns the logits [B, n_classes], on the
 * tape (valid until the next tg_tape_reset; the caller resets).  The tape
 * also holds every layer's probabilities until then (quadratic in T). */
tg_tensor *tg_vit_attention(tg_tape *tp, tg_vit *m, tg_tensor *images, float *attn);

#endif
