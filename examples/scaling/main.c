/* examples/scaling/main.c — "CNNs win with little data, self-attention
 * catches up as data grows", measured: a CNN, a ViT and a local-attention
 * ViT with matched parameter counts, trained under one protocol on
 * class-balanced subsets of N images, N on a log grid up to the full set,
 * several seeds each; test accuracy vs N plotted per dataset.
 *
 *   build/scaling run                        # the full default grid (make scaling)
 *   build/scaling run --datasets mnist --sizes 100,1000,full --seeds 2
 *   build/scaling report --out runs/scaling  # plots, table, verdict from the CSV
 *   build/scaling plan                       # the grid, epochs per cell, a measured time estimate
 *
 * `run` is resumable: finished (dataset, model, N, seed) cells are read back
 * from OUT/results.csv and skipped; each new cell is added and the CSV
 * rewritten atomically.  Run `build/scaling <command> --help` for every
 * option; docs/scaling.md explains the protocol and the outputs.
 *
 *   mpirun -np 4 build/mpi/scaling run ...   # the cells spread over 4 ranks
 *
 * Under mpirun the cells of each (dataset, seed) are assigned to the ranks
 * before they start, balanced by their planned cost (tg_dist_assign); every
 * cell gives what it gives in one process (it depends on its seed only), and
 * rank 0 collects the results at the end of the seed, adds them to the CSV
 * in the order one process would and writes the report (docs/distributed.md).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "data/io.h"
#include "examples/scaling/arms.h"
#include "examples/scaling/cell.h"
#include "examples/scaling/protocol.h"
#include "examples/scaling/results.h"
#include "tapegrad.h"
#include "train/dist.h"

#define MAX_LIST 16
#define MAX_SIZES 32

/* An error on this rank: ends every rank (exit 1). */
static void die(const char *what) { tg_dist_abort(1, "scaling: %s", what); }

/* An error every rank has agreed on (tg_dist_agree): rank 0 reports it and
 * every rank ends with exit 1. */
static void exit_agreed(void) {
    if (tg_dist_is_root()) fprintf(stderr, "scaling: %s\n", tg_last_error());
    tg_dist_finalize();
    exit(1);
}

/* ---- options every command shares --------------------------------------------- */

typedef struct {
    const char *datasets, *models, *sizes, *root, *out, *pool;
    int seeds, first_seed, per_decade, threads, verbose;
    scaling_protocol p;
    scaling_arch a;
} options;

static options default_options(void) {
    return (options){.datasets = "mnist,fashion_mnist,cifar10", .models = "cnn,vit,vit-local",
                     .sizes = "default", .root = "data", .out = "runs/scaling", .pool = "mean", .seeds = 3, .first_seed = 1,
                     .per_decade = 2, .p = scaling_protocol_default(), .a = scaling_arch_default()};
}

#define GRID_OPTS(o)                                                                                           \
    {"datasets", TG_CLI_STRING, &(o).datasets, "comma-separated: mnist, fashion_mnist, cifar10"},              \
    {"models", TG_CLI_STRING, &(o).models, "comma-separated: cnn, vit, vit-local"},                            \
    {"sizes", TG_CLI_STRING, &(o).sizes, "training-set sizes N, comma-separated ('full': all), or 'default'"}, \
    {"per-decade", TG_CLI_INT, &(o).per_decade, "points per decade of the default grid (100 .. full)"},        \
    {"seeds", TG_CLI_INT, &(o).seeds, "seeds per cell (first-seed, first-seed + 1, ...)"},                     \
    {"first-seed", TG_CLI_INT, &(o).first_seed, "the first seed"},                                             \
    {"data-root", TG_CLI_STRING, &(o).root, "where the datasets are (make data)"},                             \
    {"threads", TG_CLI_INT, &(o).threads, "OpenMP threads, per rank under mpirun (0: OMP_NUM_THREADS or all)"}, \
    {"batch-size", TG_CLI_INT, &(o).p.batch_size, "images per step"},                                          \
    {"lr", TG_CLI_DOUBLE, &(o).p.lr, "peak AdamW learning rate"},                                              \
    {"lr-min", TG_CLI_DOUBLE, &(o).p.lr_min, "learning rate at the end of the cosine decay"},                  \
    {"weight-decay", TG_CLI_DOUBLE, &(o).p.weight_decay, "AdamW decoupled weight decay (matrices, kernels)"},  \
    {"warmup-frac", TG_CLI_DOUBLE, &(o).p.warmup_frac, "fraction of the planned steps for linear warm-up"},     \
    {"clip", TG_CLI_DOUBLE, &(o).p.clip, "clip the gradient norm to this (0: off)"},                           \
    {"epochs-per-n", TG_CLI_DOUBLE, &(o).p.epochs_per_n, "E: images seen = clamp(E * N, min, max)"},           \
    {"min-images", TG_CLI_INT, &(o).p.min_images, "least images seen per run"},                                \
    {"max-images", TG_CLI_INT, &(o).p.max_images, "most images seen per run"},                                 \
    {"max-evals", TG_CLI_INT, &(o).p.max_evals, "validation checks per run (about)"},                          \
    {"patience", TG_CLI_INT, &(o).p.patience, "stop after this many checks without a better val accuracy"},    \
    {"val-size", TG_CLI_INT, &(o).p.val_size, "validation images held out of the training set (at most 10%)"}, \
    {"patch", TG_CLI_INT, &(o).a.vit.patch_size, "ViT patch size P"},                                          \
    {"d-model", TG_CLI_INT, &(o).a.vit.d_model, "ViT token width d_model"},                                    \
    {"depth", TG_CLI_INT, &(o).a.vit.depth, "ViT encoder blocks"},                                             \
    {"heads", TG_CLI_INT, &(o).a.vit.n_heads, "ViT attention heads n_heads"},                                  \
    {"d-ff", TG_CLI_INT, &(o).a.vit.d_ff, "ViT MLP hidden width"},                                             \
    {"pool", TG_CLI_STRING, &(o).pool, "ViT pooling: mean (over the patch tokens) or cls (a [CLS] token)"},     \
    {"local-window", TG_CLI_INT, &(o).a.local_window, "vit-local: attend to the k x k neighbouring patches"},   \
    {"cnn-stages", TG_CLI_INT, &(o).a.cnn.n_stages, "CNN stages (width doubles, 2x2 max pool after each)"},    \
    {"cnn-convs", TG_CLI_INT, &(o).a.cnn.convs_per_stage, "CNN conv-BN-ReLU blocks per stage"},                \
    {"out", TG_CLI_STRING, &(o).out, "folder of results.csv, protocol.txt, the plots and scaling.md"}

/* Splits a comma-separated list into at most max parts (in place). */
static int split_list(char *s, char **parts, int max, const char *what) {
    int n = 0;
    for (char *t = strtok(s, ","); t; t = strtok(NULL, ",")) {
        if (n == max) {
            fprintf(stderr, "scaling: --%s: at most %d entries\n", what, max);
            exit(2);
        }
        parts[n++] = t;
    }
    if (!n) {
        fprintf(stderr, "scaling: --%s: expected at least one entry\n", what);
        exit(2);
    }
    return n;
}

static void check_options(options *o) {
    if (strcmp(o->pool, "mean") && strcmp(o->pool, "cls")) {
        fprintf(stderr, "scaling: --pool '%s': expected mean or cls\n", o->pool);
        exit(2);
    }
    o->a.vit.pool = strcmp(o->pool, "mean") ? TG_VIT_POOL_CLS : TG_VIT_POOL_MEAN;
    const scaling_protocol *p = &o->p;
    if (o->seeds < 1 || o->first_seed < 0 || o->per_decade < 1 || p->batch_size < 1 || p->max_evals < 1 ||
        p->patience < 1 || p->val_size < 1 || p->min_images < 1 || p->max_images < p->min_images ||
        !(p->epochs_per_n > 0) || !(p->lr > 0) || p->lr_min < 0 || p->weight_decay < 0 || p->clip < 0 ||
        !(p->warmup_frac >= 0 && p->warmup_frac < 1)) {
        fprintf(stderr, "scaling: options out of range: --seeds, --per-decade, --batch-size, --max-evals, --patience, "
                        "--val-size, --min-images >= 1, --max-images >= --min-images, --epochs-per-n and --lr > 0, "
                        "--lr-min, --weight-decay, --clip, --first-seed >= 0, --warmup-frac in [0, 1)\n");
        exit(2);
    }
    if (o->threads > 0) tg_set_num_threads(o->threads);
}

/* The N of a dataset: --sizes parsed against its full size; -1 (with a
 * message) when --sizes is not a list of sizes. */
static int grid_sizes(const options *o, const scaling_data *d, int64_t *sizes) {
    const int64_t full = scaling_train_size(d, &o->p, 0);
    if (!strcmp(o->sizes, "default")) return scaling_default_sizes(full, o->per_decade, sizes, MAX_SIZES);
    char buf[1024], *parts[MAX_SIZES];
    snprintf(buf, sizeof buf, "%s", o->sizes);
    int n = split_list(buf, parts, MAX_SIZES, "sizes"), m = 0;
    for (int i = 0; i < n; i++) {
        char *end;
        errno = 0;
        long long v = !strcmp(parts[i], "full") ? (long long)full : strtoll(parts[i], &end, 10);
        if (strcmp(parts[i], "full") && (*end || errno || v < 10)) {
            fprintf(stderr, "scaling: --sizes: '%s': expected an integer >= 10 or 'full'\n", parts[i]);
            return -1;
        }
        int64_t s = scaling_train_size(d, &o->p, v);
        int dup = 0;
        for (int k = 0; k < m; k++) dup |= sizes[k] == s;
        if (!dup) sizes[m++] = s;
    }
    return m;
}

/* The protocol and architecture as text: a run refuses to resume a CSV made
 * under other settings (the comparison would not be one protocol). */
static void describe(const options *o, char *buf, size_t len) {
    const scaling_protocol *p = &o->p;
    const scaling_arch *a = &o->a;
    snprintf(buf, len,
             "protocol: AdamW lr %g -> %g (cosine, warm-up %g of the steps), weight decay %g, clip %g, batch %d; "
             "images seen clamp(%g * N, %lld, %lld); %d validation checks, patience %d, val %d images\n"
             "architecture: ViT patch %d, d_model %d, depth %d, %d heads, d_ff %d, %s pooling; vit-local window %d; CNN %d "
             "stages x %d convs, width matched to the ViT\n",
             p->lr, p->lr_min, p->warmup_frac, p->weight_decay, p->clip, p->batch_size, p->epochs_per_n,
             (long long)p->min_images, (long long)p->max_images, p->max_evals, p->patience, p->val_size,
             a->vit.patch_size, a->vit.d_model, a->vit.depth, a->vit.n_heads, a->vit.d_ff,
             a->vit.pool == TG_VIT_POOL_MEAN ? "mean" : "[CLS]", a->local_window,
             a->cnn.n_stages, a->cnn.convs_per_stage);
}

static void make_out_dir(const char *out) {
    struct stat st;
    if (mkdir(out, 0777) != 0 && (stat(out, &st) != 0 || !S_ISDIR(st.st_mode))) {
        char msg[4200];
        snprintf(msg, sizeof msg, "cannot create the --out folder %s: %s", out, strerror(errno));
        die(msg);
    }
}

/* Writes OUT/protocol.txt, or checks that it says the same; 0 when it
 * does, else 1 (with a message). */
static int pin_protocol(const options *o) {
    char text[2048], path[4096];
    describe(o, text, sizeof text);
    snprintf(path, sizeof path, "%s/protocol.txt", o->out);
    void *old;
    size_t len;
    FILE *probe = fopen(path, "rb");
    if (probe) {
        fclose(probe);
        if (tg_read_file(path, 1 << 20, &old, &len) != TG_OK) die(tg_last_error());
        if (strcmp(old, text)) {
            fprintf(stderr, "scaling: %s: the results there were made with other settings:\n%s"
                            "this run's:\n%suse another --out, or the same options\n", path, (char *)old, text);
            free(old);
            return 1;
        }
        free(old);
        return 0;
    }
    if (tg_write_file_atomic(path, text, strlen(text)) != TG_OK) die(tg_last_error());
    return 0;
}

/* Loads a dataset (on every rank, which agree on the outcome) and fits the
 * architecture to it; prints both. */
/* Reads a dataset and fits the architectures to it.  collective = 1: every
 * rank calls this and agrees on the outcome (run); 0: rank 0 alone (plan,
 * whose other ranks have already left), which aborts every rank on error. */
static void load_dataset(const options *o, const char *name, scaling_data *d, scaling_arch *a, int collective) {
    tg_status st = scaling_data_load(name, o->root, d);
    if (!collective && st != TG_OK) die(tg_last_error());
    if (collective && tg_dist_agree(st) != TG_OK) exit_agreed();
    *a = o->a;
    if (scaling_arch_fit(a, d->train.h, d->train.w, d->train.c, d->train.n_classes) != TG_OK) die(tg_last_error());
    printf("%s: %lld training images (%lld after the validation slice), %lld test images of %dx%dx%d; augment pad %d%s\n",
           name, (long long)d->train.n, (long long)scaling_train_size(d, &o->p, 0), (long long)d->test.n, d->train.h,
           d->train.w, d->train.c, d->pad, d->flip ? " + flips" : "");
    printf("  parameters: cnn %lld (width %d), vit %lld, vit-local %lld (window %d)\n",
           (long long)scaling_arch_params(a, SCALING_CNN), a->cnn.width,
           (long long)scaling_arch_params(a, SCALING_VIT), (long long)scaling_arch_params(a, SCALING_VIT_LOCAL),
           a->local_window);
}

static int parse_models(const options *o, scaling_arm *arms) {
    char buf[256], *parts[MAX_LIST];
    snprintf(buf, sizeof buf, "%s", o->models);
    int n = split_list(buf, parts, MAX_LIST, "models");
    for (int i = 0; i < n; i++) {
        int a = scaling_arm_parse(parts[i]);
        if (a < 0) {
            fprintf(stderr, "scaling: --models: '%s': expected cnn, vit or vit-local\n", parts[i]);
            exit(2);
        }
        arms[i] = (scaling_arm)a;
    }
    return n;
}

/* ---- run ------------------------------------------------------------------------ */

/* The images a cell of n training images goes through as planned (without
 * early stopping): returns those trained on (epochs x n); *evaluated gets
 * those of every validation check and of the test set once (forward only:
 * about a third of a training image each). */
static double planned_images(const scaling_protocol *p, const scaling_data *d, int64_t n, double *evaluated) {
    scaling_plan plan = scaling_plan_for(p, n);
    int checks = (plan.epochs + plan.eval_every - 1) / plan.eval_every;
    *evaluated = (double)checks * (double)(d->train.n - scaling_train_size(d, p, 0)) + (double)d->test.n;
    return (double)plan.epochs * (double)n;
}

/* A finished cell on its way to rank 0: its place in the seed's cell order. */
typedef struct {
    int32_t cell, rank;
    scaling_result res;
} cell_result;

static void print_cell(const cell_result *c) {
    const scaling_result *r = &c->res;
    printf("  %-13s %-9s N %6lld seed %d: val %6.2f%%, test %6.2f%%, %3d epochs, %6.1f s", r->dataset,
           scaling_arm_name(r->arm), (long long)r->n, r->seed, 100 * r->val_acc, 100 * r->test_acc, r->epochs,
           r->seconds);
    if (tg_dist_world() > 1) printf(" (rank %d)", c->rank);
    printf("\n");
    fflush(stdout);
}

static int by_cell(const void *a, const void *b) {
    const cell_result *x = a, *y = b;
    return (x->cell > y->cell) - (x->cell < y->cell);
}

/* The cells (size k, arm m) of seed s not yet in rs: each rank runs those
 * tg_dist_assign gives it, balanced by planned cost (the images the plan
 * trains on and evaluates, planned_images, x the arm's multiply-adds per
 * image; early stopping can only shorten a cell).  Rank 0 adds them to rs
 * in cell order (size-major, as one process runs them) and rewrites the
 * CSV: after each cell in one process, after the seed's last cell under
 * mpirun.  Returns the cells run (on rank 0: by every rank). */
static int run_seed(const options *o, const scaling_data *d, const scaling_arch *a, int s, const int64_t *sizes,
                    int n_sizes, const scaling_arm *arms, int n_arms, scaling_results *rs, const char *csv) {
    const int n = n_sizes * n_arms, world = tg_dist_world(), rank = tg_dist_rank();
    uint8_t todo[MAX_SIZES * MAX_LIST];
    for (int c = 0; c < n; c++) /* rank 0 holds the CSV; everyone follows it */
        todo[c] = tg_dist_is_root() && !scaling_results_find(rs, d->name, arms[c % n_arms], sizes[c / n_arms], s);
    tg_dist_broadcast(todo, (size_t)n);
    double cost[MAX_SIZES * MAX_LIST];
    int owner[MAX_SIZES * MAX_LIST];
    for (int c = 0; c < n; c++) {
        double evaluated, seen = planned_images(&o->p, d, sizes[c / n_arms], &evaluated);
        cost[c] = todo[c] ? (seen + evaluated / 3) * scaling_arch_macs(a, arms[c % n_arms]) : 0.0;
    }
    tg_dist_assign(cost, n, world, owner);
    cell_result mine[MAX_SIZES * MAX_LIST];
    int n_mine = 0, ran = 0;
    for (int c = 0; c < n; c++) {
        if (!todo[c] || owner[c] != rank) continue;
        cell_result *r = &mine[n_mine++];
        *r = (cell_result){c, rank, scaling_run_cell(d, &o->p, a, arms[c % n_arms], sizes[c / n_arms], s, o->verbose)};
        if (world > 1) continue;
        print_cell(r);
        scaling_results_add(rs, &r->res);
        if (scaling_results_save(csv, rs) != TG_OK) die(tg_last_error());
        ran++;
    }
    if (world == 1) return ran;
    int64_t n_all;
    cell_result *all = tg_dist_gather(mine, n_mine, sizeof *mine, &n_all);
    if (tg_dist_is_root()) {
        qsort(all, (size_t)n_all, sizeof *all, by_cell);
        for (int64_t i = 0; i < n_all; i++) {
            print_cell(&all[i]);
            scaling_results_add(rs, &all[i].res);
        }
        if (n_all && scaling_results_save(csv, rs) != TG_OK) die(tg_last_error());
        ran = (int)n_all;
    }
    free(all);
    return ran;
}

static int cmd_run(int argc, char **argv) {
    options o = default_options();
    const tg_cli_opt opts[] = {GRID_OPTS(o), {"verbose", TG_CLI_FLAG, &o.verbose, "a line per validation check"}};
    int r = tg_cli_subcommand(argc, argv, "scaling run", opts, (int)(sizeof opts / sizeof *opts),
                              "Runs every (dataset, model, N, seed) cell not yet in OUT/results.csv, adding each "
                              "to it as it finishes, then writes the report (scaling report).");
    if (r >= 0) return r;
    check_options(&o);
    char csv[4096];
    snprintf(csv, sizeof csv, "%s/results.csv", o.out);
    scaling_results rs = {0};
    double refused = 0; /* rank 0 owns the folder and the CSV */
    if (tg_dist_is_root()) {
        make_out_dir(o.out);
        refused = pin_protocol(&o);
        if (!refused && scaling_results_load(csv, &rs) != TG_OK) die(tg_last_error());
        if (!refused) printf("%s: %d finished cells\n", csv, rs.n);
    }
    tg_dist_allreduce(&refused, 1, TG_DIST_MAX);
    if (refused) return 1;
    scaling_arm arms[MAX_LIST];
    int n_arms = parse_models(&o, arms);
    char buf[256], *names[MAX_LIST];
    snprintf(buf, sizeof buf, "%s", o.datasets);
    int n_data = split_list(buf, names, MAX_LIST, "datasets");
    if (tg_dist_world() > 1)
        printf("%d ranks, %d thread(s) each: the cells of each seed assigned by planned cost\n", tg_dist_world(),
               tg_get_num_threads());

    double t0 = tg_now();
    int ran = 0;
    for (int i = 0; i < n_data; i++) {
        scaling_data d;
        scaling_arch a;
        load_dataset(&o, names[i], &d, &a, 1);
        int64_t sizes[MAX_SIZES];
        int n_sizes = grid_sizes(&o, &d, sizes);
        if (n_sizes < 0) {
            scaling_data_free(&d);
            scaling_results_free(&rs);
            return 2;
        }
        for (int k = 0; k < n_sizes; k++) {
            scaling_plan plan = scaling_plan_for(&o.p, sizes[k]);
            printf("  N = %lld: up to %d epochs (%lld steps), a validation check every %d\n", (long long)sizes[k],
                   plan.epochs, (long long)plan.steps, plan.eval_every);
        }
        /* seed-major: a run cut short still has whole curves for its first seeds */
        for (int s = o.first_seed; s < o.first_seed + o.seeds; s++)
            ran += run_seed(&o, &d, &a, s, sizes, n_sizes, arms, n_arms, &rs, csv);
        scaling_data_free(&d);
    }
    if (!tg_dist_is_root()) return 0; /* rank 0 reports */
    printf("%d cells run in %.0f s (wall time; the machine may be shared); %d in %s\n\n", ran, tg_now() - t0, rs.n,
           csv);
    if (scaling_report(&rs, o.out, stdout) != TG_OK) die(tg_last_error());
    printf("\nplots and scaling.md written to %s\n", o.out);
    scaling_results_free(&rs);
    return 0;
}

/* ---- report ---------------------------------------------------------------------- */

static int cmd_report(int argc, char **argv) {
    const char *out = "runs/scaling", *csv = NULL;
    const tg_cli_opt opts[] = {
        {"out", TG_CLI_STRING, &out, "folder of results.csv; the plots and scaling.md are written there"},
        {"csv", TG_CLI_STRING, &csv, "read this CSV instead of OUT/results.csv"},
    };
    int r = tg_cli_subcommand(argc, argv, "scaling report", opts, (int)(sizeof opts / sizeof *opts),
                              "From the results CSV: a PNG per dataset (test accuracy vs N, log axis, ± std "
                              "bands), the markdown table and the verdict (OUT/scaling.md and stdout).");
    if (r >= 0) return r;
    if (!tg_dist_is_root()) return 0; /* under mpirun rank 0 writes the report */
    char path[4096];
    snprintf(path, sizeof path, "%s/results.csv", out);
    scaling_results rs;
    if (scaling_results_load(csv ? csv : path, &rs) != TG_OK) die(tg_last_error());
    if (rs.n == 0) die("no results yet (run `scaling run` first)");
    make_out_dir(out);
    if (scaling_report(&rs, out, stdout) != TG_OK) die(tg_last_error());
    scaling_results_free(&rs);
    return 0;
}

/* ---- plan ------------------------------------------------------------------------- */

/* Images per second of training steps of arm (after one warm-up step):
 * per wall second, and per second of CPU time of the process (clock():
 * with one thread, about the rate of an idle core however loaded the
 * machine is) into *per_cpu_second. */
static double measure(const scaling_data *d, const scaling_protocol *p, const scaling_arch *a, scaling_arm arm,
                      int steps, double *per_cpu_second) {
    scaling_model m;
    scaling_model_init(&m, arm, a, 1);
    tg_adam opt;
    tg_adamw_init(&opt, &m.ps, (float)p->lr, 0.9f, 0.999f, 1e-8f, (float)p->weight_decay);
    tg_tape *tp = tg_tape_new(64u << 20);
    const int B = p->batch_size, per = d->train.h * d->train.w * d->train.c;
    double t0 = 0;
    clock_t c0 = 0;
    for (int s = 0; s <= steps; s++) {
        if (s == 1) t0 = tg_now(), c0 = clock();
        tg_tape_reset(tp);
        tg_tensor *x = tg_tape_tensor(tp, TG_SHAPE(B, d->train.h, d->train.w, d->train.c));
        memcpy(x->data, d->train.pixels + (size_t)(s % 8) * B * per, (size_t)B * per * sizeof(float));
        tg_params_zero_grad(&m.ps);
        tg_tensor *loss = tg_cross_entropy(tp, scaling_model_forward(tp, &m, x, NULL),
                                           d->train.labels + (s % 8) * B, -1, TG_MEAN);
        if (tg_backward(tp, loss) != TG_OK) die(tg_last_error());
        tg_adam_step(&opt);
    }
    double ips = (double)steps * B / (tg_now() - t0);
    *per_cpu_second = (double)steps * B / ((double)(clock() - c0) / CLOCKS_PER_SEC);
    tg_tape_free(tp);
    tg_adam_free(&opt);
    scaling_model_free(&m);
    return ips;
}

static int cmd_plan(int argc, char **argv) {
    options o = default_options();
    int steps = 30;
    const tg_cli_opt opts[] = {GRID_OPTS(o), {"measure-steps", TG_CLI_INT, &steps, "training steps timed per model (0: do not time)"}};
    int r = tg_cli_subcommand(argc, argv, "scaling plan", opts, (int)(sizeof opts / sizeof *opts),
                              "Prints the grid a `run` with these options would do: per dataset the sizes, epochs, "
                              "steps and images seen per cell, the models' parameter counts, and an estimate of "
                              "the time from training steps timed here; each evaluated image (every validation check, "
                              "the test set once) counts as a third of a training image.");
    if (r >= 0) return r;
    if (!tg_dist_is_root()) return 0; /* under mpirun rank 0 alone times the steps */
    check_options(&o);
    scaling_arm arms[MAX_LIST];
    int n_arms = parse_models(&o, arms);
    char buf[256], *names[MAX_LIST];
    snprintf(buf, sizeof buf, "%s", o.datasets);
    int n_data = split_list(buf, names, MAX_LIST, "datasets");
    char text[2048];
    describe(&o, text, sizeof text);
    printf("%s", text);
    double total = 0, total_cpu = 0;
    for (int i = 0; i < n_data; i++) {
        scaling_data d;
        scaling_arch a;
        load_dataset(&o, names[i], &d, &a, 0);
        double ips[MAX_LIST] = {0}, cpu[MAX_LIST] = {0};
        for (int m = 0; m < n_arms && steps > 0; m++) {
            ips[m] = measure(&d, &o.p, &a, arms[m], steps, &cpu[m]);
            printf("  %s: %.0f training images/s of wall time, %.0f per CPU second (%d steps of %d, %d threads)\n",
                   scaling_arm_name(arms[m]), ips[m], cpu[m], steps, o.p.batch_size, tg_get_num_threads());
        }
        int64_t sizes[MAX_SIZES];
        int n_sizes = grid_sizes(&o, &d, sizes);
        if (n_sizes < 0) return 2;
        double images = 0, seconds = 0, cpu_seconds = 0;
        for (int k = 0; k < n_sizes; k++) {
            scaling_plan plan = scaling_plan_for(&o.p, sizes[k]);
            double evaluated, seen = planned_images(&o.p, &d, sizes[k], &evaluated);
            printf("  N = %6lld: %4d epochs, %6lld steps, %8.0f images seen, check every %d epochs\n",
                   (long long)sizes[k], plan.epochs, (long long)plan.steps, seen, plan.eval_every);
            images += seen * o.seeds * n_arms;
            for (int m = 0; m < n_arms && steps > 0; m++) {
                seconds += (seen + evaluated / 3) * o.seeds / ips[m];
                cpu_seconds += (seen + evaluated / 3) * o.seeds / cpu[m];
            }
        }
        printf("  %s: %d cells, %.3g images seen in all (without early stopping)", names[i], n_sizes * o.seeds * n_arms,
               images);
        if (steps > 0)
            printf(", about %.0f min at the wall rates above, %.0f CPU minutes", seconds / 60, cpu_seconds / 60);
        printf("\n");
        total += seconds;
        total_cpu += cpu_seconds;
        scaling_data_free(&d);
    }
    if (steps > 0)
        printf("all: about %.0f min at the wall rates measured now, %.0f CPU minutes (with --threads 1: about the "
               "minutes on one idle core); early stopping can only shorten it\n",
               total / 60, total_cpu / 60);
    return 0;
}

int main(int argc, char **argv) {
    static const tg_cli_command cmds[] = {
        {"run", "train every (dataset, model, N, seed) cell not yet in the CSV; then report", cmd_run},
        {"report", "plots, markdown table and verdict from the CSV", cmd_report},
        {"plan", "the grid, epochs and steps per cell, and a time estimate from timed steps", cmd_plan},
    };
    if (tg_dist_init(&argc, &argv) != TG_OK) die(tg_last_error()); /* under mpirun: one rank of many */
    int rc = tg_cli_run(argc, argv, "scaling", cmds, (int)(sizeof cmds / sizeof *cmds));
    tg_dist_finalize();
    return rc;
}
