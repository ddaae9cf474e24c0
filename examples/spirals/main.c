/* examples/spirals/main.c — `build/spirals [--steps N] [--hidden H] [--seed S]`:
 * fits an MLP to two interleaved spirals and prints loss and accuracy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "examples/spirals/spirals.h"

int main(int argc, char **argv) {
    spirals_config cfg = {.n_per_class = 100, .hidden = 64, .steps = 2000, .lr = 0.01f, .seed = 1, .verbose = 1};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: spirals [--steps N (2000)] [--hidden H (64)] [--seed S (1)]\n"
                   "Fits a 2-H-H-2 tanh MLP to two spirals of 100 points each with Adam.\n");
            return 0;
        } else if (i + 1 < argc && !strcmp(argv[i], "--steps")) cfg.steps = atoi(argv[++i]);
        else if (i + 1 < argc && !strcmp(argv[i], "--hidden")) cfg.hidden = atoi(argv[++i]);
        else if (i + 1 < argc && !strcmp(argv[i], "--seed")) cfg.seed = strtoull(argv[++i], NULL, 10);
        else {
            fprintf(stderr, "spirals: unknown argument '%s' (try --help)\n", argv[i]);
            return 2;
        }
    }
    float loss, acc = spirals_train(&cfg, &loss);
    printf("final: loss %.4f, training accuracy %.1f%%\n", loss, 100.0f * acc);
    return 0;
}
