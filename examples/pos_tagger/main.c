/* examples/pos_tagger/main.c — part-of-speech tagging (UPOS) on Universal
 * Dependencies with a Transformer encoder over words and their characters.
 *
 *   build/pos_tagger train --ud data/ud_english_ewt --time-budget 480 --save pos.safetensors
 *   build/pos_tagger eval  --model pos.safetensors --data data/ud_english_ewt/en_ewt-ud-test.conllu.gz
 *   echo "I saw a saw ." | build/pos_tagger tag --model pos.safetensors
 *   mpirun -np 2 build/mpi/pos_tagger train ...   (make MPI=1; docs/distributed.md)
 *
 * Run `build/pos_tagger <command> --help` for every option and its default.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/conllu.h"
#include "data/vocab.h"
#include "examples/pos_tagger/corpus.h"
#include "examples/pos_tagger/model.h"
#include "optim/optim.h"
#include "tapegrad.h"
#include "train/checkpoint.h"
#include "train/cli.h"
#include "train/dist.h"
#include "train/log.h"
#include "train/plot.h"

/* Under MPI this ends every rank, not only the one that failed. */
static void die(const char *what) { tg_dist_abort(1, "pos_tagger: %s", what); }

/* Seconds since t0; under MPI the slowest rank's, so that every rank takes
 * the same time-budget decisions (learning rate, when to stop). */
static double elapsed(double t0) {
    double t = tg_now() - t0;
    tg_dist_allreduce(&t, 1, TG_DIST_MAX);
    return t;
}

/* ---- the data a run needs ----------------------------------------------- */

typedef struct {
    tg_conllu corpus;
    pos_batches batches;
} split;

static void split_load(split *s, const char *path, const tg_vocab *words, const tg_vocab *chars,
                       int batch_size, int labelled) {
    memset(s, 0, sizeof *s);
    if (!path) return;
    tg_status st = labelled ? tg_conllu_read(path, 0, &s->corpus) : tg_conllu_read_tokens(path, &s->corpus);
    if (st != TG_OK) die(tg_last_error());
    pos_batches_make(&s->batches, &s->corpus, words, chars, batch_size);
}

static void split_free(split *s) {
    pos_batches_free(&s->batches);
    tg_conllu_free(&s->corpus);
}

/* Finds <dir>/en_ewt-ud-<part>.conllu[.gz]. */
static char *ud_file(const char *dir, const char *part) {
    static const char *const prefixes[] = {"en_ewt", NULL};
    char path[4096];
    for (int i = 0; prefixes[i]; i++) {
        for (int gz = 1; gz >= 0; gz--) {
            snprintf(path, sizeof path, "%s/%s-ud-%s.conllu%s", dir, prefixes[i], part, gz ? ".gz" : "");
            FILE *f = fopen(path, "rb");
            if (f) {
                fclose(f);
                return strdup(path);
            }
        }
    }
    return NULL;
}

/* ---- checkpoints: parameters + configuration + vocabularies -------------- */

static tg_status save_model(const char *path, pos_model *m, const tg_vocab *words, const tg_vocab *chars,
                            int64_t epoch) {
    tg_checkpoint_extra ex = {0};
    char *cfg = pos_config_to_json(&m->cfg), *wv = tg_vocab_to_string(words), *cv = tg_vocab_to_string(chars);
    tg_checkpoint_meta_set(&ex, "model", "pos_tagger");
    tg_checkpoint_meta_set(&ex, "config", cfg);
    tg_checkpoint_meta_set(&ex, "word_vocab", wv);
    tg_checkpoint_meta_set(&ex, "char_vocab", cv);
    ex.epoch = epoch;
    tg_status st = tg_dist_checkpoint_save(path, &m->ps, &ex); /* rank 0 writes */
    tg_checkpoint_extra_free(&ex);
    free(cfg);
    free(wv);
    free(cv);
    return st;
}

/* Reads and checks the configuration and vocabularies, builds the model,
 * loads the parameters (pos_model_load: nothing is built from a bad file). */
static void load_model(const char *path, pos_model *m, tg_vocab *words, tg_vocab *chars) {
    if (pos_model_load(path, m, words, chars) != TG_OK) die(tg_last_error());
}

/* ---- train --------------------------------------------------------------- */

typedef struct {
    const char *train, *dev, *test, *ud, *save, *metrics_json, *log_csv, *tape_png;
    int epochs, batch_size, threads, min_count, warmup, patience, max_steps;
    int seed;
    double time_budget, lr, lr_min, ema, label_smoothing;
    pos_config cfg;
    char *found[3]; /* the files found under --ud, owned */
} train_opts;

/* The options of `train`, with their defaults; returns -1 to go on, or the
 * exit status (--help, a bad option). */
static int train_opts_parse(train_opts *o, int argc, char **argv) {
    *o = (train_opts){.epochs = 30, .batch_size = 32, .threads = 0, .min_count = 2, .warmup = 200,
                      .patience = 0, .max_steps = 0, .seed = 1, .time_budget = 0, .lr = 2e-3,
                      .lr_min = 1e-4, .ema = 0.999, .label_smoothing = 0,
                      .cfg = {.d_word = 128, .d_char = 48, .n_filters = 128, .char_kw_min = 2, .char_kw_max = 5, .d_model = 128,
                              .n_layers = 2, .n_heads = 4, .d_ff = 256, .char_pool = 1,
                              .learned_pos = 0, .max_len = 512, .emb_std = 0.1f, .dropout = 0.3f,
                              .word_dropout = 0.3f}};
    const tg_cli_opt opts[] = {
        {"ud", TG_CLI_STRING, &o->ud, "UD folder holding *-ud-{train,dev,test}.conllu[.gz]"},
        {"train", TG_CLI_STRING, &o->train, "training file (overrides --ud)"},
        {"dev", TG_CLI_STRING, &o->dev, "development file, evaluated each epoch (overrides --ud)"},
        {"test", TG_CLI_STRING, &o->test, "test file, evaluated once at the end (overrides --ud)"},
        {"epochs", TG_CLI_INT, &o->epochs, "epochs; the learning-rate schedule spans them"},
        {"time-budget", TG_CLI_DOUBLE, &o->time_budget, "guard: stop training after this many seconds (0: none); the schedule does not depend on it"},
        {"max-steps", TG_CLI_INT, &o->max_steps, "stop after this many steps (0: none; for benchmarks)"},
        {"patience", TG_CLI_INT, &o->patience, "stop after this many epochs without a better dev accuracy (0: never)"},
        {"batch-size", TG_CLI_INT, &o->batch_size, "sentences per batch (per rank under MPI)"},
        {"lr", TG_CLI_DOUBLE, &o->lr, "peak Adam learning rate"},
        {"lr-min", TG_CLI_DOUBLE, &o->lr_min, "learning rate at the end of the cosine decay"},
        {"warmup", TG_CLI_INT, &o->warmup, "linear warm-up steps"},
        {"label-smoothing", TG_CLI_DOUBLE, &o->label_smoothing, "label smoothing ε of the cross-entropy (0: off)"},
        {"ema", TG_CLI_DOUBLE, &o->ema, "evaluate and save an exponential moving average of the weights with this decay (0: off)"},
        {"d-model", TG_CLI_INT, &o->cfg.d_model, "Transformer width d_model"},
        {"layers", TG_CLI_INT, &o->cfg.n_layers, "encoder blocks"},
        {"heads", TG_CLI_INT, &o->cfg.n_heads, "attention heads n_heads"},
        {"d-ff", TG_CLI_INT, &o->cfg.d_ff, "MLP hidden width"},
        {"d-word", TG_CLI_INT, &o->cfg.d_word, "word embedding width"},
        {"words-only", TG_CLI_INT, &o->cfg.words_only, "1: word embeddings only, no character CNN (needs --d-word = --d-model); 0: both"},
        {"d-char", TG_CLI_INT, &o->cfg.d_char, "character embedding width"},
        {"filters", TG_CLI_INT, &o->cfg.n_filters, "character convolution filters (of each width)"},
        {"char-kw-min", TG_CLI_INT, &o->cfg.char_kw_min, "narrowest character convolution (characters per window)"},
        {"char-kw-max", TG_CLI_INT, &o->cfg.char_kw_max, "widest character convolution; one convolution of n_filters per width in between"},
        {"char-pool", TG_CLI_INT, &o->cfg.char_pool, "1: max-pool the character CNN; 0: attention pooling"},
        {"learned-pos", TG_CLI_INT, &o->cfg.learned_pos, "1: learned positional embedding; 0: sinusoidal"},
        {"emb-std", TG_CLI_FLOAT, &o->cfg.emb_std, "initial std of word and character embeddings"},
        {"dropout", TG_CLI_FLOAT, &o->cfg.dropout, "dropout probability"},
        {"word-dropout", TG_CLI_FLOAT, &o->cfg.word_dropout, "probability of replacing a training word by <unk>"},
        {"min-count", TG_CLI_INT, &o->min_count, "words seen fewer times are <unk>"},
        {"threads", TG_CLI_INT, &o->threads, "OpenMP threads (0: OMP_NUM_THREADS or all cores)"},
        {"seed", TG_CLI_INT, &o->seed, "seed of initialisation, shuffling and dropout"},
        {"save", TG_CLI_OUTPUT, &o->save, "write the best model (by dev accuracy) here, .safetensors"},
        {"metrics-json", TG_CLI_OUTPUT, &o->metrics_json, "write the final metrics here as one JSON object"},
        {"log-csv", TG_CLI_OUTPUT, &o->log_csv, "write per-epoch metrics here as CSV"},
        {"tape-png", TG_CLI_OUTPUT, &o->tape_png, "draw the tape of the first training step here (.png, .svg, .dot)"},
    };
    int r = tg_cli_subcommand(argc, argv, "pos_tagger train", opts, (int)(sizeof opts / sizeof *opts), "Trains the tagger.");
    if (r >= 0) return r;
    if (o->batch_size < 1 || o->epochs < 1 || o->warmup < 1 || o->patience < 0 || o->max_steps < 0)
        die("--batch-size, --epochs and --warmup must be >= 1, --patience and --max-steps >= 0");
    if (!tg_dist_is_root()) o->metrics_json = o->log_csv = o->tape_png = NULL; /* rank 0 reports */
    if (o->ud) {
        const char *parts[3] = {"train", "dev", "test"};
        for (int i = 0; i < 3; i++) o->found[i] = ud_file(o->ud, parts[i]);
        if (!o->train) o->train = o->found[0];
        if (!o->dev) o->dev = o->found[1];
        if (!o->test) o->test = o->found[2];
    }
    if (!o->train) die("no training file: give --train FILE or --ud DIR (see --help)");
    return -1;
}

/* The corpora, their vocabularies (from the training file) and batches. */
typedef struct {
    tg_conllu train_c;
    tg_vocab words, chars;
    pos_batches train_b;
    split dev, test;
} train_data;

static void train_data_load(train_data *d, const train_opts *o) {
    if (tg_conllu_read(o->train, TG_CONLLU_NONEMPTY, &d->train_c) != TG_OK) die(tg_last_error());
    tg_vocab_build_words(&d->train_c, o->min_count, 0, &d->words);
    tg_vocab_build_chars(&d->train_c, 1, &d->chars);
    pos_batches_make(&d->train_b, &d->train_c, &d->words, &d->chars, o->batch_size);
    split_load(&d->dev, o->dev, &d->words, &d->chars, 64, 1);
    split_load(&d->test, o->test, &d->words, &d->chars, 64, 1);
    printf("train %s: %lld sentences, %lld words; vocabulary %d words (min count %d), %d characters\n",
           o->train, (long long)d->train_c.n_sents, (long long)d->train_c.n_words, d->words.size,
           o->min_count, d->chars.size);
    if (o->dev) printf("dev   %s: %lld sentences, %lld words\n", o->dev, (long long)d->dev.corpus.n_sents,
                       (long long)d->dev.corpus.n_words);
}

static void train_data_free(train_data *d) {
    split_free(&d->dev);
    split_free(&d->test);
    pos_batches_free(&d->train_b);
    tg_vocab_free(&d->words);
    tg_vocab_free(&d->chars);
    tg_conllu_free(&d->train_c);
}

/* What a training run holds and counts. */
typedef struct {
    pos_model m;
    tg_adam opt;
    tg_ema ema;            /* used when ema_on */
    int ema_on;
    tg_tape *tp;
    tg_rng shuffle;
    tg_batcher order;      /* of the length-bucketed batches; under MPI each rank takes one of every world */
    int64_t step, total_steps;
    double t0, seconds, words_all; /* training clock; words over every rank */
    int out_of_budget;     /* the time or step guard ended the run */
} trainer;

static void trainer_init(trainer *t, train_opts *o, const train_data *d) {
    memset(t, 0, sizeof *t);
    double t_load = tg_now();
    o->cfg.word_vocab = d->words.size;
    o->cfg.char_vocab = d->chars.size;
    if (pos_config_check(&o->cfg) != TG_OK || pos_config_check_corpus(&o->cfg, &d->train_c, o->train) != TG_OK ||
        pos_config_check_corpus(&o->cfg, &d->dev.corpus, o->dev) != TG_OK ||
        pos_config_check_corpus(&o->cfg, &d->test.corpus, o->test) != TG_OK)
        die(tg_last_error());
    pos_model_init(&t->m, &o->cfg, (uint64_t)o->seed);
    tg_dist_broadcast_params(&t->m.ps); /* every rank starts from rank 0's weights */
    if (tg_dist_rank() > 0) tg_rng_seed(&t->m.drop_rng, (uint64_t)o->seed * 1000003u + (uint64_t)tg_dist_rank());
    printf("model: %lld parameters, d_model %d, %d layers, %d heads, d_ff %d; %d threads x %d ranks; built in %.1f s\n",
           (long long)tg_params_count(&t->m.ps), o->cfg.d_model, o->cfg.n_layers, o->cfg.n_heads, o->cfg.d_ff,
           tg_get_num_threads(), tg_dist_world(), tg_now() - t_load);
    fflush(stdout); /* before the progress lines on stderr */
    tg_adam_init(&t->opt, &t->m.ps, (float)o->lr, 0.9f, 0.999f, 1e-8f, 0.0f);
    t->ema_on = o->ema > 0;
    if (t->ema_on) tg_ema_init(&t->ema, &t->m.ps, (float)o->ema);
    t->tp = tg_tape_new(64u << 20);
    if (o->tape_png) tg_tape_set_keep_grads(t->tp, 1); /* the picture shows every gradient */
    tg_rng_seed(&t->shuffle, (uint64_t)o->seed + 1);
    tg_batcher_init(&t->order, d->train_b.n_batches, 1, 0, &t->shuffle);
    tg_batcher_shard(&t->order, tg_dist_rank(), tg_dist_world());
    t->total_steps = (int64_t)o->epochs * tg_batcher_n_batches(&t->order);
}

static void trainer_free(trainer *t) {
    tg_batcher_free(&t->order);
    tg_tape_free(t->tp);
    tg_adam_free(&t->opt);
    if (t->ema_on) tg_ema_free(&t->ema);
    pos_model_free(&t->m);
}

/* One optimizer step on batch b; returns the summed loss. */
static float train_step(trainer *t, const train_opts *o, const pos_batch *b) {
    /* Warm-up, then cosine decay over the epochs: by steps, so the run does
     * not depend on the machine's speed. */
    t->opt.lr = tg_lr_warmup_cosine_frac(t->step, (double)t->step / (double)t->total_steps, o->lr, o->lr_min,
                                         o->warmup);
    tg_tape_reset(t->tp);
    tg_params_zero_grad(&t->m.ps);
    tg_tensor *logits = pos_model_forward(t->tp, &t->m, b);
    tg_tensor *loss = tg_cross_entropy_smoothed(t->tp, logits, b->targets, -1, TG_SUM, (float)o->label_smoothing);
    if (tg_backward(t->tp, loss) != TG_OK) die(tg_last_error());
    tg_dist_allreduce_grads(&t->m.ps, TG_DIST_SUM); /* summed loss: Σ over ranks */
    if (t->step == 0 && o->tape_png) { /* one step of the real model, values and gradients */
        if (tg_tape_render(t->tp, o->tape_png, NULL) != TG_OK) die(tg_last_error());
        printf("tape of step 1 (%d nodes) drawn to %s\n", tg_tape_n_nodes(t->tp), o->tape_png);
        tg_tape_set_keep_grads(t->tp, 0);
    }
    tg_adam_step(&t->opt);
    if (t->ema_on) tg_ema_update(&t->ema);
    t->step++;
    return loss->data[0];
}

/* One epoch over the shuffled batches; returns the mean training loss per
 * word over every rank.  Sets t->out_of_budget when a guard ends it. */
static double train_epoch(trainer *t, const train_opts *o, const train_data *d, int epoch) {
    tg_batcher_epoch(&t->order);
    double sums[3] = {0, 0, 0}; /* loss, words, words of every epoch so far (this rank) */
    tg_progress prog;
    tg_progress_start(&prog, epoch, o->epochs, tg_batcher_n_batches(&t->order), 100);
    if (!tg_dist_is_root()) prog.out = NULL;
    const int64_t *next;
    for (int k = 0; tg_batcher_next(&t->order, &next) > 0; k++) {
        const pos_batch *b = &d->train_b.batches[next[0]];
        float loss = train_step(t, o, b);
        sums[0] += loss;
        sums[1] += b->n_words;
        tg_progress_update(&prog, k + 1, loss / (float)b->n_words, b->n_words);
        if ((o->time_budget > 0 && elapsed(t->t0) >= o->time_budget) ||
            (o->max_steps > 0 && t->step >= o->max_steps)) {
            t->out_of_budget = 1;
            break;
        }
    }
    tg_progress_end(&prog);
    t->seconds = tg_now() - t->t0;
    tg_dist_allreduce(sums, 2, TG_DIST_SUM); /* over every rank */
    t->words_all += sums[1];
    return sums[0] / (sums[1] > 0 ? sums[1] : 1);
}

/* The model to evaluate: the averaged weights when EMA is on. */
static void use_averaged(trainer *t) {
    if (t->ema_on) tg_ema_swap(&t->ema);
}

/* Final scores of the best model (the one saved; without --save the last
 * epoch's weights, averaged as the per-epoch lines were). */
static void final_scores(trainer *t, const train_opts *o, const train_data *d, double *dev_acc,
                         double *test_acc) {
    if (o->save) {
        pos_model_free(&t->m);
        tg_vocab wv, cv;
        load_model(o->save, &t->m, &wv, &cv);
        tg_vocab_free(&wv);
        tg_vocab_free(&cv);
    } else {
        use_averaged(t);
    }
    *dev_acc = o->dev ? pos_model_accuracy(&t->m, t->tp, &d->dev.batches) : 0;
    *test_acc = o->test ? pos_model_accuracy(&t->m, t->tp, &d->test.batches) : NAN;
}

static void print_dist_stats(double train_seconds) {
    if (tg_dist_world() <= 1) return;
    tg_dist_stats ds = tg_dist_get_stats();
    const double calls = (double)(ds.calls ? ds.calls : 1);
    printf("gradient all-reduce on rank 0: %.2f ms per step for %.1f MB, + %.2f ms waiting for the slower "
           "rank (%.1f%% and %.1f%% of training time)\n", 1e3 * ds.seconds / calls, ds.bytes / calls / 1e6,
           1e3 * ds.wait_seconds / calls, 100 * ds.seconds / train_seconds, 100 * ds.wait_seconds / train_seconds);
}

static int cmd_train(int argc, char **argv) {
    train_opts o;
    int r = train_opts_parse(&o, argc, argv);
    if (r >= 0) return r;
    if (o.threads > 0) tg_set_num_threads(o.threads);
    train_data d = {0};
    train_data_load(&d, &o);
    trainer t;
    trainer_init(&t, &o, &d);
    tg_csv_log csv = {0};
    static const char *const csv_cols[] = {"epoch", "step", "train_loss", "dev_accuracy", "seconds"};
    if (o.log_csv && tg_csv_log_open(&csv, o.log_csv, 5, csv_cols) != TG_OK) die(tg_last_error());
    tg_early_stop es; /* tracks the best dev epoch; stops only with --patience */
    tg_early_stop_init(&es, TG_MAXIMIZE, o.patience > 0 ? o.patience : o.epochs, 0.0);

    t.t0 = tg_now();
    int epoch = 0;
    while (epoch < o.epochs && !t.out_of_budget && !tg_early_stop_should_stop(&es)) {
        epoch++;
        double loss = train_epoch(&t, &o, &d, epoch);
        use_averaged(&t); /* evaluate (and save) the averaged weights */
        double dev_acc = o.dev ? pos_model_accuracy(&t.m, t.tp, &d.dev.batches) : 0;
        printf("epoch %d: step %lld, train loss %.4f per word, dev accuracy %.2f%%, %.0f s, %.0f words/s\n",
               epoch, (long long)t.step, loss, 100 * dev_acc, t.seconds, t.words_all / t.seconds);
        const double row[5] = {epoch, (double)t.step, loss, dev_acc, t.seconds};
        if (o.log_csv && tg_csv_log_row(&csv, row) != TG_OK) die(tg_last_error());
        /* without a dev file every epoch is the best so far */
        if (tg_early_stop_update(&es, epoch, o.dev ? dev_acc : (double)epoch) && o.save &&
            save_model(o.save, &t.m, &d.words, &d.chars, epoch) != TG_OK)
            die(tg_last_error());
        use_averaged(&t); /* back to the training weights */
        fflush(stdout);
    }
    int best_epoch = o.save ? es.best_epoch : epoch;
    double dev_acc, test_acc;
    final_scores(&t, &o, &d, &dev_acc, &test_acc);
    printf("best epoch %d of %d: dev UPOS accuracy %.2f%%", best_epoch, epoch, 100 * dev_acc);
    if (o.test) printf(", test UPOS accuracy %.2f%%", 100 * test_acc);
    printf("; training %.0f s, %.0f words/s\n", t.seconds, t.words_all / t.seconds);
    print_dist_stats(t.seconds);
    if (o.metrics_json) {
        static const char *const names[] = {"dev_accuracy", "test_accuracy", "train_seconds",
                                            "train_words_per_second", "epochs", "best_epoch", "steps",
                                            "parameters"};
        const double values[] = {dev_acc, test_acc, t.seconds, t.words_all / t.seconds, epoch, best_epoch,
                                 (double)t.step, (double)tg_params_count(&t.m.ps)};
        if (tg_metrics_json_write(o.metrics_json, 8, names, values) != TG_OK) die(tg_last_error());
    }
    if (o.log_csv && tg_csv_log_close(&csv) != TG_OK) die(tg_last_error());
    trainer_free(&t);
    train_data_free(&d);
    for (int i = 0; i < 3; i++) free(o.found[i]);
    return 0;
}

/* A model run over a file: the model, its vocabularies, the data, the tags. */
typedef struct {
    pos_model m;
    tg_vocab words, chars;
    split s;
    int8_t *pred; /* [s.corpus.n_words] */
} tagged;

static void tagged_run(tagged *r, const char *model, const char *path, int labelled) {
    load_model(model, &r->m, &r->words, &r->chars);
    split_load(&r->s, path, &r->words, &r->chars, 64, labelled);
    if (pos_config_check_corpus(&r->m.cfg, &r->s.corpus, path) != TG_OK) die(tg_last_error());
    r->pred = tg_xmalloc((size_t)r->s.corpus.n_words + 1);
    tg_tape *tp = tg_tape_new(16u << 20);
    pos_model_predict(&r->m, tp, &r->s.batches, &r->s.corpus, r->pred);
    tg_tape_free(tp);
}

static void tagged_free(tagged *r) {
    free(r->pred);
    split_free(&r->s);
    pos_model_free(&r->m);
    tg_vocab_free(&r->words);
    tg_vocab_free(&r->chars);
}

/* ---- eval ----------------------------------------------------------------- */

static int cmd_eval(int argc, char **argv) {
    const char *model = NULL, *data = NULL, *png = NULL, *metrics_json = NULL;
    int threads = 0;
    const tg_cli_opt opts[] = {
        {"model", TG_CLI_STRING, &model, "a model written by `train --save` (required)"},
        {"data", TG_CLI_STRING, &data, "CoNLL-U file to tag and score, plain or .gz (required)"},
        {"confusion-png", TG_CLI_OUTPUT, &png, "write the confusion matrix as a PNG heat map here"},
        {"metrics-json", TG_CLI_OUTPUT, &metrics_json, "write accuracy and per-tag F1 here as JSON"},
        {"threads", TG_CLI_INT, &threads, "OpenMP threads (0: default)"},
    };
    int r = tg_cli_subcommand(argc, argv, "pos_tagger eval", opts, (int)(sizeof opts / sizeof *opts), "Scores a model on a labelled file.");
    if (r >= 0) return r;
    if (!model || !data) die("eval needs --model and --data (see --help)");
    if (!tg_dist_is_root()) png = metrics_json = NULL; /* rank 0 writes */
    if (threads > 0) tg_set_num_threads(threads);
    tagged run;
    tagged_run(&run, model, data, 1);
    const tg_conllu *c = &run.s.corpus;
    const int8_t *pred = run.pred;
    int64_t conf[TG_UPOS_COUNT][TG_UPOS_COUNT] = {{0}};
    for (int64_t w = 0; w < c->n_words; w++) conf[c->upos[w]][pred[w]]++;
    int64_t right = 0;
    for (int y = 0; y < TG_UPOS_COUNT; y++) right += conf[y][y];
    double acc = c->n_words ? (double)right / (double)c->n_words : 0.0;
    int64_t n_unk = 0, unk_ok = 0; /* words the model knows only through their characters */
    for (int64_t w = 0; w < c->n_words; w++)
        if (tg_vocab_word_id(&run.words, tg_conllu_form(c, w), (size_t)tg_conllu_form_len(c, w)) == TG_VOCAB_UNK) {
            n_unk++;
            unk_ok += pred[w] == c->upos[w];
        }
    printf("%s: %lld words, UPOS accuracy %.2f%%; on the %lld words outside the word vocabulary "
           "%.2f%%\n\n", data, (long long)c->n_words, 100 * acc, (long long)n_unk,
           n_unk ? 100.0 * (double)unk_ok / (double)n_unk : 0.0);
    printf("%-6s %9s %9s %9s %8s\n", "tag", "precision", "recall", "F1", "support");
    const char *names[1 + TG_UPOS_COUNT];
    char keys[TG_UPOS_COUNT][16];
    double values[1 + TG_UPOS_COUNT];
    names[0] = "accuracy";
    values[0] = acc;
    for (int y = 0; y < TG_UPOS_COUNT; y++) {
        int64_t tp_ = conf[y][y], gold = 0, predicted = 0;
        for (int z = 0; z < TG_UPOS_COUNT; z++) {
            gold += conf[y][z];
            predicted += conf[z][y];
        }
        double p = predicted ? (double)tp_ / (double)predicted : 0, r = gold ? (double)tp_ / (double)gold : 0;
        double f1 = p + r > 0 ? 2 * p * r / (p + r) : 0;
        printf("%-6s %9.4f %9.4f %9.4f %8lld\n", tg_upos_name(y), p, r, f1, (long long)gold);
        snprintf(keys[y], sizeof keys[y], "f1_%s", tg_upos_name(y));
        names[1 + y] = keys[y];
        values[1 + y] = f1;
    }
    if (png) {
        if (tg_plot_heatmap(png, &conf[0][0], TG_UPOS_COUNT, TG_UPOS_COUNT, tg_upos_names, tg_upos_names) != TG_OK)
            die(tg_last_error());
        printf("\nconfusion matrix (rows gold, columns predicted) written to %s\n", png);
    }
    if (metrics_json && tg_metrics_json_write(metrics_json, 1 + TG_UPOS_COUNT, names, values) != TG_OK)
        die(tg_last_error());
    tagged_free(&run);
    return 0;
}

/* ---- tag ------------------------------------------------------------------- */

static int cmd_tag(int argc, char **argv) {
    const char *model = NULL, *input = "-";
    int threads = 0;
    const tg_cli_opt opts[] = {
        {"model", TG_CLI_STRING, &model, "a model written by `train --save` (required)"},
        {"input", TG_CLI_STRING, &input, "text file, one whitespace-tokenised sentence per line (- : stdin)"},
        {"threads", TG_CLI_INT, &threads, "OpenMP threads (0: default)"},
    };
    int r = tg_cli_subcommand(argc, argv, "pos_tagger tag", opts, (int)(sizeof opts / sizeof *opts),
                       "Tags raw text: one sentence per line, tokens separated by spaces; writes "
                       "CoNLL-U with the UPOS column filled.");
    if (r >= 0) return r;
    if (!model) die("tag needs --model (see --help)");
    if (threads > 0) tg_set_num_threads(threads);
    tagged run;
    tagged_run(&run, model, input, 0);
    if (tg_conllu_write(stdout, "<stdout>", &run.s.corpus, run.pred) != TG_OK) die(tg_last_error());
    tagged_free(&run);
    return 0;
}

/* ---- baseline: the most frequent tag of each word -------------------------- */

static int cmd_baseline(int argc, char **argv) {
    const char *train = NULL, *data = NULL;
    const tg_cli_opt opts[] = {
        {"train", TG_CLI_STRING, &train, "training file the tag counts come from (required)"},
        {"data", TG_CLI_STRING, &data, "file to score (required)"},
    };
    int r = tg_cli_subcommand(argc, argv, "pos_tagger baseline", opts, (int)(sizeof opts / sizeof *opts),
                       "Scores the most-frequent-tag baseline: each word gets the tag it has most "
                       "often in the training file; unseen words get the most frequent tag overall.");
    if (r >= 0) return r;
    if (!train || !data) die("baseline needs --train and --data (see --help)");
    tg_conllu tc, dc;
    if (tg_conllu_read(train, TG_CONLLU_NONEMPTY, &tc) != TG_OK || tg_conllu_read(data, 0, &dc) != TG_OK) die(tg_last_error());
    tg_vocab v;
    tg_vocab_build_words(&tc, 1, 0, &v);
    int64_t *counts = tg_xcalloc((size_t)v.size * TG_UPOS_COUNT * sizeof *counts);
    int64_t overall[TG_UPOS_COUNT] = {0};
    for (int64_t w = 0; w < tc.n_words; w++) {
        int32_t id = tg_vocab_word_id(&v, tg_conllu_form(&tc, w), (size_t)tg_conllu_form_len(&tc, w));
        counts[(size_t)id * TG_UPOS_COUNT + tc.upos[w]]++;
        overall[tc.upos[w]]++;
    }
    int top = 0;
    for (int y = 1; y < TG_UPOS_COUNT; y++)
        if (overall[y] > overall[top]) top = y;
    int64_t ok = 0, unseen = 0, unseen_ok = 0;
    for (int64_t w = 0; w < dc.n_words; w++) {
        int32_t id = tg_vocab_word_id(&v, tg_conllu_form(&dc, w), (size_t)tg_conllu_form_len(&dc, w));
        int best = top;
        if (id != TG_VOCAB_UNK) {
            const int64_t *c = counts + (size_t)id * TG_UPOS_COUNT;
            for (int y = 0; y < TG_UPOS_COUNT; y++)
                if (c[y] > c[best]) best = y;
        } else {
            unseen++;
            unseen_ok += best == dc.upos[w];
        }
        ok += best == dc.upos[w];
    }
    printf("most-frequent-tag baseline on %s: UPOS accuracy %.2f%% (%lld words; %lld unseen in training, "
           "%.2f%% of them right as %s)\n",
           data, 100.0 * (double)ok / (double)dc.n_words, (long long)dc.n_words, (long long)unseen,
           unseen ? 100.0 * (double)unseen_ok / (double)unseen : 0.0, tg_upos_name(top));
    free(counts);
    tg_vocab_free(&v);
    tg_conllu_free(&tc);
    tg_conllu_free(&dc);
    return 0;
}

int main(int argc, char **argv) {
    static const tg_cli_command cmds[] = {
        {"train", "train on a UD treebank (--ud DIR or --train/--dev FILE), save the best model", cmd_train},
        {"eval", "UPOS accuracy, per-tag precision/recall/F1, confusion matrix PNG", cmd_eval},
        {"tag", "tag raw whitespace-tokenised text (stdin) into CoNLL-U (stdout)", cmd_tag},
        {"baseline", "the most-frequent-tag baseline on the same split", cmd_baseline},
    };
    if (tg_dist_init(&argc, &argv) != TG_OK) die(tg_last_error()); /* under mpirun: one rank of many */
    int rc = tg_cli_run(argc, argv, "pos_tagger", cmds, (int)(sizeof cmds / sizeof *cmds));
    tg_dist_finalize();
    return rc;
}
