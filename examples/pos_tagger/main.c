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
#include <time.h>

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

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Under MPI this ends every rank, not only the one that failed. */
static void die(const char *what) { tg_dist_abort(1, "pos_tagger: %s", what); }

/* Seconds since t0; under MPI the slowest rank's, so that every rank takes
 * the same time-budget decisions (learning rate, when to stop). */
static double elapsed(double t0) {
    double t = now() - t0;
    tg_dist_allreduce(&t, 1, TG_DIST_MAX);
    return t;
}

/* ---- prediction and scoring --------------------------------------------- */

static double accuracy(const tg_conllu *c, const int8_t *pred) {
    int64_t ok = 0;
    for (int64_t w = 0; w < c->n_words; w++) ok += pred[w] == c->upos[w];
    return c->n_words ? (double)ok / (double)c->n_words : 0.0;
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
    int epochs, batch_size, threads, min_count, warmup;
    int seed;
    double time_budget, lr, lr_min, ema;
    pos_config cfg;
} train_opts;

static int cmd_train(int argc, char **argv) {
    train_opts o = {.epochs = 100, .batch_size = 32, .threads = 0, .min_count = 2, .warmup = 200,
                    .seed = 1, .time_budget = 0, .lr = 2e-3, .lr_min = 1e-4, .ema = 0.999,
                    .cfg = {.d_word = 128, .d_char = 48, .n_filters = 256, .d_model = 128,
                            .n_layers = 2, .n_heads = 4, .d_ff = 256, .char_pool = 1, .learned_pos = 0,
                            .max_len = 512, .emb_std = 0.1f, .dropout = 0.3f, .word_dropout = 0.3f}};
    float dropout = o.cfg.dropout, word_dropout = o.cfg.word_dropout, emb_std = o.cfg.emb_std;
    const tg_cli_opt opts[] = {
        {"ud", TG_CLI_STRING, &o.ud, "UD folder holding *-ud-{train,dev,test}.conllu[.gz]"},
        {"train", TG_CLI_STRING, &o.train, "training file (overrides --ud)"},
        {"dev", TG_CLI_STRING, &o.dev, "development file, evaluated each epoch (overrides --ud)"},
        {"test", TG_CLI_STRING, &o.test, "test file, evaluated once at the end (overrides --ud)"},
        {"epochs", TG_CLI_INT, &o.epochs, "at most this many epochs"},
        {"time-budget", TG_CLI_DOUBLE, &o.time_budget, "stop training after this many seconds (0: none)"},
        {"batch-size", TG_CLI_INT, &o.batch_size, "sentences per batch (per rank under MPI)"},
        {"lr", TG_CLI_DOUBLE, &o.lr, "peak Adam learning rate"},
        {"lr-min", TG_CLI_DOUBLE, &o.lr_min, "learning rate at the end of the cosine decay"},
        {"warmup", TG_CLI_INT, &o.warmup, "linear warm-up steps"},
        {"ema", TG_CLI_DOUBLE, &o.ema, "evaluate and save an exponential moving average of the weights with this decay (0: off)"},
        {"d-model", TG_CLI_INT, &o.cfg.d_model, "Transformer width d_model"},
        {"layers", TG_CLI_INT, &o.cfg.n_layers, "encoder blocks"},
        {"heads", TG_CLI_INT, &o.cfg.n_heads, "attention heads n_heads"},
        {"d-ff", TG_CLI_INT, &o.cfg.d_ff, "MLP hidden width"},
        {"d-word", TG_CLI_INT, &o.cfg.d_word, "word embedding width"},
        {"d-char", TG_CLI_INT, &o.cfg.d_char, "character embedding width"},
        {"filters", TG_CLI_INT, &o.cfg.n_filters, "character convolution filters"},
        {"char-pool", TG_CLI_INT, &o.cfg.char_pool, "1: max-pool the character CNN; 0: attention pooling"},
        {"learned-pos", TG_CLI_INT, &o.cfg.learned_pos, "1: learned positional embedding; 0: sinusoidal"},
        {"emb-std", TG_CLI_FLOAT, &emb_std, "initial std of word and character embeddings"},
        {"dropout", TG_CLI_FLOAT, &dropout, "dropout probability"},
        {"word-dropout", TG_CLI_FLOAT, &word_dropout, "probability of replacing a training word by <unk>"},
        {"min-count", TG_CLI_INT, &o.min_count, "words seen fewer times are <unk>"},
        {"threads", TG_CLI_INT, &o.threads, "OpenMP threads (0: OMP_NUM_THREADS or all cores)"},
        {"seed", TG_CLI_INT, &o.seed, "seed of initialisation, shuffling and dropout"},
        {"save", TG_CLI_STRING, &o.save, "write the best model (by dev accuracy) here, .safetensors"},
        {"metrics-json", TG_CLI_STRING, &o.metrics_json, "write the final metrics here as one JSON object"},
        {"log-csv", TG_CLI_STRING, &o.log_csv, "write per-epoch metrics here as CSV"},
        {"tape-png", TG_CLI_STRING, &o.tape_png, "draw the tape of the first training step here (.png, .svg, .dot)"},
    };
    int r = tg_cli_subcommand(argc, argv, "pos_tagger train", opts, (int)(sizeof opts / sizeof *opts), "Trains the tagger.");
    if (r >= 0) return r;
    if (o.batch_size < 1 || o.epochs < 1 || o.warmup < 1)
        die("--batch-size, --epochs and --warmup must be >= 1");
    o.cfg.dropout = dropout;
    o.cfg.word_dropout = word_dropout;
    o.cfg.emb_std = emb_std;
    if (!tg_dist_is_root()) o.metrics_json = o.log_csv = o.tape_png = NULL; /* rank 0 reports */
    if (o.threads > 0) tg_set_num_threads(o.threads);
    char *found[3] = {NULL, NULL, NULL};
    if (o.ud) {
        const char *parts[3] = {"train", "dev", "test"};
        for (int i = 0; i < 3; i++) found[i] = ud_file(o.ud, parts[i]);
        if (!o.train) o.train = found[0];
        if (!o.dev) o.dev = found[1];
        if (!o.test) o.test = found[2];
    }
    if (!o.train) die("no training file: give --train FILE or --ud DIR (see --help)");

    double t_load = now();
    tg_conllu train_c;
    if (tg_conllu_read(o.train, TG_CONLLU_NONEMPTY, &train_c) != TG_OK) die(tg_last_error());
    tg_vocab words, chars;
    tg_vocab_build_words(&train_c, o.min_count, 0, &words);
    tg_vocab_build_chars(&train_c, 1, &chars);
    pos_batches train_b;
    pos_batches_make(&train_b, &train_c, &words, &chars, o.batch_size);
    split dev, test;
    split_load(&dev, o.dev, &words, &chars, 64, 1);
    split_load(&test, o.test, &words, &chars, 64, 1);
    o.cfg.word_vocab = words.size;
    o.cfg.char_vocab = chars.size;
    if (pos_config_check(&o.cfg) != TG_OK || pos_config_check_corpus(&o.cfg, &train_c, o.train) != TG_OK ||
        pos_config_check_corpus(&o.cfg, &dev.corpus, o.dev) != TG_OK ||
        pos_config_check_corpus(&o.cfg, &test.corpus, o.test) != TG_OK)
        die(tg_last_error());
    printf("train %s: %lld sentences, %lld words; vocabulary %d words (min count %d), %d characters\n",
           o.train, (long long)train_c.n_sents, (long long)train_c.n_words, words.size, o.min_count,
           chars.size);
    if (o.dev) printf("dev   %s: %lld sentences, %lld words\n", o.dev, (long long)dev.corpus.n_sents,
                      (long long)dev.corpus.n_words);

    pos_model m;
    pos_model_init(&m, &o.cfg, (uint64_t)o.seed);
    tg_dist_broadcast_params(&m.ps); /* every rank starts from rank 0's weights */
    if (tg_dist_rank() > 0) tg_rng_seed(&m.drop_rng, (uint64_t)o.seed * 1000003u + (uint64_t)tg_dist_rank());
    printf("model: %lld parameters, d_model %d, %d layers, %d heads, d_ff %d; %d threads x %d ranks; loaded in %.1f s\n",
           (long long)tg_params_count(&m.ps), o.cfg.d_model, o.cfg.n_layers, o.cfg.n_heads, o.cfg.d_ff,
           tg_get_num_threads(), tg_dist_world(), now() - t_load);
    fflush(stdout); /* before the progress lines on stderr */

    tg_adam opt;
    tg_adam_init(&opt, &m.ps, (float)o.lr, 0.9f, 0.999f, 1e-8f, 0.0f);
    tg_ema ema = {0};
    if (o.ema > 0) tg_ema_init(&ema, &m.ps, (float)o.ema);
    tg_tape *tp = tg_tape_new(64u << 20);
    if (o.tape_png) tg_tape_set_keep_grads(tp, 1); /* the picture shows every gradient */
    tg_rng shuffle;
    tg_rng_seed(&shuffle, (uint64_t)o.seed + 1);
    tg_batcher order; /* of the length-bucketed batches; under MPI, each rank takes one of every world */
    tg_batcher_init(&order, train_b.n_batches, 1, 0, &shuffle);
    tg_batcher_shard(&order, tg_dist_rank(), tg_dist_world());
    int8_t *dev_pred = tg_xmalloc((size_t)(dev.corpus.n_words + 1));
    tg_csv_log csv = {0};
    static const char *const csv_cols[] = {"epoch", "step", "train_loss", "dev_accuracy", "seconds"};
    if (o.log_csv && tg_csv_log_open(&csv, o.log_csv, 5, csv_cols) != TG_OK) die(tg_last_error());

    const int64_t total_steps = (int64_t)o.epochs * tg_batcher_n_batches(&order);
    double t0 = now(), train_seconds = 0, best_dev = -1, words_all = 0;
    int64_t step = 0, tokens = 0;
    int best_epoch = 0, epoch, stop = 0;
    for (epoch = 1; epoch <= o.epochs && !stop; epoch++) {
        tg_batcher_epoch(&order);
        double loss_sum = 0;
        int64_t loss_words = 0;
        tg_progress prog;
        tg_progress_start(&prog, epoch, o.epochs, tg_batcher_n_batches(&order), 100);
        if (!tg_dist_is_root()) prog.out = NULL;
        const int64_t *next;
        for (int k = 0; tg_batcher_next(&order, &next) > 0; k++) {
            const pos_batch *b = &train_b.batches[next[0]];
            /* Warm-up, then cosine decay over the budget (steps or seconds, whichever ends first). */
            double frac = total_steps ? (double)step / (double)total_steps : 0;
            const double spent = o.time_budget > 0 ? elapsed(t0) / o.time_budget : 0;
            if (spent > frac) frac = spent;
            if (frac > 1) frac = 1;
            float lr = (float)(o.lr_min + 0.5 * (o.lr - o.lr_min) * (1 + cos(3.14159265358979 * frac)));
            if (step < o.warmup) lr = (float)o.lr * (float)(step + 1) / (float)o.warmup;
            opt.lr = lr;

            tg_tape_reset(tp);
            tg_params_zero_grad(&m.ps);
            tg_tensor *logits = pos_model_forward(tp, &m, b);
            tg_tensor *loss = tg_cross_entropy(tp, logits, b->targets, -1, TG_SUM);
            if (tg_backward(tp, loss) != TG_OK) die(tg_last_error());
            tg_dist_allreduce_grads(&m.ps, TG_DIST_SUM); /* summed loss: Σ over ranks */
            if (step == 0 && o.tape_png) { /* one step of the real model, values and gradients */
                if (tg_tape_render(tp, o.tape_png, NULL) != TG_OK) die(tg_last_error());
                printf("tape of step 1 (%d nodes) drawn to %s\n", tg_tape_n_nodes(tp), o.tape_png);
                tg_tape_set_keep_grads(tp, 0);
            }
            tg_adam_step(&opt);
            if (o.ema > 0) tg_ema_update(&ema);
            step++;
            tokens += b->n_words;
            loss_sum += loss->data[0];
            loss_words += b->n_words;
            tg_progress_update(&prog, k + 1, loss->data[0] / (float)b->n_words, b->n_words);
            if (o.time_budget > 0 && elapsed(t0) >= o.time_budget) {
                stop = 1;
                break;
            }
        }
        tg_progress_end(&prog);
        train_seconds = now() - t0;
        double sums[3] = {loss_sum, (double)loss_words, (double)tokens}; /* over every rank */
        tg_dist_allreduce(sums, 3, TG_DIST_SUM);
        words_all = sums[2];
        double dev_acc = 0;
        if (o.ema > 0) tg_ema_swap(&ema); /* evaluate (and save) the averaged weights */
        if (o.dev) {
            pos_model_predict(&m, tp, &dev.batches, &dev.corpus, dev_pred);
            dev_acc = accuracy(&dev.corpus, dev_pred);
        }
        printf("epoch %d: step %lld, train loss %.4f per word, dev accuracy %.2f%%, %.0f s, %.0f words/s\n",
               epoch, (long long)step, sums[0] / (sums[1] > 0 ? sums[1] : 1), 100 * dev_acc,
               train_seconds, words_all / train_seconds);
        if (o.log_csv) {
            const double row[5] = {epoch, (double)step, sums[0] / (sums[1] > 0 ? sums[1] : 1), dev_acc,
                                   train_seconds};
            if (tg_csv_log_row(&csv, row) != TG_OK) die(tg_last_error());
        }
        if (dev_acc > best_dev || !o.dev) {
            best_dev = dev_acc;
            best_epoch = epoch;
            if (o.save && save_model(o.save, &m, &words, &chars, epoch) != TG_OK) die(tg_last_error());
        }
        if (o.ema > 0) tg_ema_swap(&ema); /* back to the training weights */
        fflush(stdout);
    }
    epoch--;
    /* Evaluate on dev and test the best model (the one saved); without --save,
     * the last epoch's weights, averaged as the per-epoch lines were. */
    if (o.save) {
        pos_model_free(&m);
        tg_vocab wv, cv;
        load_model(o.save, &m, &wv, &cv);
        tg_vocab_free(&wv);
        tg_vocab_free(&cv);
    } else if (o.ema > 0) {
        tg_ema_swap(&ema);
        best_epoch = epoch;
    }
    double dev_acc = 0, test_acc = 0;
    if (o.dev) {
        pos_model_predict(&m, tp, &dev.batches, &dev.corpus, dev_pred);
        dev_acc = accuracy(&dev.corpus, dev_pred);
    }
    if (o.test) {
        int8_t *pred = tg_xmalloc((size_t)test.corpus.n_words + 1);
        pos_model_predict(&m, tp, &test.batches, &test.corpus, pred);
        test_acc = accuracy(&test.corpus, pred);
        free(pred);
    }
    printf("best epoch %d of %d: dev UPOS accuracy %.2f%%", best_epoch, epoch, 100 * dev_acc);
    if (o.test) printf(", test UPOS accuracy %.2f%%", 100 * test_acc);
    printf("; training %.0f s, %.0f words/s\n", train_seconds, words_all / train_seconds);
    if (tg_dist_world() > 1) {
        tg_dist_stats ds = tg_dist_get_stats();
        const double calls = (double)(ds.calls ? ds.calls : 1);
        printf("gradient all-reduce on rank 0: %.2f ms per step for %.1f MB, + %.2f ms waiting for the slower "
               "rank (%.1f%% and %.1f%% of training time)\n", 1e3 * ds.seconds / calls, ds.bytes / calls / 1e6,
               1e3 * ds.wait_seconds / calls, 100 * ds.seconds / train_seconds, 100 * ds.wait_seconds / train_seconds);
    }
    if (o.metrics_json) {
        static const char *const names[] = {"dev_accuracy", "test_accuracy", "train_seconds",
                                            "train_words_per_second", "epochs", "best_epoch", "steps",
                                            "parameters"};
        const double values[] = {dev_acc, o.test ? test_acc : NAN, train_seconds,
                                 words_all / train_seconds, epoch, best_epoch, (double)step,
                                 (double)tg_params_count(&m.ps)};
        if (tg_metrics_json_write(o.metrics_json, 8, names, values) != TG_OK) die(tg_last_error());
    }
    if (o.log_csv && tg_csv_log_close(&csv) != TG_OK) die(tg_last_error());
    tg_batcher_free(&order);
    free(dev_pred);
    tg_tape_free(tp);
    tg_adam_free(&opt);
    if (o.ema > 0) tg_ema_free(&ema);
    pos_model_free(&m);
    split_free(&dev);
    split_free(&test);
    pos_batches_free(&train_b);
    tg_vocab_free(&words);
    tg_vocab_free(&chars);
    tg_conllu_free(&train_c);
    for (int i = 0; i < 3; i++) free(found[i]);
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
        {"confusion-png", TG_CLI_STRING, &png, "write the confusion matrix as a PNG heat map here"},
        {"metrics-json", TG_CLI_STRING, &metrics_json, "write accuracy and per-tag F1 here as JSON"},
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
    double acc = accuracy(c, pred);
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
    const char *usage =
        "usage: pos_tagger <command> [options]   (pos_tagger <command> --help for options)\n"
        "commands:\n"
        "  train     train on a UD treebank (--ud DIR or --train/--dev FILE), save the best model\n"
        "  eval      UPOS accuracy, per-tag precision/recall/F1, confusion matrix PNG\n"
        "  tag       tag raw whitespace-tokenised text (stdin) into CoNLL-U (stdout)\n"
        "  baseline  the most-frequent-tag baseline on the same split\n";
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (tg_dist_init(&argc, &argv) != TG_OK) die(tg_last_error()); /* under mpirun: one rank of many */
    int rc = 2;
    if (!strcmp(argv[1], "train")) rc = cmd_train(argc - 1, argv + 1);
    else if (!strcmp(argv[1], "eval")) rc = cmd_eval(argc - 1, argv + 1);
    else if (!strcmp(argv[1], "tag")) rc = cmd_tag(argc - 1, argv + 1);
    else if (!strcmp(argv[1], "baseline")) rc = cmd_baseline(argc - 1, argv + 1);
    else fprintf(stderr, "pos_tagger: unknown command '%s'\n%s", argv[1], usage);
    tg_dist_finalize();
    return rc;
}
