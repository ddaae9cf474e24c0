/* tests/test_dist_examples.c — the examples under `mpirun -np 2` (issue 11;
 * built with make MPI=1, SKIPPED otherwise).
 *
 * gat and scaling spread independent runs over the ranks (seeds; grid
 * cells): on data made here, 2 ranks must report exactly what 1 process
 * reports (the per-seed accuracies and the epoch log of gat, the CSV rows of
 * scaling but for their wall-time column), and a missing input must end
 * both ranks with status 1.
 *
 * vit, translate and charlm train one model on shards of every batch:
 *
 * Each example trains on data made here, once as 2 ranks × local batch b
 * and once as 1 rank × batch 2b, with dropout and augmentation off (their
 * masks are drawn per rank), and the two saved checkpoints are compared:
 * the same parameters to ≤ 1e-6 relative (‖Δ‖₂ / ‖θ‖₂).  The difference is
 * the rounding of the gradient sum: two partial sums added by MPI instead of
 * one sum in the GEMM's order (docs/distributed.md).  The key projections'
 * biases are left out of the figure and reported apart: their exact
 * gradient is 0 (softmax ignores a constant per row), so they hold rounding
 * noise, which Adam turns into ±lr steps whose sign depends on the order.
 * Both runs must also end with ranks that agree (the examples check the
 * parameter checksum after every epoch) and exit 0. */
#define _POSIX_C_SOURCE 200809L
#include "tests/helpers/testutil.h"

#include <libgen.h>
#include <math.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "data/png.h"
#include "examples/charlm/model.c"
#include "examples/translate/model.c"
#include "examples/vit/model.c"
#include "train/dist.h"

static char build_dir[4096]; /* build/mpi: the examples beside tests/ */

/* Runs `mpirun -np N prog args` (as root: --allow-run-as-root), output to
 * <tmp>/<log>; fails the test, printing the log, unless it exits 0. */
static void mpirun(int np, const char *log, const char *args) {
    char cmd[16384], path[8192];
    snprintf(path, sizeof path, "%s/%s", tu_tmpdir(), log);
    snprintf(cmd, sizeof cmd,
             "OMP_NUM_THREADS=1 timeout 300 mpirun --allow-run-as-root --oversubscribe -np %d %s/%s > %s 2>&1",
             np, build_dir, args, path);
    int st = system(cmd);
    if (st != 0) {
        char *out = tu_slurp(path, NULL);
        fail_msg("%s (status %d):\n%s", cmd, st, out ? out : "(no output)");
    }
}

/* The same for a run that must fail: within 60 s (a hang fails the test),
 * with exit status `status` (-1: any but 0), its output containing `expect`. */
static void mpirun_fails(int np, const char *log, const char *args, const char *expect, int status) {
    char cmd[16384], path[8192];
    snprintf(path, sizeof path, "%s/%s", tu_tmpdir(), log);
    snprintf(cmd, sizeof cmd,
             "OMP_NUM_THREADS=1 timeout 60 mpirun --allow-run-as-root --oversubscribe -np %d %s/%s > %s 2>&1",
             np, build_dir, args, path);
    int st = system(cmd);
    char *out = tu_slurp(path, NULL);
    if (!WIFEXITED(st) || WEXITSTATUS(st) == 0 || WEXITSTATUS(st) == 124 || !out || !strstr(out, expect) ||
        (status >= 0 && WEXITSTATUS(st) != status))
        fail_msg("%s: expected a quick failure saying \"%s\" (status %d):\n%s", cmd, expect, st,
                 out ? out : "(no output)");
    printf("%s: exit %d, \"%s\" reported\n", log, WEXITSTATUS(st), expect);
    free(out);
}

static int is_key_bias(const char *name, int *packed) {
    size_t n = strlen(name);
    *packed = n >= 13 && strcmp(name + n - 13, "attn.qkv.bias") == 0;
    return *packed || (n >= 8 && strcmp(name + n - 8, "w_k.bias") == 0);
}

/* ‖a − b‖₂ / ‖b‖₂ over every parameter but the key biases (for a packed
 * qkv bias [3C]: its middle third), whose max |Δ| goes to *key_max. */
static double compare_params(const tg_params *a, const tg_params *b, double *key_max, double *max_abs) {
    assert_int_equal(a->total, b->total);
    double d2 = 0, n2 = 0;
    *key_max = *max_abs = 0;
    for (int i = 0; i < a->n; i++) {
        const tg_tensor *x = a->t[i], *y = b->t[i];
        assert_string_equal(x->name, y->name);
        int packed, key = is_key_bias(x->name, &packed);
        int64_t c = x->size / 3;
        for (int64_t j = 0; j < x->size; j++) {
            double d = fabs((double)x->data[j] - (double)y->data[j]);
            if (key && (!packed || (j >= c && j < 2 * c))) {
                *key_max = fmax(*key_max, d);
                continue;
            }
            d2 += d * d;
            n2 += (double)y->data[j] * (double)y->data[j];
            *max_abs = fmax(*max_abs, d);
        }
    }
    return sqrt(d2 / n2);
}

/* Prints the comparison of the 2-rank and the 1-rank parameters and requires
 * ≤ 1e-6 relative (and a real difference of real numbers). */
static void expect_equivalent(const char *what, const tg_params *two, const tg_params *one) {
    double key, max_abs, rel = compare_params(two, one, &key, &max_abs);
    printf("%s: 2 ranks x batch 2 vs 1 rank x batch 4: relative difference %.3g "
           "(max |diff| %.3g over %lld parameters; key biases apart: max |diff| %.3g)\n",
           what, rel, max_abs, (long long)two->total, key);
    assert_true(rel <= 1e-6);
    assert_true(rel > 0 || max_abs == 0); /* a real comparison of real numbers */
}

static int need_mpi(void) {
    if (tg_dist_available()) return 1;
    printf("SKIPPED: built without MPI (make test MPI=1 runs it)\n");
    return 0;
}

/* ---- vit ------------------------------------------------------------------- */

/* DIR/{train,test}/{dark,light}/<i>.png: 8×8 images, a bright square at a
 * class-dependent place plus noise; 50 + 10 per class. */
static void write_images(const char *dir) {
    tg_rng rng;
    tg_rng_seed(&rng, 3);
    static const char *const parts[2] = {"train", "test"}, *const classes[2] = {"dark", "light"};
    char path[8192];
    mkdir(dir, 0777);
    for (int p = 0; p < 2; p++) {
        snprintf(path, sizeof path, "%s/%s", dir, parts[p]);
        mkdir(path, 0777);
        for (int k = 0; k < 2; k++) {
            snprintf(path, sizeof path, "%s/%s/%s", dir, parts[p], classes[k]);
            mkdir(path, 0777);
            for (int i = 0; i < (p ? 10 : 50); i++) {
                uint8_t rgb[8 * 8 * 3];
                for (int y = 0; y < 8; y++)
                    for (int x = 0; x < 8; x++) {
                        int on = k ? (x >= 4 && y >= 4) : (x < 4 && y < 4);
                        uint8_t v = (uint8_t)(on * 150 + (int)(tg_rng_uniform(&rng) * 100));
                        for (int c = 0; c < 3; c++) rgb[(y * 8 + x) * 3 + c] = v;
                    }
                snprintf(path, sizeof path, "%s/%s/%s/%03d.png", dir, parts[p], classes[k], i);
                assert_int_equal(tg_png_write_rgb(path, rgb, 8, 8), TG_OK);
            }
        }
    }
}

static void vit_run(int np, int batch, const char *name) {
    char args[8192];
    /* 100 training images, 20 held out: 80 = 20 global batches of 4. */
    snprintf(args, sizeof args,
             "vit train --data %s/images --channels 1 --patch 4 --d-model 16 --depth 2 --heads 2 --d-ff 32 "
             "--epochs 1 --batch-size %d --warmup 5 --augment 0 --dropout 0 --val-split 0.2 --threads 1 "
             "--save %s/%s.safetensors",
             tu_tmpdir(), batch, tu_tmpdir(), name);
    char log[64];
    snprintf(log, sizeof log, "%s.log", name);
    mpirun(np, log, args);
}

static void test_vit_two_ranks_equal_one(void **state) {
    (void)state;
    if (!need_mpi()) skip();
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/images", tu_tmpdir());
    write_images(dir);
    vit_run(2, 2, "vit_two");
    vit_run(1, 4, "vit_one");
    char *log = tu_slurp(tu_tmp_path("vit_two.log"), NULL);
    if (!strstr(log, "80 training") || !strstr(log, "step 20,"))
        fail_msg("expected 80 training images in 20 steps:\n%s", log);
    free(log);
    vit_model two, one;
    char path[8192];
    snprintf(path, sizeof path, "%s/vit_two.safetensors", tu_tmpdir());
    if (vit_model_load(path, &two) != TG_OK) fail_msg("%s", tg_last_error());
    snprintf(path, sizeof path, "%s/vit_one.safetensors", tu_tmpdir());
    if (vit_model_load(path, &one) != TG_OK) fail_msg("%s", tg_last_error());
    expect_equivalent("vit, 20 AdamW steps", &two.ps, &one.ps);
    vit_model_free(&two);
    vit_model_free(&one);
}

/* ---- translate --------------------------------------------------------------- */

/* eng<TAB>fra pairs that pass the tutorial's filter: "<subject> <adj> ." */
static void write_pairs(const char *path) {
    static const char *const eng_subj[] = {"i am", "he is", "she is", "we are", "you are", "they are"};
    static const char *const fra_subj[] = {"je suis", "il est", "elle est", "nous sommes", "vous etes",
                                           "ils sont"};
    static const char *const eng_adj[] = {"happy", "tired", "tall", "old", "young", "busy", "ready",
                                          "late", "sad", "calm", "rich", "poor", "free", "sick", "strong",
                                          "weak", "quiet"};
    static const char *const fra_adj[] = {"content", "fatigue", "grand", "vieux", "jeune", "occupe", "pret",
                                          "en retard", "triste", "calme", "riche", "pauvre", "libre",
                                          "malade", "fort", "faible", "tranquille"};
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (int s = 0; s < 6; s++)
        for (int a = 0; a < 17; a++)
            fprintf(f, "%s %s .\t%s %s .\n", eng_subj[s], eng_adj[a], fra_subj[s], fra_adj[a]);
    fclose(f);
}

static void tr_run(int np, int batch, const char *name) {
    char args[8192];
    /* 102 pairs: train 91 = 22 global batches of 4 and one of 3 (split 2 + 1). */
    snprintf(args, sizeof args,
             "translate train --data %s/pairs.tsv --dir %s/%s --d-model 16 --heads 2 --d-ff 32 --enc-layers 1 "
             "--dec-layers 1 --dropout 0 --epochs 1 --batch-size %d --warmup 5 --beam 2 --max-len 6 --threads 1",
             tu_tmpdir(), tu_tmpdir(), name, batch);
    char log[64];
    snprintf(log, sizeof log, "%s.log", name);
    mpirun(np, log, args);
}

static void tr_load(const char *name, tr_model *m) {
    char path[8192], *cfg_s = NULL;
    snprintf(path, sizeof path, "%s/%s/model.safetensors", tu_tmpdir(), name);
    if (tg_checkpoint_read_metadata(path, "config", &cfg_s) != TG_OK) fail_msg("%s", tg_last_error());
    tr_config cfg;
    assert_int_equal(tr_config_from_json(cfg_s, &cfg), TG_OK);
    free(cfg_s);
    tr_model_init(m, &cfg, 1);
    if (tg_checkpoint_load(path, &m->ps, NULL) != TG_OK) fail_msg("%s", tg_last_error());
}

static void test_translate_two_ranks_equal_one(void **state) {
    (void)state;
    if (!need_mpi()) skip();
    char path[8192];
    snprintf(path, sizeof path, "%s/pairs.tsv", tu_tmpdir());
    write_pairs(path);
    tr_run(2, 2, "tr_two");
    tr_run(1, 4, "tr_one");
    char *log = tu_slurp(tu_tmp_path("tr_two.log"), NULL);
    if (!strstr(log, "train 91,") || !strstr(log, "step 23,"))
        fail_msg("expected 91 training pairs in 23 steps:\n%s", log); /* the split the comment counts on */
    free(log);
    tr_model two, one;
    tr_load("tr_two", &two);
    tr_load("tr_one", &one);
    expect_equivalent("translate, 23 AdamW steps", &two.ps, &one.ps);
    tr_model_free(&two);
    tr_model_free(&one);
}

/* ---- charlm ------------------------------------------------------------------ */

/* The number under "key" in the one-object metrics JSON tmp/name. */
static double json_number(const char *name, const char *key) {
    char *j = tu_slurp(tu_tmp_path(name), NULL), pat[128];
    assert_non_null(j);
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(j, pat);
    if (!p) fail_msg("%s: no key %s in %s", name, key, j);
    double v = strtod(p + strlen(pat), NULL);
    free(j);
    return v;
}

static void lm_run(int np, int batch, const char *name) {
    char args[8192];
    snprintf(args, sizeof args,
             "charlm train --data %s/lm.txt --steps 20 --batch-size %d --block-size 16 --n-layer 1 --n-head 2 "
             "--d-model 16 --warmup 5 --eval-batches 1 --log-every 5 --save %s/%s.safetensors "
             "--metrics-json %s/%s.json",
             tu_tmpdir(), batch, tu_tmpdir(), name, tu_tmpdir(), name);
    char log[64];
    snprintf(log, sizeof log, "%s.log", name);
    mpirun(np, log, args);
}

static void test_charlm_two_ranks_equal_one(void **state) {
    (void)state;
    if (!need_mpi()) skip();
    static const char *const words[] = {"the ", "king ", "speaks ", "now ", "ROMEO: ", "love "};
    char path[8192];
    snprintf(path, sizeof path, "%s/lm.txt", tu_tmpdir());
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    tg_rng rng;
    tg_rng_seed(&rng, 5);
    for (int i = 0; i < 3000; i++) fputs(words[tg_rng_below(&rng, 6)], f);
    assert_int_equal(fclose(f), 0);
    lm_run(2, 2, "lm_two");
    lm_run(1, 4, "lm_one");
    char *log = tu_slurp(tu_tmp_path("lm_two.log"), NULL);
    if (!strstr(log, "W4: 20 steps")) fail_msg("expected 20 steps:\n%s", log);
    free(log);
    charlm two, one;
    tg_char_vocab v2, v1;
    snprintf(path, sizeof path, "%s/lm_two.safetensors", tu_tmpdir());
    if (charlm_load(path, &two, &v2) != TG_OK) fail_msg("%s", tg_last_error());
    snprintf(path, sizeof path, "%s/lm_one.safetensors", tu_tmpdir());
    if (charlm_load(path, &one, &v1) != TG_OK) fail_msg("%s", tg_last_error());
    expect_equivalent("charlm, 20 AdamW steps", &two.ps, &one.ps);
    /* the whole-split validation loss, each rank taking half of the windows,
     * is one rank's up to float rounding */
    double full2 = json_number("lm_two.json", "val_loss_full"), full1 = json_number("lm_one.json", "val_loss_full");
    printf("charlm whole-split validation loss: %.6f on 2 ranks, %.6f on 1\n", full2, full1);
    assert_true(isfinite(full1) && full1 > 0);
    assert_true(fabs(full2 - full1) <= 1e-4 * full1);
    charlm_free(&two);
    charlm_free(&one);
    tg_char_vocab_free(&v2);
    tg_char_vocab_free(&v1);
}

/* ---- gat ------------------------------------------------------------------- */

/* DIR/NAME.* in the Planetoid text format (data/planetoid.h): 90 nodes in 3
 * classes (n mod 3), 12 binary features (one tied to the class, one random),
 * edges n—n+3 (same class) and n—n+1 for n ≡ 0 mod 5; nodes 0..29 train,
 * 30..59 val, 60..89 test. */
static void write_graph(const char *dir) {
    enum { N = 90, F = 12, C = 3 };
    char path[8192];
    mkdir(dir, 0777);
    const char *name = strrchr(dir, '/') + 1;
    int n_edges = 0;
    for (int u = 0; u < N; u++) n_edges += (u + 3 < N) + (u % 5 == 0 && u + 1 < N);
    snprintf(path, sizeof path, "%s/%s.meta", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "nodes %d\nfeatures %d\nclasses %d\nedges %d\ntrain 30\nval 30\ntest 30\nnone 0\n", N, F, C, n_edges);
    fclose(f);
    tg_rng rng;
    tg_rng_seed(&rng, 9);
    snprintf(path, sizeof path, "%s/%s.features", dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    for (int n = 0; n < N; n++) {
        int a = (n % C) * 4 + (n / C) % 4, b = (int)tg_rng_below(&rng, F);
        if (a == b) fprintf(f, "%d %d\n", n, a);
        else fprintf(f, "%d %d %d\n", n, a < b ? a : b, a < b ? b : a);
    }
    fclose(f);
    snprintf(path, sizeof path, "%s/%s.labels", dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    for (int n = 0; n < N; n++) fprintf(f, "%d %d\n", n, n % C);
    fclose(f);
    snprintf(path, sizeof path, "%s/%s.edges", dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    for (int u = 0; u < N; u++) {
        if (u % 5 == 0 && u + 1 < N) fprintf(f, "%d %d\n", u, u + 1);
        if (u + 3 < N) fprintf(f, "%d %d\n", u, u + 3);
    }
    fclose(f);
    snprintf(path, sizeof path, "%s/%s.split", dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    for (int n = 0; n < N; n++) fprintf(f, "%d %s\n", n, n < 30 ? "train" : n < 60 ? "val" : "test");
    fclose(f);
}

static void gat_run(int np, const char *name) {
    char args[8192];
    snprintf(args, sizeof args,
             "gat train --data %s/toygraph --seeds 5 --epochs 40 --patience 10 --heads 2 --hidden 4 --threads 1 "
             "--log-csv %s/%s.csv --metrics-json %s/%s.json",
             tu_tmpdir(), tu_tmpdir(), name, tu_tmpdir(), name);
    char log[64];
    snprintf(log, sizeof log, "%s.log", name);
    mpirun(np, log, args);
}

/* The report's lines that must not depend on the world size: each seed's
 * line up to its timing, "(… ms/epoch)", and the mean ± std line. */
static char *seed_lines(const char *log_name, int *n_seeds) {
    char *log = tu_slurp(tu_tmp_path(log_name), NULL), *out = tg_xcalloc(strlen(log) + 1), *o = out;
    assert_non_null(log);
    *n_seeds = 0;
    for (char *line = strtok(log, "\n"); line; line = strtok(NULL, "\n")) {
        if (!strncmp(line, "seed ", 5)) {
            char *t = strstr(line, " (");
            if (t) *t = 0;
            (*n_seeds)++;
        } else if (strncmp(line, "test accuracy over", 18)) continue;
        o += sprintf(o, "%s\n", line);
    }
    free(log);
    return out;
}

static void test_gat_two_ranks_equal_one(void **state) {
    (void)state;
    if (!need_mpi()) skip();
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/toygraph", tu_tmpdir());
    write_graph(dir);
    gat_run(2, "gat_two");
    gat_run(1, "gat_one");
    int n2, n1;
    char *two = seed_lines("gat_two.log", &n2), *one = seed_lines("gat_one.log", &n1);
    printf("gat, 5 seeds on 2 ranks and on 1:\n%s", two);
    assert_int_equal(n2, 5);
    assert_int_equal(n1, 5);
    assert_string_equal(two, one);
    char *csv2 = tu_slurp(tu_tmp_path("gat_two.csv"), NULL), *csv1 = tu_slurp(tu_tmp_path("gat_one.csv"), NULL);
    assert_non_null(csv2);
    assert_non_null(csv1);
    assert_string_equal(csv2, csv1); /* every epoch of every seed, in seed order */
    assert_non_null(strstr(csv2, "\n5,1,")); /* seed 5 (rank 0's third) is in it */
    char *j2 = tu_slurp(tu_tmp_path("gat_two.json"), NULL), *j1 = tu_slurp(tu_tmp_path("gat_one.json"), NULL);
    char *t2 = strstr(j2, "\"ms_per_epoch\""), *t1 = strstr(j1, "\"ms_per_epoch\"");
    assert_non_null(t2);
    assert_non_null(t1);
    *t2 = *t1 = 0; /* the timing apart, the metrics are the same */
    assert_string_equal(j2, j1);
    free(two), free(one), free(csv2), free(csv1), free(j2), free(j1);
}

/* ---- scaling ----------------------------------------------------------------- */

static void put32(unsigned char *b, uint32_t v) {
    b[0] = (unsigned char)(v >> 24), b[1] = (unsigned char)(v >> 16), b[2] = (unsigned char)(v >> 8),
    b[3] = (unsigned char)v;
}

/* ROOT/mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte (plain IDX): 28×28
 * images of 4 classes, a bright quadrant per class plus noise; 200 training
 * images, 40 test images. */
static void write_idx(const char *root) {
    char dir[8192], path[8300];
    mkdir(root, 0777);
    snprintf(dir, sizeof dir, "%s/mnist", root);
    mkdir(dir, 0777);
    tg_rng rng;
    tg_rng_seed(&rng, 4);
    static const char *const pre[2] = {"train", "t10k"};
    for (int p = 0; p < 2; p++) {
        const uint32_t n = p ? 40 : 200;
        unsigned char *img = tg_xmalloc(16 + (size_t)n * 784), *lab = tg_xmalloc(8 + n);
        put32(img, 0x803), put32(img + 4, n), put32(img + 8, 28), put32(img + 12, 28);
        put32(lab, 0x801), put32(lab + 4, n);
        for (uint32_t i = 0; i < n; i++) {
            int k = (int)(i % 4);
            lab[8 + i] = (unsigned char)k;
            for (int y = 0; y < 28; y++)
                for (int x = 0; x < 28; x++) {
                    int on = (y < 14) == (k < 2) && (x < 14) == (k % 2 == 0);
                    img[16 + (size_t)i * 784 + y * 28 + x] = (unsigned char)(on * 150 + (int)tg_rng_below(&rng, 100));
                }
        }
        snprintf(path, sizeof path, "%s/%s-images-idx3-ubyte", dir, pre[p]);
        assert_int_equal(tg_write_file_atomic(path, img, 16 + (size_t)n * 784), TG_OK);
        snprintf(path, sizeof path, "%s/%s-labels-idx1-ubyte", dir, pre[p]);
        assert_int_equal(tg_write_file_atomic(path, lab, 8 + n), TG_OK);
        free(img);
        free(lab);
    }
}

static void scaling_run(int np, const char *name) {
    char args[8192];
    snprintf(args, sizeof args,
             "scaling run --data-root %s/idx --datasets mnist --models cnn,vit,vit-local --sizes 40,80 --seeds 2 "
             "--min-images 80 --max-images 80 --val-size 20 --max-evals 2 --d-model 16 --depth 1 --heads 2 "
             "--d-ff 32 --threads 1 --out %s/%s",
             tu_tmpdir(), tu_tmpdir(), name);
    char log[64];
    snprintf(log, sizeof log, "%s.log", name);
    mpirun(np, log, args);
}

/* OUT/results.csv without its last column (seconds, machine-dependent). */
static char *csv_rows(const char *name) {
    char path[8192];
    snprintf(path, sizeof path, "%s/%s/results.csv", tu_tmpdir(), name);
    char *text = tu_slurp(path, NULL), *out = tg_xcalloc(text ? strlen(text) + 1 : 1), *o = out;
    assert_non_null(text);
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char *comma = strrchr(line, ',');
        if (comma) *comma = 0;
        o += sprintf(o, "%s\n", line);
    }
    free(text);
    return out;
}

static void test_scaling_two_ranks_equal_one(void **state) {
    (void)state;
    if (!need_mpi()) skip();
    char root[4096];
    snprintf(root, sizeof root, "%s/idx", tu_tmpdir());
    write_idx(root);
    scaling_run(2, "sc_two");
    scaling_run(1, "sc_one");
    char *two = csv_rows("sc_two"), *one = csv_rows("sc_one");
    printf("scaling, 12 cells on 2 ranks and on 1:\n%s", two);
    assert_string_equal(two, one);
    int rows = 0;
    for (const char *c = two; (c = strchr(c, '\n')); c++) rows++;
    assert_int_equal(rows, 13); /* the header and 2 seeds x 2 sizes x 3 models */
    char *log = tu_slurp(tu_tmp_path("sc_two.log"), NULL);
    if (!strstr(log, "(rank 0)") || !strstr(log, "(rank 1)")) fail_msg("expected cells on both ranks:\n%s", log);
    free(log);
    /* again on 2 ranks: every cell read back, none run, the CSV unchanged */
    char path[8192];
    snprintf(path, sizeof path, "%s/sc_two/results.csv", tu_tmpdir());
    char *before = tu_slurp(path, NULL);
    scaling_run(2, "sc_two");
    char *after = tu_slurp(path, NULL);
    assert_string_equal(before, after);
    log = tu_slurp(tu_tmp_path("sc_two.log"), NULL);
    if (!strstr(log, "12 finished cells") || !strstr(log, "0 cells run")) fail_msg("expected a resume:\n%s", log);
    free(log), free(before), free(after), free(two), free(one);
    /* plan and report run on rank 0 alone while the others wait in finalize: no collective may hang them */
    char args[8192];
    snprintf(args, sizeof args, "scaling plan --data-root %s/idx --datasets mnist --sizes 40,80 --measure-steps 0",
             tu_tmpdir());
    mpirun(2, "sc_plan.log", args);
    log = tu_slurp(tu_tmp_path("sc_plan.log"), NULL);
    if (!log || !strstr(log, "N =     40")) fail_msg("expected the plan of N = 40:\n%s", log ? log : "");
    free(log);
    snprintf(args, sizeof args, "scaling report --out %s/sc_two", tu_tmpdir());
    mpirun(2, "sc_report.log", args);
}

/* A bad input on the rank that reads it ends every rank with its message. */
static void test_bad_input_stops_every_rank(void **state) {
    (void)state;
    if (!need_mpi()) skip();
    char args[8192];
    snprintf(args, sizeof args, "translate train --data %s/absent.tsv --dir %s/tr_bad --epochs 1", tu_tmpdir(),
             tu_tmpdir());
    mpirun_fails(2, "tr_bad.log", args, "absent.tsv", 1);
    snprintf(args, sizeof args, "vit train --data %s/absent_images --epochs 1", tu_tmpdir());
    mpirun_fails(2, "vit_bad.log", args, "absent_images", 1);
    snprintf(args, sizeof args, "charlm train --data %s/absent.txt --steps 2 --warmup 1 --save %s/lm_bad.safetensors",
             tu_tmpdir(), tu_tmpdir());
    mpirun_fails(2, "lm_bad.log", args, "absent.txt", 1);
    snprintf(args, sizeof args, "gat train --data %s/absent_graph --epochs 2", tu_tmpdir());
    mpirun_fails(2, "gat_bad.log", args, "absent_graph.meta: cannot open", 1);
    snprintf(args, sizeof args, "scaling run --data-root %s/absent_root --datasets mnist --out %s/sc_bad",
             tu_tmpdir(), tu_tmpdir());
    mpirun_fails(2, "scaling_bad.log", args, "absent_root/mnist", 1);
    snprintf(args, sizeof args, "scaling plan --data-root %s/absent_root --datasets mnist --measure-steps 0",
             tu_tmpdir());
    mpirun_fails(2, "plan_bad.log", args, "absent_root/mnist", -1); /* rank 0 alone: MPI_Abort */
}

int main(int argc, char **argv) {
    (void)argc;
    char exe[4096];
    snprintf(exe, sizeof exe, "%s", argv[0]);
    snprintf(build_dir, sizeof build_dir, "%s", dirname(dirname(exe))); /* build/mpi/tests/x -> build/mpi */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vit_two_ranks_equal_one),
        cmocka_unit_test(test_translate_two_ranks_equal_one),
        cmocka_unit_test(test_charlm_two_ranks_equal_one),
        cmocka_unit_test(test_gat_two_ranks_equal_one),
        cmocka_unit_test(test_scaling_two_ranks_equal_one),
        cmocka_unit_test(test_bad_input_stops_every_rank),
    };
    return cmocka_run_group_tests(tests, tu_tmpdir_setup, tu_tmpdir_teardown);
}
