/* train/checkpoint.h — checkpoints in the safetensors format.
 *
 *   // save: parameters, metadata, and what a resume needs
 *   tg_checkpoint_extra ex = {0};
 *   tg_checkpoint_meta_set(&ex, "config", config_json);
 *   ex.adam = &opt;  ex.rng[0] = &data_rng;  ex.step = step;  ex.epoch = epoch;
 *   if (tg_checkpoint_save("model.safetensors", &ps, &ex) != TG_OK) die(tg_last_error());
 *   tg_checkpoint_extra_free(&ex);
 *
 *   // read the configuration before building the model
 *   char *config;
 *   if (tg_checkpoint_read_metadata("model.safetensors", "config", &config) != TG_OK) ...
 *   ... build ps from config, create opt ...
 *   tg_checkpoint_extra ex = {.adam = &opt, .rng = {&data_rng}};
 *   if (tg_checkpoint_load("model.safetensors", &ps, &ex) != TG_OK) die(tg_last_error());
 *   // ps, opt.m/v/t, data_rng, ex.step, ex.epoch restored; ex holds the metadata
 *
 * File layout (https://github.com/huggingface/safetensors): an 8-byte
 * little-endian u64 N, N bytes of JSON header padded with spaces to a
 * multiple of 8, then the raw little-endian tensor data.  The header maps each
 * tensor name to {"dtype": "F32", "shape": [...], "data_offsets": [begin,
 * end]} (byte offsets relative to the first byte after the header) and has a
 * "__metadata__" object of string values.  What tapegrad writes:
 *   - every parameter under its tg_params name (PyTorch state_dict names and
 *     layouts: Linear weight [out, in] row-major), in creation order;
 *   - with an optimizer: "__optim__.m.<name>" and "__optim__.v.<name>" (Adam
 *     moments) or "__optim__.b.<name>" (SGD momentum), same shape as <name>;
 *   - metadata: the caller's keys, plus reserved "tapegrad.*" keys:
 *     tapegrad.format "1", tapegrad.step, tapegrad.epoch (decimal),
 *     tapegrad.optim ("adam", "adamw", "sgd"), tapegrad.optim.t (steps taken),
 *     tapegrad.rng.<i> (the 4 words of tg_rng i as decimal "s0 s1 s2 s3").
 * docs/checkpoints.md has the details and a PyTorch example.
 *
 * Saving is atomic (tg_write_atomic, data/io.h): the file is written to "<path>.tmp.<pid>", flushed,
 * fsync'ed, renamed over path, and the directory fsync'ed; on any failure the
 * temporary file is removed and an existing file at path is untouched.
 *
 * Loading validates the whole file before changing anything, in three steps
 * (train/checkpoint.c: ck_parse -> ck_validate -> ck_commit).  Parse: header
 * length against the file size, the JSON, no key twice (in the header, an
 * entry or __metadata__), no NUL byte (raw or \u0000) in a name or value,
 * every entry's dtype, shape, offsets (in bounds, consistent with the shape,
 * not overlapping), the reserved metadata well formed (step, epoch, optim.t
 * integers >= 0, optim one of adam/adamw/sgd, rng 4 words not all zero).
 * Validate: every parameter and optimizer tensor present with the model's
 * shape, F32 and finite (Adam's v also >= 0), no unknown tensors and no
 * optimizer state for a parameter the model lacks (unless
 * TG_CKPT_IGNORE_UNKNOWN), the file's optimizer kind equal to the one given
 * (an AdamW file does not load into Adam).  Only then, commit: ps, the
 * optimizer and the generators are written.  On error: a negative status,
 * a message such as
 *   run/ck.safetensors: tensor 'encoder.layers.0.attn.w_q.weight': shape [64, 64] in file, [64, 32] in model
 * in tg_last_error(), and nothing changed.
 */
#ifndef TG_TRAIN_CHECKPOINT_H
#define TG_TRAIN_CHECKPOINT_H

#include <stdint.h>

#include "core/error.h"
#include "core/tensor.h"
#include "core/params.h"
#include "data/vocab.h"
#include "optim/optim.h"

#define TG_CKPT_MAX_RNG 4

enum {
    /* load: tensors in the file that the model lacks are skipped instead of
     * being an error (any dtype; their offsets are still checked). */
    TG_CKPT_IGNORE_UNKNOWN = 1u << 0,
};

/* Everything besides the parameters.  Zero-initialise ({0}); every pointer
 * may stay NULL.  Save reads it; load fills it. */
typedef struct tg_checkpoint_extra {
    /* metadata strings (keys without the reserved "tapegrad." prefix).
     * Owned by the struct: set with tg_checkpoint_meta_set, read with
     * tg_checkpoint_meta_get, freed by tg_checkpoint_extra_free.  Load
     * replaces them with the file's metadata. */
    int n_meta;
    char **meta_key, **meta_value;
    /* optimizer (at most one; not owned): save writes its state, load
     * restores it (the file must hold state for that optimizer kind). */
    tg_adam *adam;
    tg_sgd *sgd;
    /* generators to save / restore (not owned); NULL entries are skipped.
     * Load requires tapegrad.rng.<i> for every non-NULL rng[i]. */
    tg_rng *rng[TG_CKPT_MAX_RNG];
    /* training position: written on save, filled on load (0 when absent). */
    int64_t step, epoch;
    unsigned flags; /* TG_CKPT_IGNORE_UNKNOWN */
} tg_checkpoint_extra;

/* Sets (copies) metadata key = value, replacing an existing key.  Keys must
 * not start with "tapegrad." or be "__metadata__" (aborts). */
void tg_checkpoint_meta_set(tg_checkpoint_extra *ex, const char *key, const char *value);
/* The value of key, or NULL; valid until the next set/load/free. */
const char *tg_checkpoint_meta_get(const tg_checkpoint_extra *ex, const char *key);
/* Frees the metadata (not the optimizer or rngs); leaves the other fields. */
void tg_checkpoint_extra_free(tg_checkpoint_extra *ex);

/* Writes ps (and extra, which may be NULL) to path, atomically.
 * Errors: TG_ERR_IO ("path: <what failed>: <strerror>"), the file at path
 * unchanged and no temporary file left.  An optimizer made for another
 * block size aborts. */
tg_status tg_checkpoint_save(const char *path, const tg_params *ps,
                             const tg_checkpoint_extra *extra);

/* Reads path into ps (and extra, which may be NULL: then optimizer tensors
 * and metadata in the file are ignored).  All-or-nothing, see above.
 * Errors: TG_ERR_IO (open/read), TG_ERR_FORMAT (truncated, header length,
 * JSON, offsets, dtype, unknown or duplicate tensor or key, NUL byte, bad
 * reserved metadata, another optimizer's state), TG_ERR_SHAPE (shape
 * differs), TG_ERR_NONFINITE (a NaN/Inf value, named by tensor and element),
 * TG_ERR_NOT_FOUND (a parameter or optimizer tensor missing), TG_ERR_NOMEM;
 * message "path: ..." in tg_last_error(). */
tg_status tg_checkpoint_load(const char *path, tg_params *ps, tg_checkpoint_extra *extra);

/* Reads one metadata string without loading tensors (e.g. the model
 * configuration before the model exists).  *value: a malloc'ed copy the
 * caller frees.  Errors: as tg_checkpoint_load for the header;
 * TG_ERR_NOT_FOUND when the key is absent ("path: no metadata key 'k'"). */
tg_status tg_checkpoint_read_metadata(const char *path, const char *key, char **value);

/* Reads metadata `key` as a serialised vocabulary of `kind` with `size` ids
 * (tg_vocab_from_string_expect, data/vocab.h; e.g. the size the model's
 * config gives) into *v, which the caller frees with tg_vocab_free.
 * Errors: those of tg_checkpoint_read_metadata, or of the vocabulary
 * ("path: metadata word_vocab:3: expected ...", "path: metadata word_vocab:
 * a char vocabulary of 15 entries; expected a word vocabulary of 23");
 * then *v is untouched. */
tg_status tg_checkpoint_read_vocab(const char *path, const char *key, tg_vocab_kind kind, int32_t size,
                                   tg_vocab *v);

/* A tensor a configuration implies: name and shape [shape[0], ...,
 * shape[ndim-1]] (ndim 1..8). */
typedef struct {
    char name[128];
    int ndim;
    int shape[8];
} tg_ckpt_shape;

/* Checks, reading only the header, that path holds every want[k] as an F32
 * tensor of exactly that shape (within the file's bounds, as every entry).
 * A loader calls it for the tensors that carry each dimension of a
 * configuration read from the metadata BEFORE building the model, so that a
 * few-KB file cannot make it allocate gigabytes (each checked tensor's bytes
 * are in the file).  Errors: the header's (as tg_checkpoint_read_metadata),
 * TG_ERR_NOT_FOUND "path: tensor 'name' missing ...", TG_ERR_SHAPE "path:
 * tensor 'name': F32 [..] in file, the metadata's configuration gives F32
 * [..]" (the first that differs).  ndim outside 1..8 aborts. */
tg_status tg_checkpoint_expect_shapes(const char *path, int n, const tg_ckpt_shape *want);

#endif
