/* nn/config.c — see nn/config.h. */
#include "nn/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tg__config_format(const tg__config_field *fields, int n, const void *cfg, char *buf,
                      size_t len) {
    TG_CHECK(cfg && (buf || len == 0), "tg__config_format", "cfg or buf is NULL");
    size_t used = 0;
    if (len) buf[0] = 0;
    for (int i = 0; i < n; i++) {
        const char *p = (const char *)cfg + fields[i].off;
        char *dst = used < len ? buf + used : NULL;
        size_t room = used < len ? len - used : 0;
        const char *sep = i ? " " : "";
        int w = 0;
        switch (fields[i].kind) {
        case TG__CONFIG_KIND_INT:
            w = snprintf(dst, room, "%s%s=%d", sep, fields[i].key, *(const int *)p);
            break;
        case TG__CONFIG_KIND_FLOAT:
            w = snprintf(dst, room, "%s%s=%.9g", sep, fields[i].key, (double)*(const float *)p);
            break;
        case TG__CONFIG_KIND_ENUM: {
            int v = *(const int *)p;
            w = snprintf(dst, room, "%s%s=%s", sep, fields[i].key,
                         v >= 0 && v < fields[i].n_names ? fields[i].names[v] : "?");
            break;
        }
        }
        used += (size_t)w;
    }
    return (int)used;
}

/* One value of field f from v[0 … vlen−1] into *p; 0 when it does not parse. */
static int parse_value(const tg__config_field *f, const char *v, size_t vlen, void *p) {
    char tmp[64];
    if (vlen == 0 || vlen >= sizeof tmp) return 0;
    memcpy(tmp, v, vlen);
    tmp[vlen] = 0;
    char *end;
    errno = 0;
    switch (f->kind) {
    case TG__CONFIG_KIND_INT: {
        long x = strtol(tmp, &end, 10);
        if (*end || errno || x < -2147483647L || x > 2147483647L) return 0;
        *(int *)p = (int)x;
        return 1;
    }
    case TG__CONFIG_KIND_FLOAT: {
        float x = strtof(tmp, &end);
        if (*end || errno) return 0;
        *(float *)p = x;
        return 1;
    }
    case TG__CONFIG_KIND_ENUM:
        for (int i = 0; i < f->n_names; i++)
            if (!strcmp(tmp, f->names[i])) {
                *(int *)p = i;
                return 1;
            }
        return 0;
    }
    return 0;
}

/* "an integer", "a number", or "a|b|c" for the messages. */
static const char *expected(const tg__config_field *f, char *buf, size_t len) {
    if (f->kind == TG__CONFIG_KIND_INT) return "an integer";
    if (f->kind == TG__CONFIG_KIND_FLOAT) return "a number";
    size_t used = 0;
    buf[0] = 0;
    for (int i = 0; i < f->n_names && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? " or " : "", f->names[i]);
    return buf;
}

tg_status tg__config_parse(const tg__config_field *fields, int n, const char *text,
                           const char *what, void *out) {
    TG_CHECK(out && fields && n > 0 && n <= 64, "tg__config_parse", "bad arguments");
    if (!text) return tg_set_error(TG_ERR_FORMAT, "%s: no text", what);
    int seen[64] = {0};
    const char *s = text;
    for (;;) {
        while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') s++;
        if (!*s) break;
        const char *tok = s;
        while (*s && *s != ' ' && *s != '\t' && *s != '\n' && *s != '\r') s++;
        size_t tlen = (size_t)(s - tok);
        const char *eq = memchr(tok, '=', tlen);
        if (!eq)
            return tg_set_error(TG_ERR_FORMAT, "%s: expected key=value, found '%.*s'", what,
                                (int)tlen, tok);
        size_t klen = (size_t)(eq - tok);
        int f = -1;
        for (int i = 0; i < n; i++)
            if (strlen(fields[i].key) == klen && !memcmp(fields[i].key, tok, klen)) f = i;
        if (f < 0)
            return tg_set_error(TG_ERR_FORMAT, "%s: unknown key '%.*s'", what, (int)klen, tok);
        if (seen[f])
            return tg_set_error(TG_ERR_FORMAT, "%s: key '%s' given twice", what, fields[f].key);
        seen[f] = 1;
        const char *v = eq + 1;
        if (!parse_value(&fields[f], v, (size_t)(s - v), (char *)out + fields[f].off)) {
            char buf[128];
            return tg_set_error(TG_ERR_FORMAT, "%s: %s: expected %s, found '%.*s'", what,
                                fields[f].key, expected(&fields[f], buf, sizeof buf),
                                (int)(s - v), v);
        }
    }
    for (int i = 0; i < n; i++)
        if (!seen[i]) return tg_set_error(TG_ERR_FORMAT, "%s: missing key '%s'", what, fields[i].key);
    return TG_OK;
}
