/* core/ops/matmul.c — the matrix product, batched, with transpose flags.
 * Derivation: docs/derivations/matmul.md.
 *
 *   C[M, N] = op(A)[M, K] · op(B)[K, N]           (per leading index)
 *   dop(A) = dC · op(B)ᵀ      dop(B) = op(A)ᵀ · dC
 * and, undoing op: dA = dop(A) (or its transpose when trans_a), likewise dB.
 * Saves nothing but the inputs themselves.
 *
 * Every product, forward and backward, is one call of tg_sgemm.  When b is a
 * 2-D weight shared by all leading indices and a is not transposed, the
 * leading dims fold into M and the whole batch is a single GEMM (a Linear
 * layer's x[B, T, C] · Wᵀ is one [B·T, C] × [C, O] product).
 */
#include <limits.h>

#include "core/kernels/sgemm.h"
#include "core/ops/internal.h"

typedef struct {
    int ta, tb;
    int batch;       /* number of leading-index products */
    int M, N, K;
    int b_shared;    /* b is 2-D and used by every batch entry */
} matmul_ctx;

/* Below this many multiply-adds per product, a batch runs one product per
 * thread instead of threading each product. */
#define SMALL_GEMM (64 * 64 * 64)

static int rows(const tg_tensor *t) { return t->shape[t->ndim - 2]; }
static int cols(const tg_tensor *t) { return t->shape[t->ndim - 1]; }

tg_tensor *tg_matmul(tg_tape *tp, tg_tensor *a, tg_tensor *b, int trans_a, int trans_b) {
    TG_CHECK_TENSOR("tg_matmul", a);
    TG_CHECK_TENSOR("tg_matmul", b);
    TG_CHECK(a->ndim >= 2 && b->ndim >= 2, "tg_matmul",
             "both operands need >= 2 dims: a is %s, b is %s", TG_SHAPE_STR(a), TG_SHAPE_STR(b));
    matmul_ctx c = {.ta = trans_a != 0, .tb = trans_b != 0};
    c.M = c.ta ? cols(a) : rows(a);
    c.K = c.ta ? rows(a) : cols(a);
    int kb = c.tb ? cols(b) : rows(b);
    c.N = c.tb ? rows(b) : cols(b);
    TG_CHECK(c.K == kb, "tg_matmul", "inner dimensions differ: a is %s%s, b is %s%s",
             TG_SHAPE_STR(a), c.ta ? "ᵀ" : "", TG_SHAPE_STR(b), c.tb ? "ᵀ" : "");
    c.b_shared = b->ndim == 2;
    if (!c.b_shared) {
        int same = a->ndim == b->ndim;
        for (int d = 0; same && d < a->ndim - 2; d++) same = a->shape[d] == b->shape[d];
        TG_CHECK(same, "tg_matmul",
                 "leading dimensions differ: a is %s, b is %s (b must be 2-D or match a's "
                 "leading dims)", TG_SHAPE_STR(a), TG_SHAPE_STR(b));
    }
    int64_t batch = a->size / ((int64_t)c.M * c.K);
    TG_CHECK(batch * c.M <= INT_MAX, "tg_matmul",
             "a %s has %lld rows in all, more than tg_sgemm's int M can index",
             TG_SHAPE_STR(a), (long long)(batch * c.M));
    c.batch = (int)batch;
    int shape[TG_MAX_DIMS];
    for (int d = 0; d < a->ndim - 2; d++) shape[d] = a->shape[d];
    shape[a->ndim - 2] = c.M;
    shape[a->ndim - 1] = c.N;
    tg_tensor *out = tg__out(tp, a->ndim, shape);

    int lda = c.ta ? c.M : c.K, ldb = c.tb ? c.K : c.N;
    int64_t sa = (int64_t)c.M * c.K, sb = c.b_shared ? 0 : (int64_t)c.K * c.N,
            sc = (int64_t)c.M * c.N;
    if (c.b_shared && !c.ta) {
        tg_sgemm(0, c.tb, c.batch * c.M, c.N, c.K, 1.0f, a->data, lda, b->data, ldb, 0.0f,
                 out->data, c.N);
    } else if ((int64_t)c.M * c.N * c.K < SMALL_GEMM) {
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (c.batch > 1)
#endif
        for (int i = 0; i < c.batch; i++)
            tg_sgemm(c.ta, c.tb, c.M, c.N, c.K, 1.0f, a->data + i * sa, lda, b->data + i * sb,
                     ldb, 0.0f, out->data + i * sc, c.N);
    } else {
        for (int i = 0; i < c.batch; i++)
            tg_sgemm(c.ta, c.tb, c.M, c.N, c.K, 1.0f, a->data + i * sa, lda, b->data + i * sb,
                     ldb, 0.0f, out->data + i * sc, c.N);
    }
    tg_node *n = tg__record(tp, TG_OP_matmul, out, 2, (tg_tensor *[]){a, b});
    if (n) *(matmul_ctx *)tg__node_ctx(tp, n, sizeof c) = c;
    return out;
}

/* dA for one product: A is [M, K] (or [K, M] when ta).
 *   !ta: dA[M, K] += dC[M, N] · op(B)ᵀ         (op(B)ᵀ = B when tb, Bᵀ otherwise)
 *    ta: dA[K, M] += op(B)[K, N] · dC[M, N]ᵀ */
static void grad_a(const matmul_ctx *c, int M, const float *dC, const float *B, float *dA) {
    int ldb = c->tb ? c->K : c->N;
    if (!c->ta) tg_sgemm(0, !c->tb, M, c->K, c->N, 1.0f, dC, c->N, B, ldb, 1.0f, dA, c->K);
    else tg_sgemm(c->tb, 1, c->K, M, c->N, 1.0f, B, ldb, dC, c->N, 1.0f, dA, M);
}

/* dB for one product: B is [K, N] (or [N, K] when tb).
 *   !tb: dB[K, N] += op(A)ᵀ · dC               (op(A)ᵀ = A when ta, Aᵀ otherwise)
 *    tb: dB[N, K] += dC[M, N]ᵀ · op(A)[M, K] */
static void grad_b(const matmul_ctx *c, int M, const float *A, const float *dC, float *dB) {
    int lda = c->ta ? M : c->K;
    if (!c->tb) tg_sgemm(!c->ta, 0, c->K, c->N, M, 1.0f, A, lda, dC, c->N, 1.0f, dB, c->N);
    else tg_sgemm(1, c->ta, c->N, c->K, M, 1.0f, dC, c->N, A, lda, 1.0f, dB, c->K);
}

void tg__matmul_bwd(tg_tape *tp, tg_node *n) {
    (void)tp;
    const matmul_ctx *c = n->ctx;
    tg_tensor *a = n->in[0], *b = n->in[1];
    const float *dC = n->out->grad;
    int64_t sa = (int64_t)c->M * c->K, sb = c->b_shared ? 0 : (int64_t)c->K * c->N,
            sc = (int64_t)c->M * c->N;
    if (c->b_shared && !c->ta) { /* the batch folded into M, as in the forward */
        if (a->grad) grad_a(c, c->batch * c->M, dC, b->data, a->grad);
        if (b->grad) grad_b(c, c->batch * c->M, a->data, dC, b->grad);
        return;
    }
    int small = (int64_t)c->M * c->N * c->K < SMALL_GEMM;
    (void)small; /* read only by the OpenMP clauses */
    if (a->grad) {
        /* each batch entry writes its own slice of dA: independent */
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (small && c->batch > 1)
#endif
        for (int i = 0; i < c->batch; i++)
            grad_a(c, c->M, dC + i * sc, b->data + i * sb, a->grad + i * sa);
    }
    if (b->grad) {
        if (c->b_shared) { /* every entry adds into the one dB: keep the order fixed */
            for (int i = 0; i < c->batch; i++)
                grad_b(c, c->M, a->data + i * sa, dC + i * sc, b->grad);
        } else {
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (small && c->batch > 1)
#endif
            for (int i = 0; i < c->batch; i++)
                grad_b(c, c->M, a->data + i * sa, dC + i * sc, b->grad + i * sb);
        }
    }
}
