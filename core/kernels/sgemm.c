/* core/kernels/sgemm.c — packed, cache-blocked, OpenMP-parallel SGEMM (see sgemm.h, docs/gemm.md)
 *
 * Row-major C[M,N] += op(A)[M,K] * op(B)[K,N]. The micro-kernel vectorises
 * along N (contiguous in row-major C) and broadcasts along M:
 *
 *   for m0 in M step MB            A panel (MB x KC) packed, lives in L2/L3
 *     for p0 in K step KC          (KC split evenly from K only -> deterministic)
 *       pack op(A)[m0:, p0:] -> MR-row micro-panels  ap[k*MR + i]
 *       for n0 in N step NB        B block (KC x NB) packed, lives in L2
 *         pack op(B)[p0:, n0:] -> NR-col micro-panels bp[k*NR + j]
 *         for i in MB step MR      A micro-panel (MR x KC) stays in L1
 *           for j in NB step NR    B micro-panel streams from L2
 *             micro-kernel: MR x NR tile of C, K loop of kc rank-1 updates
 *
 * Threads own disjoint rectangles of C (split on MR/NR tile boundaries) and
 * run the serial algorithm on them with private packing buffers; K is never
 * split, so every C element sees the same sequence of FMAs for any thread
 * count.
 */
#include "core/kernels/sgemm.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifndef __STDC_NO_THREADS__
#include <threads.h>
#endif
#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__))
#include <immintrin.h>
#endif

#include "core/error.h"

/* ---- build-time micro-kernel selection -------------------------------- */
#if defined(__AVX512F__)
#define SG_ISA "avx512"
#define SG_MR 12
#define SG_NR 32
#elif defined(__AVX2__) && defined(__FMA__)
#define SG_ISA "avx2"
#define SG_MR 6
#define SG_NR 16
#else
#define SG_ISA "generic"
#define SG_MR 4
#define SG_NR 8
#endif

/* Blocking (floats). KC: depth of one rank-KC update; NB: columns of the
 * packed B block (KC*NB*4 bytes ~ half of L2); MB: rows of the packed A
 * panel. */
#ifndef SG_KC
#define SG_KC 384
#endif
#ifndef SG_NB
#define SG_NB 512
#endif
#ifndef SG_MB
#define SG_MB 1536
#endif
/* below this many flops (2*M*N*K) one thread is used */
#ifndef SG_PAR_MIN_FLOPS
#define SG_PAR_MIN_FLOPS (2.0 * 64 * 64 * 64)
#endif

#define SG_ALIGN 64

const char *tg_sgemm_kernel_name(void) { return SG_ISA; }

/* ---- per-thread packing workspace -------------------------------------- */
typedef struct sg_ws {
    float *a, *b;         /* packed A panel / packed B block */
    size_t cap_a, cap_b;  /* capacities in floats */
    atomic_int in_use;    /* owned by a live thread */
    struct sg_ws *next;   /* global list: keeps buffers reachable */
} sg_ws;

static _Atomic(sg_ws *) sg_ws_head;
static _Thread_local sg_ws *sg_ws_tl;

#ifndef __STDC_NO_THREADS__
static tss_t sg_ws_key;
static once_flag sg_ws_once = ONCE_FLAG_INIT;
static int sg_ws_key_ok;
static void sg_ws_release(void *p) { atomic_store(&((sg_ws *)p)->in_use, 0); }
static void sg_ws_key_init(void)
{
    sg_ws_key_ok = tss_create(&sg_ws_key, sg_ws_release) == thrd_success;
}
#endif

static sg_ws *sg_ws_get(void)
{
    sg_ws *w = sg_ws_tl;
    if (w) return w;
    /* recycle a workspace released by an exited thread */
    for (w = atomic_load(&sg_ws_head); w; w = w->next) {
        int z = 0;
        if (atomic_compare_exchange_strong(&w->in_use, &z, 1)) break;
    }
    if (!w) {
        w = tg_xcalloc(sizeof *w);
        atomic_init(&w->in_use, 1);
        sg_ws *h = atomic_load(&sg_ws_head);
        do w->next = h;
        while (!atomic_compare_exchange_weak(&sg_ws_head, &h, w));
    }
    sg_ws_tl = w;
#ifndef __STDC_NO_THREADS__
    call_once(&sg_ws_once, sg_ws_key_init);
    if (sg_ws_key_ok) tss_set(sg_ws_key, w);
#endif
    return w;
}

static float *sg_grow(float **p, size_t *cap, size_t need)
{
    if (need > *cap) {
        /* tg_xmalloc is 64-byte aligned (SG_ALIGN) and aborts on failure */
        size_t bytes = (need * sizeof(float) + SG_ALIGN - 1) / SG_ALIGN * SG_ALIGN;
        free(*p);
        *p = tg_xmalloc(bytes);
        *cap = bytes / sizeof(float);
    }
    return *p;
}

/* ---- packing ----------------------------------------------------------- */
#if defined(__AVX512F__)
/* Transpose a rows x kn block (rows <= 16, kn <= 16) of a row-major matrix
 * (row stride ld) and store column k (16 lanes, rows >= `rows` are zero)
 * through mask `sm` at dst + k*ds, for k in [0, kn). */
static inline void sg_tr16(const float *src, ptrdiff_t ld, int rows, int kn,
                           float *dst, int ds, __mmask16 sm)
{
    __m512 r[16], t[16];
    __mmask16 km = kn >= 16 ? 0xFFFF : (__mmask16)((1u << kn) - 1u);
    for (int i = 0; i < 16; i++)
        r[i] = i < rows ? _mm512_maskz_loadu_ps(km, src + i * ld) : _mm512_setzero_ps();
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int q = 0; q < 16; q += 4) {
        __m512d a = _mm512_castps_pd(t[q]), b = _mm512_castps_pd(t[q + 1]);
        __m512d c = _mm512_castps_pd(t[q + 2]), d = _mm512_castps_pd(t[q + 3]);
        r[q] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
        r[q + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
        r[q + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
        r[q + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
    }
    /* r[4q + c], 128-bit lane L: rows 4q..4q+3 of column 4L + c */
    for (int c = 0; c < 4; c++) {
        __m512 v0 = _mm512_shuffle_f32x4(r[c], r[4 + c], 0x88);
        __m512 w0 = _mm512_shuffle_f32x4(r[c], r[4 + c], 0xDD);
        __m512 v1 = _mm512_shuffle_f32x4(r[8 + c], r[12 + c], 0x88);
        __m512 w1 = _mm512_shuffle_f32x4(r[8 + c], r[12 + c], 0xDD);
        t[c] = _mm512_shuffle_f32x4(v0, v1, 0x88);
        t[8 + c] = _mm512_shuffle_f32x4(v0, v1, 0xDD);
        t[4 + c] = _mm512_shuffle_f32x4(w0, w1, 0x88);
        t[12 + c] = _mm512_shuffle_f32x4(w0, w1, 0xDD);
    }
    for (int k = 0; k < kn; k++) _mm512_mask_storeu_ps(dst + k * ds, sm, t[k]);
}
#endif

/* op(A) rows [0,mb) x cols [0,kc) of the sub-matrix starting at A -> MR-row
 * micro-panels, zero padded to a multiple of MR rows. */
static void sg_pack_a(int ta, int mb, int kc, const float *A, ptrdiff_t lda,
                      float *restrict dst)
{
    for (int i0 = 0; i0 < mb; i0 += SG_MR) {
        int mr = mb - i0 < SG_MR ? mb - i0 : SG_MR;
        if (!ta) {
            const float *src = A + (ptrdiff_t)i0 * lda;
#if defined(__AVX512F__)
            for (int k = 0; k < kc; k += 16)
                sg_tr16(src + k, lda, mr, kc - k < 16 ? kc - k : 16,
                        dst + k * SG_MR, SG_MR, (__mmask16)((1u << SG_MR) - 1u));
#else
            if (mr == SG_MR) {
                for (int k = 0; k < kc; k++)
                    for (int i = 0; i < SG_MR; i++)
                        dst[k * SG_MR + i] = src[i * lda + k];
            } else {
                for (int k = 0; k < kc; k++)
                    for (int i = 0; i < SG_MR; i++)
                        dst[k * SG_MR + i] = i < mr ? src[i * lda + k] : 0.0f;
            }
#endif
        } else {
            const float *src = A + i0;
#if defined(__AVX512F__)
            __mmask16 mk = (__mmask16)((1u << mr) - 1u);
            for (int k = 0; k < kc; k++) {
                __m512 v = _mm512_maskz_loadu_ps(mk, src + (ptrdiff_t)k * lda);
                _mm512_mask_storeu_ps(dst + k * SG_MR, (__mmask16)((1u << SG_MR) - 1u), v);
            }
#else
            for (int k = 0; k < kc; k++)
                for (int i = 0; i < SG_MR; i++)
                    dst[k * SG_MR + i] = i < mr ? src[(ptrdiff_t)k * lda + i] : 0.0f;
#endif
        }
        dst += (size_t)kc * SG_MR;
    }
}

/* op(B) rows [0,kc) x cols [0,nb) of the sub-matrix starting at B -> NR-col
 * micro-panels, zero padded to a multiple of NR columns. */
static void sg_pack_b(int tb, int kc, int nb, const float *B, ptrdiff_t ldb,
                      float *restrict dst)
{
    for (int j0 = 0; j0 < nb; j0 += SG_NR) {
        int nr = nb - j0 < SG_NR ? nb - j0 : SG_NR;
        if (!tb) {
            const float *src = B + j0;
#if defined(__AVX512F__)
            __mmask16 m0 = nr >= 16 ? 0xFFFF : (__mmask16)((1u << nr) - 1u);
            __mmask16 m1 = nr >= 32 ? 0xFFFF : nr > 16 ? (__mmask16)((1u << (nr - 16)) - 1u) : 0;
            for (int k = 0; k < kc; k++) {
                const float *s = src + (ptrdiff_t)k * ldb;
                _mm512_store_ps(dst + k * SG_NR, _mm512_maskz_loadu_ps(m0, s));
                _mm512_store_ps(dst + k * SG_NR + 16, _mm512_maskz_loadu_ps(m1, s + 16));
            }
#else
            for (int k = 0; k < kc; k++)
                for (int j = 0; j < SG_NR; j++)
                    dst[k * SG_NR + j] = j < nr ? src[(ptrdiff_t)k * ldb + j] : 0.0f;
#endif
        } else {
            const float *src = B + (ptrdiff_t)j0 * ldb;
#if defined(__AVX512F__)
            for (int k = 0; k < kc; k += 16) {
                int kn = kc - k < 16 ? kc - k : 16;
                sg_tr16(src + k, ldb, nr < 16 ? nr : 16, kn, dst + k * SG_NR, SG_NR, 0xFFFF);
                if (nr > 16)
                    sg_tr16(src + 16 * ldb + k, ldb, nr - 16, kn, dst + k * SG_NR + 16, SG_NR, 0xFFFF);
                else
                    for (int kk = 0; kk < kn; kk++)
                        _mm512_store_ps(dst + (k + kk) * SG_NR + 16, _mm512_setzero_ps());
            }
#else
            for (int k = 0; k < kc; k++)
                for (int j = 0; j < SG_NR; j++)
                    dst[k * SG_NR + j] = j < nr ? src[j * ldb + k] : 0.0f;
#endif
        }
        dst += (size_t)kc * SG_NR;
    }
}

/* ---- micro-kernels -------------------------------------------------------
 * C[0:m, 0:n] = alpha * sum_k a[k*MR + i] * b[k*NR + j] + beta * C
 * (beta == 0: C not read). a, b are packed and zero padded, 64B aligned. */
#if defined(__AVX512F__)
/* Generic-stride core, specialised by inlining: op(A)(i,k) = a[i*ars + k*acs]
 * for i < MX (MX in {4, 8, 12} rows computed; rows >= m are computed but not
 * stored, they must be readable), op(B)(k,j) = b[k*bs + j] for j < 16*NV;
 * bmask: B columns >= n are not readable (unpacked B) -> masked loads. */
#define SG_R12(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
static inline __attribute__((always_inline)) void
sg_kern_t(const int MX, const int NV, int kc, const float *restrict a, ptrdiff_t ars,
          ptrdiff_t acs, const float *restrict b, ptrdiff_t bs, int bmask,
          float *restrict c, ptrdiff_t ldc, int m, int n, float alpha, float beta)
{
    /* named accumulators (not arrays): keeps GCC from mirroring them on the
     * stack inside the K loop */
    const __m512 z = _mm512_setzero_ps();
#define SG_DECL(i) __m512 x##i = z, y##i = z;
    SG_R12(SG_DECL)
#undef SG_DECL
    __mmask16 m0 = n >= 16 ? 0xFFFF : (__mmask16)((1u << n) - 1u);
    __mmask16 m1 = n >= 32 ? 0xFFFF : n > 16 ? (__mmask16)((1u << (n - 16)) - 1u) : 0;
#pragma GCC unroll 4
    for (int k = 0; k < kc; k++) {
        __m512 b0 = bmask ? _mm512_maskz_loadu_ps(m0, b) : _mm512_loadu_ps(b);
        __m512 b1 = z;
        if (NV == 2) b1 = bmask ? _mm512_maskz_loadu_ps(m1, b + 16) : _mm512_loadu_ps(b + 16);
#define SG_STEP(i)                                                  \
    if (MX > i) {                                                   \
        __m512 ai = _mm512_set1_ps(a[i * ars]);                     \
        x##i = _mm512_fmadd_ps(ai, b0, x##i);                       \
        if (NV == 2) y##i = _mm512_fmadd_ps(ai, b1, y##i);          \
    }
        SG_R12(SG_STEP)
#undef SG_STEP
        a += acs;
        b += bs;
    }
    const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    if (MX == SG_MR && NV == 2 && m == SG_MR && n == SG_NR) {
        if (beta == 0.0f) {
#define SG_ST0(i)                                                   \
    _mm512_storeu_ps(c + i * ldc, _mm512_mul_ps(va, x##i));         \
    _mm512_storeu_ps(c + i * ldc + 16, _mm512_mul_ps(va, y##i));
            SG_R12(SG_ST0)
#undef SG_ST0
        } else {
#define SG_ST1(i)                                                                      \
    _mm512_storeu_ps(c + i * ldc, _mm512_fmadd_ps(va, x##i,                            \
                     _mm512_mul_ps(vb, _mm512_loadu_ps(c + i * ldc))));                \
    _mm512_storeu_ps(c + i * ldc + 16, _mm512_fmadd_ps(va, y##i,                       \
                     _mm512_mul_ps(vb, _mm512_loadu_ps(c + i * ldc + 16))));
            SG_R12(SG_ST1)
#undef SG_ST1
        }
        return;
    }
    _Alignas(64) float t[SG_MR * SG_NR];
#define SG_STT(i)                                                   \
    if (MX > i) {                                                   \
        _mm512_store_ps(t + i * SG_NR, x##i);                       \
        if (NV == 2) _mm512_store_ps(t + i * SG_NR + 16, y##i);     \
    }
    SG_R12(SG_STT)
#undef SG_STT
    for (int i = 0; i < m; i++) {
        float *ci = c + i * ldc;
        __m512 t0 = _mm512_load_ps(t + i * SG_NR);
        if (beta == 0.0f)
            _mm512_mask_storeu_ps(ci, m0, _mm512_mul_ps(va, t0));
        else
            _mm512_mask_storeu_ps(ci, m0, _mm512_fmadd_ps(va, t0, _mm512_mul_ps(vb, _mm512_maskz_loadu_ps(m0, ci))));
        if (NV == 2) {
            __m512 t1 = _mm512_load_ps(t + i * SG_NR + 16);
            if (beta == 0.0f)
                _mm512_mask_storeu_ps(ci + 16, m1, _mm512_mul_ps(va, t1));
            else
                _mm512_mask_storeu_ps(ci + 16, m1, _mm512_fmadd_ps(va, t1, _mm512_mul_ps(vb, _mm512_maskz_loadu_ps(m1, ci + 16))));
        }
    }
}

/* A from a packed micro-panel (rows beyond m are zero padding, so a smaller
 * MX can be used for edge tiles: fewer wasted FMAs, same per-element FMA
 * sequence). B packed (bd == 0) or in place with masked edge (bd == 1). */
static inline __attribute__((always_inline)) void
sg_kern_pa(int kc, const float *restrict a, const float *restrict b, ptrdiff_t bs,
           int bd, float *restrict c, ptrdiff_t ldc, int m, int n, float alpha,
           float beta)
{
    int bm = bd && n < SG_NR;
#define SG_K(MX, NV) sg_kern_t(MX, NV, kc, a, 1, SG_MR, b, bs, bm, c, ldc, m, n, alpha, beta)
    if (n > 16) {
        if (m > 8) SG_K(SG_MR, 2); else if (m > 4) SG_K(8, 2); else SG_K(4, 2);
    } else {
        if (m > 8) SG_K(SG_MR, 1); else if (m > 4) SG_K(8, 1); else SG_K(4, 1);
    }
#undef SG_K
}

/* packed A and B */
static void sg_kernel(int kc, const float *restrict a, const float *restrict b,
                      float *restrict c, ptrdiff_t ldc, int m, int n, float alpha,
                      float beta)
{
    sg_kern_pa(kc, a, b, SG_NR, 0, c, ldc, m, n, alpha, beta);
}

#define SG_HAVE_DIRECT 1
/* packed A, B in place (op(B) = B stored [K,N]) */
static void sg_kd_p_d(int kc, const float *restrict a, const float *restrict b,
                      ptrdiff_t ldb, float *restrict c, ptrdiff_t ldc, int m, int n,
                      float alpha, float beta)
{
    sg_kern_pa(kc, a, b, ldb, 1, c, ldc, m, n, alpha, beta);
}

/* Full MR rows of A read in place: AR/AC = row/col strides of op(A)
 * (A^T stored [K,M]: 1, lda; A stored [M,K]: lda, 1). B packed (BS = NR,
 * BM = 0) or in place (BS = ldb, BM = 1: masked loads on the N edge). */
#define SG_DIRECT_FN(name, AR, AC, BS, BM)                                        \
    static void name(int kc, const float *restrict a, ptrdiff_t lda,              \
                     const float *restrict b, ptrdiff_t ldb, float *restrict c,   \
                     ptrdiff_t ldc, int m, int n, float alpha, float beta)        \
    {                                                                             \
        (void)lda;                                                                \
        (void)ldb;                                                                \
        if (n == SG_NR)                                                           \
            sg_kern_t(SG_MR, 2, kc, a, AR, AC, b, BS, 0, c, ldc, m, n, alpha, beta); \
        else if (n > 16)                                                          \
            sg_kern_t(SG_MR, 2, kc, a, AR, AC, b, BS, BM, c, ldc, m, n, alpha, beta); \
        else                                                                      \
            sg_kern_t(SG_MR, 1, kc, a, AR, AC, b, BS, BM, c, ldc, m, n, alpha, beta); \
    }
SG_DIRECT_FN(sg_kd_t_d, 1, lda, ldb, 1)   /* A^T in place, direct B */
SG_DIRECT_FN(sg_kd_n_d, lda, 1, ldb, 1)   /* A in place, direct B */
SG_DIRECT_FN(sg_kd_t_p, 1, lda, SG_NR, 0) /* A^T in place, packed B */
SG_DIRECT_FN(sg_kd_n_p, lda, 1, SG_NR, 0) /* A in place, packed B */
#undef SG_DIRECT_FN
#elif defined(__AVX2__) && defined(__FMA__)
#define SG_R6(X) X(0) X(1) X(2) X(3) X(4) X(5)
static void sg_kernel(int kc, const float *restrict a, const float *restrict b,
                      float *restrict c, ptrdiff_t ldc, int m, int n, float alpha,
                      float beta)
{
    const __m256 z = _mm256_setzero_ps();
#define SG_DECL(i) __m256 x##i = z, y##i = z;
    SG_R6(SG_DECL)
#undef SG_DECL
#pragma GCC unroll 4
    for (int k = 0; k < kc; k++) {
        __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
#define SG_STEP(i)                                   \
    {                                                \
        __m256 ai = _mm256_broadcast_ss(a + i);      \
        x##i = _mm256_fmadd_ps(ai, b0, x##i);        \
        y##i = _mm256_fmadd_ps(ai, b1, y##i);        \
    }
        SG_R6(SG_STEP)
#undef SG_STEP
        a += SG_MR;
        b += SG_NR;
    }
    const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    if (m == SG_MR && n == SG_NR) {
        if (beta == 0.0f) {
#define SG_ST0(i)                                                \
    _mm256_storeu_ps(c + i * ldc, _mm256_mul_ps(va, x##i));      \
    _mm256_storeu_ps(c + i * ldc + 8, _mm256_mul_ps(va, y##i));
            SG_R6(SG_ST0)
#undef SG_ST0
        } else {
#define SG_ST1(i)                                                                   \
    _mm256_storeu_ps(c + i * ldc, _mm256_fmadd_ps(va, x##i,                         \
                     _mm256_mul_ps(vb, _mm256_loadu_ps(c + i * ldc))));             \
    _mm256_storeu_ps(c + i * ldc + 8, _mm256_fmadd_ps(va, y##i,                     \
                     _mm256_mul_ps(vb, _mm256_loadu_ps(c + i * ldc + 8))));
            SG_R6(SG_ST1)
#undef SG_ST1
        }
        return;
    }
    _Alignas(32) float t[SG_MR * SG_NR];
#define SG_STT(i)                                 \
    _mm256_store_ps(t + i * SG_NR, x##i);         \
    _mm256_store_ps(t + i * SG_NR + 8, y##i);
    SG_R6(SG_STT)
#undef SG_STT
    /* scalar edge: fmaf is the same correctly rounded fused op as vfmadd */
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            float *cij = c + i * ldc + j;
            float tv = t[i * SG_NR + j];
            *cij = beta == 0.0f ? alpha * tv : __builtin_fmaf(alpha, tv, beta * *cij);
        }
}
#else
static void sg_kernel(int kc, const float *restrict a, const float *restrict b,
                      float *restrict c, ptrdiff_t ldc, int m, int n, float alpha,
                      float beta)
{
    float t[SG_MR][SG_NR];
    for (int i = 0; i < SG_MR; i++)
        for (int j = 0; j < SG_NR; j++) t[i][j] = 0.0f;
    for (int k = 0; k < kc; k++) {
        for (int i = 0; i < SG_MR; i++) {
            float ai = a[i];
            for (int j = 0; j < SG_NR; j++) t[i][j] += ai * b[j];
        }
        a += SG_MR;
        b += SG_NR;
    }
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            float *cij = c + i * ldc + j;
            *cij = beta == 0.0f ? alpha * t[i][j] : alpha * t[i][j] + beta * *cij;
        }
}
#endif

/* ---- serial blocked driver --------------------------------------------- */
static int sg_kc(int K)
{
    /* split K into equal-ish blocks <= SG_KC; depends on K only (determinism) */
    int nk = (K + SG_KC - 1) / SG_KC;
    int kc = (K + nk - 1) / nk;
    return (kc + 7) & ~7;
}

static void sg_serial(int ta, int tb, int M, int N, int K, float alpha,
                      const float *A, ptrdiff_t lda, const float *B, ptrdiff_t ldb,
                      float beta, float *C, ptrdiff_t ldc)
{
    sg_ws *w = sg_ws_get();
    const int kcb = sg_kc(K);
    const int mbb = M < SG_MB ? M : SG_MB;
    const int nbb = N < SG_NB ? N : SG_NB;
    float *ap = sg_grow(&w->a, &w->cap_a,
                        (size_t)kcb * ((mbb + SG_MR - 1) / SG_MR * SG_MR));
    float *bp = sg_grow(&w->b, &w->cap_b,
                        (size_t)kcb * ((nbb + SG_NR - 1) / SG_NR * SG_NR));

    for (int m0 = 0; m0 < M; m0 += SG_MB) {
        int mb = M - m0 < SG_MB ? M - m0 : SG_MB;
        for (int p0 = 0; p0 < K; p0 += kcb) {
            int kc = K - p0 < kcb ? K - p0 : kcb;
            float be = p0 == 0 ? beta : 1.0f;
            const float *As = ta ? A + (ptrdiff_t)p0 * lda + m0 : A + (ptrdiff_t)m0 * lda + p0;
            sg_pack_a(ta, mb, kc, As, lda, ap);
            for (int n0 = 0; n0 < N; n0 += SG_NB) {
                int nb = N - n0 < SG_NB ? N - n0 : SG_NB;
                const float *Bs = tb ? B + (ptrdiff_t)n0 * ldb + p0 : B + (ptrdiff_t)p0 * ldb + n0;
                sg_pack_b(tb, kc, nb, Bs, ldb, bp);
                for (int i = 0; i < mb; i += SG_MR) {
                    const float *a = ap + (size_t)(i / SG_MR) * kc * SG_MR;
                    float *ci = C + (ptrdiff_t)(m0 + i) * ldc + n0;
                    int mr = mb - i < SG_MR ? mb - i : SG_MR;
                    for (int j = 0; j < nb; j += SG_NR) {
                        int nr = nb - j < SG_NR ? nb - j : SG_NR;
                        sg_kernel(kc, a, bp + (size_t)(j / SG_NR) * kc * SG_NR,
                                  ci + j, ldc, mr, nr, alpha, be);
                    }
                }
            }
        }
    }
}

#ifdef SG_HAVE_DIRECT
/* Small problems: no A packing (A read in place, except the last partial MR
 * rows), B read in place unless transposed (then packed once per K block).
 * Same K blocking and FMA order per element as sg_serial -> bit-identical. */
static void sg_direct(int ta, int tb, int M, int N, int K, float alpha,
                      const float *A, ptrdiff_t lda, const float *B, ptrdiff_t ldb,
                      float beta, float *C, ptrdiff_t ldc)
{
    sg_ws *w = sg_ws_get();
    const int kcb = sg_kc(K);
    float *ap = sg_grow(&w->a, &w->cap_a, (size_t)kcb * SG_MR);
    float *bp = tb ? sg_grow(&w->b, &w->cap_b,
                             (size_t)kcb * ((N + SG_NR - 1) / SG_NR * SG_NR))
                   : NULL;
    for (int p0 = 0; p0 < K; p0 += kcb) {
        int kc = K - p0 < kcb ? K - p0 : kcb;
        float be = p0 == 0 ? beta : 1.0f;
        if (tb) sg_pack_b(1, kc, N, B + p0, ldb, bp);
        for (int i = 0; i < M; i += SG_MR) {
            int mr = M - i < SG_MR ? M - i : SG_MR;
            const float *as = ta ? A + (ptrdiff_t)p0 * lda + i : A + (ptrdiff_t)i * lda + p0;
            if (mr < SG_MR) sg_pack_a(ta, mr, kc, as, lda, ap);
            float *ci = C + (ptrdiff_t)i * ldc;
            for (int j = 0; j < N; j += SG_NR) {
                int nr = N - j < SG_NR ? N - j : SG_NR;
                if (tb) {
                    const float *bj = bp + (size_t)(j / SG_NR) * kc * SG_NR;
                    if (mr < SG_MR)
                        sg_kernel(kc, ap, bj, ci + j, ldc, mr, nr, alpha, be);
                    else if (ta)
                        sg_kd_t_p(kc, as, lda, bj, ldb, ci + j, ldc, mr, nr, alpha, be);
                    else
                        sg_kd_n_p(kc, as, lda, bj, ldb, ci + j, ldc, mr, nr, alpha, be);
                } else {
                    const float *bj = B + (ptrdiff_t)p0 * ldb + j;
                    if (mr < SG_MR)
                        sg_kd_p_d(kc, ap, bj, ldb, ci + j, ldc, mr, nr, alpha, be);
                    else if (ta)
                        sg_kd_t_d(kc, as, lda, bj, ldb, ci + j, ldc, mr, nr, alpha, be);
                    else
                        sg_kd_n_d(kc, as, lda, bj, ldb, ci + j, ldc, mr, nr, alpha, be);
                }
            }
        }
    }
}
#endif

/* direct (unpacked) path when op(A) and op(B) together fit in this many
 * bytes: everything stays in L2, packing would only add traffic */
#ifndef SG_DIRECT_BYTES
#define SG_DIRECT_BYTES (512 * 1024)
#endif

static void sg_run(int direct, int ta, int tb, int M, int N, int K, float alpha,
                   const float *A, ptrdiff_t lda, const float *B, ptrdiff_t ldb,
                   float beta, float *C, ptrdiff_t ldc)
{
#ifdef SG_HAVE_DIRECT
    if (direct) {
        sg_direct(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
#else
    (void)direct;
#endif
    sg_serial(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

/* C = beta * C (K == 0 or alpha == 0) */
static void sg_scale(int M, int N, float beta, float *C, ptrdiff_t ldc)
{
    for (int i = 0; i < M; i++) {
        float *c = C + i * ldc;
        if (beta == 0.0f)
            memset(c, 0, (size_t)N * sizeof(float));
        else if (beta != 1.0f)
            for (int j = 0; j < N; j++) c[j] *= beta;
    }
}

/* ---- public entry ------------------------------------------------------ */
void tg_sgemm(int trans_a, int trans_b, int M, int N, int K, float alpha,
              const float *A, int lda, const float *B, int ldb, float beta,
              float *C, int ldc)
{
    /* every message names the whole call, so a failing caller is found
     * from the log alone */
#define SG_CHECK(cond, what)                                                       \
    TG_CHECK(cond, "tg_sgemm",                                                     \
             "%s: trans_a=%d trans_b=%d M=%d N=%d K=%d lda=%d ldb=%d ldc=%d", what, \
             trans_a, trans_b, M, N, K, lda, ldb, ldc)
    SG_CHECK((trans_a == 0 || trans_a == 1) && (trans_b == 0 || trans_b == 1),
             "trans_a/trans_b must be 0 or 1");
    SG_CHECK(M >= 0 && N >= 0 && K >= 0, "negative dimension");
    int min_lda = trans_a ? M : K, min_ldb = trans_b ? K : N;
    SG_CHECK(lda >= (min_lda > 1 ? min_lda : 1),
             trans_a ? "lda < max(1,M) (A is [K,M])" : "lda < max(1,K) (A is [M,K])");
    SG_CHECK(ldb >= (min_ldb > 1 ? min_ldb : 1),
             trans_b ? "ldb < max(1,K) (B is [N,K])" : "ldb < max(1,N) (B is [K,N])");
    SG_CHECK(ldc >= (N > 1 ? N : 1), "ldc < max(1,N)");
    if (M == 0 || N == 0) return;
    SG_CHECK(C != NULL, "C is NULL");
    if (K == 0 || alpha == 0.0f) {
        sg_scale(M, N, beta, C, ldc);
        return;
    }
    SG_CHECK(A != NULL && B != NULL, "A or B is NULL");
#undef SG_CHECK

    /* decided on the whole problem, never per thread (determinism is kept
     * anyway: both paths use the same K blocking and FMA order) */
    const int direct = ((double)M * K + (double)K * N) * sizeof(float) <= SG_DIRECT_BYTES;
    int nt = 1;
#ifdef _OPENMP
    if (!omp_in_parallel() && 2.0 * M * N * K >= SG_PAR_MIN_FLOPS)
        nt = omp_get_max_threads();
#endif
    const int tm_all = (M + SG_MR - 1) / SG_MR, tn_all = (N + SG_NR - 1) / SG_NR;
    if (nt > tm_all * tn_all) nt = tm_all * tn_all;
    if (nt <= 1) {
        sg_run(direct, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
#ifdef _OPENMP
    /* pick a pm x pn grid of C rectangles (pm*pn == nt) minimising the
     * largest per-thread area plus duplicated packing ((rows+cols)*K) */
    int pm = 1, pn = nt;
    double best = -1.0;
    for (int d = 1; d <= nt; d++) {
        if (nt % d) continue;
        int e = nt / d;
        if (d > tm_all || e > tn_all) continue;
        double rows = (double)((tm_all + d - 1) / d) * SG_MR;
        double cols = (double)((tn_all + e - 1) / e) * SG_NR;
        double cost = rows * cols + 16.0 * (rows + cols);
        if (best < 0 || cost < best) best = cost, pm = d, pn = e;
    }
    if (best < 0) pm = nt < tm_all ? nt : tm_all, pn = 1, nt = pm;
#pragma omp parallel num_threads(nt)
    {
        int team = omp_get_num_threads();
        for (int t = omp_get_thread_num(); t < nt; t += team) {
            int tm = t / pn, tn = t % pn;
            int r0 = (int)((long long)tm_all * tm / pm) * SG_MR;
            int r1 = (int)((long long)tm_all * (tm + 1) / pm) * SG_MR;
            int c0 = (int)((long long)tn_all * tn / pn) * SG_NR;
            int c1 = (int)((long long)tn_all * (tn + 1) / pn) * SG_NR;
            if (r1 > M) r1 = M;
            if (c1 > N) c1 = N;
            if (r0 >= r1 || c0 >= c1) continue;
            const float *As = trans_a ? A + r0 : A + (ptrdiff_t)r0 * lda;
            const float *Bs = trans_b ? B + (ptrdiff_t)c0 * ldb : B + c0;
            sg_run(direct, trans_a, trans_b, r1 - r0, c1 - c0, K, alpha, As, lda, Bs,
                      ldb, beta, C + (ptrdiff_t)r0 * ldc + c0, ldc);
        }
    }
#endif
}
