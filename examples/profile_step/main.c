/* examples/profile_step/main.c — `build/profile_step`: where the time, the
 * FLOPs and the memory of one training step go, per op (tg_tape_profile).
 *
 * The model is W2 of ../shared/bench/WORKLOADS.md (ViT-CIFAR), the library's
 * own tg_vit (nn/vit.h): 32×32×3 images, 4×4 patches (64) + [CLS] = 65
 * tokens, learned positions, d_model 128, 4 heads, depth 6, MLP 256 (GELU),
 * pre-LN, final LN, linear head on [CLS] to 10 classes, mean cross-entropy,
 * AdamW(1e-3, 0.9, 0.999, 1e-8, 0.05), batch 128, no dropout.  Images and
 * labels are random: the cost of a step does not depend on the data.  A few
 * warm-up steps come first (the first steps grow the tape's arena).
 *
 *   build/profile_step [--batch 128] [--depth 6] [--warmup 2] [--repeat 3]
 *                      [--composed] [--threads N] [--tape-png FILE]
 */
#define _POSIX_C_SOURCE 200809L /* open_memstream */
#include <stdio.h>
#include <stdlib.h>

#include "tapegrad.h"

int main(int argc, char **argv) {
    tg_vit_config cfg = {.image_h = 32, .image_w = 32, .channels = 3, .patch_size = 4,
                         .d_model = 128, .depth = 6, .n_heads = 4, .d_ff = 256, .n_classes = 10,
                         .pool = TG_VIT_POOL_CLS, .pos = TG_VIT_POS_LEARNED, .ln_eps = 1e-6f};
    int batch = 128, warmup = 2, repeat = 3, composed = 0, threads = 0, seed = 1;
    const char *tape_png = NULL;
    const tg_cli_opt opts[] = {
        {"batch", TG_CLI_INT, &batch, "images per step"},
        {"depth", TG_CLI_INT, &cfg.depth, "encoder blocks"},
        {"warmup", TG_CLI_INT, &warmup, "training steps before the profiled ones"},
        {"repeat", TG_CLI_INT, &repeat, "profiled steps; the fastest one's table is printed"},
        {"composed", TG_CLI_FLAG, &composed, "composed attention (separate nodes, memory O(L²))"},
        {"threads", TG_CLI_INT, &threads, "OpenMP threads (0: OMP_NUM_THREADS or all cores)"},
        {"seed", TG_CLI_INT, &seed, "random seed"},
        {"tape-png", TG_CLI_OUTPUT, &tape_png, "also draw the profiled step's tape (PNG or SVG)"},
    };
    int r = tg_cli_parse(argc, argv, opts, 8,
                         "Profiles one training step of the W2 ViT (nn/vit.h) per op: time, "
                         "FLOPs, bytes saved for backward.");
    if (r) return r > 0 ? 0 : (fprintf(stderr, "profile_step: %s\n", tg_last_error()), 2);
    if (batch < 1 || batch > 4096 || warmup < 0 || repeat < 1) {
        fprintf(stderr, "profile_step: need batch in 1..4096, warmup >= 0, repeat >= 1\n");
        return 2;
    }
    if (tg_vit_config_check(&cfg) != TG_OK) {
        fprintf(stderr, "profile_step: %s\n", tg_last_error());
        return 2;
    }
    if (threads > 0) tg_set_num_threads(threads);

    tg_rng rng;
    tg_rng_seed(&rng, (uint64_t)seed);
    tg_params ps;
    tg_params_init(&ps);
    tg_vit vit;
    tg_vit_init(&vit, &ps, &cfg, &rng);
    for (int i = 0; i < cfg.depth; i++) vit.blocks[i].self_attn.use_composed = composed;
    tg_adam opt;
    tg_adamw_init(&opt, &ps, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.05f);
    tg_tensor *images = tg_tensor_new(TG_SHAPE(batch, cfg.image_h, cfg.image_w, cfg.channels));
    tg_tensor_normal(images, &rng, 0.0f, 1.0f);
    static int32_t labels[4096];
    for (int b = 0; b < batch; b++) labels[b] = (int32_t)tg_rng_below(&rng, (uint32_t)cfg.n_classes);
    printf("ViT (W2): %lld parameters, %d tokens, d_model %d, %d heads, depth %d, MLP %d, "
           "batch %d, %s attention, %d threads\n",
           (long long)tg_params_count(&ps), vit.n_tokens, cfg.d_model, cfg.n_heads, cfg.depth,
           cfg.d_ff, batch, composed ? "composed" : "fused", tg_get_num_threads());

    tg_tape *tp = tg_tape_new(0);
    float loss = 0.0f;
    /* Warm-up steps, then `repeat` profiled ones; the fastest one's table is
     * printed (on a shared machine the others carry more preemption). */
    char *best = NULL;
    double best_s = 0.0;
    int best_step = 0;
    for (int step = 0; step < warmup + repeat; step++) {
        tg_tape_set_profile(tp, step >= warmup);
        tg_tape_reset(tp);
        tg_params_zero_grad(&ps);
        tg_tensor *L = tg_cross_entropy(tp, tg_vit_forward(tp, &vit, images, NULL), labels, -1,
                                        TG_MEAN);
        loss = L->data[0];
        if (tg_backward(tp, L) != TG_OK) {
            fprintf(stderr, "profile_step: %s\n", tg_last_error());
            return 1;
        }
        tg_adam_step(&opt);
        if (step < warmup) continue;
        tg_profile_row rows[TG_OP_COUNT + 64];
        int n = tg_tape_profile_rows(tp, rows, TG_OP_COUNT + 64);
        double t = 0.0;
        for (int i = 0; i < n && i < TG_OP_COUNT + 64; i++) t += rows[i].fwd_seconds + rows[i].bwd_seconds;
        printf("profiled step %d: %.1f ms in the nodes, loss %.4f\n", step + 1, 1e3 * t, loss);
        if (!best || t < best_s) {
            free(best);
            size_t len = 0;
            FILE *f = open_memstream(&best, &len);
            tg_tape_profile(tp, f);
            fclose(f);
            best_s = t, best_step = step + 1;
        }
    }
    printf("\nstep %d (the fastest profiled): %d tape nodes, arena peak %.1f MiB\n\n%s", best_step,
           tg_tape_n_nodes(tp), tg_tape_bytes_peak(tp) / (1024.0 * 1024.0), best);
    free(best);
    int rc = 0;
    if (tape_png && tg_tape_render(tp, tape_png, NULL) != TG_OK) {
        fprintf(stderr, "profile_step: %s\n", tg_last_error());
        rc = 1;
    }
    tg_tape_free(tp);
    tg_tensor_free(images);
    tg_vit_free(&vit);
    tg_adam_free(&opt);
    tg_params_free(&ps);
    return rc;
}
