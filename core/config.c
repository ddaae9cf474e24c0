/* core/config.c — see core/config.h. */
#include "core/config.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FIELDS 64

static void check_schema(const tg_config_schema *s, const char *op) {
    TG_CHECK(s && s->fields && s->n_fields >= 1 && s->n_fields <= MAX_FIELDS, op,
             "a schema of 1..%d fields expected", MAX_FIELDS);
    for (int i = 0; i < s->n_fields; i++)
        TG_CHECK(s->fields[i].offset + (s->fields[i].type == TG_CONFIG_TYPE_FLOAT ? sizeof(float) : sizeof(int)) <=
                     s->size,
                 op, "field '%s' lies outside the %zu-byte struct", s->fields[i].name, s->size);
}

/* The value of field f of the struct at p, as a double (an enum: its index). */
static double get(const tg_config_field *f, const void *p) {
    const char *q = (const char *)p + f->offset;
    return f->type == TG_CONFIG_TYPE_FLOAT ? (double)*(const float *)q : (double)*(const int *)q;
}

static void set(const tg_config_field *f, void *p, double x) {
    char *q = (char *)p + f->offset;
    if (f->type == TG_CONFIG_TYPE_FLOAT) *(float *)q = (float)x;
    else *(int *)q = (int)x;
}

/* 1 when x is a value field f may hold (an int: integral and in lo..hi). */
static int in_bounds(const tg_config_field *f, double x) {
    switch (f->type) {
    case TG_CONFIG_TYPE_INT:
        return x == floor(x) && x >= f->lo && x <= f->hi && x >= INT_MIN && x <= INT_MAX;
    case TG_CONFIG_TYPE_FLOAT: {
        double y = isfinite(x) ? (double)(float)x : x; /* as stored: 0.99999999 is 1.0f */
        return isfinite(y) && ((f->open & TG_CONFIG_LO_OPEN) ? y > f->lo : y >= f->lo) &&
               ((f->open & TG_CONFIG_HI_OPEN) ? y < f->hi : y <= f->hi);
    }
    case TG_CONFIG_TYPE_ENUM:
        return x == floor(x) && x >= 0 && x < f->n_names;
    }
    return 0;
}

/* What field f accepts, for messages: "an integer in 1..8", "an integer >= 1",
 * "a number in [0, 1)", "a number > 0", "one of cls, mean". */
static const char *expected(const tg_config_field *f, char *buf, size_t len) {
    if (f->type == TG_CONFIG_TYPE_INT) {
        if (f->hi >= INT_MAX) snprintf(buf, len, "an integer >= %.15g", f->lo);
        else snprintf(buf, len, "an integer in %.15g..%.15g", f->lo, f->hi);
    } else if (f->type == TG_CONFIG_TYPE_FLOAT) {
        if (isinf(f->hi))
            snprintf(buf, len, "a finite number %s %.9g", (f->open & TG_CONFIG_LO_OPEN) ? ">" : ">=", f->lo);
        else
            snprintf(buf, len, "a number in %c%.9g, %.9g%c", (f->open & TG_CONFIG_LO_OPEN) ? '(' : '[', f->lo, f->hi,
                     (f->open & TG_CONFIG_HI_OPEN) ? ')' : ']');
    } else {
        size_t used = (size_t)snprintf(buf, len, "one of ");
        for (int i = 0; i < f->n_names && used < len; i++)
            used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "", f->names[i]);
    }
    return buf;
}

static tg_status bad_value(tg_status st, const char *what, const tg_config_field *f, const char *found) {
    char e[256];
    return tg_set_error(st, "%s: %s: expected %s, found %s", what, f->name, expected(f, e, sizeof e), found);
}

/* Bounds of every field, then the schema's check; errors carry st. */
static tg_status check_all(const tg_config_schema *s, const void *cfg, const char *what, tg_status st) {
    for (int i = 0; i < s->n_fields; i++) {
        const tg_config_field *f = &s->fields[i];
        double x = get(f, cfg);
        if (!in_bounds(f, x)) {
            char found[64];
            snprintf(found, sizeof found, "%.9g", x);
            return bad_value(st, what, f, found);
        }
    }
    if (s->check && s->check(cfg, what) != TG_OK) {
        if (st == TG_ERR_ARG) return TG_ERR_ARG;
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", tg_last_error());
        return tg_set_error(st, "%s", msg);
    }
    return TG_OK;
}

tg_status tg_config_check(const tg_config_schema *s, const void *cfg, const char *what) {
    check_schema(s, "tg_config_check");
    TG_CHECK(cfg != NULL, "tg_config_check", "cfg is NULL");
    return check_all(s, cfg, what ? what : "config", TG_ERR_ARG);
}

/* ---- writing -------------------------------------------------------------- */

/* The shortest %.{6..9}g of x that reads back as the same float. */
static void float_text(float x, char *buf, size_t len) {
    for (int p = 6; p <= 9; p++) {
        snprintf(buf, len, "%.*g", p, (double)x);
        if (strtof(buf, NULL) == x) return;
    }
}

int tg_config_format(const tg_config_schema *s, const void *cfg, char *buf, size_t len) {
    check_schema(s, "tg_config_format");
    TG_CHECK(cfg && (buf || len == 0), "tg_config_format", "cfg or buf is NULL");
    size_t used = 0;
    if (len) buf[0] = 0;
    for (int i = 0; i <= s->n_fields; i++) {
        char v[64];
        const char *open = i ? "," : "{";
        if (i == s->n_fields) {
            snprintf(v, sizeof v, "}");
        } else {
            const tg_config_field *f = &s->fields[i];
            double x = get(f, cfg);
            if (f->type == TG_CONFIG_TYPE_INT) {
                snprintf(v, sizeof v, "%d", (int)x);
            } else if (f->type == TG_CONFIG_TYPE_FLOAT) {
                TG_CHECK(isfinite(x), "tg_config_format", "field '%s' is %g (JSON holds finite numbers)", f->name, x);
                float_text((float)x, v, sizeof v);
            } else {
                TG_CHECK(x >= 0 && x < f->n_names, "tg_config_format", "field '%s' = %d has no name", f->name, (int)x);
                snprintf(v, sizeof v, "\"%s\"", f->names[(int)x]);
            }
        }
        char *dst = used < len ? buf + used : NULL;
        size_t room = used < len ? len - used : 0;
        used += (size_t)(i == s->n_fields ? snprintf(dst, room, "%s", v)
                                          : snprintf(dst, room, "%s\"%s\":%s", open, s->fields[i].name, v));
    }
    return (int)used;
}

char *tg_config_to_string(const tg_config_schema *s, const void *cfg) {
    int n = tg_config_format(s, cfg, NULL, 0);
    char *t = tg_xmalloc((size_t)n + 1);
    tg_config_format(s, cfg, t, (size_t)n + 1);
    return t;
}

/* ---- parsing --------------------------------------------------------------- */

static int field_index(const tg_config_schema *s, const char *key, size_t klen) {
    for (int i = 0; i < s->n_fields; i++)
        if (strlen(s->fields[i].name) == klen && !memcmp(s->fields[i].name, key, klen)) return i;
    return -1;
}

static tg_status unknown_key(const tg_config_schema *s, const char *what, const char *key, size_t klen) {
    char keys[512];
    size_t used = 0;
    keys[0] = 0;
    for (int i = 0; i < s->n_fields && used < sizeof keys; i++)
        used += (size_t)snprintf(keys + used, sizeof keys - used, "%s%s", i ? ", " : "", s->fields[i].name);
    return tg_set_error(TG_ERR_FORMAT, "%s: unknown key '%.*s' (expected the keys %s)", what,
                        (int)(klen > 64 ? 64 : klen), key, keys);
}

/* Field f of tmp from a number x (num = 1) or a string str (num = 0, an enum
 * name); `found` is how the value was written, for the message. */
static tg_status take(const tg_config_field *f, int num, double x, const char *str, size_t slen,
                      const char *found, const char *what, void *tmp) {
    if (f->type == TG_CONFIG_TYPE_ENUM) {
        for (int i = 0; num == 0 && i < f->n_names; i++)
            if (strlen(f->names[i]) == slen && !memcmp(f->names[i], str, slen)) {
                set(f, tmp, i);
                return TG_OK;
            }
        return bad_value(TG_ERR_FORMAT, what, f, found);
    }
    if (!num || !in_bounds(f, x)) return bad_value(TG_ERR_FORMAT, what, f, found);
    set(f, tmp, x);
    return TG_OK;
}

/* How a JSON value was written, for messages. */
static void json_found(const cJSON *v, char *buf, size_t len) {
    if (cJSON_IsNumber(v)) snprintf(buf, len, "%.15g", v->valuedouble);
    else if (cJSON_IsString(v)) snprintf(buf, len, "\"%.40s\"", v->valuestring);
    else snprintf(buf, len, "%s", cJSON_IsObject(v) ? "an object" : cJSON_IsArray(v) ? "an array"
                                  : cJSON_IsBool(v) ? "a boolean" : "null");
}

/* 1 if a JSON string in text holds the escape \u0000: cJSON would decode it
 * into a NUL that ends the C string early ("cls\u0000x" read as "cls"). */
static int has_nul_escape(const char *text) {
    for (const char *p = text; *p; p++) {
        if (*p != '\\') continue;
        if (p[1] == 'u' && p[2] == '0' && p[3] == '0' && p[4] == '0' && p[5] == '0') return 1;
        if (p[1]) p++; /* skip the escaped character (\\, \", ...) */
    }
    return 0;
}

static tg_status parse_json(const tg_config_schema *s, const char *text, const char *what, void *tmp, int *seen) {
    if (has_nul_escape(text)) return tg_set_error(TG_ERR_FORMAT, "%s: a key or value holds a NUL (\\u0000)", what);
    cJSON *o = cJSON_ParseWithOpts(text, NULL, 1);
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return tg_set_error(TG_ERR_FORMAT, "%s: expected one JSON object {\"key\": value, ...}, found '%.60s'", what,
                            text);
    }
    tg_status st = TG_OK;
    for (const cJSON *v = o->child; v && st == TG_OK; v = v->next) {
        size_t klen = strlen(v->string);
        int i = field_index(s, v->string, klen);
        if (i < 0) st = unknown_key(s, what, v->string, klen);
        else if (seen[i]++) st = tg_set_error(TG_ERR_FORMAT, "%s: key '%s' given twice", what, v->string);
        else {
            char found[64];
            json_found(v, found, sizeof found);
            const char *str = cJSON_IsString(v) ? v->valuestring : "";
            st = take(&s->fields[i], cJSON_IsNumber(v), v->valuedouble, str, strlen(str), found, what, tmp);
        }
    }
    cJSON_Delete(o);
    return st;
}

static int is_blank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* The line "key=value key=value ..." of checkpoints written before the JSON
 * form: ints as decimal digits, floats as strtof reads them, enums by name. */
static tg_status parse_line(const tg_config_schema *s, const char *text, const char *what, void *tmp, int *seen) {
    for (const char *p = text;;) {
        while (is_blank(*p)) p++;
        if (!*p) return TG_OK;
        const char *tok = p;
        while (*p && !is_blank(*p)) p++;
        size_t tlen = (size_t)(p - tok);
        const char *eq = memchr(tok, '=', tlen);
        if (!eq)
            return tg_set_error(TG_ERR_FORMAT, "%s: expected key=value, found '%.*s'", what, (int)(tlen > 64 ? 64 : tlen),
                                tok);
        size_t klen = (size_t)(eq - tok), vlen = tlen - klen - 1;
        int i = field_index(s, tok, klen);
        if (i < 0) return unknown_key(s, what, tok, klen);
        if (seen[i]++) return tg_set_error(TG_ERR_FORMAT, "%s: key '%s' given twice", what, s->fields[i].name);
        const tg_config_field *f = &s->fields[i];
        char v[64], found[72];
        snprintf(found, sizeof found, "'%.*s'", (int)(vlen > 60 ? 60 : vlen), eq + 1);
        int num = 0;
        double x = 0;
        if (f->type != TG_CONFIG_TYPE_ENUM && vlen > 0 && vlen < sizeof v) {
            memcpy(v, eq + 1, vlen);
            v[vlen] = 0;
            size_t d = v[0] == '-';
            while (f->type == TG_CONFIG_TYPE_INT && v[d] >= '0' && v[d] <= '9') d++;
            char *end;
            x = f->type == TG_CONFIG_TYPE_INT ? strtod(v, &end) : (double)strtof(v, &end);
            num = *end == 0 && (f->type == TG_CONFIG_TYPE_FLOAT || (d == vlen && d > (size_t)(v[0] == '-')));
        }
        tg_status st = take(f, num, x, eq + 1, vlen, found, what, tmp);
        if (st != TG_OK) return st;
    }
}

tg_status tg_config_parse(const tg_config_schema *s, const char *text, const char *what, void *cfg) {
    check_schema(s, "tg_config_parse");
    TG_CHECK(cfg != NULL, "tg_config_parse", "cfg is NULL");
    if (!what) what = "config";
    if (!text) return tg_set_error(TG_ERR_FORMAT, "%s: no text", what);
    void *tmp = tg_xmalloc(s->size);
    memcpy(tmp, cfg, s->size);
    int seen[MAX_FIELDS] = {0};
    const char *p = text;
    while (is_blank(*p)) p++;
    tg_status st = *p == '{'        ? parse_json(s, text, what, tmp, seen)
                   : s->legacy_line ? parse_line(s, text, what, tmp, seen)
                                    : tg_set_error(TG_ERR_FORMAT, "%s: expected one JSON object {\"key\": value, ...}, "
                                                   "found '%.60s'", what, text);
    for (int i = 0; i < s->n_fields && st == TG_OK; i++) {
        const tg_config_field *f = &s->fields[i];
        if (seen[i]) continue;
        if (f->optional) {
            set(f, tmp, f->dflt);
            continue;
        }
        char e[256];
        st = tg_set_error(TG_ERR_FORMAT, "%s: missing key '%s' (%s)", what, f->name, expected(f, e, sizeof e));
    }
    if (st == TG_OK) st = check_all(s, tmp, what, TG_ERR_FORMAT);
    if (st == TG_OK) memcpy(cfg, tmp, s->size);
    free(tmp);
    return st;
}
