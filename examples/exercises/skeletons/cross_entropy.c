/* exercises/cross_entropy.c — the backward of log_softmax + cross-entropy,
 * averaged over the rows that are not ignored.
 *
 *   logits [N, V], targets t_n in ctx (−1 = ignored row, e.g. padding)
 *   loss = (1/count) Σ_{n: t_n ≠ −1} −log softmax(logits_n)[t_n]      -> [1]
 *        = (1/count) Σ_n (log Σ_v e^{logits_{n,v}} − logits_{n,t_n})
 *
 * Write cross_entropy_backward: given dloss = out->grad[0], ADD dL/dlogits
 * into in[0]->grad.  Check: build/exercise check cross_entropy
 * Derivation to compare with afterwards: docs/derivations/cross_entropy.md
 * (and the log_softmax section of docs/derivations/softmax.md). */
#include <math.h>

#include "exercise.h"

/* log Σ_v e^{l_v}, computed stably. */
static double logsumexp(const float *l, int V) {
    float mx = -INFINITY;
    for (int v = 0; v < V; v++) mx = fmaxf(mx, l[v]);
    double s = 0.0;
    for (int v = 0; v < V; v++) s += exp((double)l[v] - mx);
    return mx + log(s);
}

static void cross_entropy_forward(tg_tensor *out, tg_tensor *const *in, int n_in, void *ctx) {
    (void)n_in;
    const ex_ce_ctx *c = ctx;
    const tg_tensor *logits = in[0];
    int N = logits->shape[0], V = logits->shape[1], count = 0;
    double loss = 0.0;
    for (int n = 0; n < N; n++) {
        if (c->targets[n] < 0) continue;
        const float *l = logits->data + (int64_t)n * V;
        loss += logsumexp(l, V) - l[c->targets[n]];
        count++;
    }
    out->data[0] = count ? (float)(loss / count) : 0.0f;
}

static void cross_entropy_backward(const tg_tensor *out, tg_tensor *const *in, int n_in,
                                   void *ctx) {
    (void)n_in;
    const ex_ce_ctx *c = ctx;
    const tg_tensor *logits = in[0];
    int N = logits->shape[0], V = logits->shape[1];
    float dloss = out->grad[0];
    (void)c, (void)N, (void)V, (void)dloss;
    /* YOUR CODE HERE */
}

const tg_custom_op exercise_op = {"cross_entropy", cross_entropy_forward, cross_entropy_backward};
