/* bench_unary.c — the elementwise kernels with the inline vectorised
 * exp/tanh/sigmoid of core/kernels/vmath.h against the same loops calling
 * libm (the old way), side by side in one process, one thread.
 *
 * Run:  make bench   or   ./build/bench_unary [--quick]
 *
 * Data: x [4096, 128] ~ N(0, 2²), dy ~ N(0, 1).  Each case is timed in
 * alternating blocks (old, new, new, old, ...; 8 blocks per side, each 2
 * warm-up calls + R timed calls, R set for ~40 ms per block); ms = median
 * over all timed calls of that side, so load from other jobs on the machine
 * hits both sides alike.  Ratio = old / new (> 1: new is faster).
 *
 * Cases (the "old" loops are the code before vmath.h, verbatim in effect):
 *   gelu fwd+bwd   y = ½x(1 + tanh(u)) and dx += y'(x)·dy, tanhf vs tg__tanhf
 *   tanh, exp, sigmoid   y = f(x)
 *   softmax rows   per row: max, e^{x − max} with a double sum, scale
 *                  (serial max, expf + serial sum vs tg__max, tg__exp_sum)
 *   log_softmax rows, cross-entropy fwd+bwd rows (targets = row % 128)
 *   dropout mask   p = 0.1: tg_rng_uniform(r) >= p vs the integer threshold
 *                  on an inline xoshiro128++ step (the same mask)
 * A second table times the library ops through a tape (forward, and
 * backward by tg_backward_seeded), new code only.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/kernels/vmath.h"
#include "tapegrad.h"

#define ROWS 4096
#define COLS 128
#define N ((int64_t)ROWS * COLS)
#define GELU_K 0.7978845608028654f
#define GELU_C 0.044715f

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static float *x, *dy, *y, *dx;
static int32_t *tgt;
static volatile double sink;

/* ---- old: libm ------------------------------------------------------------ */

static void gelu_old(void) {
    for (int64_t i = 0; i < N; i++) {
        float v = x[i];
        y[i] = 0.5f * v * (1.0f + tanhf(GELU_K * (v + GELU_C * v * v * v)));
    }
    for (int64_t i = 0; i < N; i++) {
        float v = x[i], t = tanhf(GELU_K * (v + GELU_C * v * v * v));
        dx[i] += (0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * GELU_K * (1.0f + 3.0f * GELU_C * v * v)) * dy[i];
    }
}
static void tanh_old(void) { for (int64_t i = 0; i < N; i++) y[i] = tanhf(x[i]); }
static void exp_old(void) { for (int64_t i = 0; i < N; i++) y[i] = expf(x[i]); }
static void sigmoid_old(void) {
    for (int64_t i = 0; i < N; i++) {
        float v = x[i];
        if (v >= 0.0f) y[i] = 1.0f / (1.0f + expf(-v));
        else {
            float e = expf(v);
            y[i] = e / (1.0f + e);
        }
    }
}
static float row_max(const float *r) {
    float mx = -INFINITY;
    for (int j = 0; j < COLS; j++) mx = r[j] > mx ? r[j] : mx;
    return mx;
}
static void softmax_old(void) {
    for (int r = 0; r < ROWS; r++) {
        const float *xr = x + (int64_t)r * COLS;
        float *yr = y + (int64_t)r * COLS, mx = row_max(xr);
        double sum = 0.0;
        for (int j = 0; j < COLS; j++) {
            yr[j] = expf(xr[j] - mx);
            sum += yr[j];
        }
        float inv = (float)(1.0 / sum);
        for (int j = 0; j < COLS; j++) yr[j] *= inv;
    }
}
static void log_softmax_old(void) {
    for (int r = 0; r < ROWS; r++) {
        const float *xr = x + (int64_t)r * COLS;
        float *yr = y + (int64_t)r * COLS, mx = row_max(xr);
        double sum = 0.0;
        for (int j = 0; j < COLS; j++) sum += expf(xr[j] - mx);
        double lse = (double)mx + log(sum);
        for (int j = 0; j < COLS; j++) yr[j] = (float)((double)xr[j] - lse);
    }
}
static void ce_old(void) {
    double total = 0.0;
    for (int r = 0; r < ROWS; r++) {
        const float *lr = x + (int64_t)r * COLS;
        float *dlr = dx + (int64_t)r * COLS, mx = row_max(lr);
        double s = 0.0;
        for (int v = 0; v < COLS; v++) s += expf(lr[v] - mx);
        float lse = (float)((double)mx + log(s));
        total += lse - lr[tgt[r]];
        for (int v = 0; v < COLS; v++) dlr[v] += 1e-3f * expf(lr[v] - lse);
        dlr[tgt[r]] -= 1e-3f;
    }
    sink = total;
}
static void dropout_old(void) {
    tg_rng r;
    tg_rng_seed(&r, 5);
    float p = 0.1f, keep = 1.0f / (1.0f - p);
    for (int64_t i = 0; i < N; i++) y[i] = tg_rng_uniform(&r) >= p ? keep : 0.0f;
}

/* ---- new: vmath.h ----------------------------------------------------------- */

static void gelu_new(void) {
    for (int64_t i = 0; i < N; i++) {
        float v = x[i];
        y[i] = 0.5f * v * (1.0f + tg__tanhf(GELU_K * (v + GELU_C * v * v * v)));
    }
    for (int64_t i = 0; i < N; i++) {
        float v = x[i], t = tg__tanhf(GELU_K * (v + GELU_C * v * v * v));
        dx[i] += (0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * GELU_K * (1.0f + 3.0f * GELU_C * v * v)) * dy[i];
    }
}
static void tanh_new(void) { for (int64_t i = 0; i < N; i++) y[i] = tg__tanhf(x[i]); }
static void exp_new(void) { for (int64_t i = 0; i < N; i++) y[i] = tg__expf(x[i]); }
static void sigmoid_new(void) { for (int64_t i = 0; i < N; i++) y[i] = tg__sigmoidf(x[i]); }
static void softmax_new(void) {
    for (int r = 0; r < ROWS; r++) {
        const float *xr = x + (int64_t)r * COLS;
        float *yr = y + (int64_t)r * COLS, mx = tg__max(xr, COLS);
        double sum = tg__exp_sum(xr, COLS, mx, yr);
        float inv = (float)(1.0 / sum);
        for (int j = 0; j < COLS; j++) yr[j] *= inv;
    }
}
static void log_softmax_new(void) {
    for (int r = 0; r < ROWS; r++) {
        const float *xr = x + (int64_t)r * COLS;
        float *yr = y + (int64_t)r * COLS, mx = tg__max(xr, COLS);
        double lse = (double)mx + log(tg__exp_sum(xr, COLS, mx, NULL));
        for (int j = 0; j < COLS; j++) yr[j] = (float)((double)xr[j] - lse);
    }
}
static void ce_new(void) {
    double total = 0.0;
    for (int r = 0; r < ROWS; r++) {
        const float *lr = x + (int64_t)r * COLS;
        float *dlr = dx + (int64_t)r * COLS, mx = tg__max(lr, COLS);
        float lse = (float)((double)mx + log(tg__exp_sum(lr, COLS, mx, NULL)));
        total += lse - lr[tgt[r]];
        for (int v = 0; v < COLS; v++) dlr[v] += 1e-3f * tg__expf(lr[v] - lse);
        dlr[tgt[r]] -= 1e-3f;
    }
    sink = total;
}
static inline uint32_t rotl32(uint32_t v, int k) { return (v << k) | (v >> (32 - k)); }
static void dropout_new(void) {
    tg_rng r;
    tg_rng_seed(&r, 5);
    float p = 0.1f, keep = 1.0f / (1.0f - p);
    uint32_t thresh = (uint32_t)ceilf(p * 0x1.0p24f), *s = r.s;
    uint32_t s0 = s[0], s1 = s[1], s2 = s[2], s3 = s[3];
    for (int64_t i = 0; i < N; i++) { /* as core/ops/dropout.c */
        uint32_t res = rotl32(s0 + s3, 7) + s0, t = s1 << 9;
        s2 ^= s0, s3 ^= s1, s1 ^= s2, s0 ^= s3, s2 ^= t, s3 = rotl32(s3, 11);
        y[i] = (res >> 8) >= thresh ? keep : 0.0f;
    }
}

/* ---- timing ----------------------------------------------------------------- */

#define BLOCKS 8
static double block_ms = 40.0;

/* Median ms per call of f over BLOCKS blocks (interleaved by the caller). */
typedef struct {
    double *t;
    int n;
} samples;

static void run_block(void (*f)(void), int reps, samples *s) {
    f();
    f();
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        f();
        s->t[s->n++] = (now() - t0) * 1e3;
    }
}

static double median(samples *s) {
    qsort(s->t, (size_t)s->n, sizeof *s->t, cmp_d);
    return s->t[s->n / 2];
}

static void side_by_side(const char *name, void (*f_old)(void), void (*f_new)(void)) {
    double t0 = now();
    f_old();
    double one = (now() - t0) * 1e3;
    int reps = (int)(block_ms / (one > 1e-3 ? one : 1e-3));
    if (reps < 3) reps = 3;
    samples so = {malloc(sizeof(double) * BLOCKS * reps), 0}, sn = {malloc(sizeof(double) * BLOCKS * reps), 0};
    for (int b = 0; b < BLOCKS; b++) {
        if (b % 2 == 0) {
            run_block(f_old, reps, &so);
            run_block(f_new, reps, &sn);
        } else {
            run_block(f_new, reps, &sn);
            run_block(f_old, reps, &so);
        }
    }
    double mo = median(&so), mn = median(&sn);
    printf("%-22s %10.3f %10.3f %8.2fx\n", name, mo, mn, mo / mn);
    free(so.t);
    free(sn.t);
}

/* ---- the library ops through a tape ---------------------------------------- */

static tg_tape *tp;
static tg_tensor *tx;
static float *seed;

static void op_time(const char *name, tg_tensor *(*fwd)(tg_tape *, tg_tensor *)) {
    double best_f = 1e30, best_b = 1e30;
    for (int r = 0; r < 30; r++) {
        tg_tape_reset(tp);
        double t0 = now();
        tg_tensor *out = fwd(tp, tx);
        double t1 = now();
        tg_backward_seeded(tp, out, seed);
        double t2 = now();
        if (r >= 2) {
            best_f = fmin(best_f, (t1 - t0) * 1e3);
            best_b = fmin(best_b, (t2 - t1) * 1e3);
        }
    }
    printf("%-22s %10.3f %10.3f\n", name, best_f, best_b);
}
static tg_tensor *op_softmax(tg_tape *t, tg_tensor *a) { return tg_softmax(t, a, NULL); }
static tg_tensor *op_log_softmax(tg_tape *t, tg_tensor *a) { return tg_log_softmax(t, a, NULL); }

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "--quick")) block_ms = 8.0;
    tg_set_num_threads(1);
    x = malloc(N * sizeof *x);
    dy = malloc(N * sizeof *dy);
    y = malloc(N * sizeof *y);
    dx = calloc(N, sizeof *dx);
    tgt = malloc(ROWS * sizeof *tgt);
    tg_rng r;
    tg_rng_seed(&r, 1);
    for (int64_t i = 0; i < N; i++) {
        x[i] = 2.0f * tg_rng_normal(&r);
        dy[i] = tg_rng_normal(&r);
    }
    for (int i = 0; i < ROWS; i++) tgt[i] = i % COLS;

    printf("bench_unary: [%d, %d] floats, 1 thread, median ms per call (old = libm loops, "
           "new = core/kernels/vmath.h)\n", ROWS, COLS);
    printf("%-22s %10s %10s %9s\n", "case", "old ms", "new ms", "old/new");
    side_by_side("gelu fwd+bwd", gelu_old, gelu_new);
    side_by_side("tanh", tanh_old, tanh_new);
    side_by_side("exp", exp_old, exp_new);
    side_by_side("sigmoid", sigmoid_old, sigmoid_new);
    side_by_side("softmax rows", softmax_old, softmax_new);
    side_by_side("log_softmax rows", log_softmax_old, log_softmax_new);
    side_by_side("cross-entropy fwd+bwd", ce_old, ce_new);
    side_by_side("dropout mask p=0.1", dropout_old, dropout_new);

    tp = tg_tape_new(0);
    tx = tg_tensor_new_grad(TG_SHAPE(ROWS, COLS));
    memcpy(tx->data, x, N * sizeof *x);
    seed = dy;
    printf("\nlibrary ops through a tape (new code), best of 28, ms\n");
    printf("%-22s %10s %10s\n", "op", "forward", "backward");
    op_time("tg_gelu", tg_gelu);
    op_time("tg_tanh", tg_tanh);
    op_time("tg_exp", tg_exp);
    op_time("tg_sigmoid", tg_sigmoid);
    op_time("tg_softmax", op_softmax);
    op_time("tg_log_softmax", op_log_softmax);
    tg_tensor_free(tx);
    tg_tape_free(tp);
    free(x);
    free(dy);
    free(y);
    free(dx);
    free(tgt);
    return 0;
}
