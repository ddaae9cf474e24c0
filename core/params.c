/* core/params.c — the parameter block. */
#include "core/params.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void tg_params_init(tg_params *ps) { memset(ps, 0, sizeof *ps); }

void tg_params_free(tg_params *ps) {
    for (int i = 0; i < ps->n; i++) {
        free((char *)ps->t[i]->name);
        free(ps->t[i]);
    }
    free(ps->t);
    free(ps->offset);
    free(ps->data);
    free(ps->grad);
    memset(ps, 0, sizeof *ps);
}

/* Grows the blocks, copying values and gradients, and re-points every
 * tensor at its new place. */
static void grow(tg_params *ps, int64_t need) {
    int64_t cap = ps->capacity ? ps->capacity : 4096;
    while (cap < need) cap *= 2;
    float *data = tg_xcalloc((size_t)cap * sizeof(float));
    float *grad = tg_xcalloc((size_t)cap * sizeof(float));
    if (ps->total) {
        memcpy(data, ps->data, (size_t)ps->total * sizeof(float));
        memcpy(grad, ps->grad, (size_t)ps->total * sizeof(float));
    }
    free(ps->data);
    free(ps->grad);
    ps->data = data;
    ps->grad = grad;
    ps->capacity = cap;
    for (int i = 0; i < ps->n; i++) {
        ps->t[i]->data = data + ps->offset[i];
        ps->t[i]->grad = grad + ps->offset[i];
    }
}

/* A new tensor in the block with the given flags, named by fmt/ap. */
static tg_tensor *new_named(tg_params *ps, unsigned flags, int ndim, const int *shape,
                            const char *fmt, va_list ap) {
    char name[TG_PARAM_NAME_MAX];
    int len = vsnprintf(name, sizeof name, fmt, ap);
    TG_CHECK(len > 0 && len < TG_PARAM_NAME_MAX, "tg_params_new",
             "name must have 1 to %d characters, got %d (\"%s...\")", TG_PARAM_NAME_MAX - 1, len,
             name);
    TG_CHECK(!tg_params_find(ps, name), "tg_params_new", "a parameter named \"%s\" exists already",
             name);
    tg__check_shape("tg_params_new", ndim, shape);
    int64_t size = tg_shape_numel(ndim, shape);
    /* keep every tensor 16-float (64-byte) aligned inside the block */
    int64_t off = (ps->total + 15) & ~(int64_t)15;
    if (off + size > ps->capacity) grow(ps, off + size);
    if (ps->n == ps->cap) {
        ps->cap = ps->cap ? 2 * ps->cap : 64;
        tg_tensor **t = realloc(ps->t, (size_t)ps->cap * sizeof *t);
        int64_t *o = realloc(ps->offset, (size_t)ps->cap * sizeof *o);
        TG_CHECK(t && o, "tg_params_new", "out of memory for %d parameters", ps->cap);
        ps->t = t;
        ps->offset = o;
    }
    tg_tensor *x = tg_xcalloc(sizeof *x);
    x->ndim = ndim;
    for (int i = 0; i < TG_MAX_DIMS; i++) x->shape[i] = i < ndim ? shape[i] : 1;
    x->size = size;
    x->data = ps->data + off;
    x->grad = ps->grad + off;
    x->flags = flags;
    x->node = -1;
    char *owned = tg_xmalloc((size_t)len + 1);
    memcpy(owned, name, (size_t)len + 1);
    x->name = owned;
    ps->offset[ps->n] = off;
    ps->t[ps->n++] = x;
    ps->total = off + size;
    return x;
}

tg_tensor *tg_params_new(tg_params *ps, int ndim, const int *shape, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    tg_tensor *x = new_named(ps, TG_PARAM | TG_REQUIRES_GRAD, ndim, shape, fmt, ap);
    va_end(ap);
    return x;
}

tg_tensor *tg_params_new_buffer(tg_params *ps, float value, int ndim, const int *shape,
                                const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    tg_tensor *x = new_named(ps, TG_PARAM | TG_BUFFER, ndim, shape, fmt, ap);
    va_end(ap);
    tg_tensor_fill(x, value);
    return x;
}

void tg_params_zero_grad(tg_params *ps) {
    if (ps->total) memset(ps->grad, 0, (size_t)ps->total * sizeof(float));
}

uint64_t tg_params_checksum(const tg_params *ps) {
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a offset basis and prime */
    const unsigned char *p = (const unsigned char *)ps->data;
    for (int64_t i = 0; i < ps->total * (int64_t)sizeof(float); i++) h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

int64_t tg_params_count(const tg_params *ps) {
    int64_t n = 0;
    for (int i = 0; i < ps->n; i++)
        if (!(ps->t[i]->flags & TG_BUFFER)) n += ps->t[i]->size;
    return n;
}

tg_tensor *tg_params_find(const tg_params *ps, const char *name) {
    for (int i = 0; i < ps->n; i++)
        if (strcmp(ps->t[i]->name, name) == 0) return ps->t[i];
    return NULL;
}

void tg_params_print(const tg_params *ps, FILE *f) {
    char s[TG_SHAPE_STR_LEN];
    for (int i = 0; i < ps->n; i++)
        fprintf(f, "  %-48s %-18s %10lld%s\n", ps->t[i]->name, tg_shape_str(ps->t[i], s, sizeof s),
                (long long)ps->t[i]->size, ps->t[i]->flags & TG_BUFFER ? " (buffer)" : "");
    fprintf(f, "  %-48s %-18s %10lld\n", "total", "", (long long)tg_params_count(ps));
}
