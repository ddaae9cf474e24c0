/* bench_gemm.c - W1: tg_sgemm vs OpenBLAS cblas_sgemm, side by side
 *
 * Build (by hand):
 *   gcc -std=c11 -O3 -march=native -fopenmp -Wall -Wextra -I. bench/bench_gemm.c \
 *       core/kernels/sgemm*.c -lopenblas -lm -o build/bench_gemm
 * Run:  ./build/bench_gemm [--quick] [--no-small] [--threads=T] (T: only 1 or 2)
 *
 * For every shape (M, K, N), op in {NN: C=A*B, NT: C=A*B^T, TN: C=A^T*B} and
 * thread count T in {1, 2}: omp_set_num_threads(T) and
 * openblas_set_num_threads(T), then tg_sgemm and cblas_sgemm (row-major,
 * alpha=1, beta=0, minimal leading dims) are each warmed up and timed
 * in 3 alternating rounds (tg block, OpenBLAS block, OpenBLAS block, tg block,
 * ...; each block = 2 warm-up calls + R timed calls, R chosen so each side
 * gets ~0.25 s in total); GFLOP/s = 2*M*K*N / median over all timed calls of
 * that side (the VM's timing noise hits both sides alike). Before each block
 * the process sleeps 200 ms: OpenBLAS's pthread workers spin ~2^28 cycles after
 * a call and libgomp's workers spin briefly, and on a 2-core machine a
 * spinning peer pool would steal a core from the library being measured; the
 * sleep lets both pools go idle first. Which side goes first alternates from
 * row to row. OPENBLAS_CORETYPE: see main().
 *
 * A second table times the small shapes the framework issues (attention per
 * head, linear layers) at the default thread count.
 */
#define _POSIX_C_SOURCE 200809L
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "core/kernels/sgemm.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static void nap(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct {
    int ta, tb, M, N, K;
    const float *A, *B;
    float *C;
    int batch; /* calls per timed sample (small shapes) */
} job;

static void run(const job *j, int use_blas)
{
    int lda = j->ta ? j->M : j->K, ldb = j->tb ? j->K : j->N;
    for (int b = 0; b < j->batch; b++) {
        if (use_blas)
            cblas_sgemm(CblasRowMajor, j->ta ? CblasTrans : CblasNoTrans,
                        j->tb ? CblasTrans : CblasNoTrans, j->M, j->N, j->K, 1.0f,
                        j->A, lda, j->B, ldb, 0.0f, j->C, j->N);
        else
            tg_sgemm(j->ta, j->tb, j->M, j->N, j->K, 1.0f, j->A, lda, j->B, ldb,
                     0.0f, j->C, j->N);
    }
}

/* one timed block: warm-up, then `reps` samples appended to ts[*n] */
static void block(const job *j, int use_blas, int reps, double *ts, int *n)
{
    run(j, use_blas); /* warm-up: packing buffers, thread pools, caches */
    run(j, use_blas);
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        run(j, use_blas);
        ts[(*n)++] = now() - t0;
    }
}

/* ROUNDS alternating blocks of tg and OpenBLAS (first side alternates with
 * `flip`), 200 ms idle before each block; median GFLOP/s of all samples. */
#define ROUNDS 3
static void measure2(const job *j, double target_s, int flip, double *g_tg, double *g_ob)
{
    double t0 = now();
    run(j, 0);
    double one = now() - t0;
    int reps = (int)(target_s / ROUNDS / (one > 1e-9 ? one : 1e-9));
    if (reps < 3) reps = 3;
    if (reps > 1000) reps = 1000;
    double *ts[2];
    int n[2] = {0, 0};
    ts[0] = malloc(sizeof(double) * reps * ROUNDS);
    ts[1] = malloc(sizeof(double) * reps * ROUNDS);
    for (int r = 0; r < ROUNDS; r++)
        for (int s = 0; s < 2; s++) {
            int lib = (s + r + flip) & 1;
            nap(0.2);
            block(j, lib, reps, ts[lib], &n[lib]);
        }
    double fl = 2.0 * j->M * j->N * (double)j->K * j->batch * 1e-9;
    for (int lib = 0; lib < 2; lib++) {
        qsort(ts[lib], n[lib], sizeof(double), cmp_d);
        double g = fl / ts[lib][n[lib] / 2];
        if (lib) *g_ob = g; else *g_tg = g;
        free(ts[lib]);
    }
}

static float *rnd(size_t n, unsigned seed)
{
    float *p = aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64);
    if (!p) abort();
    srand(seed);
    for (size_t i = 0; i < n; i++) p[i] = (float)rand() / RAND_MAX - 0.5f;
    return p;
}

static void set_threads(int t)
{
#ifdef _OPENMP
    omp_set_num_threads(t);
#endif
    openblas_set_num_threads(t);
}

/* relative max difference tg vs OpenBLAS (sanity) */
static double check(const job *j)
{
    size_t n = (size_t)j->M * j->N;
    float *c1 = malloc(n * sizeof *c1);
    job k = *j;
    k.batch = 1;
    run(&k, 1);
    memcpy(c1, j->C, n * sizeof *c1);
    run(&k, 0);
    double md = 0, mx = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)c1[i] - j->C[i]);
        if (d > md) md = d;
        if (fabs(c1[i]) > mx) mx = fabs(c1[i]);
    }
    free(c1);
    return md / (mx > 0 ? mx : 1);
}

int main(int argc, char **argv)
{
    /* Debian's OpenBLAS 0.3.21 (DYNAMIC_ARCH) does not recognise this CPU
     * (Sapphire/Emerald Rapids, family 6 model 0xCF) and falls back to its
     * SSE3 "Prescott" kernels (~30 GFLOP/s). The core type is read when the
     * library is loaded, so unless the user chose one, re-exec with
     * OPENBLAS_CORETYPE=SkylakeX (its AVX-512 kernels) for a fair peer. */
    if (!getenv("OPENBLAS_CORETYPE") && !getenv("TG_BENCH_NO_REEXEC")) {
        setenv("OPENBLAS_CORETYPE", "SkylakeX", 1);
        setenv("TG_BENCH_NO_REEXEC", "1", 1);
        execv("/proc/self/exe", argv);
        perror("execv /proc/self/exe (continuing with auto-detected core)");
    }
    int quick = 0, small = 1, only_t = 0;
    for (int i = 1; i < argc; i++) {
        if (!strncmp(argv[i], "--threads=", 10)) only_t = atoi(argv[i] + 10);
        if (!strcmp(argv[i], "--quick")) quick = 1;
        if (!strcmp(argv[i], "--no-small")) small = 0;
    }
    const double target = quick ? 0.08 : 0.25;
    static const int shapes[][3] = {/* M, K, N */
                                    {256, 256, 256},  {512, 512, 512},  {1024, 1024, 1024},
                                    {4096, 128, 384}, {4096, 512, 128}, {4096, 128, 512}};
    static const struct { const char *name; int ta, tb; } ops[] = {
        {"NN", 0, 0}, {"NT", 0, 1}, {"TN", 1, 0}};
    const size_t maxe = 4096u * 512u;
    float *A = rnd(maxe, 1), *B = rnd(maxe, 2), *C = rnd(maxe, 3);

    printf("tg_sgemm kernel: %s; OpenBLAS: %s; core: %s\n\n", tg_sgemm_kernel_name(),
           openblas_get_config(), openblas_get_corename());
    printf("| M | K | N | op | threads | tg GFLOP/s | OpenBLAS GFLOP/s | tg/OpenBLAS |\n");
    printf("|---:|---:|---:|:--:|--:|--:|--:|--:|\n");
    int row = 0;
    for (int t = 1; t <= 2; t++) {
        if (only_t && t != only_t) continue;
        set_threads(t);
        for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
            for (size_t o = 0; o < sizeof ops / sizeof *ops; o++) {
                job j = {ops[o].ta, ops[o].tb, shapes[s][0], shapes[s][2], shapes[s][1],
                         A, B, C, 1};
                double err = check(&j);
                if (err > 1e-4) fprintf(stderr, "WARNING: rel diff %.3g\n", err);
                double g_tg, g_ob;
                measure2(&j, target, row++ & 1, &g_tg, &g_ob);
                printf("| %d | %d | %d | %s | %d | %.1f | %.1f | %.2f |\n", j.M, j.K, j.N,
                       ops[o].name, t, g_tg, g_ob, g_tg / g_ob);
                fflush(stdout);
            }
    }

    if (small) {
        static const int sm[][3] = {/* attention per head, linear layers */
                                    {25, 32, 25}, {64, 32, 64}, {64, 64, 32}, {800, 128, 128},
                                    {800, 128, 512}, {800, 512, 128}};
        int nt = 1;
#ifdef _OPENMP
        nt = omp_get_num_procs();
#endif
        set_threads(nt);
        printf("\nSmall shapes (thread limit %d for both; tg runs 1 thread below "
               "2*64^3 flops)\n\n",
               nt);
        printf("| M | K | N | op | tg GFLOP/s | OpenBLAS GFLOP/s | tg/OpenBLAS |\n");
        printf("|---:|---:|---:|:--:|--:|--:|--:|\n");
        for (size_t s = 0; s < sizeof sm / sizeof *sm; s++)
            for (size_t o = 0; o < sizeof ops / sizeof *ops; o++) {
                double fl = 2.0 * sm[s][0] * sm[s][1] * sm[s][2];
                int batch = fl < 2e6 ? (int)(2e6 / fl) : 1;
                job j = {ops[o].ta, ops[o].tb, sm[s][0], sm[s][2], sm[s][1], A, B, C, batch};
                double err = check(&j);
                if (err > 1e-4) fprintf(stderr, "WARNING: rel diff %.3g\n", err);
                double g_tg, g_ob;
                measure2(&j, target, (int)(s + o) & 1, &g_tg, &g_ob);
                printf("| %d | %d | %d | %s | %.1f | %.1f | %.2f |\n", j.M, j.K, j.N,
                       ops[o].name, g_tg, g_ob, g_tg / g_ob);
                fflush(stdout);
            }
    }
    free(A);
    free(B);
    free(C);
    return 0;
}
