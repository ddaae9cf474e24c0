/* core/kernels/sgemm.h — single-precision general matrix multiply (row-major)
 *
 *   void tg_sgemm(int trans_a, int trans_b, int M, int N, int K,
 *                 float alpha, const float *A, int lda,
 *                 const float *B, int ldb,
 *                 float beta, float *C, int ldc);
 *
 *   C = alpha * op(A) * op(B) + beta * C,   op(X) = X (trans == 0) or X^T (trans == 1)
 *
 * Shapes (all row-major, leading dimensions counted in ELEMENTS, i.e. the
 * distance between the starts of two consecutive stored rows):
 *   op(A) : [M, K]   stored A is [M, K] if trans_a == 0 (lda >= max(1, K))
 *                              [K, M] if trans_a == 1 (lda >= max(1, M))
 *   op(B) : [K, N]   stored B is [K, N] if trans_b == 0 (ldb >= max(1, N))
 *                              [N, K] if trans_b == 1 (ldb >= max(1, K))
 *   C     : [M, N]   ldc >= max(1, N)
 *   Element (i, j) of stored X lives at X[i * ldx + j].
 *
 * Semantics (as BLAS):
 *   beta == 0        C is overwritten; its previous contents (even NaN/Inf) are
 *                    never read.
 *   K == 0, alpha == 0   C = beta * C; A and B are not read (may be NULL).
 *   M == 0 or N == 0 nothing is done; C may be NULL.
 *   A, B and C must not alias (C is written while A and B are read).
 *
 * Determinism: the K reduction is never split across threads; the result is
 * bit-identical for any OpenMP thread count (and with or without OpenMP) for
 * a given build (micro-kernel ISA is chosen at compile time: AVX-512F,
 * AVX2+FMA, or portable C).
 *
 * Threads: uses up to omp_get_max_threads() OpenMP threads for large
 * problems, 1 thread for small ones or when called inside a parallel region.
 * Thread-safe: may be called concurrently from several threads. Packing
 * buffers are per-thread, 64-byte aligned, grown on demand and reused (no
 * allocation per call in steady state); they are recycled when a thread exits
 * and otherwise live until process exit (reachable; not reported as leaks).
 *
 * Errors: trans flags other than 0/1, negative M/N/K, leading dimensions below
 * the minimum above, or NULL pointers for operands that must be read/written
 * abort through TG_CHECK (core/error.h) with "file:line: tg_sgemm: <what>:
 * trans_a=.. trans_b=.. M=.. N=.. K=.. lda=.. ldb=.. ldc=..". Out-of-memory
 * for packing buffers aborts too (tg_xmalloc).
 */
#ifndef TG_KERNELS_SGEMM_H
#define TG_KERNELS_SGEMM_H

#ifdef __cplusplus
extern "C" {
#endif

void tg_sgemm(int trans_a, int trans_b, int M, int N, int K, float alpha,
              const float *A, int lda, const float *B, int ldb, float beta,
              float *C, int ldc);

/* Name of the compiled-in micro-kernel: "avx512", "avx2" or "generic". */
const char *tg_sgemm_kernel_name(void);

#ifdef __cplusplus
}
#endif

#endif /* TG_KERNELS_SGEMM_H */
