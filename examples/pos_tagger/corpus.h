/* examples/pos_tagger/corpus.h — CoNLL-U sentences turned into padded
 * mini-batches for the tagger.
 *
 * Sentences are sorted by length and cut into batches of at most
 * `batch_size` sentences (bucketing: little padding), made once; training
 * shuffles the ORDER of the batches each epoch with a seeded tg_rng.
 *
 * Each word is seen twice by the model: through its id in the word
 * vocabulary (rare and unseen words are <unk>), and through its characters.
 * The characters of every distinct form in a batch are laid out once, as
 * LC ids: <bow>, up to LC−2 code points, <eow> (a longer word keeps its first
 * and last LC/2 ids: its prefix and its suffix).
 */
#ifndef POS_CORPUS_H
#define POS_CORPUS_H

#include <stdint.h>

#include "data/conllu.h"
#include "data/vocab.h"

#define POS_LC 20     /* character ids per form */
#define POS_KW 3      /* width of the character convolution the batch's type_mask is for */
#define POS_LW (POS_LC - POS_KW + 1) /* convolution windows per form */
#define POS_MAX_KW 7  /* widest character convolution (pos_config char_kw_max) */

typedef struct {
    int B, T;              /* sentences, padded length (longest sentence) */
    int64_t first_sent;    /* the batch holds sentences order[first..first+B) */
    int64_t *sent;         /* [B] sentence index in the corpus */
    int32_t *word_ids;     /* [B·T] word-vocabulary ids, 0 (<pad>) past a sentence */
    int32_t *targets;      /* [B·T] UPOS 0..16, or -1 on padding / unlabelled words */
    uint8_t *key_padding;  /* [B·T] 1 on a word, 0 on padding */
    int n_types;           /* distinct forms in the batch */
    int32_t *type_chars;   /* [n_types·POS_LC] character ids (0 = <pad>) */
    float *type_mask;      /* [n_types·POS_LW] 0 for a window inside the form, −inf past it */
    int32_t *type_len;     /* [n_types] real ids of the form (<bow> and <eow> included), 3..POS_LC */
    int32_t *type_ids;     /* [B·T] 1 + the form's type index, 0 on padding */
    int n_words;           /* real words in the batch */
} pos_batch;

typedef struct {
    int n_batches;
    pos_batch *batches;
    int64_t n_words;
} pos_batches;

/* Builds the batches of corpus c (its vocabularies already built).  Owned by
 * the caller; free with pos_batches_free. */
void pos_batches_make(pos_batches *out, const tg_conllu *c, const tg_vocab *words,
                      const tg_vocab *chars, int batch_size);
void pos_batches_free(pos_batches *b);

#endif
