/* test_sgemm.c - tg_sgemm against a naive double-precision reference (cmocka)
 *
 * Build: gcc -std=c11 -O2 -march=native -fopenmp -I. tests/test_sgemm.c \
 *            core/kernels/sgemm*.c -lcmocka -lm -o build/test_sgemm
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "core/kernels/sgemm.h"

/* deterministic xorshift in [-1, 1) */
static uint64_t rng_state;
static void rng_seed(uint64_t s) { rng_state = s * 0x9E3779B97F4A7C15ull + 1; }
static float rng_f(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (float)((rng_state >> 40) * (1.0 / 8388608.0)) - 1.0f;
}
static float *rand_buf(size_t n)
{
    float *p = malloc((n ? n : 1) * sizeof *p);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++) p[i] = rng_f();
    return p;
}

/* one case: stored shapes from trans flags, leading dims = minimum + pad */
static void check_case(int ta, int tb, int M, int N, int K, float alpha,
                       float beta, int pad, int nan_c)
{
    int lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
    if (lda < 1) lda = 1;
    if (ldb < 1) ldb = 1;
    if (ldc < 1) ldc = 1;
    size_t na = (size_t)(ta ? K : M) * lda, nb = (size_t)(tb ? N : K) * ldb;
    size_t nc = (size_t)M * ldc;
    float *A = rand_buf(na), *B = rand_buf(nb), *C = rand_buf(nc);
    float *C0 = malloc((nc ? nc : 1) * sizeof *C0);
    assert_non_null(C0);
    if (nan_c)
        for (size_t i = 0; i < nc; i++) C[i] = NAN;
    memcpy(C0, C, nc * sizeof *C);

    tg_sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);

    for (int i = 0; i < M; i++)
        for (int j = 0; j < ldc; j++) {
            float got = C[(size_t)i * ldc + j];
            if (j >= N) { /* padding untouched */
                float c0 = C0[(size_t)i * ldc + j];
                if (!(got == c0 || (isnan(got) && isnan(c0)))) {
                    fail_msg("padding written at (%d,%d) ta=%d tb=%d M=%d N=%d K=%d",
                             i, j, ta, tb, M, N, K);
                }
                continue;
            }
            double s = 0.0, sa = 0.0;
            for (int k = 0; k < K; k++) {
                double a = ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
                double b = tb ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j];
                s += a * b;
                sa += fabs(a * b);
            }
            double c0 = C0[(size_t)i * ldc + j];
            double ref = alpha * s + (beta == 0.0f ? 0.0 : beta * c0);
            double mag = fabs(alpha) * sa + (beta == 0.0f ? 0.0 : fabs(beta * c0));
            double tol = 4.0 * 1.2e-7 * (K + 2) * mag + 1e-30;
            if (!(fabs((double)got - ref) <= tol)) {
                fail_msg("mismatch at (%d,%d): got %.9g ref %.9g tol %.3g "
                         "(ta=%d tb=%d M=%d N=%d K=%d alpha=%g beta=%g pad=%d)",
                         i, j, got, ref, tol, ta, tb, M, N, K, alpha, beta, pad);
            }
        }
    free(A);
    free(B);
    free(C);
    free(C0);
}

static const int dims[] = {1, 3, 7, 17, 31, 33, 65, 129};

static void test_shapes_all_trans(void **state)
{
    (void)state;
    rng_seed(1);
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++)
            for (size_t a = 0; a < sizeof dims / sizeof *dims; a++)
                for (size_t b = 0; b < sizeof dims / sizeof *dims; b++) {
                    int M = dims[a], N = dims[b];
                    int K = dims[(a + 2 * b + ta + tb) % 8];
                    check_case(ta, tb, M, N, K, 1.0f, 0.0f, 0, 0);
                }
}

static void test_padded_ld_alpha_beta(void **state)
{
    (void)state;
    rng_seed(2);
    static const float ab[][2] = {{1.0f, 1.0f}, {-0.5f, 2.0f}, {2.5f, 0.0f}, {1.0f, -1.0f}};
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++)
            for (int c = 0; c < 4; c++) {
                check_case(ta, tb, 33, 65, 17, ab[c][0], ab[c][1], 5, 0);
                check_case(ta, tb, 7, 31, 129, ab[c][0], ab[c][1], 3, 0);
                check_case(ta, tb, 65, 17, 33, ab[c][0], ab[c][1], 1, 0);
            }
}

static void test_beta0_nan(void **state)
{
    (void)state;
    rng_seed(3);
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            check_case(ta, tb, 31, 33, 65, 1.0f, 0.0f, 2, 1);
            check_case(ta, tb, 13, 47, 3, -2.0f, 0.0f, 0, 1);
            check_case(ta, tb, 5, 5, 0, 1.0f, 0.0f, 1, 1); /* K == 0 */
            check_case(ta, tb, 9, 40, 11, 0.0f, 0.0f, 1, 1); /* alpha == 0 */
        }
}

static void test_degenerate(void **state)
{
    (void)state;
    rng_seed(4);
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            check_case(ta, tb, 0, 7, 5, 1.0f, 1.0f, 0, 0);  /* M == 0 */
            check_case(ta, tb, 7, 0, 5, 1.0f, 1.0f, 0, 0);  /* N == 0 */
            check_case(ta, tb, 7, 9, 0, 1.0f, 0.5f, 2, 0);  /* K == 0: C = beta*C */
            check_case(ta, tb, 7, 9, 0, 1.0f, 1.0f, 0, 0);
            check_case(ta, tb, 1, 1, 1, 3.0f, -1.0f, 0, 0);
        }
    /* NULL C with M == 0 and NULL A/B with K == 0 are allowed */
    tg_sgemm(0, 0, 0, 4, 4, 1.0f, NULL, 4, NULL, 4, 0.0f, NULL, 4);
    float c[4] = {1, 2, 3, 4};
    tg_sgemm(0, 0, 2, 2, 0, 1.0f, NULL, 1, NULL, 2, 2.0f, c, 2);
    assert_true(c[0] == 2 && c[1] == 4 && c[2] == 6 && c[3] == 8);
}

static void test_large(void **state)
{
    (void)state;
    rng_seed(5);
    /* crosses KC / NB / MB block boundaries; K > KC split unevenly */
    check_case(0, 0, 257, 257, 257, 1.0f, 0.0f, 0, 0);
    check_case(1, 1, 129, 530, 400, 0.75f, 0.25f, 3, 0);
    check_case(0, 1, 1600, 40, 33, 1.0f, 1.0f, 0, 0);
    check_case(1, 0, 40, 1100, 785, 1.0f, 0.0f, 1, 1);
}

static void test_threads_bit_identical(void **state)
{
    (void)state;
#ifdef _OPENMP
    static const int shapes[][3] = {
        {257, 257, 257}, {1000, 130, 77}, {96, 1030, 300}, {13, 2000, 401}, {512, 512, 512}};
    int saved = omp_get_max_threads();
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) {
                int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
                int lda = ta ? M : K, ldb = tb ? K : N;
                rng_seed(100 + s);
                float *A = rand_buf((size_t)M * K), *B = rand_buf((size_t)K * N);
                float *C1 = rand_buf((size_t)M * N);
                float *C2 = malloc((size_t)M * N * sizeof *C2);
                assert_non_null(C2);
                memcpy(C2, C1, (size_t)M * N * sizeof *C1);
                omp_set_num_threads(1);
                tg_sgemm(ta, tb, M, N, K, 0.5f, A, lda, B, ldb, 0.75f, C1, N);
                omp_set_num_threads(2);
                tg_sgemm(ta, tb, M, N, K, 0.5f, A, lda, B, ldb, 0.75f, C2, N);
                assert_memory_equal(C1, C2, (size_t)M * N * sizeof *C1);
                free(A);
                free(B);
                free(C1);
                free(C2);
            }
    omp_set_num_threads(saved);
#else
    skip();
#endif
}

int main(void)
{
    printf("tg_sgemm kernel: %s\n", tg_sgemm_kernel_name());
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shapes_all_trans),
        cmocka_unit_test(test_padded_ld_alpha_beta),
        cmocka_unit_test(test_beta0_nan),
        cmocka_unit_test(test_degenerate),
        cmocka_unit_test(test_large),
        cmocka_unit_test(test_threads_bit_identical),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
