/* train/checkpoint.c — safetensors checkpoints: atomic save, all-or-nothing
 * load, metadata.  Contract in train/checkpoint.h; format notes in
 * docs/checkpoints.md. */
#define _POSIX_C_SOURCE 200809L
#include "train/checkpoint.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
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

/* ---- loading: parse -> validate -> commit -----------------------------------
 *
 * ck_parse reads the file and checks everything the file says about itself
 * (header length, JSON, no duplicate keys, no NUL bytes, every entry's dtype,
 * shape and offsets, no overlap, the reserved metadata well formed).
 * ck_validate matches it against the model and the optimizer (names, shapes,
 * finite values, the optimizer kind) and produces a ck_plan: where each of
 * the model's tensors comes from and the scalars to set.  ck_commit copies
 * the plan in and cannot fail.  Nothing the caller owns is written before
 * ck_commit. */

/* The file: its bytes and its parsed header. */
typedef struct {
    cJSON *root;
    unsigned char *buf; /* the file after the length field (or only the header) */
    const unsigned char *data;
    uint64_t data_len;  /* bytes of the data section in the file (also when header-only) */
    int header_only;
} ckfile;

static void ckfile_free(ckfile *f) {
    cJSON_Delete(f->root);
    free(f->buf);
    memset(f, 0, sizeof *f);
}

/* A NUL byte, raw or escaped as \u0000, inside the JSON text [s, s + n):
 * cJSON would cut a name or value short there, so two readers could
 * disagree on what the file says.  Returns the offset or -1. */
static int64_t find_nul(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\0') return (int64_t)i;
        if (s[i] == '\\' && i + 1 < n) {
            if (s[i + 1] == 'u' && i + 5 < n && !memcmp(s + i + 2, "0000", 4)) return (int64_t)i;
            i++; /* the escaped character */
        }
    }
    return -1;
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
    int64_t nul = find_nul((const char *)buf, (size_t)(end - (const char *)buf));
    if (nul >= 0) {
        cJSON_Delete(root);
        free(buf);
        return tg_set_error(TG_ERR_FORMAT,
                            "%s: NUL byte in the header (header byte %" PRId64 "): names and metadata "
                            "values must not contain NUL",
                            path, nul);
    }
    out->root = root;
    out->buf = buf;
    out->data = buf + n;
    out->data_len = size - 8 - n;
    out->header_only = header_only;
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

/* One entry of the header, checked against itself and the file size. */
typedef struct {
    const char *name;
    const char *dtype;
    int ndim;
    uint64_t dims[MAX_FILE_DIMS];
    uint64_t begin, end;
} ck_entry;

/* The reserved metadata, parsed (has_* = the key is present). */
typedef struct {
    int64_t step, epoch, optim_t;
    int has_optim_t;
    const char *optim; /* "adam", "adamw", "sgd" or NULL */
    tg_rng rng[TG_CKPT_MAX_RNG];
    int has_rng[TG_CKPT_MAX_RNG];
} ck_reserved;

/* What the file says, model-independent. */
typedef struct {
    ckfile f;
    ck_entry *ents;
    int n_ents;
    const cJSON *meta; /* the "__metadata__" object or NULL */
    ck_reserved res;
} ck_parsed;

static void ck_parsed_free(ck_parsed *p) {
    free(p->ents);
    ckfile_free(&p->f);
    memset(p, 0, sizeof *p);
}

static int cmp_str_ptr(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The first key of obj that appears twice, or NULL.  (cJSON keeps both; a
 * lookup finds the first, another reader may take the last.) */
static const char *duplicate_key(const cJSON *obj) {
    int n = cJSON_GetArraySize(obj);
    if (n < 2) return NULL;
    const char **k = malloc((size_t)n * sizeof *k);
    TG_CHECK(k, "tg_checkpoint_load", "out of memory checking the header keys");
    int i = 0;
    for (const cJSON *e = obj->child; e; e = e->next) k[i++] = e->string;
    qsort(k, (size_t)n, sizeof *k, cmp_str_ptr);
    const char *dup = NULL;
    for (i = 1; i < n && !dup; i++)
        if (strcmp(k[i - 1], k[i]) == 0) dup = k[i];
    free(k);
    return dup;
}

static int cmp_entry(const void *a, const void *b) {
    const ck_entry *x = a, *y = b;
    return x->begin < y->begin ? -1 : x->begin > y->begin ? 1 : (x->end > y->end) - (x->end < y->end);
}

/* One tensor entry e (key name) into *out. */
static tg_status parse_entry(const char *path, const cJSON *e, uint64_t data_len, ck_entry *out) {
    const char *name = e->string;
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(e, "shape");
    const cJSON *of = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
    if (!cJSON_IsObject(e) || !cJSON_IsString(dt) || !cJSON_IsArray(sh) || !cJSON_IsArray(of) ||
        cJSON_GetArraySize(of) != 2)
        return tg_set_error(TG_ERR_FORMAT,
                            "%s: tensor '%s': expected {\"dtype\": string, \"shape\": [dims], "
                            "\"data_offsets\": [begin, end]}",
                            path, name);
    const char *dup = duplicate_key(e);
    if (dup) return tg_set_error(TG_ERR_FORMAT, "%s: tensor '%s': key '%s' appears twice", path, name, dup);
    int nd = cJSON_GetArraySize(sh);
    if (nd > MAX_FILE_DIMS)
        return tg_set_error(TG_ERR_FORMAT, "%s: tensor '%s': %d dimensions, at most %d supported", path,
                            name, nd, MAX_FILE_DIMS);
    uint64_t numel = 1;
    int d = 0;
    for (const cJSON *x = sh->child; x; x = x->next, d++) {
        if (!json_u64(x, &out->dims[d]) || (out->dims[d] && numel > (UINT64_C(1) << 53) / out->dims[d]))
            return tg_set_error(TG_ERR_FORMAT, "%s: tensor '%s': shape entries must be non-negative integers",
                                path, name);
        numel *= out->dims[d];
    }
    uint64_t begin, end;
    if (!json_u64(of->child, &begin) || !json_u64(of->child->next, &end))
        return tg_set_error(TG_ERR_FORMAT, "%s: tensor '%s': data_offsets must be non-negative integers",
                            path, name);
    if (end < begin || end > data_len)
        return tg_set_error(TG_ERR_FORMAT,
                            "%s: tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64
                            "] out of range (the data section is %" PRIu64 " bytes; truncated file?)",
                            path, name, begin, end, data_len);
    int ds = dtype_size(dt->valuestring);
    if (ds && end - begin != numel * (uint64_t)ds) {
        char s1[256];
        return tg_set_error(TG_ERR_FORMAT,
                            "%s: tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64 "] hold %" PRIu64
                            " bytes, shape %s of %s needs %" PRIu64,
                            path, name, begin, end, end - begin, shape_str(out->dims, nd, s1, sizeof s1),
                            dt->valuestring, numel * (uint64_t)ds);
    }
    out->name = name;
    out->dtype = dt->valuestring;
    out->ndim = nd;
    out->begin = begin;
    out->end = end;
    return TG_OK;
}

/* The "tapegrad.*" keys of the metadata object into *r. */
static tg_status parse_reserved(const char *path, const cJSON *meta, ck_reserved *r) {
    memset(r, 0, sizeof *r);
    const cJSON *x;
    const char *keys[3] = {RESERVED "step", RESERVED "epoch", RESERVED "optim.t"};
    int64_t *vals[3] = {&r->step, &r->epoch, &r->optim_t};
    for (int i = 0; i < 3; i++) {
        if (!(x = cJSON_GetObjectItemCaseSensitive(meta, keys[i]))) continue;
        if (!parse_i64(x->valuestring, vals[i]))
            return tg_set_error(TG_ERR_FORMAT, "%s: metadata '%s' = \"%s\" is not an integer", path, keys[i],
                                x->valuestring);
        if (*vals[i] < 0)
            return tg_set_error(TG_ERR_FORMAT, "%s: metadata '%s' = \"%s\": expected a count >= 0", path,
                                keys[i], x->valuestring);
        if (i == 2) r->has_optim_t = 1;
    }
    if ((x = cJSON_GetObjectItemCaseSensitive(meta, RESERVED "optim"))) {
        const char *o = x->valuestring;
        if (strcmp(o, "adam") && strcmp(o, "adamw") && strcmp(o, "sgd"))
            return tg_set_error(TG_ERR_FORMAT, "%s: metadata '" RESERVED "optim' = \"%s\": expected adam, adamw or sgd",
                                path, o);
        r->optim = o;
    }
    for (int i = 0; i < TG_CKPT_MAX_RNG; i++) {
        char key[64];
        snprintf(key, sizeof key, RESERVED "rng.%d", i);
        if (!(x = cJSON_GetObjectItemCaseSensitive(meta, key))) continue;
        if (!parse_rng(x->valuestring, &r->rng[i]))
            return tg_set_error(TG_ERR_FORMAT, "%s: metadata '%s' = \"%s\": expected 4 decimal 32-bit words",
                                path, key, x->valuestring);
        const uint32_t *s = r->rng[i].s;
        if (!(s[0] | s[1] | s[2] | s[3]))
            return tg_set_error(TG_ERR_FORMAT,
                                "%s: metadata '%s' = \"0 0 0 0\": the all-zero state is the generator's fixed "
                                "point (it would only ever give 0)",
                                path, key);
        r->has_rng[i] = 1;
    }
    return TG_OK;
}

/* Parse: the file read and checked against itself (see above). */
static tg_status ck_parse(const char *path, int header_only, ck_parsed *out) {
    memset(out, 0, sizeof *out);
    tg_status st = ckfile_read(path, header_only, &out->f);
    if (st != TG_OK) return st;
    const cJSON *root = out->f.root;
    const char *dup = duplicate_key(root);
    if (dup) {
        st = strcmp(dup, "__metadata__") == 0
                 ? tg_set_error(TG_ERR_FORMAT, "%s: \"__metadata__\" must be one object of strings (it appears twice)", path)
                 : tg_set_error(TG_ERR_FORMAT, "%s: tensor '%s' appears twice in the header", path, dup);
        goto fail;
    }
    out->ents = calloc((size_t)cJSON_GetArraySize(root) + 1, sizeof *out->ents);
    if (!out->ents) {
        st = tg_set_error(TG_ERR_NOMEM, "%s: out of memory reading the header", path);
        goto fail;
    }
    for (const cJSON *e = root->child; e; e = e->next) {
        if (strcmp(e->string, "__metadata__") == 0) {
            if (!cJSON_IsObject(e)) {
                st = tg_set_error(TG_ERR_FORMAT, "%s: \"__metadata__\" must be one object of strings", path);
                goto fail;
            }
            for (const cJSON *m = e->child; m; m = m->next)
                if (!cJSON_IsString(m)) {
                    st = tg_set_error(TG_ERR_FORMAT, "%s: metadata '%s' is not a string", path, m->string);
                    goto fail;
                }
            if ((dup = duplicate_key(e))) {
                st = tg_set_error(TG_ERR_FORMAT, "%s: metadata key '%s' appears twice", path, dup);
                goto fail;
            }
            out->meta = e;
            continue;
        }
        if ((st = parse_entry(path, e, out->f.data_len, &out->ents[out->n_ents])) != TG_OK) goto fail;
        out->n_ents++;
    }
    /* no two tensors share bytes (sorted by offset; the file order is kept in the JSON) */
    ck_entry *by_off = malloc(((size_t)out->n_ents + 1) * sizeof *by_off);
    if (!by_off) {
        st = tg_set_error(TG_ERR_NOMEM, "%s: out of memory reading the header", path);
        goto fail;
    }
    memcpy(by_off, out->ents, (size_t)out->n_ents * sizeof *by_off);
    qsort(by_off, (size_t)out->n_ents, sizeof *by_off, cmp_entry);
    const ck_entry *reach = NULL; /* the non-empty entry reaching furthest so far */
    for (int i = 0; i < out->n_ents && st == TG_OK; i++) {
        if (by_off[i].end == by_off[i].begin) continue; /* empty tensors hold no bytes */
        if (reach && by_off[i].begin < reach->end)
            st = tg_set_error(TG_ERR_FORMAT,
                              "%s: tensors '%s' and '%s' overlap (bytes [%" PRIu64 ", %" PRIu64
                              ") and [%" PRIu64 ", %" PRIu64 "))",
                              path, reach->name, by_off[i].name, reach->begin, reach->end,
                              by_off[i].begin, by_off[i].end);
        if (!reach || by_off[i].end > reach->end) reach = &by_off[i];
    }
    free(by_off);
    if (st != TG_OK) goto fail;
    if ((st = parse_reserved(path, out->meta, &out->res)) != TG_OK) goto fail;
    return TG_OK;
fail:
    ck_parsed_free(out);
    return st;
}

enum { K_PARAM, K_M, K_V, K_B, N_KIND };
static const char *const kind_prefix[N_KIND] = {"", OPTIM_PREFIX "m.", OPTIM_PREFIX "v.", OPTIM_PREFIX "b."};

/* What a load will write: src[k * n + i] is where tensor i of kind k
 * starts in the file's data (unaligned bytes), plus the scalars. */
typedef struct {
    int n;
    const unsigned char **src;
    ck_reserved res;
} ck_plan;

static int find_param(const tg_params *ps, const char *name) {
    for (int i = 0; i < ps->n; i++)
        if (strcmp(ps->t[i]->name, name) == 0) return i;
    return -1;
}

/* The first non-finite float of the n at p (or, with nonneg, the first
 * negative one), or -1. */
static int64_t first_bad_float(const unsigned char *p, int64_t n, int nonneg) {
    for (int64_t i = 0; i < n; i++) {
        float x;
        memcpy(&x, p + 4 * i, 4);
        if (!isfinite(x) || (nonneg && x < 0)) return i;
    }
    return -1;
}

/* Validate: the parsed file against the model and what extra asks for. */
static tg_status ck_validate(const char *path, const ck_parsed *pf, const tg_params *ps,
                             const tg_checkpoint_extra *extra, ck_plan *plan) {
    const tg_adam *adam = extra ? extra->adam : NULL;
    const tg_sgd *sgd = extra ? extra->sgd : NULL;
    const int ignore_unknown = extra && (extra->flags & TG_CKPT_IGNORE_UNKNOWN);
    const int need[N_KIND] = {1, adam != NULL, adam != NULL, sgd != NULL && sgd->b != NULL};
    const int n = ps->n;
    plan->n = n;
    plan->res = pf->res;
    plan->src = calloc((size_t)N_KIND * (size_t)(n + 1), sizeof *plan->src);
    if (!plan->src) return tg_set_error(TG_ERR_NOMEM, "%s: out of memory validating the header", path);
    char s1[256], s2[256];
    for (int j = 0; j < pf->n_ents; j++) {
        const ck_entry *e = &pf->ents[j];
        /* which tensor of ours is this? */
        int kind = -1, idx = -1;
        if (strncmp(e->name, OPTIM_PREFIX, strlen(OPTIM_PREFIX)) == 0) {
            for (int k = K_M; k < N_KIND; k++)
                if (strncmp(e->name, kind_prefix[k], strlen(kind_prefix[k])) == 0) {
                    kind = k;
                    idx = find_param(ps, e->name + strlen(kind_prefix[k]));
                }
            if (kind >= 0 && idx < 0 && !ignore_unknown)
                return tg_set_error(TG_ERR_FORMAT,
                                    "%s: tensor '%s' is optimizer state for '%s', which is not a parameter of "
                                    "the model (use TG_CKPT_IGNORE_UNKNOWN to skip it)",
                                    path, e->name, e->name + strlen(kind_prefix[kind]));
            if (kind < 0 && !ignore_unknown)
                return tg_set_error(TG_ERR_FORMAT,
                                    "%s: tensor '%s': unknown optimizer state (expected " OPTIM_PREFIX
                                    "m., v. or b. followed by a parameter name)",
                                    path, e->name);
            if (kind < 0 || idx < 0 || !need[kind]) continue; /* optimizer state this load does not want */
        } else {
            idx = find_param(ps, e->name);
            if (idx < 0) {
                if (ignore_unknown) continue;
                return tg_set_error(TG_ERR_FORMAT,
                                    "%s: tensor '%s' is not a parameter of the model (use "
                                    "TG_CKPT_IGNORE_UNKNOWN to skip it)",
                                    path, e->name);
            }
            kind = K_PARAM;
        }
        /* one of ours: F32, the model's shape, finite */
        if (strcmp(e->dtype, "F32") != 0)
            return tg_set_error(TG_ERR_FORMAT, "%s: tensor '%s': dtype %s in file, F32 expected", path, e->name,
                                e->dtype);
        const tg_tensor *t = ps->t[idx];
        int same = e->ndim == t->ndim;
        for (int i = 0; same && i < e->ndim; i++) same = e->dims[i] == (uint64_t)t->shape[i];
        if (!same)
            return tg_set_error(TG_ERR_SHAPE, "%s: tensor '%s': shape %s in file, %s in model", path, e->name,
                                shape_str(e->dims, e->ndim, s1, sizeof s1), tg_shape_str(t, s2, sizeof s2));
        int64_t bad = first_bad_float(pf->f.data + e->begin, t->size, kind == K_V);
        if (bad >= 0) {
            float x;
            memcpy(&x, pf->f.data + e->begin + 4 * bad, 4);
            return tg_set_error(TG_ERR_NONFINITE, "%s: tensor '%s': element %" PRId64 " is %g (expected %s)",
                                path, e->name, bad, (double)x,
                                kind == K_V ? "a finite second moment >= 0" : "a finite value");
        }
        plan->src[kind * (n + 1) + idx] = pf->f.data + e->begin;
    }
    /* everything the model and the optimizer need is there */
    for (int k = 0; k < N_KIND; k++)
        for (int i = 0; need[k] && i < n; i++)
            if (!plan->src[k * (n + 1) + i])
                return tg_set_error(TG_ERR_NOT_FOUND, "%s: tensor '%s%s' missing (the %s has it, the file does not)",
                                    path, kind_prefix[k], ps->t[i]->name, k == K_PARAM ? "model" : "optimizer");
    /* the optimizer state is for this kind of optimizer */
    if (adam || sgd) {
        const char *want = sgd ? "sgd" : adam->decoupled ? "adamw" : "adam";
        if (!pf->res.has_optim_t)
            return tg_set_error(TG_ERR_NOT_FOUND, "%s: metadata '" RESERVED "optim.t' missing (no optimizer state in the file)", path);
        if (pf->res.optim && strcmp(pf->res.optim, want) != 0)
            return tg_set_error(TG_ERR_FORMAT,
                                "%s: metadata '" RESERVED "optim' = \"%s\": the file holds %s state, the "
                                "optimizer given is %s",
                                path, pf->res.optim, pf->res.optim, want);
    }
    for (int r = 0; extra && r < TG_CKPT_MAX_RNG; r++)
        if (extra->rng[r] && !pf->res.has_rng[r])
            return tg_set_error(TG_ERR_NOT_FOUND, "%s: metadata '" RESERVED "rng.%d' missing (the generator state)",
                                path, r);
    return TG_OK;
}

/* Commit: the plan into the model, the optimizer and extra.  Cannot fail. */
static void ck_commit(const ck_plan *plan, const cJSON *meta, tg_params *ps, tg_checkpoint_extra *extra) {
    tg_adam *adam = extra ? extra->adam : NULL;
    tg_sgd *sgd = extra ? extra->sgd : NULL;
    const int n = plan->n;
    for (int i = 0; i < n; i++) {
        const tg_tensor *t = ps->t[i];
        size_t bytes = (size_t)t->size * sizeof(float);
        memcpy(t->data, plan->src[K_PARAM * (n + 1) + i], bytes);
        if (adam) {
            memcpy(adam->m + ps->offset[i], plan->src[K_M * (n + 1) + i], bytes);
            memcpy(adam->v + ps->offset[i], plan->src[K_V * (n + 1) + i], bytes);
        }
        if (sgd && sgd->b) memcpy(sgd->b + ps->offset[i], plan->src[K_B * (n + 1) + i], bytes);
    }
    if (adam) adam->t = plan->res.optim_t;
    if (sgd) sgd->t = plan->res.optim_t;
    if (!extra) return;
    extra->step = plan->res.step;
    extra->epoch = plan->res.epoch;
    for (int r = 0; r < TG_CKPT_MAX_RNG; r++)
        if (extra->rng[r]) *extra->rng[r] = plan->res.rng[r];
    meta_clear(extra);
    for (const cJSON *m = meta ? meta->child : NULL; m; m = m->next)
        if (strncmp(m->string, RESERVED, strlen(RESERVED)) != 0) meta_put(extra, m->string, m->valuestring);
}

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
    ck_parsed pf;
    tg_status st = ck_parse(path, 0, &pf);
    if (st != TG_OK) return st;
    ck_plan plan = {0};
    st = ck_validate(path, &pf, ps, extra, &plan);
    if (st == TG_OK) ck_commit(&plan, pf.meta, ps, extra);
    free(plan.src);
    ck_parsed_free(&pf);
    return st;
}

tg_status tg_checkpoint_read_metadata(const char *path, const char *key, char **value) {
    TG_CHECK(path && key && value, "tg_checkpoint_read_metadata", "arguments must not be NULL");
    *value = NULL;
    ck_parsed pf;
    tg_status st = ck_parse(path, 1, &pf);
    if (st != TG_OK) return st;
    const cJSON *x = pf.meta ? cJSON_GetObjectItemCaseSensitive(pf.meta, key) : NULL;
    if (!x) st = tg_set_error(TG_ERR_NOT_FOUND, "%s: no metadata key '%s'", path, key);
    else *value = xstrdup(x->valuestring);
    ck_parsed_free(&pf);
    return st;
}

tg_status tg_checkpoint_expect_shapes(const char *path, int n, const tg_ckpt_shape *want) {
    TG_CHECK(path && (want || n == 0) && n >= 0, "tg_checkpoint_expect_shapes", "need path and n >= 0 shapes");
    ck_parsed pf;
    tg_status st = ck_parse(path, 1, &pf);
    if (st != TG_OK) return st;
    char s1[256], s2[256];
    for (int k = 0; k < n && st == TG_OK; k++) {
        const tg_ckpt_shape *w = &want[k];
        TG_CHECK(w->ndim >= 1 && w->ndim <= MAX_FILE_DIMS, "tg_checkpoint_expect_shapes",
                 "'%s': ndim must be in 1..%d, got %d", w->name, MAX_FILE_DIMS, w->ndim);
        const ck_entry *e = NULL;
        for (int j = 0; j < pf.n_ents && !e; j++)
            if (strcmp(pf.ents[j].name, w->name) == 0) e = &pf.ents[j];
        int same = e && e->ndim == w->ndim && strcmp(e->dtype, "F32") == 0;
        for (int i = 0; same && i < w->ndim; i++) same = w->shape[i] >= 0 && e->dims[i] == (uint64_t)w->shape[i];
        if (!e) {
            st = tg_set_error(TG_ERR_NOT_FOUND, "%s: tensor '%s' missing (the metadata's configuration has it)",
                              path, w->name);
        } else if (!same) {
            size_t k2 = (size_t)snprintf(s2, sizeof s2, "[");
            for (int i = 0; i < w->ndim && k2 < sizeof s2; i++)
                k2 += (size_t)snprintf(s2 + k2, sizeof s2 - k2, "%s%d", i ? ", " : "", w->shape[i]);
            if (k2 < sizeof s2) snprintf(s2 + k2, sizeof s2 - k2, "]");
            st = tg_set_error(TG_ERR_SHAPE,
                              "%s: tensor '%s': %s %s in file, the metadata's configuration gives F32 %s", path,
                              w->name, e->dtype, shape_str(e->dims, e->ndim, s1, sizeof s1), s2);
        }
    }
    ck_parsed_free(&pf);
    return st;
}

tg_status tg_checkpoint_read_vocab(const char *path, const char *key, tg_vocab_kind kind, int32_t size,
                                   tg_vocab *v) {
    char *s = NULL, name[4200];
    tg_status st = tg_checkpoint_read_metadata(path, key, &s);
    snprintf(name, sizeof name, "%s: metadata %s", path, key);
    if (st == TG_OK) st = tg_vocab_from_string_expect(name, s, kind, size, v);
    free(s);
    return st;
}
