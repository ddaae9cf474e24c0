/* bench_attention.c — W7: long-sequence attention, fused vs composed.
 *
 * One multi-head self-attention layer (tg_mha: d_model 64, 4 heads, Q/K/V/O
 * projections with biases), batch 1, sequence length L in {256, 1024, 4096,
 * 16384}; one step = forward, loss = sum of the outputs, backward.
 * Figures per (form, L): the median step time in ms over R timed steps
 * after one warm-up step, the tape's peak bytes, and the peak RSS of a
 * process that did only that configuration.
 *
 * Each (form, L) runs in its own forked child, so its peak RSS is its own:
 * the parent reads it from wait4()'s rusage (ru_maxrss, KiB).  The child
 * writes its timings to a pipe.
 *
 * The composed form keeps, per step, six [B, H, L, L] float tensors alive
 * at the peak (forward: Q·Kᵀ, its scaled copy, the softmax; backward: their
 * three gradients), i.e. 6 · 4 bytes · H · L² (measured: the tape peaks
 * printed below agree).  When that exceeds MemAvailable the configuration
 * is skipped with the computed size instead of run.
 *
 * Run:  ./build/bench_attention [--quick] [--L n --form fused|composed]
 *   --quick   L in {256, 1024} only
 *   --L/--form  one configuration, in this process (for profiling)
 * Threads: OMP_NUM_THREADS (default all cores).
 */
#define _DEFAULT_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nn/attention.h"
#include "tapegrad.h"

enum { B = 1, C = 64, H = 4 };

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
    double median_ms, min_ms;
    size_t tape_peak;
    int runs;
} result;

/* Timed steps of one configuration, in this process. */
static result run_config(int composed, int L, int runs) {
    tg_rng rng;
    tg_rng_seed(&rng, 2024);
    tg_params ps;
    tg_params_init(&ps);
    tg_mha mha;
    tg_mha_init(&mha, &ps, "attn", C, H, TG_NN_BIAS, &rng);
    mha.use_composed = composed;
    tg_tensor *x = tg_tensor_new(TG_SHAPE(B, L, C));
    tg_tensor_normal(x, &rng, 0.0f, 1.0f);
    tg_tape *tp = tg_tape_new(0);
    double *ms = malloc((size_t)(runs + 1) * sizeof *ms);
    for (int r = 0; r <= runs; r++) { /* r = 0: warm-up */
        tg_tape_reset(tp);
        tg_params_zero_grad(&ps);
        double t0 = now_ms();
        tg_tensor *y = tg_mha_forward(tp, &mha, x, x, NULL);
        tg_status st = tg_backward(tp, tg_sum(tp, y));
        ms[r] = now_ms() - t0;
        if (st != TG_OK) {
            fprintf(stderr, "%s\n", tg_last_error());
            exit(1);
        }
    }
    qsort(ms + 1, (size_t)runs, sizeof *ms, cmp_d);
    result res = {.median_ms = runs % 2 ? ms[1 + runs / 2] : 0.5 * (ms[runs / 2] + ms[runs / 2 + 1]),
                  .min_ms = ms[1], .tape_peak = tg_tape_bytes_peak(tp), .runs = runs};
    free(ms);
    tg_tape_free(tp);
    tg_tensor_free(x);
    tg_params_free(&ps);
    return res;
}

static double mem_available_bytes(void) {
    FILE *f = fopen("/proc/meminfo", "r");
    char line[256];
    double kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %lf kB", &kb) == 1) break;
    if (f) fclose(f);
    return kb * 1024.0;
}

/* Runs one configuration in a child; fills *res and *rss_kib.  0 on success. */
static int run_child(int composed, int L, int runs, result *res, long *rss_kib) {
    int fds[2];
    if (pipe(fds) != 0) return -1;
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        close(fds[0]);
        result r = run_config(composed, L, runs);
        ssize_t w = write(fds[1], &r, sizeof r);
        _exit(w == (ssize_t)sizeof r ? 0 : 1);
    }
    close(fds[1]);
    ssize_t got = read(fds[0], res, sizeof *res);
    close(fds[0]);
    int status = 0;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0) return -1;
    *rss_kib = ru.ru_maxrss;
    return got == (ssize_t)sizeof *res && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

int main(int argc, char **argv) {
    int quick = 0, one_L = 0, one_form = -1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) quick = 1;
        else if (!strcmp(argv[i], "--L") && i + 1 < argc) one_L = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--form") && i + 1 < argc) {
            i++;
            one_form = !strcmp(argv[i], "composed") ? 1 : !strcmp(argv[i], "fused") ? 0 : -1;
        } else {
            fprintf(stderr, "usage: %s [--quick] [--L n --form fused|composed]\n", argv[0]);
            return 2;
        }
    }
    if (one_L > 0 && one_form >= 0) {
        result r = run_config(one_form, one_L, 3);
        printf("%s L=%d: median %.1f ms, min %.1f ms, tape peak %.1f MiB\n",
               one_form ? "composed" : "fused", one_L, r.median_ms, r.min_ms,
               r.tape_peak / 1048576.0);
        return 0;
    }
    static const int Ls[] = {256, 1024, 4096, 16384};
    int nL = quick ? 2 : 4;
    printf("W7: one multi-head self-attention layer (d_model %d, %d heads, Q/K/V/O projections), "
           "batch %d, forward + backward of sum(outputs); %d threads; sgemm kernel %s\n",
           C, H, B, tg_get_num_threads(), tg_sgemm_kernel_name());
    FILE *la = fopen("/proc/loadavg", "r");
    char load[64] = "?";
    if (la) {
        if (!fgets(load, sizeof load, la)) strcpy(load, "?");
        fclose(la);
        load[strcspn(load, "\n")] = 0;
    }
    printf("load average at start (other processes compete for the cores): %s\n", load);
    printf("ms: median of R steps after 1 warm-up; RSS: peak resident set of a process running "
           "only that configuration; tape: peak bytes on the tape\n\n");
    printf("| L | form | ms (median) | R | peak RSS MiB | tape peak MiB |\n");
    printf("|---:|---|---:|---:|---:|---:|\n");
    double avail = mem_available_bytes();
    int failed = 0;
    for (int li = 0; li < nL; li++) {
        int L = Ls[li];
        int runs = L <= 1024 ? 15 : L <= 4096 ? 5 : 3;
        for (int composed = 0; composed < 2; composed++) {
            const char *name = composed ? "composed" : "fused";
            if (composed) {
                double need = 6.0 * 4.0 * H * B * (double)L * L;
                if (need > 0.9 * avail) {
                    printf("| %d | %s | skipped: would need %.1f GiB (6 [%d, %d, %d, %d] tensors) "
                           "> %.1f GiB available | | | |\n",
                           L, name, need / 1073741824.0, B, H, L, L, avail / 1073741824.0);
                    continue;
                }
            }
            result r;
            long rss = 0;
            if (run_child(composed, L, runs, &r, &rss) != 0) {
                printf("| %d | %s | failed (child died) | | | |\n", L, name);
                failed = 1;
                continue;
            }
            printf("| %d | %s | %.1f | %d | %.1f | %.1f |\n", L, name, r.median_ms, r.runs,
                   rss / 1024.0, r.tape_peak / 1048576.0);
        }
    }
    return failed;
}
