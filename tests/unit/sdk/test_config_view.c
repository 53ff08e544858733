/* tests/unit/sdk/test_config_view.c — the typed config view (sdk/src/config.c): schema
 * defaults, setters and their errors, nested groups and lists, schema-less ANY trees,
 * and Prometheus' duration and size syntax. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <ignis/config.h>

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define MS_S     1000LL
#define MS_M     (60 * MS_S)
#define MS_H     (60 * MS_M)
#define MS_D     (24 * MS_H)
#define MS_W     (7 * MS_D)
#define MS_Y     (365 * MS_D)

/* ---- durations ------------------------------------------------------------------- */

static void test_parse_duration_good(void **state)
{
    (void)state;
    const struct {
        const char *s;
        int64_t ms;
    } cases[] = {
        {"0", 0},
        {"0s", 0},
        {"0ms", 0},
        {"1ms", 1},
        {"500ms", 500},
        {"15s", 15 * MS_S},
        {"1m", MS_M},
        {"1h30m", MS_H + 30 * MS_M},
        {"90s", 90 * MS_S},
        {"1d", MS_D},
        {"1w", MS_W},
        {"1y", MS_Y},
        {"1y2w3d4h5m6s7ms", MS_Y + 2 * MS_W + 3 * MS_D + 4 * MS_H + 5 * MS_M + 6 * MS_S + 7},
        {"2h0m", 2 * MS_H},
        {"1m1ms", MS_M + 1},
        {"100000d", 100000 * MS_D},
        {"007s", 7 * MS_S},
        {"9223372036854775807ms", INT64_MAX},
    };
    for (size_t i = 0; i < COUNT(cases); i++) {
        int64_t ms = -1;
        if (ignis_parse_duration(cases[i].s, strlen(cases[i].s), &ms) != 0)
            fail_msg("%s: rejected", cases[i].s);
        if (ms != cases[i].ms)
            fail_msg("%s: got %lld want %lld", cases[i].s, (long long)ms, (long long)cases[i].ms);
    }
}

static void test_parse_duration_bad(void **state)
{
    (void)state;
    const char *bad[] = {
        "",
        "1",
        "10",
        "s",
        "ms",
        "-1s",
        "+1s",
        "1x",
        "1S",
        "1H",
        "1.5s",
        " 1s",
        "1s ",
        "1s1m",  /* wrong order */
        "1m1m",  /* unit twice */
        "1ms1s", /* ms before s */
        "1h1y",
        "1d1w",
        "1s1s",
        "00",
        "1mm",
        "1sm",
        "9223372036854775808ms", /* overflow */
        "9223372036854776s",     /* overflow after scaling */
        "292471209y",            /* overflow */
        "292471208y1y",
        "106751991167d1d",
        "99999999999999999999s",
        "1h 30m",
        "1e3s",
    };
    for (size_t i = 0; i < COUNT(bad); i++) {
        int64_t ms = 12345;
        if (ignis_parse_duration(bad[i], strlen(bad[i]), &ms) == 0)
            fail_msg("\"%s\": accepted as %lld", bad[i], (long long)ms);
        assert_int_equal(ms, 12345); /* untouched on error */
    }
    /* the length is honoured: "15s" read as "15" has no unit */
    int64_t ms;
    assert_int_equal(ignis_parse_duration("15s", 2, &ms), -1);
    assert_int_equal(ignis_parse_duration("15sXYZ", 3, &ms), 0);
    assert_int_equal(ms, 15 * MS_S);
}

static void test_format_duration(void **state)
{
    (void)state;
    const struct {
        int64_t ms;
        const char *want;
    } cases[] = {
        {0, "0s"},
        {1, "1ms"},
        {500, "500ms"},
        {15 * MS_S, "15s"},
        {90 * MS_S, "1m30s"},
        {MS_H + 30 * MS_M, "1h30m"},
        {MS_D, "1d"},
        {MS_W, "1w"},
        {2 * MS_W, "2w"},
        {14 * MS_D, "2w"},
        {90 * MS_D, "90d"}, /* not 12w6d: weeks only when exact */
        {MS_Y, "1y"},
        {2 * MS_Y, "2y"},
        {MS_Y + MS_D, "366d"},
        {MS_Y + MS_W, "372d"},
        {53 * MS_W, "53w"},
        {MS_D + MS_S + 1, "1d1s1ms"},
        {36 * MS_H, "1d12h"},
        {-1500, "-1s500ms"},
        {-MS_M, "-1m"},
    };
    for (size_t i = 0; i < COUNT(cases); i++) {
        char buf[64];
        size_t n = ignis_format_duration(cases[i].ms, buf, sizeof buf);
        assert_string_equal(buf, cases[i].want);
        assert_int_equal(n, strlen(cases[i].want));
    }
    /* a short buffer truncates, NUL-terminated, and the full length is returned */
    char small[4];
    assert_int_equal(ignis_format_duration(MS_H + 30 * MS_M, small, sizeof small), 5);
    assert_string_equal(small, "1h3");
    assert_int_equal(ignis_format_duration(MS_H, NULL, 0), 2);
    char big[64];
    ignis_format_duration(INT64_MIN, big, sizeof big);
    assert_int_equal(big[0], '-');
}

static void test_duration_round_trip(void **state)
{
    (void)state;
    /* format then parse gives the value back, across magnitudes */
    int64_t v = 1;
    for (int i = 0; i < 2000; i++) {
        char buf[64];
        int64_t back = -1;
        ignis_format_duration(v, buf, sizeof buf);
        if (ignis_parse_duration(buf, strlen(buf), &back) != 0 || back != v)
            fail_msg("%lld -> %s -> %lld", (long long)v, buf, (long long)back);
        v = v * 3 + (i % 7); /* spreads over many unit combinations */
        if (v > INT64_MAX / 4)
            v = i + 1;
    }
    /* canonical strings survive parse then format */
    const char *canon[] = {"1h30m", "15s",  "0s", "1d",          "1w", "1y",
                           "500ms", "1y1d", "2w", "1d1h1m1s1ms", "5m"};
    for (size_t i = 0; i < COUNT(canon); i++) {
        int64_t ms;
        char buf[64];
        assert_int_equal(ignis_parse_duration(canon[i], strlen(canon[i]), &ms), 0);
        ignis_format_duration(ms, buf, sizeof buf);
        if (strcmp(canon[i], "1y1d") == 0)
            assert_string_equal(buf, "366d"); /* years only when exact */
        else
            assert_string_equal(buf, canon[i]);
    }
}

/* ---- sizes ----------------------------------------------------------------------- */

static void test_parse_size(void **state)
{
    (void)state;
    const struct {
        const char *s;
        uint64_t want;
    } good[] = {
        {"0", 0},
        {"42", 42},
        {"42B", 42},
        {"0B", 0},
        {"1KB", 1024},
        {"1KiB", 1024},
        {"100KB", 102400},
        {"512MB", 512ull << 20},
        {"512MiB", 512ull << 20},
        {"1GB", 1ull << 30},
        {"1GiB", 1ull << 30},
        {"2TB", 2ull << 40},
        {"1PB", 1ull << 50},
        {"1PiB", 1ull << 50},
        {"7EB", 7ull << 60},
        {"1.5GB", 3ull << 29},
        {"0.5KB", 512},
        {"1GB512MB", (1ull << 30) + (512ull << 20)},
        {"9223372036854775807", 9223372036854775807ull},
    };
    for (size_t i = 0; i < COUNT(good); i++) {
        uint64_t v = 1;
        if (ignis_parse_size(good[i].s, strlen(good[i].s), &v) != 0)
            fail_msg("%s: rejected", good[i].s);
        if (v != good[i].want)
            fail_msg("%s: got %llu", good[i].s, (unsigned long long)v);
    }
    const char *bad[] = {"",
                         "B",
                         "KB",
                         "1kb",
                         "1Kb",
                         "1K",
                         "1M",
                         "-1KB",
                         "1 KB",
                         "1XB",
                         "1.KB.",
                         "9223372036854775808",
                         "8EB",
                         "1..5KB",
                         ".",
                         "1GB-",
                         "99999999999999999999999KB",
                         " 1"};
    for (size_t i = 0; i < COUNT(bad); i++) {
        uint64_t v = 77;
        if (ignis_parse_size(bad[i], strlen(bad[i]), &v) == 0)
            fail_msg("\"%s\": accepted as %llu", bad[i], (unsigned long long)v);
        assert_int_equal(v, 77);
    }
}

/* ---- the view ---------------------------------------------------------------------- */

static const struct ignis_option tls_rows[] = {
    {"ca_file", IGNIS_OPT_STRING, NULL, "CA bundle", NULL, 0},
    {"insecure_skip_verify", IGNIS_OPT_BOOL, "false", "skip verification", NULL, 0},
    {NULL, IGNIS_OPT_END, NULL, NULL, NULL, 0},
};

static const struct ignis_option target_rows[] = {
    {"url", IGNIS_OPT_STRING, NULL, "where", NULL, IGNIS_OPT_REQUIRED},
    {"timeout", IGNIS_OPT_DURATION, "10s", "how long", NULL, 0},
    {"tls", IGNIS_OPT_GROUP, NULL, "tls", tls_rows, 0},
    {NULL, IGNIS_OPT_END, NULL, NULL, NULL, 0},
};

static const struct ignis_option schema[] = {
    {"path", IGNIS_OPT_STRING, "/proc/loadavg", "file", NULL, 0},
    {"nodef", IGNIS_OPT_STRING, NULL, "no default", NULL, 0},
    {"workers", IGNIS_OPT_INT, "4", "threads", NULL, 0},
    {"ratio", IGNIS_OPT_FLOAT, "0.25", "ratio", NULL, 0},
    {"enabled", IGNIS_OPT_BOOL, "true", "on", NULL, 0},
    {"interval", IGNIS_OPT_DURATION, "1m30s", "every", NULL, 0},
    {"retention", IGNIS_OPT_SIZE, "512MB", "max size", NULL, 0},
    {"match", IGNIS_OPT_REGEX, "foo.*", "filter", NULL, 0},
    {"password", IGNIS_OPT_SECRET, NULL, "secret", NULL, 0},
    {"files", IGNIS_OPT_STRINGS, "[ \"a.json\", \"b \\\"q\\\".json\" ]", "files", NULL, 0},
    {"one", IGNIS_OPT_STRINGS, "solo", "one default", NULL, 0},
    {"headers", IGNIS_OPT_LABELS,
     "( { name = \"X-A\"; value = \"1\"; }, { name = \"X-B\"; value = \"2\"; } )", "headers", NULL,
     0},
    {"tls", IGNIS_OPT_GROUP, NULL, "tls", tls_rows, 0},
    {"targets", IGNIS_OPT_LIST, NULL, "targets", target_rows, 0},
    {"extra", IGNIS_OPT_ANY, NULL, "raw", NULL, 0},
    {NULL, IGNIS_OPT_END, NULL, NULL, NULL, 0},
};

static void test_view_defaults(void **state)
{
    (void)state;
    struct ignis_config *c = ignis_config_new(schema, "ignis.conf:3");
    assert_non_null(c);
    assert_ptr_equal(ignis_config_schema(c), schema);
    assert_string_equal(ignis_config_where(c, NULL), "ignis.conf:3");
    assert_string_equal(ignis_config_string(c, "path"), "/proc/loadavg");
    assert_null(ignis_config_string(c, "nodef"));
    assert_int_equal(ignis_config_int(c, "workers"), 4);
    assert_true(ignis_config_float(c, "ratio") == 0.25);
    assert_true(ignis_config_float(c, "workers") == 4.0); /* integers read as floats */
    assert_true(ignis_config_bool(c, "enabled"));
    assert_int_equal(ignis_config_duration_ms(c, "interval"), 90 * MS_S);
    assert_string_equal(ignis_config_string(c, "interval"), "1m30s");
    assert_int_equal(ignis_config_size(c, "retention"), 512ull << 20);
    const struct ignis_regex *re = ignis_config_regex(c, "match");
    assert_non_null(re);
    assert_true(ignis_regex_match(re, "foobar", 6));
    assert_false(ignis_regex_match(re, "xfoo", 4));
    assert_null(ignis_config_string(c, "password"));
    assert_int_equal(ignis_config_count(c, "files"), 2);
    assert_string_equal(ignis_config_string_at(c, "files", 0), "a.json");
    assert_string_equal(ignis_config_string_at(c, "files", 1), "b \"q\".json");
    assert_null(ignis_config_string_at(c, "files", 2));
    assert_int_equal(ignis_config_count(c, "one"), 1);
    assert_string_equal(ignis_config_string_at(c, "one", 0), "solo");
    assert_int_equal(ignis_config_count(c, "headers"), 2);
    struct ignis_label l;
    assert_true(ignis_config_label_at(c, "headers", 1, &l));
    assert_string_equal(l.name, "X-B");
    assert_int_equal(l.name_len, 3);
    assert_string_equal(l.value, "2");
    assert_false(ignis_config_label_at(c, "headers", 2, &l));
    /* nothing is "set" from defaults, and defaults have no location */
    for (size_t i = 0; schema[i].name; i++) {
        assert_false(ignis_config_is_set(c, schema[i].name));
        assert_string_equal(ignis_config_where(c, schema[i].name), "");
    }
    /* an absent group reads as a view of its defaults */
    const struct ignis_config *tls = ignis_config_group(c, "tls");
    assert_non_null(tls);
    assert_ptr_equal(ignis_config_schema(tls), tls_rows);
    assert_false(ignis_config_bool(tls, "insecure_skip_verify"));
    assert_null(ignis_config_string(tls, "ca_file"));
    /* an empty list */
    assert_int_equal(ignis_config_count(c, "targets"), 0);
    assert_null(ignis_config_at(c, "targets", 0));
    /* ANY reads as an empty schema-less group */
    const struct ignis_config *extra = ignis_config_group(c, "extra");
    assert_non_null(extra);
    assert_null(ignis_config_schema(extra));
    assert_int_equal(ignis_config_nkeys(extra), 0);
    ignis_config_free(c);
}

static void test_view_unknown_keys_read_zero(void **state)
{
    (void)state;
    struct ignis_config *c = ignis_config_new(schema, "f:1");
    assert_null(ignis_config_string(c, "nope"));
    assert_int_equal(ignis_config_int(c, "nope"), 0);
    assert_true(ignis_config_float(c, "nope") == 0);
    assert_false(ignis_config_bool(c, "nope"));
    assert_int_equal(ignis_config_duration_ms(c, "nope"), 0);
    assert_int_equal(ignis_config_size(c, "nope"), 0);
    assert_null(ignis_config_regex(c, "nope"));
    assert_int_equal(ignis_config_count(c, "nope"), 0);
    assert_null(ignis_config_group(c, "nope"));
    assert_null(ignis_config_row(c, "nope"));
    assert_false(ignis_config_is_set(c, "nope"));
    assert_string_equal(ignis_config_where(c, "nope"), "");
    /* asking with the wrong type is a programming error too: zero values */
    assert_int_equal(ignis_config_int(c, "path"), 0);
    assert_false(ignis_config_bool(c, "workers"));
    assert_null(ignis_config_group(c, "path"));
    assert_null(ignis_config_string_at(c, "headers", 0));
    assert_null(ignis_config_string(NULL, "path"));
    assert_string_equal(ignis_config_where(NULL, NULL), "");
    ignis_config_free(c);
    ignis_config_free(NULL);
}

static void test_view_set_text(void **state)
{
    (void)state;
    struct ignis_config *c = ignis_config_new(schema, "f:1");
    char err[256];
    const struct {
        const char *key, *text;
    } good[] = {
        {"path", "/tmp/x"}, {"workers", "-12"},    {"ratio", "1e3"}, {"enabled", "FALSE"},
        {"interval", "2h"}, {"retention", "1GiB"}, {"match", "a|b"}, {"password", "hunter2"},
    };
    for (size_t i = 0; i < COUNT(good); i++) {
        char where[32];
        snprintf(where, sizeof where, "f:%zu", i + 10);
        if (ignis_config_set(c, good[i].key, good[i].text, where, err, sizeof err) != 0)
            fail_msg("%s=%s: %s", good[i].key, good[i].text, err);
        assert_true(ignis_config_is_set(c, good[i].key));
        assert_string_equal(ignis_config_where(c, good[i].key), where);
    }
    assert_string_equal(ignis_config_string(c, "path"), "/tmp/x");
    assert_int_equal(ignis_config_int(c, "workers"), -12);
    assert_true(ignis_config_float(c, "ratio") == 1000.0);
    assert_false(ignis_config_bool(c, "enabled"));
    assert_int_equal(ignis_config_duration_ms(c, "interval"), 2 * MS_H);
    assert_string_equal(ignis_config_string(c, "interval"), "2h");
    assert_int_equal(ignis_config_size(c, "retention"), 1ull << 30);
    assert_true(ignis_regex_match(ignis_config_regex(c, "match"), "b", 1));
    assert_false(ignis_regex_match(ignis_config_regex(c, "match"), "ab", 2));
    assert_string_equal(ignis_config_string(c, "match"), "a|b");
    assert_string_equal(ignis_config_string(c, "password"), "hunter2");
    /* setting again replaces */
    assert_int_equal(ignis_config_set(c, "path", "/y", "f:99", err, sizeof err), 0);
    assert_string_equal(ignis_config_string(c, "path"), "/y");
    assert_string_equal(ignis_config_where(c, "path"), "f:99");
    ignis_config_free(c);
}

static void test_view_set_errors(void **state)
{
    (void)state;
    struct ignis_config *c = ignis_config_new(schema, "f:1");
    const struct {
        const char *key, *text, *want; /* want: a substring of the message */
    } bad[] = {
        {"workers", "4x", "bad integer \"4x\""},
        {"workers", "", "bad integer"},
        {"workers", "99999999999999999999", "bad integer"},
        {"workers", "1.5", "bad integer"},
        {"ratio", "fast", "bad number \"fast\""},
        {"ratio", "1e999", "bad number"},
        {"enabled", "yes", "bad boolean \"yes\""},
        {"interval", "1x", "bad duration \"1x\""},
        {"interval", "1s1m", "bad duration"},
        {"retention", "12 apples", "bad size \"12 apples\""},
        {"match", "(", "bad regex \"(\": error parsing regexp"},
        {"match", "a**", "nested repetition"},
        {"headers", "x", "name = ...; value = ..."},
        {"tls", "x", "expected a group"},
        {"targets", "x", "expected a list of groups"},
        {"extra", "x", "expected a group"},
        {"nope", "x", "unknown setting \"nope\""},
    };
    for (size_t i = 0; i < COUNT(bad); i++) {
        char err[256] = "";
        if (ignis_config_set(c, bad[i].key, bad[i].text, "f:5", err, sizeof err) == 0)
            fail_msg("%s=%s accepted", bad[i].key, bad[i].text);
        if (!strstr(err, bad[i].want))
            fail_msg("%s=%s: message \"%s\" lacks \"%s\"", bad[i].key, bad[i].text, err,
                     bad[i].want);
        /* a failed set loses nothing: the old value (here the default) stays */
        assert_false(ignis_config_is_set(c, bad[i].key));
    }
    assert_int_equal(ignis_config_int(c, "workers"), 4);
    assert_int_equal(ignis_config_duration_ms(c, "interval"), 90 * MS_S);
    assert_non_null(ignis_config_regex(c, "match"));
    /* a NULL err buffer is fine */
    assert_int_equal(ignis_config_set(c, "workers", "x", "f:1", NULL, 0), -1);
    ignis_config_free(c);
}

static void test_view_typed_setters(void **state)
{
    (void)state;
    struct ignis_config *c = ignis_config_new(schema, "f:1");
    assert_int_equal(ignis_config_set_int(c, "workers", 9, "f:2"), 0);
    assert_int_equal(ignis_config_int(c, "workers"), 9);
    assert_int_equal(ignis_config_set_int(c, "ratio", 3, "f:3"), 0); /* int into float */
    assert_true(ignis_config_float(c, "ratio") == 3.0);
    assert_int_equal(ignis_config_set_float(c, "ratio", 0.5, "f:4"), 0);
    assert_true(ignis_config_float(c, "ratio") == 0.5);
    assert_int_equal(ignis_config_set_bool(c, "enabled", false, "f:5"), 0);
    assert_false(ignis_config_bool(c, "enabled"));
    assert_int_equal(ignis_config_set_int(c, "retention", 4096, "f:6"), 0);
    assert_int_equal(ignis_config_size(c, "retention"), 4096);
    assert_string_equal(ignis_config_where(c, "retention"), "f:6");
    /* type mismatches */
    assert_int_equal(ignis_config_set_int(c, "retention", -1, "f:7"), -1);
    assert_int_equal(ignis_config_set_int(c, "path", 1, "f:7"), -1);
    assert_int_equal(ignis_config_set_int(c, "interval", 1, "f:7"), -1);
    assert_int_equal(ignis_config_set_bool(c, "workers", true, "f:7"), -1);
    assert_int_equal(ignis_config_set_float(c, "workers", 1.5, "f:7"), -1);
    assert_int_equal(ignis_config_set_bool(c, "nope", true, "f:7"), -1);
    assert_int_equal(ignis_config_add_string(c, "path", "x", "f:7"), -1);
    assert_int_equal(ignis_config_add_label(c, "files", "a", "b", "f:7"), -1);
    assert_null(ignis_config_add_group(c, "path", "f:7"));
    assert_null(ignis_config_add_list_group(c, "tls", "f:7"));
    assert_int_equal(ignis_config_int(c, "workers"), 9);
    ignis_config_free(c);
}

static void test_view_lists_replace_defaults(void **state)
{
    (void)state;
    struct ignis_config *c = ignis_config_new(schema, "f:1");
    char err[128];
    assert_int_equal(ignis_config_add_string(c, "files", "x.yml", "f:20"), 0);
    assert_int_equal(ignis_config_add_string(c, "files", "y.yml", "f:21"), 0);
    assert_int_equal(ignis_config_count(c, "files"), 2);
    assert_string_equal(ignis_config_string_at(c, "files", 0), "x.yml");
    assert_string_equal(ignis_config_string_at(c, "files", 1), "y.yml");
    assert_string_equal(ignis_config_where(c, "files"), "f:20");
    /* set() on a STRINGS row appends too */
    assert_int_equal(ignis_config_set(c, "one", "first", "f:22", err, sizeof err), 0);
    assert_int_equal(ignis_config_count(c, "one"), 1);
    assert_string_equal(ignis_config_string_at(c, "one", 0), "first");
    assert_int_equal(ignis_config_add_label(c, "headers", "Auth", "x", "f:23"), 0);
    assert_int_equal(ignis_config_count(c, "headers"), 1);
    struct ignis_label l;
    assert_true(ignis_config_label_at(c, "headers", 0, &l));
    assert_string_equal(l.name, "Auth");
    assert_int_equal(l.value_len, 1);
    ignis_config_free(c);
}

static void test_view_groups_and_lists(void **state)
{
    (void)state;
    struct ignis_config *c = ignis_config_new(schema, "f:1");
    char err[128];
    struct ignis_config *tls = ignis_config_add_group(c, "tls", "f:30");
    assert_non_null(tls);
    assert_ptr_equal(ignis_config_add_group(c, "tls", "f:99"), tls); /* same view */
    assert_true(ignis_config_is_set(c, "tls"));
    assert_string_equal(ignis_config_where(c, "tls"), "f:30");
    assert_string_equal(ignis_config_where(tls, NULL), "f:30");
    assert_int_equal(ignis_config_set(tls, "ca_file", "/ca.pem", "f:31", err, sizeof err), 0);
    assert_int_equal(ignis_config_set(tls, "url", "x", "f:31", err, sizeof err), -1);
    assert_ptr_equal(ignis_config_group(c, "tls"), tls);
    assert_string_equal(ignis_config_string(ignis_config_group(c, "tls"), "ca_file"), "/ca.pem");

    for (int i = 0; i < 3; i++) {
        char where[16], url[32];
        snprintf(where, sizeof where, "f:%d", 40 + i);
        snprintf(url, sizeof url, "http://h%d", i);
        struct ignis_config *t = ignis_config_add_group(c, "targets", where);
        assert_non_null(t);
        assert_ptr_equal(ignis_config_schema(t), target_rows);
        assert_int_equal(ignis_config_set(t, "url", url, where, err, sizeof err), 0);
        if (i == 1) {
            assert_int_equal(ignis_config_set(t, "timeout", "3s", where, err, sizeof err), 0);
            struct ignis_config *tt = ignis_config_add_group(t, "tls", where);
            assert_int_equal(ignis_config_set_bool(tt, "insecure_skip_verify", true, where), 0);
        }
    }
    assert_non_null(ignis_config_add_list_group(c, "targets", "f:50"));
    assert_int_equal(ignis_config_count(c, "targets"), 4);
    assert_string_equal(ignis_config_where(c, "targets"), "f:40");
    for (int i = 0; i < 3; i++) {
        const struct ignis_config *t = ignis_config_at(c, "targets", (size_t)i);
        char url[32], where[16];
        snprintf(url, sizeof url, "http://h%d", i);
        snprintf(where, sizeof where, "f:%d", 40 + i);
        assert_string_equal(ignis_config_string(t, "url"), url);
        assert_string_equal(ignis_config_where(t, NULL), where);
        assert_int_equal(ignis_config_duration_ms(t, "timeout"), i == 1 ? 3 * MS_S : 10 * MS_S);
        assert_int_equal(ignis_config_bool(ignis_config_group(t, "tls"), "insecure_skip_verify"),
                         i == 1);
    }
    const struct ignis_config *last = ignis_config_at(c, "targets", 3);
    assert_null(ignis_config_string(last, "url"));
    assert_null(ignis_config_at(c, "targets", 4));
    ignis_config_free(c);
}

static void test_view_any_schemaless(void **state)
{
    (void)state;
    struct ignis_config *c = ignis_config_new(schema, "f:1");
    char err[128];
    struct ignis_config *x = ignis_config_add_group(c, "extra", "f:60");
    assert_non_null(x);
    assert_null(ignis_config_schema(x));
    assert_int_equal(ignis_config_set(x, "anything", "goes", "f:61", err, sizeof err), 0);
    assert_int_equal(ignis_config_set_int(x, "n", 7, "f:62"), 0);
    assert_int_equal(ignis_config_set_float(x, "f", 2.5, "f:63"), 0);
    assert_int_equal(ignis_config_set_bool(x, "b", true, "f:64"), 0);
    assert_int_equal(ignis_config_add_string(x, "arr", "p", "f:65"), 0);
    assert_int_equal(ignis_config_add_string(x, "arr", "q", "f:65"), 0);
    assert_int_equal(ignis_config_add_label(x, "kv", "k", "v", "f:66"), 0);
    struct ignis_config *sub = ignis_config_add_group(x, "nested", "f:67");
    assert_non_null(sub);
    assert_int_equal(ignis_config_set(sub, "deep", "yes", "f:68", err, sizeof err), 0);
    assert_non_null(ignis_config_add_list_group(x, "items", "f:69"));
    struct ignis_config *it = ignis_config_add_list_group(x, "items", "f:70");
    assert_non_null(it);
    assert_int_equal(ignis_config_set_int(it, "i", 1, "f:70"), 0);
    /* an existing key keeps its type */
    assert_int_equal(ignis_config_set_int(x, "anything", 1, "f:71"), -1);
    assert_null(ignis_config_add_list_group(x, "nested", "f:71"));

    const struct ignis_config *r = ignis_config_group(c, "extra");
    assert_ptr_equal(r, x);
    assert_true(ignis_config_is_set(c, "extra"));
    const char *keys[] = {"anything", "n", "f", "b", "arr", "kv", "nested", "items"};
    const enum ignis_opt_type types[] = {IGNIS_OPT_STRING, IGNIS_OPT_INT,     IGNIS_OPT_FLOAT,
                                         IGNIS_OPT_BOOL,   IGNIS_OPT_STRINGS, IGNIS_OPT_LABELS,
                                         IGNIS_OPT_GROUP,  IGNIS_OPT_LIST};
    assert_int_equal(ignis_config_nkeys(r), COUNT(keys));
    for (size_t i = 0; i < COUNT(keys); i++) {
        assert_string_equal(ignis_config_key_at(r, i), keys[i]);
        assert_int_equal(ignis_config_row(r, keys[i])->type, types[i]);
    }
    assert_null(ignis_config_key_at(r, COUNT(keys)));
    assert_string_equal(ignis_config_string(r, "anything"), "goes");
    assert_string_equal(ignis_config_where(r, "anything"), "f:61");
    assert_int_equal(ignis_config_int(r, "n"), 7);
    assert_true(ignis_config_float(r, "f") == 2.5);
    assert_true(ignis_config_bool(r, "b"));
    assert_int_equal(ignis_config_count(r, "arr"), 2);
    assert_string_equal(ignis_config_string_at(r, "arr", 1), "q");
    assert_int_equal(ignis_config_count(r, "kv"), 1);
    assert_string_equal(ignis_config_string(ignis_config_group(r, "nested"), "deep"), "yes");
    assert_int_equal(ignis_config_count(r, "items"), 2);
    assert_int_equal(ignis_config_int(ignis_config_at(r, "items", 1), "i"), 1);
    /* the schema rows' own keys */
    assert_int_equal(ignis_config_nkeys(c), COUNT(schema) - 1);
    assert_string_equal(ignis_config_key_at(c, 0), "path");
    ignis_config_free(c);
}

/* A group row whose .sub is its own table must not recurse forever. */
static const struct ignis_option loop_rows[];
static const struct ignis_option loop_rows[] = {
    {"name", IGNIS_OPT_STRING, "n", "", NULL, 0},
    {"child", IGNIS_OPT_GROUP, NULL, "", loop_rows, 0},
    {NULL, IGNIS_OPT_END, NULL, NULL, NULL, 0},
};

static void test_view_self_referential_schema(void **state)
{
    (void)state;
    struct ignis_config *c = ignis_config_new(loop_rows, "f:1");
    assert_non_null(c);
    const struct ignis_config *g = c;
    int depth = 0;
    while ((g = ignis_config_group(g, "child")) != NULL) {
        assert_string_equal(ignis_config_string(g, "name"), "n");
        depth++;
        assert_true(depth < 1000);
    }
    assert_true(depth > 4);
    ignis_config_free(c);
}

static void test_view_bad_defaults_read_zero(void **state)
{
    (void)state;
    static const struct ignis_option rows[] = {
        {"d", IGNIS_OPT_DURATION, "soon", "", NULL, 0},
        {"i", IGNIS_OPT_INT, "many", "", NULL, 0},
        {"r", IGNIS_OPT_REGEX, "(", "", NULL, 0},
        {"l", IGNIS_OPT_LABELS, "( { name = \"a\"; } )", "", NULL, 0},
        {"s", IGNIS_OPT_STRINGS, "[ ]", "", NULL, 0},
        {NULL, IGNIS_OPT_END, NULL, NULL, NULL, 0},
    };
    struct ignis_config *c = ignis_config_new(rows, "f:1");
    assert_non_null(c);
    assert_int_equal(ignis_config_duration_ms(c, "d"), 0);
    assert_int_equal(ignis_config_int(c, "i"), 0);
    assert_null(ignis_config_regex(c, "r"));
    assert_int_equal(ignis_config_count(c, "l"), 0);
    assert_int_equal(ignis_config_count(c, "s"), 0);
    ignis_config_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_duration_good),
        cmocka_unit_test(test_parse_duration_bad),
        cmocka_unit_test(test_format_duration),
        cmocka_unit_test(test_duration_round_trip),
        cmocka_unit_test(test_parse_size),
        cmocka_unit_test(test_view_defaults),
        cmocka_unit_test(test_view_unknown_keys_read_zero),
        cmocka_unit_test(test_view_set_text),
        cmocka_unit_test(test_view_set_errors),
        cmocka_unit_test(test_view_typed_setters),
        cmocka_unit_test(test_view_lists_replace_defaults),
        cmocka_unit_test(test_view_groups_and_lists),
        cmocka_unit_test(test_view_any_schemaless),
        cmocka_unit_test(test_view_self_referential_schema),
        cmocka_unit_test(test_view_bad_defaults_read_zero),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
