/* tests/unit/sdk/test_expose.c — the writer's pieces: number layout, name escaping
 * schemes, content negotiation, and what the writer sink refuses. */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/buffer.h>

#include <ignis/expose.h>
#include <ignis/metrics.h>

static void fmt_is(double v, int om, const char *want)
{
    char buf[40];
    size_t n = ignis_format_double(buf, v, om);
    if (strcmp(buf, want) != 0 || n != strlen(want))
        fail_msg("format(%.17g, om=%d) = \"%s\", want \"%s\"", v, om, buf, want);
}

static void floats_like_go(void **state)
{
    (void)state;
    /* text 0.0.4: Go's strconv.FormatFloat(v, 'g', -1, 64) */
    fmt_is(0, 0, "0");
    fmt_is(-0.0, 0, "0");
    fmt_is(1, 0, "1");
    fmt_is(-1, 0, "-1");
    fmt_is(12.47, 0, "12.47");
    fmt_is(0.1, 0, "0.1");
    fmt_is(0.005, 0, "0.005");
    fmt_is(0.0001, 0, "0.0001");
    fmt_is(0.00001, 0, "1e-05");
    fmt_is(100000, 0, "100000");
    fmt_is(999999, 0, "999999");
    fmt_is(1000000, 0, "1e+06");
    fmt_is(1234567, 0, "1.234567e+06");
    fmt_is(17560473, 0, "1.7560473e+07");
    fmt_is(1.458255915e9, 0, "1.458255915e+09");
    fmt_is(1e21, 0, "1e+21");
    fmt_is(1e100, 0, "1e+100");
    fmt_is(1.7976931348623157e308, 0, "1.7976931348623157e+308");
    fmt_is(5e-324, 0, "5e-324");
    fmt_is(2.2250738585072014e-308, 0, "2.2250738585072014e-308");
    fmt_is(0.1 + 0.2, 0, "0.30000000000000004");
    fmt_is(1.0 / 3, 0, "0.3333333333333333");
    fmt_is(123456.789, 0, "123456.789");
    fmt_is(9007199254740993.0, 0, "9.007199254740992e+15");
    fmt_is(18446744073709551615.0, 0, "1.8446744073709552e+19");
    fmt_is(-2.5e-7, 0, "-2.5e-07");
    fmt_is(INFINITY, 0, "+Inf");
    fmt_is(-INFINITY, 0, "-Inf");
    fmt_is(NAN, 0, "NaN");
    /* OpenMetrics: the canonical numbers of the spec */
    const double vals[] = {0, 0.001, 0.002, 0.01, 0.1, 0.9, 0.95, 0.99, 0.999, 1, 1.7, 10};
    const char *want[] = {"0.0", "0.001", "0.002", "0.01", "0.1", "0.9",
                          "0.95", "0.99", "0.999", "1.0", "1.7", "10.0"};
    for (int i = 0; i < 12; i++)
        fmt_is(vals[i], 1, want[i]);
    const double pw[] = {1e-10, 1e-09, 1e-05, 0.0001, 0.1, 1.0, 100000.0, 1e+06, 1e+10};
    const char *pwant[] = {"1e-10", "1e-09", "1e-05", "0.0001", "0.1",
                           "1.0", "100000.0", "1e+06", "1e+10"};
    for (int i = 0; i < 9; i++)
        fmt_is(pw[i], 1, pwant[i]);
    fmt_is(INFINITY, 1, "+Inf");
    fmt_is(NAN, 1, "NaN");
    fmt_is(1.1e23, 1, "1.1e+23");
}

/* Every rendering reads back as the same double, and no shorter one exists with the
 * %.{p}g renderings' digits (checked against the C library). */
static void floats_round_trip(void **state)
{
    (void)state;
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        double v;
        memcpy(&v, &x, sizeof v);
        if (!isfinite(v))
            continue;
        char buf[40];
        ignis_format_double(buf, v, 0);
        double back = strtod(buf, NULL);
        if (back != v && !(v == 0 && back == 0))
            fail_msg("%.17g rendered as %s reads back as %.17g", v, buf, back);
        /* shortest: the C library's %.{p}g for p below our digit count does not round-trip */
        int digits = 0;
        for (const char *p = buf; *p && *p != 'e'; p++)
            if (*p >= '0' && *p <= '9')
                digits++;
        char tmp[400];
        if (digits > 1) {
            snprintf(tmp, sizeof tmp, "%.*g", digits - 1, v);
            if (strtod(tmp, NULL) == v && strchr(buf, 'e'))
                fail_msg("%s is not the shortest for %.17g (%s)", buf, v, tmp);
        }
    }
}

static void esc_is(const char *name, int label, enum ignis_escaping e, const char *want)
{
    char out[128];
    size_t n = ignis_escape_name(out, sizeof out, name, strlen(name), label, e);
    if (strcmp(out, want) != 0 || n != strlen(want))
        fail_msg("escape(%s, %d) = %s, want %s", name, (int)e, out, want);
}

static void name_escaping_schemes(void **state)
{
    (void)state;
    esc_is("http_requests_total", 0, IGNIS_ESCAPE_UNDERSCORES, "http_requests_total");
    esc_is("metric.name/with/slashes", 0, IGNIS_ESCAPE_UNDERSCORES, "metric_name_with_slashes");
    esc_is("0abc", 0, IGNIS_ESCAPE_UNDERSCORES, "_abc");
    esc_is("a:b", 0, IGNIS_ESCAPE_UNDERSCORES, "a:b");
    esc_is("a:b", 1, IGNIS_ESCAPE_UNDERSCORES, "a_b");
    esc_is("héllo", 0, IGNIS_ESCAPE_UNDERSCORES, "h_llo");
    esc_is("metric.name.with.dots", 0, IGNIS_ESCAPE_DOTS, "metric_dot_name_dot_with_dot_dots");
    esc_is("a_b.c-d", 0, IGNIS_ESCAPE_DOTS, "a__b_dot_c_d");
    esc_is("plain", 0, IGNIS_ESCAPE_DOTS, "plain");
    esc_is("metric.name", 0, IGNIS_ESCAPE_VALUES, "U__metric_2E_name");
    esc_is("a_b.c", 0, IGNIS_ESCAPE_VALUES, "U__a__b_2E_c");
    esc_is("é", 1, IGNIS_ESCAPE_VALUES, "U___E9_");
    esc_is("legacy_name", 0, IGNIS_ESCAPE_VALUES, "legacy_name");
    esc_is("my.metric", 0, IGNIS_ESCAPE_ALLOW_UTF8, "my.metric");
    /* the length needed, as snprintf */
    char small[4];
    assert_int_equal(ignis_escape_name(small, sizeof small, "a.b.c", 5, 0,
                                       IGNIS_ESCAPE_UNDERSCORES), 5);
    assert_string_equal(small, "a_b");
}

static void negotiated(const char *accept, enum ignis_expose_kind kind,
                       enum ignis_escaping esc, const char *ctype)
{
    struct ignis_expose_format f;
    ignis_expose_negotiate(accept, &f);
    if (f.kind != kind || f.escaping != esc || strcmp(f.content_type, ctype) != 0)
        fail_msg("Accept: %s -> kind %d esc %d \"%s\"; want %d %d \"%s\"", accept ? accept : "(none)",
                 f.kind, f.escaping, f.content_type, kind, esc, ctype);
}

#define CT_TEXT "text/plain; version=0.0.4; charset=utf-8; escaping=underscores"
#define CT_OM "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores"
#define CT_OM_UTF8 \
    "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=allow-utf-8"

static void content_negotiation(void **state)
{
    (void)state;
    /* no header, or nothing we write */
    negotiated(NULL, IGNIS_EXPOSE_TEXT_0_0_4, IGNIS_ESCAPE_UNDERSCORES, CT_TEXT);
    negotiated("", IGNIS_EXPOSE_TEXT_0_0_4, IGNIS_ESCAPE_UNDERSCORES, CT_TEXT);
    negotiated("application/json", IGNIS_EXPOSE_TEXT_0_0_4, IGNIS_ESCAPE_UNDERSCORES, CT_TEXT);
    negotiated("*/*", IGNIS_EXPOSE_TEXT_0_0_4, IGNIS_ESCAPE_UNDERSCORES, CT_TEXT);
    /* Prometheus 2.42's scrape header */
    negotiated("application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
               "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
               IGNIS_EXPOSE_OPENMETRICS_1_0_0, IGNIS_ESCAPE_UNDERSCORES, CT_OM);
    /* Prometheus 3.x's default scrape header (UTF-8 names allowed) */
    negotiated("application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,"
               "application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;"
               "escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1",
               IGNIS_EXPOSE_OPENMETRICS_1_0_0, IGNIS_ESCAPE_ALLOW_UTF8, CT_OM_UTF8);
    /* ... and with metric_name_validation_scheme: legacy */
    negotiated("application/openmetrics-text;version=1.0.0;escaping=underscores;q=0.5,"
               "application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;"
               "escaping=underscores;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1",
               IGNIS_EXPOSE_OPENMETRICS_1_0_0, IGNIS_ESCAPE_UNDERSCORES, CT_OM);
    /* Prometheus 3.x asked for the text format only (scrape_protocols) */
    negotiated("text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;"
               "q=0.2,*/*;q=0.1",
               IGNIS_EXPOSE_TEXT_1_0_0, IGNIS_ESCAPE_ALLOW_UTF8,
               "text/plain; version=1.0.0; charset=utf-8; escaping=allow-utf-8");
    /* the docs' spelling allow-utf8 */
    negotiated("application/openmetrics-text;version=1.0.0;escaping=allow-utf8",
               IGNIS_EXPOSE_OPENMETRICS_1_0_0, IGNIS_ESCAPE_ALLOW_UTF8, CT_OM_UTF8);
    /* text preferred by q */
    negotiated("application/openmetrics-text;q=0.3, text/plain;q=0.9",
               IGNIS_EXPOSE_TEXT_0_0_4, IGNIS_ESCAPE_UNDERSCORES, CT_TEXT);
    /* equal q: OpenMetrics */
    negotiated("text/plain;version=0.0.4;q=0.5, application/openmetrics-text; version=1.0.0; q=0.5",
               IGNIS_EXPOSE_OPENMETRICS_1_0_0, IGNIS_ESCAPE_UNDERSCORES, CT_OM);
    /* OpenMetrics 0.0.1 only */
    negotiated("application/openmetrics-text; version=0.0.1", IGNIS_EXPOSE_OPENMETRICS_0_0_1,
               IGNIS_ESCAPE_UNDERSCORES,
               "application/openmetrics-text; version=0.0.1; charset=utf-8; escaping=underscores");
    /* other escapings, unknown ones, unknown versions, q=0, junk */
    negotiated("text/plain;version=0.0.4;escaping=dots", IGNIS_EXPOSE_TEXT_0_0_4,
               IGNIS_ESCAPE_DOTS, "text/plain; version=0.0.4; charset=utf-8; escaping=dots");
    negotiated("text/plain;escaping=values", IGNIS_EXPOSE_TEXT_0_0_4, IGNIS_ESCAPE_VALUES,
               "text/plain; version=0.0.4; charset=utf-8; escaping=values");
    negotiated("text/plain;escaping=bogus", IGNIS_EXPOSE_TEXT_0_0_4, IGNIS_ESCAPE_UNDERSCORES,
               CT_TEXT);
    negotiated("application/openmetrics-text;version=2.0.0,text/plain;q=0.1",
               IGNIS_EXPOSE_TEXT_0_0_4, IGNIS_ESCAPE_UNDERSCORES, CT_TEXT);
    negotiated("application/openmetrics-text;q=0,text/plain;q=0.1", IGNIS_EXPOSE_TEXT_0_0_4,
               IGNIS_ESCAPE_UNDERSCORES, CT_TEXT);
    negotiated(";;;,,=,application/openmetrics-text;q=abc,APPLICATION/OpenMetrics-Text ; "
               "Version=\"1.0.0\"",
               IGNIS_EXPOSE_OPENMETRICS_1_0_0, IGNIS_ESCAPE_UNDERSCORES, CT_OM);
}

static void gzip_acceptance(void **state)
{
    (void)state;
    assert_false(ignis_expose_accepts_gzip(NULL));
    assert_false(ignis_expose_accepts_gzip(""));
    assert_false(ignis_expose_accepts_gzip("identity"));
    assert_true(ignis_expose_accepts_gzip("gzip"));
    assert_true(ignis_expose_accepts_gzip("deflate, gzip;q=0.5"));
    assert_false(ignis_expose_accepts_gzip("gzip;q=0"));
    assert_true(ignis_expose_accepts_gzip("*"));
    assert_false(ignis_expose_accepts_gzip("*, gzip;q=0"));
    assert_true(ignis_expose_accepts_gzip("x-gzip"));
}

/* ---- the writer ------------------------------------------------------------------ */

struct out {
    struct evbuffer *b;
    struct ignis_sink *s;
};

static struct out open_w(enum ignis_expose_kind k, enum ignis_escaping e)
{
    struct out o;
    struct ignis_expose_format f;
    ignis_expose_format_init(&f, k, e);
    o.b = evbuffer_new();
    o.s = ignis_sink_writer_new(o.b, &f);
    assert_non_null(o.s);
    return o;
}

static char *close_w(struct out *o, int *rc)
{
    int r = ignis_sink_writer_finish(o->s);
    if (rc)
        *rc = r;
    size_t n = evbuffer_get_length(o->b);
    char *t = malloc(n + 1);
    evbuffer_remove(o->b, t, n);
    t[n] = '\0';
    evbuffer_free(o->b);
    return t;
}

static void writer_refuses_bad_input(void **state)
{
    (void)state;
    struct out o = open_w(IGNIS_EXPOSE_TEXT_0_0_4, IGNIS_ESCAPE_UNDERSCORES);
    struct ignis_label l = ignis_label_make("a", "b");
    /* no family yet */
    assert_int_equal(ignis_sink_sample(o.s, "", NULL, 0, 1, IGNIS_NO_TIMESTAMP), -1);
    assert_int_equal(ignis_sink_family(o.s, "g", IGNIS_METRIC_GAUGE, "G.", ""), 0);
    /* a suffix gauges do not have: the name would not be the family's */
    assert_int_equal(ignis_sink_sample(o.s, "_total", NULL, 0, 1, IGNIS_NO_TIMESTAMP), -1);
    assert_int_equal(ignis_sink_sample(o.s, "_bucket", &l, 1, 1, IGNIS_NO_TIMESTAMP), -1);
    /* invalid UTF-8 in a label value, an empty label name: the line is taken back */
    struct ignis_label bad = {"a", 1, "\xc3\x28", 2};
    assert_int_equal(ignis_sink_sample(o.s, "", &bad, 1, 1, IGNIS_NO_TIMESTAMP), -1);
    struct ignis_label empty = {"", 0, "x", 1};
    assert_int_equal(ignis_sink_sample(o.s, "", &empty, 1, 1, IGNIS_NO_TIMESTAMP), -1);
    assert_int_equal(ignis_sink_sample(o.s, "", &l, 1, 7, IGNIS_NO_TIMESTAMP), 0);
    /* a family twice */
    assert_int_equal(ignis_sink_family(o.s, "g", IGNIS_METRIC_UNKNOWN, "G.", ""), -1);
    assert_int_equal(ignis_sink_sample(o.s, "", &l, 1, 1, IGNIS_NO_TIMESTAMP), -1);
    /* a unit that is not the name's suffix; invalid names */
    assert_int_equal(ignis_sink_family(o.s, "size", IGNIS_METRIC_GAUGE, "S.", "bytes"), -1);
    assert_int_equal(ignis_sink_family(o.s, "", IGNIS_METRIC_GAUGE, "S.", ""), -1);
    assert_int_equal(ignis_sink_family(o.s, "x\xff", IGNIS_METRIC_GAUGE, "S.", ""), -1);
    assert_int_equal(ignis_sink_family(o.s, "h", IGNIS_METRIC_GAUGE, "bad \xff help", ""), -1);
    assert_int_equal(ignis_sink_family(o.s, "h", (enum ignis_metric_type)99, "H.", ""), -1);
    int rc;
    char *t = close_w(&o, &rc);
    assert_int_equal(rc, -1); /* something was refused */
    assert_string_equal(t, "# HELP g G.\n# TYPE g gauge\ng{a=\"b\"} 7\n");
    free(t);
}

static void writer_formats_each_type(void **state)
{
    (void)state;
    for (int om = 0; om < 2; om++) {
        struct out o = open_w(om ? IGNIS_EXPOSE_OPENMETRICS_1_0_0 : IGNIS_EXPOSE_TEXT_0_0_4,
                              IGNIS_ESCAPE_UNDERSCORES);
        struct ignis_label ls[2] = {ignis_label_make("path", "C:\\DIR\\\"F\"\nx"),
                                    ignis_label_make("le", "1")};
        assert_int_equal(ignis_sink_family(o.s, "c_total", IGNIS_METRIC_COUNTER,
                                           "Back\\slash \"quoted\"\nnewline", ""), 0);
        assert_int_equal(ignis_sink_sample(o.s, "", ls, 1, 3, 1395066363000), 0);
        assert_int_equal(ignis_sink_sample(o.s, "_created", ls, 1, 1.5e9, IGNIS_NO_TIMESTAMP), 0);
        assert_int_equal(ignis_sink_family(o.s, "gh", IGNIS_METRIC_GAUGEHISTOGRAM, "GH.", ""), 0);
        assert_int_equal(ignis_sink_sample(o.s, "_bucket", ls + 1, 1, 2, IGNIS_NO_TIMESTAMP), 0);
        assert_int_equal(ignis_sink_sample(o.s, "_gcount", NULL, 0, 2, IGNIS_NO_TIMESTAMP), 0);
        assert_int_equal(ignis_sink_sample(o.s, "_gsum", NULL, 0, 0.5, -3982045), 0);
        assert_int_equal(ignis_sink_family(o.s, "st", IGNIS_METRIC_STATESET, "", ""), 0);
        struct ignis_label s1 = ignis_label_make("st", "on");
        assert_int_equal(ignis_sink_sample(o.s, "", &s1, 1, 1, IGNIS_NO_TIMESTAMP), 0);
        assert_int_equal(ignis_sink_family(o.s, "u", IGNIS_METRIC_UNKNOWN, "U.", ""), 0);
        assert_int_equal(ignis_sink_sample(o.s, "", NULL, 0, 42.23, 1520879607789), 0);
        int rc;
        char *t = close_w(&o, &rc);
        assert_int_equal(rc, 0);
        const char *want_text =
            "# HELP c_total Back\\\\slash \"quoted\"\\nnewline\n"
            "# TYPE c_total counter\n"
            "c_total{path=\"C:\\\\DIR\\\\\\\"F\\\"\\nx\"} 3 1395066363000\n"
            "# HELP gh GH.\n# TYPE gh histogram\n"
            "gh_bucket{le=\"1\"} 2\ngh_count 2\ngh_sum 0.5 -3982045\n"
            "# TYPE st gauge\nst{st=\"on\"} 1\n"
            "# HELP u U.\n# TYPE u untyped\nu 42.23 1520879607789\n";
        const char *want_om =
            "# TYPE c counter\n"
            "# HELP c Back\\\\slash \\\"quoted\\\"\\nnewline\n"
            "c_total{path=\"C:\\\\DIR\\\\\\\"F\\\"\\nx\"} 3.0 1395066363\n"
            "c_created{path=\"C:\\\\DIR\\\\\\\"F\\\"\\nx\"} 1.5e+09\n"
            "# TYPE gh gaugehistogram\n# HELP gh GH.\n"
            "gh_bucket{le=\"1.0\"} 2\ngh_gcount 2\ngh_gsum 0.5 -3982.045\n"
            "# TYPE st stateset\nst{st=\"on\"} 1\n"
            "# TYPE u unknown\n# HELP u U.\nu 42.23 1520879607.789\n"
            "# EOF\n";
        if (strcmp(t, om ? want_om : want_text) != 0)
            fail_msg("om=%d got:\n%s\nwant:\n%s", om, t, om ? want_om : want_text);
        free(t);
    }
}

static void writer_streams_large_output(void **state)
{
    (void)state;
    struct out o = open_w(IGNIS_EXPOSE_OPENMETRICS_1_0_0, IGNIS_ESCAPE_UNDERSCORES);
    assert_int_equal(ignis_sink_family(o.s, "big", IGNIS_METRIC_GAUGE, "B.", ""), 0);
    /* lines longer than the staging buffer, and many lines */
    size_t vlen = 200000;
    char *v = malloc(vlen);
    memset(v, 'x', vlen);
    v[100] = '"';
    struct ignis_label l = {"k", 1, v, vlen};
    assert_int_equal(ignis_sink_sample(o.s, "", &l, 1, 1, IGNIS_NO_TIMESTAMP), 0);
    v[50] = '\xff';
    assert_int_equal(ignis_sink_sample(o.s, "", &l, 1, 1, IGNIS_NO_TIMESTAMP), -1);
    for (int i = 0; i < 20000; i++) {
        char s[16];
        snprintf(s, sizeof s, "%d", i);
        struct ignis_label li = ignis_label_make("i", s);
        assert_int_equal(ignis_sink_sample(o.s, "", &li, 1, i, IGNIS_NO_TIMESTAMP), 0);
    }
    free(v);
    char *t = close_w(&o, NULL);
    size_t n = strlen(t);
    assert_true(n > vlen + 20000 * 10);
    assert_non_null(strstr(t, "big{i=\"19999\"} 19999.0\n# EOF\n"));
    assert_non_null(strstr(t, "x\\\"x"));
    /* every line complete */
    size_t lines = 0;
    for (size_t i = 0; i < n; i++)
        lines += t[i] == '\n';
    assert_int_equal(lines, 3 + 1 + 20000);
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(floats_like_go),
        cmocka_unit_test(floats_round_trip),
        cmocka_unit_test(name_escaping_schemes),
        cmocka_unit_test(content_negotiation),
        cmocka_unit_test(gzip_acceptance),
        cmocka_unit_test(writer_refuses_bad_input),
        cmocka_unit_test(writer_formats_each_type),
        cmocka_unit_test(writer_streams_large_output),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
