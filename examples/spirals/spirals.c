/* examples/spirals/spirals.c — see spirals.h. */
#include "examples/spirals/spirals.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "optim/optim.h"

/* Point i of class c: radius r = i/n, angle θ = 3.5π·r + c·π, plus noise. */
static void make_spirals(tg_rng *rng, int n, float *x, int32_t *y) {
    for (int c = 0; c < 2; c++)
        for (int i = 0; i < n; i++) {
            float r = (float)(i + 1) / (float)n, th = 3.5f * 3.14159265f * r + (float)c * 3.14159265f;
            int k = c * n + i;
            x[2 * k + 0] = r * cosf(th) + 0.01f * tg_rng_normal(rng);
            x[2 * k + 1] = r * sinf(th) + 0.01f * tg_rng_normal(rng);
            y[k] = c;
        }
}

float spirals_train(const spirals_config *cfg, float *loss_out) {
    const int N = 2 * cfg->n_per_class, H = cfg->hidden;
    tg_rng rng;
    tg_rng_seed(&rng, cfg->seed);

    /* Parameters: one block, named like a PyTorch nn.Sequential. */
    tg_params ps;
    tg_params_init(&ps);
    tg_tensor *w1 = tg_params_new(&ps, TG_SHAPE(2, H), "0.weight");
    tg_tensor *b1 = tg_params_new(&ps, TG_SHAPE(H), "0.bias");
    tg_tensor *w2 = tg_params_new(&ps, TG_SHAPE(H, H), "2.weight");
    tg_tensor *b2 = tg_params_new(&ps, TG_SHAPE(H), "2.bias");
    tg_tensor *w3 = tg_params_new(&ps, TG_SHAPE(H, 2), "4.weight");
    tg_tensor *b3 = tg_params_new(&ps, TG_SHAPE(2), "4.bias");
    tg_tensor_normal(w1, &rng, 0.0f, 1.0f);               /* fan_in 2: a wide first layer */
    tg_tensor_normal(w2, &rng, 0.0f, 1.0f / sqrtf((float)H));
    tg_tensor_normal(w3, &rng, 0.0f, 1.0f / sqrtf((float)H));

    float *xs = malloc((size_t)N * 2 * sizeof *xs);
    int32_t *ys = malloc((size_t)N * sizeof *ys);
    make_spirals(&rng, cfg->n_per_class, xs, ys);

    tg_adam opt;
    tg_adam_init(&opt, &ps, cfg->lr, 0.9f, 0.999f, 1e-8f, 0.0f);
    tg_tape *tp = tg_tape_new(0);
    float acc = 0.0f, loss_v = 0.0f;
    for (int step = 0; step <= cfg->steps; step++) {
        tg_tape_reset(tp);
        tg_params_zero_grad(&ps);
        tg_tensor *x = tg_tape_tensor(tp, TG_SHAPE(N, 2));
        tg_tensor_copy_from(x, xs);
        tg_tensor *h = tg_tanh(tp, tg_add(tp, tg_matmul(tp, x, w1, 0, 0), b1));
        h = tg_tanh(tp, tg_add(tp, tg_matmul(tp, h, w2, 0, 0), b2));
        tg_tensor *logits = tg_add(tp, tg_matmul(tp, h, w3, 0, 0), b3);   /* [N, 2] */
        tg_tensor *loss = tg_cross_entropy(tp, logits, ys, -1, TG_MEAN);
        int correct = 0;
        for (int i = 0; i < N; i++)
            correct += (logits->data[2 * i + 1] > logits->data[2 * i]) == (ys[i] == 1);
        acc = (float)correct / (float)N;
        loss_v = loss->data[0];
        if (cfg->verbose && step % 200 == 0)
            printf("step %4d  loss %.4f  accuracy %.1f%%\n", step, loss_v, 100.0f * acc);
        if (step == cfg->steps) break;
        if (tg_backward(tp, loss) != TG_OK) {
            fprintf(stderr, "%s\n", tg_last_error());
            break;
        }
        tg_adam_step(&opt);
    }
    tg_tape_free(tp);
    tg_adam_free(&opt);
    tg_params_free(&ps);
    free(xs);
    free(ys);
    if (loss_out) *loss_out = loss_v;
    return acc;
}
