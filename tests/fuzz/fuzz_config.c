/* tests/fuzz/fuzz_config.c — libFuzzer target for the parsers of what a
 * checkpoint's metadata holds: vocabularies (tg_vocab_from_string,
 * tg_char_vocab_from_string), tg_vit_config_parse, and the examples'
 * configurations (pos_config_from_json, tr_config_from_json,
 * model_config_parse of examples/gat, charlm_config_from_json).
 *
 * The first input byte picks the parser (byte % 8: 0 vocabulary, 1
 * character vocabulary, 2 vit, 3 pos, 4 translate, 5 and 6 gat, 7 charlm;
 * bytes 0..6 reach the targets they reached under the earlier % 7, so the
 * kept inputs of tests/fuzz/{corpus,regress}/config, all starting with a
 * byte below 7, still test what they were kept for), the rest is the text.  An error
 * must name the input and leave the output untouched; a success must be
 * in range (the check the model's init would make passes) and survive a
 * round trip through the matching writer unchanged. */
#include "tests/fuzz/fuzz_util.h"

#include "data/text.h"
#include "data/vocab.h"
#include "examples/charlm/model.h"
#include "examples/gat/model.h"
#include "examples/pos_tagger/model.h"
#include "examples/translate/model.h"
#include "nn/vit.h"

static void config_untouched(const void *p, size_t n) {
    for (size_t i = 0; i < n; i++) FZ_ASSERT(((const unsigned char *)p)[i] == 0x5a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
    if (n < 1) return 0;
    int which = data[0] % 8;
    char *s = fz_strdup(data + 1, n - 1);
    tg_status st;
    if (which == 0) {
        tg_vocab v;
        memset(&v, 0x5a, sizeof v);
        st = tg_vocab_from_string("meta:vocab", s, &v);
        fz_check_error(st, "meta:vocab");
        if (st == TG_OK) {
            FZ_ASSERT(v.size >= v.n_special && v.n_special >= 2);
            char *back = tg_vocab_to_string(&v);
            FZ_ASSERT(!strcmp(back, s));
            for (int32_t id = 0; id < v.size; id++) FZ_ASSERT(tg_vocab_str(&v, id) != NULL);
            free(back);
            tg_vocab_free(&v);
        } else {
            config_untouched(&v, sizeof v);
        }
    } else if (which == 1) {
        tg_char_vocab v;
        memset(&v, 0x5a, sizeof v);
        st = tg_char_vocab_from_string("meta:chars", s, &v);
        fz_check_error(st, "meta:chars");
        if (st == TG_OK) {
            FZ_ASSERT(v.size >= 1);
            for (int32_t i = 1; i < v.size; i++) FZ_ASSERT(v.cp[i - 1] < v.cp[i]);
            char *back = tg_char_vocab_to_string(&v);
            FZ_ASSERT(!strcmp(back, s));
            free(back);
            tg_char_vocab_free(&v);
        } else {
            config_untouched(&v, sizeof v);
        }
    } else if (which == 2) {
        tg_vit_config c, back;
        memset(&c, 0x5a, sizeof c);
        st = tg_vit_config_parse(s, "meta:vit.config", &c);
        fz_check_error(st, "meta:vit.config");
        if (st == TG_OK) {
            FZ_ASSERT(tg_vit_config_check(&c) == TG_OK);
            char buf[1024];
            tg_vit_config_format(&c, buf, sizeof buf);
            FZ_ASSERT(tg_vit_config_parse(buf, "again", &back) == TG_OK);
            FZ_ASSERT(back.d_model == c.d_model && back.depth == c.depth && back.patch_size == c.patch_size);
        } else {
            config_untouched(&c, sizeof c);
        }
    } else if (which == 3) {
        pos_config c, back;
        memset(&c, 0x5a, sizeof c);
        st = pos_config_from_json(s, &c);
        fz_check_error(st, "model config");
        if (st == TG_OK) {
            FZ_ASSERT(pos_config_check(&c) == TG_OK);
            char *j = pos_config_to_json(&c);
            FZ_ASSERT(pos_config_from_json(j, &back) == TG_OK);
            FZ_ASSERT(!memcmp(&back, &c, sizeof c));
            free(j);
        } else {
            config_untouched(&c, sizeof c);
        }
    } else if (which == 4) {
        tr_config c, back;
        memset(&c, 0x5a, sizeof c);
        st = tr_config_from_json(s, &c);
        fz_check_error(st, "model config");
        if (st == TG_OK) {
            FZ_ASSERT(tr_config_check(&c) == TG_OK);
            char *j = tr_config_to_json(&c);
            FZ_ASSERT(tr_config_from_json(j, &back) == TG_OK);
            FZ_ASSERT(!memcmp(&back, &c, sizeof c));
            free(j);
        } else {
            config_untouched(&c, sizeof c);
        }
    } else if (which == 7) {
        charlm_config c, back;
        memset(&c, 0x5a, sizeof c);
        st = charlm_config_from_json("meta:charlm.config", s, &c);
        fz_check_error(st, "meta:charlm.config");
        if (st == TG_OK) {
            FZ_ASSERT(charlm_config_check(&c, "again") == TG_OK);
            FZ_ASSERT(c.n_layer <= CHARLM_MAX_LAYERS && c.d_model % c.n_head == 0);
            char *j = charlm_config_to_json(&c);
            FZ_ASSERT(charlm_config_from_json("again", j, &back) == TG_OK);
            FZ_ASSERT(!memcmp(&back, &c, sizeof c));
            free(j);
        } else {
            config_untouched(&c, sizeof c);
        }
    } else {
        model_config c, back;
        memset(&c, 0x5a, sizeof c);
        st = model_config_parse(s, "meta", &c);
        fz_check_error(st, "meta");
        if (st == TG_OK) {
            FZ_ASSERT(c.heads >= 1 && c.hidden >= 1 && c.out_heads >= 1 && c.heads * c.hidden <= 4096);
            char buf[256];
            model_config_format(&c, buf, sizeof buf);
            back = c;
            FZ_ASSERT(model_config_parse(buf, "again", &back) == TG_OK);
            FZ_ASSERT(!memcmp(&back, &c, sizeof c));
        } else {
            config_untouched(&c, sizeof c);
        }
    }
    free(s);
    return 0;
}
