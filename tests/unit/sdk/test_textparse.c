/* tests/unit/sdk/test_textparse.c — the exposition parser (sdk/src/textparse*.c): every
 * construct of text 0.0.4 and OpenMetrics 1.0, both modes, error positions, the bounded
 * gunzip, and the /metrics bodies captured from real Prometheus-ecosystem programs. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ignis/textparse.h>
#include <ignis/plugin.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define PROM   IGNIS_TEXTPARSE_PROMETHEUS
#define OM     IGNIS_TEXTPARSE_OPENMETRICS
#define SCRAPE IGNIS_TEXTPARSE_SCRAPE
#define STRICT IGNIS_TEXTPARSE_STRICT

/* ---- helpers ----------------------------------------------------------------------- */

/* Parses a whole body; returns the number of series, or -1 with the error copied out. */
static long parse_all(const char *body, size_t len, int fmt, int mode, char *err, size_t errlen)
{
    struct ignis_textparse p;
    ignis_textparse_init(&p, body, len, fmt, mode);
    long n = 0;
    enum ignis_textparse_entry e;
    while ((e = ignis_textparse_next(&p)) != IGNIS_TP_EOF && e != IGNIS_TP_ERROR) {
        n += e == IGNIS_TP_SERIES;
    }
    if (e == IGNIS_TP_ERROR) {
        if (err) {
            snprintf(err, errlen, "%s", ignis_textparse_error(&p));
        }
        n = -1;
    }
    ignis_textparse_fini(&p);
    return n;
}

static long parse_s(const char *body, int fmt, int mode)
{
    return parse_all(body, strlen(body), fmt, mode, NULL, 0);
}

static void assert_error(const char *body, int fmt, int mode, const char *want)
{
    char err[512];
    long n = parse_all(body, strlen(body), fmt, mode, err, sizeof err);
    if (n >= 0 || strstr(err, want) == NULL) {
        fail_msg("body %s: want error containing \"%s\", got %s", body, want,
                 n >= 0 ? "success" : err);
    }
}

static void next_is(struct ignis_textparse *p, enum ignis_textparse_entry want)
{
    enum ignis_textparse_entry e = ignis_textparse_next(p);
    if (e != want) {
        fail_msg("entry %d, want %d (%s)", e, want,
                 ignis_textparse_error(p) ? ignis_textparse_error(p) : "no error");
    }
}

/* assert_str(expr, len, want): expr runs first (it usually sets len). */
#define assert_str(expr, n, want)                                                                  \
    do {                                                                                           \
        const char *s_ = (expr);                                                                   \
        check_str(s_, (n), (want));                                                                \
    } while (0)
static void check_str(const char *s, size_t n, const char *want)
{
    assert_non_null(s);
    if (n != strlen(want) || memcmp(s, want, n) != 0) {
        fail_msg("got \"%.*s\", want \"%s\"", (int)n, s, want);
    }
}

static bool in_body(const char *s, const char *body, size_t len)
{
    return s >= body && s < body + len;
}

/* ---- content type -------------------------------------------------------------------- */

static void test_format_for_content_type(void **state)
{
    (void)state;
    assert_int_equal(ignis_textparse_format_for("application/openmetrics-text; version=1.0.0; "
                                                "charset=utf-8"),
                     OM);
    assert_int_equal(ignis_textparse_format_for("Application/OpenMetrics-Text"), OM);
    assert_int_equal(ignis_textparse_format_for("application/openmetrics-text;version=0.0.1"), OM);
    assert_int_equal(ignis_textparse_format_for("text/plain; version=0.0.4; charset=utf-8"), PROM);
    assert_int_equal(ignis_textparse_format_for(""), PROM);
    assert_int_equal(ignis_textparse_format_for(NULL), PROM);
    assert_int_equal(ignis_textparse_format_for("application/json"), PROM);
    assert_int_equal(ignis_textparse_format_for("application/openmetrics-textual"), PROM);
}

/* ---- 0.0.4 ----------------------------------------------------------------------------- */

static void test_prom_sample_raw_series_value_and_labels(void **state)
{
    (void)state;
    const char *b = "http_requests_total{method=\"post\",code=\"200\"} 1027 1395066363000\n"
                    "plain 12.47\n";
    struct ignis_textparse p;
    ignis_textparse_init(&p, b, strlen(b), PROM, SCRAPE);
    next_is(&p, IGNIS_TP_SERIES);
    size_t len;
    const char *s = ignis_textparse_series(&p, &len);
    assert_ptr_equal(s, b);
    assert_str(s, len, "http_requests_total{method=\"post\",code=\"200\"}");
    assert_true(ignis_textparse_value(&p) == 1027);
    int64_t ts = 0;
    assert_true(ignis_textparse_timestamp(&p, &ts));
    assert_true(ts == 1395066363000LL);
    assert_int_equal(ignis_textparse_label_count(&p), 2);
    struct ignis_label l[4];
    char scratch[128];
    assert_int_equal(ignis_textparse_labels(&p, l, 4, scratch, sizeof scratch), 3);
    assert_str(l[0].name, l[0].name_len, "__name__");
    assert_str(l[0].value, l[0].value_len, "http_requests_total");
    assert_str(l[1].name, l[1].name_len, "method");
    assert_str(l[1].value, l[1].value_len, "post");
    assert_true(in_body(l[1].value, b, strlen(b))); /* no escapes: points into the body */
    assert_str(l[2].name, l[2].name_len, "code");
    assert_str(l[2].value, l[2].value_len, "200");

    next_is(&p, IGNIS_TP_SERIES);
    s = ignis_textparse_series(&p, &len);
    assert_str(s, len, "plain");
    assert_true(ignis_textparse_value(&p) == 12.47);
    assert_false(ignis_textparse_timestamp(&p, &ts));
    assert_int_equal(ignis_textparse_label_count(&p), 0);
    next_is(&p, IGNIS_TP_EOF);
    next_is(&p, IGNIS_TP_EOF); /* sticky */
    ignis_textparse_fini(&p);
}

static void test_prom_label_escapes_unescaped_into_scratch(void **state)
{
    (void)state;
    const char *b = "msdos{path=\"C:\\\\DIR\\\\FILE.TXT\",error=\"Cannot find file:\\n\\\"FILE."
                    "TXT\\\"\",odd=\"a\\zb\"} 1.458255915e9\n";
    struct ignis_textparse p;
    ignis_textparse_init(&p, b, strlen(b), PROM, SCRAPE);
    next_is(&p, IGNIS_TP_SERIES);
    struct ignis_label l[4];
    char scratch[256];
    assert_int_equal(ignis_textparse_labels(&p, l, 4, scratch, sizeof scratch), 4);
    assert_str(l[1].value, l[1].value_len, "C:\\DIR\\FILE.TXT");
    assert_str(l[2].value, l[2].value_len, "Cannot find file:\n\"FILE.TXT\"");
    assert_str(l[3].value, l[3].value_len, "a\\zb"); /* unknown escape kept, as Prometheus */
    assert_true(l[1].value >= scratch && l[1].value < scratch + sizeof scratch);
    assert_true(ignis_textparse_value(&p) == 1.458255915e9);
    /* Too small a scratch or pair array is refused, never overrun. */
    assert_int_equal(ignis_textparse_labels(&p, l, 4, scratch, 4), -1);
    assert_int_equal(ignis_textparse_labels(&p, l, 2, scratch, sizeof scratch), -1);
    ignis_textparse_fini(&p);
    /* Strict 0.0.4 refuses escapes outside \\ \" \n, as promtool does. */
    assert_error(b, PROM, STRICT, "invalid escape sequence");
}

static void test_prom_whitespace_commas_and_blank_lines(void **state)
{
    (void)state;
    const char *b = "\n  a { x = \"1\" , y=\"2\", }   3   4  \n\t\nb{} 5\nc{x=\"1\"}6\n";
    struct ignis_textparse p;
    ignis_textparse_init(&p, b, strlen(b), PROM, SCRAPE);
    next_is(&p, IGNIS_TP_SERIES);
    size_t len;
    assert_str(ignis_textparse_series(&p, &len), len, "a { x = \"1\" , y=\"2\", }");
    assert_true(ignis_textparse_value(&p) == 3);
    int64_t ts;
    assert_true(ignis_textparse_timestamp(&p, &ts) && ts == 4);
    struct ignis_label l[3];
    assert_int_equal(ignis_textparse_labels(&p, l, 3, NULL, 0), 3);
    assert_str(l[1].name, l[1].name_len, "x");
    assert_str(l[2].value, l[2].value_len, "2");
    assert_int_equal(ignis_textparse_line(&p), 2);
    next_is(&p, IGNIS_TP_SERIES);
    assert_int_equal(ignis_textparse_line(&p), 4);
    assert_str(ignis_textparse_series(&p, &len), len, "b{}");
    next_is(&p, IGNIS_TP_SERIES);
    assert_true(ignis_textparse_value(&p) == 6);
    next_is(&p, IGNIS_TP_EOF);
    ignis_textparse_fini(&p);
    /* Strict accepts the spec's whitespace and trailing comma, but not blanks at the end
     * of a sample line, which promtool refuses. */
    assert_error(b, PROM, STRICT, "line 2 col 33: trailing whitespace after the timestamp");
    assert_int_equal(parse_s("\n  a { x = \"1\" , y=\"2\", }   3   4\n\t\nb{} 5\n", PROM, STRICT),
                     2);
    assert_error("a 1 \n", PROM, STRICT, "line 1 col 4: trailing whitespace after the value");
}

static void test_prom_missing_comma_scrape_only(void **state)
{
    (void)state;
    const char *b = "a{x=\"1\" y=\"2\"} 1\n";
    assert_int_equal(parse_s(b, PROM, SCRAPE), 1); /* Prometheus takes it */
    assert_error(b, PROM, STRICT, "line 1 col 9: expected ',' or '}'");
}

static void test_prom_last_line_without_newline(void **state)
{
    (void)state;
    assert_int_equal(parse_s("a 1\nb 2", PROM, SCRAPE), 2);
    assert_int_equal(parse_s("a 1\nb 2 77", PROM, SCRAPE), 2);
    assert_int_equal(parse_s("# only a comment", PROM, SCRAPE), 0);
    assert_int_equal(parse_s("", PROM, STRICT), 0);
    assert_int_equal(parse_s("a 1\n  ", PROM, STRICT), 1);
    /* The spec (and promtool) want the last line ended. */
    assert_error("a 1\nb 2 77", PROM, STRICT,
                 "line 2 col 7: the last line must end with a "
                 "newline");
    assert_error("# only a comment", PROM, STRICT, "must end with a newline");
    assert_error("# HELP a x", PROM, STRICT, "must end with a newline");
}

static void test_prom_help_type_comment_entries(void **state)
{
    (void)state;
    const char *b = "# HELP h_seconds A histogram \\\\ with\\nlines and \\\"quotes\\\".\n"
                    "# TYPE h_seconds histogram\n"
                    "# just a comment\n"
                    "h_seconds_bucket{le=\"0.5\"} 1\n"
                    "h_seconds_bucket{le=\"+Inf\"} 2\n"
                    "h_seconds_sum 0.7\n"
                    "h_seconds_count 2\n"
                    "other 1\n";
    struct ignis_textparse p;
    char scratch[128];
    size_t len;
    /* Scrape mode: strict 0.0.4 refuses the \" in this HELP, as promtool does. */
    ignis_textparse_init(&p, b, strlen(b), PROM, SCRAPE);
    next_is(&p, IGNIS_TP_HELP);
    assert_str(ignis_textparse_family(&p, scratch, sizeof scratch, &len), len, "h_seconds");
    /* 0.0.4 HELP escapes only \\ and \n. */
    assert_str(ignis_textparse_help(&p, scratch, sizeof scratch, &len), len,
               "A histogram \\ with\nlines and \\\"quotes\\\".");
    next_is(&p, IGNIS_TP_TYPE);
    assert_int_equal(ignis_textparse_type(&p), IGNIS_METRIC_HISTOGRAM);
    next_is(&p, IGNIS_TP_COMMENT);
    assert_str(ignis_textparse_comment(&p, &len), len, " just a comment");
    for (int i = 0; i < 4; i++) {
        next_is(&p, IGNIS_TP_SERIES);
        assert_int_equal(ignis_textparse_type(&p), IGNIS_METRIC_HISTOGRAM);
        assert_str(ignis_textparse_family(&p, scratch, sizeof scratch, &len), len, "h_seconds");
        assert_non_null(ignis_textparse_help(&p, scratch, sizeof scratch, &len));
        assert_false(ignis_textparse_is_created(&p));
    }
    next_is(&p, IGNIS_TP_SERIES);
    assert_int_equal(ignis_textparse_type(&p), IGNIS_METRIC_UNKNOWN);
    assert_str(ignis_textparse_family(&p, scratch, sizeof scratch, &len), len, "other");
    assert_null(ignis_textparse_help(&p, scratch, sizeof scratch, &len));
    next_is(&p, IGNIS_TP_EOF);
    ignis_textparse_fini(&p);
}

static void test_prom_types_and_bad_type(void **state)
{
    (void)state;
    assert_int_equal(parse_s("# TYPE a untyped\na 1\n# TYPE b summary\nb{quantile=\"0.5\"} 1\n"
                             "b_sum 1\nb_count 1\n# TYPE c gauge\nc 1\n# TYPE d counter\n"
                             "d_total 1\n",
                             PROM, STRICT),
                     6);
    assert_error("# TYPE a meh\n", PROM, SCRAPE, "line 1 col 10: invalid metric type \"meh\"");
    assert_error("# TYPE a info\n", PROM, STRICT, "invalid metric type");
    assert_int_equal(parse_s("# TYPE a info\na_info 1\n", PROM, SCRAPE), 1);
    assert_error("# HELP 0abc x\n", PROM, SCRAPE, "line 1 col 8: expected metric name");
    /* "# HELPX" is a plain comment; so is "# HELP" with nothing after it (promtool). */
    assert_int_equal(parse_s("# HELPX y\n# HELP \n# TYPE\na 1\n", PROM, STRICT), 1);
    assert_int_equal(parse_s("# HELPX y\n# HELP \n# TYPE\na 1\n", PROM, SCRAPE), 1);
    /* So is "# TYPE name" without a type; "# HELP name" is an empty HELP to Prometheus. */
    const char *nt = "# TYPE a\n# HELP a\n";
    struct ignis_textparse q;
    ignis_textparse_init(&q, nt, strlen(nt), PROM, STRICT);
    next_is(&q, IGNIS_TP_COMMENT);
    next_is(&q, IGNIS_TP_COMMENT);
    ignis_textparse_fini(&q);
    ignis_textparse_init(&q, nt, strlen(nt), PROM, SCRAPE);
    next_is(&q, IGNIS_TP_COMMENT);
    next_is(&q, IGNIS_TP_HELP);
    ignis_textparse_fini(&q);
    /* "#HELP" is HELP to promtool, a comment to Prometheus. */
    struct ignis_textparse p;
    const char *b = "#HELP a x\n";
    ignis_textparse_init(&p, b, strlen(b), PROM, STRICT);
    next_is(&p, IGNIS_TP_HELP);
    ignis_textparse_fini(&p);
    ignis_textparse_init(&p, b, strlen(b), PROM, SCRAPE);
    next_is(&p, IGNIS_TP_COMMENT);
    ignis_textparse_fini(&p);
    /* promtool reads blanks before the type but not after it; Prometheus neither. */
    assert_int_equal(parse_s("# TYPE a  gauge\na 1\n", PROM, STRICT), 1);
    assert_error("# TYPE a gauge \na 1\n", PROM, STRICT, "invalid metric type \"gauge \"");
    assert_int_equal(parse_s("# TYPE a gauge \na 1\n", PROM, SCRAPE), 1);
}

static void test_prom_quoted_utf8_names(void **state)
{
    (void)state;
    const char *b = "# HELP \"my.dotted.metric\" Dots.\n"
                    "# TYPE \"my.dotted.metric\" gauge\n"
                    "{\"my.dotted.metric\", \"error.message\"=\"Not Found\", code=\"404\"} 3\n"
                    "{\"caf\xc3\xa9\"} 1\n"
                    "x{\"a-b\"=\"1\"} 2\n";
    struct ignis_textparse p;
    char scratch[128];
    size_t len;
    ignis_textparse_init(&p, b, strlen(b), PROM, STRICT);
    next_is(&p, IGNIS_TP_HELP);
    assert_str(ignis_textparse_family(&p, scratch, sizeof scratch, &len), len, "my.dotted.metric");
    next_is(&p, IGNIS_TP_TYPE);
    next_is(&p, IGNIS_TP_SERIES);
    assert_str(ignis_textparse_series(&p, &len), len,
               "{\"my.dotted.metric\", \"error.message\"=\"Not Found\", code=\"404\"}");
    assert_int_equal(ignis_textparse_type(&p), IGNIS_METRIC_GAUGE);
    assert_int_equal(ignis_textparse_label_count(&p), 2);
    struct ignis_label l[3];
    assert_int_equal(ignis_textparse_labels(&p, l, 3, scratch, sizeof scratch), 3);
    assert_str(l[0].value, l[0].value_len, "my.dotted.metric");
    assert_str(l[1].name, l[1].name_len, "error.message");
    assert_str(l[1].value, l[1].value_len, "Not Found");
    assert_str(l[2].name, l[2].name_len, "code");
    next_is(&p, IGNIS_TP_SERIES);
    assert_int_equal(ignis_textparse_labels(&p, l, 3, scratch, sizeof scratch), 1);
    assert_str(l[0].value, l[0].value_len, "caf\xc3\xa9");
    next_is(&p, IGNIS_TP_SERIES);
    assert_int_equal(ignis_textparse_labels(&p, l, 3, scratch, sizeof scratch), 2);
    assert_str(l[1].name, l[1].name_len, "a-b");
    next_is(&p, IGNIS_TP_EOF);
    ignis_textparse_fini(&p);

    /* The quoted name may come anywhere in the braces, once; OpenMetrics too. */
    assert_int_equal(parse_s("{a=\"1\",\"m.x\"} 1\n", PROM, SCRAPE), 1);
    assert_int_equal(parse_s("{\"my.metric\",\"a-b\"=\"x\"} 1\n# EOF\n", OM, STRICT), 1);
    assert_int_equal(parse_s("{\"my.metric\", \"a-b\"=\"x\"} 1\n# EOF\n", OM, SCRAPE), 1);
    assert_error("m{\"n\"} 1\n", PROM, SCRAPE, "line 1 col 3: metric name given twice");
    assert_error("{a=\"b\"} 1\n", PROM, SCRAPE, "line 1 col 1: no metric name");
    assert_error("{\"\"} 1\n", PROM, SCRAPE, "empty quoted name");
    assert_error("{\"bad\xff\"} 1\n", PROM, SCRAPE, "invalid UTF-8");
    assert_error("a{b=\"\xc0\xaf\"} 1\n", PROM, SCRAPE, "invalid UTF-8");
}

static void test_prom_escaped_quoted_name(void **state)
{
    (void)state;
    const char *b = "{\"we\\\"ird\"} 1\n";
    struct ignis_textparse p;
    char scratch[32];
    size_t len;
    ignis_textparse_init(&p, b, strlen(b), PROM, SCRAPE);
    next_is(&p, IGNIS_TP_SERIES);
    struct ignis_label l[1];
    assert_int_equal(ignis_textparse_labels(&p, l, 1, scratch, sizeof scratch), 1);
    assert_str(l[0].value, l[0].value_len, "we\"ird");
    assert_str(ignis_textparse_family(&p, scratch, sizeof scratch, &len), len, "we\"ird");
    assert_null(ignis_textparse_family(&p, scratch, 2, &len));
    ignis_textparse_fini(&p);
}

static uint64_t bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

static double value_of(const char *line, int fmt)
{
    struct ignis_textparse p;
    ignis_textparse_init(&p, line, strlen(line), fmt, SCRAPE);
    enum ignis_textparse_entry e = ignis_textparse_next(&p);
    if (e != IGNIS_TP_SERIES) {
        fail_msg("%s: %s", line, ignis_textparse_error(&p));
    }
    double v = ignis_textparse_value(&p);
    ignis_textparse_fini(&p);
    return v;
}

static void test_values_special_and_rounding(void **state)
{
    (void)state;
    assert_true(bits(value_of("a NaN\n", PROM)) == 0x7ff8000000000001ULL);
    assert_true(bits(value_of("a nan\n", PROM)) == 0x7ff8000000000001ULL);
    assert_true(value_of("a +Inf\n", PROM) == INFINITY);
    assert_true(value_of("a -Inf\n", PROM) == -INFINITY);
    assert_true(value_of("a infinity\n", PROM) == INFINITY);
    assert_error("a 0x1p3\n", PROM, SCRAPE, "invalid value"); /* Prometheus refuses 'p' */
    assert_error("a 0x1\n", PROM, SCRAPE, "invalid value");   /* and Go hex needs one */
    assert_true(value_of("a 0.1\n", PROM) == 0.1);
    assert_true(value_of("a 1e23\n", PROM) == 1e23);
    assert_true(value_of("a 1.7976931348623157e308\n", PROM) == 1.7976931348623157e308);
    assert_true(value_of("a 4.9e-324\n", PROM) == 4.9e-324);
    assert_true(value_of("a 123456789012345678901234567890\n", PROM) ==
                123456789012345678901234567890.0);
    assert_true(value_of("a 9007199254740993\n", PROM) == 9007199254740992.0);
    assert_true(value_of("a -0\n", PROM) == 0 && signbit(value_of("a -0\n", PROM)));
    assert_true(value_of("a .5\n", PROM) == 0.5);
    assert_true(value_of("a 5.\n", PROM) == 5);
    assert_true(value_of("a 0000000000000000000000000000000000000000001.2e-1\n", PROM) == 0.12);
    assert_error("a 1_000\n", PROM, SCRAPE, "line 1 col 3: invalid value \"1_000\"");
    assert_error("a 1e999\n", PROM, SCRAPE, "invalid value");
    assert_error("a +nan\n", PROM, SCRAPE, "invalid value");
    assert_error("a 0x1p3\n# EOF\n", OM, SCRAPE, "invalid value"); /* no 'p' in OpenMetrics */
    assert_error("a 1.5.2\n", PROM, SCRAPE, "invalid value");
    assert_error("a\n", PROM, SCRAPE, "line 1 col 2: expected value, got end of line");
}

static void test_prom_timestamps(void **state)
{
    (void)state;
    struct ignis_textparse p;
    int64_t ts;
    const char *b = "a 1 -3982045\nb 1 +12\nc 1 9223372036854775807\n";
    ignis_textparse_init(&p, b, strlen(b), PROM, STRICT);
    next_is(&p, IGNIS_TP_SERIES);
    assert_true(ignis_textparse_timestamp(&p, &ts) && ts == -3982045);
    next_is(&p, IGNIS_TP_SERIES);
    assert_true(ignis_textparse_timestamp(&p, &ts) && ts == 12);
    next_is(&p, IGNIS_TP_SERIES);
    assert_true(ignis_textparse_timestamp(&p, &ts) && ts == INT64_MAX);
    next_is(&p, IGNIS_TP_EOF);
    ignis_textparse_fini(&p);
    assert_error("a 1 1.5\n", PROM, SCRAPE, "line 1 col 5: invalid timestamp \"1.5\"");
    assert_error("a 1 9223372036854775808\n", PROM, SCRAPE, "invalid timestamp");
    assert_error("a 1 2 3\n", PROM, SCRAPE,
                 "line 1 col 7: expected end of line after the "
                 "timestamp");
    assert_error("a 1\r\n", PROM, SCRAPE, "invalid value");
}

static void test_prom_raw_newline_in_label_value(void **state)
{
    (void)state;
    /* Prometheus' 0.0.4 lexer takes a raw newline inside a label value; lines stay
     * counted right. */
    const char *b = "a{x=\"two\nlines\"} 1\nb 2\nc{\n";
    struct ignis_textparse p;
    ignis_textparse_init(&p, b, strlen(b), PROM, SCRAPE);
    next_is(&p, IGNIS_TP_SERIES);
    next_is(&p, IGNIS_TP_SERIES);
    assert_int_equal(ignis_textparse_line(&p), 3);
    next_is(&p, IGNIS_TP_ERROR);
    assert_string_equal(ignis_textparse_error(&p),
                        "line 4 col 3: expected label name or '}', got end of line");
    ignis_textparse_fini(&p);
    assert_error("a{x=\"two\nlines\"} 1\n", PROM, STRICT, "line 1 col 9: unterminated");
}

static void test_prom_nul_at_line_start_ends_input(void **state)
{
    (void)state;
    const char b[] = "a 1\n\0garbage {{{\n";
    assert_int_equal(parse_all(b, sizeof b - 1, PROM, SCRAPE, NULL, 0), 1);
    assert_int_equal(parse_all(b, sizeof b - 1, PROM, STRICT, NULL, 0), -1);
}

static void test_prom_error_line_and_column(void **state)
{
    (void)state;
    const char *b = "# HELP a x\na 1\nfoo{bar=\"x\" baz 2\n";
    char err[256];
    assert_int_equal(parse_all(b, strlen(b), PROM, SCRAPE, err, sizeof err), -1);
    assert_string_equal(err, "line 3 col 17: expected '=' after label name, got '2'");
    assert_error("a{b=\"c} 1\n", PROM, SCRAPE, "line 1 col 5: unterminated quoted string");
    assert_error("a{1=\"c\"} 1\n", PROM, SCRAPE, "line 1 col 3: expected label name or '}'");
    assert_error("9a 1\n", PROM, SCRAPE, "line 1 col 1: expected metric name or '{'");
}

static void test_prom_strict_metadata_rules(void **state)
{
    (void)state;
    assert_error("# HELP a x\n# HELP a y\n", PROM, STRICT, "line 2 col 1: second HELP line");
    assert_error("# TYPE a gauge\n# TYPE a gauge\n", PROM, STRICT, "second TYPE line");
    assert_error("a 1\n# TYPE a gauge\n", PROM, STRICT, "TYPE line for a after its samples");
    assert_error("a{x=\"1\",x=\"2\"} 1\n", PROM, STRICT, "label x appears twice");
    assert_error("# TYPE h histogram\nh_bucket{le=\"x\"} 1\n", PROM, STRICT,
                 "label le=\"x\" is not a number");
    assert_error("# TYPE s summary\ns{quantile=\"q\"} 1\n", PROM, STRICT, "not a number");
    assert_error("# HELP a bad \\q escape\n", PROM, STRICT, "invalid escape sequence in HELP");
    /* Scrape mode leaves all of that to the scrape manager, as Prometheus does. */
    assert_int_equal(parse_s("# HELP a x\n# HELP a y\na 1\n# TYPE a gauge\na{x=\"1\",x=\"2\"} 1"
                             "\n# HELP a bad \\q escape\n",
                             PROM, SCRAPE),
                     2);
}

static void test_prom_counter_created_sample(void **state)
{
    (void)state;
    const char *b = "# TYPE c counter\nc_total 3\nc_created 1.7e9\n";
    struct ignis_textparse p;
    ignis_textparse_init(&p, b, strlen(b), PROM, SCRAPE);
    next_is(&p, IGNIS_TP_TYPE);
    next_is(&p, IGNIS_TP_SERIES);
    assert_false(ignis_textparse_is_created(&p));
    assert_int_equal(ignis_textparse_type(&p), IGNIS_METRIC_COUNTER);
    next_is(&p, IGNIS_TP_SERIES);
    assert_true(ignis_textparse_is_created(&p));
    ignis_textparse_fini(&p);
}

/* ---- OpenMetrics ----------------------------------------------------------------------- */

static void test_om_family_metadata_created_and_timestamps(void **state)
{
    (void)state;
    const char *b = "# TYPE foo_seconds counter\n"
                    "# UNIT foo_seconds seconds\n"
                    "# HELP foo_seconds Some text and \\n some \\\" escaping\n"
                    "foo_seconds_total{a=\"b\"} 17.0 1520879607.789\n"
                    "foo_seconds_created{a=\"b\"} 1520430000.123 1520879607.789\n"
                    "# TYPE g gauge\n"
                    "g -1.5 -1.5\n"
                    "g 2 1.5e3\n"
                    "# EOF\n";
    struct ignis_textparse p;
    char scratch[128];
    size_t len;
    int64_t ts;
    ignis_textparse_init(&p, b, strlen(b), OM, STRICT);
    next_is(&p, IGNIS_TP_TYPE);
    assert_int_equal(ignis_textparse_type(&p), IGNIS_METRIC_COUNTER);
    next_is(&p, IGNIS_TP_UNIT);
    assert_str(ignis_textparse_unit(&p, &len), len, "seconds");
    next_is(&p, IGNIS_TP_HELP);
    assert_str(ignis_textparse_help(&p, scratch, sizeof scratch, &len), len,
               "Some text and \n some \" escaping");
    next_is(&p, IGNIS_TP_SERIES);
    assert_int_equal(ignis_textparse_type(&p), IGNIS_METRIC_COUNTER);
    assert_str(ignis_textparse_unit(&p, &len), len, "seconds");
    assert_str(ignis_textparse_family(&p, scratch, sizeof scratch, &len), len, "foo_seconds");
    assert_true(ignis_textparse_timestamp(&p, &ts) && ts == 1520879607789LL);
    assert_false(ignis_textparse_is_created(&p));
    next_is(&p, IGNIS_TP_SERIES);
    assert_true(ignis_textparse_is_created(&p));
    assert_true(ignis_textparse_value(&p) == 1520430000.123);
    next_is(&p, IGNIS_TP_TYPE);
    next_is(&p, IGNIS_TP_SERIES);
    assert_true(ignis_textparse_timestamp(&p, &ts) && ts == -1500);
    assert_null(ignis_textparse_unit(&p, &len));
    next_is(&p, IGNIS_TP_SERIES);
    assert_true(ignis_textparse_timestamp(&p, &ts) && ts == 1500000);
    next_is(&p, IGNIS_TP_EOF);
    ignis_textparse_fini(&p);
}

static void test_om_created_lookahead(void **state)
{
    (void)state;
    const char *b = "# TYPE c counter\n"
                    "c_total{a=\"1\"} 3\n"
                    "c_created{a=\"1\"} 1520430000.123\n"
                    "c_total{a=\"2\"} 4\n"
                    "c_total{a=\"3\"} 5\n"
                    "c_created{a=\"3\"} 7\n"
                    "# TYPE h histogram\n"
                    "h_bucket{x=\"y\",le=\"1\"} 0\n"
                    "h_bucket{le=\"+Inf\",x=\"y\"} 3\n"
                    "h_count{x=\"y\"} 3\n"
                    "h_sum{x=\"y\"} 2\n"
                    "h_created{x=\"y\"} 1.5\n"
                    "# TYPE s summary\n"
                    "s{quantile=\"0.5\"} 1\n"
                    "s_created 2\n"
                    "# TYPE g gauge\n"
                    "g 1\n"
                    "# EOF\n";
    struct ignis_textparse p;
    int64_t ct = 0;
    ignis_textparse_init(&p, b, strlen(b), OM, STRICT);
    next_is(&p, IGNIS_TP_TYPE);
    next_is(&p, IGNIS_TP_SERIES);
    assert_true(ignis_textparse_created(&p, &ct));
    assert_true(ct == 1520430000123LL);
    next_is(&p, IGNIS_TP_SERIES); /* the look-ahead did not move the parser */
    assert_true(ignis_textparse_is_created(&p));
    assert_false(ignis_textparse_created(&p, &ct));
    next_is(&p, IGNIS_TP_SERIES);
    assert_false(ignis_textparse_created(&p, &ct)); /* a="2" has none; a="3"'s is not its */
    next_is(&p, IGNIS_TP_SERIES);
    assert_true(ignis_textparse_created(&p, &ct) && ct == 7000);
    next_is(&p, IGNIS_TP_SERIES);
    next_is(&p, IGNIS_TP_TYPE);
    next_is(&p, IGNIS_TP_SERIES);
    assert_true(ignis_textparse_created(&p, &ct) && ct == 1500);
    for (int i = 0; i < 4; i++) {
        next_is(&p, IGNIS_TP_SERIES);
    }
    next_is(&p, IGNIS_TP_TYPE);
    next_is(&p, IGNIS_TP_SERIES);
    assert_true(ignis_textparse_created(&p, &ct) && ct == 2000);
    next_is(&p, IGNIS_TP_SERIES);
    next_is(&p, IGNIS_TP_TYPE);
    next_is(&p, IGNIS_TP_SERIES);
    assert_false(ignis_textparse_created(&p, &ct)); /* gauges have none */
    next_is(&p, IGNIS_TP_EOF);
    ignis_textparse_fini(&p);
}

static void test_om_timestamp_saturates(void **state)
{
    (void)state;
    const char *b = "a 1 12345678901234567890.1234567890\nb 1 -1e300\n# EOF\n";
    struct ignis_textparse p;
    int64_t ts;
    ignis_textparse_init(&p, b, strlen(b), OM, STRICT);
    next_is(&p, IGNIS_TP_SERIES);
    assert_true(ignis_textparse_timestamp(&p, &ts) && ts == INT64_MAX);
    next_is(&p, IGNIS_TP_SERIES);
    assert_true(ignis_textparse_timestamp(&p, &ts) && ts == INT64_MIN + 1);
    ignis_textparse_fini(&p);
}

static void test_om_exemplars(void **state)
{
    (void)state;
    const char *b = "# TYPE foo histogram\n"
                    "foo_bucket{le=\"0.1\"} 8 # {} 0.054\n"
                    "foo_bucket{le=\"1\"} 11 # {trace_id=\"KOO5S4vxi0o\"} 0.67\n"
                    "foo_bucket{le=\"10\"} 17 # {trace_id=\"oHg5SJYRHA0\"} 9.8 1520879607.789\n"
                    "foo_bucket{le=\"+Inf\"} 17\n"
                    "foo_count 17\n"
                    "foo_sum 324789.3\n"
                    "# EOF\n";
    struct ignis_textparse p;
    struct ignis_textparse_exemplar ex;
    struct ignis_label l[2];
    char scratch[64];
    ignis_textparse_init(&p, b, strlen(b), OM, STRICT);
    next_is(&p, IGNIS_TP_TYPE);
    next_is(&p, IGNIS_TP_SERIES);
    assert_true(ignis_textparse_exemplar(&p, &ex));
    assert_int_equal(ex.label_count, 0);
    assert_str(ex.labels, ex.labels_len, "{}");
    assert_true(ex.value == 0.054);
    assert_false(ex.has_timestamp);
    next_is(&p, IGNIS_TP_SERIES);
    assert_true(ignis_textparse_exemplar(&p, &ex));
    assert_int_equal(ignis_textparse_exemplar_labels(&p, l, 2, scratch, sizeof scratch), 1);
    assert_str(l[0].name, l[0].name_len, "trace_id");
    assert_str(l[0].value, l[0].value_len, "KOO5S4vxi0o");
    size_t len;
    assert_str(ignis_textparse_series(&p, &len), len, "foo_bucket{le=\"1\"}");
    next_is(&p, IGNIS_TP_SERIES);
    assert_true(ignis_textparse_exemplar(&p, &ex));
    assert_true(ex.has_timestamp && ex.ts_ms == 1520879607789LL);
    next_is(&p, IGNIS_TP_SERIES);
    assert_false(ignis_textparse_exemplar(&p, &ex));
    assert_int_equal(ignis_textparse_exemplar_labels(&p, l, 2, scratch, sizeof scratch), -1);
    next_is(&p, IGNIS_TP_SERIES);
    next_is(&p, IGNIS_TP_SERIES);
    next_is(&p, IGNIS_TP_EOF);
    ignis_textparse_fini(&p);
}

static void test_om_exemplar_limit_counts_code_points(void **state)
{
    (void)state;
    char ok[512], bad[512];
    /* "a" plus a value of 127 code points, the first a 3-byte snowman: 128 in all. */
    snprintf(ok, sizeof ok, "# TYPE a counter\na_total 1 # {a=\"\xe2\x98\x83%0126d\"} 1\n# EOF\n",
             0);
    snprintf(bad, sizeof bad, "# TYPE a counter\na_total 1 # {a=\"\xe2\x98\x83%0127d\"} 1\n# EOF\n",
             0);
    assert_int_equal(parse_s(ok, OM, STRICT), 1);
    assert_error(bad, OM, STRICT, "line 2 col 13: exemplar labels hold 129 code points");
    assert_int_equal(parse_s(bad, OM, SCRAPE), 1); /* Prometheus keeps the sample */
}

static void test_om_eof_rules(void **state)
{
    (void)state;
    assert_int_equal(parse_s("a 1\n# EOF", OM, STRICT), 1);
    assert_error("a 1\n", OM, SCRAPE,
                 "line 2 col 1: unexpected end of input: the exposition "
                 "must end with # EOF");
    assert_error("", OM, SCRAPE, "must end with # EOF");
    assert_error("a 1", OM, SCRAPE, "must end with # EOF");
    assert_error("a 1\n# EOF\nb 1\n", OM, SCRAPE, "line 2 col 6: unexpected data after # EOF");
    assert_error("a 1\n# EOF\n\n", OM, SCRAPE, "unexpected data after # EOF");
    assert_error("a 1\n\n# EOF\n", OM, SCRAPE, "line 2 col 1: blank lines are not allowed");
    assert_error("# comment\n# EOF\n", OM, SCRAPE, "comments are not allowed");
}

static void test_om_whitespace_is_exact(void **state)
{
    (void)state;
    assert_error("a  1\n# EOF\n", OM, SCRAPE, "line 1 col 3: expected value");
    assert_error("a 1 \n# EOF\n", OM, SCRAPE, "expected timestamp");
    assert_error(" a 1\n# EOF\n", OM, SCRAPE, "must not start with a blank");
    assert_error("a{b=\"1\", c=\"2\"} 1\n# EOF\n", OM, STRICT, "expected label name");
    assert_int_equal(parse_s("a{b=\"1\", c=\"2\"} 1\n# EOF\n", OM, SCRAPE), 1);
    assert_error("# TYPE a gauge \n# EOF\n", OM, SCRAPE, "invalid metric type \"gauge \"");
}

static void test_om_trailing_comma_scrape_only(void **state)
{
    (void)state;
    const char *b = "a{a=\"1\",b=\"2\",} 1\n# EOF\n";
    assert_int_equal(parse_s(b, OM, SCRAPE), 1);
    assert_error(b, OM, STRICT, "line 1 col 15: trailing comma in label set");
}

static void test_om_null_byte_in_help(void **state)
{
    (void)state;
    const char b[] = "# TYPE a counter\n# HELP a he\0lp\n# EOF\n";
    assert_int_equal(parse_all(b, sizeof b - 1, OM, STRICT, NULL, 0), 0);
    struct ignis_textparse p;
    size_t len;
    ignis_textparse_init(&p, b, sizeof b - 1, OM, STRICT);
    next_is(&p, IGNIS_TP_TYPE);
    next_is(&p, IGNIS_TP_HELP);
    const char *h = ignis_textparse_help(&p, NULL, 0, &len);
    assert_int_equal(len, 5);
    assert_memory_equal(h, "he\0lp", 5);
    ignis_textparse_fini(&p);
}

static void test_om_strict_semantics_vs_scrape(void **state)
{
    (void)state;
    struct {
        const char *body, *err;
    } cases[] = {
        {"# TYPE a counter\na_total -1\n# EOF\n", "counter a: value must be a non-negative"},
        {"# TYPE a histogram\na_bucket{le=\"1\"} 2\na_bucket{le=\"+Inf\"} 1\n# EOF\n",
         "bucket values must not decrease"},
        {"# TYPE a histogram\na_bucket{le=\"1\"} 0\n# EOF\n", "no +Inf bucket"},
        {"# TYPE a summary\na{quantile=\"2\"} 1\n# EOF\n", "quantile must be within [0, 1]"},
        {"# TYPE a info\na_info 2\n# EOF\n", "info a: value must be 1"},
        {"# TYPE a stateset\na{a=\"x\"} 3\n# EOF\n", "stateset a: value must be 0 or 1"},
        {"# TYPE a gauge\na 1 # {x=\"y\"} 1\n# EOF\n", "exemplars are only allowed"},
        {"a 1\nb 1\na 1\n# EOF\n", "metric family a appears twice"},
        {"# TYPE a gauge\na{x=\"1\"} 1\na{x=\"2\"} 1\na{x=\"1\"} 1\n# EOF\n", "interleaved"},
        {"# TYPE a gauge\na 1 2\na 1 1\n# EOF\n", "timestamps go backwards"},
        {"a 1\n# TYPE a gauge\n# EOF\n", "# TYPE for a after its samples"},
        {"# TYPE a_created gauge\n# TYPE a counter\n# EOF\n", "clashes"},
        {"# UNIT a_b c\n# EOF\n", "not a suffix"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_error(cases[i].body, OM, STRICT, cases[i].err);
        if (strstr(cases[i].err, "suffix")) {
            continue; /* Prometheus refuses that one too */
        }
        if (parse_s(cases[i].body, OM, SCRAPE) < 0) {
            fail_msg("scrape mode refused %s", cases[i].body);
        }
    }
}

static void test_om_all_types_accepted(void **state)
{
    (void)state;
    const char *b = "# TYPE c counter\nc_total 1\nc_created 1\n"
                    "# TYPE g gauge\ng 1\n"
                    "# TYPE h histogram\nh_bucket{le=\"1.0\"} 0\nh_bucket{le=\"+Inf\"} 3\n"
                    "h_count 3\nh_sum 2\nh_created 1\n"
                    "# TYPE gh gaugehistogram\ngh_bucket{le=\"-1.0\"} 1\n"
                    "gh_bucket{le=\"+Inf\"} 3\ngh_gcount 3\ngh_gsum -5\n"
                    "# TYPE s summary\ns{quantile=\"0.5\"} NaN\ns_count 1\ns_sum 2\n"
                    "# TYPE st stateset\nst{st=\"a\"} 0\nst{st=\"b\"} 1.0\n"
                    "# TYPE i info\ni_info{v=\"1\"} 1\n"
                    "# TYPE u unknown\nu 1\n"
                    "# EOF\n";
    assert_int_equal(parse_s(b, OM, STRICT), 19);
    assert_int_equal(parse_s(b, OM, SCRAPE), 19);
    struct ignis_textparse p;
    ignis_textparse_init(&p, b, strlen(b), OM, SCRAPE);
    static const enum ignis_metric_type want[] = {
        IGNIS_METRIC_COUNTER,        IGNIS_METRIC_GAUGE,   IGNIS_METRIC_HISTOGRAM,
        IGNIS_METRIC_GAUGEHISTOGRAM, IGNIS_METRIC_SUMMARY, IGNIS_METRIC_STATESET,
        IGNIS_METRIC_INFO,           IGNIS_METRIC_UNKNOWN};
    size_t k = 0;
    enum ignis_textparse_entry e;
    while ((e = ignis_textparse_next(&p)) == IGNIS_TP_TYPE || e == IGNIS_TP_SERIES) {
        if (e == IGNIS_TP_TYPE) {
            assert_true(k < 8);
            assert_int_equal(ignis_textparse_type(&p), want[k++]);
        } else {
            assert_int_equal(ignis_textparse_type(&p), want[k - 1]);
        }
    }
    assert_int_equal(e, IGNIS_TP_EOF);
    assert_int_equal(k, 8);
    ignis_textparse_fini(&p);
}

/* ---- gunzip ------------------------------------------------------------------------------ */

/* gzip-compresses in (a member per call) with zlib. Caller frees. */
static unsigned char *gz(const char *in, size_t n, size_t *out_len)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = deflateBound(&z, n) + 64;
    unsigned char *out = malloc(cap);
    assert_non_null(out);
    z.next_in = (unsigned char *)(uintptr_t)in;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    *out_len = cap - z.avail_out;
    deflateEnd(&z);
    return out;
}

static char *make_text(size_t n)
{
    char *t = malloc(n + 1);
    assert_non_null(t);
    for (size_t i = 0; i < n; i++) {
        t[i] = "abc def\n0123456789"[(i * 7 + i / 13) % 18];
    }
    t[n] = 0;
    return t;
}

static void test_gunzip_streams_in_chunks(void **state)
{
    (void)state;
    size_t n = 300000, zn;
    char *text = make_text(n);
    unsigned char *z = gz(text, n, &zn);
    struct ignis_gunzip *g = ignis_gunzip_new(n);
    assert_non_null(g);
    char err[128];
    for (int round = 0; round < 2; round++) { /* the second round reuses the buffer */
        size_t off = 0, step = 1;
        while (off < zn) {
            size_t k = zn - off < step ? zn - off : step;
            assert_int_equal(ignis_gunzip_feed(g, z + off, k, err, sizeof err), 0);
            off += k;
            step = step * 3 + 1;
        }
        assert_int_equal(ignis_gunzip_finish(g, err, sizeof err), 0);
        size_t len;
        const char *d = ignis_gunzip_data(g, &len);
        assert_int_equal(len, n);
        assert_memory_equal(d, text, n);
        assert_int_equal(d[len], 0);
        ignis_gunzip_reset(g, n);
    }
    ignis_gunzip_free(g);
    free(z);
    free(text);
}

static void test_gunzip_limit(void **state)
{
    (void)state;
    size_t n = 100000, zn;
    char *text = make_text(n);
    unsigned char *z = gz(text, n, &zn);
    char err[128];
    char *out;
    size_t len;
    /* Exactly at the limit is fine; one byte less is refused. */
    assert_int_equal(ignis_gunzip_all(z, zn, n, &out, &len, err, sizeof err), 0);
    assert_int_equal(len, n);
    free(out);
    assert_int_equal(ignis_gunzip_all(z, zn, n - 1, &out, &len, err, sizeof err), IGNIS_E_LIMIT);
    assert_null(out);
    assert_non_null(strstr(err, "size limit"));
    /* 0 and SIZE_MAX both mean no limit in practice. */
    assert_int_equal(ignis_gunzip_all(z, zn, 0, &out, &len, err, sizeof err), 0);
    assert_int_equal(len, n);
    free(out);
    assert_int_equal(ignis_gunzip_all(z, zn, SIZE_MAX, &out, &len, err, sizeof err), 0);
    assert_int_equal(len, n);
    free(out);
    /* An empty input inflates to an empty body. */
    assert_int_equal(ignis_gunzip_all("", 0, 10, &out, &len, err, sizeof err), 0);
    assert_int_equal(len, 0);
    free(out);
    /* A bomb: 64 MiB of zeros stop at a 1 MiB limit without inflating the rest. */
    size_t bn = 64u << 20, bzn;
    char *zeros = calloc(1, bn);
    assert_non_null(zeros);
    unsigned char *bomb = gz(zeros, bn, &bzn);
    free(zeros);
    struct ignis_gunzip *g = ignis_gunzip_new(1u << 20);
    assert_int_equal(ignis_gunzip_feed(g, bomb, bzn, err, sizeof err), IGNIS_E_LIMIT);
    assert_int_equal(ignis_gunzip_finish(g, err, sizeof err), IGNIS_E_LIMIT); /* sticky */
    ignis_gunzip_free(g);
    free(bomb);
    free(z);
    free(text);
}

static void test_gunzip_corrupt_truncated_and_multimember(void **state)
{
    (void)state;
    const char *a = "first member\n", *b = "second member\n";
    size_t an, bn;
    unsigned char *za = gz(a, strlen(a), &an), *zb = gz(b, strlen(b), &bn);
    unsigned char *both = malloc(an + bn);
    memcpy(both, za, an);
    memcpy(both + an, zb, bn);
    char err[128], *out;
    size_t len;
    assert_int_equal(ignis_gunzip_all(both, an + bn, 0, &out, &len, err, sizeof err), 0);
    assert_int_equal(len, strlen(a) + strlen(b));
    assert_memory_equal(out, "first member\nsecond member\n", len);
    free(out);
    /* Truncated: the trailer is missing. */
    assert_int_equal(ignis_gunzip_all(za, an - 4, 0, &out, &len, err, sizeof err), IGNIS_E_INVALID);
    assert_non_null(strstr(err, "truncated"));
    /* Corrupt: not gzip at all. */
    assert_int_equal(ignis_gunzip_all("hello world", 11, 0, &out, &len, err, sizeof err),
                     IGNIS_E_INVALID);
    /* Corrupt: a flipped byte in the deflate data or the CRC. */
    za[an - 6] ^= 0xff;
    assert_int_equal(ignis_gunzip_all(za, an, 0, &out, &len, err, sizeof err), IGNIS_E_INVALID);
    free(both);
    free(za);
    free(zb);
}

/* ---- real bodies ----------------------------------------------------------------------- */

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    *len = 0;
    if (!f) {
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return b;
}

/* Counts sample lines independently of the parser: lines that are neither blank nor
 * comments (none of these bodies has a newline inside a label value). */
static long count_sample_lines(const char *b, size_t n)
{
    long c = 0;
    const char *e = b + n;
    while (b < e) {
        const char *nl = memchr(b, '\n', (size_t)(e - b));
        const char *le = nl ? nl : e;
        const char *q = b;
        while (q < le && (*q == ' ' || *q == '\t')) {
            q++;
        }
        if (q < le && *q != '#') {
            c++;
        }
        b = nl ? nl + 1 : e;
    }
    return c;
}

/* typed: the program writes TYPE lines (VictoriaMetrics writes none). */
static void check_body(const char *name, bool typed_body)
{
    const char *src = getenv("top_srcdir");
    char path[1024];
#ifdef IG_TOP_SRCDIR
    if (!src) {
        src = IG_TOP_SRCDIR; /* make check-valgrind runs tests without the environment */
    }
#endif
    snprintf(path, sizeof path, "%s/tests/data/bodies/%s", src ? src : ".", name);
    size_t n = 0;
    char *b = slurp(path, &n);
    if (!b) {
        fail_msg("cannot read %s (is top_srcdir set?)", path);
    }
    long want = count_sample_lines(b, n);
    assert_true(want > 100);
    char err[512];
    long got = parse_all(b, n, PROM, SCRAPE, err, sizeof err);
    if (got != want) {
        fail_msg("%s: scrape mode parsed %ld samples, the body has %ld lines of samples: %s", name,
                 got, want, got < 0 ? err : "");
    }
    got = parse_all(b, n, PROM, STRICT, err, sizeof err);
    if (got != want) {
        fail_msg("%s: strict mode: %ld of %ld: %s", name, got, want, got < 0 ? err : "");
    }
    /* Every series' labels come out whole and with unique names. */
    struct ignis_textparse p;
    ignis_textparse_init(&p, b, n, PROM, SCRAPE);
    enum ignis_textparse_entry e;
    long typed = 0;
    while ((e = ignis_textparse_next(&p)) != IGNIS_TP_EOF) {
        assert_int_not_equal(e, IGNIS_TP_ERROR);
        if (e != IGNIS_TP_SERIES) {
            continue;
        }
        struct ignis_label l[64];
        char scratch[4096];
        size_t sl;
        ignis_textparse_series(&p, &sl);
        int k = ignis_textparse_labels(&p, l, 64, scratch, sizeof scratch);
        assert_int_equal(k, (int)ignis_textparse_label_count(&p) + 1);
        assert_int_equal(ignis_labels_sort(l, (size_t)k), 0);
        typed += ignis_textparse_type(&p) != IGNIS_METRIC_UNKNOWN;
    }
    assert_true(typed_body ? typed > want / 2 : typed == 0);
    ignis_textparse_fini(&p);

    /* The same body gzip-compressed, inflated by the bounded gunzip, parses the same. */
    size_t zn, len;
    unsigned char *z = gz(b, n, &zn);
    char *out;
    assert_int_equal(ignis_gunzip_all(z, zn, n, &out, &len, err, sizeof err), 0);
    assert_int_equal(parse_all(out, len, PROM, SCRAPE, NULL, 0), want);
    free(out);
    free(z);
    free(b);
}

static void test_body_prometheus(void **state)
{
    (void)state;
    check_body("prometheus.prom.txt", true);
}
static void test_body_node_exporter(void **state)
{
    (void)state;
    check_body("node-exporter.prom.txt", true);
}
static void test_body_alertmanager(void **state)
{
    (void)state;
    check_body("alertmanager.prom.txt", true);
}
static void test_body_victoria_metrics(void **state)
{
    (void)state;
    check_body("victoria-metrics.prom.txt", false);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_for_content_type),
        cmocka_unit_test(test_prom_sample_raw_series_value_and_labels),
        cmocka_unit_test(test_prom_label_escapes_unescaped_into_scratch),
        cmocka_unit_test(test_prom_whitespace_commas_and_blank_lines),
        cmocka_unit_test(test_prom_missing_comma_scrape_only),
        cmocka_unit_test(test_prom_last_line_without_newline),
        cmocka_unit_test(test_prom_help_type_comment_entries),
        cmocka_unit_test(test_prom_types_and_bad_type),
        cmocka_unit_test(test_prom_quoted_utf8_names),
        cmocka_unit_test(test_prom_escaped_quoted_name),
        cmocka_unit_test(test_values_special_and_rounding),
        cmocka_unit_test(test_prom_timestamps),
        cmocka_unit_test(test_prom_raw_newline_in_label_value),
        cmocka_unit_test(test_prom_nul_at_line_start_ends_input),
        cmocka_unit_test(test_prom_error_line_and_column),
        cmocka_unit_test(test_prom_strict_metadata_rules),
        cmocka_unit_test(test_prom_counter_created_sample),
        cmocka_unit_test(test_om_family_metadata_created_and_timestamps),
        cmocka_unit_test(test_om_created_lookahead),
        cmocka_unit_test(test_om_timestamp_saturates),
        cmocka_unit_test(test_om_exemplars),
        cmocka_unit_test(test_om_exemplar_limit_counts_code_points),
        cmocka_unit_test(test_om_eof_rules),
        cmocka_unit_test(test_om_whitespace_is_exact),
        cmocka_unit_test(test_om_trailing_comma_scrape_only),
        cmocka_unit_test(test_om_null_byte_in_help),
        cmocka_unit_test(test_om_strict_semantics_vs_scrape),
        cmocka_unit_test(test_om_all_types_accepted),
        cmocka_unit_test(test_gunzip_streams_in_chunks),
        cmocka_unit_test(test_gunzip_limit),
        cmocka_unit_test(test_gunzip_corrupt_truncated_and_multimember),
        cmocka_unit_test(test_body_prometheus),
        cmocka_unit_test(test_body_node_exporter),
        cmocka_unit_test(test_body_alertmanager),
        cmocka_unit_test(test_body_victoria_metrics),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
