/* data/planetoid.c — see planetoid.h.  Each file is parsed line by line into
 * temporaries owned by a `reader`; only when all five agree is the result
 * moved into *out. */
#define _POSIX_C_SOURCE 200809L
#include "data/planetoid.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ferr(path, line, ...) tg_set_error_at(TG_ERR_FORMAT, (path), (line), __VA_ARGS__)

/* ---- lines and integers ------------------------------------------------------ */

typedef struct {
    FILE *f;
    char path[4096];
    char *buf;
    size_t cap;
    int64_t line; /* number of the line in buf (1-based) */
} line_reader;

static tg_status lr_open(line_reader *r, const char *dir, const char *name, const char *ext) {
    memset(r, 0, sizeof *r);
    snprintf(r->path, sizeof r->path, "%s/%s.%s", dir, name, ext);
    r->f = fopen(r->path, "r");
    if (!r->f) return tg_set_error(TG_ERR_IO, "%s: cannot open: %s", r->path, strerror(errno));
    return TG_OK;
}

/* Next line without its "\n" / "\r\n" in r->buf; 0 at the end of the file. */
static int lr_next(line_reader *r) {
    ssize_t n = getline(&r->buf, &r->cap, r->f);
    if (n < 0) return 0;
    while (n > 0 && (r->buf[n - 1] == '\n' || r->buf[n - 1] == '\r')) r->buf[--n] = '\0';
    r->line++;
    return 1;
}

static void lr_close(line_reader *r) {
    if (r->f) fclose(r->f);
    free(r->buf);
    r->f = NULL;
    r->buf = NULL;
}

/* Reads a decimal integer (optional '-') at *p after skipping spaces; moves
 * *p past it.  Returns 1, 0 at the end of the line, −1 on anything else. */
static int next_int(const char **p, long *v) {
    const char *s = *p;
    while (*s == ' ' || *s == '\t') s++;
    if (!*s) return 0;
    char *end;
    errno = 0;
    long x = strtol(s, &end, 10);
    if (end == s || errno || (*end && *end != ' ' && *end != '\t')) return -1;
    *v = x;
    *p = end;
    return 1;
}

/* The first field of a node-ordered line must be node n. */
static tg_status expect_node(line_reader *r, const char **p, long n, int n_nodes) {
    long id;
    if (next_int(p, &id) != 1) return ferr(r->path, r->line, "expected a node id first, found '%.40s'", r->buf);
    if (id < 0 || id >= n_nodes)
        return ferr(r->path, r->line, "node id %ld out of range [0, %d)", id, n_nodes);
    if (id != n) return ferr(r->path, r->line, "expected node %ld (lines in node order), found %ld", n, id);
    return TG_OK;
}

/* ---- meta ---------------------------------------------------------------------- */

enum { M_NODES, M_FEATURES, M_CLASSES, M_EDGES, M_TRAIN, M_VAL, M_TEST, M_NONE, M_COUNT };
static const char *const meta_keys[M_COUNT] = {"nodes", "features", "classes", "edges",
                                               "train", "val",      "test",    "none"};

typedef struct {
    char path[4096];
    long value[M_COUNT];
    int64_t line[M_COUNT];
} meta;

static tg_status read_meta(const char *dir, const char *name, meta *m) {
    line_reader r;
    tg_status st = lr_open(&r, dir, name, "meta");
    if (st) return st;
    snprintf(m->path, sizeof m->path, "%s", r.path);
    for (int k = 0; k < M_COUNT; k++) m->line[k] = 0;
    while (st == TG_OK && lr_next(&r)) {
        char key[64];
        long v;
        const char *p = r.buf;
        while (*p == ' ') p++;
        if (!*p) continue;
        int klen = (int)strcspn(p, " \t");
        if (klen >= (int)sizeof key) { st = ferr(r.path, r.line, "key too long"); break; }
        memcpy(key, p, (size_t)klen);
        key[klen] = '\0';
        p += klen;
        if (next_int(&p, &v) != 1 || next_int(&p, &(long){0}) != 0) {
            st = ferr(r.path, r.line, "expected `key integer`, found '%.60s'", r.buf);
            break;
        }
        for (int k = 0; k < M_COUNT; k++)
            if (!strcmp(key, meta_keys[k])) {
                if (v < 0 || v > INT_MAX) st = ferr(r.path, r.line, "%s must be in [0, %d], got %ld", key, INT_MAX, v);
                m->value[k] = v;
                m->line[k] = r.line;
            }
    }
    for (int k = 0; st == TG_OK && k < M_COUNT; k++)
        if (!m->line[k]) st = ferr(r.path, r.line, "missing key '%s'", meta_keys[k]);
    if (st == TG_OK && (m->value[M_NODES] < 1 || m->value[M_FEATURES] < 1 || m->value[M_CLASSES] < 1))
        st = ferr(r.path, m->line[M_NODES], "nodes, features and classes must be >= 1");
    lr_close(&r);
    return st;
}

/* "meta:L: KEY = X but FILE has Y WHAT" */
static tg_status count_mismatch(const meta *m, int key, const char *file, long got, const char *what) {
    return ferr(m->path, m->line[key], "%s = %ld but %s has %ld %s", meta_keys[key], m->value[key],
                file, got, what);
}

/* ---- the five files ------------------------------------------------------------ */

typedef struct {
    meta m;
    int64_t *feat_ptr;
    int32_t *feat_idx;
    int64_t nnz, cap;
    int32_t *labels;
    uint8_t *split;
    int32_t *eu, *ev;
    int64_t n_edges, ecap;
    int n_split[4];
} parsed;

static void parsed_free(parsed *t) {
    free(t->feat_ptr);
    free(t->feat_idx);
    free(t->labels);
    free(t->split);
    free(t->eu);
    free(t->ev);
}

static tg_status read_features(const char *dir, const char *name, parsed *t) {
    int N = (int)t->m.value[M_NODES], F = (int)t->m.value[M_FEATURES];
    line_reader r;
    tg_status st = lr_open(&r, dir, name, "features");
    if (st) return st;
    t->feat_ptr = tg_xcalloc((size_t)(N + 1) * sizeof *t->feat_ptr);
    t->cap = 1024;
    t->feat_idx = tg_xmalloc((size_t)t->cap * sizeof *t->feat_idx);
    long n = 0;
    while (st == TG_OK && lr_next(&r)) {
        if (n >= N) { st = ferr(r.path, r.line, "more lines than nodes = %d (%s)", N, t->m.path); break; }
        const char *p = r.buf;
        if ((st = expect_node(&r, &p, n, N))) break;
        long f, prev = -1;
        int got;
        while ((got = next_int(&p, &f)) == 1) {
            if (f < 0 || f >= F) { st = ferr(r.path, r.line, "feature index %ld out of range [0, %d)", f, F); break; }
            if (f <= prev) { st = ferr(r.path, r.line, "feature indices must ascend: %ld after %ld", f, prev); break; }
            if (t->nnz == t->cap) {
                t->cap *= 2;
                int32_t *g = realloc(t->feat_idx, (size_t)t->cap * sizeof *g);
                TG_CHECK(g, "tg_planetoid_read", "out of memory for %lld features", (long long)t->cap);
                t->feat_idx = g;
            }
            t->feat_idx[t->nnz++] = (int32_t)f;
            prev = f;
        }
        if (st == TG_OK && got < 0) st = ferr(r.path, r.line, "expected feature indices (integers), found '%.40s'", p);
        t->feat_ptr[++n] = t->nnz;
    }
    if (st == TG_OK && n != N) st = count_mismatch(&t->m, M_NODES, r.path, n, "lines");
    lr_close(&r);
    return st;
}

static tg_status read_labels(const char *dir, const char *name, parsed *t) {
    int N = (int)t->m.value[M_NODES], C = (int)t->m.value[M_CLASSES];
    line_reader r;
    tg_status st = lr_open(&r, dir, name, "labels");
    if (st) return st;
    t->labels = tg_xmalloc((size_t)N * sizeof *t->labels);
    long n = 0;
    while (st == TG_OK && lr_next(&r)) {
        if (n >= N) { st = ferr(r.path, r.line, "more lines than nodes = %d (%s)", N, t->m.path); break; }
        const char *p = r.buf;
        long y;
        if ((st = expect_node(&r, &p, n, N))) break;
        if (next_int(&p, &y) != 1 || next_int(&p, &(long){0}) != 0)
            st = ferr(r.path, r.line, "expected `node label`, found '%.40s'", r.buf);
        else if (y < -1 || y >= C)
            st = ferr(r.path, r.line, "label %ld out of range [0, %d) (or -1 for none)", y, C);
        else t->labels[n++] = (int32_t)y;
    }
    if (st == TG_OK && n != N) st = count_mismatch(&t->m, M_NODES, r.path, n, "lines");
    lr_close(&r);
    return st;
}

static tg_status read_edges(const char *dir, const char *name, parsed *t) {
    int N = (int)t->m.value[M_NODES];
    line_reader r;
    tg_status st = lr_open(&r, dir, name, "edges");
    if (st) return st;
    t->ecap = 1024;
    t->eu = tg_xmalloc((size_t)t->ecap * sizeof *t->eu);
    t->ev = tg_xmalloc((size_t)t->ecap * sizeof *t->ev);
    long pu = -1, pv = -1;
    while (st == TG_OK && lr_next(&r)) {
        const char *p = r.buf;
        long u, v;
        if (next_int(&p, &u) != 1 || next_int(&p, &v) != 1 || next_int(&p, &(long){0}) != 0) {
            st = ferr(r.path, r.line, "expected `u v` (two node ids), found '%.40s'", r.buf);
            break;
        }
        if (u < 0 || u >= N || v < 0 || v >= N) {
            st = ferr(r.path, r.line, "node id %ld out of range [0, %d)", (u < 0 || u >= N) ? u : v, N);
            break;
        }
        if (u >= v) { st = ferr(r.path, r.line, "expected u < v, found %ld %ld", u, v); break; }
        if (u < pu || (u == pu && v <= pv)) {
            st = ferr(r.path, r.line, "edges must be sorted by (u, v) without repeats: %ld %ld after %ld %ld", u, v, pu, pv);
            break;
        }
        if (t->n_edges == t->ecap) {
            t->ecap *= 2;
            int32_t *a = realloc(t->eu, (size_t)t->ecap * sizeof *a);
            TG_CHECK(a, "tg_planetoid_read", "out of memory for %lld edges", (long long)t->ecap);
            t->eu = a;
            a = realloc(t->ev, (size_t)t->ecap * sizeof *a);
            TG_CHECK(a, "tg_planetoid_read", "out of memory for %lld edges", (long long)t->ecap);
            t->ev = a;
        }
        t->eu[t->n_edges] = (int32_t)u;
        t->ev[t->n_edges++] = (int32_t)v;
        pu = u, pv = v;
    }
    if (st == TG_OK && t->n_edges != t->m.value[M_EDGES])
        st = count_mismatch(&t->m, M_EDGES, r.path, (long)t->n_edges, "edges");
    lr_close(&r);
    return st;
}

static tg_status read_split(const char *dir, const char *name, parsed *t) {
    static const char *const words[4] = {"none", "train", "val", "test"};
    static const int keys[4] = {M_NONE, M_TRAIN, M_VAL, M_TEST};
    int N = (int)t->m.value[M_NODES];
    line_reader r;
    tg_status st = lr_open(&r, dir, name, "split");
    if (st) return st;
    t->split = tg_xmalloc((size_t)N);
    long n = 0;
    while (st == TG_OK && lr_next(&r)) {
        const char *p = r.buf;
        if ((st = expect_node(&r, &p, n, N))) break;
        while (*p == ' ' || *p == '\t') p++;
        int s = -1;
        for (int k = 0; k < 4; k++)
            if (!strcmp(p, words[k])) s = k;
        if (s < 0) { st = ferr(r.path, r.line, "expected train, val, test or none, found '%.40s'", p); break; }
        t->split[n++] = (uint8_t)s;
        t->n_split[s]++;
    }
    if (st == TG_OK && n != N) st = count_mismatch(&t->m, M_NODES, r.path, n, "lines");
    for (int k = 0; st == TG_OK && k < 4; k++)
        if (t->n_split[k] != t->m.value[keys[k]])
            st = count_mismatch(&t->m, keys[k], r.path, t->n_split[k], k == 0 ? "nodes in no split" : "nodes in that split");
    lr_close(&r);
    return st;
}

tg_status tg_planetoid_read(const char *dir, tg_planetoid *out) {
    TG_CHECK(dir && out, "tg_planetoid_read", "dir or out is NULL");
    char d[4096];
    snprintf(d, sizeof d, "%s", dir);
    size_t len = strlen(d);
    while (len > 1 && d[len - 1] == '/') d[--len] = '\0';
    const char *slash = strrchr(d, '/'), *name = slash ? slash + 1 : d;
    if (strlen(name) >= sizeof out->name)
        return tg_set_error(TG_ERR_ARG, "%s: dataset name longer than %d characters", dir, (int)sizeof out->name - 1);
    parsed t;
    memset(&t, 0, sizeof t);
    tg_status st = read_meta(d, name, &t.m);
    if (!st) st = read_features(d, name, &t);
    if (!st) st = read_labels(d, name, &t);
    if (!st) st = read_edges(d, name, &t);
    if (!st) st = read_split(d, name, &t);
    if (st) {
        parsed_free(&t);
        return st;
    }
    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "%s", name);
    out->n_nodes = (int)t.m.value[M_NODES];
    out->n_features = (int)t.m.value[M_FEATURES];
    out->n_classes = (int)t.m.value[M_CLASSES];
    out->n_edges = t.n_edges;
    out->nnz = t.nnz;
    out->feat_ptr = t.feat_ptr;
    out->feat_idx = t.feat_idx;
    out->feat_val = tg_xmalloc((size_t)(t.nnz ? t.nnz : 1) * sizeof *out->feat_val);
    for (int n = 0; n < out->n_nodes; n++) {
        int64_t k = t.feat_ptr[n + 1] - t.feat_ptr[n];
        for (int64_t p = t.feat_ptr[n]; p < t.feat_ptr[n + 1]; p++) out->feat_val[p] = 1.0f / (float)k;
    }
    out->labels = t.labels;
    out->split = t.split;
    out->edge_u = t.eu;
    out->edge_v = t.ev;
    memcpy(out->n_split, t.n_split, sizeof t.n_split);
    return TG_OK;
}

void tg_planetoid_free(tg_planetoid *d) {
    if (!d) return;
    free(d->feat_ptr);
    free(d->feat_idx);
    free(d->feat_val);
    free(d->labels);
    free(d->split);
    free(d->edge_u);
    free(d->edge_v);
    memset(d, 0, sizeof *d);
}

void tg_planetoid_graph(const tg_planetoid *d, unsigned flags, tg_csr *g) {
    int64_t E = d->n_edges;
    int32_t *src = tg_xmalloc((size_t)(2 * E + 1) * sizeof *src), *dst = tg_xmalloc((size_t)(2 * E + 1) * sizeof *dst);
    for (int64_t k = 0; k < E; k++) {
        src[2 * k] = d->edge_u[k], dst[2 * k] = d->edge_v[k];
        src[2 * k + 1] = d->edge_v[k], dst[2 * k + 1] = d->edge_u[k];
    }
    tg_csr_build(g, d->n_nodes, 2 * E, src, dst, flags);
    free(src);
    free(dst);
}

tg_sparse tg_planetoid_features(const tg_planetoid *d) {
    return (tg_sparse){.n_rows = d->n_nodes, .n_cols = d->n_features, .nnz = d->nnz,
                       .row_ptr = d->feat_ptr, .col = d->feat_idx};
}

void tg_planetoid_dense_features(const tg_planetoid *d, float *out) {
    memset(out, 0, (size_t)d->n_nodes * d->n_features * sizeof *out);
    for (int n = 0; n < d->n_nodes; n++)
        for (int64_t p = d->feat_ptr[n]; p < d->feat_ptr[n + 1]; p++)
            out[(int64_t)n * d->n_features + d->feat_idx[p]] = d->feat_val[p];
}
