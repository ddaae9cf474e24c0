/* examples/translate/corpus.h — the fixed split of the sentence pairs and
 * padded teacher-forcing batches.
 *
 * Split: a seeded permutation (tg_permutation) of the pairs; the first 90%
 * train, the next 5% dev, the last 5% test, written as "<source>\t<target>"
 * lines (normalised text) to <dir>/{train,dev,test}.tsv — what every run,
 * ours and the PyTorch peer's, reads back.
 *
 * Batch of B pairs (L_s, L_t the longest source / target in words):
 *   src      [B, Ls]      source ids, <pad> after the end
 *   dec_in   [B, Ls+1…]   <bos> y1 … y_n             (the decoder's input: teacher forcing)
 *   target   [B, Lt]      y1 … y_n <eos>, <pad> after (ignored by the loss)
 * with Lt = longest target + 1.
 */
#ifndef TRANSLATE_CORPUS_H
#define TRANSLATE_CORPUS_H

#include <stdint.h>

#include "data/pairs.h"
#include "data/vocab.h"

/* Reads the corpus with the tutorial's filter, splits it with seed and
 * writes the three files into dir (created if missing).  Errors: as
 * tg_pairs_read, or TG_ERR_IO for the files; message set. */
tg_status tr_split_write(const char *corpus, const char *dir, uint64_t seed, int64_t counts[3]);

typedef struct {
    int B, Ls, Lt;
    int64_t n_tokens;       /* target tokens counted by the loss (words + <eos>) */
    int32_t *src;           /* [B, Ls] */
    uint8_t *src_real;      /* [B, Ls] */
    int32_t *dec_in;        /* [B, Lt] */
    uint8_t *tgt_real;      /* [B, Lt] */
    int32_t *target;        /* [B, Lt] */
} tr_batch;

/* Buffers for batches of at most max_b pairs of p (sized from its longest
 * sentences, so filling one never allocates).  Release with tr_batch_free. */
void tr_batch_alloc(tr_batch *b, const tg_pairs *p, int max_b);
void tr_batch_free(tr_batch *b);
/* Fills b with pairs idx[0..n) of p (n <= max_b). */
void tr_batch_fill(tr_batch *b, const tg_pairs *p, const int64_t *idx, int n, const tg_vocab *src_v,
                   const tg_vocab *tgt_v);

/* The sentences of one side of p as an array (malloc'd; entries owned by p). */
const char **tr_sides(const tg_pairs *p, int source);

#endif
