/* train/checkpoint.c — safetensors checkpoints: atomic save, all-or-nothing
 * load, metadata.  Contract in train/checkpoint.h; format notes in
 * docs/checkpoints.md. */
#define _POSIX_C_SOURCE 200809L
#include "train/checkpoint.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "data/io.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "train/checkpoint.c writes tensor data as stored in memory: little-endian hosts only"
#endif

#define RESERVED "tapegrad."
#define OPTIM_PREFIX "__optim__."
#define MAX_FILE_DIMS 8

/* ---- metadata in the extra struct ---------------------------------------- */

static char *xstrdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = tg_xmalloc(n);
    memcpy(d, s, n);
    return d;
}

static void meta_put(tg_checkpoint_extra *ex, const char *key, const char *value) {
    for (int i = 0; i < ex->n_meta; i++)
        if (strcmp(ex->meta_key[i], key) == 0) {
            free(ex->meta_value[i]);
            ex->meta_value[i] = xstrdup(value);
            return;
        }
    char **k = realloc(ex->meta_key, (size_t)(ex->n_meta + 1) * sizeof *k);
    TG_CHECK(k, "tg_checkpoint_meta_set", "out of memory");
    ex->meta_key = k;
    char **v = realloc(ex->meta_value, (size_t)(ex->n_meta + 1) * sizeof *v);
    TG_CHECK(v, "tg_checkpoint_meta_set", "out of memory");
    ex->meta_value = v;
    ex->meta_key[ex->n_meta] = xstrdup(key);
    ex->meta_value[ex->n_meta] = xstrdup(value);
    ex->n_meta++;
}

void tg_checkpoint_meta_set(tg_checkpoint_extra *ex, const char *key, const char *value) {
    TG_CHECK(ex && key && value, "tg_checkpoint_meta_set", "arguments must not be NULL");
    TG_CHECK(strncmp(key, RESERVED, strlen(RESERVED)) != 0 && strcmp(key, "__metadata__") != 0,
             "tg_checkpoint_meta_set", "key '%s' is reserved (keys starting with \"" RESERVED
             "\" are written by tapegrad)", key);
    meta_put(ex, key, value);
}

const char *tg_checkpoint_meta_get(const tg_checkpoint_extra *ex, const char *key) {
    if (!ex || !key) return NULL;
    for (int i = 0; i < ex->n_meta; i++)
        if (strcmp(ex->meta_key[i], key) == 0) return ex->meta_value[i];
    return NULL;
}

static void meta_clear(tg_checkpoint_extra *ex) {
    for (int i = 0; i < ex->n_meta; i++) {
        free(ex->meta_key[i]);
        free(ex->meta_value[i]);
    }
    free(ex->meta_key);
    free(ex->meta_value);
    ex->meta_key = ex->meta_value = NULL;
    ex->n_meta = 0;
}

void tg_checkpoint_extra_free(tg_checkpoint_extra *ex) {
    if (ex) meta_clear(ex);
}

/* ---- saving ----------------------------------------------------------------- */

/* The tensors of a checkpoint in file order: parameters, then optimizer
 * state.  Each is (name, source tensor for the shape, data pointer). */
typedef struct {
    const char *prefix; /* "" or "__optim__.m." ... */
    int param;          /* index in ps */
    const float *data;
} out_tensor;

typedef struct {
    const tg_params *ps;
    out_tensor *ts;
    int n;
    const char *header; /* padded */
    size_t header_len;
} save_ctx;

static int write_checkpoint(FILE *f, void *vctx) {
    save_ctx *c = vctx;
    unsigned char len8[8];
    uint64_t n = c->header_len;
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)(n >> (8 * i));
    if (fwrite(len8, 1, 8, f) != 8) return -1;
    if (fwrite(c->header, 1, c->header_len, f) != c->header_len) return -1;
    for (int i = 0; i < c->n; i++) {
        size_t sz = (size_t)c->ps->t[c->ts[i].param]->size;
        if (fwrite(c->ts[i].data, sizeof(float), sz, f) != sz) return -1;
    }
    return 0;
}

static char *full_name(const char *prefix, const char *name) {
    size_t n = strlen(prefix) + strlen(name) + 1;
    char *s = tg_xmalloc(n);
    snprintf(s, n, "%s%s", prefix, name);
    return s;
}

tg_status tg_checkpoint_save(const char *path, const tg_params *ps,
                             const tg_checkpoint_extra *extra) {
    TG_CHECK(path && ps, "tg_checkpoint_save", "path and ps must not be NULL");
    const tg_adam *adam = extra ? extra->adam : NULL;
    const tg_sgd *sgd = extra ? extra->sgd : NULL;
    TG_CHECK(!(adam && sgd), "tg_checkpoint_save", "give at most one optimizer (adam or sgd)");
    TG_CHECK(!adam || (adam->m && adam->n == ps->total), "tg_checkpoint_save",
             "the Adam optimizer was made for %lld floats, the parameters have %lld",
             adam ? (long long)adam->n : 0LL, (long long)ps->total);
    TG_CHECK(!sgd || (sgd->decay && sgd->n == ps->total), "tg_checkpoint_save",
             "the SGD optimizer was made for %lld floats, the parameters have %lld",
             sgd ? (long long)sgd->n : 0LL, (long long)ps->total);

    int per = 1 + (adam ? 2 : 0) + (sgd && sgd->b ? 1 : 0);
    save_ctx c = {.ps = ps, .ts = tg_xmalloc((size_t)(ps->n * per + 1) * sizeof(out_tensor))};
    for (int i = 0; i < ps->n; i++) c.ts[c.n++] = (out_tensor){"", i, ps->t[i]->data};
    for (int i = 0; adam && i < ps->n; i++)
        c.ts[c.n++] = (out_tensor){OPTIM_PREFIX "m.", i, adam->m + ps->offset[i]};
    for (int i = 0; adam && i < ps->n; i++)
        c.ts[c.n++] = (out_tensor){OPTIM_PREFIX "v.", i, adam->v + ps->offset[i]};
    for (int i = 0; sgd && sgd->b && i < ps->n; i++)
        c.ts[c.n++] = (out_tensor){OPTIM_PREFIX "b.", i, sgd->b + ps->offset[i]};

    cJSON *root = cJSON_CreateObject();
    TG_CHECK(root, "tg_checkpoint_save", "out of memory building the header");
    /* metadata first, as the Python library writes it */
    cJSON *meta = cJSON_AddObjectToObject(root, "__metadata__");
    char buf[128];
    cJSON_AddStringToObject(meta, RESERVED "format", "1");
    if (extra) {
        for (int i = 0; i < extra->n_meta; i++)
            cJSON_AddStringToObject(meta, extra->meta_key[i], extra->meta_value[i]);
        snprintf(buf, sizeof buf, "%" PRId64, extra->step);
        cJSON_AddStringToObject(meta, RESERVED "step", buf);
        snprintf(buf, sizeof buf, "%" PRId64, extra->epoch);
        cJSON_AddStringToObject(meta, RESERVED "epoch", buf);
        if (adam || sgd) {
            cJSON_AddStringToObject(meta, RESERVED "optim",
                                    sgd ? "sgd" : adam->decoupled ? "adamw" : "adam");
            snprintf(buf, sizeof buf, "%" PRId64, adam ? adam->t : sgd->t);
            cJSON_AddStringToObject(meta, RESERVED "optim.t", buf);
        }
        for (int r = 0; r < TG_CKPT_MAX_RNG; r++) {
            if (!extra->rng[r]) continue;
            const uint32_t *s = extra->rng[r]->s;
            char key[64];
            snprintf(key, sizeof key, RESERVED "rng.%d", r);
            snprintf(buf, sizeof buf, "%" PRIu32 " %" PRIu32 " %" PRIu32 " %" PRIu32, s[0], s[1],
                     s[2], s[3]);
            cJSON_AddStringToObject(meta, key, buf);
        }
    }
    uint64_t off = 0;
    for (int i = 0; i < c.n; i++) {
        const tg_tensor *t = ps->t[c.ts[i].param];
        char *name = full_name(c.ts[i].prefix, t->name);
        cJSON *e = cJSON_AddObjectToObject(root, name);
        free(name);
        cJSON_AddStringToObject(e, "dtype", "F32");
        cJSON *shape = cJSON_AddArrayToObject(e, "shape");
        for (int d = 0; d < t->ndim; d++)
            cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)t->shape[d]));
        uint64_t end = off + (uint64_t)t->size * sizeof(float);
        cJSON *offs = cJSON_AddArrayToObject(e, "data_offsets");
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)off));
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)end));
        off = end;
    }
    char *json = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    TG_CHECK(json, "tg_checkpoint_save", "out of memory printing the header");
    size_t jl = strlen(json), padded = (jl + 7) & ~(size_t)7;
    char *header = tg_xmalloc(padded);
    memcpy(header, json, jl);
    memset(header + jl, ' ', padded - jl);
    cJSON_free(json);
    c.header = header;
    c.header_len = padded;
    tg_status st = tg_write_atomic(path, write_checkpoint, &c);
    free(header);
    free(c.ts);
    return st;
}

/* ---- reading and validating ---------------------------------------------- */

typedef struct {
    cJSON *root;
    unsigned char *buf; /* the whole file (or the first 8 + N bytes) */
    const unsigned char *data;
    uint64_t data_len;
} ckfile;

static void ckfile_free(ckfile *f) {
    cJSON_Delete(f->root);
    free(f->buf);
    memset(f, 0, sizeof *f);
}

/* Reads path (only the header when header_only) and parses the header. */
static tg_status ckfile_read(const char *path, int header_only, ckfile *out) {
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) return tg_set_error(TG_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(f);
        return tg_set_error(TG_ERR_IO, "%s: not a regular file", path);
    }
    uint64_t size = (uint64_t)sb.st_size;
    if (size < 8) {
        fclose(f);
        return tg_set_error(TG_ERR_FORMAT,
                            "%s: file is %" PRIu64 " bytes, too short for the 8-byte header length "
                            "(truncated or not a safetensors file)",
                            path, size);
    }
    unsigned char len8[8];
    if (fread(len8, 1, 8, f) != 8) {
        fclose(f);
        return tg_set_error(TG_ERR_IO, "%s: read failed", path);
    }
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = (n << 8) | len8[i];
    if (n > size - 8) {
        fclose(f);
        return tg_set_error(TG_ERR_FORMAT,
                            "%s: header length %" PRIu64 " bytes exceeds the %" PRIu64
                            " bytes after the length field (truncated or not a safetensors file)",
                            path, n, size - 8);
    }
    if (n < 2) {
        fclose(f);
        return tg_set_error(TG_ERR_FORMAT, "%s: header length %" PRIu64 " is too small for a JSON object", path, n);
    }
    uint64_t want = header_only ? n : size - 8;
    if (want > (uint64_t)SIZE_MAX - 1) {
        fclose(f);
        return tg_set_error(TG_ERR_NOMEM, "%s: file too large for memory", path);
    }
    unsigned char *buf = malloc((size_t)want + 1);
    if (!buf) {
        fclose(f);
        return tg_set_error(TG_ERR_NOMEM, "%s: cannot allocate %" PRIu64 " bytes", path, want);
    }
    size_t got = fread(buf, 1, (size_t)want, f);
    fclose(f);
    if (got != want) {
        free(buf);
        return tg_set_error(TG_ERR_IO, "%s: read %zu of %" PRIu64 " bytes (file changed while reading?)",
                            path, got, want);
    }
    buf[want] = '\0';
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts((const char *)buf, (size_t)n, &end, 0);
    if (!root || !cJSON_IsObject(root)) {
        size_t at = root ? 0 : (end ? (size_t)(end - (const char *)buf) : 0);
        const char *ep = cJSON_GetErrorPtr();
        if (!root && ep && ep >= (const char *)buf && ep <= (const char *)buf + n)
            at = (size_t)(ep - (const char *)buf);
        cJSON_Delete(root);
        free(buf);
        return tg_set_error(TG_ERR_FORMAT, "%s: header is not a valid JSON object (error near header byte %zu)",
                            path, at);
    }
    for (const char *p = end; p && p < (const char *)buf + n; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r' && *p != '\0') {
            size_t at = (size_t)(p - (const char *)buf);
            cJSON_Delete(root);
            free(buf);
            return tg_set_error(TG_ERR_FORMAT, "%s: unexpected bytes after the JSON header (header byte %zu)",
                                path, at);
        }
    out->root = root;
    out->buf = buf;
    out->data = buf + n;
    out->data_len = header_only ? 0 : size - 8 - n;
    return TG_OK;
}

static int dtype_size(const char *d) {
    static const struct { const char *name; int size; } tab[] = {
        {"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8}, {"I32", 4}, {"I16", 2},
        {"I8", 1},  {"U64", 8}, {"U32", 4}, {"U16", 2}, {"U8", 1},   {"BOOL", 1}, {"F8_E4M3", 1},
        {"F8_E5M2", 1},
    };
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
        if (strcmp(tab[i].name, d) == 0) return tab[i].size;
    return 0;
}

/* A non-negative integer JSON number no larger than 2^53. */
static int json_u64(const cJSON *x, uint64_t *v) {
    if (!cJSON_IsNumber(x)) return 0;
    double d = x->valuedouble;
    if (!(d >= 0.0) || d > 9007199254740992.0 || d != (double)(uint64_t)d) return 0;
    *v = (uint64_t)d;
    return 1;
}

static char *shape_str(const uint64_t *dims, int nd, char *buf, size_t len) {
    size_t k = 0;
    k += (size_t)snprintf(buf + k, len - k, "[");
    for (int i = 0; i < nd && k < len; i++)
        k += (size_t)snprintf(buf + k, len - k, "%s%" PRIu64, i ? ", " : "", dims[i]);
    if (k < len) snprintf(buf + k, len - k, "]");
    return buf;
}

/* One validated entry of the header. */
typedef struct {
    const char *name;
    uint64_t begin, end;
} entry;

static int cmp_entry(const void *a, const void *b) {
    const entry *x = a, *y = b;
    return x->begin < y->begin ? -1 : x->begin > y->begin ? 1 : (x->end > y->end) - (x->end < y->end);
}

static int find_param(const tg_params *ps, const char *name) {
    for (int i = 0; i < ps->n; i++)
        if (strcmp(ps->t[i]->name, name) == 0) return i;
    return -1;
}

/* Strict decimal int64 / uint32 from a metadata string. */
static int parse_i64(const char *s, int64_t *v) {
    if (!s || !*s) return 0;
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (errno || *end) return 0;
    *v = (int64_t)x;
    return 1;
}

static int parse_rng(const char *s, tg_rng *r) {
    if (!s) return 0;
    const char *p = s;
    for (int i = 0; i < 4; i++) {
        char *end;
        errno = 0;
        if (*p < '0' || *p > '9') return 0;
        unsigned long long x = strtoull(p, &end, 10);
        if (errno || x > 0xFFFFFFFFull) return 0;
        r->s[i] = (uint32_t)x;
        p = end;
        if (i < 3) {
            if (*p != ' ') return 0;
            p++;
        }
    }
    return *p == '\0';
}

enum { K_PARAM, K_M, K_V, K_B, N_KIND };

tg_status tg_checkpoint_load(const char *path, tg_params *ps, tg_checkpoint_extra *extra) {
    TG_CHECK(path && ps, "tg_checkpoint_load", "path and ps must not be NULL");
    tg_adam *adam = extra ? extra->adam : NULL;
    tg_sgd *sgd = extra ? extra->sgd : NULL;
    TG_CHECK(!(adam && sgd), "tg_checkpoint_load", "give at most one optimizer (adam or sgd)");
    TG_CHECK(!adam || (adam->m && adam->n == ps->total), "tg_checkpoint_load",
             "the Adam optimizer was made for %lld floats, the parameters have %lld",
             adam ? (long long)adam->n : 0LL, (long long)ps->total);
    TG_CHECK(!sgd || (sgd->decay && sgd->n == ps->total), "tg_checkpoint_load",
             "the SGD optimizer was made for %lld floats, the parameters have %lld",
             sgd ? (long long)sgd->n : 0LL, (long long)ps->total);
    const int ignore_unknown = extra && (extra->flags & TG_CKPT_IGNORE_UNKNOWN);
    /* which kinds of tensor this load needs */
    int need[N_KIND] = {1, adam != NULL, adam != NULL, sgd != NULL && sgd->b != NULL};
    static const char *kind_prefix[N_KIND] = {"", OPTIM_PREFIX "m.", OPTIM_PREFIX "v.",
                                              OPTIM_PREFIX "b."};

    ckfile f;
    tg_status st = ckfile_read(path, 0, &f);
    if (st != TG_OK) return st;

    /* src[k][i]: where tensor i of kind k sits in the file's data */
    const unsigned char **src = calloc((size_t)N_KIND * (size_t)(ps->n + 1), sizeof *src);
    int n_items = cJSON_GetArraySize(f.root);
    entry *ents = calloc((size_t)n_items + 1, sizeof *ents);
    const cJSON *meta = NULL;
    int n_ents = 0;
    if (!src || !ents) {
        st = tg_set_error(TG_ERR_NOMEM, "%s: out of memory validating the header", path);
        goto done;
    }
    char s1[256], s2[256];
    for (const cJSON *e = f.root->child; e; e = e->next) {
        const char *name = e->string;
        if (strcmp(name, "__metadata__") == 0) {
            if (meta || !cJSON_IsObject(e)) {
                st = tg_set_error(TG_ERR_FORMAT, "%s: \"__metadata__\" must be one object of strings", path);
                goto done;
            }
            for (const cJSON *m = e->child; m; m = m->next)
                if (!cJSON_IsString(m)) {
                    st = tg_set_error(TG_ERR_FORMAT, "%s: metadata '%s' is not a string", path, m->string);
                    goto done;
                }
            meta = e;
            continue;
        }
        /* which tensor of ours is this? */
        int kind = -1, idx = -1;
        if (strncmp(name, OPTIM_PREFIX, strlen(OPTIM_PREFIX)) == 0) {
            for (int k = K_M; k < N_KIND; k++)
                if (strncmp(name, kind_prefix[k], strlen(kind_prefix[k])) == 0) {
                    kind = k;
                    idx = find_param(ps, name + strlen(kind_prefix[k]));
                }
            if (kind < 0 || !need[kind] || idx < 0) kind = -2; /* optimizer state we do not want */
        } else {
            idx = find_param(ps, name);
            kind = idx >= 0 ? K_PARAM : -1;
        }
        if (kind == -1 && !ignore_unknown) {
            st = tg_set_error(TG_ERR_FORMAT,
                              "%s: tensor '%s' is not a parameter of the model (use "
                              "TG_CKPT_IGNORE_UNKNOWN to skip it)",
                              path, name);
            goto done;
        }
        const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
        const cJSON *sh = cJSON_GetObjectItemCaseSensitive(e, "shape");
        const cJSON *of = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
        if (!cJSON_IsObject(e) || !cJSON_IsString(dt) || !cJSON_IsArray(sh) || !cJSON_IsArray(of) ||
            cJSON_GetArraySize(of) != 2) {
            st = tg_set_error(TG_ERR_FORMAT,
                              "%s: tensor '%s': expected {\"dtype\": string, \"shape\": [dims], "
                              "\"data_offsets\": [begin, end]}",
                              path, name);
            goto done;
        }
        int nd = cJSON_GetArraySize(sh);
        uint64_t dims[MAX_FILE_DIMS], numel = 1;
        if (nd > MAX_FILE_DIMS) {
            st = tg_set_error(TG_ERR_FORMAT, "%s: tensor '%s': %d dimensions, at most %d supported",
                              path, name, nd, MAX_FILE_DIMS);
            goto done;
        }
        int d = 0;
        for (const cJSON *x = sh->child; x; x = x->next, d++) {
            if (!json_u64(x, &dims[d]) || (dims[d] && numel > (UINT64_C(1) << 53) / dims[d])) {
                st = tg_set_error(TG_ERR_FORMAT, "%s: tensor '%s': shape entries must be non-negative integers",
                                  path, name);
                goto done;
            }
            numel *= dims[d];
        }
        uint64_t begin, end;
        if (!json_u64(of->child, &begin) || !json_u64(of->child->next, &end)) {
            st = tg_set_error(TG_ERR_FORMAT, "%s: tensor '%s': data_offsets must be non-negative integers",
                              path, name);
            goto done;
        }
        if (kind >= 0) {
            /* one of ours: F32, the model's shape */
            if (strcmp(dt->valuestring, "F32") != 0) {
                st = tg_set_error(TG_ERR_FORMAT, "%s: tensor '%s': dtype %s in file, F32 expected",
                                  path, name, dt->valuestring);
                goto done;
            }
            const tg_tensor *t = ps->t[idx];
            int same = nd == t->ndim;
            for (int i = 0; same && i < nd; i++) same = dims[i] == (uint64_t)t->shape[i];
            if (!same) {
                st = tg_set_error(TG_ERR_SHAPE, "%s: tensor '%s': shape %s in file, %s in model", path,
                                  name, shape_str(dims, nd, s1, sizeof s1), tg_shape_str(t, s2, sizeof s2));
                goto done;
            }
            if (src[kind * (ps->n + 1) + idx]) {
                st = tg_set_error(TG_ERR_FORMAT, "%s: tensor '%s' appears twice in the header", path, name);
                goto done;
            }
        }
        if (end < begin || end > f.data_len) {
            st = tg_set_error(TG_ERR_FORMAT,
                              "%s: tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64
                              "] out of range (the data section is %" PRIu64 " bytes; truncated file?)",
                              path, name, begin, end, f.data_len);
            goto done;
        }
        int ds = dtype_size(dt->valuestring);
        if (ds && end - begin != numel * (uint64_t)ds) {
            st = tg_set_error(TG_ERR_FORMAT,
                              "%s: tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64 "] hold %" PRIu64
                              " bytes, shape %s of %s needs %" PRIu64,
                              path, name, begin, end, end - begin, shape_str(dims, nd, s1, sizeof s1),
                              dt->valuestring, numel * (uint64_t)ds);
            goto done;
        }
        ents[n_ents++] = (entry){name, begin, end};
        if (kind >= 0) src[kind * (ps->n + 1) + idx] = f.data + begin;
    }
    /* no two tensors share bytes */
    qsort(ents, (size_t)n_ents, sizeof *ents, cmp_entry);
    const entry *reach = NULL; /* the non-empty entry reaching furthest so far */
    for (int i = 0; i < n_ents; i++) {
        if (ents[i].end == ents[i].begin) continue; /* empty tensors hold no bytes */
        if (reach && ents[i].begin < reach->end) {
            st = tg_set_error(TG_ERR_FORMAT,
                              "%s: tensors '%s' and '%s' overlap (bytes [%" PRIu64 ", %" PRIu64
                              ") and [%" PRIu64 ", %" PRIu64 "))",
                              path, reach->name, ents[i].name, reach->begin, reach->end,
                              ents[i].begin, ents[i].end);
            goto done;
        }
        if (!reach || ents[i].end > reach->end) reach = &ents[i];
    }
    /* everything the model and the optimizer need is there */
    for (int k = 0; k < N_KIND; k++)
        for (int i = 0; need[k] && i < ps->n; i++)
            if (!src[k * (ps->n + 1) + i]) {
                st = tg_set_error(TG_ERR_NOT_FOUND, "%s: tensor '%s%s' missing (the %s has it, the file does not)",
                                  path, kind_prefix[k], ps->t[i]->name, k == K_PARAM ? "model" : "optimizer");
                goto done;
            }
    /* reserved metadata */
    int64_t step = 0, epoch = 0, opt_t = 0;
    tg_rng rngs[TG_CKPT_MAX_RNG];
    if (extra) {
        const cJSON *x;
        const char *keys[2] = {RESERVED "step", RESERVED "epoch"};
        int64_t *vals[2] = {&step, &epoch};
        for (int i = 0; i < 2; i++)
            if ((x = cJSON_GetObjectItemCaseSensitive(meta, keys[i])) && !parse_i64(x->valuestring, vals[i])) {
                st = tg_set_error(TG_ERR_FORMAT, "%s: metadata '%s' = \"%s\" is not an integer", path,
                                  keys[i], x->valuestring);
                goto done;
            }
        if (adam || sgd) {
            x = cJSON_GetObjectItemCaseSensitive(meta, RESERVED "optim.t");
            if (!x) {
                st = tg_set_error(TG_ERR_NOT_FOUND, "%s: metadata '" RESERVED "optim.t' missing (no optimizer state in the file)", path);
                goto done;
            }
            if (!parse_i64(x->valuestring, &opt_t) || opt_t < 0) {
                st = tg_set_error(TG_ERR_FORMAT, "%s: metadata '" RESERVED "optim.t' = \"%s\" is not a step count",
                                  path, x->valuestring);
                goto done;
            }
        }
        for (int r = 0; r < TG_CKPT_MAX_RNG; r++) {
            if (!extra->rng[r]) continue;
            char key[64];
            snprintf(key, sizeof key, RESERVED "rng.%d", r);
            x = cJSON_GetObjectItemCaseSensitive(meta, key);
            if (!x) {
                st = tg_set_error(TG_ERR_NOT_FOUND, "%s: metadata '%s' missing (the generator state)", path, key);
                goto done;
            }
            if (!parse_rng(x->valuestring, &rngs[r])) {
                st = tg_set_error(TG_ERR_FORMAT, "%s: metadata '%s' = \"%s\": expected 4 decimal 32-bit words",
                                  path, key, x->valuestring);
                goto done;
            }
        }
    }

    /* all checked: commit */
    for (int i = 0; i < ps->n; i++) {
        const tg_tensor *t = ps->t[i];
        memcpy(t->data, src[K_PARAM * (ps->n + 1) + i], (size_t)t->size * sizeof(float));
        if (adam) {
            memcpy(adam->m + ps->offset[i], src[K_M * (ps->n + 1) + i], (size_t)t->size * sizeof(float));
            memcpy(adam->v + ps->offset[i], src[K_V * (ps->n + 1) + i], (size_t)t->size * sizeof(float));
        }
        if (sgd && sgd->b)
            memcpy(sgd->b + ps->offset[i], src[K_B * (ps->n + 1) + i], (size_t)t->size * sizeof(float));
    }
    if (adam) adam->t = opt_t;
    if (sgd) sgd->t = opt_t;
    if (extra) {
        extra->step = step;
        extra->epoch = epoch;
        for (int r = 0; r < TG_CKPT_MAX_RNG; r++)
            if (extra->rng[r]) *extra->rng[r] = rngs[r];
        meta_clear(extra);
        for (const cJSON *m = meta ? meta->child : NULL; m; m = m->next)
            if (strncmp(m->string, RESERVED, strlen(RESERVED)) != 0) meta_put(extra, m->string, m->valuestring);
    }
    st = TG_OK;
done:
    free(src);
    free(ents);
    ckfile_free(&f);
    return st;
}

tg_status tg_checkpoint_read_metadata(const char *path, const char *key, char **value) {
    TG_CHECK(path && key && value, "tg_checkpoint_read_metadata", "arguments must not be NULL");
    *value = NULL;
    ckfile f;
    tg_status st = ckfile_read(path, 1, &f);
    if (st != TG_OK) return st;
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(f.root, "__metadata__");
    const cJSON *x = cJSON_IsObject(meta) ? cJSON_GetObjectItemCaseSensitive(meta, key) : NULL;
    if (!x) st = tg_set_error(TG_ERR_NOT_FOUND, "%s: no metadata key '%s'", path, key);
    else if (!cJSON_IsString(x)) st = tg_set_error(TG_ERR_FORMAT, "%s: metadata '%s' is not a string", path, key);
    else *value = xstrdup(x->valuestring);
    ckfile_free(&f);
    return st;
}
