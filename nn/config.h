/* nn/config.h — a model configuration as one line of "key=value" pairs, for
 * checkpoint metadata and the command line (private to nn/: the models'
 * tg_*_config_format / _parse are built on it).
 *
 *   static const tg__config_field fields[] = {
 *       TG__CONFIG_INT(tg_cnn_config, width), TG__CONFIG_FLOAT(tg_cnn_config, dropout), ...};
 *   tg__config_format(fields, n, &cfg, buf, len);        // "width=32 dropout=0.1"
 *   tg__config_parse(fields, n, text, what, &tmp);       // every key exactly once
 *
 * Floats are printed with %.9g, so parsing gives the same bits back.  An
 * enum field lists its value names (index = value).
 */
#ifndef TG_NN_CONFIG_H
#define TG_NN_CONFIG_H

#include <stddef.h>

#include "core/error.h"

typedef enum { TG__CONFIG_KIND_INT, TG__CONFIG_KIND_FLOAT, TG__CONFIG_KIND_ENUM } tg__config_kind;

typedef struct {
    const char *key;
    tg__config_kind kind;
    size_t off;                /* offsetof the int / float / enum (int-sized) field */
    const char *const *names;  /* enum only: names[v] for v = 0 … n_names−1 */
    int n_names;
} tg__config_field;

#define TG__CONFIG_INT(type, f) {#f, TG__CONFIG_KIND_INT, offsetof(type, f), NULL, 0}
#define TG__CONFIG_FLOAT(type, f) {#f, TG__CONFIG_KIND_FLOAT, offsetof(type, f), NULL, 0}
#define TG__CONFIG_ENUM(type, f, names) \
    {#f, TG__CONFIG_KIND_ENUM, offsetof(type, f), (names), (int)(sizeof(names) / sizeof(names)[0])}

/* Writes "key=value ..." of the n fields of cfg into buf (len bytes, always
 * NUL-terminated when len > 0); returns the length needed (as snprintf). */
int tg__config_format(const tg__config_field *fields, int n, const void *cfg, char *buf,
                      size_t len);
/* Parses text into *out (a struct of the fields' type, which the caller
 * zeroes first): every key exactly once, in any order, separated by
 * blanks.  Returns TG_OK, or TG_ERR_FORMAT with "what: ..." (an unknown,
 * missing or repeated key, a value that is not an integer / a number / one
 * of the enum names); *out may be partly written then (parse into a
 * temporary). */
tg_status tg__config_parse(const tg__config_field *fields, int n, const char *text,
                           const char *what, void *out);

#endif
