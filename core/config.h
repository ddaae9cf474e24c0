/* core/config.h — a configuration struct described once, by a table of its
 * fields, and moved to and from text from that table: the one mechanism by
 * which every model (nn/vit, nn/cnn and the examples) writes its
 * configuration into checkpoint metadata and reads it back.
 *
 *   static const tg_config_field fields[] = {
 *       TG_CONFIG_INT(my_config, d_model, 1, 1 << 20),          // an int in 1..2^20
 *       TG_CONFIG_FLOAT(my_config, dropout, 0, 1, TG_CONFIG_HI_OPEN), // a float in [0, 1)
 *       TG_CONFIG_ENUM(my_config, pool, pool_names),           // "cls" | "mean" (index = value)
 *       TG_CONFIG_INT_OPTIONAL(my_config, words_only, 0, 1, 0), // older files lack it: 0
 *   };
 *   static const tg_config_schema schema = TG_CONFIG_SCHEMA(my_config, fields, cross_check);
 *
 *   char *s = tg_config_to_string(&schema, &cfg);  // {"d_model":128,"dropout":0.1,"pool":"cls",...}
 *   tg_status st = tg_config_parse(&schema, s, "ck.safetensors: metadata config", &back);
 *   tg_status ok = tg_config_check(&schema, &cfg, "model config");   // e.g. options from the CLI
 *
 * The text is one flat JSON object (cJSON reads it): integers as JSON
 * integers, floats as the shortest decimal that reads back to the same bits,
 * enums as their name.  Parsing is strict: every field of the table exactly
 * once (an optional one at most once), no other key, each value of its type
 * and within its bounds, then the schema's cross-field check; only then is
 * *cfg written.  A key or string holding a NUL (\u0000) is refused.  For
 * checkpoints written before this format (the ViT's, the CNN's and the
 * GAT's "key=value key=value" line) a schema made with
 * TG_CONFIG_SCHEMA_LEGACY_LINE also reads that line, under the same rules
 * (docs/checkpoints.md); every other schema refuses it; nothing writes it.
 */
#ifndef TG_CORE_CONFIG_H
#define TG_CORE_CONFIG_H

#include <stddef.h>

#include "core/error.h"

typedef enum { TG_CONFIG_TYPE_INT, TG_CONFIG_TYPE_FLOAT, TG_CONFIG_TYPE_ENUM } tg_config_type;

/* Open ends of a float field's interval (bit flags; 0: [lo, hi]). */
enum { TG_CONFIG_LO_OPEN = 1, TG_CONFIG_HI_OPEN = 2 };

typedef struct tg_config_field {
    const char *name;          /* the key: the struct field's name */
    tg_config_type type;       /* an int, a float, or an int-sized enum */
    size_t offset;             /* offsetof(struct, field) */
    double lo, hi;             /* int: lo..hi inclusive; float: the interval lo..hi, ends per `open`
                                  (hi = INFINITY: no upper bound; floats are always finite) */
    int open;                  /* float: TG_CONFIG_LO_OPEN | TG_CONFIG_HI_OPEN */
    const char *const *names;  /* enum: names[v] for v = 0 .. n_names-1 */
    int n_names;
    int optional;              /* 1: a missing key takes dflt (a value, or an enum index) */
    double dflt;
} tg_config_field;

/* offsetof(T, f), and a compile error unless `ok` holds (the field's type). */
#define TG_CONFIG_OFFSET_(T, f, ok) (offsetof(T, f) + 0 * sizeof(char[(ok) ? 1 : -1]))
#define TG_CONFIG_IS_INT_(T, f) TG_CONFIG_OFFSET_(T, f, _Generic(((T *)0)->f, int: 1, default: 0))
#define TG_CONFIG_IS_FLOAT_(T, f) TG_CONFIG_OFFSET_(T, f, _Generic(((T *)0)->f, float: 1, default: 0))

/* The fields: an int, a float, an int-sized enum (checked when compiled). */
#define TG_CONFIG_INT(T, f, lo, hi) {#f, TG_CONFIG_TYPE_INT, TG_CONFIG_IS_INT_(T, f), (lo), (hi), 0, NULL, 0, 0, 0.0}
#define TG_CONFIG_INT_OPTIONAL(T, f, lo, hi, d) \
    {#f, TG_CONFIG_TYPE_INT, TG_CONFIG_IS_INT_(T, f), (lo), (hi), 0, NULL, 0, 1, (double)(d)}
#define TG_CONFIG_FLOAT(T, f, lo, hi, open) \
    {#f, TG_CONFIG_TYPE_FLOAT, TG_CONFIG_IS_FLOAT_(T, f), (lo), (hi), (open), NULL, 0, 0, 0.0}
#define TG_CONFIG_ENUM(T, f, names)                                                                   \
    {#f, TG_CONFIG_TYPE_ENUM, TG_CONFIG_OFFSET_(T, f, sizeof(((T *)0)->f) == sizeof(int)), 0, 0, 0, (names), \
     (int)(sizeof(names) / sizeof(names)[0]), 0, 0.0}

typedef struct tg_config_schema {
    size_t size;                  /* sizeof the struct */
    const tg_config_field *fields; /* in the order they are written */
    int n_fields;                 /* 1..64 */
    /* Rules between fields (n_heads divides d_model, ...), run after every
     * field is within its bounds; NULL when none.  Returns TG_OK or
     * tg_set_error(TG_ERR_ARG, "%s: ...", what, ...). */
    tg_status (*check)(const void *cfg, const char *what);
    int legacy_line; /* 1: tg_config_parse also reads the older "key=value ..." line */
} tg_config_schema;

#define TG_CONFIG_SCHEMA(T, fields, check) \
    {sizeof(T), (fields), (int)(sizeof(fields) / sizeof(fields)[0]), (check), 0}
/* The same for a config whose older checkpoints stored the "key=value ..."
 * line (the ViT's, the CNN's, the GAT's): tg_config_parse also reads that. */
#define TG_CONFIG_SCHEMA_LEGACY_LINE(T, fields, check) \
    {sizeof(T), (fields), (int)(sizeof(fields) / sizeof(fields)[0]), (check), 1}

/* Writes the fields of cfg (in table order) as one JSON object into buf
 * (len bytes, always NUL-terminated when len > 0) and returns the length it
 * needs, as snprintf does.  Errors: NULL arguments, a non-finite float or an
 * enum value without a name abort (cfg is the program's own). */
int tg_config_format(const tg_config_schema *s, const void *cfg, char *buf, size_t len);
/* The same text, malloc'd (the caller frees). */
char *tg_config_to_string(const tg_config_schema *s, const void *cfg);

/* Parses text (a JSON object, or the older key=value line) into the table's
 * fields of *cfg; the struct's other bytes keep their value.  `what` names
 * the source in messages ("ck.safetensors: metadata config").  Returns TG_OK,
 * or TG_ERR_FORMAT with "what: expected ..." — not a JSON object; an
 * unknown, missing or repeated key; a value of the wrong type ("d_model:
 * expected an integer in 1..1048576, found 2.5"), out of its bounds or not
 * one of the enum's names; or the schema's check's message — and then *cfg
 * is untouched. */
tg_status tg_config_parse(const tg_config_schema *s, const char *text, const char *what, void *cfg);

/* Checks a struct that did not come from text (options from the command
 * line, a struct filled in code): every field within its bounds, then the
 * schema's check.  Returns TG_OK or TG_ERR_ARG "what: d_model: expected an
 * integer in 1..1048576, found 0".  Never aborts (cfg NULL aborts). */
tg_status tg_config_check(const tg_config_schema *s, const void *cfg, const char *what);

#endif
