/* examples/scaling/protocol.c — see protocol.h. */
#include "examples/scaling/protocol.h"

#include <math.h>

scaling_protocol scaling_protocol_default(void) {
    return (scaling_protocol){.batch_size = 64, .lr = 3e-3, .lr_min = 1e-5, .weight_decay = 0.05, .clip = 1.0,
                              .warmup_frac = 0.05, .epochs_per_n = 20, .min_images = 50000,
                              .max_images = 100000, .max_evals = 10, .patience = 4, .val_size = 2000};
}

scaling_plan scaling_plan_for(const scaling_protocol *p, int64_t n_train) {
    double images = p->epochs_per_n * (double)n_train;
    if (images < (double)p->min_images) images = (double)p->min_images;
    if (images > (double)p->max_images) images = (double)p->max_images;
    scaling_plan plan;
    plan.epochs = (int)ceil(images / (double)n_train);
    if (plan.epochs < 1) plan.epochs = 1;
    plan.eval_every = (plan.epochs + p->max_evals - 1) / p->max_evals;
    int64_t batches = (n_train + p->batch_size - 1) / p->batch_size;
    plan.steps = (int64_t)plan.epochs * batches;
    return plan;
}

int scaling_default_sizes(int64_t full, int per_decade, int64_t *sizes, int max) {
    int n = 0;
    for (int k = 0; n < max - 1; k++) {
        double v = 100.0 * pow(10.0, (double)k / per_decade);
        double mag = pow(10.0, floor(log10(v)));
        int64_t s = (int64_t)(round(v / mag) * mag); /* one significant digit */
        if ((double)s >= (double)full / 1.5) break;
        if (n == 0 || s > sizes[n - 1]) sizes[n++] = s;
    }
    if (n < max && (n == 0 || full > sizes[n - 1])) sizes[n++] = full;
    return n;
}
