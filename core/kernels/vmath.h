/* core/kernels/vmath.h — branch-free single-precision exp, expm1, tanh and
 * sigmoid that GCC -O3 -march=native auto-vectorises (private, header-only).
 *
 *     for (int64_t i = 0; i < n; i++) y[i] = tg__tanhf(x[i]);   // one vector loop
 *
 * glibc's expf/tanhf are calls per element: a loop that calls them stays
 * scalar.  These inline into the loop, use no libm call and no branch (every
 * choice is a ternary on values, which GCC turns into a blend), and pun
 * float <-> int through memcpy, which vectorises.  Results do not depend on
 * the thread count; they may differ in the last bit between builds with and
 * without FMA (-march) since GCC contracts a·b + c only when it is allowed.
 *
 * tg__expf(x)    Cody–Waite: x = n·ln2 + r, n = rint(x/ln2), |r| <= ln2/2,
 *                ln2 split in two (the high part has 9 bits, so n·hi is
 *                exact); e^r = 1 + r + r²·P(r), P of degree 5 (Cephes expf,
 *                Moshier 1992); 2^n built in the exponent bits as 2^⌊n/2⌋ ·
 *                2^(n−⌊n/2⌋) so n = 128 (x up to ln FLT_MAX) stays finite.
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
 * Max error measured by tests/test_vmath.c against double-precision libm
 * (every 1e-3 on [−20, 20] and 10^6 random points on [−100, 100]), this
 * build (x86-64, AVX-512, FMA):
 *   tg__expf     relative 1.8e-7 (≈ 1.5 ulp) over [−87.3, 88.7]
 *   tg__expm1f   relative 2.7e-7 over [−20, 20]
 *   tg__tanhf    relative 2.5e-7 over all x (≤ 1.2e-7 for |x| < 0.625)
 *   tg__sigmoidf relative 2.9e-7 for x >= −87 (below, σ < 1.2e-38 is 0)
 * (the bounds the test asserts are in tests/test_vmath.c.)
 */
#ifndef TG_KERNELS_VMATH_H
#define TG_KERNELS_VMATH_H

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
    return ax < 0.34657359f ? tg__expm1_reduced(x) : e;
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
        int j = 0;
        for (; j + 8 <= len; j += 8)
            for (int k = 0; k < 8; k++) acc[k] += (double)e[j + k];
        for (int k = 0; j < len; j++, k++) acc[k] += (double)e[j];
    }
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

#endif
