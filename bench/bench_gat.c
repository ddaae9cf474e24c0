/* bench_gat.c — W6: graph attention (the GAT paper's Cora setup), tapegrad
 * beside PyTorch (bench/gat_torch.py, the same model over an edge list
 * with index_add_ / scatter_reduce, never N×N), run from this driver.
 *
 * One epoch = forward in training mode (dropout 0.6 on both layers' inputs
 * and on α), masked cross-entropy on the 140 training nodes, backward, Adam
 * step (lr 0.005, L2 5e-4).  Model: 8 heads × 8 features, ELU, then 1 head
 * over the 7 classes; self-loops added.  Figures: median ms per epoch over
 * the timed epochs after 3 warm-up epochs, at 1 and 2 threads (OpenMP /
 * torch.set_num_threads, OMP_NUM_THREADS and OPENBLAS_NUM_THREADS set to
 * the same N); torch at 2 threads also with GOMP_SPINCOUNT=10000
 * OPENBLAS_THREAD_TIMEOUT=4.  Two input forms each: sparse features (our
 * tg_spmm; torch.sparse.mm on CSR) and dense [N, F] features (GEMM).
 *
 * Memory: a synthetic graph of 10⁵ nodes with E = 2.5·10⁵, 5·10⁵, 10⁶
 * directed edges (random pairs, both directions) plus self-loops, 500 sparse
 * features (10 per node), 7 classes: time per epoch, the tape's peak bytes
 * and the peak RSS of a process that ran only that size (forked child,
 * wait4's ru_maxrss), at 1 thread.  Linear in E means the RSS grows by a
 * constant per edge.  Torch (1 thread, sparse input) runs the 10⁶ size for
 * its figure.
 *
 * Run:  ./build/bench_gat [--quick | --memory]
 *   --quick   Cora only, fewer epochs;  --memory   the synthetic graph only
 * Needs data/cora (make data); torch is skipped with a message when
 * /usr/bin/python3 cannot import it.
 */
#define _DEFAULT_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tapegrad.h"

typedef struct {
    tg_csr g;
    tg_sparse xs;
    int64_t *ptr;
    int32_t *col;
    tg_tensor *xval, *xdense;
    int32_t *y;
    int n_features, n_classes;
} bench_graph;

static void from_cora(bench_graph *b, const tg_planetoid *d, int dense) {
    memset(b, 0, sizeof *b);
    tg_planetoid_graph(d, TG_CSR_SELF_LOOPS, &b->g);
    b->xs = tg_planetoid_features(d);
    b->xval = tg_tensor_new(TG_SHAPE((int)d->nnz));
    memcpy(b->xval->data, d->feat_val, (size_t)d->nnz * sizeof(float));
    if (dense) {
        b->xdense = tg_tensor_new(TG_SHAPE(d->n_nodes, d->n_features));
        tg_planetoid_dense_features(d, b->xdense->data);
    }
    b->y = malloc((size_t)d->n_nodes * sizeof *b->y);
    for (int n = 0; n < d->n_nodes; n++) b->y[n] = d->split[n] == TG_SPLIT_TRAIN ? d->labels[n] : -1;
    b->n_features = d->n_features;
    b->n_classes = d->n_classes;
}

/* N nodes, E directed edges (E/2 random pairs, both directions). */
static void synthetic(bench_graph *b, int N, int64_t E) {
    memset(b, 0, sizeof *b);
    tg_rng rng;
    tg_rng_seed(&rng, 42);
    int32_t *src = malloc((size_t)E * sizeof *src), *dst = malloc((size_t)E * sizeof *dst);
    for (int64_t k = 0; k + 1 < E; k += 2) {
        int32_t u = (int32_t)tg_rng_below(&rng, N), v = (int32_t)tg_rng_below(&rng, N);
        src[k] = u, dst[k] = v, src[k + 1] = v, dst[k + 1] = u;
    }
    tg_csr_build(&b->g, N, E, src, dst, TG_CSR_SELF_LOOPS);
    free(src);
    free(dst);
    int F = 500, K = 10;
    b->ptr = malloc((size_t)(N + 1) * sizeof *b->ptr);
    b->col = malloc((size_t)N * K * sizeof *b->col);
    b->xval = tg_tensor_new(TG_SHAPE(N * K));
    for (int n = 0; n <= N; n++) b->ptr[n] = (int64_t)n * K;
    for (int n = 0; n < N; n++) /* K distinct ascending columns: one per band of F/K */
        for (int k = 0; k < K; k++) b->col[n * K + k] = k * (F / K) + (int32_t)tg_rng_below(&rng, F / K);
    tg_tensor_fill(b->xval, 1.0f / K);
    b->xs = (tg_sparse){.n_rows = N, .n_cols = F, .nnz = (int64_t)N * K, .row_ptr = b->ptr, .col = b->col};
    b->y = malloc((size_t)N * sizeof *b->y);
    for (int n = 0; n < N; n++) b->y[n] = tg_rng_uniform(&rng) < 0.05f ? (int32_t)tg_rng_below(&rng, 7) : -1;
    b->n_features = F;
    b->n_classes = 7;
}

typedef struct {
    double ms;          /* median per epoch */
    size_t tape_peak;
    float loss;
} result;

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Timed epochs of the paper's model on b, in this process. */
static result run(const bench_graph *b, int epochs) {
    tg_rng rng;
    tg_rng_seed(&rng, 1);
    tg_params ps;
    tg_params_init(&ps);
    tg_gat_conv l1, l2;
    tg_gat_conv_init(&l1, &ps, "conv1", b->n_features, 8, 8, 1, TG_NN_BIAS, &rng);
    tg_gat_conv_init(&l2, &ps, "conv2", 64, b->n_classes, 1, 0, TG_NN_BIAS, &rng);
    l1.dropout = l2.dropout = 0.6f;
    tg_adam opt;
    tg_adam_init(&opt, &ps, 0.005f, 0.9f, 0.999f, 1e-8f, 5e-4f);
    tg_tape *tp = tg_tape_new(0);
    double *t = malloc((size_t)(epochs + 3) * sizeof *t);
    result r = {0};
    for (int ep = 0; ep < epochs + 3; ep++) {
        double t0 = tg_now();
        tg_tape_reset(tp);
        tg_params_zero_grad(&ps);
        tg_tensor *h = b->xdense ? tg_gat_conv_forward(tp, &l1, tg_dropout(tp, b->xdense, 0.6f, &rng), &b->g, &rng)
                                 : tg_gat_conv_forward_sparse(tp, &l1, &b->xs, tg_dropout(tp, b->xval, 0.6f, &rng), &b->g, &rng);
        h = tg_dropout(tp, tg_elu(tp, h, 1.0f), 0.6f, &rng);
        tg_tensor *loss = tg_cross_entropy(tp, tg_gat_conv_forward(tp, &l2, h, &b->g, &rng), b->y, -1, TG_MEAN);
        if (tg_backward(tp, loss) != TG_OK) {
            fprintf(stderr, "bench_gat: %s\n", tg_last_error());
            exit(1);
        }
        tg_adam_step(&opt);
        t[ep] = 1e3 * (tg_now() - t0);
        r.loss = loss->data[0];
    }
    qsort(t + 3, (size_t)epochs, sizeof *t, cmp_d);
    r.ms = t[3 + epochs / 2];
    r.tape_peak = tg_tape_bytes_peak(tp);
    free(t);
    tg_tape_free(tp);
    tg_adam_free(&opt);
    tg_params_free(&ps);
    return r;
}

/* Runs fn in a forked child with `threads` threads; returns its result and
 * its peak RSS in MiB. */
typedef result (*child_fn)(void *arg);

static result in_child(child_fn fn, void *arg, int threads, double *rss_mib) {
    int fd[2];
    if (pipe(fd)) exit(1);
    pid_t pid = fork();
    if (pid == 0) {
        close(fd[0]);
        tg_set_num_threads(threads);
        result r = fn(arg);
        if (write(fd[1], &r, sizeof r) != (ssize_t)sizeof r) _exit(1);
        _exit(0);
    }
    close(fd[1]);
    result r = {.ms = NAN};
    if (read(fd[0], &r, sizeof r) != (ssize_t)sizeof r) r.ms = NAN;
    close(fd[0]);
    int status;
    struct rusage ru;
    wait4(pid, &status, 0, &ru);
    *rss_mib = ru.ru_maxrss / 1024.0;
    return r;
}

typedef struct {
    const char *data;
    int dense, epochs;
    int N;
    int64_t E;
} job;

static result cora_job(void *arg) {
    const job *j = arg;
    tg_planetoid d;
    if (tg_planetoid_read(j->data, &d) != TG_OK) {
        fprintf(stderr, "bench_gat: %s\n", tg_last_error());
        exit(1);
    }
    bench_graph b;
    from_cora(&b, &d, j->dense);
    return run(&b, j->epochs);
}

static result synth_job(void *arg) {
    const job *j = arg;
    bench_graph b;
    synthetic(&b, j->N, j->E);
    return run(&b, j->epochs);
}

/* The torch peer: its ms per epoch (NAN when it did not run). */
static double torch_run(const char *graph, int threads, int sparse, int spin, int epochs, double *rss) {
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "OMP_NUM_THREADS=%d OPENBLAS_NUM_THREADS=%d %s /usr/bin/python3 bench/gat_torch.py "
             "--graph %s --threads %d --epochs %d %s 2>/dev/null",
             threads, threads, spin ? "GOMP_SPINCOUNT=10000 OPENBLAS_THREAD_TIMEOUT=4" : "", graph,
             threads, epochs, sparse ? "--sparse" : "");
    FILE *p = popen(cmd, "r");
    double ms = NAN;
    *rss = NAN;
    if (p) {
        if (fscanf(p, "ms_per_epoch %lf peak_rss_mib %lf", &ms, rss) != 2) ms = NAN;
        pclose(p);
    }
    return ms;
}

static int torch_available(void) {
    return system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") == 0;
}

int main(int argc, char **argv) {
    int quick = argc > 1 && !strcmp(argv[1], "--quick");
    int memory_only = argc > 1 && !strcmp(argv[1], "--memory");
    int epochs = quick ? 10 : 30;
    if (access("data/cora/cora.meta", R_OK) != 0) {
        printf("W6: data/cora not found (run `make data`): SKIPPED\n");
        return 0;
    }
    int have_torch = torch_available();
    printf("W6 GAT on Cora (2708 nodes, 13264 directed edges with self-loops), ms per training "
           "epoch, median of %d after 3 warm-up (shared machine: compare within a row)\n", epochs);
    if (!have_torch) printf("  torch: /usr/bin/python3 cannot import torch: torch columns SKIPPED\n");
    printf("  %-8s %-7s %10s %10s %14s %8s %10s\n", "input", "threads", "tapegrad", "torch",
           "torch(spin)", "ratio", "rss MiB");
    for (int dense = 0; dense <= 1 && !memory_only; dense++)
        for (int th = 1; th <= 2; th++) {
            job j = {.data = "data/cora", .dense = dense, .epochs = epochs};
            double rss, trss, trss2;
            result r = in_child(cora_job, &j, th, &rss);
            double tms = have_torch ? torch_run("cora", th, !dense, 0, epochs, &trss) : NAN;
            double tms2 = have_torch && th == 2 ? torch_run("cora", th, !dense, 1, epochs, &trss2) : NAN;
            double best = isnan(tms2) ? tms : fmin(tms, tms2);
            printf("  %-8s %-7d %8.2f ms %8.2f ms %11.2f ms %7.3fx %5.0f/%-5.0f\n", dense ? "dense" : "sparse",
                   th, r.ms, tms, tms2, r.ms / best, rss, trss);
            fflush(stdout);
        }
    printf("  ratio = tapegrad / the faster torch column; rss = peak RSS tapegrad/torch\n");
    if (quick) return 0;

    printf("W6 memory: synthetic graph, 100000 nodes, 500 sparse features (10 per node), "
           "1 thread, median of 5 epochs\n");
    printf("  %-10s %10s %12s %12s %14s\n", "edges", "ms/epoch", "tape MiB", "peak RSS MiB",
           "RSS/edge B");
    const int64_t sizes[] = {250000, 500000, 1000000};
    double rss_prev = NAN;
    int64_t e_prev = 0;
    for (int s = 0; s < 3; s++) {
        job j = {.N = 100000, .E = sizes[s], .epochs = 5};
        double rss;
        result r = in_child(synth_job, &j, 1, &rss);
        printf("  %-10lld %10.1f %12.1f %12.1f", (long long)sizes[s], r.ms, r.tape_peak / 1048576.0, rss);
        if (!isnan(rss_prev)) printf(" %14.1f", (rss - rss_prev) * 1048576.0 / (double)(sizes[s] - e_prev));
        printf("\n");
        fflush(stdout);
        rss_prev = rss, e_prev = sizes[s];
    }
    printf("  RSS/edge = growth of peak RSS per added directed edge since the row above\n");
    if (have_torch) {
        double trss, tms = torch_run("synthetic:100000:500000", 1, 1, 0, 5, &trss);
        printf("  torch (sparse input, same sizes, 10^6 directed edges): %.1f ms/epoch, peak RSS %.1f MiB\n",
               tms, trss);
    }
    return 0;
}
