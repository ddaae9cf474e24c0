/* train/dist.c — data parallelism over MPI (with TG_USE_MPI, make MPI=1), or
 * the single-process case of the same API (world of 1) without it.
 *
 * The transport is the handful of functions in the #if below; everything
 * after it (agreement, checkpoints, parameter checks) is written in terms of
 * them and is the same in both builds. */
#define _POSIX_C_SOURCE 200809L
#include "train/dist.h"

#include <inttypes.h>
#include <limits.h>
#include <math.h>
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

/* counts[r] records of `size` bytes from every rank r into all on rank 0
 * (byte counts and offsets within int: checked by the caller). */
static void gather_bytes(const void *mine, int64_t n_mine, size_t size, void *all, const int64_t *counts) {
    if (g_world == 1) { /* also before tg_dist_init */
        if (n_mine) memcpy(all, mine, (size_t)n_mine * size);
        return;
    }
    int *bytes = NULL, *at = NULL;
    if (g_rank == 0) {
        bytes = tg_xmalloc((size_t)g_world * sizeof *bytes);
        at = tg_xmalloc((size_t)g_world * sizeof *at);
        for (int r = 0, off = 0; r < g_world; r++) {
            bytes[r] = (int)(counts[r] * (int64_t)size);
            at[r] = off;
            off += bytes[r];
        }
    }
    MPI_Gatherv(mine, (int)(n_mine * (int64_t)size), MPI_BYTE, all, bytes, at, MPI_BYTE, 0, MPI_COMM_WORLD);
    free(bytes);
    free(at);
}

static void gather_counts(int64_t n_mine, int64_t *counts) {
    if (g_world == 1) counts[0] = n_mine;
    else MPI_Gather(&n_mine, 1, MPI_INT64_T, counts, 1, MPI_INT64_T, 0, MPI_COMM_WORLD);
}

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
static void gather_bytes(const void *mine, int64_t n_mine, size_t size, void *all, const int64_t *counts) {
    (void)counts;
    if (n_mine) memcpy(all, mine, (size_t)n_mine * size);
}
static void gather_counts(int64_t n_mine, int64_t *counts) { counts[0] = n_mine; }
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

/* Every rank has rank 0's value of v (int64), or the job stops; what names
 * v in the message ("parameter blocks", "records"), unit its unit. */
static void check_same_size(int64_t v, const char *op, const char *what, const char *unit) {
    if (g_world == 1) return;
    double mm[2] = {(double)v, -(double)v};
    tg_dist_allreduce(mm, 2, TG_DIST_MAX);
    TG_CHECK(mm[0] == (double)v && -mm[1] == (double)v, op,
             "ranks hold different %s (%lld %s here, between %.0f and %.0f over the ranks)", what, (long long)v,
             unit, -mm[1], mm[0]);
}

void tg_dist_broadcast_params(tg_params *ps) {
    TG_CHECK(ps, "tg_dist_broadcast_params", "ps must not be NULL");
    check_same_size(ps->total, "tg_dist_broadcast_params", "parameter blocks", "floats");
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

void *tg_dist_gather(const void *mine, int64_t n_mine, size_t size, int64_t *n_all) {
    TG_CHECK(n_mine >= 0 && size > 0 && (mine || n_mine == 0) && n_all, "tg_dist_gather",
             "need n_mine >= 0 records (got %lld) of size > 0 (got %zu) and n_all", (long long)n_mine, size);
    check_same_size((int64_t)size, "tg_dist_gather", "record sizes", "bytes");
    int64_t *counts = g_rank == 0 ? tg_xmalloc((size_t)g_world * sizeof *counts) : NULL, total = 0;
    gather_counts(n_mine, counts);
    if (g_rank == 0)
        for (int r = 0; r < g_world; r++) total += counts[r];
    /* rank 0 judges the size; every rank learns the verdict before the transfer */
    double too_big = g_rank == 0 && total > (int64_t)(INT_MAX / size);
    tg_dist_allreduce(&too_big, 1, TG_DIST_MAX);
    TG_CHECK(!too_big, "tg_dist_gather", "records of %zu bytes: more than INT_MAX bytes in all", size);
    void *all = g_rank == 0 ? tg_xmalloc(total ? (size_t)total * size : 1) : NULL;
    gather_bytes(mine, n_mine, size, all, counts);
    free(counts);
    *n_all = g_rank == 0 ? total : 0;
    return all;
}

void tg_dist_assign(const double *cost, int n, int world, int *owner) {
    TG_CHECK(n >= 0 && world >= 1 && (n == 0 || (cost && owner)), "tg_dist_assign",
             "need n >= 0 tasks (got %d), world >= 1 (got %d), cost and owner", n, world);
    int *order = tg_xmalloc((size_t)(n ? n : 1) * sizeof *order);
    for (int i = 0; i < n; i++) {
        TG_CHECK(isfinite(cost[i]) && cost[i] >= 0, "tg_dist_assign", "cost[%d] = %g: expected finite and >= 0", i,
                 cost[i]);
        order[i] = i;
    }
    /* decreasing cost, ties by index: insertion sort keeps it stable and
     * needs no comparison callback; n is a grid's cells, not millions */
    for (int i = 1; i < n; i++) {
        int t = order[i], j = i;
        for (; j > 0 && cost[order[j - 1]] < cost[t]; j--) order[j] = order[j - 1];
        order[j] = t;
    }
    double *load = tg_xcalloc((size_t)world * sizeof *load);
    for (int k = 0; k < n; k++) {
        int best = 0;
        for (int r = 1; r < world; r++)
            if (load[r] < load[best]) best = r;
        owner[order[k]] = best;
        load[best] += cost[order[k]];
    }
    free(load);
    free(order);
}
