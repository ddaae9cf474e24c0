/* train/bleu.h — corpus BLEU (Papineni, Roukos, Ward & Zhu 2002, "BLEU: a
 * Method for Automatic Evaluation of Machine Translation", ACL), single
 * reference, on whitespace-tokenised text.
 *
 *     tg_bleu b;
 *     tg_bleu_init(&b);
 *     for (i = 0; i < n; i++) tg_bleu_add(&b, hyp[i], ref[i]);
 *     printf("BLEU %.2f\n", 100 * tg_bleu_score(&b));
 *
 * Per sentence and n = 1..4, the clipped count of each hypothesis n-gram g is
 * min(count_hyp(g), count_ref(g)) (§2.1); the corpus precision is
 *     p_n = Σ_sentences Σ_g clipped(g) / Σ_sentences (hypothesis n-grams)
 * (§2.1.1, the sums over the corpus before dividing).  With c the total
 * hypothesis length and r the total reference length (words),
 *     BP = 1 if c > r, else exp(1 − r/c)                            (§2.2.2)
 *     BLEU = BP · exp(Σ_{n=1..4} ¼ log p_n)
 * and BLEU = 0 when some p_n = 0 (no smoothing: as the paper, sacrebleu's
 * smooth_method="none" and Moses' multi-bleu.perl) or c = 0.
 * Tokens are maximal runs of bytes other than space, TAB, LF, CR; case and
 * punctuation are taken as they are (tokenise before, as tg_pairs does).
 */
#ifndef TG_TRAIN_BLEU_H
#define TG_TRAIN_BLEU_H

#include <stdint.h>

#define TG_BLEU_MAX_N 4

/* Sufficient statistics of a corpus; plain counts, so two can be added. */
typedef struct tg_bleu {
    int64_t match[TG_BLEU_MAX_N]; /* clipped n-gram matches, n = 1..4 at [n-1] */
    int64_t total[TG_BLEU_MAX_N]; /* hypothesis n-grams */
    int64_t hyp_len, ref_len;     /* c and r, in words */
    int64_t n_sents;
} tg_bleu;

void tg_bleu_init(tg_bleu *b);
/* Adds one hypothesis / reference pair (NUL-terminated strings).  Cost
 * O(len² · 4) per sentence (n-grams are compared directly; fine for
 * sentences, not for documents of thousands of words). */
void tg_bleu_add(tg_bleu *b, const char *hyp, const char *ref);
/* Corpus BLEU in [0, 1] (multiply by 100 for the usual figure). */
double tg_bleu_score(const tg_bleu *b);
/* p_n (1 <= n <= 4; 0 when there are no hypothesis n-grams) and BP. */
double tg_bleu_precision(const tg_bleu *b, int n);
double tg_bleu_brevity_penalty(const tg_bleu *b);

#endif
