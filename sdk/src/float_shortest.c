/* sdk/src/float_shortest.c — the shortest decimal that reads back as the same double, and
 * Go's strconv.FormatFloat(v, 'e'|'f'|'g', -1, 64) layouts built on it. No snprintf, no
 * strtod, no locale: the digits come from Schubfach (R. Giulietti, "The Schubfach way to
 * render doubles", 2020), written here from the paper's description. The 128-bit powers of
 * ten it multiplies by are computed once, at first use (pthread_once), with the small exact
 * big-integer arithmetic below (some tens of microseconds). */
#include <config.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <ignis/expose.h>

#include "metrics_int.h"

typedef unsigned __int128 u128;

/* ---- exact big integers (table set-up and the rare exact comparison) --------------
 * Little-endian 32-bit limbs. 1280 bits hold every number used: 10^324 (1077 bits),
 * 2^1120, and X * 2^947 or n * 5^324 (both under 1010 bits) of the exact path. */
#define BIG_LIMBS 40

struct big {
    int n; /* limbs in use; no leading zero limb */
    uint32_t w[BIG_LIMBS];
};

static void big_set(struct big *a, uint64_t v)
{
    a->n = 0;
    while (v) {
        a->w[a->n++] = (uint32_t)v;
        v >>= 32;
    }
}

static void big_mul(struct big *a, uint64_t m)
{
    u128 carry = 0;
    for (int i = 0; i < a->n; i++) {
        u128 t = (u128)a->w[i] * m + carry;
        a->w[i] = (uint32_t)t;
        carry = t >> 32;
    }
    while (carry) {
        a->w[a->n++] = (uint32_t)carry;
        carry >>= 32;
    }
}

static void big_shl(struct big *a, int s)
{
    if (a->n == 0)
        return;
    int limbs = s / 32, bits = s % 32;
    if (bits) {
        uint32_t carry = 0;
        for (int i = 0; i < a->n; i++) {
            uint32_t w = a->w[i];
            a->w[i] = (w << bits) | carry;
            carry = w >> (32 - bits);
        }
        if (carry)
            a->w[a->n++] = carry;
    }
    if (limbs) {
        memmove(a->w + limbs, a->w, (size_t)a->n * sizeof a->w[0]);
        memset(a->w, 0, (size_t)limbs * sizeof a->w[0]);
        a->n += limbs;
    }
}

static int big_cmp(const struct big *a, const struct big *b)
{
    if (a->n != b->n)
        return a->n < b->n ? -1 : 1;
    for (int i = a->n - 1; i >= 0; i--)
        if (a->w[i] != b->w[i])
            return a->w[i] < b->w[i] ? -1 : 1;
    return 0;
}

/* a = floor(a / 10) */
static void big_div10(struct big *a)
{
    uint64_t rem = 0;
    for (int i = a->n - 1; i >= 0; i--) {
        uint64_t cur = rem << 32 | a->w[i];
        a->w[i] = (uint32_t)(cur / 10);
        rem = cur % 10;
    }
    while (a->n && a->w[a->n - 1] == 0)
        a->n--;
}

static int big_bits(const struct big *a)
{
    return a->n ? 32 * (a->n - 1) + (32 - __builtin_clz(a->w[a->n - 1])) : 0;
}

/* bits [from, from + 64) of a */
static uint64_t big_bits64(const struct big *a, int from)
{
    uint64_t r = 0;
    for (int b = 0; b < 64; b += 32) {
        int bit = from + b;
        int i = bit / 32, s = bit % 32;
        uint64_t lo = i < a->n ? a->w[i] : 0;
        uint64_t hi = i + 1 < a->n ? a->w[i + 1] : 0;
        r |= (((lo | hi << 32) >> s) & 0xffffffffu) << b;
    }
    return r;
}

/* true when any of the lowest `bits` bits of a is set */
static bool big_low_set(const struct big *a, int bits)
{
    for (int i = 0; i < a->n && bits > 0; i++, bits -= 32) {
        uint32_t w = a->w[i];
        if (bits < 32)
            w &= (1u << bits) - 1;
        if (w)
            return true;
    }
    return false;
}

/* ---- powers of ten ------------------------------------------------------------------
 * pow10_tab[e - P10_MIN] describes 10^e as g * 2^r with 2^127 <= g < 2^128. g is exact
 * when 10^e is (0 <= e <= 55: 5^e fits in 128 bits), otherwise it is the truncated value
 * plus one, so it errs upwards by less than one unit. The range covers every k the
 * algorithm asks for: 10^-k with k from floor(log10(2^-1074)) = -324 to
 * floor(log10(2^971)) = 292. */
#define P10_MIN (-292)
#define P10_MAX 324

struct pow10 {
    uint64_t hi, lo;
    int16_t r;
    bool exact;
};

static struct pow10 pow10_tab[P10_MAX - P10_MIN + 1];
static pthread_once_t pow10_once = PTHREAD_ONCE_INIT;

static void pow10_set(struct pow10 *p, u128 g, bool exact, int r)
{
    if (!exact && ++g == 0) { /* rounding up carried out of 128 bits */
        g = (u128)1 << 127;
        r++;
    }
    p->hi = (uint64_t)(g >> 64);
    p->lo = (uint64_t)g;
    p->r = (int16_t)r;
    p->exact = exact;
}

/* 2^NEG_K / 10^292 still has more than 128 bits, so every negative power keeps its
 * leading 128 bits exact in floor(2^NEG_K / 10^m); floor(floor(x / 10) / 10) =
 * floor(x / 100), so dividing by ten m times gives exactly that. */
#define NEG_K 1120

static void pow10_init(void)
{
    struct big p;
    big_set(&p, 1);
    for (int e = 0; e <= P10_MAX; e++) {
        if (e)
            big_mul(&p, 10);
        int len = big_bits(&p);
        if (len <= 128) {
            u128 g = ((u128)big_bits64(&p, 64) << 64 | big_bits64(&p, 0)) << (128 - len);
            pow10_set(&pow10_tab[e - P10_MIN], g, true, len - 128);
        } else {
            int drop = len - 128;
            u128 g = (u128)big_bits64(&p, drop + 64) << 64 | big_bits64(&p, drop);
            pow10_set(&pow10_tab[e - P10_MIN], g, !big_low_set(&p, drop), drop);
        }
    }
    /* 10^-m = floor(2^NEG_K / 10^m) * 2^-NEG_K, never exact (10^m divides no power of
     * two): the leading 128 bits, plus one */
    big_set(&p, 1);
    big_shl(&p, NEG_K);
    for (int m = 1; m <= -P10_MIN; m++) {
        big_div10(&p);
        int drop = big_bits(&p) - 128;
        u128 g = (u128)big_bits64(&p, drop + 64) << 64 | big_bits64(&p, drop);
        pow10_set(&pow10_tab[-m - P10_MIN], g, false, drop - NEG_K);
    }
}

/* ---- Schubfach ----------------------------------------------------------------------
 * v = c * 2^q. Every decimal in the rounding interval R = [vl, vr] (open when c is odd:
 * IEEE round-half-even then rounds the ends away) reads back as v; vl is halfway to the
 * predecessor, (c - 1/2) 2^q, or (c - 1/4) 2^q when c is a power of two whose predecessor
 * is half as far away; vr = (c + 1/2) 2^q. With k = floor(log10 |R|), R holds at least one
 * multiple of 10^k and at most one of 10^(k+1): the shortest decimal is that one
 * multiple of 10^(k+1) if it exists, else the multiple of 10^k closest to v.
 *
 * Everything is compared in units of 10^k / 4: E(X) = X * 2^q * 10^-k for X = 4c - 2 (or
 * 4c - 1), 4c, 4c + 2. Each E is turned into y = floor(E) with its lowest bit set when E is
 * not an integer ("round to odd"); compared with an even integer M, y orders exactly as E
 * does, and all the comparisons below are with multiples of 2. */
static const uint64_t pow5_u64[24] = {
    1ull, 5ull, 25ull, 125ull, 625ull, 3125ull, 15625ull, 78125ull, 390625ull, 1953125ull,
    9765625ull, 48828125ull, 244140625ull, 1220703125ull, 6103515625ull, 30517578125ull,
    152587890625ull, 762939453125ull, 3814697265625ull, 19073486328125ull, 95367431640625ull,
    476837158203125ull, 2384185791015625ull, 11920928955078125ull,
};

/* Gray zone of the approximate product: a fraction below 2^-60 may hide an exact value
 * just under the integer (the upward error of g is below 2^-68 in these units), so those
 * are settled exactly. Lowered only by the unit test, to exercise the exact path. */
#ifdef IG_FLOAT_SHORTEST_TEST
int ig_float_force_exact;
#define FORCE_EXACT ig_float_force_exact
#else
#define FORCE_EXACT 0
#endif

/* E(X) > n, decided exactly; E is never an integer when this is asked (k > 23 or
 * k < -55: 5^k does not divide X < 2^56, and 2^(k-q) does not divide X). */
static bool exact_above(uint64_t x, int q, int k, uint64_t n)
{
    struct big a, b;
    big_set(&a, x);
    big_set(&b, n);
    if (k > 0) { /* X 2^(q-k) vs n 5^k */
        big_shl(&a, q - k);
        for (int i = 0; i < k; i++)
            big_mul(&b, 5);
    } else { /* X 5^-k vs n 2^(k-q) */
        for (int i = 0; i < -k; i++)
            big_mul(&a, 5);
        big_shl(&b, k - q);
    }
    return big_cmp(&a, &b) > 0;
}

/* y for E(x) = x * g * 2^-shift (see above) */
static uint64_t scaled(uint64_t x, const struct pow10 *p, int shift, int q, int k)
{
    u128 lo = (u128)x * p->lo;
    u128 top = (u128)x * p->hi + (uint64_t)(lo >> 64); /* product = top * 2^64 + (u64)lo */
    int t = shift - 64;                                /* 60..63 */
    uint64_t n = (uint64_t)(top >> t);
    u128 frac = top & (((u128)1 << t) - 1); /* the fraction's bits from 2^-1 to 2^-t */
    if (p->exact)
        return n | (frac != 0 || (uint64_t)lo != 0);
    if (k >= 1 && k <= 23) /* E is an integer iff 5^k divides x; else frac >= 5^-23 */
        return n | (x % pow5_u64[k] != 0);
    if ((frac >> (t - 60)) != 0 && !FORCE_EXACT)
        return n | 1;
    if (!exact_above(x, q, k, n))
        n--;
    return n | 1;
}

/* The shortest, closest decimal of the finite double with bits `bits` (> 0): *digits has
 * no trailing zero, and v reads back from digits * 10^*exp10. */
static void shortest(uint64_t bits, uint64_t *digits, int *exp10)
{
    uint64_t f = bits & ((1ull << 52) - 1);
    int be = (int)(bits >> 52) & 0x7ff;
    uint64_t c = be ? f | 1ull << 52 : f;
    int q = be ? be - 1075 : -1074;
    uint64_t d;
    int e;

    if (q <= 0 && q >= -52 && (c & ((1ull << -q) - 1)) == 0) {
        /* an integer below 2^53: its own digits (neighbours are at most 1 apart, so no
         * other decimal with as few digits reads back) */
        d = c >> -q;
        e = 0;
    } else {
        bool asym = f == 0 && be > 1;
        /* floor(log10(2^q)) and floor(log10(3/4 2^q)) by fixed-point logarithms; checked
         * for every q from -1080 to 980 against exact powers */
        int k = asym ? (int)(((int64_t)q * 315653 - 131237) >> 20)
                     : (int)(((int64_t)q * 315653) >> 20);
        pthread_once(&pow10_once, pow10_init);
        const struct pow10 *p = &pow10_tab[-k - P10_MIN];
        int shift = -(q + p->r); /* 124..127 */
        uint64_t cb = c << 2, out = c & 1;
        uint64_t vb = scaled(cb, p, shift, q, k);
        uint64_t vbl = scaled(asym ? cb - 1 : cb - 2, p, shift, q, k);
        uint64_t vbr = scaled(cb + 2, p, shift, q, k);
        uint64_t s = vb >> 2;
        uint64_t s10 = s / 10;
        bool upin = vbl + out <= 40 * s10;
        bool wpin = 40 * s10 + 40 + out <= vbr;
        if (upin != wpin) {
            d = upin ? s10 : s10 + 1;
            e = k + 1;
        } else {
            bool uin = vbl + out <= 4 * s;
            bool win = 4 * s + 4 + out <= vbr;
            if (uin != win) {
                d = uin ? s : s + 1;
            } else {
                uint64_t mid = 4 * s + 2;
                d = vb < mid ? s : vb > mid ? s + 1 : s + (s & 1);
            }
            e = k;
        }
    }
    while (d % 10 == 0) {
        d /= 10;
        e++;
    }
    *digits = d;
    *exp10 = e;
}

static const char dig2[200] = "00010203040506070809101112131415161718192021222324252627282930"
                              "31323334353637383940414243444546474849505152535455565758596061"
                              "62636465666768697071727374757677787980818283848586878889909192"
                              "93949596979899";

/* d (< 10^17) in decimal into out; returns the count */
static int put_digits(char *out, uint64_t d)
{
    char tmp[20];
    int i = 20;
    while (d >= 100) {
        unsigned r = (unsigned)(d % 100);
        d /= 100;
        i -= 2;
        memcpy(tmp + i, dig2 + 2 * r, 2);
    }
    if (d >= 10) {
        i -= 2;
        memcpy(tmp + i, dig2 + 2 * d, 2);
    } else {
        tmp[--i] = (char)('0' + d);
    }
    memcpy(out, tmp + i, (size_t)(20 - i));
    return 20 - i;
}

int ig_shortest(double v, char *dig, int *exp10)
{
    uint64_t bits, d;
    memcpy(&bits, &v, sizeof bits);
    shortest(bits & ~(1ull << 63), &d, exp10);
    return put_digits(dig, d);
}

/* ---- Go's layouts -------------------------------------------------------------------- */

static char *put_exp(char *p, int x)
{
    *p++ = 'e';
    *p++ = x < 0 ? '-' : '+';
    unsigned a = (unsigned)(x < 0 ? -x : x);
    if (a >= 100)
        *p++ = (char)('0' + a / 100);
    memcpy(p, dig2 + 2 * (a % 100), 2);
    return p + 2;
}

/* d1[.d2..dn]e±XX */
static char *lay_e(char *p, const char *dig, int n, int x)
{
    *p++ = dig[0];
    if (n > 1) {
        *p++ = '.';
        memcpy(p, dig + 1, (size_t)n - 1);
        p += n - 1;
    }
    return put_exp(p, x);
}

/* plain decimal; dp is the decimal point's place: value = 0.d1..dn * 10^dp */
static char *lay_f(char *p, const char *dig, int n, int dp)
{
    if (dp <= 0) {
        *p++ = '0';
        if (n > 0) {
            *p++ = '.';
            memset(p, '0', (size_t)-dp);
            p += -dp;
            memcpy(p, dig, (size_t)n);
            p += n;
        }
    } else if (n <= dp) {
        memcpy(p, dig, (size_t)n);
        p += n;
        memset(p, '0', (size_t)(dp - n));
        p += dp - n;
    } else {
        memcpy(p, dig, (size_t)dp);
        p += dp;
        *p++ = '.';
        memcpy(p, dig + dp, (size_t)(n - dp));
        p += n - dp;
    }
    return p;
}

size_t ignis_format_float(char *buf, double v, char fmt)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    if ((bits >> 52 & 0x7ff) == 0x7ff) {
        const char *s = (bits << 12) ? "NaN" : (bits >> 63) ? "-Inf" : "+Inf";
        size_t l = strlen(s);
        memcpy(buf, s, l + 1);
        return l;
    }
    char *p = buf;
    if (bits >> 63)
        *p++ = '-';
    bits &= ~(1ull << 63);
    char dig[20];
    int n = 0, dp = 0; /* zero: no digits, as Go's decimal has them */
    if (bits) {
        uint64_t d;
        int e;
        shortest(bits, &d, &e);
        n = put_digits(dig, d);
        dp = e + n;
    } else {
        dig[0] = '0';
    }
    switch (fmt) {
    case 'e':
        p = lay_e(p, dig, n ? n : 1, n ? dp - 1 : 0);
        break;
    case 'g':
        /* Go's rule for the shortest precision: %e when the exponent is < -4 or >= 6 */
        if (n && (dp - 1 < -4 || dp - 1 >= 6))
            p = lay_e(p, dig, n, dp - 1);
        else
            p = lay_f(p, dig, n, dp);
        break;
    default: /* 'f' */
        p = lay_f(p, dig, n, dp);
        break;
    }
    *p = '\0';
    return (size_t)(p - buf);
}
