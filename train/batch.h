/* train/batch.h — seeded shuffling and mini-batch iteration.
 *
 *   tg_batcher bt;
 *   tg_batcher_init(&bt, n_train, 32, 0, &data_rng);   // shuffled, keep the last partial batch
 *   for (int epoch = 0; epoch < n_epochs; epoch++) {
 *       tg_batcher_epoch(&bt);                          // a new permutation from data_rng
 *       const int64_t *idx;
 *       int64_t b;
 *       while ((b = tg_batcher_next(&bt, &idx)) > 0) { ... items idx[0..b-1] ... }
 *   }
 *   tg_batcher_free(&bt);
 *
 * Under MPI, tg_batcher_shard(&bt, rank, world) makes each rank take its
 * part of every global batch of world·batch_size items.
 *
 * Deterministic: the same rng state gives the same order on every machine
 * and thread count.  To resume bit-identically, checkpoint the rng at an
 * epoch boundary (before tg_batcher_epoch draws the next permutation), or
 * save bt.pos and the permutation's rng state from the start of the epoch.
 */
#ifndef TG_TRAIN_BATCH_H
#define TG_TRAIN_BATCH_H

#include <stdint.h>

#include "core/tensor.h"

/* Writes a uniformly random permutation of 0..n-1 into perm (n entries) by
 * the Fisher-Yates shuffle (Knuth, TAOCP vol. 2, Algorithm 3.4.2P): for
 * i = n-1 down to 1, swap perm[i] with perm[j], j = tg_rng_below(rng, i+1).
 * Draws exactly n-1 numbers from rng.  Errors: n > 2^32 aborts. */
void tg_permutation(int64_t *perm, int64_t n, tg_rng *rng);

typedef struct tg_batcher {
    int64_t n;          /* items */
    int64_t batch_size;
    int drop_last;      /* 1: skip a last batch smaller than batch_size */
    tg_rng *rng;        /* not owned; NULL: items in order 0..n-1 */
    int64_t *perm;      /* n indices, owned */
    int64_t pos;        /* next position in perm */
    int rank, world;    /* shard: this rank of world (0 of 1 unless tg_batcher_shard) */
    int64_t global;     /* items in the last global batch returned (over all ranks) */
} tg_batcher;

/* n >= 0 items in batches of batch_size >= 1 (aborts otherwise).  The
 * order is 0..n-1 until the first tg_batcher_epoch.  Release with
 * tg_batcher_free. */
void tg_batcher_init(tg_batcher *bt, int64_t n, int64_t batch_size, int drop_last, tg_rng *rng);
/* Starts an epoch: pos = 0 and, with an rng, a fresh permutation. */
void tg_batcher_epoch(tg_batcher *bt);
/* The next batch: *idx points at its item indices (valid until the next
 * tg_batcher_epoch/free), returns its size, 0 at the end of the epoch. */
int64_t tg_batcher_next(tg_batcher *bt, const int64_t **idx);
/* Batches per epoch: ceil(n / batch_size), or floor with drop_last; with a
 * shard, global batches per epoch (see tg_batcher_shard). */
int64_t tg_batcher_n_batches(const tg_batcher *bt);

/* Data parallelism (train/dist.h): makes bt return only rank's part of
 * every global batch of world·batch_size items.  Every rank must use the
 * same n, batch_size, drop_last and rng seed, so all draw the same
 * permutation; a global batch is the next G = min(world·batch_size, left)
 * positions of it, cut into world contiguous parts whose sizes differ by at
 * most one (the first G mod world ranks get one more), rank r taking part r.
 * bt->global is set to G at every tg_batcher_next.  The last, partial global
 * batch is treated the same on every rank: kept (split as above) unless
 * drop_last, and dropped on every rank when G < world (some rank would get
 * no item), so every rank takes the same number of steps per epoch:
 * tg_batcher_n_batches.  world = 1 is the unsharded batcher.
 * Errors: rank outside [0, world) aborts. */
void tg_batcher_shard(tg_batcher *bt, int rank, int world);
void tg_batcher_free(tg_batcher *bt);

/* ---- random windows of a token stream (language-model training) ---------
 * B windows of T+1 consecutive tokens of tokens[0..n), each starting at a
 * position drawn uniformly from [0, n − T) (tg_rng_below, one draw per
 * window, in row order) — nanoGPT's get_batch.  Teacher forcing: the inputs
 * are the first T tokens of each window, the targets the last T (the same
 * stream shifted by one):
 *   x[b, t] = tokens[s_b + t],   y[b, t] = tokens[s_b + t + 1].
 * x, y: caller arrays of B·T ints ([B, T]); starts (may be NULL): B start
 * positions.  Errors: B, T < 1, n < T + 1 or n − T > 2^32 abort. */
void tg_random_windows(const int32_t *tokens, int64_t n, int B, int T, tg_rng *rng, int32_t *x,
                       int32_t *y, int64_t *starts);

#endif
