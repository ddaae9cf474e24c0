/* tests/test_tutorial_attention.c — the program of docs/tutorial-attention.md:
 * the hand-derived gradients of self-attention agree with the composed tape
 * and the fused kernel to 1e-5 and with finite differences to 1e-3 (the
 * tolerances the page states), plain, causal and at a larger size. */
#define _POSIX_C_SOURCE 200809L
#include "tests/helpers/testutil.h"

#include <libgen.h>
#include <sys/wait.h>

static char program[1024];

static void run_and_check(const char *args) {
    char cmd[2048], line[512];
    snprintf(cmd, sizeof cmd, "%s %s 2>&1", program, args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    int rows = 0, agree = 0;
    while (fgets(line, sizeof line, p)) {
        fputs(line, stdout);
        char name[32];
        double ec, ef, en;
        if (sscanf(line, " dL/%31s %lf %lf %lf", name, &ec, &ef, &en) == 4) {
            rows++;
            if (ec > 1e-5 || ef > 1e-5 || en > 1e-3)
                fail_msg("%s: dL/%s beyond the tolerance: %g %g %g", args, name, ec, ef, en);
        }
        agree |= strstr(line, "all agree") != NULL;
    }
    int st = pclose(p);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    assert_int_equal(rows, 4);
    assert_true(agree);
}

static void test_defaults(void **state) {
    (void)state;
    run_and_check("");
}

static void test_causal(void **state) {
    (void)state;
    run_and_check("--causal");
}

static void test_larger(void **state) {
    (void)state;
    run_and_check("--batch 3 --seq 17 --d-model 16 --d-k 8 --d-v 6 --seed 5");
}

int main(int argc, char **argv) {
    (void)argc;
    char self[1024];
    snprintf(self, sizeof self, "%s", argv[0]);
    snprintf(program, sizeof program, "%s/../tutorial_attention", dirname(self));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_causal),
        cmocka_unit_test(test_larger),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
