/* train/dist.h — data-parallel training across processes with MPI (the
 * model of PyTorch DDP and llm.c): every rank holds the whole model, takes
 * its shard of each global batch, and the gradients are summed or averaged
 * with one all-reduce over the flat gradient block before the optimizer step.
 *
 *   if (tg_dist_init(&argc, &argv) != TG_OK) { fprintf(stderr, "%s\n", tg_last_error()); return 1; }
 *   ... build the model from the same seed on every rank ...
 *   tg_dist_broadcast_params(&ps);                        // rank 0's initial weights everywhere
 *   tg_batcher_shard(&bt, tg_dist_rank(), tg_dist_world());
 *   while ((b = tg_batcher_next(&bt, &idx)) > 0) {        // this rank's part of the global batch
 *       ... forward, loss summed over the local items and scaled by 1/bt.global ...
 *       tg_backward(tp, loss);
 *       tg_dist_allreduce_grads(&ps, TG_DIST_SUM);       // Σ over ranks = the global batch's gradient
 *       tg_adam_step(&opt);                               // identical on every rank
 *   }
 *   double m[2] = {loss_sum, n_items};
 *   tg_dist_allreduce(m, 2, TG_DIST_SUM);                 // metrics of every rank before printing
 *   if (tg_dist_checkpoint_save(path, &ps, &ex) != TG_OK) tg_dist_abort(1, "%s", tg_last_error());
 *   tg_dist_finalize();
 *
 * Launch: `mpirun -np 2 build/mpi/prog ...` (docs/distributed.md: one or
 * several machines, MPI ranks × OpenMP threads, what changes with world size).
 *
 * Two builds, one API.  With `make MPI=1` (TG_USE_MPI) this is Open MPI.
 * Without it every function is the single-process case (rank 0 of a world of
 * 1: broadcasts and reductions copy nothing, the barrier returns), so a
 * program calls these unconditionally and needs no #ifdef.  tg_dist_init in
 * a build without MPI refuses to run when it sees it was launched by mpirun
 * with several ranks (each would otherwise train alone and overwrite the
 * others' checkpoints).
 *
 * Errors.  A failure on any rank must end every rank, never leave the others
 * waiting in a collective: tg_dist_abort prints the message with the rank
 * and calls MPI_Abort, which mpirun turns into the end of the whole job.  A
 * rank that dies (a crash, SIGKILL) is noticed by mpirun, which then kills
 * the other ranks.  Functions that read outside input (checkpoints) are
 * collective and agree on the outcome: every rank returns the same status
 * and the failing rank's message (tg_dist_agree).  Calling a collective on
 * some ranks only is a programmer error that MPI cannot detect (it hangs).
 *
 * The collectives are called from the thread that called tg_dist_init
 * (MPI_THREAD_FUNNELED); OpenMP kernels run in between, inside each rank.
 */
#ifndef TG_TRAIN_DIST_H
#define TG_TRAIN_DIST_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/params.h"
#include "train/checkpoint.h"

/* Starts MPI (MPI_Init_thread, MPI_THREAD_FUNNELED) on the argc/argv of main
 * (either may be NULL).  With several ranks, stdout of ranks other than 0 is
 * redirected to /dev/null so a report prints once; stderr is left alone, so
 * an error on any rank is seen.  Calling it twice is a no-op.  After
 * tg_dist_finalize (a program whose main runs twice in one process, as the
 * example tests do) it returns TG_OK and leaves a world of 1: MPI cannot be
 * started again in a process.
 * Errors: TG_ERR_ARG when built without MPI but launched by mpirun with more
 * than one rank ("built without MPI=1 ..."). */
tg_status tg_dist_init(int *argc, char ***argv);
/* Ends MPI after a barrier (every rank done with its collectives).  A no-op
 * without MPI or before tg_dist_init. */
void tg_dist_finalize(void);

/* This process's rank in [0, world), the number of ranks, and rank == 0.
 * Before tg_dist_init (and without MPI): 0, 1, 1. */
int tg_dist_rank(void);
int tg_dist_world(void);
int tg_dist_is_root(void);
/* 1 when built with MPI (make MPI=1), else 0. */
int tg_dist_available(void);

typedef enum {
    TG_DIST_SUM = 0,  /* Σ_r x_r */
    TG_DIST_MEAN = 1, /* (1/world) Σ_r x_r */
    TG_DIST_MAX = 2,
    TG_DIST_MIN = 3,
} tg_dist_op;

/* Copies rank 0's parameter values ps->data (ps->total floats) to every
 * rank: all ranks start from the same weights whatever their seeds.
 * Collective.  Errors: ranks with different ps->total abort (checked). */
void tg_dist_broadcast_params(tg_params *ps);
/* Copies n bytes at buf from rank 0 to every rank.  Collective. */
void tg_dist_broadcast(void *buf, size_t n);

/* The all-reduce of data parallelism: ps->grad (ps->total floats) becomes
 * Σ_r grad_r (TG_DIST_SUM) or (1/world)·Σ_r grad_r (TG_DIST_MEAN) on every
 * rank, in one in-place MPI_Allreduce over the flat block (float32, chunks
 * of at most 2^30 floats).
 *   SUM is the gradient of the global batch's loss when each rank's loss is
 *   its part of that loss: summed over its items (a summed loss, as the POS
 *   tagger's), or summed and divided by the global batch size bt.global (a
 *   mean loss, exactly, even when the last batch splits unevenly).
 *   MEAN is DDP's convention: each rank's mean loss counts 1/world — the
 *   global mean when the shards are equal.
 * The sum is rounded in an order set by Open MPI's algorithm for this world
 * size and message (docs/distributed.md), so results differ from one
 * process's in the last bits, and are the same on every rank.
 * A barrier first waits for the slowest rank, so that tg_dist_get_stats can
 * tell that wait (load imbalance) from the transfer; it costs one small
 * collective.  Collective.
 * Errors: another op, or ranks with different ps->total, abort. */
void tg_dist_allreduce_grads(tg_params *ps, tg_dist_op op);
/* x[0..n) ← the reduction over ranks of x, in double (metrics: loss sums,
 * item counts, correct predictions; a stop flag with TG_DIST_MAX).
 * Collective. */
void tg_dist_allreduce(double *x, int n, tg_dist_op op);
/* Waits for every rank.  Collective. */
void tg_dist_barrier(void);

/* ---- independent tasks across ranks ------------------------------------------
 * The other form of parallelism: not one model trained on shards of every
 * batch, but many independent runs (seeds of an experiment, cells of a
 * grid) spread over the ranks, each computed whole by one rank, and their
 * results collected on rank 0, which reports and writes:
 *
 *   int *owner = malloc(n * sizeof *owner);
 *   tg_dist_assign(cost, n, tg_dist_world(), owner);     // the same on every rank
 *   for (int i = 0; i < n; i++)
 *       if (owner[i] == tg_dist_rank()) mine[n_mine++] = run(i);
 *   int64_t n_all;
 *   result *all = tg_dist_gather(mine, n_mine, sizeof *mine, &n_all);   // rank 0: every rank's
 *   if (tg_dist_is_root()) ... report all[0..n_all) in task order ...
 *   free(all);
 */

/* Rank 0 collects fixed-size records: every rank passes its n_mine records
 * of `size` bytes each at mine (may be NULL when n_mine is 0).  On rank 0
 * returns a new array (free it) of every rank's records, rank 0's first,
 * then rank 1's, ..., and sets *n_all to their count; on the other ranks
 * returns NULL and sets *n_all to 0.  Records are copied as bytes (the ranks
 * run the same program on the same kind of machine; plain structs, no
 * pointers).  With a world of 1, a copy of mine.  Collective.
 * Errors (programmer errors, abort): n_mine < 0, size 0, ranks passing
 * different sizes, more than INT_MAX bytes in all. */
void *tg_dist_gather(const void *mine, int64_t n_mine, size_t size, int64_t *n_all);

/* A static assignment of n independent tasks of estimated cost[0..n) (any
 * unit, >= 0) to `world` ranks balancing their total cost: owner[i] in
 * [0, world) is the rank that runs task i.  Longest processing time first
 * (Graham, "Bounds on multiprocessing timing anomalies", SIAM J. Appl. Math.
 * 17, 1969): tasks by decreasing cost (ties: lower index first), each to the
 * rank with the least cost so far (ties: the lower rank); the busiest rank
 * then carries at most 4/3 − 1/(3·world) of the optimum.  Deterministic: a
 * pure function of its arguments, so every rank computes the same owners
 * without communicating.  Not collective.  Errors (abort): n < 0, world <
 * 1, a negative or non-finite cost. */
void tg_dist_assign(const double *cost, int n, int world, int *owner);

/* Agreement on an outcome.  Collective: every rank passes its own status;
 * if all are TG_OK returns TG_OK, else every rank returns the status of the
 * lowest failing rank, with tg_last_error() set to that rank's message
 * prefixed by "rank r: ". */
tg_status tg_dist_agree(tg_status st);

/* Prints the message on stderr, followed by " (rank r of W)" when world > 1,
 * and a newline, then ends every rank with exit code
 * `code` (MPI_Abort when world > 1, exit otherwise).  Safe to call from one
 * rank alone: it is how an error on one rank stops the job. */
_Noreturn void tg_dist_abort(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Checks that every rank holds the same parameters and training step:
 * compares step and tg_params_checksum(ps) with rank 0's.  Collective.
 * Errors: TG_ERR_FORMAT on every rank, e.g.
 *   "ranks disagree: rank 1 has step 40, parameter checksum 1f0c..., rank 0 has step 40, checksum 9a31..." */
tg_status tg_dist_check_params(const tg_params *ps, int64_t step);

/* tg_checkpoint_save on rank 0 only (atomically, as always); every rank
 * returns rank 0's status and message.  Collective. */
tg_status tg_dist_checkpoint_save(const char *path, const tg_params *ps,
                                  const tg_checkpoint_extra *extra);
/* tg_checkpoint_load on every rank (each reads the file; with several
 * machines it must be on a shared file system or copied to each), then
 * tg_dist_agree on the outcome, then tg_dist_check_params(ps, extra->step)
 * (step 0 when extra is NULL).  Collective.  Errors: those of
 * tg_checkpoint_load ("rank r: path: ..."), or the disagreement above. */
tg_status tg_dist_checkpoint_load(const char *path, tg_params *ps, tg_checkpoint_extra *extra);

/* What tg_dist_allreduce_grads did since the start (or the last reset):
 * calls, wall seconds waiting at its barrier for the slowest rank, wall
 * seconds of the all-reduce itself, and bytes of gradient reduced per rank.
 * Zero with a world of 1. */
typedef struct tg_dist_stats {
    int64_t calls;
    double wait_seconds;
    double seconds;
    double bytes;
} tg_dist_stats;
tg_dist_stats tg_dist_get_stats(void);
void tg_dist_reset_stats(void);

#endif
