/* bench_vit.c — W2 (ViT on CIFAR-sized images) and W3 (ViT-Ti/16) training
 * steps, as defined in shared/bench/WORKLOADS.md.
 *
 *   W2: 32×32×3, patch 4 (64 patches + [CLS] = 65 tokens), d_model 128,
 *       4 heads, depth 6, MLP 256, 10 classes, batch 128.
 *   W3: 224×224×3, patch 16 (196 + [CLS] = 197 tokens), d_model 192,
 *       3 heads, depth 12, MLP 768, 1000 classes, batch 16.
 * Both: learned positions, pre-LN blocks, final LN, linear head on [CLS],
 * GELU (tanh form), LayerNorm eps 1e-5, mean cross-entropy, AdamW(lr 1e-3,
 * betas 0.9/0.999, eps 1e-8, weight decay 0.05 on every tensor), no dropout;
 * random images N(0, 1) and random labels (fixed seed).
 *
 * One step = tape reset, zero grads, forward, loss, backward, AdamW update.
 * Figures: the median step time over --steps timed steps after --warmup
 * steps (20 and 3 by default), images/s = B / median, the peak RSS of this
 * process (getrusage ru_maxrss, read right after the last step, before
 * anything else is allocated), the tape's peak bytes, and the achieved
 * GFLOP/s = model FLOPs / median, with model FLOPs = 3 × the forward's
 * multiply-adds × 2 (the usual convention: the backward costs two
 * forwards; attention's recomputation in the fused backward is not
 * counted).  The forward count: patch embedding 2·N·P²C·d, per block
 * 2·T·d·3d (qkv) + 2·T²·d (scores) + 2·T²·d (P·V) + 2·T·d² (proj) +
 * 4·T·d·d_ff (MLP), head 2·d·classes; all × B.
 * Against: this machine's GEMM peak measured in the same run after the
 * steps, tg_sgemm C = A·B on 1024³ at the same thread count (best of 5).
 *
 * Run:  ./build/bench_vit --workload w2|w3 [--threads N] [--steps 20] [--warmup 3]
 * prints one human line and one machine line
 *   RESULT impl=tapegrad workload=w2 threads=2 ms=... images_per_s=... rss_mib=...
 * bench/vit.sh runs it beside bench/vit_torch.py at 1 and 2 threads (make
 * bench).  Without arguments it prints this usage and exits 0.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "tapegrad.h"

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct {
    const char *name;
    tg_vit_config cfg;
    int batch;
} workload;

static const workload WORKLOADS[] = {
    {"w2", {.image_h = 32, .image_w = 32, .channels = 3, .patch_size = 4, .d_model = 128,
            .depth = 6, .n_heads = 4, .d_ff = 256, .n_classes = 10, .ln_eps = 1e-5f}, 128},
    {"w3", {.image_h = 224, .image_w = 224, .channels = 3, .patch_size = 16, .d_model = 192,
            .depth = 12, .n_heads = 3, .d_ff = 768, .n_classes = 1000, .ln_eps = 1e-5f}, 16},
};

/* Model FLOPs of one training step (see the top). */
static double step_flops(const tg_vit_config *c, int B) {
    double P2C = (double)c->patch_size * c->patch_size * c->channels, d = c->d_model,
           f = c->d_ff;
    double N = (double)(c->image_h / c->patch_size) * (c->image_w / c->patch_size), T = N + 1;
    double block = 2 * T * d * 3 * d + 4 * T * T * d + 2 * T * d * d + 4 * T * d * f;
    double fwd = 2 * N * P2C * d + c->depth * block + 2 * d * c->n_classes;
    return 3.0 * fwd * B;
}

/* Best GFLOP/s of tg_sgemm on 1024³ over 5 calls after one warm-up. */
static double gemm_peak(void) {
    enum { S = 1024 };
    float *A = malloc(sizeof(float) * S * S), *Bm = malloc(sizeof(float) * S * S),
          *C = malloc(sizeof(float) * S * S);
    for (int i = 0; i < S * S; i++) A[i] = Bm[i] = (float)(i % 7) * 0.1f;
    double best = 1e30;
    for (int r = 0; r < 6; r++) {
        double t0 = now_ms();
        tg_sgemm(0, 0, S, S, S, 1.0f, A, S, Bm, S, 0.0f, C, S);
        double t = now_ms() - t0;
        if (r > 0 && t < best) best = t;
    }
    free(A), free(Bm), free(C);
    return 2.0 * S * S * S / (best * 1e-3) * 1e-9;
}

static int usage(FILE *f) {
    fprintf(f, "usage: bench_vit --workload w2|w3 [--threads N] [--steps 20] [--warmup 3]\n"
               "  one ViT training step as in shared/bench/WORKLOADS.md; bench/vit.sh runs\n"
               "  W2 and W3 beside PyTorch at 1 and 2 threads (make bench)\n");
    return f == stdout ? 0 : 2;
}

int main(int argc, char **argv) {
    const workload *w = NULL;
    int threads = tg_get_num_threads(), steps = 20, warmup = 3;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return usage(stdout);
        if (!v) return usage(stderr);
        if (!strcmp(a, "--workload")) {
            for (size_t k = 0; k < sizeof WORKLOADS / sizeof WORKLOADS[0]; k++)
                if (!strcmp(v, WORKLOADS[k].name)) w = &WORKLOADS[k];
            if (!w) return usage(stderr);
        } else if (!strcmp(a, "--threads")) threads = atoi(v);
        else if (!strcmp(a, "--steps")) steps = atoi(v);
        else if (!strcmp(a, "--warmup")) warmup = atoi(v);
        else return usage(stderr);
        i++;
    }
    if (!w) {
        usage(stdout);
        printf("bench_vit: no workload given; the W2/W3 table comes from bench/vit.sh\n");
        return 0;
    }
    if (threads < 1 || steps < 1 || warmup < 0) return usage(stderr);
    tg_set_num_threads(threads);

    tg_rng rng;
    tg_rng_seed(&rng, 2024);
    tg_params ps;
    tg_params_init(&ps);
    tg_vit vit;
    tg_vit_init(&vit, &ps, &w->cfg, &rng);
    tg_adam opt;
    tg_adamw_init(&opt, &ps, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.05f);
    const tg_vit_config *c = &w->cfg;
    int B = w->batch;
    tg_tensor *x = tg_tensor_new(TG_SHAPE(B, c->image_h, c->image_w, c->channels));
    tg_tensor_normal(x, &rng, 0.0f, 1.0f);
    int32_t *y = malloc(sizeof *y * (size_t)B);
    for (int i = 0; i < B; i++) y[i] = (int32_t)tg_rng_below(&rng, (uint32_t)c->n_classes);

    tg_tape *tp = tg_tape_new(0);
    double *ms = malloc(sizeof *ms * (size_t)steps);
    float loss0 = 0, loss1 = 0;
    for (int s = 0; s < warmup + steps; s++) {
        double t0 = now_ms();
        tg_tape_reset(tp);
        tg_params_zero_grad(&ps);
        tg_tensor *loss = tg_cross_entropy(tp, tg_vit_forward(tp, &vit, x, NULL), y, -1, TG_MEAN);
        if (tg_backward(tp, loss) != TG_OK) {
            fprintf(stderr, "bench_vit: %s\n", tg_last_error());
            return 1;
        }
        tg_adam_step(&opt);
        double t = now_ms() - t0;
        if (s >= warmup) ms[s - warmup] = t;
        if (s == 0) loss0 = loss->data[0];
        loss1 = loss->data[0];
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    size_t tape_peak = tg_tape_bytes_peak(tp);
    qsort(ms, (size_t)steps, sizeof *ms, cmp_d);
    double med = ms[steps / 2], flops = step_flops(c, B);
    tg_tape_free(tp);
    tg_tensor_free(x);
    free(y);
    tg_adam_free(&opt);
    tg_vit_free(&vit);
    tg_params_free(&ps);
    double peak = gemm_peak(), gf = flops / (med * 1e-3) * 1e-9;
    printf("tapegrad %s, %d thread(s): %.1f ms/step (min %.1f), %.1f images/s, peak RSS %.1f MiB, "
           "tape peak %.1f MiB, %.2f GFLOP/step, %.1f GFLOP/s = %.0f%% of tg_sgemm 1024^3 "
           "(%.1f GFLOP/s); loss %.4f -> %.4f\n",
           w->name, threads, med, ms[0], B / (med * 1e-3), ru.ru_maxrss / 1024.0,
           tape_peak / 1048576.0, flops * 1e-9, gf, 100.0 * gf / peak, peak, loss0, loss1);
    printf("RESULT impl=tapegrad workload=%s threads=%d ms=%.2f images_per_s=%.1f rss_mib=%.1f "
           "gflops=%.2f peak_gflops=%.2f\n",
           w->name, threads, med, B / (med * 1e-3), ru.ru_maxrss / 1024.0, gf, peak);
    free(ms);
    return 0;
}
