/* tests/test_fuzz_regress.c — replays the inputs kept for every fuzz
 * target (tests/fuzz/regress/<target>/: inputs that once crashed, kept
 * after the fix; tests/fuzz/corpus/<target>/: the seeds) through the same
 * entry points libFuzzer drives, built here with the normal compiler (and
 * under ASan + UBSan with `make test SAN=1`).  A failing invariant aborts,
 * which fails this test program.  `make fuzz` (tests/fuzz/run.sh) explores
 * further; see docs/hardening.md. */
#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <stddef.h>
#include <stdint.h>

/* each target's LLVMFuzzerTestOneInput under its own name */
#define LLVMFuzzerTestOneInput fuzz_conllu_one
#include "tests/fuzz/fuzz_conllu.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_checkpoint_one
#include "tests/fuzz/fuzz_checkpoint.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_config_one
#include "tests/fuzz/fuzz_config.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_image_one
#include "tests/fuzz/fuzz_image.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_graph_one
#include "tests/fuzz/fuzz_graph.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_pairs_one
#include "tests/fuzz/fuzz_pairs.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_text_one
#include "tests/fuzz/fuzz_text.c"
#undef LLVMFuzzerTestOneInput

/* the examples' parsers that fuzz_config drives */
#include "examples/charlm/model.c"
#include "examples/gat/model.c"
#include "examples/pos_tagger/corpus.c"
#include "examples/pos_tagger/model.c"
#include "examples/translate/corpus.c"
#include "examples/translate/model.c"

#include "tests/helpers/testutil.h"

/* Feeds every file of tests/fuzz/{regress,corpus}/<target>/ to one; returns how many. */
static int replay(const char *target, int (*one)(const uint8_t *, size_t)) {
    int count = 0;
    static const char *const kinds[] = {"regress", "corpus"};
    for (int k = 0; k < 2; k++) {
        char dir[512];
        snprintf(dir, sizeof dir, "tests/fuzz/%s/%s", kinds[k], target);
        DIR *d = opendir(dir);
        if (!d) continue;
        for (struct dirent *e; (e = readdir(d));) {
            if (e->d_name[0] == '.') continue;
            char path[1024];
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            size_t n;
            char *bytes = tu_slurp(path, &n);
            printf("  %s\n", path);
            fflush(stdout);
            one((const uint8_t *)bytes, n);
            free(bytes);
            count++;
        }
        closedir(d);
    }
    return count;
}

#define REPLAY(t)                                                    \
    static void test_##t(void **state) {                             \
        (void)state;                                                 \
        int n = replay(#t, fuzz_##t##_one);                          \
        printf("fuzz_%s: %d kept inputs replayed\n", #t, n);         \
        assert_true(n >= 1);                                         \
    }
REPLAY(conllu)
REPLAY(checkpoint)
REPLAY(config)
REPLAY(image)
REPLAY(graph)
REPLAY(pairs)
REPLAY(text)

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conllu), cmocka_unit_test(test_checkpoint), cmocka_unit_test(test_config),
        cmocka_unit_test(test_image),  cmocka_unit_test(test_graph),      cmocka_unit_test(test_pairs),
        cmocka_unit_test(test_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
