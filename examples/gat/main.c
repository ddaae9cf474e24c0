/* examples/gat/main.c — graph attention networks on the Planetoid citation
 * graphs (Veličković et al., ICLR 2018, transductive experiment).
 *
 *   build/gat train --data cora --seeds 10 --save runs/gat_cora.safetensors
 *   build/gat train --data citeseer --layer dot
 *   build/gat embed --model runs/gat_cora.safetensors --data cora --png runs/gat_cora.png
 *   mpirun -np 2 build/mpi/gat train --data cora --seeds 10     # the seeds spread over 2 ranks
 *
 * Training is full-batch on one graph, so under mpirun the ranks share out
 * the seeds (rank r runs seeds seed+r, seed+r+W, ...), each run the same as
 * in one process, and rank 0 gathers the results and reports them in seed
 * order (docs/distributed.md).  Run `build/gat <command> --help` for every
 * option and its default.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "examples/gat/model.h"
#include "train/dist.h"
#include "tapegrad.h"

/* An error seen by this rank alone: ends every rank (exit 1). */
static void die(const char *what) { tg_dist_abort(1, "gat: %s", what); }

/* An error every rank has agreed on (tg_dist_agree): rank 0 reports it,
 * every rank returns 1. */
static int fail_agreed(void) {
    if (tg_dist_is_root()) fprintf(stderr, "gat: %s\n", tg_last_error());
    return 1;
}

/* ---- the data ---------------------------------------------------------------- */

typedef struct {
    tg_planetoid d;
    tg_csr g;           /* both directions + one self-loop per node */
    tg_sparse xs;       /* features, sparse */
    tg_tensor *xval;    /* [nnz] their values (row-normalised) */
    tg_tensor *xdense;  /* [N, F], only with --dense */
    int32_t *target[4]; /* per split: labels of its nodes, −1 elsewhere */
} graph_data;

/* "cora" and "citeseer" name the folders that `make data` fills.  Errors:
 * the reader's (nothing to free). */
static tg_status load_data(const char *name, int dense, graph_data *gd) {
    char dir[4096];
    if (!strcmp(name, "cora") || !strcmp(name, "citeseer")) snprintf(dir, sizeof dir, "data/%s", name);
    else snprintf(dir, sizeof dir, "%s", name);
    memset(gd, 0, sizeof *gd);
    tg_status st = tg_planetoid_read(dir, &gd->d);
    if (st != TG_OK) return st;
    const tg_planetoid *d = &gd->d;
    tg_planetoid_graph(d, TG_CSR_SELF_LOOPS, &gd->g);
    gd->xs = tg_planetoid_features(d);
    gd->xval = tg_tensor_new(TG_SHAPE((int)(d->nnz ? d->nnz : 1)));
    memcpy(gd->xval->data, d->feat_val, (size_t)d->nnz * sizeof(float));
    if (dense) {
        gd->xdense = tg_tensor_new(TG_SHAPE(d->n_nodes, d->n_features));
        tg_planetoid_dense_features(d, gd->xdense->data);
    }
    for (int s = 0; s < 4; s++) {
        gd->target[s] = malloc((size_t)d->n_nodes * sizeof(int32_t));
        for (int n = 0; n < d->n_nodes; n++)
            gd->target[s][n] = d->split[n] == s ? d->labels[n] : -1;
    }
    return TG_OK;
}

static void free_data(graph_data *gd) {
    for (int s = 0; s < 4; s++) free(gd->target[s]);
    tg_tensor_free(gd->xval);
    tg_tensor_free(gd->xdense);
    tg_csr_free(&gd->g);
    tg_planetoid_free(&gd->d);
}

static tg_tensor *forward(tg_tape *tp, const model *m, const graph_data *gd, tg_rng *rng,
                          tg_tensor **hidden) {
    return model_forward(tp, m, gd->xdense ? NULL : &gd->xs, gd->xval, gd->xdense, &gd->g, rng,
                         hidden);
}

/* ---- training ------------------------------------------------------------------ */

typedef struct {
    double loss[4], acc[4]; /* per split, at the evaluated epoch */
} split_eval;

/* Evaluation-mode forward; mean cross-entropy and accuracy on each split. */
static void evaluate(tg_tape *tp, const model *m, const graph_data *gd, split_eval *ev) {
    tg_tape_reset(tp);
    int tr = tg_tape_set_training(tp, 0), gr = tg_tape_set_grad(tp, 0);
    tg_tensor *logits = forward(tp, m, gd, NULL, NULL);
    for (int s = TG_SPLIT_TRAIN; s <= TG_SPLIT_TEST; s++) {
        int64_t counted;
        int64_t ok = tg_count_correct(logits->data, gd->target[s], gd->d.n_nodes, m->n_classes, -1,
                                      &counted);
        ev->acc[s] = counted ? (double)ok / (double)counted : NAN;
        ev->loss[s] = tg_cross_entropy(tp, logits, gd->target[s], -1, TG_MEAN)->data[0];
    }
    tg_tape_set_training(tp, tr);
    tg_tape_set_grad(tp, gr);
}

typedef struct {
    int max_epochs, patience;
    float lr, weight_decay;
} train_opts;

/* The per-epoch log (--log-csv), kept in memory: under mpirun the rows of
 * every rank's seeds go to rank 0, which writes the file at the end. */
enum { LOG_COLS = 6 };
static const char *const log_cols[LOG_COLS] = {"seed", "epoch", "train_loss", "val_loss", "val_acc", "test_acc"};
typedef struct {
    double (*rows)[LOG_COLS];
    int64_t n, cap;
} epoch_log;

static void epoch_log_add(epoch_log *log, const double *row) {
    if (log->n == log->cap) {
        log->cap = log->cap ? 2 * log->cap : 256;
        log->rows = realloc(log->rows, (size_t)log->cap * sizeof *log->rows);
        if (!log->rows) die("out of memory for the epoch log");
    }
    memcpy(log->rows[log->n++], row, sizeof *log->rows);
}

typedef struct {
    int epochs, best_epoch;
    split_eval best;    /* evaluation of the best-epoch model */
    double ms_per_epoch; /* training step only (forward, backward, Adam) */
} run_result;

/* One run: Adam with L2 on every parameter; early stopping as the GAT
 * reference code (execute_cora.py): stop when neither validation loss nor
 * accuracy has improved (ties count) for `patience` epochs; the model kept
 * is that of the last epoch at which both were at their best.  m ends
 * holding that model. */
static run_result train_run(model *m, const graph_data *gd, const train_opts *o, uint64_t seed,
                            epoch_log *log) {
    tg_rng rng;
    tg_rng_seed(&rng, seed ^ 0x5eed);
    tg_adam opt;
    tg_adam_init(&opt, &m->ps, o->lr, 0.9f, 0.999f, 1e-8f, o->weight_decay);
    tg_early_stop es_loss, es_acc;
    tg_early_stop_init(&es_loss, TG_MINIMIZE, o->patience, 0.0);
    tg_early_stop_init(&es_acc, TG_MAXIMIZE, o->patience, 0.0);
    es_loss.ties = es_acc.ties = 1;
    float *best = malloc((size_t)m->ps.total * sizeof(float));
    memcpy(best, m->ps.data, (size_t)m->ps.total * sizeof(float));
    tg_tape *tp = tg_tape_new(0);
    run_result r = {0};
    double t_train = 0.0;
    int epoch;
    for (epoch = 1; epoch <= o->max_epochs; epoch++) {
        double t0 = tg_now();
        tg_tape_reset(tp);
        tg_params_zero_grad(&m->ps);
        tg_tensor *logits = forward(tp, m, gd, &rng, NULL);
        tg_tensor *loss = tg_cross_entropy(tp, logits, gd->target[TG_SPLIT_TRAIN], -1, TG_MEAN);
        if (tg_backward(tp, loss) != TG_OK) die(tg_last_error());
        tg_adam_step(&opt);
        t_train += tg_now() - t0;
        float train_loss = loss->data[0];

        split_eval ev;
        evaluate(tp, m, gd, &ev);
        int loss_up = tg_early_stop_update(&es_loss, epoch, ev.loss[TG_SPLIT_VAL]);
        int acc_up = tg_early_stop_update(&es_acc, epoch, ev.acc[TG_SPLIT_VAL]);
        if (loss_up && acc_up) {
            memcpy(best, m->ps.data, (size_t)m->ps.total * sizeof(float));
            r.best = ev;
            r.best_epoch = epoch;
        }
        if (log)
            epoch_log_add(log, (double[]){(double)seed, epoch, train_loss, ev.loss[TG_SPLIT_VAL],
                                          ev.acc[TG_SPLIT_VAL], ev.acc[TG_SPLIT_TEST]});
        if (tg_early_stop_should_stop(&es_loss) && tg_early_stop_should_stop(&es_acc)) break;
    }
    r.epochs = epoch > o->max_epochs ? o->max_epochs : epoch;
    r.ms_per_epoch = 1e3 * t_train / r.epochs;
    memcpy(m->ps.data, best, (size_t)m->ps.total * sizeof(float));
    free(best);
    tg_tape_free(tp);
    tg_adam_free(&opt);
    return r;
}

/* One seed's outcome: what rank 0 gathers and prints. */
typedef struct {
    int32_t seed, epochs, best_epoch;
    double val_loss, val_acc, test_acc, ms_per_epoch;
} seed_result;

static void print_seed(const seed_result *r) {
    printf("seed %d: %d epochs, best epoch %d: val loss %.4f acc %.2f%%, test acc %.2f%% (%.1f ms/epoch)\n",
           r->seed, r->epochs, r->best_epoch, r->val_loss, 100 * r->val_acc, 100 * r->test_acc, r->ms_per_epoch);
    fflush(stdout);
}

static int by_seed(const void *a, const void *b) {
    const seed_result *x = a, *y = b;
    return (x->seed > y->seed) - (x->seed < y->seed);
}

/* Log rows by (seed, epoch): columns 0 and 1. */
static int by_seed_epoch(const void *a, const void *b) {
    const double *x = a, *y = b;
    if (x[0] != y[0]) return (x[0] > y[0]) - (x[0] < y[0]);
    return (x[1] > y[1]) - (x[1] < y[1]);
}

static tg_status save_model(const char *path, const model *m, const char *data) {
    char cfg[256];
    model_config_format(&m->cfg, cfg, sizeof cfg);
    tg_checkpoint_extra ex = {0};
    tg_checkpoint_meta_set(&ex, "gat.config", cfg);
    tg_checkpoint_meta_set(&ex, "gat.data", data);
    tg_status st = tg_checkpoint_save(path, &m->ps, &ex);
    tg_checkpoint_extra_free(&ex);
    return st;
}

static int parse_layer(const char *s, layer_kind *k) {
    if (!strcmp(s, "gat")) *k = LAYER_GAT;
    else if (!strcmp(s, "dot")) *k = LAYER_DOT;
    else return 0;
    return 1;
}

static int cmd_train(int argc, char **argv) {
    const char *data = "cora", *layer = "gat", *save = NULL, *metrics = NULL, *log_csv = NULL;
    int seeds = 1, seed = 1, heads = 8, hidden = 8, out_heads = 1, dense = 0, threads = 0;
    train_opts o = {.max_epochs = 1000, .patience = 100, .lr = 0.005f, .weight_decay = 5e-4f};
    model_config cfg = {.in_dropout = 0.6f, .attn_dropout = 0.6f, .value_dropout = 0.6f, .tf_attention = 1};
    const tg_cli_opt opts[] = {
        {"data", TG_CLI_STRING, &data, "cora, citeseer, or a folder holding NAME.{meta,features,labels,edges,split}"},
        {"layer", TG_CLI_STRING, &layer, "gat (additive attention) or dot (dot-product attention on edges)"},
        {"heads", TG_CLI_INT, &heads, "attention heads of the hidden layer"},
        {"hidden", TG_CLI_INT, &hidden, "features per head of the hidden layer"},
        {"out-heads", TG_CLI_INT, &out_heads, "heads of the output layer (averaged)"},
        {"dropout", TG_CLI_FLOAT, &cfg.in_dropout, "dropout on each layer's input"},
        {"attn-dropout", TG_CLI_FLOAT, &cfg.attn_dropout, "dropout on the attention weights"},
        {"value-dropout", TG_CLI_FLOAT, &cfg.value_dropout, "gat: dropout on the projected neighbours z_j (the authors' code, utils/layers.py; not in the paper's text)"},
        {"dropout-per-head", TG_CLI_INT, &cfg.dropout_per_head, "gat, 1: each head draws its own input-dropout mask (the authors' code); 0: one mask for all heads"},
        {"tf-attention", TG_CLI_INT, &cfg.tf_attention, "gat, 1: attention scores as the authors' TensorFlow code (a learned bias per head in e_ij, conv1d init of a_src/a_dst); 0: the paper's text / PyG"},
        {"lr", TG_CLI_FLOAT, &o.lr, "Adam learning rate"},
        {"weight-decay", TG_CLI_FLOAT, &o.weight_decay, "L2 penalty on every parameter (in the gradient)"},
        {"epochs", TG_CLI_INT, &o.max_epochs, "most epochs (full-graph steps)"},
        {"patience", TG_CLI_INT, &o.patience, "stop after this many epochs without a better val loss or accuracy"},
        {"seeds", TG_CLI_INT, &seeds, "runs with seeds seed, seed+1, ...; prints mean ± std test accuracy"},
        {"seed", TG_CLI_INT, &seed, "first seed"},
        {"dense", TG_CLI_FLAG, &dense, "dense [N, F] features and GEMM instead of the sparse product"},
        {"threads", TG_CLI_INT, &threads, "OpenMP threads, per rank under mpirun (0: OMP_NUM_THREADS or all cores)"},
        {"save", TG_CLI_OUTPUT, &save, "write the first seed's best model here (safetensors)"},
        {"metrics-json", TG_CLI_OUTPUT, &metrics, "write final metrics (JSON) here"},
        {"log-csv", TG_CLI_OUTPUT, &log_csv, "write per-epoch seed, epoch, losses, accuracies here (at the end, atomically)"},
    };
    int r = tg_cli_subcommand(argc, argv, "gat train", opts, (int)(sizeof opts / sizeof *opts),
                       "Trains a two-layer graph attention network on a Planetoid graph "
                       "(Velickovic et al. 2018, transductive setup).");
    if (r >= 0) return r;
    if (!parse_layer(layer, &cfg.layer)) die("--layer: expected gat or dot");
    if (seeds < 1 || heads < 1 || hidden < 1 || out_heads < 1 || o.max_epochs < 1 || o.patience < 1 ||
        out_heads > 4096 || (int64_t)heads * hidden > 4096)
        die("--seeds, --heads, --hidden, --out-heads, --epochs, --patience must be >= 1; heads x hidden "
            "and --out-heads at most 4096");
    if (!(cfg.in_dropout >= 0 && cfg.in_dropout < 1 && cfg.attn_dropout >= 0 && cfg.attn_dropout < 1 &&
          cfg.value_dropout >= 0 && cfg.value_dropout < 1))
        die("--dropout, --attn-dropout and --value-dropout must be in [0, 1)");
    if (cfg.tf_attention != 0 && cfg.tf_attention != 1) die("--tf-attention: expected 0 or 1");
    if (cfg.layer == LAYER_DOT) cfg.tf_attention = 0; /* a GAT option: not stored for the dot layer */
    if (threads > 0) tg_set_num_threads(threads);
    cfg.heads = heads, cfg.hidden = hidden, cfg.out_heads = out_heads;

    graph_data gd;
    tg_status read = load_data(data, dense, &gd);
    if (tg_dist_agree(read) != TG_OK) { /* every rank read it */
        if (read == TG_OK) free_data(&gd); /* this rank's read worked, another's did not */
        return fail_agreed();
    }
    printf("%s: %d nodes, %d features, %d classes, %lld edges (%d directed with self-loops); "
           "split %d/%d/%d\n", gd.d.name, gd.d.n_nodes, gd.d.n_features, gd.d.n_classes,
           (long long)gd.d.n_edges, (int)gd.g.n_edges, gd.d.n_split[TG_SPLIT_TRAIN],
           gd.d.n_split[TG_SPLIT_VAL], gd.d.n_split[TG_SPLIT_TEST]);
    printf("layer %s, %d heads x %d hidden, output %d head(s); dropout %.2f / attention %.2f / "
           "values %.2f%s%s; Adam lr %g, L2 %g; patience %d, at most %d epochs; %d thread(s)%s\n", layer,
           heads, hidden, out_heads, cfg.in_dropout, cfg.attn_dropout, cfg.value_dropout,
           cfg.dropout_per_head ? " (input masks per head)" : "",
           cfg.tf_attention ? "; scores as the authors' code" : "", o.lr, o.weight_decay,
           o.patience, o.max_epochs, tg_get_num_threads(), tg_dist_world() > 1 ? " per rank" : "");

    /* The seeds of this rank: first + r, first + r + W, ... (all of them in one process). */
    const int world = tg_dist_world(), rank = tg_dist_rank();
    if (world > 1)
        printf("%d ranks: rank r runs seeds %d + r, %d + r + %d, ...\n", world, seed, seed, world);
    seed_result *mine = tg_xmalloc((size_t)(seeds / world + 1) * sizeof *mine);
    epoch_log log = {0};
    int n_mine = 0;
    for (int s = rank; s < seeds; s += world) {
        model m;
        tg_rng init_rng;
        tg_rng_seed(&init_rng, (uint64_t)(seed + s));
        model_init(&m, &cfg, gd.d.n_features, gd.d.n_classes, &init_rng);
        if (s == 0) printf("%lld parameters\n", (long long)tg_params_count(&m.ps));
        run_result rr = train_run(&m, &gd, &o, (uint64_t)(seed + s), log_csv ? &log : NULL);
        mine[n_mine] = (seed_result){seed + s, rr.epochs, rr.best_epoch, rr.best.loss[TG_SPLIT_VAL],
                                     rr.best.acc[TG_SPLIT_VAL], rr.best.acc[TG_SPLIT_TEST], rr.ms_per_epoch};
        if (world == 1) print_seed(&mine[n_mine]); /* as it finishes; under mpirun rank 0 prints them all */
        n_mine++;
        if (s == 0 && save && save_model(save, &m, data) != TG_OK) die(tg_last_error()); /* rank 0 */
        model_free(&m);
    }

    /* Rank 0 gathers every seed's result and log rows and reports in seed order. */
    int64_t n_all, n_rows;
    seed_result *all = tg_dist_gather(mine, n_mine, sizeof *mine, &n_all);
    double(*rows)[LOG_COLS] = tg_dist_gather(log.rows, log.n, sizeof *log.rows, &n_rows);
    tg_status st = TG_OK;
    if (tg_dist_is_root()) {
        qsort(all, (size_t)n_all, sizeof *all, by_seed);
        qsort(rows, (size_t)n_rows, sizeof *rows, by_seed_epoch);
        double sum = 0.0, sq = 0.0, ms = 0.0;
        for (int64_t i = 0; i < n_all; i++) {
            if (world > 1) print_seed(&all[i]);
            sum += all[i].test_acc;
            ms += all[i].ms_per_epoch;
        }
        double mean = sum / seeds;
        for (int64_t i = 0; i < n_all; i++) sq += (all[i].test_acc - mean) * (all[i].test_acc - mean);
        double std = seeds > 1 ? sqrt(sq / (seeds - 1)) : 0.0;
        printf("test accuracy over %d seed(s): %.2f ± %.2f%% (mean ± sample std)\n", seeds, 100 * mean,
               100 * std);
        /* the log first: when it cannot be written, no metrics file claims a finished run */
        if (log_csv) st = tg_csv_write(log_csv, LOG_COLS, log_cols, n_rows, &rows[0][0]);
        if (st == TG_OK && metrics)
            st = tg_metrics_json_write(metrics, 4,
                                       (const char *[]){"test_acc_mean", "test_acc_std", "seeds", "ms_per_epoch"},
                                       (double[]){mean, std, seeds, ms / seeds});
    }
    st = tg_dist_agree(st); /* rank 0's writes: every rank exits with their outcome */
    free(rows);
    free(all);
    free(log.rows);
    free(mine);
    free_data(&gd);
    return st == TG_OK ? 0 : fail_agreed();
}

/* ---- embed --------------------------------------------------------------------- */

static int cmd_embed(int argc, char **argv) {
    const char *path = NULL, *data = NULL, *png = "gat_embedding.png";
    const tg_cli_opt opts[] = {
        {"model", TG_CLI_STRING, &path, "checkpoint written by `gat train --save`"},
        {"data", TG_CLI_STRING, &data, "graph (default: the one the model was trained on)"},
        {"png", TG_CLI_OUTPUT, &png, "output picture"},
    };
    int r = tg_cli_subcommand(argc, argv, "gat embed", opts, (int)(sizeof opts / sizeof *opts),
                       "Draws the hidden node representations (after the first layer's ELU) "
                       "projected to 2-D by PCA, coloured by class.");
    if (r >= 0) return r;
    if (!tg_dist_is_root()) return 0; /* under mpirun one picture: rank 0 draws it */
    if (!path) die("embed: --model is required");
    char *cfg_s = NULL, *data_s = NULL;
    if (tg_checkpoint_read_metadata(path, "gat.config", &cfg_s) != TG_OK) die(tg_last_error());
    model_config cfg = {0};
    if (model_config_parse(cfg_s, path, &cfg) != TG_OK) die(tg_last_error());
    if (!data && tg_checkpoint_read_metadata(path, "gat.data", &data_s) != TG_OK) die(tg_last_error());
    graph_data gd;
    if (load_data(data ? data : data_s, 0, &gd) != TG_OK) die(tg_last_error());
    model m;
    tg_rng rng;
    tg_rng_seed(&rng, 1);
    if (model_check_checkpoint(path, &cfg, gd.d.n_features, gd.d.n_classes) != TG_OK) die(tg_last_error());
    model_init(&m, &cfg, gd.d.n_features, gd.d.n_classes, &rng);
    if (tg_checkpoint_load(path, &m.ps, NULL) != TG_OK) die(tg_last_error());

    tg_tape *tp = tg_tape_new(0);
    tg_tape_set_training(tp, 0);
    tg_tape_set_grad(tp, 0);
    tg_tensor *hidden, *logits = forward(tp, &m, &gd, NULL, &hidden);
    int N = gd.d.n_nodes, C = hidden->shape[1];
    int64_t counted, ok = tg_count_correct(logits->data, gd.target[TG_SPLIT_TEST], N,
                                           gd.d.n_classes, -1, &counted);
    float *xy = malloc((size_t)N * 2 * sizeof *xy);
    double var[2];
    tg_pca_project(hidden->data, N, C, 2, xy, var);
    char title[160];
    snprintf(title, sizeof title, "%s: GAT hidden layer, PCA (test acc %.1f%%)", gd.d.name,
             100.0 * (double)ok / (double)(counted ? counted : 1));
    if (tg_plot_scatter(png, xy, N, gd.d.labels, gd.d.n_classes, NULL, title) != TG_OK)
        die(tg_last_error());
    printf("wrote %s: %d nodes, PCA of %d-dim hidden states (variance %.3g, %.3g)\n", png, N, C,
           var[0], var[1]);
    free(xy);
    tg_tape_free(tp);
    model_free(&m);
    free_data(&gd);
    free(cfg_s);
    free(data_s);
    return 0;
}

int main(int argc, char **argv) {
    static const tg_cli_command cmds[] = {
        {"train", "train a GAT on a Planetoid graph, several seeds (spread over the ranks under mpirun)", cmd_train},
        {"embed", "draw a trained model's hidden node representations (PCA, coloured by class)", cmd_embed},
    };
    if (tg_dist_init(&argc, &argv) != TG_OK) die(tg_last_error()); /* under mpirun: one rank of many */
    int rc = tg_cli_run(argc, argv, "gat", cmds, (int)(sizeof cmds / sizeof *cmds));
    tg_dist_finalize();
    return rc;
}
