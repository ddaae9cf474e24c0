/* tests/test_scaling.c — examples/scaling: the protocol's plan and grid,
 * the results CSV (round trip, every kind of bad input, resuming), the
 * report (plot read back, table, a verdict computed from constructed
 * numbers), and (when `make data` has run) two tiny cells on real MNIST
 * through the command line, run twice to show the second run skips them. */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <sys/stat.h>

#include "tests/helpers/testutil.h"

#define main scaling_main
#include "examples/scaling/arms.c"
#include "examples/scaling/cell.c"
#include "examples/scaling/main.c"
#include "examples/scaling/protocol.c"
#include "examples/scaling/results.c"
#undef main

/* Runs `scaling <args...>` (NULL-terminated) with stdout to out_path;
 * returns its exit code. */
static int run_scaling(const char *out_path, ...) {
    char *argv[64];
    int argc = 0;
    va_list ap;
    va_start(ap, out_path);
    argv[argc++] = "scaling";
    for (const char *a; (a = va_arg(ap, const char *)) != NULL;) argv[argc++] = (char *)a;
    va_end(ap);
    argv[argc] = NULL;
    fflush(stdout);
    int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644), saved = dup(1);
    assert_true(fd >= 0);
    dup2(fd, 1);
    close(fd);
    int rc = scaling_main(argc, argv);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    return rc;
}

/* The length rule: clamp(E·N, min, max) images, whole epochs, about
 * max_evals checks; the default grid from 100 to the full set. */
static void test_plan_and_grid(void **state) {
    (void)state;
    scaling_protocol p = scaling_protocol_default();
    p.epochs_per_n = 20, p.min_images = 10000, p.max_images = 100000, p.max_evals = 10, p.batch_size = 64;
    scaling_plan a = scaling_plan_for(&p, 100); /* the floor: 10000 images = 100 epochs */
    assert_int_equal(a.epochs, 100);
    assert_int_equal(a.eval_every, 10);
    assert_int_equal(a.steps, 200); /* 2 batches (64 + 36) per epoch */
    scaling_plan b = scaling_plan_for(&p, 1000); /* 20 epochs */
    assert_int_equal(b.epochs, 20);
    assert_int_equal(b.eval_every, 2);
    scaling_plan c = scaling_plan_for(&p, 58000); /* the cap: 100000 images, rounded up to 2 epochs */
    assert_int_equal(c.epochs, 2);
    assert_int_equal(c.eval_every, 1);
    assert_int_equal(c.steps, 2 * 907);
    int64_t s[32];
    int n = scaling_default_sizes(58000, 2, s, 32);
    const int64_t want[] = {100, 300, 1000, 3000, 10000, 30000, 58000};
    assert_int_equal(n, 7);
    for (int i = 0; i < n; i++) assert_int_equal(s[i], want[i]);
    n = scaling_default_sizes(3600, 2, s, 32); /* 3000 is too close to 3600 */
    assert_int_equal(n, 4);
    assert_int_equal(s[2], 1000);
    assert_int_equal(s[3], 3600);
    n = scaling_default_sizes(60000, 1, s, 32);
    assert_int_equal(n, 4); /* 100, 1000, 10000, 60000 */
    assert_int_equal(s[3], 60000);
}

static scaling_result row(const char *dataset, scaling_arm arm, int64_t n, int seed, double test) {
    scaling_result r = {.arm = arm, .params = 1000 + arm, .n = n, .seed = seed, .val_acc = test, .test_acc = test,
                        .epochs = 3, .seconds = 1.5};
    snprintf(r.dataset, sizeof r.dataset, "%s", dataset);
    return r;
}

static void write_text(const char *path, const char *text) {
    assert_int_equal(tg_write_file_atomic(path, text, strlen(text)), TG_OK);
}

/* The CSV: written, read back equal (to its 2 decimals), and each kind of
 * bad input refused with path:line and nothing filled. */
static void test_results_csv(void **state) {
    (void)state;
    const char *path = tu_tmp_path("results.csv");
    scaling_results rs = {0}, back = {0};
    assert_int_equal(scaling_results_load(path, &back), TG_OK); /* absent: empty */
    assert_int_equal(back.n, 0);
    scaling_result a = row("mnist", SCALING_CNN, 100, 1, 0.8123), b = row("mnist", SCALING_VIT_LOCAL, 300, 2, 0.5);
    scaling_results_add(&rs, &a);
    scaling_results_add(&rs, &b);
    assert_int_equal(scaling_results_save(path, &rs), TG_OK);
    assert_int_equal(scaling_results_load(path, &back), TG_OK);
    assert_int_equal(back.n, 2);
    const scaling_result *f = scaling_results_find(&back, "mnist", SCALING_VIT_LOCAL, 300, 2);
    assert_non_null(f);
    assert_true(fabs(f->test_acc - 0.5) < 1e-9);
    assert_int_equal(f->params, 1002);
    assert_true(fabs(scaling_results_find(&back, "mnist", SCALING_CNN, 100, 1)->test_acc - 0.8123) < 1e-4);
    assert_null(scaling_results_find(&back, "mnist", SCALING_CNN, 100, 2));
    assert_null(scaling_results_find(&back, "fashion_mnist", SCALING_CNN, 100, 1));
    scaling_results_free(&back);

    static const struct {
        const char *text, *error;
    } bad[] = {
        {"", ":1: expected the header"},
        {"dataset,model\n", ":1: expected the header"},
        {"dataset,model,params,N,seed,val_accuracy,test_accuracy,epochs,seconds\nmnist,cnn,1,100,1,50,50,3\n",
         ":2: expected 9 comma-separated fields"},
        {"dataset,model,params,N,seed,val_accuracy,test_accuracy,epochs,seconds\nmnist,mlp,1,100,1,50,50,3,1\n",
         ":2: expected a model: cnn, vit or vit-local"},
        {"dataset,model,params,N,seed,val_accuracy,test_accuracy,epochs,seconds\nmnist,cnn,1,1e2x,1,50,50,3,1\n",
         ":2: expected numbers"},
        {"dataset,model,params,N,seed,val_accuracy,test_accuracy,epochs,seconds\nmnist,cnn,1,100,1,50,150,3,1\n",
         ":2: expected params >= 1"},
        {"dataset,model,params,N,seed,val_accuracy,test_accuracy,epochs,seconds\r\nmnist,cnn,1,100,1,50,50,3,1\r\n"
         "mnist,cnn,1,100,1,60,60,3,1\r\n",
         ":3: expected each cell once: mnist cnn N=100 seed 1 again"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        write_text(path, bad[i].text);
        scaling_results t = {.n = -7};
        assert_int_equal(scaling_results_load(path, &t), TG_ERR_FORMAT);
        assert_int_equal(t.n, -7); /* untouched */
        if (!strstr(tg_last_error(), bad[i].error) || !strstr(tg_last_error(), "results.csv"))
            fail_msg("case %zu: got \"%s\", expected \"%s\"", i, tg_last_error(), bad[i].error);
    }
    scaling_results_free(&rs);
}

/* The report from constructed numbers: the CNN leads at N = 100 by 20
 * points, the gap shrinks, the ViT overtakes between 1000 and 10000, the
 * local ViT sits between the two at N = 100; a plot per dataset. */
static void test_report(void **state) {
    (void)state;
    scaling_results rs = {0};
    const double cnn[3] = {0.70, 0.90, 0.95}, vit[3] = {0.50, 0.85, 0.96}, loc[3] = {0.60, 0.88, 0.955};
    const int64_t n[3] = {100, 1000, 10000};
    for (int k = 0; k < 3; k++)
        for (int s = 1; s <= 2; s++) {
            double d = s == 1 ? 0.01 : -0.01;
            scaling_result r[3] = {row("toy", SCALING_CNN, n[k], s, cnn[k] + d), row("toy", SCALING_VIT, n[k], s, vit[k] + d),
                                   row("toy", SCALING_VIT_LOCAL, n[k], s, loc[k] + d)};
            for (int a = 0; a < 3; a++) scaling_results_add(&rs, &r[a]);
        }
    scaling_result other = row("other", SCALING_VIT, 100, 1, 0.3);
    scaling_results_add(&rs, &other);
    FILE *sink = fopen("/dev/null", "w");
    assert_int_equal(scaling_report(&rs, tu_tmpdir(), sink), TG_OK);
    fclose(sink);
    int w, h;
    tu_png_size(tu_tmp_path("scaling_toy.png"), &w, &h);
    assert_int_equal(w, 1000);
    assert_int_equal(h, 700);
    tu_png_size(tu_tmp_path("scaling_other.png"), &w, &h);
    char *md = tu_slurp(tu_tmp_path("scaling.md"), NULL);
    assert_non_null(strstr(md, "| 100 | 70.00 ± 1.41 (2) | 50.00 ± 1.41 (2) | 60.00 ± 1.41 (2) |"));
    assert_non_null(strstr(md, "At the smallest N = 100 the CNN leads by 20.00 points"));
    assert_non_null(strstr(md, "gap CNN − ViT is -1.00 points: it shrinks by 19.00 points"));
    assert_non_null(strstr(md, "The lead changes hands between N = 1000 and N = 10000 (the ViT is ahead from there)"));
    assert_non_null(strstr(md, "The local-attention ViT scores 60.00% at N = 100: between the two"));
    assert_non_null(strstr(md, "No size has both a CNN and a ViT result yet")); /* "other" */
    free(md);
    scaling_results_free(&rs);
}

/* Two cells on real MNIST (100 images, 640 seen), then the same command
 * again: nothing to run, the CSV unchanged; --help of every command. */
static void test_run_resumes(void **state) {
    (void)state;
    const char *out = tu_tmp_path("out");
    char dir[1100], csv[1200], log[1200];
    snprintf(dir, sizeof dir, "%s", out);
    snprintf(csv, sizeof csv, "%s/results.csv", dir);
    snprintf(log, sizeof log, "%s", tu_tmp_path("log.txt"));
    assert_int_equal(run_scaling(log, "run", "--help", NULL), 0);
    assert_int_equal(run_scaling(log, "report", "--help", NULL), 0);
    assert_int_equal(run_scaling(log, "plan", "--help", NULL), 0);
    struct stat st;
    if (stat("data/mnist/train-images-idx3-ubyte.gz", &st) != 0) {
        printf("SKIPPED: data/mnist not found (run `make data`)\n");
        skip();
    }
#define TINY "run", "--datasets", "mnist", "--models", "cnn,vit-local", "--sizes", "100", "--seeds", "1", \
             "--min-images", "640", "--max-images", "640", "--val-size", "200", "--out", dir
    assert_int_equal(run_scaling(log, TINY, "--sizes", "5", NULL), 2); /* the later --sizes wins */
    assert_int_equal(run_scaling(log, TINY, NULL), 0);
    char *first = tu_slurp(csv, NULL);
    assert_int_equal(run_scaling(log, TINY, NULL), 0);
    char *second = tu_slurp(csv, NULL), *text = tu_slurp(log, NULL);
    assert_string_equal(first, second);
    assert_non_null(strstr(text, "2 finished cells")); /* the second run read both back */
    assert_non_null(strstr(text, "0 cells run"));
    scaling_results rs;
    assert_int_equal(scaling_results_load(csv, &rs), TG_OK);
    assert_int_equal(rs.n, 2);
    assert_non_null(scaling_results_find(&rs, "mnist", SCALING_CNN, 100, 1));
    assert_true(rs.rows[0].test_acc > 0.15); /* above chance after 10 steps */
    scaling_results_free(&rs);
    /* other settings in the same folder: refused */
    assert_int_equal(run_scaling(log, TINY, "--lr", "0.01", NULL), 1);
    free(first);
    free(second);
    free(text);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan_and_grid),
        cmocka_unit_test(test_results_csv),
        cmocka_unit_test(test_report),
        cmocka_unit_test(test_run_resumes),
    };
    return cmocka_run_group_tests(tests, tu_tmpdir_setup, tu_tmpdir_teardown);
}
