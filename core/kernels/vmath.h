/* core/kernels/vmath.h — branch-free single-precision exp, expm1, tanh and
 * sigmoid that GCC -O3 -march=native auto-vectorises (private, header-only).
 *
 *     for (int64_t i = 0; i < n; i++) y[i] = tg__tanhf(x[i]);   // one vector loop
 *
 * glibc's expf/tanhf are calls per element: a loop that calls them stays
 * scalar.  These inline into the loop, use no libm call and no branch (every
 * choice is a ternary on values, which GCC turns into a blend), and pun
 * float <-> int through memcpy, which vectorises.  Under -std=c11 GCC does
 * not contract a·b + c into an FMA, so the vector loop, its scalar tail and
 * a scalar call give the same bits, whatever the thread count.
 *
 * tg__expf(x)    Cody–Waite: x = n·ln2 + r, n = rint(x/ln2), |r| <= ln2/2,
 *                ln2 split in two (the high part has 9 bits, so n·hi is
 *                exact); e^r = 1 + r + r²·P(r), P of degree 5 (Cephes expf,
 *                Moshier 1992); 2^n built in the exponent bits as
 *                2^h · 2^(n−h), h = n/2 (truncated), so that n = 128 (x up to
 *                ln FLT_MAX) stays finite.
 *                x > 88.7228 -> +inf, +inf -> +inf, NaN -> NaN,
 *                x < -87.3365 (result below FLT_MIN) -> 0: subnormal results
 *                are flushed to 0 (and so -inf -> 0), which also keeps the
 *                vector loop free of subnormal slow paths.
 * tg__expm1f(x)  e^x − 1: for |x| < ln2/2 the polynomial r + r²·P(r)
 *                without the 1 (no cancellation near 0), else tg__expf(x) − 1.
 * tg__tanhf(x)   |x| < 0.625: x + x³·Q(x²), Q of degree 4 (Cephes tanhf);
 *                else sign(x)·(1 − 2/(e^{2|x|} + 1)) (e^{2|x|} = inf gives ±1).
 *                NaN -> NaN, ±0 -> ±0, ±inf -> ±1.
 * tg__sigmoidf(x) 1/(1 + e^{−x}); e^{−x} = inf for x < −88.7 gives 0, and
 *                e^{−x} -> 0 for x > 87.3 gives 1.  NaN -> NaN.
 *
 * tg__max(x, n), tg__exp_sum(x, n, m, y)   row max and Σ e^{x − m} for the
 *                softmaxes, split over partial results in a fixed order.
 *
 * Max error measured against double-precision libm (tests/test_vmath.c:
 * every 1e-3 on [−20, 20] plus 10^6 random points; a 1e-4 sweep of
 * [−200, 200] plus 4·10^6 random points on [−100, 100] gave the same),
 * this build (x86-64 AVX-512, gcc 12, -O3 -march=native, no contraction):
 *   tg__expf      8.2e-8 relative (< 1 ulp) on [−87.33, 88.72]
 *   tg__expm1f    2.3e-7 relative on [−20, 20] (worst just above ln2/2)
 *   tg__tanhf     1.4e-7 relative for all x; 7.9e-8 relative and 4.3e-8
 *                 absolute for |x| < 0.625; tanh(x) = x exactly for |x| < 1e-8
 *   tg__sigmoidf  1.5e-7 relative for x >= −87; below, |error| < 3e-39
 * (for comparison, one ulp at 1 is 1.19e-7, half an ulp 6e-8.)  The test
 * asserts 1.5e-7, 3e-7, 2e-7 (1.2e-7 near 0), 2e-7.
 */
#ifndef TG_KERNELS_VMATH_H
#define TG_KERNELS_VMATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

static inline uint32_t tg__f2u(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static inline float tg__u2f(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* e^r − 1 for |r| <= ln2/2 (≈ 0.347): r + r²·P(r). */
static inline float tg__expm1_reduced(float r) {
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    return p * r * r + r;
}

static inline float tg__expf(float x) {
    const float lo = -87.336544f, hi = 88.8f; /* ln FLT_MIN; above ln FLT_MAX */
    const float shifter = 0x1.8p23f;          /* adding it rounds to an integer */
    float xc = x < lo ? lo : x;               /* NaN passes both clamps */
    xc = xc > hi ? hi : xc;
    float t = xc * 1.44269504088896341f + shifter;
    float n = t - shifter;                               /* rint(x/ln2), in [−126, 128] */
    int32_t ni = (int32_t)(tg__f2u(t) - tg__f2u(shifter)); /* the same n as an integer */
    float r = (xc - n * 0.693359375f) - n * -2.12194440e-4f;
    float p = tg__expm1_reduced(r) + 1.0f;
    int32_t n1 = ni / 2, n2 = ni - n1; /* each in [−63, 64]: 2^n1, 2^n2 are normal */
    float s1 = tg__u2f((uint32_t)(n1 + 127) << 23), s2 = tg__u2f((uint32_t)(n2 + 127) << 23);
    float y = p * s1 * s2; /* overflows to +inf for x > ln FLT_MAX */
    return x < lo ? 0.0f : y;
}

static inline float tg__expm1f(float x) {
    float ax = x < 0.0f ? -x : x;
    float e = tg__expf(x) - 1.0f;
    float small = x == 0.0f ? x : tg__expm1_reduced(x); /* keeps the sign of −0 */
    return ax < 0.34657359f ? small : e;
}

static inline float tg__tanhf(float x) {
    float ax = x < 0.0f ? -x : x; /* NaN stays NaN */
    float z = x * x;
    float q = -5.70498872745e-3f;
    q = q * z + 2.06390887954e-2f;
    q = q * z - 5.37397155531e-2f;
    q = q * z + 1.33314422036e-1f;
    q = q * z - 3.33332819422e-1f;
    float small = q * z * x + x;
    float big = 1.0f - 2.0f / (tg__expf(2.0f * ax) + 1.0f);
    big = x < 0.0f ? -big : big;
    small = x == 0.0f ? x : small; /* keeps the sign of −0 */
    return ax < 0.625f ? small : big;
}

static inline float tg__sigmoidf(float x) { return 1.0f / (1.0f + tg__expf(-x)); }

/* max(−inf, x[0..n)) (NaN entries are skipped, as by a serial `x > m ? x : m`),
 * over 16 interleaved partial maxima so that it vectorises. */
static inline float tg__max(const float *x, int64_t n) {
    float m[16];
    for (int k = 0; k < 16; k++) m[k] = -INFINITY;
    int64_t n16 = n - n % 16;
    for (int64_t j = 0; j < n16; j += 16)
        for (int k = 0; k < 16; k++) m[k] = x[j + k] > m[k] ? x[j + k] : m[k];
    for (int64_t j = n16; j < n; j++) m[0] = x[j] > m[0] ? x[j] : m[0];
    float r = -INFINITY;
    for (int k = 0; k < 16; k++) r = m[k] > r ? m[k] : r;
    return r;
}

/* Softmax's sum: y[j] = e^{x[j] − m} for j < n (y may be x; y NULL: the
 * values are only summed), returns Σ_j e^{x[j] − m} in double.  The sum is
 * split over 8 interleaved partial sums, combined in a fixed order (the same
 * for any thread count), so that the exp loop and the sum both vectorise;
 * a serial double sum would keep the loop scalar. */
static inline double tg__exp_sum(const float *x, int64_t n, float m, float *y) {
    enum { CHUNK = 256 };
    float buf[CHUNK];
    double acc[8] = {0};
    for (int64_t j0 = 0; j0 < n; j0 += CHUNK) {
        int len = n - j0 < CHUNK ? (int)(n - j0) : CHUNK;
        float *e = y ? y + j0 : buf;
        for (int j = 0; j < len; j++) e[j] = tg__expf(x[j0 + j] - m);
        int len8 = len - len % 8;
        for (int j = 0; j < len8; j += 8)
            for (int k = 0; k < 8; k++) acc[k] += (double)e[j + k];
        for (int j = len8; j < len; j++) acc[0] += (double)e[j];
    }
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

/* The masked-row rule shared by softmax, log_softmax and attention
 * (core/ops/softmax.c, core/ops/attention.c).  Called on a row (or a tile
 * of one) whose maximum is −inf: each entry is then −inf (masked) or NaN.
 * Returns 1 when every entry is −inf: a fully masked row, whose output is
 * defined as 0 with a zero gradient (a query that may look at nothing
 * contributes nothing).  Returns 0 when some entry is NaN: the row's output
 * must then be NaN, so that the tape's non-finite check reports it rather
 * than a NaN input being silently turned into zeros. */
static inline int tg__row_fully_masked(const float *x, int64_t n) {
    int masked = 1;
    for (int64_t j = 0; j < n; j++) masked &= x[j] == -INFINITY;
    return masked;
}

#endif
