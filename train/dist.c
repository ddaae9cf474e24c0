/* train/dist.c — data parallelism over MPI (with TG_USE_MPI, make MPI=1), or
 * the single-process case of the same API (world of 1) without it.
 *
 * The transport is the handful of functions in the #if below; everything
 * after it (agreement, checkpoints, parameter checks) is written in terms of
 * them and is the same in both builds. */
#define _POSIX_C_SOURCE 200809L
#include "train/dist.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/log.h"

#ifdef TG_USE_MPI
#include <mpi.h>
#endif

static int g_rank = 0, g_world = 1, g_started = 0;
static tg_dist_stats g_stats;

int tg_dist_rank(void) { return g_rank; }
int tg_dist_world(void) { return g_world; }
int tg_dist_is_root(void) { return g_rank == 0; }
tg_dist_stats tg_dist_get_stats(void) { return g_stats; }
void tg_dist_reset_stats(void) { memset(&g_stats, 0, sizeof g_stats); }

#ifdef TG_USE_MPI
/* ---- Open MPI ----------------------------------------------------------- */

int tg_dist_available(void) { return 1; }

/* Ranks other than 0 keep quiet on stdout (stderr stays for errors). */
static void quiet_stdout(void) {
    if (g_rank != 0 && !freopen("/dev/null", "w", stdout))
        fprintf(stderr, "rank %d: cannot redirect stdout to /dev/null\n", g_rank);
}


tg_status tg_dist_init(int *argc, char ***argv) {
    if (g_started) return TG_OK;
    int provided = 0, inited = 0, finalized = 0;
    MPI_Finalized(&finalized);
    if (finalized) return TG_OK; /* MPI cannot start again: a world of 1 from now on */
    MPI_Initialized(&inited);
    if (!inited) MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
    /* Errors in MPI calls abort the job (the default handler), with MPI's message. */
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_world);
    g_started = 1;
    if (g_world > 1) quiet_stdout();
    return TG_OK;
}

void tg_dist_finalize(void) {
    if (!g_started) return;
    fflush(stdout);
    MPI_Barrier(MPI_COMM_WORLD);
    MPI_Finalize();
    g_started = 0;
    g_rank = 0;
    g_world = 1;
}

static MPI_Op mpi_op(tg_dist_op op) {
    switch (op) {
    case TG_DIST_SUM:
    case TG_DIST_MEAN: return MPI_SUM;
    case TG_DIST_MAX: return MPI_MAX;
    case TG_DIST_MIN: return MPI_MIN;
    }
    tg__fail(__FILE__, __LINE__, "tg_dist", "unknown reduction %d", (int)op);
}

/* MPI counts are int: reduce / broadcast in chunks of at most 2^30 elements. */
#define TG_DIST_CHUNK ((int64_t)1 << 30)

static void allreduce_floats(float *x, int64_t n, MPI_Op op) {
    for (int64_t at = 0; at < n; at += TG_DIST_CHUNK) {
        int64_t len = n - at < TG_DIST_CHUNK ? n - at : TG_DIST_CHUNK;
        MPI_Allreduce(MPI_IN_PLACE, x + at, (int)len, MPI_FLOAT, op, MPI_COMM_WORLD);
    }
}

static void bcast_bytes(void *buf, size_t n, int root) {
    if (g_world == 1) return;
    char *p = buf;
    for (size_t at = 0; at < n; at += (size_t)TG_DIST_CHUNK) {
        size_t len = n - at < (size_t)TG_DIST_CHUNK ? n - at : (size_t)TG_DIST_CHUNK;
        MPI_Bcast(p + at, (int)len, MPI_BYTE, root, MPI_COMM_WORLD);
    }
}

void tg_dist_allreduce(double *x, int n, tg_dist_op op) {
    TG_CHECK(n >= 0 && (x || n == 0), "tg_dist_allreduce", "need n >= 0 values, got %d", n);
    if (g_world == 1 || n == 0) return;
    MPI_Allreduce(MPI_IN_PLACE, x, n, MPI_DOUBLE, mpi_op(op), MPI_COMM_WORLD);
    if (op == TG_DIST_MEAN)
        for (int i = 0; i < n; i++) x[i] /= g_world;
}

void tg_dist_barrier(void) {
    if (g_world > 1) MPI_Barrier(MPI_COMM_WORLD);
}

_Noreturn static void abort_all(int code) {
    fflush(stdout);
    fflush(stderr);
    if (g_started && g_world > 1) MPI_Abort(MPI_COMM_WORLD, code);
    exit(code);
}

static void allreduce_grad_block(float *g, int64_t n) { allreduce_floats(g, n, MPI_SUM); }

#else
/* ---- one process -------------------------------------------------------- */

int tg_dist_available(void) { return 0; }

tg_status tg_dist_init(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    /* Launched by mpirun (Open MPI, MPICH/Hydra, Slurm) into several ranks?
     * Each would train alone, on everything, and overwrite the others' files. */
    static const char *const size_vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", NULL};
    for (int i = 0; size_vars[i]; i++) {
        const char *v = getenv(size_vars[i]);
        if (v && atoi(v) > 1)
            return tg_set_error(TG_ERR_ARG,
                                "launched with %s=%s ranks, but this program was built without MPI "
                                "(rebuild with make MPI=1 and run build/mpi/...)",
                                size_vars[i], v);
    }
    g_started = 1;
    return TG_OK;
}

void tg_dist_finalize(void) { fflush(stdout); }
static void bcast_bytes(void *buf, size_t n, int root) { (void)buf, (void)n, (void)root; }
void tg_dist_allreduce(double *x, int n, tg_dist_op op) {
    TG_CHECK(n >= 0 && (x || n == 0), "tg_dist_allreduce", "need n >= 0 values, got %d", n);
    TG_CHECK(op >= TG_DIST_SUM && op <= TG_DIST_MIN, "tg_dist_allreduce", "unknown reduction %d", (int)op);
}
void tg_dist_barrier(void) {}

_Noreturn static void abort_all(int code) {
    fflush(stdout);
    fflush(stderr);
    exit(code);
}

static void allreduce_grad_block(float *g, int64_t n) { (void)g, (void)n; }
#endif

/* ---- the same in both builds -------------------------------------------- */

void tg_dist_broadcast(void *buf, size_t n) { bcast_bytes(buf, n, 0); }

_Noreturn void tg_dist_abort(int code, const char *fmt, ...) {
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (g_world > 1) fprintf(stderr, "%s (rank %d of %d)\n", msg, g_rank, g_world);
    else fprintf(stderr, "%s\n", msg);
    abort_all(code ? code : 1);
}

/* Every rank has rank 0's value of v (int64), or the job stops. */
static void check_same_size(int64_t v, const char *op) {
    if (g_world == 1) return;
    double mm[2] = {(double)v, -(double)v};
    tg_dist_allreduce(mm, 2, TG_DIST_MAX);
    TG_CHECK(mm[0] == (double)v && -mm[1] == (double)v, op,
             "ranks hold different parameter blocks (%lld floats here, between %.0f and %.0f over the ranks)",
             (long long)v, -mm[1], mm[0]);
}

void tg_dist_broadcast_params(tg_params *ps) {
    TG_CHECK(ps, "tg_dist_broadcast_params", "ps must not be NULL");
    check_same_size(ps->total, "tg_dist_broadcast_params");
    tg_dist_broadcast(ps->data, (size_t)ps->total * sizeof(float));
}

void tg_dist_allreduce_grads(tg_params *ps, tg_dist_op op) {
    TG_CHECK(ps, "tg_dist_allreduce_grads", "ps must not be NULL");
    TG_CHECK(op == TG_DIST_SUM || op == TG_DIST_MEAN, "tg_dist_allreduce_grads",
             "gradients are reduced with TG_DIST_SUM or TG_DIST_MEAN, got %d", (int)op);
    if (g_world == 1) return;
    double t0 = tg_now();
    tg_dist_barrier(); /* the wait for the slowest rank, timed apart from the transfer */
    double t1 = tg_now();
    allreduce_grad_block(ps->grad, ps->total);
    if (op == TG_DIST_MEAN) {
        const float inv = 1.0f / (float)g_world;
        for (int64_t i = 0; i < ps->total; i++) ps->grad[i] *= inv;
    }
    g_stats.calls++;
    g_stats.wait_seconds += t1 - t0;
    g_stats.seconds += tg_now() - t1;
    g_stats.bytes += (double)ps->total * sizeof(float);
}

tg_status tg_dist_agree(tg_status st) {
    if (g_world == 1) return st;
    /* the lowest failing rank: MIN over (failing ? rank : world) */
    double who = st != TG_OK ? g_rank : g_world;
    tg_dist_allreduce(&who, 1, TG_DIST_MIN);
    if ((int)who == g_world) return TG_OK;
    /* its status and message, from that rank to every rank */
    struct {
        int32_t status;
        char msg[1020];
    } out;
    memset(&out, 0, sizeof out);
    if (g_rank == (int)who) {
        out.status = (int32_t)st;
        snprintf(out.msg, sizeof out.msg, "rank %d: %s", g_rank, tg_last_error());
    }
    bcast_bytes(&out, sizeof out, (int)who);
    out.msg[sizeof out.msg - 1] = 0;
    return tg_set_error((tg_status)out.status, "%s", out.msg);
}

tg_status tg_dist_check_params(const tg_params *ps, int64_t step) {
    TG_CHECK(ps, "tg_dist_check_params", "ps must not be NULL");
    if (g_world == 1) return TG_OK;
    struct {
        int64_t step;
        uint64_t sum;
    } mine = {step, tg_params_checksum(ps)}, root = mine;
    bcast_bytes(&root, sizeof root, 0);
    tg_status st = TG_OK;
    if (mine.step != root.step || mine.sum != root.sum)
        st = tg_set_error(TG_ERR_FORMAT,
                          "ranks disagree: this rank has step %lld, parameter checksum %016" PRIx64
                          ", rank 0 has step %lld, checksum %016" PRIx64,
                          (long long)mine.step, mine.sum, (long long)root.step, root.sum);
    return tg_dist_agree(st);
}

tg_status tg_dist_checkpoint_save(const char *path, const tg_params *ps,
                                  const tg_checkpoint_extra *extra) {
    tg_status st = TG_OK;
    if (g_rank == 0) st = tg_checkpoint_save(path, ps, extra);
    return tg_dist_agree(st);
}

tg_status tg_dist_checkpoint_load(const char *path, tg_params *ps, tg_checkpoint_extra *extra) {
    tg_status st = tg_dist_agree(tg_checkpoint_load(path, ps, extra));
    if (st != TG_OK) return st;
    return tg_dist_check_params(ps, extra ? extra->step : 0);
}
