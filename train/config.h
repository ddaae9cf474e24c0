/* train/config.h — a model's configuration as checkpoint metadata: one flat
 * JSON object of numbers, one per field of the config struct, described by a
 * table, so that `eval` / `tag` can rebuild the model from its checkpoint.
 *
 *   static const tg_config_field fields[] = {
 *       TG_CONFIG_INT(pos_config, d_model),
 *       TG_CONFIG_FLOAT(pos_config, dropout),
 *       TG_CONFIG_INT_OPTIONAL(pos_config, words_only, 0),  // older checkpoints lack it
 *   };
 *   char *s = tg_config_to_json(&cfg, fields, 3);                // {"d_model":128,...}
 *   tg_status st = tg_config_from_json(s, &back, sizeof back, fields, 3);
 *
 * Range checks belong to the model (they know what a d_model may be); this
 * only moves numbers. */
#ifndef TG_TRAIN_CONFIG_H
#define TG_TRAIN_CONFIG_H

#include <stddef.h>

#include "core/error.h"

typedef enum { TG_CONFIG_TYPE_INT, TG_CONFIG_TYPE_FLOAT } tg_config_type;

typedef struct tg_config_field {
    const char *name;    /* the JSON key: the field's name */
    size_t offset;       /* offsetof(struct, field) */
    tg_config_type type; /* int or float field */
    int optional;        /* 1: a missing key takes dflt */
    double dflt;
} tg_config_field;

#define TG_CONFIG_INT(T, f) {#f, offsetof(T, f), TG_CONFIG_TYPE_INT, 0, 0.0}
#define TG_CONFIG_FLOAT(T, f) {#f, offsetof(T, f), TG_CONFIG_TYPE_FLOAT, 0, 0.0}
#define TG_CONFIG_INT_OPTIONAL(T, f, d) {#f, offsetof(T, f), TG_CONFIG_TYPE_INT, 1, (double)(d)}

/* The n fields of cfg as one JSON object (cJSON, unformatted); malloc'd,
 * the caller frees.  Errors: NULL arguments abort. */
char *tg_config_to_json(const void *cfg, const tg_config_field *fields, int n);

/* Parses json into the n fields of a config struct of cfg_bytes bytes.
 * Every byte outside the table's fields becomes 0.  Nothing is half filled:
 * the struct is built in a temporary and copied into *cfg only on TG_OK.
 * Errors (TG_ERR_FORMAT, *cfg untouched): "model config: not valid JSON",
 * "model config: missing number 'name'", "model config: 'name' = v is not
 * an integer" (an int field given a fraction or a value outside int). */
tg_status tg_config_from_json(const char *json, void *cfg, size_t cfg_bytes,
                              const tg_config_field *fields, int n);

#endif
