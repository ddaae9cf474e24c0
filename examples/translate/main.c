/* examples/translate/main.c — French → English translation with an
 * encoder-decoder Transformer on the PyTorch seq2seq tutorial's 10,599
 * sentence pairs: teacher forcing, summed cross-entropy, AdamW with warm-up
 * and cosine decay, model selection on dev BLEU, greedy and beam-search
 * decoding with a key/value cache.
 *
 *   build/translate train --data data/eng_fra/eng-fra.txt.gz --dir runs/translate
 *   build/translate eval --model runs/translate/model.safetensors --data runs/translate/test.tsv --beam 4
 *   echo "je suis content ." | build/translate translate --model runs/translate/model.safetensors --beam 4
 *   build/translate attention --model runs/translate/model.safetensors --sentence "elle est tres fatiguee ." --png att.png
 *
 * Run `build/translate <command> --help` for every option and its default.
 * Data-parallel under MPI (make MPI=1; docs/distributed.md):
 *   mpirun -np 2 build/mpi/translate train --batch-size 32 ...   (32 pairs per rank)
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "examples/translate/corpus.h"
#include "examples/translate/model.h"
#include "tapegrad.h"
#include "train/dist.h"

/* Under MPI this ends every rank, not only the one that failed. */
static void die(const char *what) { tg_dist_abort(1, "translate: %s", what); }

/* Seconds since t0; under MPI the slowest rank's, so every rank stops alike. */
static double elapsed(double t0) {
    double t = tg_now() - t0;
    tg_dist_allreduce(&t, 1, TG_DIST_MAX);
    return t;
}

static void read_pairs(const char *path, tg_pairs *p) {
    if (tg_pairs_read(path, NULL, p) != TG_OK) die(tg_last_error());
}

/* ---- checkpoints: parameters + configuration + vocabularies -------------- */

typedef struct {
    tr_model m;
    tg_vocab src_v, tgt_v;
} translator;

static tg_status save_model(const char *path, const translator *t, int64_t epoch) {
    tg_checkpoint_extra ex = {0};
    char *cfg = tr_config_to_json(&t->m.cfg), *sv = tg_vocab_to_string(&t->src_v),
         *tv = tg_vocab_to_string(&t->tgt_v);
    tg_checkpoint_meta_set(&ex, "model", "translate");
    tg_checkpoint_meta_set(&ex, "config", cfg);
    tg_checkpoint_meta_set(&ex, "src_vocab", sv);
    tg_checkpoint_meta_set(&ex, "tgt_vocab", tv);
    ex.epoch = epoch;
    tg_status st = tg_dist_checkpoint_save(path, &t->m.ps, &ex); /* rank 0 writes */
    tg_checkpoint_extra_free(&ex);
    free(cfg);
    free(sv);
    free(tv);
    return st;
}

/* Reads and checks the configuration and vocabularies, builds the model,
 * loads it (tr_model_load: nothing is built from a bad file). */
static void load_model(const char *path, translator *t) {
    if (tr_model_load(path, &t->m, &t->src_v, &t->tgt_v) != TG_OK) die(tg_last_error());
}

static void translator_free(translator *t) {
    tr_model_free(&t->m);
    tg_vocab_free(&t->src_v);
    tg_vocab_free(&t->tgt_v);
}

/* ---- decoding -------------------------------------------------------------- */

/* Target tokens up to (not including) <eos> as words joined by spaces. */
static char *detokenize(const tg_vocab *v, const int32_t *ids, int n) {
    size_t cap = 1;
    for (int i = 0; i < n && ids[i] != TG_VOCAB_EOS; i++) cap += strlen(tg_vocab_str(v, ids[i])) + 1;
    char *s = tg_xmalloc(cap), *at = s;
    *at = '\0';
    for (int i = 0; i < n && ids[i] != TG_VOCAB_EOS; i++)
        at += sprintf(at, "%s%s", i ? " " : "", tg_vocab_str(v, ids[i]));
    return s;
}

typedef struct {
    int beam;       /* 1: greedy */
    float alpha;    /* length-penalty exponent of beam search */
    int max_len;    /* target tokens at most (<eos> included) */
} decode_opts;

enum { CHUNK = 128 };

/* Translations of every source of p into hyp[i] (malloc'd strings).
 * Greedy: CHUNK sentences side by side; beam: one sentence, W rows. */
static void translate_all(translator *t, tg_tape *tp, const tg_pairs *p, const decode_opts *o,
                          char **hyp) {
    int was_grad = tg_tape_set_grad(tp, 0), was_training = tg_tape_set_training(tp, 0);
    tr_batch b;
    int chunk = o->beam > 1 ? 1 : CHUNK;
    tr_batch_alloc(&b, p, chunk);
    int64_t *idx = tg_xmalloc(sizeof *idx * CHUNK);
    int32_t *out = tg_xmalloc(sizeof *out * (size_t)CHUNK * (size_t)o->max_len), first[CHUNK];
    int out_len[CHUNK];
    for (int i = 0; i < CHUNK; i++) first[i] = TG_VOCAB_BOS;
    for (int64_t s0 = 0; s0 < p->n; s0 += chunk) {
        int n = (int)(p->n - s0 < chunk ? p->n - s0 : chunk);
        for (int i = 0; i < n; i++) idx[i] = s0 + i;
        tr_batch_fill(&b, p, idx, n, &t->src_v, &t->tgt_v);
        tg_tape_reset(tp);
        tg_tensor *memory = tr_encode(tp, &t->m, b.src, b.src_real, n, b.Ls);
        tr_stepper st;
        tr_stepper_init(&st, &t->m, tp, memory, b.src_real, o->beam, o->max_len);
        tg_decoder dec = tr_stepper_decoder(&st);
        if (o->beam > 1) {
            tg_beam_opts bo = {.beam_width = o->beam, .alpha = o->alpha, .max_len = o->max_len,
                               .eos = TG_VOCAB_EOS};
            tg_beam_search(tp, &dec, TG_VOCAB_BOS, &bo, out, out_len, NULL, NULL);
        } else {
            tg_greedy_decode(tp, &dec, n, first, TG_VOCAB_EOS, o->max_len, out, out_len);
        }
        for (int i = 0; i < n; i++) hyp[s0 + i] = detokenize(&t->tgt_v, out + (size_t)i * o->max_len, out_len[i]);
        tr_stepper_free(&st);
    }
    tg_tape_reset(tp);
    tr_batch_free(&b);
    free(idx);
    free(out);
    tg_tape_set_grad(tp, was_grad);
    tg_tape_set_training(tp, was_training);
}

/* Corpus BLEU of hyp against the targets of p. */
static double bleu_of(const tg_pairs *p, char *const *hyp) {
    tg_bleu bl;
    tg_bleu_init(&bl);
    for (int64_t i = 0; i < p->n; i++) tg_bleu_add(&bl, hyp[i], tg_pairs_tgt(p, i));
    return tg_bleu_score(&bl);
}

static void free_strings(char **s, int64_t n) {
    for (int64_t i = 0; i < n; i++) free(s[i]);
    free(s);
}

/* BLEU of the model on p; the translations stay in *hyp_out when non-NULL. */
static double evaluate(translator *t, tg_tape *tp, const tg_pairs *p, const decode_opts *o, char ***hyp_out) {
    char **hyp = tg_xcalloc(sizeof *hyp * (size_t)(p->n + 1));
    translate_all(t, tp, p, o, hyp);
    double bleu = bleu_of(p, hyp);
    if (hyp_out) *hyp_out = hyp;
    else free_strings(hyp, p->n);
    return bleu;
}

static tg_status write_lines(const char *path, char *const *lines, int64_t n) {
    size_t cap = 1, at = 0;
    for (int64_t i = 0; i < n; i++) cap += strlen(lines[i]) + 1;
    char *buf = tg_xmalloc(cap);
    for (int64_t i = 0; i < n; i++) at += (size_t)sprintf(buf + at, "%s\n", lines[i]);
    tg_status st = tg_write_file_atomic(path, buf, at);
    free(buf);
    return st;
}

/* ---- train --------------------------------------------------------------- */

typedef struct {
    const char *data, *dir, *save, *metrics_json, *log_csv;
    int epochs, batch_size, warmup, threads, seed, split_seed, patience;
    double lr, lr_min, weight_decay, label_smoothing, time_budget, clip;
    tr_config cfg;
    decode_opts dec;
} train_opts;

/* One optimisation step on batch b; returns the summed loss. */
static float train_step(tg_tape *tp, translator *t, tg_adam *opt, const tr_batch *b, float label_smoothing,
                        float clip) {
    tg_tape_reset(tp);
    tg_params_zero_grad(&t->m.ps);
    tg_tensor *memory = tr_encode(tp, &t->m, b->src, b->src_real, b->B, b->Ls);
    tg_tensor *logits = tr_decode(tp, &t->m, memory, b->src_real, b->dec_in, b->tgt_real, b->B, b->Lt);
    tg_tensor *loss = tg_cross_entropy_smoothed(tp, logits, b->target, TG_VOCAB_PAD, TG_SUM, label_smoothing);
    if (tg_backward(tp, loss) != TG_OK) die(tg_last_error());
    tg_dist_allreduce_grads(&t->m.ps, TG_DIST_SUM); /* summed loss: Σ over ranks = the global batch's */
    if (clip > 0) tg_clip_grad_norm(&t->m.ps, clip);
    tg_adam_step(opt);
    return loss->data[0];
}

static int cmd_train(int argc, char **argv) {
    train_opts o = {.data = "data/eng_fra/eng-fra.txt.gz", .dir = "runs/translate", .epochs = 12,
                    .batch_size = 64, .warmup = 200, .seed = 1, .split_seed = 1, .patience = 0,
                    .lr = 2e-3, .lr_min = 1e-5, .weight_decay = 0.01, .label_smoothing = 0.1,
                    .clip = 1.0,
                    .cfg = {.d_model = 64, .n_heads = 4, .d_ff = 256, .n_enc = 2, .n_dec = 2, .dropout = 0.1f},
                    .dec = {.beam = 4, .alpha = 0.6f, .max_len = 20}};
    float dropout = o.cfg.dropout;
    const tg_cli_opt opts[] = {
        {"data", TG_CLI_STRING, &o.data, "eng<TAB>fra sentence pairs (plain or .gz); the tutorial's filter is applied"},
        {"dir", TG_CLI_STRING, &o.dir, "run folder: {train,dev,test}.tsv (the split) and model.safetensors go here"},
        {"split-seed", TG_CLI_INT, &o.split_seed, "seed of the 90/5/5 train/dev/test split"},
        {"epochs", TG_CLI_INT, &o.epochs, "epochs (the schedule's length)"},
        {"time-budget", TG_CLI_DOUBLE, &o.time_budget, "stop training after this many seconds (0: none; a guard)"},
        {"batch-size", TG_CLI_INT, &o.batch_size, "sentence pairs per batch (per rank under MPI)"},
        {"lr", TG_CLI_DOUBLE, &o.lr, "peak AdamW learning rate"},
        {"lr-min", TG_CLI_DOUBLE, &o.lr_min, "learning rate at the end of the cosine decay"},
        {"warmup", TG_CLI_INT, &o.warmup, "linear warm-up steps"},
        {"weight-decay", TG_CLI_DOUBLE, &o.weight_decay, "AdamW decoupled weight decay (matrices only)"},
        {"label-smoothing", TG_CLI_DOUBLE, &o.label_smoothing, "label smoothing epsilon of the cross-entropy"},
        {"clip", TG_CLI_DOUBLE, &o.clip, "clip the global gradient norm to this (0: off)"},
        {"d-model", TG_CLI_INT, &o.cfg.d_model, "Transformer width d_model"},
        {"heads", TG_CLI_INT, &o.cfg.n_heads, "attention heads n_heads"},
        {"d-ff", TG_CLI_INT, &o.cfg.d_ff, "MLP hidden width"},
        {"enc-layers", TG_CLI_INT, &o.cfg.n_enc, "encoder blocks"},
        {"dec-layers", TG_CLI_INT, &o.cfg.n_dec, "decoder blocks"},
        {"dropout", TG_CLI_FLOAT, &dropout, "dropout probability"},
        {"patience", TG_CLI_INT, &o.patience, "stop after this many epochs without a better dev BLEU (0: never)"},
        {"beam", TG_CLI_INT, &o.dec.beam, "beam width of the final test evaluation"},
        {"alpha", TG_CLI_FLOAT, &o.dec.alpha, "beam search length-penalty exponent (GNMT)"},
        {"max-len", TG_CLI_INT, &o.dec.max_len, "decoded tokens at most (<eos> included)"},
        {"threads", TG_CLI_INT, &o.threads, "OpenMP threads (0: OMP_NUM_THREADS or all cores)"},
        {"seed", TG_CLI_INT, &o.seed, "seed of initialisation, shuffling and dropout"},
        /* checked once --dir exists (they may lie inside it) */
        {"metrics-json", TG_CLI_STRING, &o.metrics_json, "write the final metrics here as one JSON object"},
        {"log-csv", TG_CLI_STRING, &o.log_csv, "write per-epoch metrics here as CSV"},
    };
    int r = tg_cli_subcommand(argc, argv, "translate train", opts, (int)(sizeof opts / sizeof *opts),
                       "Splits the pairs 90/5/5 (seeded), trains on train, keeps the model with the best "
                       "dev BLEU (greedy), reports test BLEU greedy and with beam search.");
    if (r >= 0) return r;
    if (o.batch_size < 1 || o.epochs < 1 || o.warmup < 0 || o.dec.beam < 1 || o.dec.beam > 64 ||
        o.dec.max_len < 2 || o.dec.max_len > 1024)
        die("--batch-size, --epochs must be >= 1, --warmup >= 0, --beam in 1..64, --max-len in 2..1024");
    o.cfg.dropout = dropout;
    if (o.threads > 0) tg_set_num_threads(o.threads);
    if (!tg_dist_is_root()) o.metrics_json = o.log_csv = NULL; /* rank 0 reports */

    /* The split, written to disk and read back: what the run trains on is the file. */
    int64_t counts[3];
    tg_status split_st = tg_dist_is_root() ? tr_split_write(o.data, o.dir, (uint64_t)o.split_seed, counts) : TG_OK;
    if (tg_dist_agree(split_st) != TG_OK) die(tg_last_error()); /* rank 0 wrote it, or every rank stops */
    tg_status out_st = TG_OK; /* the outputs, now that --dir exists: before the training, not after */
    if (o.metrics_json) out_st = tg_check_writable(o.metrics_json);
    if (out_st == TG_OK && o.log_csv) out_st = tg_check_writable(o.log_csv);
    if (tg_dist_agree(out_st) != TG_OK) die(tg_last_error());
    char path[3][4096], model_path[4096];
    static const char *const parts[3] = {"train", "dev", "test"};
    tg_pairs split[3];
    for (int k = 0; k < 3; k++) {
        snprintf(path[k], sizeof path[k], "%s/%s.tsv", o.dir, parts[k]);
        read_pairs(path[k], &split[k]);
    }
    if (split[0].n == 0) {
        fprintf(stderr, "translate: %s: no sentence pairs for training (of %lld kept by the filter): expected "
                "at least one\n", o.data, (long long)(counts[0] + counts[1] + counts[2]));
        exit(1);
    }
    snprintf(model_path, sizeof model_path, "%s/model.safetensors", o.dir);
    const tg_pairs *train = &split[0], *dev = &split[1], *test = &split[2];

    translator t;
    const char **src_s = tr_sides(train, 1), **tgt_s = tr_sides(train, 0);
    tg_vocab_build_sentences(src_s, train->n, 1, &t.src_v);
    tg_vocab_build_sentences(tgt_s, train->n, 1, &t.tgt_v);
    free(src_s);
    free(tgt_s);
    o.cfg.src_vocab = t.src_v.size;
    o.cfg.tgt_vocab = t.tgt_v.size;
    if (tr_config_check(&o.cfg) != TG_OK) die(tg_last_error());
    tr_model_init(&t.m, &o.cfg, (uint64_t)o.seed);
    tg_dist_broadcast_params(&t.m.ps); /* every rank starts from rank 0's weights */
    if (tg_dist_rank() > 0) tg_rng_seed(&t.m.drop_rng, (uint64_t)o.seed * 1000003u + (uint64_t)tg_dist_rank());
    printf("split (seed %d) of %s: train %lld, dev %lld, test %lld pairs in %s/{train,dev,test}.tsv\n",
           o.split_seed, o.data, (long long)train->n, (long long)dev->n, (long long)test->n, o.dir);
    printf("vocabularies (train split): source %d, target %d words with <pad> <unk> <bos> <eos>\n",
           t.src_v.size, t.tgt_v.size);
    printf("model: %lld parameters, d_model %d, %d+%d layers, %d heads, d_ff %d, dropout %.2f; %d threads x %d ranks\n",
           (long long)tg_params_count(&t.m.ps), o.cfg.d_model, o.cfg.n_enc, o.cfg.n_dec, o.cfg.n_heads,
           o.cfg.d_ff, o.cfg.dropout, tg_get_num_threads(), tg_dist_world());
    fflush(stdout);

    tg_adam opt;
    tg_adamw_init(&opt, &t.m.ps, (float)o.lr, 0.9f, 0.98f, 1e-9f, (float)o.weight_decay);
    tg_adam_set_decay(&opt, tg_decay_matrices, NULL);
    tg_tape *tp = tg_tape_new(64u << 20);
    tg_rng shuffle;
    tg_rng_seed(&shuffle, (uint64_t)o.seed + 1);
    tg_batcher bt;
    tg_batcher_init(&bt, train->n, o.batch_size, 0, &shuffle);
    tg_batcher_shard(&bt, tg_dist_rank(), tg_dist_world()); /* this rank's part of each global batch */
    tr_batch b;
    tr_batch_alloc(&b, train, o.batch_size);
    tg_early_stop es;
    tg_early_stop_init(&es, TG_MAXIMIZE, o.patience > 0 ? o.patience : o.epochs + 1, 0.0);
    tg_csv_log csv = {0};
    static const char *const csv_cols[] = {"epoch", "step", "train_loss_per_token", "dev_bleu", "seconds"};
    if (o.log_csv && tg_csv_log_open(&csv, o.log_csv, 5, csv_cols) != TG_OK) die(tg_last_error());
    decode_opts greedy = o.dec;
    greedy.beam = 1;

    const int64_t total_steps = (int64_t)o.epochs * tg_batcher_n_batches(&bt);
    const int64_t warmup = o.warmup < total_steps ? o.warmup : total_steps;
    double t0 = tg_now(), train_seconds = 0, train_cpu = 0;
    clock_t c0 = clock(); /* CPU time of the process: comparable on a shared machine */
    int64_t step = 0, tokens = 0;
    int epoch, stop = 0;
    for (epoch = 1; epoch <= o.epochs && !stop; epoch++) {
        tg_batcher_epoch(&bt);
        tg_progress prog;
        tg_progress_start(&prog, epoch, o.epochs, tg_batcher_n_batches(&bt), 50);
        if (!tg_dist_is_root()) prog.out = NULL;
        double loss_sum = 0;
        int64_t loss_tokens = 0, k = 0, n;
        const int64_t *idx;
        while ((n = tg_batcher_next(&bt, &idx)) > 0) {
            opt.lr = tg_lr_warmup_cosine(step, (float)o.lr, (float)o.lr_min, warmup, total_steps);
            tr_batch_fill(&b, train, idx, (int)n, &t.src_v, &t.tgt_v);
            float loss = train_step(tp, &t, &opt, &b, (float)o.label_smoothing, (float)o.clip);
            step++;
            tokens += b.n_tokens;
            loss_sum += loss;
            loss_tokens += b.n_tokens;
            tg_progress_update(&prog, ++k, loss / (float)b.n_tokens, b.n_tokens);
            if (o.time_budget > 0 && elapsed(t0) >= o.time_budget) {
                stop = 1;
                break;
            }
        }
        tg_progress_end(&prog);
        train_seconds = tg_now() - t0;
        train_cpu = (double)(clock() - c0) / CLOCKS_PER_SEC;
        double sums[3] = {loss_sum, (double)loss_tokens, (double)tokens}; /* over every rank */
        tg_dist_allreduce(sums, 3, TG_DIST_SUM);
        loss_sum = sums[0];
        loss_tokens = (int64_t)sums[1];
        if (tg_dist_check_params(&t.m.ps, step) != TG_OK) die(tg_last_error()); /* ranks still agree */
        double dev_bleu = evaluate(&t, tp, dev, &greedy, NULL);
        printf("epoch %d: step %lld, train loss %.4f per token, dev BLEU %.2f (greedy), %.0f s, %.0f tokens/s\n",
               epoch, (long long)step, loss_sum / (double)loss_tokens, 100 * dev_bleu, train_seconds,
               sums[2] / train_seconds);
        if (o.log_csv) {
            const double row[5] = {epoch, (double)step, loss_sum / (double)loss_tokens, 100 * dev_bleu, train_seconds};
            if (tg_csv_log_row(&csv, row) != TG_OK) die(tg_last_error());
        }
        if (tg_early_stop_update(&es, epoch, dev_bleu) && save_model(model_path, &t, epoch) != TG_OK)
            die(tg_last_error());
        if (tg_early_stop_should_stop(&es)) stop = 1;
        fflush(stdout);
    }
    epoch--;
    double total_seconds = tg_now() - t0;

    /* The selected model (best dev BLEU) on the test split. */
    tr_batch_free(&b);
    translator_free(&t);
    load_model(model_path, &t);
    double t1 = tg_now();
    double test_greedy = evaluate(&t, tp, test, &greedy, NULL);
    double greedy_s = tg_now() - t1;
    t1 = tg_now();
    double test_beam = evaluate(&t, tp, test, &o.dec, NULL);
    double beam_s = tg_now() - t1;
    printf("best epoch %d of %d (dev BLEU %.2f): test BLEU greedy %.2f (%.1f s), beam %d (alpha %.2f) %.2f "
           "(%.1f s); training %.0f s (%.0f s CPU), %lld steps\n",
           es.best_epoch, epoch, 100 * es.best, 100 * test_greedy, greedy_s, o.dec.beam, o.dec.alpha,
           100 * test_beam, beam_s, train_seconds, train_cpu, (long long)step);
    if (o.metrics_json) {
        static const char *const names[] = {"dev_bleu",      "test_bleu_greedy", "test_bleu_beam", "beam",
                                            "train_seconds", "total_seconds",    "epochs",         "best_epoch",
                                            "steps",         "parameters",       "train_cpu_seconds"};
        const double values[] = {100 * es.best, 100 * test_greedy, 100 * test_beam, o.dec.beam,
                                 train_seconds, total_seconds, epoch, es.best_epoch, (double)step,
                                 (double)tg_params_count(&t.m.ps), train_cpu};
        if (tg_metrics_json_write(o.metrics_json, 11, names, values) != TG_OK) die(tg_last_error());
    }
    if (o.log_csv && tg_csv_log_close(&csv) != TG_OK) die(tg_last_error());
    tg_batcher_free(&bt);
    tg_tape_free(tp);
    tg_adam_free(&opt);
    translator_free(&t);
    for (int k = 0; k < 3; k++) tg_pairs_free(&split[k]);
    return 0;
}

/* ---- eval ----------------------------------------------------------------- */

static int cmd_eval(int argc, char **argv) {
    const char *model = NULL, *data = NULL, *out_greedy = NULL, *out_beam = NULL, *metrics_json = NULL;
    int threads = 0, examples = 0;
    decode_opts o = {.beam = 4, .alpha = 0.6f, .max_len = 20};
    const tg_cli_opt opts[] = {
        {"model", TG_CLI_STRING, &model, "a model written by `train` (required)"},
        {"data", TG_CLI_STRING, &data, "<source>TAB<reference> pairs, e.g. the run's test.tsv (required)"},
        {"beam", TG_CLI_INT, &o.beam, "beam width for the beam-search figure"},
        {"alpha", TG_CLI_FLOAT, &o.alpha, "length-penalty exponent (GNMT)"},
        {"max-len", TG_CLI_INT, &o.max_len, "decoded tokens at most (<eos> included)"},
        {"out-greedy", TG_CLI_OUTPUT, &out_greedy, "write the greedy translations here, one per line"},
        {"out-beam", TG_CLI_OUTPUT, &out_beam, "write the beam-search translations here, one per line"},
        {"examples", TG_CLI_INT, &examples, "print this many source / reference / greedy / beam examples"},
        {"metrics-json", TG_CLI_OUTPUT, &metrics_json, "write the BLEU figures here as JSON"},
        {"threads", TG_CLI_INT, &threads, "OpenMP threads (0: default)"},
    };
    int r = tg_cli_subcommand(argc, argv, "translate eval", opts, (int)(sizeof opts / sizeof *opts),
                       "Corpus BLEU (whitespace tokens, 4-grams, brevity penalty) of greedy decoding and "
                       "of beam search against the references.");
    if (r >= 0) return r;
    if (!model || !data) die("eval needs --model and --data (see --help)");
    if (o.beam < 1 || o.beam > 64 || o.max_len < 2 || o.max_len > 1024) die("--beam must be in 1..64 and --max-len in 2..1024");
    if (threads > 0) tg_set_num_threads(threads);
    translator t;
    load_model(model, &t);
    tg_pairs p;
    read_pairs(data, &p);
    tg_tape *tp = tg_tape_new(16u << 20);
    decode_opts greedy = o;
    greedy.beam = 1;
    char **hg, **hb;
    double t0 = tg_now();
    double bg = evaluate(&t, tp, &p, &greedy, &hg);
    double sg = tg_now() - t0;
    t0 = tg_now();
    double bb = evaluate(&t, tp, &p, &o, &hb);
    double sb = tg_now() - t0;
    printf("%s: %lld pairs; BLEU greedy %.2f (%.1f s), beam %d (alpha %.2f) %.2f (%.1f s)\n", data,
           (long long)p.n, 100 * bg, sg, o.beam, o.alpha, 100 * bb, sb);
    for (int64_t i = 0; i < examples && i < p.n; i++)
        printf("  source    %s\n  reference %s\n  greedy    %s\n  beam %-4d %s\n\n", tg_pairs_src(&p, i),
               tg_pairs_tgt(&p, i), hg[i], o.beam, hb[i]);
    if (out_greedy && write_lines(out_greedy, hg, p.n) != TG_OK) die(tg_last_error());
    if (out_beam && write_lines(out_beam, hb, p.n) != TG_OK) die(tg_last_error());
    if (metrics_json) {
        static const char *const names[] = {"bleu_greedy", "bleu_beam", "beam", "greedy_seconds", "beam_seconds"};
        const double values[] = {100 * bg, 100 * bb, o.beam, sg, sb};
        if (tg_metrics_json_write(metrics_json, 5, names, values) != TG_OK) die(tg_last_error());
    }
    free_strings(hg, p.n);
    free_strings(hb, p.n);
    tg_pairs_free(&p);
    tg_tape_free(tp);
    translator_free(&t);
    return 0;
}

/* ---- translate: stdin -> stdout --------------------------------------------- */

/* Each input line as a source (normalised like the training data) in a
 * pairs set with an empty target.  Invalid UTF-8 is an error with its line. */
static void read_sources(FILE *f, tg_pairs *p) {
    size_t cap = 1 << 16, len = 0;
    char *text = tg_xmalloc(cap);
    char line[8192];
    while (fgets(line, sizeof line, f)) {
        size_t n = strcspn(line, "\r\n");
        line[n] = '\0';
        if (len + 2 * n + 8 > cap) text = realloc(text, cap = 2 * (len + 2 * n + 8));
        if (!text) die("out of memory reading the input");
        len += (size_t)sprintf(text + len, "%s\t-\n", n ? line : "-");
    }
    text[len] = '\0';
    if (tg_pairs_parse_string("<stdin>", text, NULL, p) != TG_OK) die(tg_last_error());
    free(text);
}

static int cmd_translate(int argc, char **argv) {
    const char *model = NULL;
    int threads = 0;
    decode_opts o = {.beam = 4, .alpha = 0.6f, .max_len = 20};
    const tg_cli_opt opts[] = {
        {"model", TG_CLI_STRING, &model, "a model written by `train` (required)"},
        {"beam", TG_CLI_INT, &o.beam, "beam width (1: greedy)"},
        {"alpha", TG_CLI_FLOAT, &o.alpha, "length-penalty exponent (GNMT)"},
        {"max-len", TG_CLI_INT, &o.max_len, "decoded tokens at most (<eos> included)"},
        {"threads", TG_CLI_INT, &threads, "OpenMP threads (0: default)"},
    };
    int r = tg_cli_subcommand(argc, argv, "translate translate", opts, (int)(sizeof opts / sizeof *opts),
                       "Translates French sentences, one per line on stdin, to English on stdout "
                       "(input normalised as in training: lower case, accents dropped, punctuation split).");
    if (r >= 0) return r;
    if (!model) die("translate needs --model (see --help)");
    if (o.beam < 1 || o.beam > 64 || o.max_len < 2 || o.max_len > 1024) die("--beam must be in 1..64 and --max-len in 2..1024");
    if (threads > 0) tg_set_num_threads(threads);
    translator t;
    load_model(model, &t);
    tg_pairs p;
    read_sources(stdin, &p);
    tg_tape *tp = tg_tape_new(16u << 20);
    char **hyp = tg_xcalloc(sizeof *hyp * (size_t)(p.n + 1));
    translate_all(&t, tp, &p, &o, hyp);
    for (int64_t i = 0; i < p.n; i++) printf("%s\n", hyp[i]);
    free_strings(hyp, p.n);
    tg_pairs_free(&p);
    tg_tape_free(tp);
    translator_free(&t);
    return 0;
}

/* ---- attention: the cross-attention of one sentence as a heat map ---------- */

static int cmd_attention(int argc, char **argv) {
    const char *model = NULL, *sentence = NULL, *png = "attention.png";
    int layer = -1, threads = 0;
    decode_opts o = {.beam = 4, .alpha = 0.6f, .max_len = 20};
    const tg_cli_opt opts[] = {
        {"model", TG_CLI_STRING, &model, "a model written by `train` (required)"},
        {"sentence", TG_CLI_STRING, &sentence, "French sentence to translate (required)"},
        {"png", TG_CLI_OUTPUT, &png, "write the heat map here"},
        {"layer", TG_CLI_INT, &layer, "decoder block whose cross-attention is drawn (-1: the last)"},
        {"beam", TG_CLI_INT, &o.beam, "beam width of the translation (1: greedy)"},
        {"threads", TG_CLI_INT, &threads, "OpenMP threads (0: default)"},
    };
    int r = tg_cli_subcommand(argc, argv, "translate attention", opts, (int)(sizeof opts / sizeof *opts),
                       "Translates one sentence and draws the decoder's cross-attention (mean over heads): "
                       "a row per output word, a column per source word.");
    if (r >= 0) return r;
    if (!model || !sentence) die("attention needs --model and --sentence (see --help)");
    if (o.beam < 1 || o.beam > 64) die("--beam must be in 1..64");
    if (threads > 0) tg_set_num_threads(threads);
    translator t;
    load_model(model, &t);
    if (layer < 0) layer = t.m.cfg.n_dec - 1;
    if (layer >= t.m.cfg.n_dec) die("--layer is beyond the decoder's blocks");
    size_t n = strlen(sentence);
    char *line = tg_xmalloc(2 * n + 8);
    if (tg_normalize_ascii(sentence, n, line) < 0) die("--sentence: invalid UTF-8");
    char *text = tg_xmalloc(strlen(line) + 8);
    sprintf(text, "%s\t-\n", line[0] ? line : "-");
    tg_pairs p;
    if (tg_pairs_parse_string("--sentence", text, NULL, &p) != TG_OK) die(tg_last_error());
    tg_tape *tp = tg_tape_new(16u << 20);
    char *hyp;
    translate_all(&t, tp, &p, &o, &hyp);

    /* Teacher-force the model on its own translation and keep the weights. */
    tg_pairs both;
    char *pair = tg_xmalloc(strlen(line) + strlen(hyp) + 8);
    sprintf(pair, "%s\t%s\n", line[0] ? line : "-", hyp[0] ? hyp : "-");
    if (tg_pairs_parse_string("--sentence", pair, NULL, &both) != TG_OK) die(tg_last_error());
    tr_batch b;
    tr_batch_alloc(&b, &both, 1);
    tr_batch_fill(&b, &both, (int64_t[]){0}, 1, &t.src_v, &t.tgt_v);
    tg_tape_set_grad(tp, 0);
    tg_tape_set_training(tp, 0);
    tg_tape_reset(tp);
    t.m.dec[layer].cross_attn.store_weights = 1;
    tg_tensor *memory = tr_encode(tp, &t.m, b.src, b.src_real, 1, b.Ls);
    tr_decode(tp, &t.m, memory, b.src_real, b.dec_in, b.tgt_real, 1, b.Lt);
    const tg_tensor *w = t.m.dec[layer].cross_attn.weights; /* [1, H, Lt, Ls] */
    int H = w->shape[1], Lt = b.Lt, Ls = b.Ls;
    double *att = tg_xcalloc(sizeof *att * (size_t)Lt * (size_t)Ls);
    for (int h = 0; h < H; h++)
        for (int i = 0; i < Lt * Ls; i++) att[i] += w->data[(size_t)h * Lt * Ls + i] / H;
    /* axis labels: the output words then <eos>; the source words */
    const char **rows = tg_xmalloc(sizeof *rows * (size_t)Lt), **cols = tg_xmalloc(sizeof *cols * (size_t)Ls);
    for (int i = 0; i < Lt; i++) rows[i] = tg_vocab_str(&t.tgt_v, b.target[i]);
    for (int j = 0; j < Ls; j++) cols[j] = tg_vocab_str(&t.src_v, b.src[j]);
    printf("source      %s\ntranslation %s\n", line, hyp);
    char title[256];
    snprintf(title, sizeof title, "cross-attention, decoder block %d (mean of %d heads)", layer, H);
    if (tg_plot_heatmap_labelled(png, att, Lt, Ls, rows, cols, title, "source (French)", "output (English)") != TG_OK)
        die(tg_last_error());
    printf("heat map (rows: output words, columns: source words) written to %s\n", png);
    free(att);
    free(rows);
    free(cols);
    free(pair);
    free(hyp);
    free(text);
    free(line);
    tr_batch_free(&b);
    tg_pairs_free(&p);
    tg_pairs_free(&both);
    tg_tape_free(tp);
    translator_free(&t);
    return 0;
}

int main(int argc, char **argv) {
    static const tg_cli_command cmds[] = {
        {"train", "split the pairs, train, select on dev BLEU, report test BLEU (greedy, beam)", cmd_train},
        {"eval", "BLEU of greedy decoding and beam search on a file of pairs", cmd_eval},
        {"translate", "French lines on stdin -> English lines on stdout", cmd_translate},
        {"attention", "the cross-attention of one sentence as a PNG heat map", cmd_attention},
    };
    if (tg_dist_init(&argc, &argv) != TG_OK) die(tg_last_error()); /* under mpirun: one rank of many */
    int rc = tg_cli_run(argc, argv, "translate", cmds, (int)(sizeof cmds / sizeof *cmds));
    tg_dist_finalize();
    return rc;
}
