/* core/ops/crossentropy.c — cross-entropy from logits with integer targets
 * (optionally label-smoothed), fused: one log-sum-exp per row, no softmax
 * node.
 * Derivation: docs/derivations/cross_entropy.md.
 *
 * logits [..., V] are viewed as N = size/V rows; targets are N int32 in
 * [0, V) or == ignore_index (padding: the row contributes nothing).
 * Per-row losses are computed in parallel, then summed serially in row order
 * in double precision, so the loss is identical for any thread count.
 */
#include <math.h>

#include "core/kernels/vmath.h"
#include "core/ops/internal.h"

typedef struct {
    int V;
    int64_t N;
    int32_t *targets;  /* N, copied onto the tape */
    float *lse;        /* N: log Σ_v e^{logits_n,v} (unused for ignored rows) */
    int ignore_index;
    float scale;       /* 1 (TG_SUM) or 1/count (TG_MEAN; 0 when count = 0) */
    float smoothing;   /* ε: the target is (1 − ε)·onehot + ε/V */
} ce_ctx;

/* With label smoothing ε (Szegedy et al. 2016, §7; PyTorch's
 * CrossEntropyLoss(label_smoothing=ε)) the target of row n is the
 * distribution q_n = (1 − ε)·onehot(t_n) + ε/V, and
 * loss = Σ_n [t_n ≠ ignore] Σ_v −q_{n,v} log softmax(l_n)_v
 *      = Σ_n [t_n ≠ ignore] (lse_n − (1 − ε)·l_{n,t_n} − (ε/V)·Σ_v l_{n,v}),
 *        lse_n = log Σ_v e^{l_{n,v}}
 *        (÷ count of non-ignored rows for TG_MEAN; 0 when count = 0).
 * Local derivative: ∂loss_n/∂l_{n,v} = e^{l_{n,v} − lse_n} − q_{n,v}
 *                                   = softmax(l_n)_v − (1 − ε)[v = t_n] − ε/V.
 * ε = 0 is the plain cross-entropy.  Saves the targets (copied), lse per
 * row, the scale and ε.  logits: [..., V] = N rows; targets: N ints; out: [1]. */
tg_tensor *tg_cross_entropy_smoothed(tg_tape *tp, tg_tensor *logits, const int32_t *targets,
                                     int ignore_index, tg_reduction reduction,
                                     float label_smoothing) {
    const char *op = "tg_cross_entropy";
    TG_CHECK_TENSOR(op, logits);
    TG_CHECK(targets != NULL, op, "argument `targets` is NULL");
    TG_CHECK(reduction == TG_SUM || reduction == TG_MEAN, op,
             "reduction must be TG_SUM or TG_MEAN, got %d", (int)reduction);
    TG_CHECK(label_smoothing >= 0.0f && label_smoothing <= 1.0f, op,
             "label_smoothing must be in [0, 1], got %g", (double)label_smoothing);
    const double eps = label_smoothing, keep = 1.0 - eps;
    int V = logits->shape[logits->ndim - 1];
    int64_t N = logits->size / V;
    int64_t count = 0;
    for (int64_t n = 0; n < N; n++) {
        int32_t t = targets[n];
        if (t == ignore_index) continue;
        TG_CHECK(t >= 0 && t < V, op, "target %d at row %lld outside [0, %d) (logits %s)", (int)t,
                 (long long)n, V, TG_SHAPE_STR(logits));
        count++;
    }
    int32_t *tgt = tg_tape_alloc(tp, (size_t)N * sizeof *tgt);
    memcpy(tgt, targets, (size_t)N * sizeof *tgt);
    float *lse = tg_tape_alloc(tp, (size_t)N * sizeof *lse);
    double *row_loss = tg_tape_alloc(tp, (size_t)N * sizeof *row_loss);

    const float *l = logits->data;
    TG_OMP_FOR(logits->size)
    for (int64_t n = 0; n < N; n++) {
        if (tgt[n] == ignore_index) {
            row_loss[n] = 0.0;
            lse[n] = 0.0f;
            continue;
        }
        const float *ln = l + n * V;
        float mx = tg__max(ln, V);
        double s = tg__exp_sum(ln, V, mx, NULL); /* vectorised e^{l − mx}, split double sum */
        double lse_n = (double)mx + log(s);
        lse[n] = (float)lse_n;
        double smooth = 0.0; /* (ε/V)·Σ_v l_{n,v} */
        if (eps > 0.0) {
            for (int v = 0; v < V; v++) smooth += (double)ln[v];
            smooth *= eps / (double)V;
        }
        row_loss[n] = lse_n - keep * (double)ln[tgt[n]] - smooth;
    }
    double total = 0.0; /* serial, in row order: the same sum for any thread count */
    for (int64_t n = 0; n < N; n++) total += row_loss[n];
    float scale = reduction == TG_SUM ? 1.0f : count ? (float)(1.0 / (double)count) : 0.0f;
    if (reduction == TG_MEAN) total = count ? total / (double)count : 0.0;

    tg_tensor *out = tg__out(tp, TG_SHAPE(1));
    out->data[0] = (float)total;
    tg_node *nd = tg__record(tp, TG_OP_cross_entropy, out, 1, &logits);
    if (nd) {
        ce_ctx *c = tg__node_ctx(tp, nd, sizeof *c);
        c->V = V;
        c->N = N;
        c->targets = tgt;
        c->lse = lse;
        c->ignore_index = ignore_index;
        c->scale = scale;
        c->smoothing = label_smoothing;
    }
    return out;
}

tg_tensor *tg_cross_entropy(tg_tape *tp, tg_tensor *logits, const int32_t *targets,
                            int ignore_index, tg_reduction reduction) {
    return tg_cross_entropy_smoothed(tp, logits, targets, ignore_index, reduction, 0.0f);
}

void tg__cross_entropy_bwd(tg_tape *tp, tg_node *nd) {
    (void)tp;
    const ce_ctx *c = nd->ctx;
    tg_tensor *logits = nd->in[0];
    const float *l = logits->data;
    float *dl = logits->grad;
    float g = nd->out->grad[0] * c->scale;
    int V = c->V;
    const float g_keep = g * (1.0f - c->smoothing), g_uniform = g * c->smoothing / (float)V;
    TG_OMP_FOR(logits->size)
    for (int64_t n = 0; n < c->N; n++) {
        int32_t t = c->targets[n];
        if (t == c->ignore_index) continue; /* contributed nothing */
        const float *ln = l + n * V;
        float *dln = dl + n * V;
        /* loss_n = lse_n − (1−ε)l_{n,t} − (ε/V)Σ_v l_{n,v}
         *   =>  dl_{n,v} += g·(e^{l_{n,v} − lse_n} − (1−ε)[v = t] − ε/V) */
        float lse_n = c->lse[n];
        for (int v = 0; v < V; v++) dln[v] += g * tg__expf(ln[v] - lse_n) - g_uniform;
        dln[t] -= g_keep;
    }
}
