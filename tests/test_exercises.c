/* tests/test_exercises.c — `build/exercise` end to end: for every op, the
 * correct solution in tests/exercises/<op>.c passes `check`, and each of its
 * typical mistakes (-DMISTAKE=n) fails with the first wrong element and the
 * hint that names the mistake; `init` copies skeletons whose empty backward
 * is reported as such; `list` shows progress; bad input gives exit 2. */
#define _POSIX_C_SOURCE 200809L
#include "tests/helpers/testutil.h"

#include <libgen.h>
#include <sys/wait.h>

static char exercise_bin[1024];

/* Runs "exercise ARGS", returns its exit status; *out (caller frees) gets
 * stdout and stderr. */
static int run(const char *args, char **out) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s %s 2>&1", exercise_bin, args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n - 1, p)) > 0) {
        n += got;
        if (n + 1 == cap) buf = realloc(buf, cap *= 2);
    }
    buf[n] = 0;
    int st = pclose(p);
    *out = buf;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

typedef struct {
    const char *op;
    const char *hint[3]; /* what the hint of MISTAKE=1..3 must say */
} expectation;

static const expectation expected[] = {
    {"linear", {"transposed product", "sum over the broadcast dims", "transposed product"}},
    {"softmax",
     {"Σ term of the softmax Jacobian ∂y_j/∂x_i = y_j(δ_ij − y_i)) is missing",
      "Σ term of the softmax Jacobian ∂y_j/∂x_i = y_j(δ_ij − y_i)) has the wrong sign",
      "assigns (=) instead of adding (+=)"}},
    {"cross_entropy",
     {"forgotten mask", "divided by all N rows instead of the count",
      "the Σ term of log_softmax) is missing"}},
    {"layernorm",
     {"(the path through μ: every x_j moves the mean) is missing",
      "(the path through σ: every x_j moves the variance) is missing",
      "sum over the broadcast dims"}},
    {"gelu",
     {"chain rule into the cubic term of u", "product rule", "assigns (=) instead of adding (+=)"}},
    {"attention",
     {"forgotten mask", "(the Σ term of the softmax Jacobian) is missing",
      "the scale of S = scale·QKᵀ is missing"}},
    {"embedding",
     {"assigns (=) instead of adding (+=)", "not row p", "transposed product"}},
    {"patchify",
     {"assigns (=) instead of adding (+=)", "a permutation of dimages", "a permutation of dimages"}},
    {"conv2d",
     {"sum over the broadcast dims", "a permutation of dw", "assigns (=) instead of adding (+=)"}},
};

static void test_correct_solutions_pass(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
        char args[512], *out;
        snprintf(args, sizeof args, "check %s --file tests/exercises/%s.c", expected[i].op,
                 expected[i].op);
        int rc = run(args, &out);
        if (rc != 0 || !strstr(out, "PASS (3 of 3 cases)")) fail_msg("%s: rc %d\n%s", args, rc, out);
        assert_null(strstr(out, "FAIL"));
        free(out);
    }
}

static void test_mistakes_fail_with_element_and_hint(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++)
        for (int m = 1; m <= 3; m++) {
            char args[512], *out;
            snprintf(args, sizeof args, "check %s --file tests/exercises/%s.c --cflags -DMISTAKE=%d",
                     expected[i].op, expected[i].op, m);
            int rc = run(args, &out);
            int ok = rc == 1 && strstr(out, ": FAIL (") && strstr(out, "first wrong element ") &&
                     strstr(out, "expected ") && strstr(out, expected[i].hint[m - 1]);
            if (!ok) fail_msg("%s: rc %d, wanted the hint \"%s\"\n%s", args, rc,
                              expected[i].hint[m - 1], out);
            printf("%s MISTAKE=%d: %s\n", expected[i].op, m, expected[i].hint[m - 1]);
            free(out);
        }
}

static void test_init_list_and_untouched_skeleton(void **state) {
    (void)state;
    char args[1024], *out;
    snprintf(args, sizeof args, "init --dir %s", tu_tmp_path("ex"));
    assert_int_equal(run(args, &out), 0);
    assert_non_null(strstr(out, "created"));
    free(out);
    /* the skeleton carries no solution: its empty backward writes nothing */
    snprintf(args, sizeof args, "check softmax --dir %s", tu_tmp_path("ex"));
    assert_int_equal(run(args, &out), 1);
    if (!strstr(out, "no gradient reached x")) fail_msg("%s", out);
    free(out);
    snprintf(args, sizeof args, "list --dir %s", tu_tmp_path("ex"));
    assert_int_equal(run(args, &out), 0);
    if (!strstr(out, "softmax        not started          failed") ||
        !strstr(out, "linear         not started          -") || !strstr(out, "0 of 9 passed"))
        fail_msg("%s", out);
    free(out);
    /* init again keeps the learner's files */
    snprintf(args, sizeof args, "init --dir %s", tu_tmp_path("ex"));
    assert_int_equal(run(args, &out), 0);
    assert_non_null(strstr(out, "kept"));
    assert_null(strstr(out, "created"));
    free(out);
}

static void test_bad_input(void **state) {
    (void)state;
    char *out;
    assert_int_equal(run("check conv9d", &out), 2);
    assert_non_null(strstr(out, "unknown op 'conv9d'"));
    free(out);
    assert_int_equal(run("check gelu --file tests/exercises/no_such_file.c", &out), 2);
    assert_non_null(strstr(out, "no such exercise file"));
    free(out);
    /* a file that does not compile: the compiler's message, then exit 2 */
    FILE *f = fopen(tu_tmp_path("broken.c"), "w");
    fputs("#include \"exercise.h\"\nthis is not C;\n", f);
    fclose(f);
    char args[1024];
    snprintf(args, sizeof args, "check gelu --file %s", tu_tmp_path("broken.c"));
    assert_int_equal(run(args, &out), 2);
    assert_non_null(strstr(out, "the compiler failed"));
    free(out);
    /* the file of another op */
    assert_int_equal(run("check gelu --file tests/exercises/softmax.c", &out), 2);
    assert_non_null(strstr(out, "exercise_op must be {\"gelu\""));
    free(out);
    assert_int_equal(run("check --help", &out), 0);
    assert_non_null(strstr(out, "--cflags"));
    free(out);
}

int main(int argc, char **argv) {
    (void)argc;
    char self[1024];
    snprintf(self, sizeof self, "%s", argv[0]);
    snprintf(exercise_bin, sizeof exercise_bin, "%s/../exercise", dirname(self));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_correct_solutions_pass),
        cmocka_unit_test(test_mistakes_fail_with_element_and_hint),
        cmocka_unit_test(test_init_list_and_untouched_skeleton),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, tu_tmpdir_setup, tu_tmpdir_teardown);
}
