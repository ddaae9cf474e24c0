/* core/parallel.h — the one OpenMP threshold and the loop pragma built on it.
 *
 *   TG_OMP_FOR(n)
 *   for (int64_t i = 0; i < n; i++) y[i] = f(x[i]);
 *
 * Every element-wise or row-wise loop of the library (core/ops, optim,
 * data) runs under OpenMP only when it has at least TG_PAR_MIN independent
 * outputs: below that, waking the team costs more than the loop.  Only loops
 * over independent outputs are parallel (never a split reduction), so the
 * results are bit-identical for any thread count and with OMP=0, where
 * TG_OMP_FOR expands to nothing.  Loops with their own schedule write
 * `#pragma omp parallel for ... if (work >= TG_PAR_MIN)`.  The GEMM
 * (core/kernels/sgemm.c) and the fused attention decide on flops instead,
 * since their work per output is not one element's.
 */
#ifndef TG_CORE_PARALLEL_H
#define TG_CORE_PARALLEL_H

/* Independent outputs (elements, or rows × row length) below which a loop
 * runs on one thread. */
#define TG_PAR_MIN 16384

#ifdef _OPENMP
#define TG_PRAGMA(x) _Pragma(#x)
#define TG_OMP_FOR(n) TG_PRAGMA(omp parallel for schedule(static) if ((n) >= TG_PAR_MIN))
#else
#define TG_OMP_FOR(n)
#endif

#endif
