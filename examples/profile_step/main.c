/* examples/profile_step/main.c — `build/profile_step`: where the time, the
 * FLOPs and the memory of one training step go, per op (tg_tape_profile).
 *
 * The model is W2-sized (../shared/bench/WORKLOADS.md, ViT-CIFAR) and built
 * from the library's existing blocks: 32×32×3 images cut into 64 patches of
 * 4×4×3 = 48 values, a linear patch embedding (what a 4×4 stride-4
 * convolution computes), a learned [CLS] token and positional embedding,
 * 6 pre-LN encoder blocks (d_model 128, 4 heads, MLP 256 with GELU), a final
 * LayerNorm, a linear head on [CLS] to 10 classes, mean cross-entropy,
 * AdamW(1e-3, 0.9, 0.999, 1e-8, 0.05), batch 128, no dropout.  Inputs and
 * labels are random: the profile of a step does not depend on the data.
 * (nn/vit.h on branch vit-core is the real ViT; with it, the same call
 * tg_tape_profile(tp, stdout) after its step gives its table.)
 *
 *   build/profile_step [--batch 128] [--depth 6] [--warmup 2] [--composed]
 *                      [--threads N] [--tape-png FILE]
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tapegrad.h"

typedef struct {
    int image, patch, channels, d_model, n_heads, d_ff, depth, n_classes;
} vit_config;

typedef struct {
    vit_config cfg;
    tg_linear patch_embed, head;
    tg_tensor *cls, *pos;
    tg_encoder_block blocks[32];
    tg_layernorm_layer ln_final;
} vit_model;

static int n_patches(const vit_config *c) { return (c->image / c->patch) * (c->image / c->patch); }

static void model_init(vit_model *m, tg_params *ps, const vit_config *c, int composed,
                       tg_rng *rng) {
    m->cfg = *c;
    int P = c->patch * c->patch * c->channels, L = n_patches(c) + 1;
    tg_linear_init(&m->patch_embed, ps, "patch_embed", P, c->d_model, TG_NN_BIAS, rng);
    m->cls = tg_params_new(ps, TG_SHAPE(1, c->d_model), "cls_token");
    tg_init_normal(m->cls, rng, 0.0f, 0.02f);
    m->pos = tg_params_new(ps, TG_SHAPE(L, c->d_model), "pos_embed");
    tg_init_normal(m->pos, rng, 0.0f, 0.02f);
    tg_block_config bc = {.d_model = c->d_model, .n_heads = c->n_heads, .d_ff = c->d_ff,
                          .pre_ln = 1, .flags = TG_NN_BIAS, .use_composed = composed};
    for (int i = 0; i < c->depth; i++) {
        char name[64];
        snprintf(name, sizeof name, "blocks.%d", i);
        tg_encoder_block_init(&m->blocks[i], ps, name, &bc, rng);
    }
    tg_layernorm_layer_init(&m->ln_final, ps, "ln_final", c->d_model, TG_NN_BIAS);
    tg_linear_init(&m->head, ps, "head", c->d_model, c->n_classes, TG_NN_BIAS, rng);
}

/* images [B, C, H, W] -> patches [B, N, P·P·C] (row-major patches, channels
 * innermost): data preparation, no gradient. */
static tg_tensor *patchify(tg_tape *tp, const vit_config *c, const float *images, int B) {
    int g = c->image / c->patch, P = c->patch, C = c->channels, S = c->image;
    tg_tensor *x = tg_tape_tensor(tp, TG_SHAPE(B, g * g, P * P * C));
    for (int b = 0; b < B; b++)
        for (int py = 0; py < g; py++)
            for (int px = 0; px < g; px++) {
                float *dst = x->data + ((int64_t)b * g * g + py * g + px) * P * P * C;
                for (int y = 0; y < P; y++)
                    for (int xx = 0; xx < P; xx++)
                        for (int ch = 0; ch < C; ch++)
                            *dst++ = images[(((int64_t)b * C + ch) * S + py * P + y) * S + px * P + xx];
            }
    return x;
}

/* logits [B, n_classes]. */
static tg_tensor *model_forward(tg_tape *tp, vit_model *m, const float *images, int B) {
    const vit_config *c = &m->cfg;
    tg_tensor *x = tg_linear_forward(tp, &m->patch_embed, patchify(tp, c, images, B));
    tg_tensor *cls = tg_add(tp, tg_tape_tensor(tp, TG_SHAPE(B, 1, c->d_model)), m->cls);
    x = tg_add(tp, tg_concat(tp, 2, (tg_tensor *[]){cls, x}, 1), m->pos); /* [B, L, C] */
    for (int i = 0; i < c->depth; i++) x = tg_encoder_block_forward(tp, &m->blocks[i], x, NULL);
    x = tg_layernorm_layer_forward(tp, &m->ln_final, x);
    tg_tensor *h = tg_reshape(tp, tg_slice(tp, x, 1, 0, 1), TG_SHAPE(B, c->d_model));
    return tg_linear_forward(tp, &m->head, h);
}

int main(int argc, char **argv) {
    vit_config cfg = {.image = 32, .patch = 4, .channels = 3, .d_model = 128, .n_heads = 4,
                      .d_ff = 256, .depth = 6, .n_classes = 10};
    int batch = 128, warmup = 2, composed = 0, threads = 0, seed = 1;
    const char *tape_png = NULL;
    const tg_cli_opt opts[] = {
        {"batch", TG_CLI_INT, &batch, "images per step"},
        {"depth", TG_CLI_INT, &cfg.depth, "encoder blocks (at most 32)"},
        {"warmup", TG_CLI_INT, &warmup, "training steps before the profiled one"},
        {"composed", TG_CLI_FLAG, &composed, "composed attention (separate nodes, memory O(L²))"},
        {"threads", TG_CLI_INT, &threads, "OpenMP threads (0: OMP_NUM_THREADS or all cores)"},
        {"seed", TG_CLI_INT, &seed, "random seed"},
        {"tape-png", TG_CLI_STRING, &tape_png, "also draw the profiled step's tape (PNG or SVG)"},
    };
    int r = tg_cli_parse(argc, argv, opts, 7,
                         "Profiles one training step of a W2-sized ViT encoder per op: time, "
                         "FLOPs, bytes saved for backward.");
    if (r) return r > 0 ? 0 : (fprintf(stderr, "profile_step: %s\n", tg_last_error()), 2);
    if (batch < 1 || cfg.depth < 1 || cfg.depth > 32 || warmup < 0) {
        fprintf(stderr, "profile_step: need batch >= 1, depth in 1..32, warmup >= 0\n");
        return 2;
    }
    if (threads > 0) tg_set_num_threads(threads);

    tg_rng rng;
    tg_rng_seed(&rng, (uint64_t)seed);
    tg_params ps;
    tg_params_init(&ps);
    vit_model m;
    model_init(&m, &ps, &cfg, composed, &rng);
    tg_adam opt;
    tg_adamw_init(&opt, &ps, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.05f);
    int64_t n_pix = (int64_t)batch * cfg.channels * cfg.image * cfg.image;
    tg_tensor *images = tg_tensor_new(TG_SHAPE(n_pix));
    tg_tensor_normal(images, &rng, 0.0f, 1.0f);
    int32_t labels[4096];
    for (int b = 0; b < batch && b < 4096; b++) labels[b] = (int32_t)tg_rng_below(&rng, 10);
    if (batch > 4096) {
        fprintf(stderr, "profile_step: batch at most 4096\n");
        return 2;
    }
    printf("W2-sized ViT encoder: %lld parameters, %d tokens, d_model %d, %d heads, depth %d, "
           "MLP %d, batch %d, %s attention, %d threads\n",
           (long long)tg_params_count(&ps), n_patches(&cfg) + 1, cfg.d_model, cfg.n_heads,
           cfg.depth, cfg.d_ff, batch, composed ? "composed" : "fused", tg_get_num_threads());

    tg_tape *tp = tg_tape_new(0);
    float loss = 0.0f;
    for (int step = 0; step <= warmup; step++) {
        if (step == warmup) tg_tape_set_profile(tp, 1); /* the profiled step */
        tg_tape_reset(tp);
        tg_params_zero_grad(&ps);
        tg_tensor *L = tg_cross_entropy(tp, model_forward(tp, &m, images->data, batch), labels,
                                        -1, TG_MEAN);
        loss = L->data[0];
        if (tg_backward(tp, L) != TG_OK) {
            fprintf(stderr, "profile_step: %s\n", tg_last_error());
            return 1;
        }
        tg_adam_step(&opt);
    }
    printf("step %d: loss %.4f, %d tape nodes, arena peak %.1f MiB\n\n", warmup + 1, loss,
           tg_tape_n_nodes(tp), tg_tape_bytes_peak(tp) / (1024.0 * 1024.0));
    tg_tape_profile(tp, stdout);
    int rc = 0;
    if (tape_png && tg_tape_render(tp, tape_png, NULL) != TG_OK) {
        fprintf(stderr, "profile_step: %s\n", tg_last_error());
        rc = 1;
    }
    tg_tape_free(tp);
    tg_tensor_free(images);
    tg_adam_free(&opt);
    tg_params_free(&ps);
    return rc;
}
