/* tests/unit/sdk/test_labels.c — label pairs: ordering, sorting, lookup, hashing,
 * legacy name rules and UTF-8 validation (sdk/src/labels.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <xxhash.h>
#include <ignis/labels.h>

#define L(n, v)                                                                                    \
    {                                                                                              \
        n, sizeof(n) - 1, v, sizeof(v) - 1                                                         \
    }
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static int sign(int x)
{
    return x < 0 ? -1 : (x > 0 ? 1 : 0);
}

static void test_label_make(void **state)
{
    (void)state;
    struct ignis_label l = ignis_label_make("job", "node");
    assert_string_equal(l.name, "job");
    assert_int_equal(l.name_len, 3);
    assert_string_equal(l.value, "node");
    assert_int_equal(l.value_len, 4);
    l = ignis_label_make("a", "");
    assert_int_equal(l.value_len, 0);
}

static void test_labels_cmp_table(void **state)
{
    (void)state;
    struct ignis_label a1[] = {L("a", "1")};
    struct ignis_label a2[] = {L("a", "2")};
    struct ignis_label a1b1[] = {L("a", "1"), L("b", "1")};
    struct ignis_label b1[] = {L("b", "1")};
    struct ignis_label aa1[] = {L("aa", "1")};
    struct ignis_label a10[] = {L("a", "10")};
    struct ignis_label hi[] = {L("a", "\xc3\xa9")}; /* é: bytes above ASCII sort last */
    const struct {
        const struct ignis_label *x;
        size_t nx;
        const struct ignis_label *y;
        size_t ny;
        int want;
    } cases[] = {
        {a1, 1, a1, 1, 0},    {a1, 1, a2, 1, -1},   {a2, 1, a1, 1, 1},     {a1, 1, a1b1, 2, -1},
        {a1b1, 2, a1, 1, 1},  {a1, 1, b1, 1, -1},   {a1, 1, aa1, 1, -1},   {a1, 1, a10, 1, -1},
        {a10, 1, a2, 1, -1},  {NULL, 0, a1, 1, -1}, {NULL, 0, NULL, 0, 0}, {a2, 1, hi, 1, -1},
        {a1b1, 2, b1, 1, -1},
    };
    for (size_t i = 0; i < COUNT(cases); i++) {
        int got = sign(ignis_labels_cmp(cases[i].x, cases[i].nx, cases[i].y, cases[i].ny));
        if (got != cases[i].want)
            fail_msg("case %zu: got %d want %d", i, got, cases[i].want);
    }
}

static void test_labels_sort_small(void **state)
{
    (void)state;
    struct ignis_label ls[] = {L("job", "x"), L("__name__", "up"), L("instance", "h:1"),
                               L("a", "")};
    assert_int_equal(ignis_labels_sort(ls, COUNT(ls)), 0);
    assert_string_equal(ls[0].name, "__name__");
    assert_string_equal(ls[1].name, "a");
    assert_string_equal(ls[2].name, "instance");
    assert_string_equal(ls[3].name, "job");
    assert_int_equal(ignis_labels_sort(ls, 0), 0);
    assert_int_equal(ignis_labels_sort(ls, 1), 0);
}

static void test_labels_sort_rejects_duplicates(void **state)
{
    (void)state;
    struct ignis_label dup[] = {L("b", "1"), L("a", "1"), L("b", "2")};
    assert_int_equal(ignis_labels_sort(dup, COUNT(dup)), -1);
    /* names are compared by length too: "a" and "a\0" differ */
    struct ignis_label nul[] = {{"a", 1, "", 0}, {"a\0", 2, "", 0}};
    assert_int_equal(ignis_labels_sort(nul, 2), 0);
}

static void test_labels_sort_large(void **state)
{
    (void)state;
    enum { N = 200 };
    struct ignis_label ls[N];
    char names[N][8];
    for (int i = 0; i < N; i++) {
        /* a scrambled order */
        int k = (i * 73) % N;
        snprintf(names[i], sizeof names[i], "l%03d", k);
        ls[i] = (struct ignis_label){names[i], strlen(names[i]), "v", 1};
    }
    assert_int_equal(ignis_labels_sort(ls, N), 0);
    for (int i = 1; i < N; i++)
        assert_true(strcmp(ls[i - 1].name, ls[i].name) < 0);
    /* one duplicate in a long set is still found */
    ls[N - 1].name = ls[5].name;
    ls[N - 1].name_len = ls[5].name_len;
    assert_int_equal(ignis_labels_sort(ls, N), -1);
}

static void test_labels_get(void **state)
{
    (void)state;
    struct ignis_label ls[] = {L("__name__", "up"), L("instance", "h:1"), L("job", "x"),
                               L("zone", "z")};
    const char *names[] = {"__name__", "instance", "job", "zone"};
    for (size_t i = 0; i < COUNT(names); i++) {
        const struct ignis_label *l = ignis_labels_get(ls, COUNT(ls), names[i], strlen(names[i]));
        assert_non_null(l);
        assert_ptr_equal(l, &ls[i]);
    }
    const char *absent[] = {"", "a", "jo", "jobs", "zz", "instanc"};
    for (size_t i = 0; i < COUNT(absent); i++)
        assert_null(ignis_labels_get(ls, COUNT(ls), absent[i], strlen(absent[i])));
    assert_null(ignis_labels_get(NULL, 0, "job", 3));
    /* a length shorter than the string: only the prefix counts */
    assert_ptr_equal(ignis_labels_get(ls, COUNT(ls), "jobless", 3), &ls[2]);
}

/* The hash is XXH3-64 over name 0xff value 0xff ...: recompute it independently. */
static uint64_t reference_hash(const struct ignis_label *ls, size_t n)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += ls[i].name_len + ls[i].value_len + 2;
    unsigned char *buf = malloc(total + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        memcpy(buf + o, ls[i].name, ls[i].name_len);
        o += ls[i].name_len;
        buf[o++] = 0xff;
        memcpy(buf + o, ls[i].value, ls[i].value_len);
        o += ls[i].value_len;
        buf[o++] = 0xff;
    }
    uint64_t h = XXH3_64bits(buf, o);
    free(buf);
    return h;
}

static void test_labels_hash(void **state)
{
    (void)state;
    struct ignis_label a[] = {L("a", "bc")};
    struct ignis_label b[] = {L("ab", "c")};
    struct ignis_label c[] = {L("a", "bc")};
    assert_int_equal(ignis_labels_hash(a, 1), ignis_labels_hash(c, 1));
    assert_true(ignis_labels_hash(a, 1) != ignis_labels_hash(b, 1));
    assert_int_equal(ignis_labels_hash(a, 1), reference_hash(a, 1));
    assert_int_equal(ignis_labels_hash(NULL, 0), reference_hash(NULL, 0));
    struct ignis_label xy[] = {L("a", "x"), L("b", "y")};
    struct ignis_label yx[] = {L("a", "y"), L("b", "x")};
    assert_true(ignis_labels_hash(xy, 2) != ignis_labels_hash(yx, 2));
    assert_int_equal(ignis_labels_hash(xy, 2), reference_hash(xy, 2));
    /* a prefix of a set hashes differently from the set */
    assert_true(ignis_labels_hash(xy, 1) != ignis_labels_hash(xy, 2));
}

static void test_labels_hash_long_sets_stream(void **state)
{
    (void)state;
    /* Sets past the one-shot buffer are streamed; the value must not change. */
    enum { N = 64 };
    struct ignis_label ls[N];
    static char vals[N][100];
    char names[N][16];
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "label_%02d", i);
        memset(vals[i], 'a' + i % 26, sizeof vals[i] - 1);
        vals[i][sizeof vals[i] - 1] = '\0';
        ls[i] = (struct ignis_label){names[i], strlen(names[i]), vals[i], strlen(vals[i])};
    }
    for (size_t n = 1; n <= N; n += 7)
        assert_int_equal(ignis_labels_hash(ls, n), reference_hash(ls, n));
    /* one huge value alone */
    static char big[5000];
    memset(big, 'x', sizeof big);
    struct ignis_label one = {"k", 1, big, sizeof big};
    assert_int_equal(ignis_labels_hash(&one, 1), reference_hash(&one, 1));
}

static void test_legacy_names(void **state)
{
    (void)state;
    const struct {
        const char *s;
        bool metric, label;
    } cases[] = {
        {"up", true, true},    {"http_requests_total", true, true},
        {"_x", true, true},    {"__name__", true, true},
        {"a:b", true, false},  {":a", true, false},
        {"a1", true, true},    {"1a", false, false},
        {"", false, false},    {"a-b", false, false},
        {"a.b", false, false}, {"é", false, false},
        {"A_Z09", true, true}, {"a b", false, false},
    };
    for (size_t i = 0; i < COUNT(cases); i++) {
        size_t n = strlen(cases[i].s);
        if (ignis_is_legacy_metric_name(cases[i].s, n) != cases[i].metric)
            fail_msg("metric name %s", cases[i].s);
        if (ignis_is_legacy_label_name(cases[i].s, n) != cases[i].label)
            fail_msg("label name %s", cases[i].s);
    }
    /* length is honoured, not the NUL */
    assert_true(ignis_is_legacy_label_name("ab-c", 2));
    assert_false(ignis_is_legacy_label_name("ab\0c", 4));
}

static void test_utf8_valid(void **state)
{
    (void)state;
    const struct {
        const char *s;
        size_t n;
        bool ok;
    } cases[] = {
        {"", 0, true},
        {"plain ascii", 11, true},
        {"caf\xc3\xa9", 5, true},
        {"\xe2\x82\xac", 3, true},     /* € */
        {"\xf0\x9f\x98\x80", 4, true}, /* 😀 */
        {"\xf4\x8f\xbf\xbf", 4, true}, /* U+10FFFF */
        {"\xef\xbf\xbd", 3, true},     /* U+FFFD */
        {"\x00", 1, true},             /* NUL is a valid code point */
        {"\xc3", 1, false},            /* truncated */
        {"\xe2\x82", 2, false},        /* truncated */
        {"\xf0\x9f\x98", 3, false},    /* truncated */
        {"\x80", 1, false},            /* lone continuation */
        {"\xbf", 1, false},
        {"\xc0\x80", 2, false},         /* overlong NUL */
        {"\xc1\xbf", 2, false},         /* overlong */
        {"\xe0\x80\xaf", 3, false},     /* overlong */
        {"\xf0\x80\x80\xaf", 4, false}, /* overlong */
        {"\xed\xa0\x80", 3, false},     /* surrogate D800 */
        {"\xed\xbf\xbf", 3, false},     /* surrogate DFFF */
        {"\xed\x9f\xbf", 3, true},      /* U+D7FF */
        {"\xf4\x90\x80\x80", 4, false}, /* past U+10FFFF */
        {"\xf5\x80\x80\x80", 4, false},
        {"\xf8\x88\x80\x80\x80", 5, false}, /* 5-byte form */
        {"\xff", 1, false},
        {"\xfe", 1, false},
        {"\xc3\x28", 2, false}, /* bad continuation */
        {"\xe2\x28\xa1", 3, false},
        {"abcdefgh\xc3\xa9ijklmnop", 18, true},
        {"abcdefghijklmnop\xff", 17, false}, /* invalid after an ASCII run */
        {"abcdefg\xe2\x82\xacxyzxyzxyz", 19, true},
    };
    for (size_t i = 0; i < COUNT(cases); i++)
        if (ignis_utf8_valid(cases[i].s, cases[i].n) != cases[i].ok)
            fail_msg("case %zu: want %d", i, cases[i].ok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_label_make),
        cmocka_unit_test(test_labels_cmp_table),
        cmocka_unit_test(test_labels_sort_small),
        cmocka_unit_test(test_labels_sort_rejects_duplicates),
        cmocka_unit_test(test_labels_sort_large),
        cmocka_unit_test(test_labels_get),
        cmocka_unit_test(test_labels_hash),
        cmocka_unit_test(test_labels_hash_long_sets_stream),
        cmocka_unit_test(test_legacy_names),
        cmocka_unit_test(test_utf8_valid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
