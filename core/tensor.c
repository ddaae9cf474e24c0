/* core/tensor.c — free-standing tensors, shapes, the random generator,
 * thread settings. */
#include "core/tensor.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

int64_t tg_shape_numel(int ndim, const int *shape) {
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= shape[i];
    return n;
}

void tg_check_shape(const char *op, int ndim, const int *shape) {
    TG_CHECK(ndim >= 1 && ndim <= TG_MAX_DIMS, op,
             "a tensor has 1 to %d dims, got ndim = %d", TG_MAX_DIMS, ndim);
    for (int i = 0; i < ndim; i++)
        TG_CHECK(shape[i] >= 1, op, "dimension %d is %d, expected >= 1", i,
                 shape[i]);
}

static tg_tensor *tensor_alloc(int ndim, const int *shape, int with_grad) {
    tg_check_shape("tg_tensor_new", ndim, shape);
    tg_tensor *t = tg_xcalloc(sizeof *t);
    t->ndim = ndim;
    for (int i = 0; i < TG_MAX_DIMS; i++) t->shape[i] = i < ndim ? shape[i] : 1;
    t->size = tg_shape_numel(ndim, shape);
    t->data = tg_xcalloc((size_t)t->size * sizeof(float));
    if (with_grad) {
        t->grad = tg_xcalloc((size_t)t->size * sizeof(float));
        t->flags |= TG_REQUIRES_GRAD;
    }
    t->node = -1;
    return t;
}

tg_tensor *tg_tensor_new(int ndim, const int *shape) {
    return tensor_alloc(ndim, shape, 0);
}

tg_tensor *tg_tensor_new_grad(int ndim, const int *shape) {
    return tensor_alloc(ndim, shape, 1);
}

void tg_tensor_free(tg_tensor *t) {
    if (!t) return;
    TG_CHECK(!(t->flags & (TG_ARENA | TG_PARAM)), "tg_tensor_free",
             "tensor is owned by a tape or a tg_params, not by the caller");
    free(t->data);
    free(t->grad);
    free(t);
}

void tg_tensor_copy_from(tg_tensor *t, const float *src) {
    memcpy(t->data, src, (size_t)t->size * sizeof(float));
}

void tg_tensor_fill(tg_tensor *t, float value) {
    for (int64_t i = 0; i < t->size; i++) t->data[i] = value;
}

void tg_tensor_zero_grad(tg_tensor *t) {
    if (t->grad) memset(t->grad, 0, (size_t)t->size * sizeof(float));
}

char *tg_shape_str(const tg_tensor *t, char *buf, size_t len) {
    size_t n = 0;
    n += (size_t)snprintf(buf + n, len - n, "[");
    for (int i = 0; i < t->ndim && n < len; i++)
        n += (size_t)snprintf(buf + n, len - n, i ? ", %d" : "%d", t->shape[i]);
    if (n < len) snprintf(buf + n, len - n, "]");
    return buf;
}

int tg_shape_eq(const tg_tensor *a, const tg_tensor *b) {
    if (a->ndim != b->ndim) return 0;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i]) return 0;
    return 1;
}

void tg_tensor_print(FILE *f, const tg_tensor *t, int max) {
    char s[TG_SHAPE_STR_LEN];
    fprintf(f, "%s %s = [", t->name ? t->name : "tensor", tg_shape_str(t, s, sizeof s));
    for (int64_t i = 0; i < t->size && i < max; i++)
        fprintf(f, i ? ", %.6g" : "%.6g", t->data[i]);
    fprintf(f, t->size > max ? ", ...]\n" : "]\n");
}

/* ---- xoshiro128++ ------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void tg_rng_seed(tg_rng *r, uint64_t seed) {
    uint64_t a = splitmix64(&seed), b = splitmix64(&seed);
    r->s[0] = (uint32_t)a;
    r->s[1] = (uint32_t)(a >> 32);
    r->s[2] = (uint32_t)b;
    r->s[3] = (uint32_t)(b >> 32);
}

uint32_t tg_rng_u32(tg_rng *r) { return tg_rng_next(r->s); }

float tg_rng_uniform(tg_rng *r) { return (float)(tg_rng_u32(r) >> 8) * 0x1.0p-24f; }

float tg_rng_normal(tg_rng *r) {
    /* Box-Muller on (0, 1] so log never sees 0. */
    double u1 = ((double)(tg_rng_u32(r) >> 8) + 1.0) * 0x1.0p-24;
    double u2 = (double)(tg_rng_u32(r) >> 8) * 0x1.0p-24;
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

uint32_t tg_rng_below(tg_rng *r, uint32_t n) {
    TG_CHECK(n >= 1, "tg_rng_below", "n must be >= 1, got %u", n);
    uint64_t m = (uint64_t)tg_rng_u32(r) * n;
    uint32_t l = (uint32_t)m;
    if (l < n) {
        uint32_t t = (uint32_t)(-n) % n;
        while (l < t) {
            m = (uint64_t)tg_rng_u32(r) * n;
            l = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

void tg_tensor_uniform(tg_tensor *t, tg_rng *r, float lo, float hi) {
    for (int64_t i = 0; i < t->size; i++) t->data[i] = lo + (hi - lo) * tg_rng_uniform(r);
}

void tg_tensor_normal(tg_tensor *t, tg_rng *r, float mean, float std) {
    for (int64_t i = 0; i < t->size; i++) t->data[i] = mean + std * tg_rng_normal(r);
}

/* ---- threads ------------------------------------------------------------ */

void tg_set_num_threads(int n) {
    TG_CHECK(n >= 1, "tg_set_num_threads", "n must be >= 1, got %d", n);
#ifdef _OPENMP
    omp_set_num_threads(n);
#endif
}

int tg_get_num_threads(void) {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}
