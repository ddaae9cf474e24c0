/* tests/test_train_mlp.c — the whole loop end to end: an MLP fits two
 * spirals to 100% training accuracy (tape, backward, Adam). */
#include "tests/helpers/testutil.h"

#include "examples/spirals/spirals.c"

static void test_mlp_fits_two_spirals(void **state) {
    (void)state;
    spirals_config cfg = {.n_per_class = 100, .hidden = 64, .steps = 1500, .lr = 0.01f, .seed = 1};
    float loss, acc = spirals_train(&cfg, &loss);
    printf("two spirals: loss %.4f, accuracy %.1f%%\n", loss, 100.0f * acc);
    assert_true(acc == 1.0f);
    assert_true(loss < 0.05f);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_mlp_fits_two_spirals)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
