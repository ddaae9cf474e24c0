/* examples/scaling/cell.c — see cell.h. */
#include "examples/scaling/cell.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

tg_status scaling_data_load(const char *name, const char *root, scaling_data *d) {
    scaling_data t = {0};
    if (strcmp(name, "mnist") && strcmp(name, "fashion_mnist") && strcmp(name, "cifar10"))
        return tg_set_error(TG_ERR_ARG, "dataset '%s': expected mnist, fashion_mnist or cifar10", name);
    snprintf(t.name, sizeof t.name, "%s", name);
    tg_status st = tg_image_dataset_load(name, root, 1, 0, 0, 0, &t.train);
    if (st == TG_OK) st = tg_image_dataset_load(name, root, 0, 0, 0, 0, &t.test);
    if (st != TG_OK) {
        tg_image_set_free(&t.train);
        return st;
    }
    int color = !strcmp(name, "cifar10");
    t.pad = color ? 4 : 2;
    t.flip = color;
    *d = t;
    return TG_OK;
}

void scaling_data_free(scaling_data *d) {
    tg_image_set_free(&d->train);
    tg_image_set_free(&d->test);
}

static int64_t val_size(const scaling_data *d, const scaling_protocol *p) {
    int64_t v = d->train.n / 10;
    return p->val_size < v ? p->val_size : v;
}

int64_t scaling_train_size(const scaling_data *d, const scaling_protocol *p, int64_t n) {
    int64_t pool = d->train.n - val_size(d, p);
    return n <= 0 || n >= pool ? pool : n;
}

/* The cell's sets: train (subset), val; pixels still in [0, 1]. */
static void cell_sets(const scaling_data *d, const scaling_protocol *p, int64_t n, int seed, tg_image_set *tr,
                      tg_image_set *val) {
    tg_image_set pool;
    tg_image_set_split(&d->train, val_size(d, p), 1000 + (uint64_t)seed, &pool, val);
    if (n > 0 && n < pool.n) {
        if (tg_image_set_subset(&pool, n, 7919 * (uint64_t)seed + (uint64_t)n, tr) != TG_OK) {
            fprintf(stderr, "scaling: %s: %s\n", d->name, tg_last_error());
            exit(1);
        }
        tg_image_set_free(&pool);
    } else {
        *tr = pool;
    }
}

typedef struct {
    scaling_model *m;
    tg_tape *tp;
    float mean[3], std[3];
    int eval_batch;
    float *raw;      /* [batch, H, W, C] */
    int32_t *labels; /* [batch] */
} cell_state;

/* Accuracy of the model on s (evaluation mode, no recording). */
static double accuracy(cell_state *c, const tg_image_set *s) {
    const int64_t per = (int64_t)s->h * s->w * s->c;
    int grad = tg_tape_set_grad(c->tp, 0), training = tg_tape_set_training(c->tp, 0);
    int64_t correct = 0;
    for (int64_t i = 0; i < s->n; i += c->eval_batch) {
        int b = (int)(s->n - i < c->eval_batch ? s->n - i : c->eval_batch);
        tg_tape_reset(c->tp);
        tg_tensor *x = tg_tape_tensor(c->tp, TG_SHAPE(b, s->h, s->w, s->c));
        memcpy(x->data, s->pixels + i * per, (size_t)(b * per) * sizeof *x->data);
        tg_image_normalize_pixels(x->data, (int64_t)b * s->h * s->w, s->c, c->mean, c->std);
        tg_tensor *logits = scaling_model_forward(c->tp, c->m, x, NULL);
        correct += tg_count_correct(logits->data, s->labels + i, b, logits->shape[1], -1, NULL);
    }
    tg_tape_reset(c->tp);
    tg_tape_set_grad(c->tp, grad);
    tg_tape_set_training(c->tp, training);
    return s->n ? (double)correct / (double)s->n : NAN;
}

scaling_result scaling_run_cell(const scaling_data *d, const scaling_protocol *p, const scaling_arch *a,
                                scaling_arm arm, int64_t n, int seed, int verbose) {
    double t0 = tg_now();
    tg_image_set tr, val;
    cell_sets(d, p, n, seed, &tr, &val);
    const scaling_plan plan = scaling_plan_for(p, tr.n);
    scaling_model m;
    scaling_model_init(&m, arm, a, 31 * (uint64_t)seed + (uint64_t)arm);
    cell_state c = {.m = &m, .tp = tg_tape_new(64u << 20), .eval_batch = 250,
                    .raw = tg_xmalloc((size_t)p->batch_size * tr.h * tr.w * tr.c * sizeof(float)),
                    .labels = tg_xmalloc((size_t)p->batch_size * sizeof(int32_t))};
    tg_image_stats(&tr, c.mean, c.std);

    tg_adam opt;
    tg_adamw_init(&opt, &m.ps, (float)p->lr, 0.9f, 0.999f, 1e-8f, (float)p->weight_decay);
    tg_adam_set_decay(&opt, tg_decay_matrices, NULL); /* no decay on biases, norms */
    tg_rng shuffle, aug, drop;
    tg_rng_seed(&shuffle, 101 * (uint64_t)seed + 1);
    tg_rng_seed(&aug, 101 * (uint64_t)seed + 2);
    tg_rng_seed(&drop, 101 * (uint64_t)seed + 3);
    tg_batcher bt;
    tg_batcher_init(&bt, tr.n, p->batch_size, 0, &shuffle);
    int64_t warmup = (int64_t)ceil(p->warmup_frac * (double)plan.steps), step = 0;
    float *best = tg_xmalloc((size_t)m.ps.total * sizeof *best);
    memcpy(best, m.ps.data, (size_t)m.ps.total * sizeof *best);
    tg_early_stop es;
    tg_early_stop_init(&es, TG_MAXIMIZE, p->patience, 0.0);

    int epoch;
    for (epoch = 1; epoch <= plan.epochs; epoch++) {
        tg_batcher_epoch(&bt);
        tg_tape_set_training(c.tp, 1);
        const int64_t *idx;
        int64_t b;
        double loss_sum = 0;
        int64_t k = 0;
        while ((b = tg_batcher_next(&bt, &idx)) > 0) {
            tg_tape_reset(c.tp);
            tg_tensor *x = tg_tape_tensor(c.tp, TG_SHAPE((int)b, tr.h, tr.w, tr.c));
            tg_image_gather(&tr, idx, b, c.raw, c.labels);
            tg_image_augment(c.raw, x->data, b, tr.h, tr.w, tr.c, d->pad, d->flip, &aug); /* black padding */
            tg_image_normalize_pixels(x->data, b * tr.h * tr.w, tr.c, c.mean, c.std);
            tg_params_zero_grad(&m.ps);
            tg_tensor *loss = tg_cross_entropy(c.tp, scaling_model_forward(c.tp, &m, x, &drop), c.labels, -1, TG_MEAN);
            if (tg_backward(c.tp, loss) != TG_OK) {
                fprintf(stderr, "scaling: %s\n", tg_last_error());
                exit(1);
            }
            if (p->clip > 0) tg_clip_grad_norm(&m.ps, (float)p->clip);
            opt.lr = tg_lr_warmup_cosine(step++, (float)p->lr, (float)p->lr_min, warmup, plan.steps);
            tg_adam_step(&opt);
            loss_sum += loss->data[0];
            k++;
        }
        if (epoch % plan.eval_every && epoch != plan.epochs) continue;
        double acc = accuracy(&c, &val);
        int better = tg_early_stop_update(&es, epoch, acc);
        if (better) memcpy(best, m.ps.data, (size_t)m.ps.total * sizeof *best);
        if (verbose)
            printf("  epoch %d/%d: train loss %.4f, val accuracy %.2f%%%s\n", epoch, plan.epochs,
                   loss_sum / (double)k, 100 * acc, better ? " (best)" : "");
        if (tg_early_stop_should_stop(&es)) {
            epoch++;
            break;
        }
    }
    memcpy(m.ps.data, best, (size_t)m.ps.total * sizeof *best);
    scaling_result r = {.arm = arm, .params = tg_params_count(&m.ps), .n = tr.n, .seed = seed, .val_acc = es.best,
                        .test_acc = accuracy(&c, &d->test), .epochs = epoch - 1};
    snprintf(r.dataset, sizeof r.dataset, "%s", d->name);
    r.seconds = tg_now() - t0;
    free(best);
    free(c.raw);
    free(c.labels);
    tg_batcher_free(&bt);
    tg_adam_free(&opt);
    tg_tape_free(c.tp);
    scaling_model_free(&m);
    tg_image_set_free(&tr);
    tg_image_set_free(&val);
    return r;
}
