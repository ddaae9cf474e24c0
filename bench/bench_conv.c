/* bench_conv.c — W8 (shared/bench/WORKLOADS.md): the CNN's convolution
 * layers, tapegrad beside PyTorch (bench/conv_torch.py, nn.Conv2d /
 * nn.MaxPool2d), run from this driver at 1 and 2 threads.
 *
 * Batch 128, float32, 3×3 kernels, stride 1, zero padding 1, with bias:
 * forward + backward of the sum of the outputs (the sweep seeded with ones:
 * input, weight and bias gradients) for (C_in 1 → C_out 32, 28×28),
 * (32 → 64, 14×14), (64 → 128, 7×7), each timed separately and summed; and
 * 2×2 max pooling, stride 2, forward + backward on the first two outputs.
 * Layouts: tapegrad NHWC (x [B, H, W, C], w [C_out, 3, 3, C_in]), torch
 * NCHW (its native layout).  Figures: median ms per repetition after 3
 * warm-up ones, images/s of the three conv layers together (128 / their
 * summed ms), and the ratio tapegrad / torch images/s (above 1: tapegrad
 * faster).  Torch runs with OMP_NUM_THREADS, OPENBLAS_NUM_THREADS and
 * torch.set_num_threads all N, plain and with GOMP_SPINCOUNT=10000
 * OPENBLAS_THREAD_TIMEOUT=4 ("spin"); the ratio uses the faster torch run.
 *
 * Run:  ./build/bench_conv [--reps N]      (make bench; default 20)
 * The torch columns are SKIPPED with a message when /usr/bin/python3
 * cannot import torch.
 */
#define _DEFAULT_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tapegrad.h"

enum { BATCH = 128, N_LAYERS = 3, N_POOLS = 2 };
static const int layers[N_LAYERS][3] = {{1, 32, 28}, {32, 64, 14}, {64, 128, 7}}; /* C_in, C_out, side */

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct {
    tg_tape *tp;
    tg_tensor *x, *w, *b; /* b NULL: a max pool */
    const float *ones;
} step_arg;

/* One forward + backward of the layer on x, the sweep seeded with ones. */
static void step(step_arg *a) {
    tg_tape_reset(a->tp);
    tg_tensor_zero_grad(a->x);
    tg_tensor *y;
    if (a->b) {
        tg_tensor_zero_grad(a->w);
        tg_tensor_zero_grad(a->b);
        y = tg_conv2d(a->tp, a->x, a->w, a->b, 1, 1);
    } else {
        y = tg_max_pool2d(a->tp, a->x, 2, 2);
    }
    if (tg_backward_seeded(a->tp, y, a->ones) != TG_OK) {
        fprintf(stderr, "bench_conv: %s\n", tg_last_error());
        exit(1);
    }
}

static double median_ms(step_arg *a, int reps) {
    double *t = malloc((size_t)reps * sizeof *t);
    for (int i = 0; i < 3; i++) step(a);
    for (int i = 0; i < reps; i++) {
        double t0 = now_ms();
        step(a);
        t[i] = now_ms() - t0;
    }
    qsort(t, (size_t)reps, sizeof *t, cmp_d);
    double m = t[reps / 2];
    free(t);
    return m;
}

/* conv_ms[3], pool_ms[2] of tapegrad at the given thread count. */
static void tapegrad_run(int threads, int reps, double *conv_ms, double *pool_ms) {
    tg_set_num_threads(threads);
    tg_rng rng;
    tg_rng_seed(&rng, 1);
    tg_tape *tp = tg_tape_new(0);
    float *ones = malloc((size_t)BATCH * 28 * 28 * 128 * sizeof(float));
    for (int64_t i = 0; i < (int64_t)BATCH * 28 * 28 * 128; i++) ones[i] = 1.0f;
    for (int l = 0; l < N_LAYERS; l++) {
        int ci = layers[l][0], co = layers[l][1], s = layers[l][2];
        tg_tensor *x = tg_tensor_new_grad(TG_SHAPE(BATCH, s, s, ci));
        tg_tensor *w = tg_tensor_new_grad(TG_SHAPE(co, 3, 3, ci));
        tg_tensor *b = tg_tensor_new_grad(TG_SHAPE(co));
        tg_tensor_normal(x, &rng, 0.0f, 1.0f);
        tg_tensor_uniform(w, &rng, -0.1f, 0.1f);
        tg_tensor_uniform(b, &rng, -0.1f, 0.1f);
        step_arg a = {tp, x, w, b, ones};
        conv_ms[l] = median_ms(&a, reps);
        if (l < N_POOLS) {
            tg_tensor *y = tg_tensor_new_grad(TG_SHAPE(BATCH, s, s, co));
            tg_tensor_normal(y, &rng, 0.0f, 1.0f);
            step_arg p = {tp, y, NULL, NULL, ones};
            pool_ms[l] = median_ms(&p, reps);
            tg_tensor_free(y);
        }
        tg_tensor_free(x), tg_tensor_free(w), tg_tensor_free(b);
    }
    free(ones);
    tg_tape_free(tp);
}

/* The torch peer's figures; NAN when it fails. */
static void torch_run(int threads, int spin, int reps, double *conv_ms, double *pool_ms) {
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "OMP_NUM_THREADS=%d OPENBLAS_NUM_THREADS=%d MKL_NUM_THREADS=%d %s /usr/bin/python3 "
             "bench/conv_torch.py --threads %d --reps %d --batch %d 2>/dev/null",
             threads, threads, threads, spin ? "GOMP_SPINCOUNT=10000 OPENBLAS_THREAD_TIMEOUT=4" : "",
             threads, reps, BATCH);
    for (int i = 0; i < N_LAYERS; i++) conv_ms[i] = NAN;
    for (int i = 0; i < N_POOLS; i++) pool_ms[i] = NAN;
    FILE *p = popen(cmd, "r");
    if (!p) return;
    double c[3], q[2];
    if (fscanf(p, "conv_ms %lf %lf %lf pool_ms %lf %lf", &c[0], &c[1], &c[2], &q[0], &q[1]) == 5) {
        memcpy(conv_ms, c, sizeof c);
        memcpy(pool_ms, q, sizeof q);
    }
    pclose(p);
}

static double sum3(const double *v) { return v[0] + v[1] + v[2]; }

int main(int argc, char **argv) {
    int reps = 20;
    if (argc > 2 && !strcmp(argv[1], "--reps")) reps = atoi(argv[2]);
    if (reps < 1) reps = 1;
    int have_torch = system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") == 0;
    printf("W8 conv layers, batch %d, 3x3 stride 1 pad 1 with bias, forward + backward; "
           "median of %d after 3 warm-up (shared machine: compare within a row)\n", BATCH, reps);
    printf("  layouts: tapegrad NHWC, torch NCHW; conv2d via im2col + tg_sgemm (%s)\n",
           tg_sgemm_kernel_name());
    if (!have_torch) printf("  torch: /usr/bin/python3 cannot import torch: torch columns SKIPPED\n");
    printf("  %-7s %-10s %9s %9s %9s %9s %9s | %10s %7s\n", "threads", "impl", "1->32", "32->64",
           "64->128", "pool1", "pool2", "conv img/s", "ratio");
    for (int th = 1; th <= 2; th++) {
        double tc[3], tq[2], pc[2][3], pq[2][2];
        tapegrad_run(th, reps, tc, tq);
        double ips = BATCH / sum3(tc) * 1e3, best = NAN;
        for (int spin = 0; spin < 2; spin++) {
            if (have_torch) torch_run(th, spin, reps, pc[spin], pq[spin]);
            else for (int i = 0; i < 3; i++) pc[spin][i] = NAN, pq[spin][i % 2] = NAN;
            double t = BATCH / sum3(pc[spin]) * 1e3;
            if (!isnan(t) && (isnan(best) || t > best)) best = t;
        }
        printf("  %-7d %-10s %6.2f ms %6.2f ms %6.2f ms %6.2f ms %6.2f ms | %10.0f %6.2fx\n", th,
               "tapegrad", tc[0], tc[1], tc[2], tq[0], tq[1], ips, ips / best);
        for (int spin = 0; spin < 2; spin++)
            printf("  %-7d %-10s %6.2f ms %6.2f ms %6.2f ms %6.2f ms %6.2f ms | %10.0f\n", th,
                   spin ? "torch spin" : "torch", pc[spin][0], pc[spin][1], pc[spin][2],
                   pq[spin][0], pq[spin][1], BATCH / sum3(pc[spin]) * 1e3);
        printf("RESULT workload=w8 threads=%d tapegrad_images_per_s=%.1f torch_images_per_s=%.1f "
               "ratio=%.3f\n", th, ips, best, ips / best);
        fflush(stdout);
    }
    printf("  ratio = tapegrad conv images/s / the faster torch run's (spin: GOMP_SPINCOUNT=10000 "
           "OPENBLAS_THREAD_TIMEOUT=4)\n");
    return 0;
}
