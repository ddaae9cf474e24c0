/* tests/test_config.c — core/config.h: a config struct by its field table,
 * written as JSON and parsed back strictly (every key once, no other key,
 * types and bounds, the cross-field check), the older key=value line read
 * under the same rules, nothing half filled. */
#include "tests/helpers/testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef enum { POOL_CLS, POOL_MEAN } pool_kind;

typedef struct {
    int d_model, n_heads;
    float dropout, eps;
    pool_kind pool;
    int flag;
    int untracked; /* not in the table: parse leaves it alone */
} cfg_t;

static tg_status heads_divide(const void *cfg, const char *what) {
    const cfg_t *c = cfg;
    if (c->d_model % c->n_heads)
        return tg_set_error(TG_ERR_ARG, "%s: n_heads %d does not divide d_model %d", what, c->n_heads, c->d_model);
    return TG_OK;
}

static const char *const pool_names[] = {"cls", "mean"};
static const tg_config_field fields[] = {
    TG_CONFIG_INT(cfg_t, d_model, 1, 1024),
    TG_CONFIG_INT(cfg_t, n_heads, 1, 64),
    TG_CONFIG_FLOAT(cfg_t, dropout, 0, 1, TG_CONFIG_HI_OPEN),
    TG_CONFIG_FLOAT(cfg_t, eps, 0, INFINITY, TG_CONFIG_LO_OPEN),
    TG_CONFIG_ENUM(cfg_t, pool, pool_names),
    TG_CONFIG_INT_OPTIONAL(cfg_t, flag, 0, 1, 1),
};
static const tg_config_schema schema = TG_CONFIG_SCHEMA_LEGACY_LINE(cfg_t, fields, heads_divide);
static const tg_config_schema json_only = TG_CONFIG_SCHEMA(cfg_t, fields, heads_divide); /* no older line */

static const cfg_t good = {.d_model = 128, .n_heads = 4, .dropout = 0.1f, .eps = 1e-6f, .pool = POOL_MEAN,
                           .flag = 0, .untracked = 42};

static void test_round_trip(void **state) {
    (void)state;
    char buf[256];
    int n = tg_config_format(&schema, &good, buf, sizeof buf);
    assert_int_equal(n, (int)strlen(buf));
    assert_string_equal(buf, "{\"d_model\":128,\"n_heads\":4,\"dropout\":0.1,\"eps\":1e-06,\"pool\":\"mean\",\"flag\":0}");
    char small[8];
    assert_int_equal(tg_config_format(&schema, &good, small, sizeof small), n); /* truncated: length needed */
    assert_int_equal((int)strlen(small), 7);
    char *s = tg_config_to_string(&schema, &good);
    assert_string_equal(s, buf);
    cfg_t back = {.untracked = 42};
    assert_int_equal(tg_config_parse(&schema, s, "t", &back), TG_OK);
    assert_memory_equal(&back, &good, sizeof back); /* the same bits, untracked kept */
    free(s);
    /* every float reads back to the same bits */
    const float xs[] = {0.3f, 1.0f / 3.0f, 0.999999940f, 1e-30f, 123456.789f};
    for (size_t i = 0; i < sizeof xs / sizeof *xs; i++) {
        cfg_t c = good, d = good;
        c.dropout = xs[i] < 1 ? xs[i] : 0.5f;
        c.eps = xs[i];
        tg_config_format(&schema, &c, buf, sizeof buf);
        assert_int_equal(tg_config_parse(&schema, buf, "t", &d), TG_OK);
        assert_memory_equal(&c, &d, sizeof c);
    }
    /* any key order, blanks, the optional key absent: its default */
    cfg_t d = good;
    assert_int_equal(tg_config_parse(&schema, " { \"pool\": \"cls\", \"eps\": 1, \"dropout\": 0, \"n_heads\": 2,"
                                              " \"d_model\": 8.0 }\n", "t", &d), TG_OK);
    assert_true(d.d_model == 8 && d.n_heads == 2 && d.pool == POOL_CLS && d.flag == 1 && d.untracked == 42);
    /* the older key=value line */
    assert_int_equal(tg_config_parse(&schema, "d_model=16 n_heads=4 dropout=0.5 eps=1e-5 pool=mean flag=0", "t", &d),
                     TG_OK);
    assert_true(d.d_model == 16 && d.dropout == 0.5f && d.eps == 1e-5f && d.pool == POOL_MEAN && d.flag == 0);
}

static void test_parse_errors(void **state) {
    (void)state;
    const struct { const char *text, *msg; } bad[] = {
        {"{\"d_model\":8,\"n_heads\":2,\"dropout\":0,\"eps\":1}", "ck: missing key 'pool' (one of cls, mean)"},
        {"{\"d_model\":8,\"n_heads\":2,\"dropout\":0,\"eps\":1,\"pool\":\"cls\",\"colour\":3}",
         "ck: unknown key 'colour' (expected the keys d_model, n_heads, dropout, eps, pool, flag)"},
        {"{\"d_model\":8,\"d_model\":8}", "ck: key 'd_model' given twice"},
        {"{\"flag\":1,\"flag\":0}", "ck: key 'flag' given twice"},
        {"{\"d_model\":8.5}", "ck: d_model: expected an integer in 1..1024, found 8.5"},
        {"{\"d_model\":1e12}", "ck: d_model: expected an integer in 1..1024, found 1000000000000"},
        {"{\"d_model\":0}", "ck: d_model: expected an integer in 1..1024, found 0"},
        {"{\"d_model\":\"8\"}", "ck: d_model: expected an integer in 1..1024, found \"8\""},
        {"{\"d_model\":[8]}", "ck: d_model: expected an integer in 1..1024, found an array"},
        {"{\"d_model\":true}", "ck: d_model: expected an integer in 1..1024, found a boolean"},
        {"{\"dropout\":1}", "ck: dropout: expected a number in [0, 1), found 1"},
        {"{\"dropout\":-0.5}", "ck: dropout: expected a number in [0, 1), found -0.5"},
        {"{\"dropout\":0.99999999}", "ck: dropout: expected a number in [0, 1), found 0.99999999"}, /* 1.0f */
        {"{\"eps\":0}", "ck: eps: expected a finite number > 0, found 0"},
        {"{\"eps\":1e39}", "ck: eps: expected a finite number > 0, found 1e+39"},
        {"{\"pool\":\"max\"}", "ck: pool: expected one of cls, mean, found \"max\""},
        {"{\"pool\":0}", "ck: pool: expected one of cls, mean, found 0"},
        {"{\"d_model\":8,\"n_heads\":3,\"dropout\":0,\"eps\":1,\"pool\":\"cls\"}", "ck: n_heads 3 does not divide d_model 8"},
        {"{\"d_model\":8", "ck: expected one JSON object"},
        {"{\"d_model\":8} {}", "ck: expected one JSON object"},
        {"[1, 2]", "ck: expected key=value, found '[1,'"},
        {"d_model", "ck: expected key=value, found 'd_model'"},
        {"d_model=8 d_model=8", "ck: key 'd_model' given twice"},
        {"d_model=8.0", "ck: d_model: expected an integer in 1..1024, found '8.0'"},
        {"d_model=0x10", "ck: d_model: expected an integer in 1..1024, found '0x10'"},
        {"d_model=", "ck: d_model: expected an integer in 1..1024, found ''"},
        {"eps=nan", "ck: eps: expected a finite number > 0, found 'nan'"},
        {"pool=max", "ck: pool: expected one of cls, mean, found 'max'"},
        {"bogus=1", "ck: unknown key 'bogus'"},
        {"", "ck: missing key 'd_model'"},
        {"{\"d_model\\u0000junk\":8}", "ck: a key or value holds a NUL"},
        {"{\"pool\":\"cls\\u0000x\"}", "ck: a key or value holds a NUL"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cfg_t out = good;
        assert_int_equal(tg_config_parse(&schema, bad[i].text, "ck", &out), TG_ERR_FORMAT);
        if (!strstr(tg_last_error(), bad[i].msg))
            fail_msg("%s: expected \"%s\", got \"%s\"", bad[i].text, bad[i].msg, tg_last_error());
        assert_memory_equal(&out, &good, sizeof out); /* nothing half filled */
    }
    cfg_t out = good;
    assert_int_equal(tg_config_parse(&schema, NULL, "ck", &out), TG_ERR_FORMAT);
    /* an escaped backslash before "u0000" is not a NUL: only the line's value is wrong */
    assert_int_equal(tg_config_parse(&schema, "{\"pool\":\"\\\\u0000\"}", "ck", &out), TG_ERR_FORMAT);
    assert_non_null(strstr(tg_last_error(), "ck: pool: expected one of cls, mean"));
    /* a schema without the legacy line refuses it, whatever it holds */
    const char *lines[] = {"d_model=16 n_heads=4 dropout=0.5 eps=1e-5 pool=mean flag=0", "", "[1, 2]"};
    for (size_t i = 0; i < sizeof lines / sizeof *lines; i++) {
        assert_int_equal(tg_config_parse(&json_only, lines[i], "ck", &out), TG_ERR_FORMAT);
        if (!strstr(tg_last_error(), "ck: expected one JSON object"))
            fail_msg("%s: got \"%s\"", lines[i], tg_last_error());
        assert_memory_equal(&out, &good, sizeof out);
    }
    char buf[256];
    tg_config_format(&json_only, &good, buf, sizeof buf);
    assert_int_equal(tg_config_parse(&json_only, buf, "ck", &out), TG_OK);
}

static void test_check(void **state) {
    (void)state;
    assert_int_equal(tg_config_check(&schema, &good, "opts"), TG_OK);
    cfg_t c = good;
    c.n_heads = 65;
    assert_int_equal(tg_config_check(&schema, &c, "opts"), TG_ERR_ARG);
    assert_string_equal(tg_last_error(), "opts: n_heads: expected an integer in 1..64, found 65");
    c = good, c.n_heads = 3;
    assert_int_equal(tg_config_check(&schema, &c, "opts"), TG_ERR_ARG);
    assert_string_equal(tg_last_error(), "opts: n_heads 3 does not divide d_model 128");
    c = good, c.dropout = NAN;
    assert_int_equal(tg_config_check(&schema, &c, "opts"), TG_ERR_ARG);
    assert_non_null(strstr(tg_last_error(), "opts: dropout: expected a number in [0, 1), found nan"));
    c = good, c.pool = (pool_kind)2;
    assert_int_equal(tg_config_check(&schema, &c, "opts"), TG_ERR_ARG);
    assert_non_null(strstr(tg_last_error(), "opts: pool: expected one of cls, mean, found 2"));
    /* the writer refuses what JSON cannot hold */
    c = good, c.eps = INFINITY;
    char buf[256];
    TU_EXPECT_DEATH(tg_config_format(&schema, &c, buf, sizeof buf), "field 'eps' is inf");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
