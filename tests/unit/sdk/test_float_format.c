/* tests/unit/sdk/test_float_format.c — sdk/src/float_shortest.c: the shortest round-trip
 * digits checked against a slow reference built from the C library (correctly rounded
 * %.*e and strtod) over random bit patterns, every binary exponent, integers, short
 * decimals, powers of 2 and 10 and their neighbours; its exact fallback path; and Go's
 * strconv.FormatFloat(v, 'e'|'f'|'g', -1, 64) layouts as exact strings. */
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

#include <ignis/expose.h>

/* A private copy of the algorithm, renamed, with the hook that forces its exact path. The
 * library's own ignis_format_float is what the layout tests call. */
size_t t_format_float(char *buf, double v, char fmt);
int t_shortest(double v, char *dig, int *exp10);
#define IG_FLOAT_SHORTEST_TEST 1
#define ignis_format_float t_format_float
#define ig_shortest t_shortest
#include "../../../sdk/src/float_shortest.c"
#undef ignis_format_float
#undef ig_shortest

/* ---- the reference --------------------------------------------------------------------
 * For p digits, the decimals that can read back as v are the correctly rounded one (what
 * %.{p-1}e prints: the closest p-digit decimal, ties to even) and its two p-digit
 * neighbours (the rounding interval is not symmetric at powers of two). Whether some
 * p-digit decimal reads back only grows with p, so the shortest p is found by bisection. */
struct dec {
    uint64_t m; /* digits, no trailing zero */
    int x;      /* value = m * 10^x */
};

static int reads_back(uint64_t m, int x, double v)
{
    char s[48];
    snprintf(s, sizeof s, "%llue%d", (unsigned long long)m, x);
    return strtod(s, NULL) == v;
}

/* the p-digit decimal that reads back as v and is closest to it; 0 when none */
static int ref_at(double v, int p, struct dec *out)
{
    char s[48];
    snprintf(s, sizeof s, "%.*e", p - 1, v);
    uint64_t m = 0;
    const char *c = s;
    for (; *c && *c != 'e'; c++)
        if (*c >= '0' && *c <= '9')
            m = m * 10 + (uint64_t)(*c - '0');
    int x = atoi(c + 1) - (p - 1);
    uint64_t cand[3] = {m, m + 1, m - 1};
    for (int i = 0; i < 3; i++) {
        if (cand[i] == 0 || !reads_back(cand[i], x, v))
            continue;
        out->m = cand[i];
        out->x = x;
        while (out->m % 10 == 0) {
            out->m /= 10;
            out->x++;
        }
        return 1;
    }
    return 0;
}

static struct dec ref_shortest(double v)
{
    int lo = 1, hi = 17;
    struct dec d;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (ref_at(v, mid, &d))
            hi = mid;
        else
            lo = mid + 1;
    }
    if (!ref_at(v, lo, &d))
        fail_msg("reference found no digits for %a", v);
    return d;
}

static struct dec got_shortest(double v)
{
    char dig[20];
    int x;
    int n = t_shortest(v, dig, &x);
    struct dec d = {0, x};
    for (int i = 0; i < n; i++)
        d.m = d.m * 10 + (uint64_t)(dig[i] - '0');
    if (dig[n - 1] == '0')
        fail_msg("trailing zero in the digits of %a", v);
    return d;
}

static unsigned long checked;

static void check(double v)
{
    if (!isfinite(v) || v == 0)
        return;
    v = fabs(v);
    struct dec want = ref_shortest(v), got = got_shortest(v);
    if (want.m != got.m || want.x != got.x)
        fail_msg("%a (%.17g): got %llue%d, want %llue%d", v, v, (unsigned long long)got.m,
                 got.x, (unsigned long long)want.m, want.x);
    /* the library's 'e' layout carries the same digits */
    char buf[40], ref[48];
    ignis_format_float(buf, v, 'e');
    char dig[24];
    int n = snprintf(dig, sizeof dig, "%llu", (unsigned long long)want.m);
    int e = want.x + n - 1;
    if (n > 1)
        snprintf(ref, sizeof ref, "%c.%se%c%02d", dig[0], dig + 1, e < 0 ? '-' : '+', abs(e));
    else
        snprintf(ref, sizeof ref, "%ce%c%02d", dig[0], e < 0 ? '-' : '+', abs(e));
    if (strcmp(buf, ref) != 0)
        fail_msg("%a: 'e' gave %s, want %s", v, buf, ref);
    checked++;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next(void)
{
    /* xorshift64*: fixed seed, so a failure repeats */
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545f4914f6cdd1dull;
}

static double from_bits(uint64_t b)
{
    double v;
    memcpy(&v, &b, sizeof v);
    return v;
}

/* How many random values: fewer under valgrind, whose slow libc would make the reference
 * take minutes. */
static long scaled_count(long n)
{
    const char *pre = getenv("LD_PRELOAD");
    if (pre && strstr(pre, "vgpreload"))
        return n / 20 ? n / 20 : 1;
    return n;
}

/* ---- tests ------------------------------------------------------------------------------ */

static void random_bit_patterns(void **state)
{
    (void)state;
    /* IG_FLOAT_TEST_N=<count> for a long run by hand */
    const char *env = getenv("IG_FLOAT_TEST_N");
    long n = env ? atol(env) : scaled_count(200000);
    for (long i = 0; i < n; i++)
        check(from_bits(next()));
}

static void every_binary_exponent(void **state)
{
    (void)state;
    /* subnormals (exponent field 0) and each normal binade, with random significands and
     * the smallest and largest significand of the binade */
    int per = (int)scaled_count(20);
    for (uint64_t be = 0; be < 2047; be++) {
        check(from_bits(be << 52 | 1));
        check(from_bits(be << 52 | ((1ull << 52) - 1)));
        check(from_bits(be << 52 | 1ull << 51));
        for (int i = 0; i < per; i++)
            check(from_bits(be << 52 | (next() & ((1ull << 52) - 1))));
    }
    /* subnormals with few significant bits, which have few digits */
    for (uint64_t c = 1; c < 2000; c++)
        check(from_bits(c));
}

static void integers(void **state)
{
    (void)state;
    long n = scaled_count(50000);
    for (long i = 0; i < n; i++) {
        uint64_t u = next() >> (next() % 64);
        check((double)u);
        check((double)(u % 100000));
    }
    for (uint64_t u = 1; u < 3000; u++)
        check((double)u);
    check(9007199254740991.0);
    check(9007199254740992.0);
    check(9007199254740993.0);
    check(18446744073709551615.0);
}

static void short_decimals(void **state)
{
    (void)state;
    char s[48];
    /* 40 random m of 1 to 4 digits at every decimal exponent of the normal range: the
     * double nearest m*10^x must give back exactly m's digits (no other decimal of 15
     * digits or fewer rounds to the same normal double) */
    for (int x = -307 + 4; x <= 308 - 4; x++) {
        for (int i = 0; i < 40; i++) {
            uint64_t m = 1 + next() % 9999;
            snprintf(s, sizeof s, "%llue%d", (unsigned long long)m, x);
            double v = strtod(s, NULL);
            struct dec got = got_shortest(v);
            int wx = x;
            while (m % 10 == 0) {
                m /= 10;
                wx++;
            }
            if (got.m != m || got.x != wx)
                fail_msg("%s: got %llue%d", s, (unsigned long long)got.m, got.x);
        }
    }
    /* 0.1, 0.01 .. 999.9: every m / 10^j, against the reference */
    for (int m = 1; m < 10000; m++)
        for (int j = 1; j <= 4; j++) {
            double v = m / pow(10, j);
            check(v);
        }
    /* the subnormal range, where digits get lost: against the reference */
    for (int x = -324; x < -300; x++)
        for (int i = 0; i < 20; i++) {
            snprintf(s, sizeof s, "%llue%d", (unsigned long long)(1 + next() % 9999), x);
            check(strtod(s, NULL));
        }
}

static void powers_and_neighbours(void **state)
{
    (void)state;
    char s[32];
    for (int x = -324; x <= 308; x++) {
        snprintf(s, sizeof s, "1e%d", x);
        double v = strtod(s, NULL);
        check(v);
        check(nextafter(v, 0));
        check(nextafter(v, INFINITY));
    }
    for (int x = -1074; x <= 1023; x++) {
        double v = ldexp(1, x);
        check(v);
        check(nextafter(v, 0));
        check(nextafter(v, INFINITY));
        check(v * 3);
        check(v * 5);
    }
    check(DBL_MAX);
    check(DBL_MIN);
    check(nextafter(DBL_MIN, 0));
    check(from_bits(1)); /* 5e-324 */
}

static void str_is(double v, char fmt, const char *want)
{
    char buf[IGNIS_FORMAT_FLOAT_F_SIZE];
    memset(buf, 'x', sizeof buf);
    size_t n = ignis_format_float(buf, v, fmt);
    if (strcmp(buf, want) != 0 || n != strlen(want))
        fail_msg("FormatFloat(%a, '%c', -1, 64) = \"%s\", want \"%s\"", v, fmt, buf, want);
}

static void go_layouts(void **state)
{
    (void)state;
    /* values and strings as Go's strconv.FormatFloat(v, fmt, -1, 64) gives them; 'g'
     * switches to the exponent form when the exponent is < -4 or >= 6 (shortest mode) */
    str_is(0, 'g', "0");
    str_is(-0.0, 'g', "-0");
    str_is(0, 'e', "0e+00");
    str_is(-0.0, 'f', "-0");
    str_is(NAN, 'g', "NaN");
    str_is(INFINITY, 'f', "+Inf");
    str_is(-INFINITY, 'e', "-Inf");
    str_is(1, 'g', "1");
    str_is(-1.5, 'g', "-1.5");
    str_is(0.1, 'g', "0.1");
    str_is(0.0001, 'g', "0.0001");
    str_is(0.00001, 'g', "1e-05");
    str_is(0.000123, 'g', "0.000123");
    str_is(0.0000123, 'g', "1.23e-05");
    str_is(100000, 'g', "100000");
    str_is(123456, 'g', "123456");
    str_is(999999, 'g', "999999");
    str_is(1e6, 'g', "1e+06");
    str_is(1234567, 'g', "1.234567e+06");
    str_is(1e20, 'g', "1e+20");
    str_is(1e21, 'g', "1e+21");
    str_is(123456789, 'e', "1.23456789e+08");
    str_is(1e6, 'e', "1e+06");
    str_is(1e100, 'e', "1e+100");
    str_is(1e-100, 'g', "1e-100");
    str_is(1.5, 'e', "1.5e+00");
    str_is(0.1 + 0.2, 'g', "0.30000000000000004");
    str_is(1e23, 'g', "1e+23");
    str_is(DBL_MAX, 'g', "1.7976931348623157e+308");
    str_is(DBL_MIN, 'g', "2.2250738585072014e-308");
    str_is(from_bits(1), 'g', "5e-324");
    str_is(-from_bits(1), 'e', "-5e-324");
    str_is(1e20, 'f', "100000000000000000000");
    str_is(1e21, 'f', "1000000000000000000000");
    str_is(123456789, 'f', "123456789");
    str_is(0.00001, 'f', "0.00001");
    str_is(1.5e-7, 'f', "0.00000015");
    str_is(-12.25, 'f', "-12.25");
    str_is(1152921504606846976.0, 'f', "1152921504606847000"); /* 2^60: shortest, then 0s */
    str_is(9007199254740993.0, 'f', "9007199254740992");
    str_is(3.0 / 7, 'f', "0.42857142857142855");
    /* the longest 'f' strings fit IGNIS_FORMAT_FLOAT_F_SIZE */
    char want[IGNIS_FORMAT_FLOAT_F_SIZE];
    strcpy(want, "-0.");
    memset(want + 3, '0', 323);
    strcpy(want + 326, "5");
    str_is(-from_bits(1), 'f', want);
    strcpy(want, "17976931348623157");
    memset(want + 17, '0', 292);
    want[309] = '\0';
    str_is(DBL_MAX, 'f', want);
}

static void exact_path_agrees(void **state)
{
    (void)state;
    /* force the big-integer comparison wherever the power of ten is approximate, and
     * compare with the fast answers (and the reference on a sample) */
    long n = scaled_count(20000);
    for (long i = 0; i < n; i++) {
        double v = fabs(from_bits(next()));
        if (!isfinite(v) || v == 0)
            continue;
        ig_float_force_exact = 0;
        struct dec fast = got_shortest(v);
        ig_float_force_exact = 1;
        struct dec slow = got_shortest(v);
        if (i % 8 == 0)
            check(v);
        ig_float_force_exact = 0;
        if (fast.m != slow.m || fast.x != slow.x)
            fail_msg("%a: fast %llue%d, exact path %llue%d", v, (unsigned long long)fast.m,
                     fast.x, (unsigned long long)slow.m, slow.x);
    }
    ig_float_force_exact = 0;
}

static void exposition_layout_unchanged(void **state)
{
    (void)state;
    /* ignis_format_double is 'g' but for zero ("0", never "-0") and OpenMetrics' ".0" */
    char a[40], b[40];
    for (int i = 0; i < 20000; i++) {
        double v = from_bits(next());
        if (i % 2)
            v = (double)(int64_t)(next() % 2000000) - 1000000;
        if (v == 0 || isnan(v))
            continue;
        ignis_format_double(a, v, 0);
        ignis_format_float(b, v, 'g');
        assert_string_equal(a, b);
        ignis_format_double(a, v, 1);
        if (isfinite(v) && v == floor(v) && fabs(v) < 1e6)
            strcat(b, ".0");
        assert_string_equal(a, b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(go_layouts),
        cmocka_unit_test(powers_and_neighbours),
        cmocka_unit_test(short_decimals),
        cmocka_unit_test(integers),
        cmocka_unit_test(every_binary_exponent),
        cmocka_unit_test(random_bit_patterns),
        cmocka_unit_test(exact_path_agrees),
        cmocka_unit_test(exposition_layout_unchanged),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    fprintf(stderr, "checked %lu values against the reference\n", checked);
    return r;
}
