/* examples/tutorial_attention/main.c — the program docs/tutorial-attention.md
 * walks through: the lecture's single-head self-attention
 *
 *   Q = X W_q,  K = X W_k,  V = X W_v,  A = softmax(Q Kᵀ / √d_k),  O = A V
 *
 * with every gradient written out by hand (the derivation of the page, one
 * function per step), then checked three ways: against the composed tape
 * (matmul, scale, softmax, matmul nodes), the fused attention kernel (one
 * node, FlashAttention-style recompute), and central finite differences.
 * The loss is L = Σ R∘O for a fixed random R, so dL/dO = R.
 *
 *   build/tutorial_attention [--batch 2] [--seq 5] [--d-model 8] [--d-k 4]
 *                            [--d-v 4] [--causal] [--seed 1]
 * Prints one line per gradient and exits 1 if any check misses its
 * tolerance (the page states them: TOL_TAPE, TOL_FD below).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tapegrad.h"

#define TOL_TAPE 1e-5 /* hand vs tape: the same float math in other orders */
#define TOL_FD 1e-3   /* hand vs central differences of the float forward, h = 1e-2 */
#define FD_H 1e-2f

/* ---- matrices of the derivation (row-major, plain loops) ----------------- */

/* C [M, N] = op(A) op(B) with op(X) = X or Xᵀ; A is [M, K] (or [K, M]
 * when ta), B is [K, N] (or [N, K] when tb). */
static void mm(const float *A, const float *B, float *C, int M, int K, int N, int ta, int tb) {
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = 0.0;
            for (int k = 0; k < K; k++)
                s += (double)(ta ? A[k * M + i] : A[i * K + k]) * (tb ? B[j * K + k] : B[k * N + j]);
            C[i * N + j] = (float)s;
        }
}

static float *fzeros(int64_t n) { return calloc((size_t)n, sizeof(float)); }

typedef struct {
    int B, T, C, dk, dv, causal;
} dims;

/* The hand-derived gradients of L = Σ R∘O with respect to X, W_q, W_k, W_v. */
typedef struct {
    float *dX, *dWq, *dWk, *dWv;
} grads;

/* Steps 1-5 forward and 5-1 backward for one batch entry b; adds into g. */
static void attention_by_hand(const dims *d, const float *X, const float *Wq, const float *Wk,
                              const float *Wv, const float *R, grads *g) {
    int T = d->T, C = d->C, dk = d->dk, dv = d->dv;
    float scale = 1.0f / sqrtf((float)dk);
    float *Q = fzeros(T * dk), *K = fzeros(T * dk), *V = fzeros(T * dv), *A = fzeros(T * T);
    float *dA = fzeros(T * T), *dS = fzeros(T * T), *dQ = fzeros(T * dk), *dK = fzeros(T * dk),
          *dV = fzeros(T * dv), *tmpW = fzeros(C * (dk > dv ? dk : dv)), *tmpX = fzeros(T * C);
    /* step 1: Q = X W_q, K = X W_k, V = X W_v */
    mm(X, Wq, Q, T, C, dk, 0, 0);
    mm(X, Wk, K, T, C, dk, 0, 0);
    mm(X, Wv, V, T, C, dv, 0, 0);
    /* step 2: S = Q Kᵀ / √d_k (masked: −∞ above the diagonal when causal) */
    mm(Q, K, A, T, dk, T, 0, 1);
    /* step 3: A = softmax over each row of S */
    for (int i = 0; i < T; i++) {
        float *a = A + i * T, mx = -INFINITY;
        for (int j = 0; j < T; j++) {
            a[j] = d->causal && j > i ? -INFINITY : a[j] * scale;
            mx = fmaxf(mx, a[j]);
        }
        double s = 0.0;
        for (int j = 0; j < T; j++) s += a[j] = expf(a[j] - mx);
        for (int j = 0; j < T; j++) a[j] = (float)(a[j] / s);
    }
    /* step 4: O = A V (not needed for the gradients: dL/dO = R is given) */

    /* back through step 4: dA = dO Vᵀ, dV = Aᵀ dO */
    mm(R, V, dA, T, dv, T, 0, 1);
    mm(A, R, dV, T, T, dv, 1, 0);
    /* back through step 3: dS_ij = A_ij (dA_ij − Σ_k dA_ik A_ik) */
    for (int i = 0; i < T; i++) {
        double s = 0.0;
        for (int k = 0; k < T; k++) s += (double)dA[i * T + k] * A[i * T + k];
        for (int j = 0; j < T; j++) dS[i * T + j] = (float)(A[i * T + j] * (dA[i * T + j] - s));
    }
    /* back through step 2: dQ = dS K / √d_k, dK = dSᵀ Q / √d_k */
    mm(dS, K, dQ, T, T, dk, 0, 0);
    mm(dS, Q, dK, T, T, dk, 1, 0);
    for (int e = 0; e < T * dk; e++) dQ[e] *= scale, dK[e] *= scale;
    /* back through step 1: dW_q = Xᵀ dQ (likewise k, v), dX = dQ W_qᵀ + dK W_kᵀ + dV W_vᵀ */
    const float *dP[3] = {dQ, dK, dV}, *W[3] = {Wq, Wk, Wv};
    float *dW[3] = {g->dWq, g->dWk, g->dWv};
    int width[3] = {dk, dk, dv};
    for (int p = 0; p < 3; p++) {
        mm(X, dP[p], tmpW, C, T, width[p], 1, 0);
        for (int e = 0; e < C * width[p]; e++) dW[p][e] += tmpW[e];
        mm(dP[p], W[p], tmpX, T, width[p], C, 0, 1);
        for (int e = 0; e < T * C; e++) g->dX[e] += tmpX[e];
    }
    float *bufs[] = {Q, K, V, A, dA, dS, dQ, dK, dV, tmpW, tmpX};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) free(bufs[i]);
}

/* ---- the library's two forms and finite differences ---------------------- */

typedef struct {
    dims d;
    tg_self_attention attn;
    tg_params ps;
    tg_tensor *X;     /* [B, T, C], requires grad */
    const float *R;   /* [B, T, d_v] */
} problem;

/* L = Σ R∘O through the library's layer (composed or fused), on tp. */
static tg_tensor *loss_on_tape(tg_tape *tp, problem *pb, int composed) {
    pb->attn.use_composed = composed;
    tg_attn_mask m = {.causal = pb->d.causal};
    tg_tensor *O = tg_self_attention_forward(tp, &pb->attn, pb->X, &m);
    tg_tensor *Rt = tg_tape_tensor(tp, O->ndim, O->shape);
    tg_tensor_copy_from(Rt, pb->R);
    return tg_sum(tp, tg_mul(tp, O, Rt));
}

/* One reverse sweep; copies the four gradients into g. */
static void tape_grads(problem *pb, int composed, grads *g) {
    tg_tape *tp = tg_tape_new(0);
    tg_params_zero_grad(&pb->ps);
    tg_tensor_zero_grad(pb->X);
    tg_tensor *L = loss_on_tape(tp, pb, composed);
    if (tg_backward(tp, L) != TG_OK) {
        fprintf(stderr, "tutorial_attention: %s\n", tg_last_error());
        exit(1);
    }
    memcpy(g->dX, pb->X->grad, (size_t)pb->X->size * sizeof(float));
    memcpy(g->dWq, pb->attn.w_q->grad, (size_t)pb->attn.w_q->size * sizeof(float));
    memcpy(g->dWk, pb->attn.w_k->grad, (size_t)pb->attn.w_k->size * sizeof(float));
    memcpy(g->dWv, pb->attn.w_v->grad, (size_t)pb->attn.w_v->size * sizeof(float));
    tg_tape_free(tp);
}

static double loss_value(problem *pb) {
    tg_tape *tp = tg_tape_new(0);
    tg_tape_set_grad(tp, 0);
    double L = loss_on_tape(tp, pb, 1)->data[0];
    tg_tape_free(tp);
    return L;
}

/* dL/dt by central differences, every element of t. */
static void finite_diff(problem *pb, tg_tensor *t, float *out) {
    for (int64_t e = 0; e < t->size; e++) {
        float x0 = t->data[e];
        t->data[e] = x0 + FD_H;
        double Lp = loss_value(pb);
        t->data[e] = x0 - FD_H;
        double Lm = loss_value(pb);
        t->data[e] = x0;
        out[e] = (float)((Lp - Lm) / (2.0 * FD_H));
    }
}

/* max |a − b| / max |b|: the error relative to the gradient's scale. */
static double rel_err(const float *a, const float *b, int64_t n) {
    double d = 0.0, m = 1e-30;
    for (int64_t i = 0; i < n; i++) d = fmax(d, fabs((double)a[i] - b[i])), m = fmax(m, fabs(b[i]));
    return d / m;
}

static grads grads_new(const problem *pb) {
    grads g = {fzeros(pb->X->size), fzeros(pb->attn.w_q->size), fzeros(pb->attn.w_k->size),
               fzeros(pb->attn.w_v->size)};
    return g;
}

static void grads_free(grads *g) { free(g->dX), free(g->dWq), free(g->dWk), free(g->dWv); }

int main(int argc, char **argv) {
    dims d = {.B = 2, .T = 5, .C = 8, .dk = 4, .dv = 4};
    int seed = 1;
    const tg_cli_opt opts[] = {
        {"batch", TG_CLI_INT, &d.B, "batch size B"},
        {"seq", TG_CLI_INT, &d.T, "sequence length T"},
        {"d-model", TG_CLI_INT, &d.C, "model width C (columns of X)"},
        {"d-k", TG_CLI_INT, &d.dk, "width of Q and K"},
        {"d-v", TG_CLI_INT, &d.dv, "width of V and O"},
        {"causal", TG_CLI_FLAG, &d.causal, "causal mask (query i sees keys j <= i)"},
        {"seed", TG_CLI_INT, &seed, "random seed of X, the weights and R"},
    };
    int r = tg_cli_parse(argc, argv, opts, 7,
                         "Self-attention's gradients derived by hand, checked against the "
                         "composed tape, the fused kernel and finite differences "
                         "(docs/tutorial-attention.md).");
    if (r) return r > 0 ? 0 : (fprintf(stderr, "tutorial_attention: %s\n", tg_last_error()), 2);
    if (d.B < 1 || d.T < 1 || d.C < 1 || d.dk < 1 || d.dv < 1 || d.T > 4096) {
        fprintf(stderr, "tutorial_attention: every dimension must be >= 1 (T <= 4096)\n");
        return 2;
    }

    /* The problem: X, W_q, W_k, W_v (Xavier, from the layer), R. */
    problem pb = {.d = d};
    tg_rng rng;
    tg_rng_seed(&rng, (uint64_t)seed);
    tg_params_init(&pb.ps);
    tg_self_attention_init(&pb.attn, &pb.ps, "attn", d.C, d.dk, d.dv, &rng);
    pb.X = tg_tensor_new_grad(TG_SHAPE(d.B, d.T, d.C));
    tg_tensor_normal(pb.X, &rng, 0.0f, 1.0f);
    tg_tensor *Rt = tg_tensor_new(TG_SHAPE(d.B, d.T, d.dv));
    tg_tensor_uniform(Rt, &rng, -1.0f, 1.0f);
    pb.R = Rt->data;
    printf("self-attention B %d, T %d, d_model %d, d_k %d, d_v %d%s; L = sum(R * O)\n", d.B,
           d.T, d.C, d.dk, d.dv, d.causal ? ", causal" : "");

    /* 1. By hand, one batch entry at a time (the weights are shared: their
     *    gradients add up over b). */
    grads hand = grads_new(&pb);
    for (int b = 0; b < d.B; b++) {
        grads gb = hand;
        gb.dX = hand.dX + (int64_t)b * d.T * d.C;
        attention_by_hand(&d, pb.X->data + (int64_t)b * d.T * d.C, pb.attn.w_q->data,
                          pb.attn.w_k->data, pb.attn.w_v->data, pb.R + (int64_t)b * d.T * d.dv,
                          &gb);
    }
    /* 2.-4. The tape in both forms, and finite differences. */
    grads composed = grads_new(&pb), fused = grads_new(&pb), fd = grads_new(&pb);
    tape_grads(&pb, 1, &composed);
    tape_grads(&pb, 0, &fused);
    finite_diff(&pb, pb.X, fd.dX);
    finite_diff(&pb, pb.attn.w_q, fd.dWq);
    finite_diff(&pb, pb.attn.w_k, fd.dWk);
    finite_diff(&pb, pb.attn.w_v, fd.dWv);

    const char *names[4] = {"dL/dX", "dL/dW_q", "dL/dW_k", "dL/dW_v"};
    float *h[4] = {hand.dX, hand.dWq, hand.dWk, hand.dWv};
    float *c[4] = {composed.dX, composed.dWq, composed.dWk, composed.dWv};
    float *f[4] = {fused.dX, fused.dWq, fused.dWk, fused.dWv};
    float *n[4] = {fd.dX, fd.dWq, fd.dWk, fd.dWv};
    int64_t sizes[4] = {pb.X->size, pb.attn.w_q->size, pb.attn.w_k->size, pb.attn.w_v->size};
    printf("max|hand - other| / max|other|   composed tape   fused kernel   finite differences\n");
    int ok = 1;
    for (int i = 0; i < 4; i++) {
        double ec = rel_err(h[i], c[i], sizes[i]), ef = rel_err(h[i], f[i], sizes[i]),
               en = rel_err(h[i], n[i], sizes[i]);
        int pass = ec <= TOL_TAPE && ef <= TOL_TAPE && en <= TOL_FD;
        ok &= pass;
        printf("  %-8s %-21s %12.1e %14.1e %20.1e   %s\n", names[i], "", ec, ef, en,
               pass ? "ok" : "FAIL");
    }
    printf("tolerances: %.0e against the tape (both forms), %.0e against finite differences "
           "(h = %.0e): %s\n",
           TOL_TAPE, TOL_FD, (double)FD_H, ok ? "all agree" : "DISAGREE");

    grads_free(&hand), grads_free(&composed), grads_free(&fused), grads_free(&fd);
    tg_tensor_free(pb.X);
    tg_tensor_free(Rt);
    tg_params_free(&pb.ps);
    return ok ? 0 : 1;
}
