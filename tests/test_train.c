/* tests/test_train.c — shuffling and batches, accuracy, early stopping,
 * progress text, CSV log, metrics JSON, command-line options. */
#define _POSIX_C_SOURCE 200809L
#include "helpers/testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "data/io.h"
#include "train/batch.h"
#include "train/cli.h"
#include "train/log.h"

static void test_permutation(void **state) {
    (void)state;
    enum { N = 1000 };
    int64_t p[N], q[N];
    tg_rng r1, r2, r3;
    tg_rng_seed(&r1, 7);
    tg_rng_seed(&r2, 7);
    tg_permutation(p, N, &r1);
    tg_permutation(q, N, &r2);
    assert_memory_equal(p, q, sizeof p); /* same seed, same order */
    int seen[N] = {0};
    int fixed = 0;
    for (int i = 0; i < N; i++) {
        assert_true(p[i] >= 0 && p[i] < N);
        seen[p[i]]++;
        fixed += p[i] == i;
    }
    for (int i = 0; i < N; i++) assert_int_equal(seen[i], 1);
    assert_true(fixed < 10); /* a shuffle, not the identity */
    /* the algorithm as documented: exactly n-1 draws, i from n-1 down */
    tg_rng_seed(&r3, 7);
    int64_t h[N];
    for (int i = 0; i < N; i++) h[i] = i;
    for (int i = N - 1; i > 0; i--) {
        int j = (int)tg_rng_below(&r3, (uint32_t)i + 1);
        int64_t t = h[i];
        h[i] = h[j];
        h[j] = t;
    }
    assert_memory_equal(p, h, sizeof p);
    assert_memory_equal(&r1, &r3, sizeof r1);
    tg_permutation(p, 0, &r1);
    tg_permutation(p, 1, &r1);
    assert_int_equal(p[0], 0);
}

static void test_batcher(void **state) {
    (void)state;
    tg_rng rng;
    tg_rng_seed(&rng, 1);
    tg_batcher bt;
    tg_batcher_init(&bt, 10, 4, 0, &rng);
    assert_int_equal(tg_batcher_n_batches(&bt), 3);
    const int64_t *idx;
    /* before the first epoch: in order */
    assert_int_equal(tg_batcher_next(&bt, &idx), 4);
    assert_true(idx[0] == 0 && idx[3] == 3);
    int64_t first_epoch[10];
    for (int e = 0; e < 2; e++) {
        tg_batcher_epoch(&bt);
        int seen[10] = {0}, sizes[4] = {0}, nb = 0;
        int64_t b, k = 0;
        while ((b = tg_batcher_next(&bt, &idx)) > 0) {
            sizes[nb++] = (int)b;
            for (int64_t i = 0; i < b; i++) {
                seen[idx[i]]++;
                if (e == 0) first_epoch[k] = idx[i];
                else if (k == 9) assert_true(memcmp(first_epoch, bt.perm, sizeof first_epoch) != 0);
                k++;
            }
        }
        assert_int_equal(nb, 3);
        assert_true(sizes[0] == 4 && sizes[1] == 4 && sizes[2] == 2);
        for (int i = 0; i < 10; i++) assert_int_equal(seen[i], 1);
        assert_int_equal(tg_batcher_next(&bt, &idx), 0); /* stays at the end */
    }
    tg_batcher_free(&bt);
    tg_batcher_init(&bt, 10, 4, 1, NULL);
    assert_int_equal(tg_batcher_n_batches(&bt), 2);
    tg_batcher_epoch(&bt);
    assert_int_equal(tg_batcher_next(&bt, &idx), 4);
    assert_int_equal(idx[0], 0);
    assert_int_equal(tg_batcher_next(&bt, &idx), 4);
    assert_int_equal(idx[0], 4);
    assert_int_equal(tg_batcher_next(&bt, &idx), 0); /* the partial batch is dropped */
    tg_batcher_free(&bt);
    TU_EXPECT_DEATH(tg_batcher_init(&bt, 10, 0, 0, NULL), "batch_size >= 1");
}

static void test_count_correct(void **state) {
    (void)state;
    const float logits[] = {
        0.1f, 2.0f, 0.3f, /* argmax 1 */
        5.0f, 5.0f, 1.0f, /* tie: first index, 0 */
        -1.f, -2.f, -0.5f, /* 2 */
        9.0f, 0.0f, 0.0f, /* 0, but ignored */
    };
    const int32_t targets[] = {1, 1, 2, -100};
    int64_t counted = 0;
    assert_int_equal(tg_count_correct(logits, targets, 4, 3, -100, &counted), 2);
    assert_int_equal(counted, 3);
    const int32_t t2[] = {1, 0, 0, 0};
    assert_int_equal(tg_count_correct(logits, t2, 4, 3, -1, NULL), 3);
    const int32_t bad[] = {1, 3, 0, 0};
    TU_EXPECT_DEATH(tg_count_correct(logits, bad, 4, 3, -1, NULL), "target 3 of row 1 outside [0, 3)");

    int32_t pred[4] = {-1, -1, -1, -1};
    tg_argmax_rows(logits, 4, 3, pred);
    assert_int_equal(pred[0], 1);
    assert_int_equal(pred[1], 0); /* tie: the first index, as tg_count_correct */
    assert_int_equal(pred[2], 2);
    assert_int_equal(pred[3], 0);
    tg_argmax_rows(logits, 0, 3, NULL);
    TU_EXPECT_DEATH(tg_argmax_rows(logits, 4, 0, pred), "n_classes >= 1");
}

static void test_early_stop(void **state) {
    (void)state;
    tg_early_stop es;
    tg_early_stop_init(&es, TG_MINIMIZE, 2, 0.01);
    const double losses[] = {1.0, 0.8, 0.795, 0.7, 0.71, NAN, 0.5};
    const int best[] = {1, 1, 0, 1, 0, 0, -1};
    const int stop[] = {0, 0, 0, 0, 0, 1, -1};
    for (int e = 0; e < 6; e++) {
        assert_int_equal(tg_early_stop_update(&es, e + 1, losses[e]), best[e]);
        assert_int_equal(tg_early_stop_should_stop(&es), stop[e]);
    }
    assert_true(es.best == 0.7 && es.best_epoch == 4);

    tg_early_stop_init(&es, TG_MAXIMIZE, 3, 0.0);
    assert_int_equal(tg_early_stop_update(&es, 1, NAN), 0); /* NaN is never best */
    assert_int_equal(tg_early_stop_update(&es, 2, 0.5), 1);
    assert_int_equal(tg_early_stop_update(&es, 3, 0.5), 0); /* equal is not better */
    assert_int_equal(tg_early_stop_update(&es, 4, 0.4), 0);
    assert_int_equal(tg_early_stop_should_stop(&es), 0);
    assert_int_equal(tg_early_stop_update(&es, 5, 0.6), 1);
    assert_int_equal(es.bad_epochs, 0);
    for (int e = 6; e <= 8; e++) tg_early_stop_update(&es, e, 0.1);
    assert_int_equal(tg_early_stop_should_stop(&es), 1);
    assert_int_equal(es.best_epoch, 5);
}

static void test_progress_text(void **state) {
    (void)state;
    tg_progress p;
    tg_progress_start(&p, 3, 20, 391, 50);
    p.t0 = 100.0;
    p.step = 120;
    p.loss_sum = 0.4321 * 120;
    p.items = 120 * 32;
    char buf[256];
    /* 120 steps in 3.1 s: 1239 items/s, 271 steps left = 7.0 s */
    tg_progress_format(&p, 103.1, 1, buf, sizeof buf);
    assert_string_equal(buf, "epoch 3/20 [=====>              ] step 120/391 loss 0.4321 1239 items/s ETA 0:07");
    tg_progress_format(&p, 103.1, 0, buf, sizeof buf);
    assert_string_equal(buf, "epoch 3/20 step 120/391 loss 0.4321 1239 items/s ETA 0:07");
    p.step = 391;
    p.loss_sum = 0.25 * 391;
    tg_progress_format(&p, 100.0 + 3725.0, 1, buf, sizeof buf);
    assert_string_equal(buf, "epoch 3/20 [====================] step 391/391 loss 0.2500 1 items/s in 1:02:05");

    /* plain mode: a line every 50 steps and at the end */
    const char *path = tu_tmp_path("progress.txt");
    FILE *f = fopen(path, "w");
    tg_progress_start(&p, 1, 2, 120, 50);
    p.out = f;
    p.tty = 0;
    for (int s = 1; s <= 120; s++) tg_progress_update(&p, s, 1.0f, 8);
    tg_progress_end(&p);
    fclose(f);
    char *text = tu_slurp(path, NULL);
    int lines = 0;
    for (char *c = text; *c; c++) lines += *c == '\n';
    assert_int_equal(lines, 3);
    assert_non_null(strstr(text, "epoch 1/2 step 50/120 loss 1.0000"));
    assert_non_null(strstr(text, "epoch 1/2 step 120/120 loss 1.0000"));
    assert_null(strchr(text, '\r'));
    free(text);
    /* terminal mode: redraws with \r, ends with one newline */
    f = fopen(path, "w");
    tg_progress_start(&p, 1, 1, 5, 50);
    p.out = f;
    p.tty = 1;
    for (int s = 1; s <= 5; s++) tg_progress_update(&p, s, 2.0f, 1);
    tg_progress_end(&p);
    fclose(f);
    text = tu_slurp(path, NULL);
    assert_int_equal(text[0], '\r');
    assert_non_null(strstr(text, "] step 5/5 loss 2.0000"));
    assert_int_equal(text[strlen(text) - 1], '\n');
    assert_ptr_equal(strchr(text, '\n'), text + strlen(text) - 1);
    free(text);
}

static void test_csv_log(void **state) {
    (void)state;
    const char *path = tu_tmp_path("log.csv");
    tg_csv_log log;
    const char *cols[] = {"epoch", "train_loss", "val,acc"};
    assert_int_equal(tg_csv_log_open(&log, path, 3, cols), TG_OK);
    assert_int_equal(tg_csv_log_row(&log, (double[]){1, 0.5, 0.25}), TG_OK);
    char *text = tu_slurp(path, NULL); /* flushed after every row */
    assert_string_equal(text, "epoch,train_loss,\"val,acc\"\n1,0.5,0.25\n");
    free(text);
    assert_int_equal(tg_csv_log_row(&log, (double[]){2, NAN, 1.0 / 3.0}), TG_OK);
    assert_int_equal(tg_csv_log_close(&log), TG_OK);
    text = tu_slurp(path, NULL);
    assert_string_equal(text, "epoch,train_loss,\"val,acc\"\n1,0.5,0.25\n2,nan,0.333333333\n");
    free(text);
    assert_int_equal(tg_csv_log_open(&log, tu_tmp_path("no/dir/log.csv"), 3, cols), TG_ERR_IO);
    assert_non_null(strstr(tg_last_error(), "no/dir/log.csv: cannot create"));
    /* the same file in one go (a log assembled at the end), atomically */
    const char *whole = tu_tmp_path("whole.csv");
    const double rows[2][3] = {{1, 0.5, 0.25}, {2, NAN, 1.0 / 3.0}};
    assert_int_equal(tg_csv_write(whole, 3, cols, 2, &rows[0][0]), TG_OK);
    char *again = tu_slurp(whole, NULL);
    assert_string_equal(again, "epoch,train_loss,\"val,acc\"\n1,0.5,0.25\n2,nan,0.333333333\n");
    free(again);
    assert_int_equal(tg_csv_write(whole, 3, cols, 0, NULL), TG_OK); /* header only */
    again = tu_slurp(whole, NULL);
    assert_string_equal(again, "epoch,train_loss,\"val,acc\"\n");
    free(again);
    assert_int_equal(tg_csv_write(tu_tmp_path("no/dir/whole.csv"), 3, cols, 2, &rows[0][0]), TG_ERR_IO);
    assert_non_null(strstr(tg_last_error(), "no/dir/whole.csv: cannot create temporary file"));
    again = tu_slurp(whole, NULL); /* untouched by the failed write elsewhere */
    assert_string_equal(again, "epoch,train_loss,\"val,acc\"\n");
    free(again);
}

static void test_metrics_json(void **state) {
    (void)state;
    const char *path = tu_tmp_path("metrics.json");
    const char *names[] = {"val_acc", "epochs", "loss"};
    assert_int_equal(tg_metrics_json_write(path, 3, names, (double[]){0.9375, 12, INFINITY}), TG_OK);
    char *text = tu_slurp(path, NULL);
    assert_string_equal(text, "{\"val_acc\":0.9375,\"epochs\":12,\"loss\":null}\n");
    cJSON *j = cJSON_Parse(text);
    assert_non_null(j);
    assert_true(cJSON_GetObjectItem(j, "val_acc")->valuedouble == 0.9375);
    cJSON_Delete(j);
    free(text);
    /* 1/3 round-trips exactly */
    assert_int_equal(tg_metrics_json_write(path, 1, names, (double[]){1.0 / 3.0}), TG_OK);
    text = tu_slurp(path, NULL);
    j = cJSON_Parse(text);
    assert_true(cJSON_GetObjectItem(j, "val_acc")->valuedouble == 1.0 / 3.0);
    cJSON_Delete(j);
    free(text);
    assert_int_equal(tg_metrics_json_write(tu_tmp_path("no/dir/m.json"), 1, names, (double[]){1}),
                     TG_ERR_IO);
}

static void test_cli(void **state) {
    (void)state;
    int epochs = 20, quiet = 0;
    float lr = 3e-4f;
    double wd = 0.1;
    const char *data = "data/ud";
    const tg_cli_opt opts[] = {
        {"epochs", TG_CLI_INT, &epochs, "number of epochs"},
        {"lr", TG_CLI_FLOAT, &lr, "peak learning rate"},
        {"wd", TG_CLI_DOUBLE, &wd, "weight decay"},
        {"data", TG_CLI_STRING, &data, "corpus directory"},
        {"quiet", TG_CLI_FLAG, &quiet, "no progress output"},
    };
    char *ok[] = {"prog", "--epochs", "5", "--lr=0.01", "--quiet", "--data", "x/y", "--wd", "1e-2"};
    assert_int_equal(tg_cli_parse(9, ok, opts, 5, "about"), 0);
    assert_true(epochs == 5 && lr == 0.01f && quiet == 1 && strcmp(data, "x/y") == 0 && wd == 1e-2);

    const char *help_path = tu_tmp_path("help.txt");
    FILE *f = fopen(help_path, "w");
    epochs = 20;
    tg_cli_help(f, "/usr/bin/tagger", opts, 5, "Trains a tagger.");
    fclose(f);
    char *text = tu_slurp(help_path, NULL);
    assert_non_null(strstr(text, "usage: tagger [options]\nTrains a tagger.\n"));
    assert_non_null(strstr(text, "  --epochs N           number of epochs (default 20)\n"));
    assert_non_null(strstr(text, "  --lr X               peak learning rate (default 0.01)\n"));
    assert_non_null(strstr(text, "  --quiet              no progress output\n"));
    free(text);

    struct { int argc; char *argv[4]; const char *msg; } bad[] = {
        {3, {"p", "--epochs", "ten"}, "--epochs: expected an integer, got 'ten'"},
        {2, {"p", "--epoch"}, "unknown option '--epoch' (see --help)"},
        {2, {"p", "--lr"}, "--lr: missing value"},
        {3, {"p", "--lr", "1e999"}, "--lr: expected a number, got '1e999'"},
        {2, {"p", "--quiet=1"}, "--quiet takes no value"},
        {2, {"p", "stray"}, "unexpected argument 'stray'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(tg_cli_parse(bad[i].argc, bad[i].argv, opts, 5, NULL), TG_ERR_ARG);
        if (!strstr(tg_last_error(), bad[i].msg))
            fail_msg("case %zu: message \"%s\" lacks \"%s\"", i, tg_last_error(), bad[i].msg);
    }
}

/* TG_CLI_OUTPUT: a writable path parses (and leaves no file behind, nor
 * touches an existing one); a missing folder, a directory, or --help with a
 * bad path (help wins) — and tg_check_writable on its own. */
static void test_cli_output(void **state) {
    (void)state;
    const char *save = NULL;
    const tg_cli_opt opts[] = {{"save", TG_CLI_OUTPUT, &save, "model file"}};
    const char *good = tu_tmp_path("model.safetensors");
    char *ok[] = {"p", "--save", (char *)good};
    assert_int_equal(tg_cli_parse(3, ok, opts, 1, NULL), 0);
    assert_string_equal(save, good);
    struct stat sb;
    char tmpname[600];
    snprintf(tmpname, sizeof tmpname, "%s.tmp.%ld", good, (long)getpid());
    assert_int_not_equal(stat(good, &sb), 0); /* nothing created */
    assert_int_not_equal(stat(tmpname, &sb), 0); /* nor left behind */
    FILE *f = fopen(good, "w");
    fputs("keep", f);
    fclose(f);
    assert_int_equal(tg_cli_parse(3, ok, opts, 1, NULL), 0);
    size_t n = 0;
    char *text = tu_slurp(good, &n);
    assert_string_equal(text, "keep"); /* an existing file is left as it is */
    free(text);
    char missing[512];
    snprintf(missing, sizeof missing, "%s", tu_tmp_path("no/such/dir/m.safetensors"));
    char *bad[] = {"p", "--save", missing};
    assert_int_equal(tg_cli_parse(3, bad, opts, 1, NULL), TG_ERR_ARG);
    assert_non_null(strstr(tg_last_error(), "--save: "));
    assert_non_null(strstr(tg_last_error(), "m.safetensors: cannot write there: No such file or directory"));
    char dir[512];
    snprintf(dir, sizeof dir, "%s", tu_tmp_path(""));
    char *isdir[] = {"p", "--save", dir};
    assert_int_equal(tg_cli_parse(3, isdir, opts, 1, NULL), TG_ERR_ARG);
    assert_non_null(strstr(tg_last_error(), "is a directory: expected a file name"));
    fflush(stdout); /* the help goes to stdout: to /dev/null here, then back */
    int saved = dup(1), null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    char *help[] = {"p", "--save", missing, "--help"};
    int r = tg_cli_parse(4, help, opts, 1, NULL);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    close(null);
    assert_int_equal(r, 1);
    assert_int_equal(tg_check_writable(good), TG_OK);
    assert_int_equal(tg_check_writable(missing), TG_ERR_IO);
}

/* Positional arguments anywhere among the options, "--" ending the options,
 * the maximum enforced; tg_cli_parse itself still rejects them. */
static void test_cli_positional(void **state) {
    (void)state;
    int k = 5;
    const tg_cli_opt opts[] = {{"top", TG_CLI_INT, &k, "classes to show"}};
    const char *pos[3];
    int n = -1;
    char *argv[] = {"p", "a.png", "--top", "3", "b.png", "--", "--c.png"};
    assert_int_equal(tg_cli_parse_positional(7, argv, opts, 1, NULL, pos, 3, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(k, 3);
    assert_string_equal(pos[0], "a.png");
    assert_string_equal(pos[1], "b.png");
    assert_string_equal(pos[2], "--c.png");
    assert_int_equal(tg_cli_parse_positional(7, argv, opts, 1, NULL, pos, 2, &n), TG_ERR_ARG);
    assert_non_null(strstr(tg_last_error(), "too many arguments: at most 2"));
    assert_int_equal(tg_cli_parse(5, argv, opts, 1, NULL), TG_ERR_ARG);
    assert_non_null(strstr(tg_last_error(), "unexpected argument 'a.png'"));
}

/* A subcommand: -1 goes on, 0 after --help, 2 after a bad option; argv[0]
 * becomes the subcommand's name. */
static void test_cli_subcommand(void **state) {
    (void)state;
    int k = 5;
    const tg_cli_opt opts[] = {{"top", TG_CLI_INT, &k, "classes to show"}};
    char *ok[] = {"train", "--top", "7"};
    assert_int_equal(tg_cli_subcommand(3, ok, "prog train", opts, 1, NULL), -1);
    assert_int_equal(k, 7);
    assert_string_equal(ok[0], "prog train");
    const char *files[2];
    int n_files = -1;
    char *pos[] = {"predict", "a.png", "--top", "3", "b.png"};
    assert_int_equal(tg_cli_subcommand_positional(5, pos, "prog predict", opts, 1, NULL, files, 2, &n_files), -1);
    assert_int_equal(n_files, 2);
    assert_string_equal(files[1], "b.png");
    assert_int_equal(k, 3);
    char *many[] = {"predict", "a", "b", "c"};
    assert_int_equal(tg_cli_subcommand_positional(4, many, "prog predict", opts, 1, NULL, files, 2, &n_files), 2);
    char *bad[] = {"train", "--top", "seven"};
    assert_int_equal(tg_cli_subcommand(3, bad, "prog train", opts, 1, NULL), 2);
    assert_non_null(strstr(tg_last_error(), "--top"));
    char *help[] = {"train", "--help"};
    assert_int_equal(tg_cli_subcommand(2, help, "prog train", opts, 1, NULL), 0);
}

static int ran_argc;
static const char *ran_argv0;
static int cmd_probe(int argc, char **argv) {
    ran_argc = argc, ran_argv0 = argv[0];
    return 7;
}

/* The command dispatch: a known command runs with argv[1..] and its status
 * is returned; none, --help and an unknown one give 2 / 0 / 2. */
static void test_cli_run(void **state) {
    (void)state;
    const tg_cli_command cmds[] = {{"train", "train it", cmd_probe}, {"eval", "score it", cmd_probe}};
    char *run[] = {"prog", "eval", "--top", "3"};
    assert_int_equal(tg_cli_run(4, run, "prog", cmds, 2), 7);
    assert_int_equal(ran_argc, 3);
    assert_string_equal(ran_argv0, "eval");
    char *none[] = {"prog"}, *help[] = {"prog", "--help"}, *unknown[] = {"prog", "fit"};
    ran_argc = -1;
    assert_int_equal(tg_cli_run(1, none, "prog", cmds, 2), 2);
    assert_int_equal(tg_cli_run(2, help, "prog", cmds, 2), 0);
    assert_int_equal(tg_cli_run(2, unknown, "prog", cmds, 2), 2);
    assert_int_equal(ran_argc, -1); /* none of them ran a command */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_permutation),   cmocka_unit_test(test_batcher),
        cmocka_unit_test(test_count_correct), cmocka_unit_test(test_early_stop),
        cmocka_unit_test(test_progress_text), cmocka_unit_test(test_csv_log),
        cmocka_unit_test(test_metrics_json),  cmocka_unit_test(test_cli),
        cmocka_unit_test(test_cli_output),
        cmocka_unit_test(test_cli_positional), cmocka_unit_test(test_cli_subcommand), cmocka_unit_test(test_cli_run),
    };
    return cmocka_run_group_tests(tests, tu_tmpdir_setup, tu_tmpdir_teardown);
}
