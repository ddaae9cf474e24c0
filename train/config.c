/* train/config.c — see train/config.h. */
#include "train/config.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

char *tg_config_to_json(const void *cfg, const tg_config_field *fields, int n) {
    TG_CHECK(cfg && (fields || n == 0) && n >= 0, "tg_config_to_json", "cfg and fields must not be NULL");
    cJSON *o = cJSON_CreateObject();
    TG_CHECK(o != NULL, "tg_config_to_json", "out of memory");
    for (int i = 0; i < n; i++) {
        const char *p = (const char *)cfg + fields[i].offset;
        double v = fields[i].type == TG_CONFIG_TYPE_INT ? (double)*(const int *)p : (double)*(const float *)p;
        TG_CHECK(cJSON_AddNumberToObject(o, fields[i].name, v) != NULL, "tg_config_to_json", "out of memory");
    }
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    TG_CHECK(s != NULL, "tg_config_to_json", "out of memory");
    return s;
}

tg_status tg_config_from_json(const char *json, void *cfg, size_t cfg_bytes,
                              const tg_config_field *fields, int n) {
    TG_CHECK(json && cfg && (fields || n == 0) && n >= 0, "tg_config_from_json",
             "json, cfg and fields must not be NULL");
    cJSON *o = cJSON_Parse(json);
    if (!o) return tg_set_error(TG_ERR_FORMAT, "model config: not valid JSON");
    char *c = tg_xcalloc(cfg_bytes);
    tg_status st = TG_OK;
    for (int i = 0; i < n && st == TG_OK; i++) {
        const tg_config_field *f = &fields[i];
        TG_CHECK(f->offset + (f->type == TG_CONFIG_TYPE_INT ? sizeof(int) : sizeof(float)) <= cfg_bytes,
                 "tg_config_from_json", "field '%s' lies outside the %zu-byte struct", f->name, cfg_bytes);
        cJSON *v = cJSON_GetObjectItemCaseSensitive(o, f->name);
        double x;
        if (cJSON_IsNumber(v)) x = v->valuedouble;
        else if (f->optional) x = f->dflt;
        else {
            st = tg_set_error(TG_ERR_FORMAT, "model config: missing number '%s'", f->name);
            break;
        }
        if (f->type == TG_CONFIG_TYPE_INT) {
            if (!(x >= INT_MIN && x <= INT_MAX) || x != floor(x)) {
                st = tg_set_error(TG_ERR_FORMAT, "model config: '%s' = %g is not an integer", f->name, x);
                break;
            }
            *(int *)(c + f->offset) = (int)x;
        } else {
            *(float *)(c + f->offset) = (float)x;
        }
    }
    cJSON_Delete(o);
    if (st == TG_OK) memcpy(cfg, c, cfg_bytes);
    free(c);
    return st;
}
