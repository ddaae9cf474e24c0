/* bench_dist.c — data parallelism: 1 process × 2 threads against 2 MPI
 * ranks × 1 thread, on W2 and the POS tagger (W5), with the gradient
 * all-reduce timed apart, and the all-reduce's latency and bandwidth.
 *
 * W2 here is the ViT-CIFAR step of shared/bench/WORKLOADS.md with the
 * library's ViT (nn/vit.h, the configuration of bench_vit's w2): random
 * [B, 32, 32, 3] images, 4×4 patches, [CLS] token, learned positions, 6
 * pre-LN blocks (d_model 128, 4 heads, MLP 256 GELU, biases, packed Q/K/V),
 * final LayerNorm, head on [CLS] to 10 classes, mean cross-entropy,
 * AdamW(1e-3, 0.9/0.999, 1e-8, wd 0.05), global batch 128 (2 ranks: 64
 * each).  Step = forward, backward, all-reduce, update; figure =
 * median over --steps timed steps (default 20) after 3 warm-up steps.
 *
 * The POS tagger runs `pos_tagger train` on UD English EWT for --pos-seconds
 * (default 60) of its time budget with the default model, and reads its
 * words/s and all-reduce time (skipped when data/ud_english_ewt is absent).
 *
 * From the measured all-reduce cost and the 1-rank step time, prints the
 * ring all-reduce model's estimate of the speed-up at 8 and 64 ranks on a
 * 10 Gb/s network (docs/distributed.md explains it).
 *
 * Run:  make bench MPI=1  (or build/mpi/bench_dist [--steps n] [--pos-seconds s])
 * Without MPI (plain make): prints SKIPPED and exits 0.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tapegrad.h"
#include "train/dist.h"

/* W2 (bench_vit.c's w2 configuration). */
static const tg_vit_config W2_CFG = {.image_h = 32, .image_w = 32, .channels = 3, .patch_size = 4,
                                     .d_model = 128, .depth = 6, .n_heads = 4, .d_ff = 256,
                                     .n_classes = 10, .pool = TG_VIT_POOL_CLS, .pos = TG_VIT_POS_LEARNED,
                                     .ln_eps = 1e-5f};

typedef struct {
    tg_params ps;
    tg_vit vit;
} w2_model;

static void w2_init(w2_model *m) {
    tg_rng rng;
    tg_rng_seed(&rng, 1);
    tg_params_init(&m->ps);
    tg_vit_init(&m->vit, &m->ps, &W2_CFG, &rng);
}

/* images [B, 32, 32, 3] -> mean cross-entropy [1]. */
static tg_tensor *w2_loss(tg_tape *tp, w2_model *m, tg_tensor *images, const int32_t *labels) {
    return tg_cross_entropy(tp, tg_vit_forward(tp, &m->vit, images, NULL), labels, -1, TG_MEAN);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* One W2 run in this world, local batch B per rank (equal shards, so
 * TG_DIST_MEAN of the mean losses is the global batch's mean). */
static void worker_w2(int steps, int B) {
    const int world = tg_dist_world();
    w2_model m;
    w2_init(&m);
    tg_dist_broadcast_params(&m.ps);
    tg_adam opt;
    tg_adamw_init(&opt, &m.ps, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.05f);
    tg_tape *tp = tg_tape_new(0);
    tg_rng rng;
    tg_rng_seed(&rng, 100 + (uint64_t)tg_dist_rank());
    int32_t *labels = tg_xmalloc((size_t)B * sizeof *labels);
    double *t_step = tg_xmalloc((size_t)steps * sizeof(double)), *t_ar = tg_xmalloc((size_t)steps * sizeof(double)),
           *t_wait = tg_xmalloc((size_t)steps * sizeof(double));
    for (int s = -3; s < steps; s++) {
        tg_tape_reset(tp);
        tg_tensor *x = tg_tape_tensor(tp, TG_SHAPE(B, W2_CFG.image_h, W2_CFG.image_w, W2_CFG.channels));
        for (int64_t i = 0; i < x->size; i++) x->data[i] = tg_rng_normal(&rng);
        for (int i = 0; i < B; i++) labels[i] = (int32_t)tg_rng_below(&rng, W2_CFG.n_classes);
        double t0 = tg_now();
        tg_params_zero_grad(&m.ps);
        tg_tensor *loss = w2_loss(tp, &m, x, labels);
        if (tg_backward(tp, loss) != TG_OK) tg_dist_abort(1, "bench_dist: %s", tg_last_error());
        tg_dist_stats before = tg_dist_get_stats();
        tg_dist_allreduce_grads(&m.ps, TG_DIST_MEAN);
        tg_dist_stats after = tg_dist_get_stats();
        tg_adam_step(&opt);
        double t4 = tg_now();
        if (s >= 0) {
            t_step[s] = t4 - t0;
            t_wait[s] = after.wait_seconds - before.wait_seconds;
            t_ar[s] = after.seconds - before.seconds;
        }
    }
    double step = median(t_step, steps), ar = median(t_ar, steps), wait = median(t_wait, steps);
    if (tg_dist_is_root())
        printf("RESULT w2 world %d threads %d local_batch %d step_ms %.3f images_per_s %.2f allreduce_ms %.4f "
               "wait_ms %.4f bytes %.0f\n",
               world, tg_get_num_threads(), B, 1e3 * step, (double)B * world / step, 1e3 * ar, 1e3 * wait,
               (double)m.ps.total * sizeof(float));
    free(labels);
    free(t_step);
    free(t_ar);
    free(t_wait);
    tg_tape_free(tp);
    tg_adam_free(&opt);
    tg_vit_free(&m.vit);
    tg_params_free(&m.ps);
}

/* The all-reduce alone over blocks of 1 KiB .. 16 MiB: median of 20 after 3. */
static void worker_allreduce(void) {
    for (int64_t n = 256; n <= (int64_t)4 << 20; n *= 4) {
        tg_params ps;
        tg_params_init(&ps);
        tg_params_new(&ps, 1, (int[]){(int)n}, "block");
        double t[20];
        for (int r = -3; r < 20; r++) {
            tg_dist_stats before = tg_dist_get_stats();
            tg_dist_allreduce_grads(&ps, TG_DIST_SUM);
            if (r >= 0) t[r] = tg_dist_get_stats().seconds - before.seconds; /* the transfer, after the barrier */
        }
        double med = median(t, 20);
        if (tg_dist_is_root())
            printf("RESULT allreduce world %d bytes %lld ms %.4f\n", tg_dist_world(), (long long)(n * 4), 1e3 * med);
        tg_params_free(&ps);
    }
}

/* ---- the driver --------------------------------------------------------------- */

static char self[4096], dir[4096];

/* Runs cmd (stderr to the terminal), echoes its RESULT and summary lines,
 * and returns all it printed on stdout (a static buffer).  A failure ends
 * the benchmark. */
static const char *run(const char *cmd) {
    static char out[1 << 16];
    size_t n = 0;
    fprintf(stderr, "$ %s\n", cmd);
    FILE *p = popen(cmd, "r");
    if (!p) exit(1);
    char line[1024];
    while (fgets(line, sizeof line, p)) {
        if (!strncmp(line, "RESULT", 6) || !strncmp(line, "best epoch", 10) || strstr(line, "all-reduce on"))
            fputs(line, stdout);
        size_t k = strlen(line);
        if (n + k < sizeof out) memcpy(out + n, line, k), n += k;
    }
    out[n] = 0;
    int rc = pclose(p);
    if (rc != 0) {
        fprintf(stderr, "bench_dist: command failed (status %d): %s\n", rc, cmd);
        exit(1);
    }
    return out;
}

/* The number after the first occurrence of `name` in text, or NaN. */
static double field(const char *text, const char *name) {
    const char *p = strstr(text, name);
    return p ? atof(p + strlen(name)) : NAN;
}

#define MPIRUN "mpirun --allow-run-as-root --oversubscribe --bind-to core -x OMP_NUM_THREADS=1 -np 2 "

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "--worker")) {
        if (tg_dist_init(&argc, &argv) != TG_OK) tg_dist_abort(1, "bench_dist: %s", tg_last_error());
        if (!strcmp(argv[2], "w2")) worker_w2(atoi(argv[3]), atoi(argv[4]));
        else worker_allreduce();
        tg_dist_finalize();
        return 0;
    }
    if (!tg_dist_available()) {
        printf("bench_dist: SKIPPED: built without MPI (run make bench MPI=1)\n");
        return 0;
    }
    int steps = 20, pos_seconds = 60;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--steps")) steps = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--pos-seconds")) pos_seconds = atoi(argv[i + 1]);
    }
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return 1;
    self[n] = 0;
    snprintf(dir, sizeof dir, "%s", self);
    *strrchr(dir, '/') = 0; /* build/mpi: pos_tagger sits beside us */
    printf("bench_dist: 1 process x 2 threads vs 2 ranks x 1 thread (the machine may be shared: "
           "compare the two columns, run side by side)\n");
    char cmd[8192];

    snprintf(cmd, sizeof cmd, MPIRUN "%s --worker allreduce", self);
    const char *out = run(cmd);
    double lat_ms = field(out, "bytes 1024 ms "), big_bytes = 16 << 20, big_ms = field(out, "bytes 16777216 ms ");

    snprintf(cmd, sizeof cmd, "OMP_NUM_THREADS=2 %s --worker w2 %d 128", self, steps);
    out = run(cmd);
    double s1 = field(out, "step_ms "), ips1 = field(out, "images_per_s "), bytes = field(out, "bytes ");
    snprintf(cmd, sizeof cmd, MPIRUN "%s --worker w2 %d 64", self, steps);
    out = run(cmd);
    double s2 = field(out, "step_ms "), ips2 = field(out, "images_per_s "), ar2 = field(out, "allreduce_ms "),
           wait2 = field(out, "wait_ms ");
    /* one rank's compute alone (1 thread, local batch 64): what the model scales */
    snprintf(cmd, sizeof cmd, "OMP_NUM_THREADS=1 %s --worker w2 %d 64", self, steps);
    double s0 = field(run(cmd), "step_ms ");

    double pos1 = NAN, pos2 = NAN, pos_ar = NAN, pos_wait = NAN;
    const char *ewt = "data/ud_english_ewt/en_ewt-ud-train.conllu.gz";
    if (access(ewt, R_OK) == 0) {
        snprintf(cmd, sizeof cmd, "%s/pos_tagger train --train %s --ema 0 --time-budget %d --threads 2 2>/dev/null",
                 dir, ewt, pos_seconds);
        out = run(cmd);
        pos1 = field(strstr(out, "best epoch") ? strstr(out, "best epoch") : out, " s, ");
        snprintf(cmd, sizeof cmd, MPIRUN "%s/pos_tagger train --train %s --ema 0 --time-budget %d --threads 1 2>/dev/null",
                 dir, ewt, pos_seconds);
        out = run(cmd);
        pos2 = field(strstr(out, "best epoch") ? strstr(out, "best epoch") : out, " s, ");
        pos_ar = field(out, "all-reduce on rank 0: ");
        pos_wait = field(out, "MB, + ");
    } else {
        printf("POS tagger: SKIPPED (no %s: run make data)\n", ewt);
    }

    printf("\n%-34s %14s %14s %8s\n", "workload", "1 proc x 2 thr", "2 ranks x 1", "ratio");
    printf("%-34s %14.1f %14.1f %8.2f\n", "W2 (tg_vit) images/s", ips1, ips2, ips2 / ips1);
    printf("%-34s %14.1f %14.1f\n", "W2 ms per step", s1, s2);
    printf("%-34s %14s %14.2f   (+ %.2f ms waiting for the slower rank)\n", "W2 all-reduce ms per step", "-", ar2, wait2);
    if (pos1 == pos1) {
        printf("%-34s %14.0f %14.0f %8.2f\n", "POS tagger words/s", pos1, pos2, pos2 / pos1);
        printf("%-34s %14s %14.2f   (+ %.2f ms waiting for the slower rank)\n", "POS all-reduce ms per step", "-",
               pos_ar, pos_wait);
    }
    /* Ring all-reduce: 2(p−1) messages of bytes/p each way per rank:
     * T(p) = 2(p−1)/p · bytes/BW + 2(p−1)·α.  From the 2-rank shared-memory
     * measurement: α ≈ half the 1 KiB all-reduce time (p = 2: 2 messages),
     * BW = bytes/(T_big − 2α) (p = 2: 2·(1/2)·bytes = bytes moved). */
    double alpha_shm = lat_ms / 2e3, bw_shm = big_bytes / (big_ms / 1e3 - 2 * alpha_shm);
    printf("\nall-reduce between 2 ranks on this machine (shared memory): 1 KiB %.3f ms, %.0f MiB %.3f ms "
           "-> latency ~%.1f us per message, bandwidth ~%.2f GB/s\n",
           lat_ms, big_bytes / (1 << 20), big_ms, 1e6 * alpha_shm, bw_shm / 1e9);
    const double bw_net = 10e9 / 8, alpha_net = 50e-6; /* 10 Gb/s; ~50 us per TCP message (assumed) */
    double compute = s0 / 1e3; /* 1 rank, 1 thread, local batch 64, no all-reduce */
    printf("W2 estimate, local batch 64 per rank, 1 thread per rank, compute %.1f ms per step (measured at 1 rank), "
           "gradient %.2f MB, 10 Gb/s network, alpha %.0f us:\n",
           compute * 1e3, bytes / 1e6, alpha_net * 1e6);
    const int ps_[] = {2, 8, 64};
    for (int net = 0; net < 2; net++) {
        double bw = net ? bw_shm : bw_net, alpha = net ? alpha_shm : alpha_net;
        if (net) printf("the same with this machine's measured all-reduce (%.2f GB/s, %.1f us):\n", bw / 1e9, alpha * 1e6);
        for (int i = 0; i < 3; i++) {
            int p = ps_[i];
            double t_ar = 2.0 * (p - 1) / p * bytes / bw + 2.0 * (p - 1) * alpha;
            double speedup = p * compute / (compute + t_ar);
            printf("  %2d ranks: all-reduce %.2f ms, step %.1f ms, speed-up %.1fx over 1 rank (efficiency %.0f%%)\n", p,
                   1e3 * t_ar, 1e3 * (compute + t_ar), speedup, 100 * speedup / p);
        }
    }
    printf("(weak scaling: local batch fixed, the global batch grows with the ranks; the all-reduce is not\n"
           " overlapped with the backward, so its whole time adds to the step)\n");
    return 0;
}
