/* examples/vit/main.c — image classification with a Vision Transformer
 * (Dosovitskiy et al. 2021): an image is cut into P×P patches, each patch a
 * vector, and a Transformer encoder attends over the patches.
 *
 *   build/vit train --data mnist --save runs/vit.safetensors
 *   build/vit eval --model runs/vit.safetensors --data mnist --confusion-png runs/confusion.png
 *   build/vit predict --model runs/vit.safetensors digit.png
 *   build/vit attention --model runs/vit.safetensors --data mnist --out runs/attention
 *
 * Run `build/vit <command> --help` for every option and its default;
 * docs/vit.md explains the model, the defaults and the pictures.
 * Data-parallel under MPI (make MPI=1; docs/distributed.md):
 *   mpirun -np 2 build/mpi/vit train --batch-size 64 ...   (64 images per rank)
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/image.h"
#include "data/png.h"
#include "examples/vit/dataset.h"
#include "examples/vit/model.h"
#include "tapegrad.h"
#include "train/dist.h"

/* Under MPI this ends every rank, not only the one that failed. */
static void die(const char *what) { tg_dist_abort(1, "vit: %s", what); }

/* Seconds since t0; under MPI the slowest rank's, so every rank stops alike. */
static double elapsed(double t0) {
    double t = tg_now() - t0;
    tg_dist_allreduce(&t, 1, TG_DIST_MAX);
    return t;
}

static int argmax(const float *x, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

/* Top-1 accuracy of logits [n, k] against labels. */
static double accuracy(const float *logits, const int32_t *labels, int64_t n, int k) {
    return n ? (double)tg_count_correct(logits, labels, n, k, -1, NULL) / (double)n : 0.0;
}

/* ---- train ------------------------------------------------------------------ */

typedef struct {
    const char *data, *root, *save, *metrics_json, *log_csv, *pool, *pos, *tape_png;
    int train_size_opt, image_size, channels, epochs, batch_size, warmup, augment, flip, threads, seed, patience, eval_batch;
    double time_budget, lr, lr_min, weight_decay, label_smoothing, clip, val_split, test_split;
    float dropout;
    tg_vit_config cfg;
} train_opts;

/* One epoch of AdamW steps over tr; returns the mean training loss. */
typedef struct {
    vit_model *m;
    tg_adam *opt;
    tg_tape *tp;
    tg_batcher *bt;
    tg_rng *aug_rng, *drop_rng;
    const train_opts *o;
    float *raw;        /* [batch_size, H, W, C] gathered images */
    int32_t *labels;   /* [batch_size] */
    int64_t step, total_steps, images;
} trainer;

static double train_epoch(trainer *t, const tg_image_set *tr, int epoch, double t0, int *out_of_time) {
    const train_opts *o = t->o;
    const tg_vit_config *cfg = &t->m->vit.cfg;
    tg_progress prog;
    tg_progress_start(&prog, epoch, o->epochs, tg_batcher_n_batches(t->bt), 50);
    if (!tg_dist_is_root()) prog.out = NULL;
    tg_batcher_epoch(t->bt);
    tg_tape_set_training(t->tp, 1);
    const int64_t *idx;
    int64_t b, k = 0;
    double loss_sum = 0;
    while ((b = tg_batcher_next(t->bt, &idx)) > 0) {
        tg_tape_reset(t->tp);
        tg_tensor *x = tg_tape_tensor(t->tp, TG_SHAPE((int)b, cfg->image_h, cfg->image_w, cfg->channels));
        tg_image_gather(tr, idx, b, t->raw, t->labels);
        if (o->augment > 0 || o->flip) /* on [0, 1] pixels, so padding is black as in torchvision */
            tg_image_augment(t->raw, x->data, b, cfg->image_h, cfg->image_w, cfg->channels, o->augment, o->flip,
                             t->aug_rng);
        else
            memcpy(x->data, t->raw, (size_t)x->size * sizeof *x->data);
        vit_model_normalize(t->m, x->data, b, x->data);

        tg_params_zero_grad(&t->m->ps);
        tg_tensor *logits = tg_vit_forward(t->tp, &t->m->vit, x, t->drop_rng);
        /* The mean over the global batch: summed here, divided by its size (every rank's share). */
        tg_tensor *loss = tg_scale(t->tp, tg_cross_entropy_smoothed(t->tp, logits, t->labels, -1, TG_SUM,
                                                                    (float)o->label_smoothing),
                                   (float)(1.0 / (double)t->bt->global));
        if (tg_backward(t->tp, loss) != TG_OK) die(tg_last_error());
        tg_dist_allreduce_grads(&t->m->ps, TG_DIST_SUM); /* Σ over ranks: the global batch's gradient */
        if (t->step == 0 && o->tape_png) { /* one step of the real model, values and gradients */
            if (tg_tape_render(t->tp, o->tape_png, NULL) != TG_OK) die(tg_last_error());
            printf("tape of step 1 (%d nodes) drawn to %s\n", tg_tape_n_nodes(t->tp), o->tape_png);
            tg_tape_set_keep_grads(t->tp, 0);
        }
        if (o->clip > 0) tg_clip_grad_norm(&t->m->ps, (float)o->clip);
        t->opt->lr = tg_lr_warmup_cosine(t->step, (float)o->lr, (float)o->lr_min, o->warmup, t->total_steps);
        tg_adam_step(t->opt);
        t->step++;
        t->images += t->bt->global;
        loss_sum += loss->data[0];
        tg_progress_update(&prog, ++k, loss->data[0], b);
        if (o->time_budget > 0 && elapsed(t0) >= o->time_budget) {
            *out_of_time = 1;
            break;
        }
    }
    tg_progress_end(&prog);
    tg_dist_allreduce(&loss_sum, 1, TG_DIST_SUM); /* each rank's share of every step's mean */
    return k ? loss_sum / (double)k : NAN;
}

static void print_config(const vit_model *m, const train_opts *o) {
    const tg_vit_config *c = &m->vit.cfg;
    printf("model: ViT %dx%dx%d, patch %d (%d patches + %s), d_model %d, depth %d, %d heads, d_ff %d, "
           "%lld parameters\n",
           c->image_h, c->image_w, c->channels, c->patch_size, m->vit.n_patches,
           c->pool == TG_VIT_POOL_CLS ? "[CLS]" : "mean pooling", c->d_model, c->depth, c->n_heads, c->d_ff,
           (long long)tg_params_count(&m->ps));
    printf("training: %d epochs of batch %d, AdamW lr %g (warm-up %d steps, cosine to %g), weight decay %g, "
           "label smoothing %g, augment pad %d%s, clip %g, %d threads, seed %d\n",
           o->epochs, o->batch_size, o->lr, o->warmup, o->lr_min, o->weight_decay, o->label_smoothing, o->augment,
           o->flip ? " + flip" : "", o->clip, tg_get_num_threads(), o->seed);
}

static int cmd_train(int argc, char **argv) {
    /* The defaults are the MNIST model of `make demo-vit` (docs/vit.md: why these). */
    train_opts o = {.data = "mnist", .root = "data", .pool = "cls", .pos = "learned", .epochs = 20,
                    .batch_size = 128, .warmup = 200, .augment = 2, .threads = 0, .seed = 1, .eval_batch = 500,
                    .lr = 1e-3, .lr_min = 1e-5, .weight_decay = 0.05, .clip = 1.0, .val_split = 0.1,
                    .test_split = 0.2,
                    .cfg = {.patch_size = 7, .d_model = 64, .depth = 6, .n_heads = 4, .d_ff = 128,
                            .ln_eps = 1e-6f}};
    const tg_cli_opt opts[] = {
        {"data", TG_CLI_STRING, &o.data, "mnist, fashion_mnist, cifar10, or a PNG folder (DIR/train, DIR/test or DIR/<class>)"},
        {"data-root", TG_CLI_STRING, &o.root, "where the named datasets are (make data)"},
        {"image-size", TG_CLI_INT, &o.image_size, "resize every image to S x S (0: keep)"},
        {"channels", TG_CLI_INT, &o.channels, "1 or 3 channels for PNG folders (0: 3)"},
        {"patch", TG_CLI_INT, &o.cfg.patch_size, "patch size P (divides the image size)"},
        {"d-model", TG_CLI_INT, &o.cfg.d_model, "token width d_model"},
        {"depth", TG_CLI_INT, &o.cfg.depth, "encoder blocks"},
        {"heads", TG_CLI_INT, &o.cfg.n_heads, "attention heads n_heads"},
        {"d-ff", TG_CLI_INT, &o.cfg.d_ff, "MLP hidden width"},
        {"pool", TG_CLI_STRING, &o.pool, "cls ([CLS] token) or mean (mean over patches)"},
        {"pos", TG_CLI_STRING, &o.pos, "learned or sinusoidal positions"},
        {"dropout", TG_CLI_FLOAT, &o.dropout, "dropout probability"},
        {"epochs", TG_CLI_INT, &o.epochs, "epochs (the schedule's length; results depend on it, not on time)"},
        {"time-budget", TG_CLI_DOUBLE, &o.time_budget, "guard: stop after this many seconds (0: none)"},
        {"batch-size", TG_CLI_INT, &o.batch_size, "images per step (per rank under MPI)"},
        {"lr", TG_CLI_DOUBLE, &o.lr, "peak AdamW learning rate"},
        {"lr-min", TG_CLI_DOUBLE, &o.lr_min, "learning rate at the end of the cosine decay"},
        {"warmup", TG_CLI_INT, &o.warmup, "linear warm-up steps"},
        {"weight-decay", TG_CLI_DOUBLE, &o.weight_decay, "AdamW decoupled weight decay (matrices only)"},
        {"label-smoothing", TG_CLI_DOUBLE, &o.label_smoothing, "label smoothing epsilon"},
        {"augment", TG_CLI_INT, &o.augment, "random crop after zero-padding by this many pixels (0: off)"},
        {"flip", TG_CLI_INT, &o.flip, "1: random horizontal flips (not for digits)"},
        {"clip", TG_CLI_DOUBLE, &o.clip, "clip the gradient norm to this (0: off)"},
        {"train-size", TG_CLI_INT, &o.train_size_opt, "train on a class-balanced subset of this many images (0: all)"},
        {"val-split", TG_CLI_DOUBLE, &o.val_split, "fraction of the training set held out for model selection"},
        {"test-split", TG_CLI_DOUBLE, &o.test_split, "fraction held out as test from a folder without train/ and test/"},
        {"patience", TG_CLI_INT, &o.patience, "stop after this many epochs without a better validation accuracy (0: off)"},
        {"threads", TG_CLI_INT, &o.threads, "OpenMP threads (0: OMP_NUM_THREADS or all cores)"},
        {"seed", TG_CLI_INT, &o.seed, "seed of initialisation, split, shuffling, augmentation and dropout"},
        {"save", TG_CLI_OUTPUT, &o.save, "write the best model (by validation accuracy) here, .safetensors"},
        {"metrics-json", TG_CLI_OUTPUT, &o.metrics_json, "write the final metrics here as one JSON object"},
        {"log-csv", TG_CLI_OUTPUT, &o.log_csv, "write per-epoch metrics here as CSV"},
        {"tape-png", TG_CLI_OUTPUT, &o.tape_png, "draw the tape of the first training step here (.png, .svg, .dot)"},
    };
    int r = tg_cli_subcommand_positional(argc, argv, "vit train", opts, (int)(sizeof opts / sizeof *opts),
                       "Trains a Vision Transformer; selects the epoch by accuracy on a validation slice of the "
                       "training set, reports the test accuracy of that model once at the end.",
                       NULL, 0, NULL);
    if (r >= 0) return r;
    if (o.batch_size < 1 || o.epochs < 1 || o.warmup < 0 || o.augment < 0 || o.patience < 0 || o.train_size_opt < 0)
        die("--batch-size and --epochs must be >= 1, --warmup, --augment, --patience and --train-size >= 0");
    if (!(o.val_split > 0 && o.val_split < 1) || !(o.test_split > 0 && o.test_split < 1))
        die("--val-split and --test-split must be in (0, 1)");
    if (strcmp(o.pool, "cls") && strcmp(o.pool, "mean")) die("--pool: expected cls or mean");
    if (strcmp(o.pos, "learned") && strcmp(o.pos, "sinusoidal")) die("--pos: expected learned or sinusoidal");
    if (o.threads > 0) tg_set_num_threads(o.threads);
    if (!tg_dist_is_root()) o.metrics_json = o.log_csv = o.tape_png = NULL; /* rank 0 reports */

    /* the data: train minus a validation slice, and the test set */
    double t_load = tg_now();
    vit_dataset d;
    if (vit_dataset_load(o.data, o.root, o.channels, o.image_size, o.test_split, (uint64_t)o.seed, &d) != TG_OK)
        die(tg_last_error());
    tg_image_set tr, val;
    tg_image_set_split(&d.train, (int64_t)(o.val_split * (double)d.train.n), (uint64_t)o.seed + 1, &tr, &val);
    if (tr.n < 1 || val.n < 1) die("the training set is too small to hold out a validation slice");
    if (o.train_size_opt > 0 && o.train_size_opt < tr.n) { /* a learning-curve point */
        tg_image_set sub;
        if (tg_image_set_subset(&tr, o.train_size_opt, (uint64_t)o.seed + 5, &sub) != TG_OK) die(tg_last_error());
        tg_image_set_free(&tr);
        tr = sub;
    }
    float mean[3], std[3];
    tg_image_stats(&tr, mean, std); /* from the training images only */
    printf("data %s: %lld training, %lld validation, %lld test images of %dx%dx%d, %d classes; loaded in %.1f s\n",
           o.data, (long long)tr.n, (long long)val.n, (long long)d.test.n, tr.h, tr.w, tr.c, d.train.n_classes,
           tg_now() - t_load);

    /* the model */
    o.cfg.image_h = tr.h;
    o.cfg.image_w = tr.w;
    o.cfg.channels = tr.c;
    o.cfg.n_classes = d.train.n_classes;
    o.cfg.pool = strcmp(o.pool, "mean") ? TG_VIT_POOL_CLS : TG_VIT_POOL_MEAN;
    o.cfg.pos = strcmp(o.pos, "learned") ? TG_VIT_POS_SINUSOIDAL : TG_VIT_POS_LEARNED;
    o.cfg.dropout = o.dropout;
    if (tg_vit_config_check(&o.cfg) != TG_OK) die(tg_last_error());
    vit_model m;
    vit_model_init(&m, &o.cfg, d.train.class_names, mean, std, (uint64_t)o.seed);
    tg_dist_broadcast_params(&m.ps); /* every rank starts from rank 0's weights */
    print_config(&m, &o);
    fflush(stdout); /* before the progress lines on stderr */

    tg_adam opt;
    tg_adamw_init(&opt, &m.ps, (float)o.lr, 0.9f, 0.999f, 1e-8f, (float)o.weight_decay);
    tg_adam_set_decay(&opt, tg_decay_matrices, NULL); /* no decay on biases, LayerNorms */
    tg_rng shuffle, aug_rng, drop_rng;
    tg_rng_seed(&shuffle, (uint64_t)o.seed + 2);
    tg_rng_seed(&aug_rng, (uint64_t)o.seed + 3);
    tg_rng_seed(&drop_rng, (uint64_t)o.seed + 4);
    if (tg_dist_rank() > 0) { /* the same shuffle everywhere; other augmentations and dropout masks */
        tg_rng_seed(&aug_rng, ((uint64_t)o.seed + 3) * 1000003u + (uint64_t)tg_dist_rank());
        tg_rng_seed(&drop_rng, ((uint64_t)o.seed + 4) * 1000003u + (uint64_t)tg_dist_rank());
    }
    tg_batcher bt;
    tg_batcher_init(&bt, tr.n, o.batch_size, 0, &shuffle);
    tg_batcher_shard(&bt, tg_dist_rank(), tg_dist_world()); /* this rank's part of each global batch */
    tg_tape *tp = tg_tape_new(64u << 20);
    if (o.tape_png) tg_tape_set_keep_grads(tp, 1); /* the picture shows every gradient */
    trainer t = {.m = &m, .opt = &opt, .tp = tp, .bt = &bt, .aug_rng = &aug_rng, .drop_rng = &drop_rng, .o = &o,
                 .raw = tg_xmalloc((size_t)o.batch_size * tr.h * tr.w * tr.c * sizeof(float)),
                 .labels = tg_xmalloc((size_t)o.batch_size * sizeof(int32_t)),
                 .total_steps = (int64_t)o.epochs * tg_batcher_n_batches(&bt)};
    if (o.warmup > t.total_steps) o.warmup = (int)t.total_steps; /* a short run: warm up over all of it */
    float *val_logits = tg_xmalloc((size_t)val.n * o.cfg.n_classes * sizeof(float));
    float *best = tg_xmalloc((size_t)m.ps.total * sizeof(float)); /* the best epoch's parameters */
    memcpy(best, m.ps.data, (size_t)m.ps.total * sizeof(float));
    tg_csv_log csv = {0};
    static const char *const csv_cols[] = {"epoch", "step", "train_loss", "val_accuracy", "lr", "seconds"};
    if (o.log_csv && tg_csv_log_open(&csv, o.log_csv, 6, csv_cols) != TG_OK) die(tg_last_error());
    tg_early_stop es;
    tg_early_stop_init(&es, TG_MAXIMIZE, o.patience ? o.patience : o.epochs, 0.0);

    double t0 = tg_now(), train_seconds = 0;
    int epoch, out_of_time = 0;
    for (epoch = 1; epoch <= o.epochs && !out_of_time; epoch++) {
        double loss = train_epoch(&t, &tr, epoch, t0, &out_of_time);
        train_seconds = tg_now() - t0;
        if (tg_dist_check_params(&m.ps, t.step) != TG_OK) die(tg_last_error()); /* ranks still agree */
        vit_model_logits(&m, tp, &val, o.eval_batch, val_logits);
        double val_acc = accuracy(val_logits, val.labels, val.n, o.cfg.n_classes);
        int better = tg_early_stop_update(&es, epoch, val_acc);
        printf("epoch %d: step %lld, train loss %.4f, val accuracy %.2f%%%s, %.0f s, %.0f images/s\n", epoch,
               (long long)t.step, loss, 100 * val_acc, better ? " (best)" : "", train_seconds,
               (double)t.images / train_seconds);
        if (o.log_csv) {
            const double row[6] = {epoch, (double)t.step, loss, val_acc, opt.lr, train_seconds};
            if (tg_csv_log_row(&csv, row) != TG_OK) die(tg_last_error());
        }
        if (better) {
            memcpy(best, m.ps.data, (size_t)m.ps.total * sizeof(float));
            if (o.save && vit_model_save(o.save, &m, epoch) != TG_OK) die(tg_last_error());
        }
        fflush(stdout);
        if (tg_early_stop_should_stop(&es)) {
            epoch++;
            break;
        }
    }
    epoch--;
    if (out_of_time) printf("stopped by --time-budget %.0f s in epoch %d\n", o.time_budget, epoch);

    /* the test set, once, with the selected model */
    memcpy(m.ps.data, best, (size_t)m.ps.total * sizeof(float));
    double test_acc = NAN;
    if (d.test.n) {
        float *test_logits = tg_xmalloc((size_t)d.test.n * o.cfg.n_classes * sizeof(float));
        vit_model_logits(&m, tp, &d.test, o.eval_batch, test_logits);
        test_acc = accuracy(test_logits, d.test.labels, d.test.n, o.cfg.n_classes);
        free(test_logits);
    }
    printf("best epoch %d of %d: val accuracy %.2f%%, test accuracy %.2f%%; training %.0f s, %.0f images/s\n",
           es.best_epoch, epoch, 100 * es.best, 100 * test_acc, train_seconds, (double)t.images / train_seconds);
    if (o.metrics_json) {
        static const char *const names[] = {"val_accuracy", "test_accuracy", "best_epoch", "epochs", "steps",
                                            "train_seconds", "train_images_per_second", "parameters"};
        const double values[] = {es.best, test_acc, es.best_epoch, epoch, (double)t.step, train_seconds,
                                 (double)t.images / train_seconds, (double)tg_params_count(&m.ps)};
        if (tg_metrics_json_write(o.metrics_json, 8, names, values) != TG_OK) die(tg_last_error());
    }
    if (o.log_csv && tg_csv_log_close(&csv) != TG_OK) die(tg_last_error());
    free(best);
    free(val_logits);
    free(t.raw);
    free(t.labels);
    tg_tape_free(tp);
    tg_batcher_free(&bt);
    tg_adam_free(&opt);
    vit_model_free(&m);
    tg_image_set_free(&tr);
    tg_image_set_free(&val);
    vit_dataset_free(&d);
    return 0;
}

/* ---- eval, attention: a model and the test images it takes ------------------ */

/* Loads the model and the test set of spec at the model's size. */
static void load_model_and_test(const char *model, const char *spec, const char *root, vit_model *m,
                                vit_dataset *d) {
    if (vit_model_load(model, m) != TG_OK) die(tg_last_error());
    const tg_vit_config *c = &m->vit.cfg;
    if (c->image_h != c->image_w) die("this example makes square images; the model is not square");
    if (vit_dataset_load(spec, root, c->channels, c->image_h, 0.2, 1, d) != TG_OK) die(tg_last_error());
    if (d->test.n == 0) die("the data has no test images");
    if (d->test.c != c->channels || d->test.n_classes > c->n_classes) {
        fprintf(stderr, "vit: %s: %d channels, %d classes; the model takes %d channels, %d classes\n", spec,
                d->test.c, d->test.n_classes, c->channels, c->n_classes);
        exit(1);
    }
}

/* ---- eval ------------------------------------------------------------------- */

static int cmd_eval(int argc, char **argv) {
    const char *model = NULL, *data = NULL, *root = "data", *png = NULL, *metrics_json = NULL;
    int threads = 0, batch = 500;
    const tg_cli_opt opts[] = {
        {"model", TG_CLI_STRING, &model, "a model written by `train --save` (required)"},
        {"data", TG_CLI_STRING, &data, "mnist, fashion_mnist, cifar10 or a PNG folder: its test set (required)"},
        {"data-root", TG_CLI_STRING, &root, "where the named datasets are"},
        {"confusion-png", TG_CLI_OUTPUT, &png, "write the confusion matrix as a PNG heat map here"},
        {"metrics-json", TG_CLI_OUTPUT, &metrics_json, "write accuracy and per-class accuracy here as JSON"},
        {"batch-size", TG_CLI_INT, &batch, "images per forward pass"},
        {"threads", TG_CLI_INT, &threads, "OpenMP threads (0: default)"},
    };
    int r = tg_cli_subcommand(argc, argv, "vit eval", opts, (int)(sizeof opts / sizeof *opts),
                       "Top-1 and per-class accuracy and the confusion matrix on a test set.");
    if (r >= 0) return r;
    if (!model || !data) die("eval needs --model and --data (see --help)");
    if (batch < 1) die("--batch-size must be >= 1");
    if (threads > 0) tg_set_num_threads(threads);
    vit_model m;
    vit_dataset d;
    load_model_and_test(model, data, root, &m, &d);
    const tg_image_set *s = &d.test;
    const int K = m.vit.cfg.n_classes;
    float *logits = tg_xmalloc((size_t)s->n * K * sizeof *logits);
    tg_tape *tp = tg_tape_new(16u << 20);
    double t0 = tg_now();
    vit_model_logits(&m, tp, s, batch, logits);
    double seconds = tg_now() - t0;
    int64_t *conf = tg_xcalloc((size_t)K * K * sizeof *conf);
    for (int64_t i = 0; i < s->n; i++) conf[(size_t)s->labels[i] * K + argmax(logits + i * K, K)]++;
    double acc = accuracy(logits, s->labels, s->n, K);
    printf("%s test: %lld images, top-1 accuracy %.2f%% (%.0f images/s)\n\n", data, (long long)s->n, 100 * acc,
           (double)s->n / seconds);
    printf("%-14s %9s %8s\n", "class", "accuracy", "support");
    const char **names = tg_xmalloc((size_t)(1 + K) * sizeof *names);
    char (*keys)[32] = tg_xmalloc((size_t)K * sizeof *keys);
    double *values = tg_xmalloc((size_t)(1 + K) * sizeof *values);
    names[0] = "accuracy";
    values[0] = acc;
    for (int y = 0; y < K; y++) {
        int64_t support = 0;
        for (int z = 0; z < K; z++) support += conf[(size_t)y * K + z];
        double a = support ? (double)conf[(size_t)y * K + y] / (double)support : NAN;
        printf("%-14s %8.2f%% %8lld\n", m.class_names[y], 100 * a, (long long)support);
        snprintf(keys[y], sizeof keys[y], "accuracy_%d", y);
        names[1 + y] = keys[y];
        values[1 + y] = a;
    }
    if (png) {
        if (tg_plot_heatmap(png, conf, K, K, (const char *const *)m.class_names, (const char *const *)m.class_names) !=
            TG_OK)
            die(tg_last_error());
        printf("\nconfusion matrix (rows true class, columns predicted) written to %s\n", png);
    }
    if (metrics_json && tg_metrics_json_write(metrics_json, 1 + K, names, values) != TG_OK) die(tg_last_error());
    free(names);
    free(keys);
    free(values);
    free(conf);
    free(logits);
    tg_tape_free(tp);
    vit_dataset_free(&d);
    vit_model_free(&m);
    return 0;
}

/* ---- predict ------------------------------------------------------------------ */

#define MAX_FILES 1024

static int cmd_predict(int argc, char **argv) {
    const char *model = NULL, *files[MAX_FILES];
    int n_files = 0, top = 5, threads = 0;
    const tg_cli_opt opts[] = {
        {"model", TG_CLI_STRING, &model, "a model written by `train --save` (required)"},
        {"top", TG_CLI_INT, &top, "classes to list per image"},
        {"threads", TG_CLI_INT, &threads, "OpenMP threads (0: default)"},
    };
    int r = tg_cli_subcommand_positional(argc, argv, "vit predict", opts, (int)(sizeof opts / sizeof *opts),
                       "Classifies PNG files (vit predict --model M FILE.png...): each is converted to the "
                       "model's channels, resized to its size, and its top classes printed with their "
                       "probabilities.",
                       files, MAX_FILES, &n_files);
    if (r >= 0) return r;
    if (!model || n_files == 0) die("predict needs --model and at least one PNG file (see --help)");
    if (top < 1) die("--top must be >= 1");
    if (threads > 0) tg_set_num_threads(threads);
    vit_model m;
    if (vit_model_load(model, &m) != TG_OK) die(tg_last_error());
    const tg_vit_config *c = &m.vit.cfg;
    if (top > c->n_classes) top = c->n_classes;
    tg_tape *tp = tg_tape_new(4u << 20);
    tg_tape_set_grad(tp, 0);
    tg_tape_set_training(tp, 0);
    int failed = 0;
    for (int f = 0; f < n_files; f++) {
        float *px;
        int h, w;
        if (tg_png_read(files[f], c->channels, &px, &h, &w) != TG_OK) {
            fprintf(stderr, "vit: %s\n", tg_last_error());
            failed = 1;
            continue;
        }
        tg_tape_reset(tp);
        tg_tensor *x = tg_tape_tensor(tp, TG_SHAPE(1, c->image_h, c->image_w, c->channels));
        tg_image_resize(px, h, w, c->channels, x->data, c->image_h, c->image_w);
        free(px);
        vit_model_normalize(&m, x->data, 1, x->data);
        tg_tensor *prob = tg_softmax(tp, tg_vit_forward(tp, &m.vit, x, NULL), NULL);
        printf("%s (%dx%d):", files[f], w, h);
        for (int k = 0; k < top; k++) { /* the k-th largest, by selection */
            int best = argmax(prob->data, c->n_classes);
            printf("%s %s %.4f", k ? "," : "", m.class_names[best], prob->data[best]);
            prob->data[best] = -1.0f;
        }
        printf("\n");
    }
    tg_tape_free(tp);
    vit_model_free(&m);
    return failed;
}

/* ---- attention ------------------------------------------------------------------ */

/* From attn [depth, B, H, T, T], image b's maps over the grid of patches:
 * last[n] = the [CLS] row of the last layer, mean over heads; roll[n] = the
 * [CLS] row of the rollout of the head-mean attention of every layer.  With
 * mean pooling (no [CLS]) the mean over all query rows stands in for it. */
static void patch_maps(const tg_vit *v, const float *attn, int B, int b, float *last, float *roll) {
    const int L = v->cfg.depth, H = v->cfg.n_heads, T = v->n_tokens, N = v->n_patches, first = T - N;
    float *mean = tg_xcalloc((size_t)L * T * T * sizeof *mean), *r = tg_xmalloc((size_t)T * T * sizeof *r);
    for (int l = 0; l < L; l++)
        for (int h = 0; h < H; h++) {
            const float *a = attn + ((((size_t)l * B + b) * H + h) * T) * T;
            for (int i = 0; i < T * T; i++) mean[(size_t)l * T * T + i] += a[i] / (float)H;
        }
    tg_attention_rollout(mean, L, T, r);
    const float *a_last = mean + (size_t)(L - 1) * T * T;
    for (int n = 0; n < N; n++) {
        last[n] = roll[n] = 0.0f;
        for (int q = 0; q < (first ? 1 : T); q++) { /* query 0 = [CLS]; else every token */
            last[n] += a_last[(size_t)q * T + first + n];
            roll[n] += r[(size_t)q * T + first + n];
        }
    }
    free(mean);
    free(r);
}

static int cmd_attention(int argc, char **argv) {
    const char *model = NULL, *data = NULL, *root = "data", *out = "runs/attention";
    int count = 8, first = 0, threads = 0, zoom = 0;
    const tg_cli_opt opts[] = {
        {"model", TG_CLI_STRING, &model, "a model written by `train --save` (required)"},
        {"data", TG_CLI_STRING, &data, "mnist, fashion_mnist, cifar10 or a PNG folder: its test set (required)"},
        {"data-root", TG_CLI_STRING, &root, "where the named datasets are"},
        {"out", TG_CLI_STRING, &out, "folder for the pictures (created)"},
        {"count", TG_CLI_INT, &count, "how many test images"},
        {"first", TG_CLI_INT, &first, "index of the first test image"},
        {"zoom", TG_CLI_INT, &zoom, "enlarge each panel this many times (0: to about 160 pixels)"},
        {"threads", TG_CLI_INT, &threads, "OpenMP threads (0: default)"},
    };
    int r = tg_cli_subcommand_positional(argc, argv, "vit attention", opts, (int)(sizeof opts / sizeof *opts),
                       "Writes, for test images, a PNG of the image beside the [CLS] token's attention over the "
                       "patches in the last layer (mean over heads) and the attention rollout over all layers "
                       "(Abnar & Zuidema 2020), both upsampled to the image.",
                       NULL, 0, NULL);
    if (r >= 0) return r;
    if (!model || !data) die("attention needs --model and --data (see --help)");
    if (count < 1 || first < 0 || zoom < 0) die("--count must be >= 1, --first and --zoom >= 0");
    if (threads > 0) tg_set_num_threads(threads);
    vit_model m;
    vit_dataset d;
    load_model_and_test(model, data, root, &m, &d);
    const tg_vit_config *c = &m.vit.cfg;
    if (first >= d.test.n) die("--first is past the last test image");
    if (count > d.test.n - first) count = (int)(d.test.n - first);
    struct stat st;
    if (mkdir(out, 0777) != 0 && (stat(out, &st) != 0 || !S_ISDIR(st.st_mode))) die("cannot create the --out folder");
    if (!zoom) zoom = (160 + c->image_h - 1) / c->image_h;

    const int T = m.vit.n_tokens, N = m.vit.n_patches, G = c->image_h / c->patch_size, K = c->n_classes;
    const int64_t per = (int64_t)c->image_h * c->image_w * c->channels;
    tg_tape *tp = tg_tape_new(16u << 20);
    tg_tensor *x = tg_tape_tensor(tp, TG_SHAPE(count, c->image_h, c->image_w, c->channels));
    float *raw = d.test.pixels + first * per;
    vit_model_normalize(&m, raw, count, x->data);
    float *attn = tg_xmalloc((size_t)c->depth * count * c->n_heads * T * T * sizeof *attn);
    tg_tensor *logits = tg_vit_attention(tp, &m.vit, x, attn);
    float *maps = tg_xmalloc((size_t)2 * N * sizeof *maps);
    printf("%s: %d test images from #%d; panels: image | last-layer [CLS] attention (mean of %d heads) | "
           "attention rollout over %d layers\n",
           out, count, first, c->n_heads, c->depth);
    for (int b = 0; b < count; b++) {
        int label = d.test.labels[first + b], pred = argmax(logits->data + (size_t)b * K, K);
        patch_maps(&m.vit, attn, count, b, maps, maps + N);
        char path[4096];
        snprintf(path, sizeof path, "%s/attention_%05d.png", out, first + b);
        if (tg_plot_attention(path, raw + b * per, c->image_h, c->image_w, c->channels, maps, 2, G, G, zoom) != TG_OK)
            die(tg_last_error());
        printf("%s: true %s, predicted %s%s\n", path, m.class_names[label], m.class_names[pred],
               label == pred ? "" : "  (wrong)");
    }
    free(maps);
    free(attn);
    tg_tape_free(tp);
    vit_dataset_free(&d);
    vit_model_free(&m);
    return 0;
}

int main(int argc, char **argv) {
    static const tg_cli_command cmds[] = {
        {"train", "train a ViT on mnist, fashion_mnist, cifar10 or a PNG folder; save the best model", cmd_train},
        {"eval", "top-1 and per-class accuracy, confusion matrix PNG", cmd_eval},
        {"predict", "top-5 classes of PNG files", cmd_predict},
        {"attention", "pictures of where the [CLS] token looks (last layer, rollout)", cmd_attention},
    };
    if (tg_dist_init(&argc, &argv) != TG_OK) die(tg_last_error()); /* under mpirun: one rank of many */
    int rc = tg_cli_run(argc, argv, "vit", cmds, (int)(sizeof cmds / sizeof *cmds));
    tg_dist_finalize();
    return rc;
}
