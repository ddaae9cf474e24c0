/* train/batch.c — Fisher-Yates permutations and the mini-batch iterator. */
#include "train/batch.h"

#include <stdlib.h>
#include <string.h>

void tg_permutation(int64_t *perm, int64_t n, tg_rng *rng) {
    TG_CHECK(n >= 0 && n <= (int64_t)UINT32_MAX + 1, "tg_permutation",
             "n must be in [0, 2^32], got %lld", (long long)n);
    TG_CHECK(rng && (perm || n == 0), "tg_permutation", "perm and rng must not be NULL");
    for (int64_t i = 0; i < n; i++) perm[i] = i;
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)tg_rng_below(rng, (uint32_t)(i + 1));
        int64_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

void tg_batcher_init(tg_batcher *bt, int64_t n, int64_t batch_size, int drop_last, tg_rng *rng) {
    TG_CHECK(bt, "tg_batcher_init", "bt must not be NULL");
    TG_CHECK(n >= 0 && batch_size >= 1, "tg_batcher_init",
             "need n >= 0 and batch_size >= 1, got n %lld, batch_size %lld", (long long)n,
             (long long)batch_size);
    memset(bt, 0, sizeof *bt);
    bt->n = n;
    bt->batch_size = batch_size;
    bt->drop_last = drop_last;
    bt->rng = rng;
    bt->world = 1;
    bt->perm = tg_xmalloc((size_t)(n > 0 ? n : 1) * sizeof(int64_t));
    for (int64_t i = 0; i < n; i++) bt->perm[i] = i;
}

void tg_batcher_epoch(tg_batcher *bt) {
    TG_CHECK(bt && bt->perm, "tg_batcher_epoch", "batcher not initialised");
    bt->pos = 0;
    if (bt->rng) tg_permutation(bt->perm, bt->n, bt->rng);
}

void tg_batcher_shard(tg_batcher *bt, int rank, int world) {
    TG_CHECK(bt && bt->perm, "tg_batcher_shard", "batcher not initialised");
    TG_CHECK(world >= 1 && rank >= 0 && rank < world, "tg_batcher_shard",
             "need 0 <= rank < world, got rank %d of world %d", rank, world);
    bt->rank = rank;
    bt->world = world;
}

int64_t tg_batcher_next(tg_batcher *bt, const int64_t **idx) {
    TG_CHECK(bt && bt->perm && idx, "tg_batcher_next", "batcher not initialised or idx NULL");
    const int64_t full = bt->batch_size * bt->world, left = bt->n - bt->pos;
    const int64_t g = left < full ? left : full;
    *idx = NULL;
    bt->global = 0;
    if (g <= 0 || g < bt->world || (bt->drop_last && g < full)) return 0;
    /* part r of g: sizes base+1 for the first `extra` ranks, then base */
    const int64_t base = g / bt->world, extra = g % bt->world, r = bt->rank;
    const int64_t start = r * base + (r < extra ? r : extra);
    *idx = bt->perm + bt->pos + start;
    bt->pos += g;
    bt->global = g;
    return base + (r < extra);
}

int64_t tg_batcher_n_batches(const tg_batcher *bt) {
    const int64_t full = bt->batch_size * bt->world, whole = bt->n / full, tail = bt->n % full;
    return whole + (!bt->drop_last && tail >= bt->world);
}

void tg_batcher_free(tg_batcher *bt) {
    if (!bt) return;
    free(bt->perm);
    memset(bt, 0, sizeof *bt);
}

void tg_random_windows(const int32_t *tokens, int64_t n, int B, int T, tg_rng *rng, int32_t *x,
                       int32_t *y, int64_t *starts) {
    TG_CHECK(tokens && rng && x && y, "tg_random_windows", "an argument is NULL");
    TG_CHECK(B >= 1 && T >= 1 && n >= (int64_t)T + 1 && n - T <= (int64_t)UINT32_MAX,
             "tg_random_windows", "need B, T >= 1 and T + 1 <= n <= 2^32 + T, got B %d, T %d, n %lld",
             B, T, (long long)n);
    for (int b = 0; b < B; b++) {
        int64_t s = (int64_t)tg_rng_below(rng, (uint32_t)(n - T));
        if (starts) starts[b] = s;
        memcpy(x + (int64_t)b * T, tokens + s, (size_t)T * sizeof *x);
        memcpy(y + (int64_t)b * T, tokens + s + 1, (size_t)T * sizeof *y);
    }
}
