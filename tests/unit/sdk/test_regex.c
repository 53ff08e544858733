/* tests/unit/sdk/test_regex.c — RE2-syntax regexes on PCRE2 (sdk/src/regex.c): full
 * anchoring, `.` and newlines, the RE2 dialect, compile errors, literal sets, prefixes,
 * fast paths against the general matcher, replacement templates, threads. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <ignis/selector.h>

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static struct ignis_regex *compile_ok(const char *p)
{
    char err[256] = "";
    struct ignis_regex *re = ignis_regex_compile(p, strlen(p), err, sizeof err);
    if (!re)
        fail_msg("/%s/ did not compile: %s", p, err);
    return re;
}

static bool match(const struct ignis_regex *re, const char *s)
{
    return ignis_regex_match(re, s, strlen(s));
}

static void test_anchoring_and_dot(void **state)
{
    (void)state;
    const struct {
        const char *re, *s;
        bool want;
    } cases[] = {
        {"foo", "foo", true},
        {"foo", "xfoo", false},
        {"foo", "foox", false},
        {"foo", "foo\n", false},
        {"foo$", "foo\n", false}, /* $ is end of text, as in RE2 */
        {"^foo$", "foo", true},
        {"(?m)foo$", "foo\n", false},
        {"a|b", "ab", false},
        {"a|ab", "ab", true}, /* the anchor forces the second alternative */
        {"ab|a", "a", true},
        {"a.b", "a\nb", true}, /* `.` matches newline */
        {".*", "\n\n", true},
        {".*", "", true},
        {".+", "", false},
        {"(?-s:a.b)", "a\nb", false},
        {"(?-s:a.b)", "axb", true},
        {"", "", true},
        {"", "a", false},
        {"x*", "", true},
        {"a+", "aaa", true},
        {"a{2,3}", "aaaa", false},
        {"a{2,3}", "aaa", true},
        {"(?i)abc", "AbC", true},
        {"(?U)a+", "aaa", true}, /* ungreedy still must reach the end */
        {"[[:alpha:]]+", "abcXYZ", true},
        {"[^a]", "\n", true},
        {"a\\z", "a", true},
        {"\\Aa", "a", true},
        {"\\ba\\b", "a", true},
        {"(a)(b)?", "a", true},
        {"a{", "a{", true},       /* not a repeat: a literal brace */
        {"a{,2}", "a{,2}", true}, /* likewise in RE2 */
        {"x{2}{", "xx{", true},
    };
    for (size_t i = 0; i < COUNT(cases); i++) {
        struct ignis_regex *re = compile_ok(cases[i].re);
        if (match(re, cases[i].s) != cases[i].want)
            fail_msg("/%s/ on \"%s\": want %d", cases[i].re, cases[i].s, cases[i].want);
        ignis_regex_free(re);
    }
}

static void test_re2_dialect(void **state)
{
    (void)state;
    const struct {
        const char *re, *s;
        bool want;
    } cases[] = {
        {"\\s", " ", true},
        {"\\s", "\t", true},
        {"\\s", "\v", false}, /* RE2's \s has no vertical tab */
        {"\\S", "\v", true},
        {"[\\s]", "\v", false},
        {"[\\S]", "\v", true},
        {"[\\S]", " ", false},
        {"[\\S]", "\xc3\xa9", true},
        {"\\v", "\v", true},
        {"\\v", "\n", false}, /* RE2's \v is only the vertical tab */
        {"\\d", "7", true},
        {"\\d", "\xd9\xa3", false}, /* Arabic-Indic 3: \d is ASCII */
        {"\\w+", "ab_9", true},
        {"\\w", "\xc3\xa9", false},
        {"\\pL+", "h\xc3\xa9llo", true},
        {"\\p{Greek}", "\xce\xb1", true},
        {"\\PL", "1", true},
        {"\\101", "A", true}, /* octal */
        {"\\x41", "A", true},
        {"\\x{263a}", "\xe2\x98\xba", true},
        {"\\Q.*\\E", ".*", true},
        {"\\Q.*\\E", "ab", false},
        {"\\.", ".", true},
        {"\\.", "a", false},
        {"(?P<n>a)b", "ab", true},
        {"(?<n>a)b", "ab", true},
        {"(?i:A)b", "ab", true},
        {"(?i:A)b", "aB", false},
        {"\\a\\f\\t\\n\\r", "\a\f\t\n\r", true},
        {"[a-c]+", "abcabc", true},
        {"[]a]", "]", true},
        {"[^]a]", "b", true},
        /* POSIX names only inside a bracket expression; elsewhere plain characters */
        {"[:alpha:]", "h", true},
        {"[:alpha:]", ":", true},
        {"[:alpha:]", "b", false},
        {"[[:alpha:]]", "b", true},
        {"[[:^digit:]]", "x", true},
        {"[[.a]", ".", true},
        {"[[.a]", "[", true},
        {"[[=a]", "=", true},
        {"[a[]", "[", true},
        {"[^:]", ":", false},
    };
    for (size_t i = 0; i < COUNT(cases); i++) {
        struct ignis_regex *re = compile_ok(cases[i].re);
        if (match(re, cases[i].s) != cases[i].want)
            fail_msg("/%s/ on \"%s\": want %d", cases[i].re, cases[i].s, cases[i].want);
        ignis_regex_free(re);
    }
    /* \0 is octal zero: a NUL byte */
    struct ignis_regex *nul = compile_ok("a\\0");
    assert_true(ignis_regex_match(nul, "a\0", 2));
    assert_false(ignis_regex_match(nul, "a0", 2));
    ignis_regex_free(nul);
}

static void test_compile_errors(void **state)
{
    (void)state;
    const struct {
        const char *re;
        const char *want; /* substring of the message */
    } cases[] = {
        {"(", "missing closing parenthesis"},
        {"a)", "(at offset 1)"},
        {"[a", "error parsing regexp"},
        {"a**", "invalid nested repetition operator: `**`"},
        {"a*+", "invalid nested repetition operator: `*+`"},
        {"a++", "invalid nested repetition operator"},
        {"a?+", "invalid nested repetition operator"},
        {"a{2}+", "invalid nested repetition operator"},
        {"a{2}{3}", "invalid nested repetition operator"},
        {"a???", "invalid nested repetition operator"},
        {"(?=x)", "invalid or unsupported Perl syntax: `(?=`"},
        {"(?!x)", "invalid or unsupported Perl syntax"},
        {"(?<=x)a", "invalid or unsupported Perl syntax"},
        {"(?<!x)a", "invalid or unsupported Perl syntax"},
        {"(?>x)", "invalid or unsupported Perl syntax"},
        {"(?#c)", "invalid or unsupported Perl syntax"},
        {"(?x)a", "invalid or unsupported Perl syntax"},
        {"(?|a)", "invalid or unsupported Perl syntax"},
        {"(?R)", "invalid or unsupported Perl syntax"},
        {"(?P=n)", "invalid or unsupported Perl syntax"},
        {"(?i-)a", "missing argument to flags"},
        {"(*ACCEPT)", "missing argument to repetition operator"},
        {"(a)\\1", "invalid escape sequence: `\\1`"},
        {"\\8", "invalid escape sequence"},
        {"\\Z", "invalid escape sequence: `\\Z`"},
        {"\\C", "invalid escape sequence"},
        {"\\e", "invalid escape sequence"},
        {"\\K", "invalid escape sequence"},
        {"\\h", "invalid escape sequence"},
        {"\\R", "invalid escape sequence"},
        {"\\g1", "invalid escape sequence"},
        {"\\xZZ", "invalid escape sequence"},
        {"\\x{110000}", "invalid escape sequence"},
        {"\\x{}", "invalid escape sequence"},
        {"\\p", "invalid escape sequence"},
        {"\\", "trailing backslash at end of expression"},
        {"a{1001}", "invalid repeat count"},
        {"a{2,1}", "invalid repeat count"},
        {"\xff", "invalid UTF-8"},
        {"*", "error parsing regexp"},
        {"\\p{NoSuchClass}", "error parsing regexp"},
        {"[z-a]", "error parsing regexp"},
    };
    for (size_t i = 0; i < COUNT(cases); i++) {
        char err[256] = "";
        struct ignis_regex *re =
            ignis_regex_compile(cases[i].re, strlen(cases[i].re), err, sizeof err);
        if (re) {
            ignis_regex_free(re);
            fail_msg("/%s/ compiled", cases[i].re);
        }
        if (!strstr(err, cases[i].want))
            fail_msg("/%s/: \"%s\" lacks \"%s\"", cases[i].re, err, cases[i].want);
        if (!strstr(err, "error parsing regexp"))
            fail_msg("/%s/: \"%s\"", cases[i].re, err);
    }
    /* the offset reported is in the pattern as written */
    char err[256];
    assert_null(ignis_regex_compile("abc\\Zd", 6, err, sizeof err));
    assert_non_null(strstr(err, "(at offset 3)"));
    /* no err buffer is fine */
    assert_null(ignis_regex_compile("(", 1, NULL, 0));
}

static void test_source_and_length(void **state)
{
    (void)state;
    /* the pattern is taken by length, not up to a NUL */
    struct ignis_regex *re = ignis_regex_compile("abcdef", 3, NULL, 0);
    assert_non_null(re);
    assert_string_equal(ignis_regex_source(re), "abc");
    assert_true(match(re, "abc"));
    assert_false(match(re, "abcdef"));
    ignis_regex_free(re);
    ignis_regex_free(NULL);
}

/* Sorted literal sets the analyser must find (NULL-terminated), or none. */
static void test_literals(void **state)
{
    (void)state;
    const struct {
        const char *re;
        const char *lits[6]; /* sorted bytewise; lits[0] == NULL: none expected */
        size_t n;
    } cases[] = {
        {"a|b|c", {"a", "b", "c"}, 3},
        {"abc", {"abc"}, 1},
        {"c|a|b", {"a", "b", "c"}, 3},
        {"b|a|b", {"a", "b"}, 2},
        {"foo|foobar", {"foo", "foobar"}, 2},
        {"a\\.b|c", {"a.b", "c"}, 2},
        {"(a|b)", {"a", "b"}, 2},
        {"(?:foo|bar)", {"bar", "foo"}, 2},
        {"((x))", {"x"}, 1},
        {"", {""}, 1},
        {"a|", {"", "a"}, 2},
        {"\\n|\\t", {"\t", "\n"}, 2},
        {"\xc3\xa9t\xc3\xa9|hiver", {"hiver", "\xc3\xa9t\xc3\xa9"}, 2},
        {"a-b|c_d|e f", {"a-b", "c_d", "e f"}, 3},
        {"\\{x\\}", {"{x}"}, 1},
        {"a.b", {NULL}, 0},
        {"a*", {NULL}, 0},
        {"ab?", {NULL}, 0},
        {"(?i)a", {NULL}, 0},
        {"(?i)a|b", {NULL}, 0},
        {"a|b.*", {NULL}, 0},
        {"^a$", {NULL}, 0},
        {"a(b|c)", {NULL}, 0},
        {"[ab]", {NULL}, 0},
        {"(a)|b", {NULL}, 0},
        {"(a)(b)", {NULL}, 0},
        {"\\d", {NULL}, 0},
        {"\\Qab\\E", {NULL}, 0},
        {"a{2}", {NULL}, 0},
        {"\xef\xbf\xbd", {NULL}, 0}, /* U+FFFD never taken as a literal */
    };
    for (size_t i = 0; i < COUNT(cases); i++) {
        struct ignis_regex *re = compile_ok(cases[i].re);
        const char *const *lits = NULL;
        const size_t *lens = NULL;
        size_t n = ignis_regex_literals(re, &lits, &lens);
        if (n != cases[i].n)
            fail_msg("/%s/: %zu literals, want %zu", cases[i].re, n, cases[i].n);
        for (size_t k = 0; k < n; k++) {
            if (lens[k] != strlen(cases[i].lits[k]) ||
                memcmp(lits[k], cases[i].lits[k], lens[k]) != 0)
                fail_msg("/%s/: literal %zu is \"%.*s\"", cases[i].re, k, (int)lens[k], lits[k]);
            /* every literal is matched, and nothing near it */
            assert_true(ignis_regex_match(re, lits[k], lens[k]));
            char longer[64];
            snprintf(longer, sizeof longer, "%.*sz", (int)lens[k], lits[k]);
            assert_false(match(re, longer));
        }
        ignis_regex_free(re);
    }
}

static void test_prefix(void **state)
{
    (void)state;
    const struct {
        const char *re, *prefix;
    } cases[] = {
        {"foo.*", "foo"},
        {"foo", "foo"},
        {"abc|abd", "ab"},
        {"abc|xyz", ""},
        {"ab+c", "ab"},
        {"ab*c", "a"},
        {"ab?c", "a"},
        {"ab{2}", "a"},
        {"(?i)foo", ""},
        {"foo(?i)bar", ""},
        {".*foo", ""},
        {"foo\\.bar.*", "foo.bar"},
        {"(foo)bar", ""},
        {"(?:foo.*|food)", "foo"},
        {"\xc3\xa9+x", "\xc3\xa9"},
        {"http_.*_total", "http_"},
        {"a[bc]", "a"},
        {"", ""},
    };
    const char *subjects[] = {"foo",     "foobar",  "abc",       "abd",
                              "abbc",    "ac",      "FOO",       "xfoo",
                              "foo.bar", "foodbar", "food",      "http_x_total",
                              "ab",      "abb",     "\xc3\xa9x", "\xc3\xa9\xc3\xa9x",
                              "",        "xyz",     "foobarbaz"};
    for (size_t i = 0; i < COUNT(cases); i++) {
        struct ignis_regex *re = compile_ok(cases[i].re);
        size_t n;
        const char *p = ignis_regex_prefix(re, &n);
        if (n != strlen(cases[i].prefix) || memcmp(p, cases[i].prefix, n) != 0)
            fail_msg("/%s/: prefix \"%.*s\", want \"%s\"", cases[i].re, (int)n, p, cases[i].prefix);
        /* the promise: every match starts with the prefix */
        for (size_t k = 0; k < COUNT(subjects); k++)
            if (match(re, subjects[k]) && strncmp(subjects[k], p, n) != 0)
                fail_msg("/%s/ matched \"%s\" without prefix", cases[i].re, subjects[k]);
        ignis_regex_free(re);
    }
}

/* The fast paths (literal sets, .*, lit.*, .*lit.*, ...) must agree with PCRE2. A
 * leading (?s) changes nothing in what a pattern matches but keeps the analyser away,
 * so the same pattern with it always runs the general matcher. */
static void test_fast_paths_agree(void **state)
{
    (void)state;
    const char *patterns[] = {
        "a|b|c",     "abc",       "foo|foobar", "",      "a|",         ".*",           ".+",
        ".*?",       "foo.*",     "foo.+",      ".*foo", ".*foo.*",    ".*.*",         "x.*y",
        "(foo|bar)", "(?:a|b).*", "\\..*",      ".*\\n", "\xc3\xa9.*", ".*\xc3\xa9.*", "a.*b.*c",
        "foo.*?",    ".+foo",     ".*(foo)",    "(.*)",
    };
    const char *subjects[] = {
        "",
        "a",
        "b",
        "c",
        "ab",
        "abc",
        "foo",
        "foobar",
        "xfoo",
        "xfoox",
        "fo",
        "\n",
        "foo\n",
        "\nfoo",
        "x\ny",
        "xy",
        ".",
        ".abc",
        "\xc3\xa9",
        "a\xc3\xa9z",
        "abcabc",
        "afoob",
        "barfoo",
        "foofoo",
        "axbxc",
        "a\xff",
        "\xff",
        "foo\xff",
        "\xff"
        "foo\xff",
        "x\xffy",
    };
    for (size_t i = 0; i < COUNT(patterns); i++) {
        char slow_p[64];
        snprintf(slow_p, sizeof slow_p, "(?s)%s", patterns[i]);
        struct ignis_regex *fast = compile_ok(patterns[i]);
        struct ignis_regex *slow = compile_ok(slow_p);
        for (size_t k = 0; k < COUNT(subjects); k++) {
            bool a = match(fast, subjects[k]), b = match(slow, subjects[k]);
            if (a != b)
                fail_msg("/%s/ on \"%s\": fast %d, pcre %d", patterns[i], subjects[k], a, b);
        }
        ignis_regex_free(fast);
        ignis_regex_free(slow);
    }
}

static void test_invalid_utf8_subjects(void **state)
{
    (void)state;
    /* Invalid bytes read as U+FFFD, one per byte, as Go's regexp reads them. */
    struct ignis_regex *any = compile_ok("(?s).*");
    struct ignis_regex *three = compile_ok("(?s)a.b");
    struct ignis_regex *ff = compile_ok("\\x{ff}");
    struct ignis_regex *rep = compile_ok("\\x{fffd}");
    struct ignis_regex *two = compile_ok("..");
    assert_true(ignis_regex_match(any, "a\xff", 2));
    assert_true(ignis_regex_match(three,
                                  "a\xff"
                                  "b",
                                  3));
    assert_false(ignis_regex_match(ff, "\xff", 1)); /* U+00FF is not the byte 0xff */
    assert_true(ignis_regex_match(rep, "\xff", 1));
    assert_true(ignis_regex_match(two, "\xe2\x82", 2)); /* a cut sequence: two runes */
    char buf[32];
    struct ignis_regex *cap = compile_ok("a(.)b");
    assert_int_equal(ignis_regex_replace(cap,
                                         "a\xff"
                                         "b",
                                         3, "[$1]", buf, sizeof buf),
                     5);
    assert_string_equal(buf, "[\xef\xbf\xbd]");
    /* a long invalid subject goes through the heap copy */
    size_t n = 5000;
    char *big = malloc(n);
    memset(big, 0xff, n);
    assert_true(ignis_regex_match(two, big, 2));
    struct ignis_regex *all_rep = compile_ok("\\x{fffd}+");
    assert_true(ignis_regex_match(all_rep, big, n));
    free(big);
    ignis_regex_free(any);
    ignis_regex_free(three);
    ignis_regex_free(ff);
    ignis_regex_free(rep);
    ignis_regex_free(two);
    ignis_regex_free(cap);
    ignis_regex_free(all_rep);
}

static void test_replace_templates(void **state)
{
    (void)state;
    const struct {
        const char *re, *s, *tmpl, *want; /* want NULL: no match */
    } cases[] = {
        {"(.*)", "abc", "$1", "abc"},
        {"(a)(b)", "ab", "$2$1", "ba"},
        {"(a)(b)", "ab", "${2}x${1}", "bxa"},
        {"(a)(b)", "ab", "$1x", ""}, /* the group named "1x": none */
        {"(a)(b)", "ab", "${1}x", "ax"},
        {"(a)(b)", "ab", "$0", "ab"},
        {"(a)(b)", "ab", "$$", "$"},
        {"(a)(b)", "ab", "$$1", "$1"},
        {"(a)(b)", "ab", "$$$1", "$a"},
        {"(a)(b)", "ab", "$3", ""},
        {"(a)(b)", "ab", "$10", ""}, /* group 10, not $1 then 0 */
        {"(a)(b)", "ab", "$99999999999", ""},
        {"(a)(b)", "ab", "x$", "x$"}, /* a lone dollar is kept */
        {"(a)(b)", "ab", "${", "${"},
        {"(a)(b)", "ab", "${1", "${1"},
        {"(a)(b)", "ab", "${}", "${}"},
        {"(a)(b)", "ab", "$-", "$-"},
        {"(a)(b)", "ab", "${x-y}", "${x-y}"},
        {"(a)(b)", "ab", "$ $1", "$ a"},
        {"(a)(b)", "ab", "", ""},
        {"(a)(b)", "ab", "plain", "plain"},
        {"(?P<name>\\w+)", "hi", "${name}!", "hi!"},
        {"(?P<name>\\w+)", "hi", "$name!", "hi!"},
        {"(?P<name>\\w+)", "hi", "$name_", ""}, /* the name runs on: "name_" */
        {"(?P<name>\\w+)", "hi", "$nam", ""},
        {"(?<n1>a)(?<n2>b)", "ab", "$n2-$n1", "b-a"},
        {"(a)|(b)", "b", "[$1][$2]", "[][b]"}, /* an unset group is empty */
        {"(a)?b", "b", "<$1>", "<>"},
        {"(.*):(\\d+)", "host:9090", "$1", "host"},
        {"(.*):(\\d+)", "host:9090", "${2}0", "90900"},
        {"(.*)", "x\ny", "[$1]", "[x\ny]"},
        {"(a)", "b", "$1", NULL},
        {"foo", "foobar", "$0", NULL}, /* anchored */
    };
    for (size_t i = 0; i < COUNT(cases); i++) {
        struct ignis_regex *re = compile_ok(cases[i].re);
        char out[128];
        memset(out, 'Z', sizeof out);
        long n =
            ignis_regex_replace(re, cases[i].s, strlen(cases[i].s), cases[i].tmpl, out, sizeof out);
        if (!cases[i].want) {
            if (n != -1)
                fail_msg("/%s/ on \"%s\": want no match, got %ld", cases[i].re, cases[i].s, n);
        } else {
            if (n < 0 || strcmp(out, cases[i].want) != 0 || (size_t)n != strlen(cases[i].want))
                fail_msg("/%s/ \"%s\" with \"%s\": got %ld \"%s\", want \"%s\"", cases[i].re,
                         cases[i].s, cases[i].tmpl, n, n >= 0 ? out : "", cases[i].want);
        }
        ignis_regex_free(re);
    }
}

static void test_replace_buffer_bounds(void **state)
{
    (void)state;
    struct ignis_regex *re = compile_ok("(.*)");
    char out[8];
    /* "abcdefg" + NUL fits exactly in 8 */
    assert_int_equal(ignis_regex_replace(re, "abcdefg", 7, "$1", out, sizeof out), 7);
    assert_string_equal(out, "abcdefg");
    assert_int_equal(ignis_regex_replace(re, "abcdefgh", 8, "$1", out, sizeof out), -2);
    assert_int_equal(ignis_regex_replace(re, "abc", 3, "$1$1$1", out, sizeof out), -2);
    assert_int_equal(ignis_regex_replace(re, "", 0, "", out, 1), 0);
    assert_string_equal(out, "");
    assert_int_equal(ignis_regex_replace(re, "", 0, "", NULL, 0), -2);
    assert_int_equal(ignis_regex_replace(re, "a", 1, "x", out, 1), -2);
    ignis_regex_free(re);
}

static void test_many_groups(void **state)
{
    (void)state;
    /* more groups than the per-thread match data starts with */
    char pat[256] = "", tmpl[256] = "";
    for (int i = 0; i < 40; i++)
        strcat(pat, "(.)");
    strcat(tmpl, "$40$39$1");
    struct ignis_regex *re = compile_ok(pat);
    char subj[41];
    for (int i = 0; i < 40; i++)
        subj[i] = (char)('A' + i % 26);
    subj[40] = '\0';
    char out[16];
    assert_int_equal(ignis_regex_replace(re, subj, 40, tmpl, out, sizeof out), 3);
    assert_string_equal(out, "NMA");
    ignis_regex_free(re);
}

static void test_long_subjects_and_backtracking(void **state)
{
    (void)state;
    size_t n = 200000;
    char *s = malloc(n + 1);
    memset(s, 'x', n);
    memcpy(s + n / 2, "foo", 3);
    s[n] = '\0';
    struct ignis_regex *c = compile_ok(".*foo.*");
    struct ignis_regex *g = compile_ok("x*foox*");
    assert_true(ignis_regex_match(c, s, n));
    assert_true(ignis_regex_match(g, s, n));
    ignis_regex_free(c);
    ignis_regex_free(g);
    /* a pattern that backtracks catastrophically in a naive engine ends (PCRE2's match
     * limit turns it into a non-match rather than a hang) */
    struct ignis_regex *bad = compile_ok("(a*)*b");
    memset(s, 'a', 40);
    assert_false(ignis_regex_match(bad, s, 40));
    ignis_regex_free(bad);
    free(s);
}

/* ---- threads ------------------------------------------------------------------------ */

struct thread_arg {
    const struct ignis_regex *re;
    const struct ignis_regex *lit;
    int id;
    int failures;
};

static void *worker(void *p)
{
    struct thread_arg *a = p;
    for (int i = 0; i < 3000; i++) {
        char subj[64], want[64], out[64];
        snprintf(subj, sizeof subj, "host%d-%d:%d", a->id, i, 9000 + i % 100);
        snprintf(want, sizeof want, "%d/host%d-%d", 9000 + i % 100, a->id, i);
        long n = ignis_regex_replace(a->re, subj, strlen(subj), "$2/$1", out, sizeof out);
        if (n < 0 || strcmp(out, want) != 0)
            a->failures++;
        if (!ignis_regex_match(a->re, subj, strlen(subj)))
            a->failures++;
        if (ignis_regex_match(a->re, "nope", 4))
            a->failures++;
        if (ignis_regex_match(a->lit, subj, strlen(subj)) != (a->id == 0 && i == 7))
            a->failures++;
    }
    return NULL;
}

static void test_threads_share_a_regex(void **state)
{
    (void)state;
    struct ignis_regex *re = compile_ok("(.*):(\\d+)");
    struct ignis_regex *lit = compile_ok("host0-7:9007|other");
    enum { T = 4 };
    pthread_t th[T];
    struct thread_arg args[T];
    for (int i = 0; i < T; i++) {
        args[i] = (struct thread_arg){re, lit, i, 0};
        assert_int_equal(pthread_create(&th[i], NULL, worker, &args[i]), 0);
    }
    for (int i = 0; i < T; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].failures, 0);
    }
    ignis_regex_free(re);
    ignis_regex_free(lit);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_anchoring_and_dot),
        cmocka_unit_test(test_re2_dialect),
        cmocka_unit_test(test_compile_errors),
        cmocka_unit_test(test_source_and_length),
        cmocka_unit_test(test_literals),
        cmocka_unit_test(test_prefix),
        cmocka_unit_test(test_fast_paths_agree),
        cmocka_unit_test(test_invalid_utf8_subjects),
        cmocka_unit_test(test_replace_templates),
        cmocka_unit_test(test_replace_buffer_bounds),
        cmocka_unit_test(test_many_groups),
        cmocka_unit_test(test_long_subjects_and_backtracking),
        cmocka_unit_test(test_threads_share_a_regex),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
