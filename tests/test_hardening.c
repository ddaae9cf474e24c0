/* tests/test_hardening.c — the examples' binaries (build/pos_tagger,
 * translate, vit, gat) on crafted inputs: every class of bad external input
 * (issue 12) ends in a message naming the file and what was expected, exit
 * status 1 — never an abort (TG_CHECK), a sanitizer report or a gigabyte
 * allocation.  Each valid checkpoint is trained here in a second on toy
 * data; the bad ones are edits of its header or data.  The binaries are
 * found next to this test's directory ($(BUILD)/tests/.. = $(BUILD)). */
#define _POSIX_C_SOURCE 200809L
#include "helpers/testutil.h"

#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "data/png.h"

static char build_dir[1024];

/* Runs build/<prog> args[0], args[1], ... (NULL-terminated) with stdin from
 * `in` (or /dev/null), stdout to /dev/null; its stderr into err; returns the
 * exit status, or 128 + signal when it was killed (an abort is 134). */
static int run_args(const char *in, char *err, size_t len, const char *prog, const char *const *args) {
    char exe[1200];
    snprintf(exe, sizeof exe, "%s/%s", build_dir, prog);
    char *argv[64];
    int argc = 0;
    argv[argc++] = exe;
    for (; *args && argc < 63; args++) argv[argc++] = (char *)*args;
    argv[argc] = NULL;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    fflush(stdout);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int i = open(in ? in : "/dev/null", O_RDONLY), o = open("/dev/null", O_WRONLY);
        dup2(i, 0);
        dup2(o, 1);
        dup2(fds[1], 2);
        close(fds[0]);
        execv(exe, argv);
        _exit(127);
    }
    close(fds[1]);
    size_t n = 0;
    ssize_t k;
    char sink[512];
    while ((k = read(fds[0], n + 1 < len ? err + n : sink, n + 1 < len ? len - 1 - n : sizeof sink)) > 0)
        if (n + 1 < len) n += (size_t)k;
    err[n] = 0;
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* run_args with the arguments listed: run(in, err, len, prog, "a", "b"). */
#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})
#define run(in, err, len, prog, ...) run_args((in), (err), (len), (prog), ARGS(__VA_ARGS__))

/* Expects build/<prog> args to exit with status 1 and every snippet in stderr. */
static void expect_fail(const char *in, const char *const *snips, const char *prog, const char *const *args) {
    char e[8192];
    int rc = run_args(in, e, sizeof e, prog, args);
    if (rc != 1) fail_msg("%s %s: exit %d (want 1); stderr: %s", prog, args[0], rc, e);
    for (const char *const *s = snips; *s; s++)
        if (!strstr(e, *s)) fail_msg("%s %s: stderr \"%s\" lacks \"%s\"", prog, args[0], e, *s);
}
#define SNIPS(...) ((const char *const[]){__VA_ARGS__, NULL})
#define EXPECT_FAIL(in, snips, prog, ...) expect_fail((in), (snips), (prog), ARGS(__VA_ARGS__))

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

/* ---- editing a checkpoint ------------------------------------------------ */

typedef struct {
    unsigned char *bytes;
    size_t n;
    uint64_t hl;
    cJSON *header;
} ckpt;

static void ckpt_read(const char *path, ckpt *c) {
    c->bytes = (unsigned char *)tu_slurp(path, &c->n);
    c->hl = 0;
    for (int i = 7; i >= 0; i--) c->hl = (c->hl << 8) | c->bytes[i];
    c->header = cJSON_ParseWithLength((const char *)c->bytes + 8, (size_t)c->hl);
    assert_non_null(c->header);
}

static void ckpt_free(ckpt *c) {
    cJSON_Delete(c->header);
    free(c->bytes);
}

/* Writes c with its (edited) header, or with `raw_header` when non-NULL. */
static void ckpt_write(const ckpt *c, const char *path, const char *raw_header) {
    char *h = raw_header ? (char *)raw_header : cJSON_PrintUnformatted(c->header);
    size_t hl = strlen(h), padded = (hl + 7) & ~(size_t)7, data = c->n - 8 - (size_t)c->hl;
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    unsigned char len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    fwrite(len8, 1, 8, f);
    fwrite(h, 1, hl, f);
    for (size_t i = hl; i < padded; i++) fputc(' ', f);
    fwrite(c->bytes + 8 + c->hl, 1, data, f);
    assert_int_equal(fclose(f), 0);
    if (!raw_header) free(h);
}

/* src with metadata key set to value, into dst. */
static void with_meta(const char *src, const char *dst, const char *key, const char *value) {
    ckpt c;
    ckpt_read(src, &c);
    cJSON *m = cJSON_GetObjectItemCaseSensitive(c.header, "__metadata__");
    cJSON_DeleteItemFromObjectCaseSensitive(m, key);
    cJSON_AddStringToObject(m, key, value);
    ckpt_write(&c, dst, NULL);
    ckpt_free(&c);
}

/* src with the JSON config's field set to a number, into dst. */
static void with_config(const char *src, const char *dst, const char *key, const char *field, double v) {
    char *s = NULL;
    assert_int_equal(tg_checkpoint_read_metadata(src, key, &s), TG_OK);
    cJSON *o = cJSON_Parse(s);
    free(s);
    cJSON_DeleteItemFromObjectCaseSensitive(o, field);
    cJSON_AddNumberToObject(o, field, v);
    char *t = cJSON_PrintUnformatted(o);
    with_meta(src, dst, key, t);
    free(t);
    cJSON_Delete(o);
}

/* The JSON config object json as the older "key=value key=value" line (malloc'd). */
static char *legacy_line(const char *json) {
    cJSON *o = cJSON_Parse(json);
    assert_non_null(o);
    char *line = calloc(1, 2 * strlen(json) + 64); /* %.9g may be longer than the JSON number */
    for (const cJSON *v = o->child; v; v = v->next) {
        size_t n = strlen(line);
        if (cJSON_IsString(v)) sprintf(line + n, "%s%s=%s", n ? " " : "", v->string, v->valuestring);
        else sprintf(line + n, "%s%s=%.9g", n ? " " : "", v->string, v->valuedouble);
    }
    cJSON_Delete(o);
    return line;
}

/* One edit of a checkpoint's JSON config and the message it must cause. */
typedef struct {
    const char *field;
    double v;
    const char *msg;
} config_edit;

/* For each edit: good with the config in metadata `key` edited (with_config)
 * into bad, then build/<prog> args (which name bad) must fail with bad and
 * the edit's message in stderr. */
static void expect_config_edits(const char *good, const char *bad, const char *key, const config_edit *e, size_t n,
                                const char *in, const char *prog, const char *const *args) {
    for (size_t i = 0; i < n; i++) {
        with_config(good, bad, key, e[i].field, e[i].v);
        expect_fail(in, SNIPS(bad, e[i].msg), prog, args);
    }
}

/* src with metadata `key` given twice (first a wrong value), into dst. */
static void with_duplicate_meta(const char *src, const char *dst, const char *key) {
    ckpt c;
    ckpt_read(src, &c);
    char *h = cJSON_PrintUnformatted(c.header);
    const char *at = strstr(h, "\"__metadata__\":{");
    assert_non_null(at);
    size_t k = (size_t)(at - h) + strlen("\"__metadata__\":{");
    char *h2 = malloc(strlen(h) + strlen(key) + 32);
    sprintf(h2, "%.*s\"%s\":\"x\",%s", (int)k, h, key, h + k);
    ckpt_write(&c, dst, h2);
    free(h2);
    free(h);
    ckpt_free(&c);
}

/* src with element i of tensor `name` set to v, into dst. */
static void with_value(const char *src, const char *dst, const char *name, int i, float v) {
    ckpt c;
    ckpt_read(src, &c);
    cJSON *e = cJSON_GetObjectItemCaseSensitive(c.header, name);
    assert_non_null(e);
    size_t begin = (size_t)cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(e, "data_offsets"), 0)->valuedouble;
    memcpy(c.bytes + 8 + c.hl + begin + 4 * (size_t)i, &v, 4);
    ckpt_write(&c, dst, NULL);
    ckpt_free(&c);
}

static char *path_in(const char *dir, const char *file) {
    static char buf[8][1200];
    static int k;
    char *p = buf[k++ & 7];
    snprintf(p, sizeof buf[0], "%s/%s", dir, file);
    return p;
}

/* ---- pos_tagger ------------------------------------------------------------ */

static void toy_conllu(const char *path, int n) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    static const char *const tags[] = {"NOUN", "VERB", "DET", "ADJ"};
    for (int s = 0; s < n; s++) {
        for (int i = 0; i < 2 + s % 4; i++)
            fprintf(f, "%d\tw%d\t_\t%s\t_\t_\t_\t_\t_\t_\n", i + 1, (s * 7 + i) % 13, tags[(s + i) % 4]);
        fputc('\n', f);
    }
    assert_int_equal(fclose(f), 0);
}

static void test_pos_tagger(void **state) {
    (void)state;
    const char *d = tu_tmpdir();
    char *train = strdup(path_in(d, "pos_train.conllu")), *good = strdup(path_in(d, "pos.safetensors"));
    char *bad = strdup(path_in(d, "pos_bad.safetensors"));
    toy_conllu(train, 20);
    char err[8192];
    int rc = run(NULL, err, sizeof err, "pos_tagger", "train", "--train", train, "--epochs", "1", "--d-model", "8",
                 "--heads", "2", "--d-ff", "8", "--d-word", "8", "--d-char", "4", "--filters", "8", "--layers", "1",
                 "--learned-pos", "1", "--ema", "0", "--threads", "1", "--save", good);
    if (rc != 0) fail_msg("pos_tagger train: exit %d: %s", rc, err);

    rc = run(NULL, err, sizeof err, "pos_tagger", "eval", "--model", good, "--data", train);
    if (rc != 0) fail_msg("pos_tagger eval on the good model: exit %d: %s", rc, err);
    /* a sentence longer than the learned position table (max_len 512) */
    char *longtxt = strdup(path_in(d, "long.txt"));
    FILE *f = fopen(longtxt, "wb");
    for (int i = 0; i < 600; i++) fprintf(f, "w%d ", i % 13);
    fputs("\n", f);
    fclose(f);
    EXPECT_FAIL(longtxt, SNIPS("<stdin>: sentence 1 (sent_id 1) has 600 words", "max_len = 512"), "pos_tagger",
                "tag", "--model", good);
    /* CoNLL-U: a sentence with only empty nodes; a training file without sentences */
    char *nowords = strdup(path_in(d, "nowords.conllu"));
    write_text(nowords, "1\ta\t_\tDET\t_\t_\t_\t_\t_\t_\n\n0.1\tx\t_\tX\t_\t_\t_\t_\t_\t_\n\n");
    EXPECT_FAIL(NULL, SNIPS(":3: sentence has no word lines"), "pos_tagger", "eval", "--model", good, "--data", nowords);
    char *empty = strdup(path_in(d, "empty.conllu"));
    write_text(empty, "");
    EXPECT_FAIL(NULL, SNIPS("empty.conllu:1: no sentences"), "pos_tagger", "train", "--train", empty);
    EXPECT_FAIL(NULL, SNIPS("n_heads 3 does not divide d_model 128"), "pos_tagger", "train", "--train", train,
                "--heads", "3");

    /* the configuration in the metadata */
    static const config_edit cfgs[] = {
        {"d_model", 1048576, "tensor 'proj.weight': F32 [8, 40] in file, the metadata's configuration gives F32 [1048576, 40]"},
        {"d_ff", 1000000, "tensor 'layers.0.mlp.fc1.weight'"},
        {"max_len", 1000000, "tensor 'pos_emb.weight'"},
        {"d_model", 0, "d_model: expected an integer in 1..1048576, found 0"},
        {"n_heads", 3, "n_heads 3 does not divide d_model 8"},
        {"n_layers", 9, "n_layers: expected an integer in 1..8, found 9"},
        {"n_layers", 2, "tensor 'layers.1.mlp.fc1.weight' missing"},
        {"d_word", 1e12, "d_word: expected an integer in 1..1048576, found 1000000000000"},
        {"d_word", 2.5, "d_word: expected an integer in 1..1048576, found 2.5"},
        {"words_only", 2, "words_only: expected an integer in 0..1, found 2"},
        {"words_only", 1, "tensor 'char_emb.weight' is not a parameter of the model"},
        {"char_kw_max", 8, "char_kw_max: expected an integer in 0..7, found 8"},
        {"char_kw_min", 0, "character convolution widths 0..5"},
        {"char_kw_min", 6, "character convolution widths 6..5"},
        {"char_kw_max", 6, "tensor 'char_conv6.weight' missing"},
        {"char_kw_min", 3, "tensor 'proj.weight': F32 [8, 40] in file, the metadata's configuration gives F32 [8, 32]"},
        {"dropout", 1.5, "dropout: expected a number in [0, 1), found 1.5"},
        {"word_vocab", 1000, "metadata word_vocab: a word vocabulary of 15 entries; expected a word vocabulary of 1000"},
    };
    expect_config_edits(good, bad, "config", cfgs, sizeof cfgs / sizeof *cfgs, NULL, "pos_tagger",
                        ARGS("tag", "--model", bad));
    /* vocabularies of the wrong kind, another model's file, duplicate keys, NaN */
    char *cv = NULL;
    assert_int_equal(tg_checkpoint_read_metadata(good, "char_vocab", &cv), TG_OK);
    with_meta(good, bad, "word_vocab", cv);
    free(cv);
    EXPECT_FAIL(NULL, SNIPS(bad, "metadata word_vocab: a char vocabulary"), "pos_tagger", "tag", "--model", bad);
    with_meta(good, bad, "word_vocab", "tapegrad-vocab 1\nkind word\n");
    EXPECT_FAIL(NULL, SNIPS(bad, "metadata word_vocab:3: expected 'normalize none|digits'"), "pos_tagger", "tag",
                "--model", bad);
    with_meta(good, bad, "model", "translate");
    EXPECT_FAIL(NULL, SNIPS(bad, "expected 'pos_tagger'"), "pos_tagger", "tag", "--model", bad);
    with_duplicate_meta(good, bad, "config");
    EXPECT_FAIL(NULL, SNIPS(bad, "metadata key 'config' appears twice"), "pos_tagger", "tag", "--model", bad);
    with_value(good, bad, "head.weight", 5, NAN);
    EXPECT_FAIL(NULL, SNIPS(bad, "tensor 'head.weight': element 5 is nan"), "pos_tagger", "tag", "--model", bad);
    with_meta(good, bad, "tapegrad.step", "-3");
    EXPECT_FAIL(NULL, SNIPS(bad, "'tapegrad.step' = \"-3\""), "pos_tagger", "tag", "--model", bad);
    free(train), free(good), free(bad), free(longtxt), free(nowords), free(empty);
}

/* ---- translate -------------------------------------------------------------- */

static void test_translate(void **state) {
    (void)state;
    const char *d = tu_tmpdir();
    char *pairs = strdup(path_in(d, "pairs.txt")), *dir = strdup(path_in(d, "tr"));
    char *good = strdup(path_in(d, "tr/model.safetensors")), *bad = strdup(path_in(d, "tr_bad.safetensors"));
    static const char *const en[] = {"i am", "you are", "he is", "we are"}, *const fr[] = {"je suis", "tu es", "il est", "nous sommes"};
    static const char *const adj_en[] = {"happy", "sad", "tall", "cold"}, *const adj_fr[] = {"content", "triste", "grand", "froid"};
    FILE *f = fopen(pairs, "wb");
    for (int i = 0; i < 160; i++)
        fprintf(f, "%s %s .\t%s %s .\n", en[i % 4], adj_en[(i / 4) % 4], fr[i % 4], adj_fr[(i / 4) % 4]);
    fclose(f);
    char err[8192];
    int rc = run(NULL, err, sizeof err, "translate", "train", "--data", pairs, "--dir", dir, "--epochs", "1",
                 "--d-model", "8", "--heads", "2", "--d-ff", "8", "--enc-layers", "1", "--dec-layers", "1",
                 "--threads", "1", "--beam", "2");
    if (rc != 0) fail_msg("translate train: exit %d: %s", rc, err);
    char *in = strdup(path_in(d, "in.txt"));
    write_text(in, "je suis content .\n");
    rc = run(in, err, sizeof err, "translate", "translate", "--model", good);
    if (rc != 0) fail_msg("translate translate on the good model: exit %d: %s", rc, err);
    EXPECT_FAIL(in, SNIPS("--max-len in 2..1024"), "translate", "translate", "--model", good, "--max-len", "100000000");
    EXPECT_FAIL(in, SNIPS("--beam must be in 1..64"), "translate", "translate", "--model", good, "--beam", "100000");
    EXPECT_FAIL(NULL, SNIPS("n_heads 3 does not divide d_model 64"), "translate", "train", "--data", pairs, "--dir",
                dir, "--heads", "3");
    char *nopairs = strdup(path_in(d, "nopairs.txt")), *dir2 = strdup(path_in(d, "tr2"));
    write_text(nopairs, "");
    EXPECT_FAIL(NULL, SNIPS("nopairs.txt: no sentence pairs for training"), "translate", "train", "--data", nopairs,
                "--dir", dir2);
    free(nopairs), free(dir2);
    static const config_edit cfgs[] = {
        {"d_model", 1048576, "tensor 'src_emb.weight'"},
        {"d_ff", 1000000, "tensor 'encoder.layers.0.mlp.fc1.weight'"},
        {"n_dec", 3, "tensor 'decoder.layers.1.mlp.fc1.weight' missing"},
        {"n_enc", 0, "n_enc: expected an integer in 1..8, found 0"},
        {"n_heads", 3, "n_heads 3 does not divide d_model 8"},
        {"src_vocab", 1e9, "src_vocab: expected an integer in 5..1048576, found 1000000000"},
        {"d_ff", 0.5, "d_ff: expected an integer in 1..1048576, found 0.5"},
    };
    expect_config_edits(good, bad, "config", cfgs, sizeof cfgs / sizeof *cfgs, in, "translate",
                        ARGS("translate", "--model", bad));
    char *sv = NULL;
    assert_int_equal(tg_checkpoint_read_metadata(good, "src_vocab", &sv), TG_OK);
    char *cfg_s = NULL;
    assert_int_equal(tg_checkpoint_read_metadata(good, "config", &cfg_s), TG_OK);
    cJSON *o = cJSON_Parse(cfg_s);
    int src_n = (int)cJSON_GetObjectItemCaseSensitive(o, "src_vocab")->valuedouble;
    int tgt_n = (int)cJSON_GetObjectItemCaseSensitive(o, "tgt_vocab")->valuedouble;
    cJSON_Delete(o);
    free(cfg_s);
    if (src_n != tgt_n) {
        with_meta(good, bad, "tgt_vocab", sv);
        EXPECT_FAIL(in, SNIPS(bad, "metadata tgt_vocab: a seq vocabulary of"), "translate", "translate", "--model", bad);
    }
    free(sv);
    with_meta(good, bad, "src_vocab", "tapegrad-vocab 1\nkind word\nnormalize none\nspecials <pad> <unk>\nsize 3\n1\ta\n1\tb\n1\tc\n");
    EXPECT_FAIL(in, SNIPS(bad, "metadata src_vocab: a word vocabulary of 5 entries"), "translate", "translate", "--model", bad);
    with_value(good, bad, "src_emb.weight", 0, INFINITY);
    EXPECT_FAIL(in, SNIPS(bad, "tensor 'src_emb.weight': element 0 is inf"), "translate", "translate", "--model", bad);
    free(pairs), free(dir), free(good), free(bad), free(in);
}

/* ---- vit ---------------------------------------------------------------------- */

static void test_vit(void **state) {
    (void)state;
    const char *d = tu_tmpdir();
    char *root = strdup(path_in(d, "imgs")), *good = strdup(path_in(d, "vit.safetensors"));
    char *bad = strdup(path_in(d, "vit_bad.safetensors"));
    mkdir(root, 0777);
    tg_rng rng;
    tg_rng_seed(&rng, 1);
    uint8_t rgb[8 * 8 * 3];
    for (int k = 0; k < 2; k++) {
        char p[1300];
        snprintf(p, sizeof p, "%s/class%d", root, k);
        mkdir(p, 0777);
        for (int i = 0; i < 10; i++) {
            for (int j = 0; j < 8 * 8 * 3; j++) rgb[j] = (uint8_t)(k * 120 + tg_rng_below(&rng, 100));
            snprintf(p, sizeof p, "%s/class%d/%02d.png", root, k, i);
            assert_int_equal(tg_png_write_rgb(p, rgb, 8, 8), TG_OK);
        }
    }
    char err[8192];
    int rc = run(NULL, err, sizeof err, "vit", "train", "--data", root, "--patch", "4", "--d-model", "8", "--depth",
                 "1", "--heads", "2", "--d-ff", "8", "--epochs", "1", "--batch-size", "4", "--augment", "0",
                 "--threads", "1", "--save", good);
    if (rc != 0) fail_msg("vit train: exit %d: %s", rc, err);
    char *png = strdup(path_in(d, "imgs/class0/00.png"));
    rc = run(NULL, err, sizeof err, "vit", "predict", "--model", good, png);
    if (rc != 0) fail_msg("vit predict on the good model: exit %d: %s", rc, err);
    char *cfg = NULL;
    assert_int_equal(tg_checkpoint_read_metadata(good, "vit.config", &cfg), TG_OK);
    static const config_edit edits[] = {
        {"d_model", 1048576, "tensor 'patch_embed.proj.weight'"},
        {"d_ff", 100000000, "tensor 'blocks.0.mlp.fc1.weight'"},
        {"depth", 1000000000, "depth 1000000000"},
        {"depth", 2, "tensor 'blocks.1.mlp.fc1.weight' missing"},
        {"image_h", 40000, "tokens: at most"},
        {"image_h", 4000, "tensor 'pos_embed': F32 [1, 5, 8] in file"},
        {"n_heads", 3, "n_heads 3 does not divide d_model 8"},
        {"colour", 3, "unknown key 'colour'"},
        {"pool", 2, "pool: expected one of cls, mean, found 2"},
    };
    expect_config_edits(good, bad, "vit.config", edits, sizeof edits / sizeof *edits, NULL, "vit",
                        ARGS("predict", "--model", bad, png));
    char c2[1024];
    snprintf(c2, sizeof c2, "{\"n_heads\":2,%s", cfg + 1);
    with_meta(good, bad, "vit.config", c2);
    EXPECT_FAIL(NULL, SNIPS(bad, "key 'n_heads' given twice"), "vit", "predict", "--model", bad, png);
    /* a checkpoint of the older key=value form still loads */
    char *line = legacy_line(cfg);
    with_meta(good, bad, "vit.config", line);
    rc = run(NULL, err, sizeof err, "vit", "predict", "--model", bad, png);
    if (rc != 0) fail_msg("vit predict with the config as \"%s\": exit %d: %s", line, rc, err);
    free(line);
    free(cfg);
    with_value(good, bad, "head.bias", 1, NAN);
    EXPECT_FAIL(NULL, SNIPS(bad, "tensor 'head.bias': element 1 is nan"), "vit", "predict", "--model", bad, png);
    with_duplicate_meta(good, bad, "vit.classes");
    EXPECT_FAIL(NULL, SNIPS(bad, "metadata key 'vit.classes' appears twice"), "vit", "predict", "--model", bad, png);
    free(root), free(good), free(bad), free(png);
}

/* ---- gat (on Cora; skipped without `make data`) ---------------------------- */

static void test_gat(void **state) {
    (void)state;
    struct stat st;
    if (stat("data/cora/cora.meta", &st) != 0) {
        printf("SKIPPED: data/cora not found (run `make data`)\n");
        skip();
    }
    const char *d = tu_tmpdir();
    char *good = strdup(path_in(d, "gat.safetensors")), *bad = strdup(path_in(d, "gat_bad.safetensors"));
    char *png = strdup(path_in(d, "emb.png"));
    char err[8192];
    int rc = run(NULL, err, sizeof err, "gat", "train", "--epochs", "1", "--heads", "2", "--hidden", "4",
                 "--threads", "1", "--save", good);
    if (rc != 0) fail_msg("gat train: exit %d: %s", rc, err);
    rc = run(NULL, err, sizeof err, "gat", "embed", "--model", good, "--png", png);
    if (rc != 0) fail_msg("gat embed on the good model: exit %d: %s", rc, err);
    /* an output that cannot be written fails at the start (TG_CLI_OUTPUT), before any training */
    char *nowhere = strdup(path_in(d, "no/such/dir/gat.safetensors"));
    rc = run(NULL, err, sizeof err, "gat", "train", "--epochs", "1000", "--threads", "1", "--log-csv", nowhere);
    if (rc != 2 || !strstr(err, "--log-csv: ") || !strstr(err, "cannot write there"))
        fail_msg("gat train --log-csv into a missing folder: exit %d: %s", rc, err);
    free(nowhere);
    struct { const char *cfg, *msg; } cases[] = {
        {"layer=gat heads=4096 hidden=4096 out_heads=1", "heads x hidden = 4096 x 4096, at most 4096"},
        {"layer=gat heads=99999999999 hidden=4 out_heads=1", "heads: expected an integer in 1..4096, found '99999999999'"},
        {"{\"layer\":\"gat\",\"heads\":2,\"hidden\":4,\"out_heads\":1,\"heads\":2}", "key 'heads' given twice"},
        {"{\"layer\":\"sage\",\"heads\":2,\"hidden\":4,\"out_heads\":1}", "layer: expected one of gat, dot, found \"sage\""},
        {"layer=gat heads=8 hidden=512 out_heads=1", "tensor 'conv1.lin.weight'"},
        {"layer=dot heads=2 hidden=4 out_heads=1", "tensor 'conv1.lin_query.weight' missing"},
        {"layer=gat heads=2 hidden=4 out_heads=1 x", "expected key=value, found 'x'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        with_meta(good, bad, "gat.config", cases[i].cfg);
        EXPECT_FAIL(NULL, SNIPS(bad, cases[i].msg), "gat", "embed", "--model", bad, "--png", png);
    }
    EXPECT_FAIL(NULL, SNIPS("heads x hidden"), "gat", "train", "--heads", "100000", "--hidden", "100000");
    free(good), free(bad), free(png);
}

/* ---- charlm ------------------------------------------------------------------ */

static void test_charlm(void **state) {
    (void)state;
    const char *d = tu_tmpdir();
    char *txt = strdup(path_in(d, "lm.txt")), *good = strdup(path_in(d, "lm.safetensors"));
    char *bad = strdup(path_in(d, "lm_bad.safetensors")), *tiny = strdup(path_in(d, "lm_tiny.txt"));
    static const char *const words[] = {"the ", "king ", "speaks ", "now ", "ROMEO: ", "love "};
    char *text = malloc(20000);
    size_t n = 0;
    tg_rng rng;
    tg_rng_seed(&rng, 3);
    while (n < 19000) {
        const char *w = words[tg_rng_below(&rng, 6)];
        memcpy(text + n, w, strlen(w));
        n += strlen(w);
    }
    text[n] = 0;
    write_text(txt, text);
    free(text);
    write_text(tiny, "a short text of forty-two characters only");
    char err[8192];
    int rc = run(NULL, err, sizeof err, "charlm", "train", "--data", txt, "--steps", "2", "--batch-size", "2",
                 "--block-size", "16", "--n-layer", "1", "--n-head", "2", "--d-model", "8", "--warmup", "1",
                 "--eval-batches", "1", "--save", good);
    if (rc != 0) fail_msg("charlm train: exit %d: %s", rc, err);
    rc = run(NULL, err, sizeof err, "charlm", "sample", "--model", good, "--prompt", "the", "--length", "8");
    if (rc != 0) fail_msg("charlm sample on the good model: exit %d: %s", rc, err);
    static const config_edit edits[] = {
        {"d_model", 1 << 20, "d_model: expected an integer in 1..16384, found 1048576"},
        {"d_model", 16, "tensor 'tok_emb.weight'"},
        {"n_layer", 2, "tensor 'blocks.1.mlp.fc1.weight' missing"},
        {"n_layer", 1000, "n_layer: expected an integer in 1..16, found 1000"},
        {"n_head", 3, "n_head 3 does not divide d_model 8"},
        {"block_size", 60000, "tensor 'pos_emb.weight'"},
        {"vocab", 5, "the config says vocab 5"},
        {"vocab", 0.5, "vocab: expected an integer in 1..1048576, found 0.5"},
        {"dropout", 0.1, "unknown key 'dropout'"},
    };
    expect_config_edits(good, bad, "charlm.config", edits, sizeof edits / sizeof *edits, NULL, "charlm",
                        ARGS("sample", "--model", bad, "--length", "4"));
    with_value(good, bad, "ln_f.weight", 1, NAN);
    EXPECT_FAIL(NULL, SNIPS(bad, "tensor 'ln_f.weight': element 1 is nan"), "charlm", "sample", "--model", bad);
    with_duplicate_meta(good, bad, "charlm.vocab");
    EXPECT_FAIL(NULL, SNIPS(bad, "metadata key 'charlm.vocab' appears twice"), "charlm", "sample", "--model", bad);
    EXPECT_FAIL(NULL, SNIPS("length in 0..16777216"), "charlm", "sample", "--model", good, "--length", "2000000000");
    EXPECT_FAIL(NULL, SNIPS("n_head: expected an integer in 1..16384, found 0"), "charlm", "train", "--data", txt, "--n-head", "0", "--warmup",
                "1", "--steps", "2", "--save", bad);
    EXPECT_FAIL(NULL, SNIPS("n_layer: expected an integer in 1..16, found 100"), "charlm", "train", "--data", txt, "--n-layer", "100", "--warmup",
                "1", "--steps", "2", "--save", bad);
    EXPECT_FAIL(NULL, SNIPS(tiny, "longer than block-size 64"), "charlm", "train", "--data", tiny, "--warmup", "1",
                "--steps", "2", "--save", bad);
    free(txt), free(good), free(bad), free(tiny);
}

int main(int argc, char **argv) {
    (void)argc;
    /* $(BUILD)/tests/test_hardening -> $(BUILD) */
    snprintf(build_dir, sizeof build_dir, "%s", argv[0]);
    for (int up = 0; up < 2; up++) {
        char *s = strrchr(build_dir, '/');
        if (s) *s = '\0';
        else snprintf(build_dir, sizeof build_dir, up ? ".." : ".");
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pos_tagger),
        cmocka_unit_test(test_translate),
        cmocka_unit_test(test_vit),
        cmocka_unit_test(test_gat),
        cmocka_unit_test(test_charlm),
    };
    return cmocka_run_group_tests(tests, tu_tmpdir_setup, tu_tmpdir_teardown);
}
