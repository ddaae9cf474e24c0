/* examples/vit/model.c — see model.h. */
#define _POSIX_C_SOURCE 200809L
#include "examples/vit/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/dist.h"

static char **copy_names(char *const *names, int n) {
    char **c = tg_xmalloc((size_t)n * sizeof *c);
    for (int i = 0; i < n; i++) c[i] = strdup(names ? names[i] : "");
    return c;
}

static void free_names(char **names, int n) {
    for (int i = 0; names && i < n; i++) free(names[i]);
    free(names);
}

void vit_model_init(vit_model *m, const tg_vit_config *cfg, char *const *class_names, const float *mean,
                    const float *std, uint64_t seed) {
    memset(m, 0, sizeof *m);
    tg_rng rng;
    tg_rng_seed(&rng, seed);
    tg_params_init(&m->ps);
    tg_vit_init(&m->vit, &m->ps, cfg, &rng);
    m->class_names = copy_names(class_names, cfg->n_classes);
    for (int c = 0; c < cfg->channels && c < 3; c++) {
        m->mean[c] = mean[c];
        m->std[c] = std[c];
    }
}

void vit_model_free(vit_model *m) {
    free_names(m->class_names, m->vit.cfg.n_classes);
    tg_vit_free(&m->vit);
    tg_params_free(&m->ps);
    memset(m, 0, sizeof *m);
}

tg_status vit_model_save(const char *path, const vit_model *m, int64_t epoch) {
    const tg_vit_config *cfg = &m->vit.cfg;
    char config[512], norm[256] = "";
    tg_vit_config_format(cfg, config, sizeof config);
    size_t len = 1;
    for (int k = 0; k < cfg->n_classes; k++) len += strlen(m->class_names[k]) + 1;
    char *classes = tg_xmalloc(len), *p = classes;
    for (int k = 0; k < cfg->n_classes; k++) p += sprintf(p, "%s%s", k ? "\n" : "", m->class_names[k]);
    for (int i = 0; i < 2 * cfg->channels; i++) {
        size_t n = strlen(norm);
        snprintf(norm + n, sizeof norm - n, "%s%.9g", i ? " " : "",
                 (double)(i < cfg->channels ? m->mean[i] : m->std[i - cfg->channels]));
    }
    tg_checkpoint_extra ex = {0};
    tg_checkpoint_meta_set(&ex, "model", "vit");
    tg_checkpoint_meta_set(&ex, "vit.config", config);
    tg_checkpoint_meta_set(&ex, "vit.classes", classes);
    tg_checkpoint_meta_set(&ex, "vit.normalize", norm);
    ex.epoch = epoch;
    tg_status st = tg_dist_checkpoint_save(path, &m->ps, &ex); /* under MPI rank 0 writes */
    tg_checkpoint_extra_free(&ex);
    free(classes);
    return st;
}

/* "a\nb\nc" → n names; exactly n lines, none empty. */
static tg_status parse_classes(const char *path, const char *text, int n, char ***out) {
    char **names = tg_xcalloc((size_t)n * sizeof *names);
    const char *s = text;
    int k = 0;
    for (; k < n; k++) {
        const char *e = strchr(s, '\n');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        if (len == 0) break;
        names[k] = strndup(s, len);
        if (!e) {
            k++;
            s += len;
            break;
        }
        s = e + 1;
    }
    if (k != n || *s) {
        free_names(names, n);
        return tg_set_error(TG_ERR_FORMAT, "%s: metadata vit.classes: expected %d non-empty class names, one per line",
                            path, n);
    }
    *out = names;
    return TG_OK;
}

/* "m_0 .. s_{C-1}": 2·C finite numbers, each std > 0. */
static tg_status parse_normalize(const char *path, const char *text, int c, float *mean, float *std) {
    float v[6];
    const char *s = text;
    for (int i = 0; i < 2 * c; i++) {
        char *end;
        double x = strtod(s, &end);
        if (end == s || !(x == x) || x > 1e30 || x < -1e30 || (i >= c && !(x > 0)))
            return tg_set_error(TG_ERR_FORMAT,
                                "%s: metadata vit.normalize '%s': expected %d means then %d standard deviations > 0",
                                path, text, c, c);
        v[i] = (float)x;
        s = end;
    }
    while (*s == ' ') s++;
    if (*s) return tg_set_error(TG_ERR_FORMAT, "%s: metadata vit.normalize '%s': expected %d numbers", path, text, 2 * c);
    for (int i = 0; i < c; i++) {
        mean[i] = v[i];
        std[i] = v[c + i];
    }
    return TG_OK;
}

/* Limits of a model read from a file, checked before anything is built: at
 * most VIT_LOAD_MAX_DEPTH blocks and VIT_LOAD_MAX_TOKENS tokens (the
 * sinusoidal table and a local-window mask grow with them, not with the
 * file), and every tensor carrying a config dimension present in the header
 * with that shape (so the widths are bounded by the file's size). */
#define VIT_LOAD_MAX_DEPTH 64
#define VIT_LOAD_MAX_TOKENS 4097

static tg_status check_sizes(const char *path, const char *what, const tg_vit_config *c) {
    int64_t tokens = (int64_t)(c->image_h / c->patch_size) * (c->image_w / c->patch_size) +
                     (c->pool == TG_VIT_POOL_CLS);
    if (c->depth > VIT_LOAD_MAX_DEPTH || tokens > VIT_LOAD_MAX_TOKENS)
        return tg_set_error(TG_ERR_FORMAT, "%s: depth %d, %lld tokens: at most %d and %d from a checkpoint", what,
                            c->depth, (long long)tokens, VIT_LOAD_MAX_DEPTH, VIT_LOAD_MAX_TOKENS);
    tg_ckpt_shape w[3 + VIT_LOAD_MAX_DEPTH];
    int n = 0, d = c->d_model;
    w[n++] = (tg_ckpt_shape){"patch_embed.proj.weight", 2, {d, c->patch_size * c->patch_size * c->channels}};
    if (c->pos == TG_VIT_POS_LEARNED) w[n++] = (tg_ckpt_shape){"pos_embed", 3, {1, (int)tokens, d}};
    for (int i = 0; i < c->depth; i++) {
        tg_ckpt_shape *x = &w[n++];
        snprintf(x->name, sizeof x->name, "blocks.%d.mlp.fc1.weight", i);
        x->ndim = 2, x->shape[0] = c->d_ff, x->shape[1] = d;
    }
    w[n++] = (tg_ckpt_shape){"head.weight", 2, {c->n_classes, d}};
    return tg_checkpoint_expect_shapes(path, n, w);
}

tg_status vit_model_load(const char *path, vit_model *out) {
    char *kind = NULL, *config = NULL, *classes = NULL, *norm = NULL, **names = NULL;
    tg_vit_config cfg;
    float mean[3] = {0}, std[3] = {1, 1, 1};
    char what[4200];
    snprintf(what, sizeof what, "%s: metadata vit.config", path);
    tg_status st = tg_checkpoint_read_metadata(path, "model", &kind);
    if (st == TG_OK && strcmp(kind, "vit"))
        st = tg_set_error(TG_ERR_FORMAT, "%s: metadata model '%s': expected 'vit' (a checkpoint of another model?)",
                          path, kind);
    if (st == TG_OK) st = tg_checkpoint_read_metadata(path, "vit.config", &config);
    if (st == TG_OK) st = tg_vit_config_parse(config, what, &cfg);
    if (st == TG_OK && cfg.channels > 3)
        st = tg_set_error(TG_ERR_FORMAT, "%s: %d channels: expected 1 or 3", what, cfg.channels);
    if (st == TG_OK) st = check_sizes(path, what, &cfg);
    if (st == TG_OK) st = tg_checkpoint_read_metadata(path, "vit.classes", &classes);
    if (st == TG_OK) st = parse_classes(path, classes, cfg.n_classes, &names);
    if (st == TG_OK) st = tg_checkpoint_read_metadata(path, "vit.normalize", &norm);
    if (st == TG_OK) st = parse_normalize(path, norm, cfg.channels, mean, std);
    vit_model m;
    if (st == TG_OK) {
        vit_model_init(&m, &cfg, names, mean, std, 0);
        st = tg_checkpoint_load(path, &m.ps, NULL);
        if (st == TG_OK) *out = m;
        else vit_model_free(&m);
    }
    if (names) free_names(names, cfg.n_classes);
    free(kind);
    free(config);
    free(classes);
    free(norm);
    return st;
}

void vit_model_normalize(const vit_model *m, const float *raw, int64_t n, float *dst) {
    const tg_vit_config *cfg = &m->vit.cfg;
    const int64_t pixels = n * cfg->image_h * cfg->image_w;
    if (dst != raw) memcpy(dst, raw, (size_t)(pixels * cfg->channels) * sizeof *dst);
    tg_image_normalize_pixels(dst, pixels, cfg->channels, m->mean, m->std);
}

void vit_model_logits(vit_model *m, tg_tape *tp, const tg_image_set *s, int batch_size, float *logits) {
    const tg_vit_config *cfg = &m->vit.cfg;
    TG_CHECK(s->h == cfg->image_h && s->w == cfg->image_w && s->c == cfg->channels, "vit_model_logits",
             "images are %dx%dx%d, the model takes %dx%dx%d", s->h, s->w, s->c, cfg->image_h, cfg->image_w,
             cfg->channels);
    const int64_t per = (int64_t)s->h * s->w * s->c;
    int grad = tg_tape_set_grad(tp, 0), training = tg_tape_set_training(tp, 0);
    for (int64_t i = 0; i < s->n; i += batch_size) {
        int b = (int)(s->n - i < batch_size ? s->n - i : batch_size);
        tg_tape_reset(tp);
        tg_tensor *x = tg_tape_tensor(tp, TG_SHAPE(b, s->h, s->w, s->c));
        vit_model_normalize(m, s->pixels + i * per, b, x->data);
        tg_tensor *y = tg_vit_forward(tp, &m->vit, x, NULL);
        memcpy(logits + i * cfg->n_classes, y->data, (size_t)b * cfg->n_classes * sizeof *logits);
    }
    tg_tape_reset(tp);
    tg_tape_set_grad(tp, grad);
    tg_tape_set_training(tp, training);
}
