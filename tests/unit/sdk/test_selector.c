/* tests/unit/sdk/test_selector.c — label matchers and the series-selector grammar
 * (sdk/src/selector.c): good selectors and what they parse to, bad ones and their exact
 * messages and positions, the braces entry point for PromQL, matching label sets. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <ignis/selector.h>

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define L(n, v)                                                                                    \
    {                                                                                              \
        n, sizeof(n) - 1, v, sizeof(v) - 1                                                         \
    }

static const char *const OPS[] = {"=", "!=", "=~", "!~"};

/* Renders matchers as `name<op>"value"` joined by spaces, values with escapes for the
 * bytes that would confuse a table (\n, \t, \xNN for non-printable and non-ASCII). */
static void render(const struct ignis_selector *sel, char *buf, size_t len)
{
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sel->n && o < len; i++) {
        const struct ignis_matcher *m = &sel->matchers[i];
        o += (size_t)snprintf(buf + o, len - o, "%s%.*s%s\"", i ? " " : "", (int)m->name_len,
                              m->name, OPS[m->type]);
        for (size_t k = 0; k < m->value_len && o < len; k++) {
            unsigned char c = (unsigned char)m->value[k];
            if (c == '\n')
                o += (size_t)snprintf(buf + o, len - o, "\\n");
            else if (c < 0x20 || c >= 0x7f)
                o += (size_t)snprintf(buf + o, len - o, "\\x%02x", c);
            else
                o += (size_t)snprintf(buf + o, len - o, "%c", c);
        }
        if (o < len)
            o += (size_t)snprintf(buf + o, len - o, "\"");
    }
}

static void test_parse_good(void **state)
{
    (void)state;
    const struct {
        const char *in, *want;
    } cases[] = {
        {"up", "__name__=\"up\""},
        {"up{}", "__name__=\"up\""},
        {"up{job=\"node\"}", "__name__=\"up\" job=\"node\""},
        {"up{job=\"node\",}", "__name__=\"up\" job=\"node\""},
        {"up{job=\"node\", instance!=\"a\", path=~\"/x.*\", code!~\"5..\"}",
         "__name__=\"up\" job=\"node\" instance!=\"a\" path=~\"/x.*\" code!~\"5..\""},
        {"{__name__=~\"x.*\"}", "__name__=~\"x.*\""},
        {"{__name__=\"a\", __name__=\"b\"}", "__name__=\"a\" __name__=\"b\""},
        {"{\"my.metric\"}", "__name__=\"my.metric\""},
        {"{\"my.metric\", \"a-b\"=\"x\"}", "__name__=\"my.metric\" a-b=\"x\""},
        {"{\"a-b\"=\"x\", \"my.metric\"}", "__name__=\"my.metric\" a-b=\"x\""},
        {"{\"my.metric\",}", "__name__=\"my.metric\""},
        {"{'my.metric'}", "__name__=\"my.metric\""},
        {"{`my.metric`, `a.b`!=``}", "__name__=\"my.metric\" a.b!=\"\""},
        {"{\"\xc3\xa9t\xc3\xa9\"=\"x\"}", "\xc3\xa9t\xc3\xa9=\"x\""},
        {"foo:bar:baz", "__name__=\"foo:bar:baz\""},
        {":x", "__name__=\":x\""},
        {"_x_{_y=\"1\"}", "__name__=\"_x_\" _y=\"1\""},
        {"  up  {  a  =  \"b\"  ,  }  ", "__name__=\"up\" a=\"b\""},
        {"\n\tup\r\n{\na\n=\n\"b\"\n}\n", "__name__=\"up\" a=\"b\""},
        {"up{a=\"\"}", "__name__=\"up\" a=\"\""},
        {"{a=\"b\", c=\"\"}", "a=\"b\" c=\"\""},
        {"{a!=\"\"}", "a!=\"\""},
        {"{a=~\".+\"}", "a=~\".+\""},
        {"{a!~\"\"}", "a!~\"\""},
        {"{a=\"1\"}", "a=\"1\""},
        /* escapes */
        {"{a=\"\\n\\t\\\\\\\"\"}", "a=\"\\n\\x09\\\"\""},
        {"{a='it\\'s'}", "a=\"it's\""},
        {"{a='\"'}", "a=\"\"\""},
        {"{a=\"'\"}", "a=\"'\""},
        {"{a=`\\n\\d`}", "a=\"\\n\\d\""},
        {"{a=`x\ny`}", "a=\"x\\ny\""},
        {"{a=\"\\x41\\101\\u00e9\\U0001F600\"}", "a=\"AA\\xc3\\xa9\\xf0\\x9f\\x98\\x80\""},
        {"{a=\"\\xff\"}", "a=\"\\xff\""},
        {"{a=\"\\a\\b\\f\\r\\v\"}", "a=\"\\x07\\x08\\x0c\\x0d\\x0b\""},
        {"{a=\"\\000\"}", "a=\"\\x00\""},
        {"{a=\"\xe2\x82\xac\"}", "a=\"\\xe2\\x82\\xac\""},
        /* keywords are fine as names */
        {"sum{by=\"x\", on=\"y\", offset=\"z\"}",
         "__name__=\"sum\" by=\"x\" on=\"y\" offset=\"z\""},
    };
    for (size_t i = 0; i < COUNT(cases); i++) {
        struct ignis_selector sel;
        char err[256] = "", got[512];
        if (ignis_selector_parse(cases[i].in, strlen(cases[i].in), &sel, err, sizeof err) != 0)
            fail_msg("case %zu `%s`: %s", i, cases[i].in, err);
        render(&sel, got, sizeof got);
        if (strcmp(got, cases[i].want) != 0)
            fail_msg("case %zu `%s`: got %s, want %s", i, cases[i].in, got, cases[i].want);
        for (size_t k = 0; k < sel.n; k++) {
            const struct ignis_matcher *m = &sel.matchers[k];
            /* owned copies are NUL-terminated; regex kinds carry a compiled regex */
            assert_int_equal(m->name[m->name_len], '\0');
            assert_int_equal(m->value[m->value_len], '\0');
            assert_true((m->re != NULL) ==
                        (m->type == IGNIS_MATCH_RE || m->type == IGNIS_MATCH_NRE));
        }
        ignis_selector_free(&sel);
        assert_null(sel.matchers);
        assert_int_equal(sel.n, 0);
    }
}

static void test_parse_errors(void **state)
{
    (void)state;
    const struct {
        const char *in, *want;
    } cases[] = {
        {"", "1:1: parse error: no expression found in input"},
        {"   ", "1:4: parse error: no expression found in input"},
        {"{}", "1:1: parse error: vector selector must contain at least one non-empty matcher"},
        {"  {a=\"\"}",
         "1:3: parse error: vector selector must contain at least one non-empty matcher"},
        {"{a!~\"x\", b=~\".*\"}",
         "1:1: parse error: vector selector must contain at least one non-empty matcher"},
        {"{\"\"}", "1:1: parse error: vector selector must contain at least one non-empty matcher"},
        {"foo{\"bar\"}", "1:5: parse error: metric name must not be set twice: \"foo\" or \"bar\""},
        {"{\"a\", \"b\"}", "1:7: parse error: metric name must not be set twice: \"a\" or \"b\""},
        {"foo{__name__=\"x\"}",
         "1:5: parse error: metric name must not be set twice: \"foo\" or \"x\""},
        {"foo{__name__=~\"x\"}",
         "1:5: parse error: metric name must not be set twice: \"foo\" or \"x\""},
        {"{__name__=\"x\", \"y\"}",
         "1:16: parse error: metric name must not be set twice: \"y\" or \"x\""},
        {"{a=\"\\q\"}", "1:5: parse error: unknown escape sequence U+0071 'q'"},
        {"{a=\"\\'\"}", "1:5: parse error: unknown escape sequence U+0027 '\\''"},
        {"{a='\\\"'}", "1:5: parse error: unknown escape sequence U+0022 '\"'"},
        {"{a=\"\\uD800\"}", "1:5: parse error: escape sequence is an invalid Unicode code point"},
        {"{a=\"\\U00110000\"}",
         "1:5: parse error: escape sequence is an invalid Unicode code point"},
        {"{a=\"\\400\"}", "1:5: parse error: escape sequence is an invalid Unicode code point"},
        {"{a=\"\\xZZ\"}", "1:7: parse error: illegal character U+005A 'Z' in escape sequence"},
        {"{a=\"\\1\"}", "1:7: parse error: illegal character U+0022 '\"' in escape sequence"},
        {"{a=\"\\x4", "1:5: parse error: escape sequence not terminated"},
        {"{a=\"\\", "1:5: parse error: escape sequence not terminated"},
        {"{a=\"abc", "1:4: parse error: unterminated quoted string"},
        {"{a='abc", "1:4: parse error: unterminated quoted string"},
        {"{a=\"ab\nc\"}", "1:4: parse error: unterminated quoted string"},
        {"{a=`abc", "1:4: parse error: unterminated raw string"},
        {"{a=\"\xff\"}", "1:5: parse error: invalid UTF-8 rune"},
        {"{a", "1:3: parse error: unexpected end of input inside braces"},
        {"{a=", "1:4: parse error: unexpected end of input inside braces"},
        {"{a=\"b\"", "1:7: parse error: unexpected end of input inside braces"},
        {"{a=\"b\",", "1:8: parse error: unexpected end of input inside braces"},
        {"{", "1:2: parse error: unexpected end of input inside braces"},
        {"{a=b}",
         "1:4: parse error: unexpected identifier \"b\" in label matching, expected string"},
        {"{a==\"b\"}", "1:4: parse error: unexpected \"=\" in label matching, expected string"},
        {"{a=\"b\" c=\"d\"}", "1:8: parse error: unexpected identifier \"c\" in label matching, "
                              "expected \",\" or \"}\""},
        {"{a=\"b\" \"c\"}", "1:8: parse error: unexpected string \"\\\"c\\\"\" in label matching, "
                            "expected \",\" or \"}\""},
        {"{,}",
         "1:2: parse error: unexpected \",\" in label matching, expected identifier or \"}\""},
        {"{=}",
         "1:2: parse error: unexpected \"=\" in label matching, expected identifier or \"}\""},
        {"{a}",
         "1:3: parse error: unexpected \"}\" in label matching, expected label matching operator"},
        {"{a,}",
         "1:3: parse error: unexpected \",\" in label matching, expected label matching operator"},
        {"{a b}", "1:4: parse error: unexpected identifier \"b\" in label matching, expected label "
                  "matching operator"},
        {"{\"a\" \"b\"}",
         "1:6: parse error: unexpected string \"\\\"b\\\"\" in label matching, expected label "
         "matching operator, \",\" or \"}\""},
        {"{a!\"b\"}", "1:3: parse error: unexpected character after '!' inside braces: '\"'"},
        {"{a=\"b\";}", "1:7: parse error: unexpected character inside braces: ';'"},
        {"{a:b=\"c\"}", "1:3: parse error: unexpected character inside braces: ':'"},
        {"{a=1}", "1:4: parse error: unexpected character inside braces: '1'"},
        {"{a~\"b\"}", "1:3: parse error: unexpected character inside braces: '~'"},
        {"{1=\"b\"}", "1:2: parse error: unexpected character inside braces: '1'"},
        {"{\xc3\xa9=\"b\"}", "1:2: parse error: unexpected character inside braces: '\xc3\xa9'"},
        {"{a=\"b\"\t\n}x", "2:2: parse error: unexpected identifier \"x\""},
        {"up{{", "1:4: parse error: unexpected left brace '{'"},
        {"up x", "1:4: parse error: unexpected identifier \"x\""},
        {"up{a=\"b\"}}", "1:10: parse error: unexpected right brace '}'"},
        {"up{a=\"b\"} {c=\"d\"}", "1:11: parse error: unexpected left brace '{'"},
        {"up[5m]", "1:3: parse error: unexpected character: '['"},
        {"1", "1:1: parse error: unexpected character: '1'"},
        {"}", "1:1: parse error: unexpected right brace '}'"},
        {"\"foo\"",
         "1:1: parse error: unexpected string \"\\\"foo\\\"\", expected a series selector"},
        {"{\"\"=\"x\"}", "1:2: parse error: invalid label name \"\""},
        {"{\"\\xff\"=\"x\"}", "1:2: parse error: invalid label name \"\\xff\""},
        {"{\"\\xff\"}", "1:2: parse error: invalid metric name \"\\xff\""},
        {"{a=~\"(\"}",
         "1:5: parse error: error parsing regexp: missing closing parenthesis (at offset 1)"},
        {"{a=\"b\"\n,\nc!~\"a**\"}",
         "3:4: parse error: error parsing regexp: invalid nested repetition operator: `**` (at "
         "offset 1)"},
    };
    for (size_t i = 0; i < COUNT(cases); i++) {
        struct ignis_selector sel = {(struct ignis_matcher *)&sel, 99}; /* garbage in */
        char err[512] = "";
        if (ignis_selector_parse(cases[i].in, strlen(cases[i].in), &sel, err, sizeof err) == 0) {
            ignis_selector_free(&sel);
            fail_msg("case %zu `%s` parsed", i, cases[i].in);
        }
        if (strcmp(err, cases[i].want) != 0)
            fail_msg("case %zu `%s`:\n got  %s\n want %s", i, cases[i].in, err, cases[i].want);
        /* nothing is left to free after an error */
        assert_null(sel.matchers);
        assert_int_equal(sel.n, 0);
    }
    /* a short err buffer is truncated safely; none at all is fine */
    struct ignis_selector sel;
    char small[8];
    assert_int_equal(ignis_selector_parse("{}", 2, &sel, small, sizeof small), -1);
    assert_string_equal(small, "1:1: pa");
    assert_int_equal(ignis_selector_parse("{}", 2, &sel, NULL, 0), -1);
    /* the length is honoured: trailing bytes past len are not read */
    assert_int_equal(ignis_selector_parse("up{a=\"b\"}GARBAGE", 9, &sel, NULL, 0), 0);
    assert_int_equal(sel.n, 2);
    ignis_selector_free(&sel);
    assert_int_equal(ignis_selector_parse("up{a=\"b\"}", 5, &sel, small, sizeof small), -1);
}

static void test_parse_braces_for_promql(void **state)
{
    (void)state;
    const char *q = "rate(http_requests_total{job=\"api\", code=~\"5..\"}[5m])";
    size_t pos = strlen("rate(http_requests_total");
    struct ignis_selector sel = {0};
    char err[256] = "";
    /* the PromQL parser puts the name it read first, then hands over the braces */
    struct ignis_matcher name;
    assert_int_equal(ignis_matcher_init(&name, IGNIS_MATCH_EQ, "__name__", 8, "http_requests_total",
                                        19, err, sizeof err),
                     0);
    sel.matchers = malloc(sizeof name);
    sel.matchers[0] = name;
    sel.n = 1;
    assert_int_equal(ignis_selector_parse_braces(q, strlen(q), &pos, &sel, err, sizeof err), 0);
    assert_int_equal(q[pos], '[');
    char got[256];
    render(&sel, got, sizeof got);
    assert_string_equal(got, "__name__=\"http_requests_total\" job=\"api\" code=~\"5..\"");

    /* a failure reports a 0-based offset into the whole string and leaves out as it was */
    const char *bad = "sum(foo{a=\"b\", \"x\"})";
    size_t bpos = 7;
    size_t before = sel.n;
    assert_int_equal(ignis_selector_parse_braces(bad, strlen(bad), &bpos, &sel, err, sizeof err),
                     -1);
    assert_string_equal(
        err, "at 15: metric name must not be set twice: \"http_requests_total\" or \"x\"");
    assert_int_equal(bpos, 7);
    assert_int_equal(sel.n, before);
    render(&sel, got, sizeof got);
    assert_string_equal(got, "__name__=\"http_requests_total\" job=\"api\" code=~\"5..\"");
    ignis_selector_free(&sel);

    /* without a name before, a quoted name in the braces goes first */
    const char *utf = "x + {\"my.metric\"=\"v\", \"my.metric\"} * 2";
    size_t upos = 4;
    assert_int_equal(ignis_selector_parse_braces(utf, strlen(utf), &upos, &sel, err, sizeof err),
                     0);
    assert_string_equal(utf + upos, " * 2");
    render(&sel, got, sizeof got);
    assert_string_equal(got, "__name__=\"my.metric\" my.metric=\"v\"");
    ignis_selector_free(&sel);

    /* empty braces are the caller's to judge (PromQL checks the non-empty rule) */
    const char *empty = "foo{}";
    size_t epos = 3;
    assert_int_equal(ignis_selector_parse_braces(empty, 5, &epos, &sel, err, sizeof err), 0);
    assert_int_equal(epos, 5);
    assert_int_equal(sel.n, 0);
    /* not at a brace */
    epos = 0;
    assert_int_equal(ignis_selector_parse_braces(empty, 5, &epos, &sel, err, sizeof err), -1);
    assert_string_equal(err, "at 0: expected \"{\"");
    epos = 9;
    assert_int_equal(ignis_selector_parse_braces(empty, 5, &epos, &sel, err, sizeof err), -1);
    const char *eof = "foo{a=\"b\"";
    epos = 3;
    assert_int_equal(ignis_selector_parse_braces(eof, strlen(eof), &epos, &sel, err, sizeof err),
                     -1);
    assert_string_equal(err, "at 9: unexpected end of input inside braces");
    assert_int_equal(sel.n, 0);
    ignis_selector_free(&sel);
}

static void test_matchers(void **state)
{
    (void)state;
    const struct {
        enum ignis_match_type t;
        const char *v;
        const char *subject; /* NULL: the label is absent */
        bool want;
    } cases[] = {
        {IGNIS_MATCH_EQ, "a", "a", true},       {IGNIS_MATCH_EQ, "a", "ab", false},
        {IGNIS_MATCH_EQ, "a", "", false},       {IGNIS_MATCH_EQ, "a", NULL, false},
        {IGNIS_MATCH_EQ, "", NULL, true},       {IGNIS_MATCH_EQ, "", "", true},
        {IGNIS_MATCH_NE, "a", "a", false},      {IGNIS_MATCH_NE, "a", "b", true},
        {IGNIS_MATCH_NE, "a", NULL, true},      {IGNIS_MATCH_NE, "", NULL, false},
        {IGNIS_MATCH_RE, "a.*", "abc", true},   {IGNIS_MATCH_RE, "a.*", "xabc", false},
        {IGNIS_MATCH_RE, "a|b", "ab", false},   {IGNIS_MATCH_RE, ".*", NULL, true},
        {IGNIS_MATCH_RE, ".+", NULL, false},    {IGNIS_MATCH_RE, "a.b", "a\nb", true},
        {IGNIS_MATCH_NRE, "a.*", "abc", false}, {IGNIS_MATCH_NRE, "a.*", "b", true},
        {IGNIS_MATCH_NRE, "", NULL, false},     {IGNIS_MATCH_NRE, ".+", NULL, true},
    };
    for (size_t i = 0; i < COUNT(cases); i++) {
        struct ignis_matcher m;
        char err[128];
        assert_int_equal(ignis_matcher_init(&m, cases[i].t, "lbl", 3, cases[i].v,
                                            strlen(cases[i].v), err, sizeof err),
                         0);
        const char *s = cases[i].subject ? cases[i].subject : "";
        if (ignis_matcher_matches(&m, s, strlen(s)) != cases[i].want)
            fail_msg("case %zu: %s%s on \"%s\"", i, OPS[cases[i].t], cases[i].v, s);
        if (!cases[i].subject && ignis_matcher_matches_empty(&m) != cases[i].want)
            fail_msg("case %zu: matches_empty", i);
        ignis_matcher_clear(&m);
        assert_null(m.name);
        assert_null(m.re);
    }
    /* a NULL value pointer counts as empty */
    struct ignis_matcher m;
    assert_int_equal(ignis_matcher_init(&m, IGNIS_MATCH_EQ, "a", 1, "", 0, NULL, 0), 0);
    assert_true(ignis_matcher_matches(&m, NULL, 5));
    ignis_matcher_clear(&m);
    /* a bad regex is refused with a message and nothing to free */
    char err[128] = "";
    assert_int_equal(ignis_matcher_init(&m, IGNIS_MATCH_NRE, "a", 1, "(", 1, err, sizeof err), -1);
    assert_non_null(strstr(err, "error parsing regexp"));
    assert_null(m.name);
    ignis_matcher_clear(&m);
    /* the matcher copies: the caller's buffers may go away */
    char name[] = "job", value[] = "x.*";
    assert_int_equal(ignis_matcher_init(&m, IGNIS_MATCH_RE, name, 3, value, 3, err, sizeof err), 0);
    memset(name, 0, sizeof name);
    memset(value, 0, sizeof value);
    assert_string_equal(m.name, "job");
    assert_true(ignis_matcher_matches(&m, "xyz", 3));
    ignis_matcher_clear(&m);
    ignis_matcher_clear(NULL);
}

static void test_selector_matches_label_sets(void **state)
{
    (void)state;
    struct ignis_label s1[] = {L("__name__", "up"), L("instance", "a:9100"), L("job", "node")};
    struct ignis_label s2[] = {L("__name__", "up"), L("job", "api")};
    struct ignis_label s3[] = {L("__name__", "down"), L("job", "node")};
    struct ignis_label s4[] = {L("__name__", "my.metric"), L("a-b", "x")};
    const struct {
        const char *sel;
        bool m1, m2, m3, m4;
    } cases[] = {
        {"up", true, true, false, false},
        {"up{job=\"node\"}", true, false, false, false},
        {"{job=~\"node|api\"}", true, true, true, false},
        {"up{instance=\"\"}", false, true, false, false},
        {"up{instance!=\"\"}", true, false, false, false},
        {"{__name__=~\"up|down\", job!=\"api\"}", true, false, true, false},
        {"{job!~\"n.*\", __name__!=\"\"}", false, true, false, true},
        {"{\"my.metric\", \"a-b\"=\"x\"}", false, false, false, true},
        {"{__name__=~\".+\", missing=\"\"}", true, true, true, true},
    };
    for (size_t i = 0; i < COUNT(cases); i++) {
        struct ignis_selector sel;
        char err[256];
        if (ignis_selector_parse(cases[i].sel, strlen(cases[i].sel), &sel, err, sizeof err))
            fail_msg("%s: %s", cases[i].sel, err);
        bool got[4] = {
            ignis_selector_matches(&sel, s1, COUNT(s1)),
            ignis_selector_matches(&sel, s2, COUNT(s2)),
            ignis_selector_matches(&sel, s3, COUNT(s3)),
            ignis_selector_matches(&sel, s4, COUNT(s4)),
        };
        bool want[4] = {cases[i].m1, cases[i].m2, cases[i].m3, cases[i].m4};
        for (int k = 0; k < 4; k++)
            if (got[k] != want[k])
                fail_msg("%s on set %d: got %d", cases[i].sel, k + 1, got[k]);
        ignis_selector_free(&sel);
    }
    ignis_selector_free(NULL);
}

static void test_long_selector(void **state)
{
    (void)state;
    /* many matchers grow the array several times */
    char buf[8192];
    size_t o = (size_t)snprintf(buf, sizeof buf, "m{");
    for (int i = 0; i < 200; i++)
        o += (size_t)snprintf(buf + o, sizeof buf - o, "l%d=\"v%d\",", i, i);
    o += (size_t)snprintf(buf + o, sizeof buf - o, "}");
    struct ignis_selector sel;
    char err[256];
    assert_int_equal(ignis_selector_parse(buf, o, &sel, err, sizeof err), 0);
    assert_int_equal(sel.n, 201);
    assert_string_equal(sel.matchers[200].name, "l199");
    assert_string_equal(sel.matchers[200].value, "v199");
    ignis_selector_free(&sel);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_good),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_parse_braces_for_promql),
        cmocka_unit_test(test_matchers),
        cmocka_unit_test(test_selector_matches_label_sets),
        cmocka_unit_test(test_long_selector),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
