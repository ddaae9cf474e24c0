/* tests/fuzz/fuzz_checkpoint.c — libFuzzer target for the safetensors
 * checkpoint loader (train/checkpoint.c).
 *
 * The input is the file.  It is loaded into a small fixed model (three
 * parameters with PyTorch-style names) with, by the file size's low bits,
 * no extra state or Adam (or AdamW) state + two generators + metadata
 * (with or without TG_CKPT_IGNORE_UNKNOWN);
 * tg_checkpoint_read_metadata and tg_checkpoint_expect_shapes read it too.
 * A failed load must leave everything byte-identical (parameters, Adam m, v
 * and t, the generators, step/epoch, the metadata) and name the file; a
 * successful one must give finite parameters, v >= 0, counts >= 0 and
 * non-zero generator states. */
#include "tests/fuzz/fuzz_util.h"

#include <math.h>

#include "optim/optim.h"
#include "train/checkpoint.h"

typedef struct {
    tg_params ps;
    tg_adam adam;
    tg_rng rng[2];
} ck_state;

static void ck_state_init(ck_state *s, int decoupled) {
    tg_params_init(&s->ps);
    tg_params_new(&s->ps, TG_SHAPE(4, 3), "encoder.layers.0.attn.w_q.weight");
    tg_params_new(&s->ps, TG_SHAPE(4), "encoder.layers.0.attn.w_q.bias");
    tg_params_new(&s->ps, TG_SHAPE(2, 1, 2), "head.weight");
    for (int64_t i = 0; i < s->ps.total; i++) s->ps.data[i] = 0.25f * (float)i - 1.0f;
    if (decoupled) tg_adamw_init(&s->adam, &s->ps, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f);
    else tg_adam_init(&s->adam, &s->ps, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.0f);
    for (int64_t i = 0; i < s->ps.total; i++) s->adam.m[i] = 0.5f, s->adam.v[i] = 2.0f;
    s->adam.t = 7;
    tg_rng_seed(&s->rng[0], 1);
    tg_rng_seed(&s->rng[1], 2);
}

static void ck_state_free(ck_state *s) {
    tg_adam_free(&s->adam);
    tg_params_free(&s->ps);
}

static int ck_same(const ck_state *a, const ck_state *b) {
    size_t bytes = (size_t)a->ps.total * sizeof(float);
    return !memcmp(a->ps.data, b->ps.data, bytes) && !memcmp(a->adam.m, b->adam.m, bytes) &&
           !memcmp(a->adam.v, b->adam.v, bytes) && a->adam.t == b->adam.t &&
           !memcmp(a->rng, b->rng, sizeof a->rng);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
    const char *path = fz_put("ck.safetensors", data, n, 0);
    int full = n & 1, decoupled = (n >> 1) & 1;
    ck_state s, before;
    ck_state_init(&s, decoupled);
    ck_state_init(&before, decoupled);
    tg_checkpoint_extra ex = {0};
    if (full) {
        ex.adam = &s.adam;
        ex.rng[0] = &s.rng[0];
        ex.rng[2] = &s.rng[1];
        ex.flags = (n >> 2) & 1 ? TG_CKPT_IGNORE_UNKNOWN : 0;
    }
    tg_checkpoint_meta_set(&ex, "keep", "me");
    ex.step = 11, ex.epoch = 12;
    tg_status st = tg_checkpoint_load(path, &s.ps, full ? &ex : NULL);
    fz_check_error(st, path);
    if (st != TG_OK) {
        FZ_ASSERT(ck_same(&s, &before));
        FZ_ASSERT(ex.step == 11 && ex.epoch == 12 && ex.n_meta == 1);
        FZ_ASSERT(!strcmp(tg_checkpoint_meta_get(&ex, "keep"), "me"));
    } else {
        for (int64_t i = 0; i < s.ps.total; i++) FZ_ASSERT(isfinite(s.ps.data[i]));
        if (full) {
            FZ_ASSERT(ex.step >= 0 && ex.epoch >= 0 && s.adam.t >= 0);
            for (int64_t i = 0; i < s.ps.total; i++) FZ_ASSERT(isfinite(s.adam.m[i]) && s.adam.v[i] >= 0);
            for (int r = 0; r < 2; r++)
                FZ_ASSERT(s.rng[r].s[0] | s.rng[r].s[1] | s.rng[r].s[2] | s.rng[r].s[3]);
            for (int i = 0; i < ex.n_meta; i++)
                FZ_ASSERT(strncmp(ex.meta_key[i], "tapegrad.", 9) != 0);
        }
    }
    char *v = NULL;
    st = tg_checkpoint_read_metadata(path, "config", &v);
    fz_check_error(st, path);
    FZ_ASSERT((st == TG_OK) == (v != NULL));
    free(v);
    tg_ckpt_shape want[2] = {{"head.weight", 3, {2, 1, 2}}, {"encoder.layers.0.attn.w_q.bias", 1, {4}}};
    st = tg_checkpoint_expect_shapes(path, 2, want);
    fz_check_error(st, path);
    tg_checkpoint_extra_free(&ex);
    ck_state_free(&s);
    ck_state_free(&before);
    return 0;
}
