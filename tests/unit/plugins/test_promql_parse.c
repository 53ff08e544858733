/* tests/unit/plugins/test_promql_parse.c — the PromQL parser and printer
 * (plugins/query/promql/parse.c, print.c): literals, selectors, operator precedence,
 * modifiers, aggregations, calls and their type checks, feature switches, and the
 * positions and wording of errors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ast.h"

static const struct pq_features all_features = {
    .experimental_functions = true,
    .duration_expr = true,
    .extended_range = true,
    .fill_modifiers = true,
    .at_modifier = true,
    .negative_offset = true,
};

static struct pq_expr *parse_ok(const char *q)
{
    char err[256];
    struct pq_expr *e = pq_parse(q, strlen(q), &all_features, err, sizeof err);
    if (!e)
        fail_msg("parse of '%s' failed: %s", q, err);
    return e;
}

/* Parses q and checks its one-line form. */
static void roundtrip(const char *q, const char *want)
{
    struct pq_expr *e = parse_ok(q);
    char *s = pq_node_string(e->root);
    assert_non_null(s);
    if (strcmp(s, want) != 0)
        fail_msg("'%s' printed as '%s', want '%s'", q, s, want);
    /* the printed form parses to the same printed form */
    struct pq_expr *e2 = parse_ok(s);
    char *s2 = pq_node_string(e2->root);
    assert_string_equal(s2, s);
    free(s2);
    pq_expr_free(e2);
    free(s);
    pq_expr_free(e);
}

static void parse_err(const char *q, const char *want)
{
    char err[256];
    struct pq_expr *e = pq_parse(q, strlen(q), &all_features, err, sizeof err);
    if (e) {
        pq_expr_free(e);
        fail_msg("parse of '%s' succeeded, want error '%s'", q, want);
    }
    if (strcmp(err, want) != 0)
        fail_msg("'%s': error '%s', want '%s'", q, err, want);
}

static double number_of(const char *q)
{
    struct pq_expr *e = parse_ok(q);
    assert_int_equal(e->root->kind, N_NUMBER);
    double v = e->root->num.v;
    pq_expr_free(e);
    return v;
}

static void test_number_literals(void **state)
{
    (void)state;
    assert_true(number_of("23") == 23);
    assert_true(number_of("-2.43") == -2.43);
    assert_true(number_of("3.4e-9") == 3.4e-9);
    assert_true(number_of("12.34e+6") == 12340000);
    assert_true(number_of("0x8f") == 143);
    assert_true(number_of(".2") == 0.2);
    assert_true(number_of("2.") == 2);
    assert_true(number_of("+0.2") == 0.2);
    assert_true(isinf(number_of("-Inf")) && number_of("-inf") < 0);
    assert_true(isinf(number_of("inF")) && number_of("+Inf") > 0);
    assert_true(isnan(number_of("NaN")) && isnan(number_of("nan")));
    /* durations are numbers of seconds where a number is expected */
    assert_true(number_of("1h30m") == 5400);
    assert_true(number_of("500ms") == 0.5);
    parse_err("1.5h", "1:1: parse error: unexpected duration \"1.5h\"");
    parse_err("5mfoo", "1:1: parse error: bad number or duration syntax: \"5mf\"");
    parse_err("1m1h", "1:1: parse error: bad number or duration syntax: \"1m1h\"");
    parse_err("foo[0s]", "1:5: parse error: duration must be greater than 0");
}

static void test_string_literals(void **state)
{
    (void)state;
    struct pq_expr *e = parse_ok("\"a\\tb\\x41\\101\\u00e9\\\"\"");
    assert_int_equal(e->root->kind, N_STRING);
    assert_int_equal(e->root->type, PQ_T_STRING);
    assert_string_equal(e->root->str.s, "a\tbAA\xc3\xa9\"");
    pq_expr_free(e);
    e = parse_ok("'it\\'s'");
    assert_string_equal(e->root->str.s, "it's");
    pq_expr_free(e);
    e = parse_ok("`raw \\n stays`");
    assert_string_equal(e->root->str.s, "raw \\n stays");
    pq_expr_free(e);
    roundtrip("'x\\ny'", "\"x\\ny\"");
    parse_err("\"abc", "1:1: parse error: unterminated quoted string");
    parse_err("`abc", "1:1: parse error: unterminated raw string");
    parse_err("\"\\q\"", "1:1: parse error: unknown escape sequence U+0071 'q'");
}

static void test_selectors(void **state)
{
    (void)state;
    struct pq_expr *e = parse_ok("http_requests_total{job=\"prometheus\",group=~\"can.*\"}");
    struct pq_node *n = e->root;
    assert_int_equal(n->kind, N_VECTOR);
    assert_int_equal(n->type, PQ_T_VECTOR);
    assert_string_equal(n->vs.name, "http_requests_total");
    assert_int_equal(n->vs.sel.n, 3);
    pq_expr_free(e);
    roundtrip("foo", "foo");
    roundtrip("foo{}", "foo");
    roundtrip("foo{b=\"2\", a!=\"1\"}", "foo{a!=\"1\",b=\"2\"}");
    roundtrip("{__name__=~\"job:.*\"}", "{__name__=~\"job:.*\"}");
    roundtrip("job:rate5m:sum", "job:rate5m:sum");
    /* keywords that can stand as metric names */
    roundtrip("sum", "sum");
    roundtrip("offset", "offset");
    parse_err("{job=~\".*\"}",
              "1:1: parse error: vector selector must contain at least one non-empty matcher");
    parse_err("{}",
              "1:1: parse error: vector selector must contain at least one non-empty matcher");
    parse_err("foo{__name__=\"bar\"}",
              "1:1: parse error: metric name must not be set twice: \"foo\" or \"bar\"");
}

static void test_range_offset_at(void **state)
{
    (void)state;
    roundtrip("foo[5m]", "foo[5m]");
    roundtrip("foo[300]", "foo[5m]");
    roundtrip("foo offset 5m", "foo offset 5m");
    roundtrip("foo offset -1w", "foo offset -1w");
    roundtrip("foo[5m] offset 1m @ 100", "foo[5m] @ 100.000 offset 1m");
    roundtrip("foo @ 1609746000 offset 5m", "foo @ 1609746000.000 offset 5m");
    roundtrip("foo offset 5m @ 1609746000", "foo @ 1609746000.000 offset 5m");
    roundtrip("rate(foo[5m] @ end())", "rate(foo[5m] @ end())");
    roundtrip("foo @ start()", "foo @ start()");
    roundtrip("foo @ -1.5", "foo @ -1.500");
    struct pq_expr *e = parse_ok("foo[1m] offset 30s @ 10.5");
    struct pq_node *vs = e->root->ms.vs;
    assert_int_equal(e->root->kind, N_MATRIX);
    assert_int_equal(e->root->ms.range.ms, 60000);
    assert_int_equal(vs->vs.offset.ms, 30000);
    assert_int_equal(vs->vs.at, PQ_AT_TS);
    assert_int_equal(vs->vs.at_ms, 10500);
    pq_expr_free(e);
    parse_err("foo offset 1m offset 2m", "1:1: parse error: offset may not be set multiple times");
    parse_err("foo @ 1 @ 2", "1:1: parse error: @ <timestamp> may not be set multiple times");
    parse_err("foo offset 1m [5m]", "1:15: parse error: no offset modifiers allowed before range");
    parse_err("sum(foo) offset 5m",
              "1:1: parse error: offset modifier must be preceded by an instant vector selector "
              "or range vector selector or a subquery");
    parse_err("(foo)[5m]", "1:6: parse error: ranges only allowed for vector selectors");
    parse_err("foo[5m", "1:7: parse error: unclosed left bracket");
    parse_err("foo[1m:1m:1m]", "1:10: parse error: unexpected colon ':'");
    parse_err("x[5m]]", "1:6: parse error: unexpected right bracket ']'");
}

static void test_subqueries(void **state)
{
    (void)state;
    roundtrip("rate(foo[5m])[30m:1m]", "rate(foo[5m])[30m:1m]");
    roundtrip("foo[10m:]", "foo[10m:]");
    roundtrip("max_over_time(rate(foo[5m])[1h:] offset 1m)",
              "max_over_time(rate(foo[5m])[1h:] offset 1m)");
    struct pq_expr *e = parse_ok("foo[1h:5m] @ 100 offset 10m");
    assert_int_equal(e->root->kind, N_SUBQUERY);
    assert_int_equal(e->root->type, PQ_T_MATRIX);
    assert_int_equal(e->root->sq.range.ms, 3600000);
    assert_int_equal(e->root->sq.step.ms, 300000);
    assert_int_equal(e->root->sq.offset.ms, 600000);
    assert_int_equal(e->root->sq.at_ms, 100000);
    pq_expr_free(e);
    parse_err("foo[5m][10m:1m]",
              "1:1: parse error: subquery is only allowed on instant vector, got matrix "
              "instead");
}

static void test_precedence(void **state)
{
    (void)state;
    /* ^ is right-associative, the rest left-associative */
    struct pq_expr *e = parse_ok("2 ^ 3 ^ 2");
    assert_int_equal(e->root->kind, N_BINARY);
    assert_int_equal(e->root->bin.lhs->kind, N_NUMBER);
    assert_int_equal(e->root->bin.rhs->kind, N_BINARY);
    pq_expr_free(e);
    e = parse_ok("2 * 3 % 2");
    assert_int_equal(e->root->bin.op, TK_MOD);
    assert_int_equal(e->root->bin.lhs->kind, N_BINARY);
    pq_expr_free(e);
    e = parse_ok("a or b and c unless d == e + f * g ^ h");
    assert_int_equal(e->root->bin.op, TK_LOR);
    assert_int_equal(e->root->bin.rhs->bin.op, TK_LUNLESS);
    assert_int_equal(e->root->bin.rhs->bin.lhs->bin.op, TK_LAND);
    assert_int_equal(e->root->bin.rhs->bin.rhs->bin.op, TK_EQLC);
    pq_expr_free(e);
    /* unary minus binds like *: -a^b is -(a^b), -a*b is (-a)*b */
    e = parse_ok("-foo ^ 2");
    assert_int_equal(e->root->kind, N_UNARY);
    pq_expr_free(e);
    e = parse_ok("-foo * 2");
    assert_int_equal(e->root->kind, N_BINARY);
    assert_int_equal(e->root->bin.lhs->kind, N_UNARY);
    pq_expr_free(e);
    assert_true(number_of("-1") == -1);
    roundtrip("1 - -1", "1 - -1");
    roundtrip("a atan2 b", "a atan2 b");
}

static void test_vector_matching(void **state)
{
    (void)state;
    roundtrip("a / ignoring(code) b", "a / ignoring (code) b");
    roundtrip("a * on(x, y) group_left(z) b", "a * on (x, y) group_left (z) b");
    roundtrip("a + on() group_right b", "a + on () group_right () b");
    roundtrip("a > bool b", "a > bool b");
    roundtrip("a and on(x) b", "a and on (x) b");
    roundtrip("a + fill(0) b", "a + fill (0) b");
    roundtrip("a + fill_left(5) fill_right(7) b", "a + fill_left (5) fill_right (7) b");
    struct pq_expr *e = parse_ok("a * ignoring(j) group_left fill(-Inf) b");
    assert_int_equal(e->root->bin.card, PQ_CARD_MANY_TO_ONE);
    assert_true(e->root->bin.fill_left && e->root->bin.fill_right);
    assert_true(isinf(e->root->bin.fill_left_v) && e->root->bin.fill_left_v < 0);
    pq_expr_free(e);
    parse_err("1 > 2", "1:3: parse error: comparisons between scalars must use BOOL modifier");
    parse_err("a + bool b",
              "1:3: parse error: bool modifier can only be used on comparison operators");
    parse_err("a and on(x) group_left b", "1:1: parse error: no grouping allowed for \"and\" "
                                          "operation");
    parse_err("1 and a", "1:1: parse error: set operator \"and\" not allowed in binary scalar "
                         "expression");
    parse_err("a * on(x) group_left(x) b",
              "1:3: parse error: label \"x\" must not occur in ON and GROUP clause at once");
    parse_err("a[5m] + b", "1:1: parse error: binary expression must contain only scalar and "
                           "instant vector types");
}

static void test_aggregations(void **state)
{
    (void)state;
    roundtrip("sum by (job) (foo)", "sum by (job) (foo)");
    roundtrip("sum(foo) by (job)", "sum by (job) (foo)");
    roundtrip("SUM WITHOUT(instance)(foo)", "sum without (instance) (foo)");
    roundtrip("topk(5, foo)", "topk(5, foo)");
    roundtrip("count_values(\"version\", build_version)",
              "count_values(\"version\", build_version)");
    roundtrip("quantile without (a,) (0.9, foo)", "quantile without (a) (0.9, foo)");
    roundtrip("sum by () (foo)", "sum(foo)");
    struct pq_expr *e = parse_ok("topk by (a) (3, foo)");
    assert_int_equal(e->root->kind, N_AGG);
    assert_int_equal(e->root->agg.op, TK_TOPK);
    assert_non_null(e->root->agg.param);
    assert_int_equal(e->root->agg.grouping.n, 1);
    assert_string_equal(e->root->agg.grouping.names[0], "a");
    pq_expr_free(e);
    parse_err("sum()", "1:1: parse error: no arguments for aggregate expression provided");
    parse_err("topk(foo)", "1:1: parse error: wrong number of arguments for aggregate expression "
                           "provided, expected 2, got 1");
    parse_err("sum(foo[5m])", "1:5: parse error: expected type instant vector in aggregation "
                              "expression, got range vector");
    parse_err("sum by (a) (foo) by (b)", "1:18: parse error: unexpected <by>");
}

static void test_calls(void **state)
{
    (void)state;
    roundtrip("rate(foo[5m])", "rate(foo[5m])");
    roundtrip("label_replace(up, \"foo\", \"$1\", \"service\", \"(.*):.*\")",
              "label_replace(up, \"foo\", \"$1\", \"service\", \"(.*):.*\")");
    roundtrip("round(foo, 5)", "round(foo, 5)");
    roundtrip("year()", "year()");
    roundtrip("time()", "time()");
    roundtrip("predict_linear(foo[1h], 1h)", "predict_linear(foo[1h], 1h)");
    struct pq_expr *e = parse_ok("clamp(foo, 0, 1,)");
    assert_int_equal(e->root->call.nargs, 3);
    assert_int_equal(e->root->call.fn->id, F_CLAMP);
    pq_expr_free(e);
    parse_err("rate(foo)", "1:6: parse error: expected type range vector in call to function "
                           "\"rate\", got instant vector");
    parse_err("abs(foo, 1)", "1:1: parse error: expected 1 argument(s) in call to \"abs\", got 2");
    parse_err("label_join(foo)",
              "1:1: parse error: expected at least 3 argument(s) in call to \"label_join\", got 1");
    parse_err("round(foo, 1, 2)",
              "1:1: parse error: expected at most 2 argument(s) in call to \"round\", got 3");
    parse_err("nosuch(foo)", "1:1: parse error: unknown function with name \"nosuch\"");
    parse_err("rate(foo[5m]", "1:13: parse error: unclosed left parenthesis");
    parse_err("foo)", "1:5: parse error: unexpected right parenthesis ')'");
    parse_err("sum(", "1:5: parse error: unclosed left parenthesis");
}

static void test_duration_expressions(void **state)
{
    (void)state;
    struct pq_expr *e = parse_ok("foo[24m+((1.5*2m)+2m)]");
    assert_int_equal(e->root->ms.range.ms, 29 * 60000);
    pq_expr_free(e);
    e = parse_ok("foo[30m1s-30m1s % 1m]");
    assert_int_equal(e->root->ms.range.ms, 30 * 60000);
    pq_expr_free(e);
    e = parse_ok("foo[-5m+35m]");
    assert_int_equal(e->root->ms.range.ms, 30 * 60000);
    pq_expr_free(e);
    /* offset takes one signed atom; what follows is an ordinary binary operator */
    e = parse_ok("foo offset -2 ^ 2");
    assert_int_equal(e->root->kind, N_BINARY);
    assert_int_equal(e->root->bin.lhs->vs.offset.ms, -2000);
    pq_expr_free(e);
    e = parse_ok("foo offset (-2 ^ 2)");
    assert_int_equal(e->root->kind, N_VECTOR);
    assert_int_equal(e->root->vs.offset.ms, -4000);
    pq_expr_free(e);
    /* step() and range() are resolved when the query runs */
    e = parse_ok("count_over_time(foo[STEP()+1ms])");
    assert_non_null(e->root->call.args[0]->ms.range.expr);
    pq_expr_free(e);
    roundtrip("foo[min_of(step(), 1h)]", "foo[min_of(step(), 1h)]");
    e = parse_ok("foo[5m:5s+5s]");
    assert_int_equal(e->root->sq.step.ms, 10000);
    pq_expr_free(e);
}

static void test_feature_switches(void **state)
{
    (void)state;
    struct pq_features none = {.at_modifier = true, .negative_offset = true};
    char err[256];
    struct pq_expr *e = pq_parse("sort_by_label(foo, \"a\")", 23, &none, err, sizeof err);
    assert_null(e);
    assert_string_equal(err, "1:1: parse error: function \"sort_by_label\" is not enabled");
    e = pq_parse("foo[5m*2]", 9, &none, err, sizeof err);
    assert_null(e);
    e = pq_parse("rate(foo[5m] anchored)", 22, &none, err, sizeof err);
    assert_null(e);
    e = pq_parse("a + fill(0) b", 13, &none, err, sizeof err);
    assert_null(e);
    struct pq_features no_at = {0};
    e = pq_parse("foo @ 10", 8, &no_at, err, sizeof err);
    assert_null(e);
    assert_string_equal(err, "1:5: parse error: @ modifier is disabled");
    e = pq_parse("foo offset -5m", 14, &no_at, err, sizeof err);
    assert_null(e);
    e = pq_parse("rate(foo[5m])", 13, &none, err, sizeof err);
    assert_non_null(e);
    pq_expr_free(e);
}

static void test_extended_range(void **state)
{
    (void)state;
    roundtrip("increase(foo[5m] anchored)", "increase(foo[5m] anchored)");
    roundtrip("foo smoothed", "foo smoothed");
    roundtrip("foo offset -100 smoothed", "foo offset -1m40s smoothed");
    parse_err("foo[5m:1m] smoothed", "1:12: parse error: smoothed modifier is not supported for "
                                     "subqueries");
}

static void test_error_positions_multiline(void **state)
{
    (void)state;
    parse_err("sum(\n  foo\n  +)", "3:4: parse error: unexpected right parenthesis ')'");
    parse_err("foo # comment\n+ $", "2:3: parse error: unexpected character: '$'");
    parse_err("", "1:1: parse error: no expression found in input");
}

static void test_pretty(void **state)
{
    (void)state;
    struct pq_expr *e =
        parse_ok("sum by (job) (rate(http_requests_total{job=\"api-server\",handler="
                 "\"/api/v1/query\"}[5m])) / on (job) group_left () "
                 "sum by (job) (up{job=\"api-server\"})");
    char *s = pq_node_pretty(e->root);
    assert_non_null(s);
    const char *want =
        "  sum by (job) (rate(http_requests_total{handler=\"/api/v1/query\",job=\"api-server\"}"
        "[5m]))\n"
        "/ on (job) group_left ()\n"
        "  sum by (job) (up{job=\"api-server\"})";
    assert_string_equal(s, want);
    free(s);
    pq_expr_free(e);
    e = parse_ok("foo + bar");
    s = pq_node_pretty(e->root);
    assert_string_equal(s, "foo + bar");
    free(s);
    pq_expr_free(e);
}

static void test_quote_and_float_format(void **state)
{
    (void)state;
    struct pq_buf b = {0};
    pq_buf_quote(&b, "a\xc5z\n\"", 5);
    assert_string_equal(b.p, "\"a\\xc5z\\n\\\"\"");
    b.len = 0;
    pq_buf_float(&b, 0.1);
    assert_string_equal(b.p, "0.1");
    b.len = 0;
    pq_buf_float(&b, 1e21);
    assert_string_equal(b.p, "1e+21");
    b.len = 0;
    pq_buf_float(&b, 1e-5);
    assert_string_equal(b.p, "1e-05");
    b.len = 0;
    pq_buf_float(&b, 123456789);
    assert_string_equal(b.p, "123456789");
    b.len = 0;
    pq_buf_duration(&b, 5400000);
    assert_string_equal(b.p, "1h30m");
    b.len = 0;
    pq_buf_duration(&b, -1500);
    assert_string_equal(b.p, "-1s500ms");
    free(b.p);
}

static void test_deep_nesting_bounded(void **state)
{
    (void)state;
    size_t n = 5000;
    char *q = malloc(2 * n + 2);
    memset(q, '(', n);
    q[n] = '1';
    memset(q + n + 1, ')', n);
    q[2 * n + 1] = 0;
    char err[256];
    struct pq_expr *e = pq_parse(q, strlen(q), &all_features, err, sizeof err);
    assert_null(e);
    assert_non_null(strstr(err, "nested too deeply"));
    free(q);
}

/* The /api/v1/parse_query tree of q must be want (Prometheus' shape: keys sorted,
 * durations in ms, name matcher after the braces' matchers). */
static void ast_json(const char *q, const char *want)
{
    struct pq_expr *e = parse_ok(q);
    char err[256] = "";
    char *s = pq_node_json(e->root, err, sizeof err);
    if (!s)
        fail_msg("json of '%s' failed: %s", q, err);
    if (strcmp(s, want) != 0)
        fail_msg("'%s' as JSON:\n%s\nwant:\n%s", q, s, want);
    free(s);
    pq_expr_free(e);
}

#define VS(name, m, extra)                                                                 \
    "{\"anchored\":false,\"matchers\":[" m "],\"name\":\"" name "\",\"offset\":0"           \
    ",\"smoothed\":false,\"startOrEnd\":null,\"timestamp\":null,\"type\":\"vectorSelector\"}"
#define NM(v) "{\"name\":\"__name__\",\"type\":\"=\",\"value\":\"" v "\"}"

static void test_parse_query_json(void **state)
{
    (void)state;
    ast_json("1.5e3", "{\"type\":\"numberLiteral\",\"val\":\"1500\"}");
    ast_json("-Inf", "{\"type\":\"numberLiteral\",\"val\":\"-Inf\"}");
    ast_json("\"a<b\\n\"", "{\"type\":\"stringLiteral\",\"val\":\"a\\u003cb\\n\"}");
    ast_json("up", VS("up", NM("up"), ""));
    ast_json("{__name__=~\"a.*\",b!=\"c\"}",
             "{\"anchored\":false,\"matchers\":[{\"name\":\"__name__\",\"type\":\"=~\",\"value\":"
             "\"a.*\"},{\"name\":\"b\",\"type\":\"!=\",\"value\":\"c\"}],\"name\":\"\","
             "\"offset\":0,\"smoothed\":false,\"startOrEnd\":null,\"timestamp\":null,"
             "\"type\":\"vectorSelector\"}");
    ast_json("rate(x{a!~\"b\"}[5m] offset -1m @ 12.5)",
             "{\"args\":[{\"anchored\":false,\"matchers\":[{\"name\":\"a\",\"type\":\"!~\","
             "\"value\":\"b\"}," NM("x") "],\"name\":\"x\",\"offset\":-60000,\"range\":300000,"
             "\"smoothed\":false,\"startOrEnd\":null,\"timestamp\":12500,\"type\":"
             "\"matrixSelector\"}],\"func\":{\"argTypes\":[\"matrix\"],\"name\":\"rate\","
             "\"returnType\":\"vector\",\"variadic\":0},\"type\":\"call\"}");
    ast_json("max_over_time((x)[1h:] @ end())",
             "{\"args\":[{\"alignEvalTime\":false,\"expr\":{\"expr\":" VS("x", NM("x"), "")
             ",\"type\":\"parenExpr\"},\"offset\":0,\"range\":3600000,\"startOrEnd\":\"end\","
             "\"step\":0,\"timestamp\":null,\"type\":\"subquery\"}],\"func\":{\"argTypes\":"
             "[\"matrix\"],\"name\":\"max_over_time\",\"returnType\":\"vector\",\"variadic\":0},"
             "\"type\":\"call\"}");
    ast_json("count_values without (a, b) (\"v\", x)",
             "{\"expr\":" VS("x", NM("x"), "") ",\"grouping\":[\"a\",\"b\"],\"op\":"
             "\"count_values\",\"param\":{\"type\":\"stringLiteral\",\"val\":\"v\"},\"type\":"
             "\"aggregation\",\"without\":true}");
    /* scalar operands: no matching; set operators: many-to-many; <, > and & escaped
     * as Go's encoder does */
    ast_json("x > bool 1",
             "{\"bool\":true,\"lhs\":" VS("x", NM("x"), "") ",\"matching\":null,\"op\":\"\\u003e\","
             "\"rhs\":{\"type\":\"numberLiteral\",\"val\":\"1\"},\"type\":\"binaryExpr\"}");
    ast_json("x unless ignoring (i) y",
             "{\"bool\":false,\"lhs\":" VS("x", NM("x"), "") ",\"matching\":{\"card\":"
             "\"many-to-many\",\"fillValues\":{\"lhs\":null,\"rhs\":null},\"include\":[],"
             "\"labels\":[\"i\"],\"on\":false},\"op\":\"unless\",\"rhs\":" VS("y", NM("y"), "")
             ",\"type\":\"binaryExpr\"}");
    ast_json("x / on (j) group_right (k) y",
             "{\"bool\":false,\"lhs\":" VS("x", NM("x"), "") ",\"matching\":{\"card\":"
             "\"one-to-many\",\"fillValues\":{\"lhs\":null,\"rhs\":null},\"include\":[\"k\"],"
             "\"labels\":[\"j\"],\"on\":true},\"op\":\"/\",\"rhs\":" VS("y", NM("y"), "")
             ",\"type\":\"binaryExpr\"}");
    ast_json("x + fill_left(0.5) fill_right(1e-7) y",
             "{\"bool\":false,\"lhs\":" VS("x", NM("x"), "") ",\"matching\":{\"card\":"
             "\"one-to-one\",\"fillValues\":{\"lhs\":0.5,\"rhs\":1e-7},\"include\":[],"
             "\"labels\":[],\"on\":false},\"op\":\"+\",\"rhs\":" VS("y", NM("y"), "")
             ",\"type\":\"binaryExpr\"}");
    /* a unary minus on a number folds into the literal; on anything else it stays */
    ast_json("-(1)", "{\"expr\":{\"expr\":{\"type\":\"numberLiteral\",\"val\":\"1\"},"
                     "\"type\":\"parenExpr\"},\"op\":\"-\",\"type\":\"unaryExpr\"}");
    ast_json("time()", "{\"args\":[],\"func\":{\"argTypes\":[],\"name\":\"time\","
                       "\"returnType\":\"scalar\",\"variadic\":0},\"type\":\"call\"}");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_number_literals),
        cmocka_unit_test(test_string_literals),
        cmocka_unit_test(test_selectors),
        cmocka_unit_test(test_range_offset_at),
        cmocka_unit_test(test_subqueries),
        cmocka_unit_test(test_precedence),
        cmocka_unit_test(test_vector_matching),
        cmocka_unit_test(test_aggregations),
        cmocka_unit_test(test_calls),
        cmocka_unit_test(test_duration_expressions),
        cmocka_unit_test(test_feature_switches),
        cmocka_unit_test(test_extended_range),
        cmocka_unit_test(test_error_positions_multiline),
        cmocka_unit_test(test_pretty),
        cmocka_unit_test(test_quote_and_float_format),
        cmocka_unit_test(test_deep_nesting_bounded),
        cmocka_unit_test(test_parse_query_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
