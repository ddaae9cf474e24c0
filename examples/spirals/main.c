/* examples/spirals/main.c — `build/spirals [--steps N] [--hidden H] [--seed S]`:
 * fits an MLP to two interleaved spirals and prints loss and accuracy.
 * `build/spirals --help` lists every option and its default. */
#include <stdio.h>

#include "examples/spirals/spirals.h"
#include "train/cli.h"

int main(int argc, char **argv) {
    spirals_config cfg = {.n_per_class = 100, .hidden = 64, .steps = 2000, .lr = 0.01f, .seed = 1, .verbose = 1};
    int seed = (int)cfg.seed;
    const tg_cli_opt opts[] = {
        {"steps", TG_CLI_INT, &cfg.steps, "Adam steps on the full batch"},
        {"hidden", TG_CLI_INT, &cfg.hidden, "width H of both hidden layers"},
        {"lr", TG_CLI_FLOAT, &cfg.lr, "Adam learning rate"},
        {"seed", TG_CLI_INT, &seed, "seed of the points and the initialisation"},
    };
    int r = tg_cli_parse(argc, argv, opts, (int)(sizeof opts / sizeof *opts),
                         "Fits a 2-H-H-2 tanh MLP to two spirals of 100 points each with Adam.");
    if (r > 0) return 0; /* --help */
    if (r < 0 || cfg.steps < 1 || cfg.hidden < 1 || seed < 0) {
        fprintf(stderr, "spirals: %s\n", r < 0 ? tg_last_error() : "--steps and --hidden must be >= 1, --seed >= 0");
        return 2;
    }
    cfg.seed = (uint64_t)seed;
    float loss, acc = spirals_train(&cfg, &loss);
    printf("final: loss %.4f, training accuracy %.1f%%\n", loss, 100.0f * acc);
    return 0;
}
