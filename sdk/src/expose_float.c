/* sdk/src/expose_float.c — numbers as Prometheus clients write them: the shortest
 * decimal that reads back as the same double, laid out like Go's %g (exponent form
 * below 1e-4 and from 1e+06 on, at least two exponent digits), "+Inf", "-Inf", "NaN".
 * Integers below 2^53 take a fast path; other values find their shortest digits by
 * trying 15, 16, then 17 significant digits (a double always reads back from 17). */
#define _GNU_SOURCE
#include <config.h>

#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics_int.h"

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void c_locale_init(void)
{
    c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

/* Digits of the %.{p-1}e rendering of v (> 0) into dig; returns the count and stores
 * the exponent of the first digit. Independent of the process' LC_NUMERIC. */
static int digits_e(double v, int p, char *dig, int *exp_first)
{
    char tmp[48];
    snprintf(tmp, sizeof tmp, "%.*e", p - 1, v);
    int n = 0;
    const char *s = tmp;
    for (; *s && *s != 'e'; s++)
        if (*s >= '0' && *s <= '9')
            dig[n++] = *s;
    *exp_first = (*s == 'e') ? atoi(s + 1) : 0;
    return n;
}

static double parse_digits(const char *dig, int n, int exp_first)
{
    char tmp[48];
    int k = 0;
    tmp[k++] = dig[0];
    tmp[k++] = '.';
    memcpy(tmp + k, dig + 1, (size_t)n - 1);
    k += n - 1;
    snprintf(tmp + k, sizeof tmp - (size_t)k, "e%d", exp_first);
    pthread_once(&c_locale_once, c_locale_init);
    if (c_locale)
        return strtod_l(tmp, NULL, c_locale);
    return strtod(tmp, NULL);
}

int ig_shortest(double v, char *dig, int *exp10)
{
    /* integers below 2^53: their own digits are the shortest (neighbours are <= 1 apart,
     * so no shorter decimal reads back as the same value) */
    if (v < 9007199254740992.0 && v == floor(v)) {
        uint64_t u = (uint64_t)v;
        char tmp[20];
        int n = 0;
        while (u) {
            tmp[n++] = (char)('0' + u % 10);
            u /= 10;
        }
        int z = 0;
        while (z < n - 1 && tmp[z] == '0')
            z++;
        int m = 0;
        for (int i = n - 1; i >= z; i--)
            dig[m++] = tmp[i];
        *exp10 = z;
        return m;
    }
    int n = 0, ef = 0;
    /* 15 significant digits always read back exactly (DBL_DIG) for normal doubles, so
     * start there; subnormals have fewer bits and may need fewer digits */
    for (int p = v < 2.2250738585072014e-308 ? 1 : 15; p <= 17; p++) {
        n = digits_e(v, p, dig, &ef);
        if (p == 17 || parse_digits(dig, n, ef) == v)
            break;
    }
    while (n > 1 && dig[n - 1] == '0')
        n--;
    *exp10 = ef - (n - 1);
    return n;
}

size_t ig_fmt_double(char *buf, double v, bool om)
{
    if (isnan(v)) {
        memcpy(buf, "NaN", 4);
        return 3;
    }
    if (isinf(v)) {
        memcpy(buf, v > 0 ? "+Inf" : "-Inf", 5);
        return 4;
    }
    char *p = buf;
    if (v == 0) {
        /* -0 too, as the Prometheus clients write it */
        memcpy(buf, om ? "0.0" : "0", om ? 4 : 2);
        return om ? 3 : 1;
    }
    if (v < 0) {
        *p++ = '-';
        v = -v;
    }
    char dig[24];
    int e;
    int n = ig_shortest(v, dig, &e);
    int x = e + n - 1; /* exponent of the first digit */
    if (x < -4 || x >= 6) {
        /* d[.ddd]e±XX */
        *p++ = dig[0];
        if (n > 1) {
            *p++ = '.';
            memcpy(p, dig + 1, (size_t)n - 1);
            p += n - 1;
        }
        *p++ = 'e';
        *p++ = x < 0 ? '-' : '+';
        int ax = x < 0 ? -x : x;
        if (ax >= 100)
            *p++ = (char)('0' + ax / 100);
        *p++ = (char)('0' + ax / 10 % 10);
        *p++ = (char)('0' + ax % 10);
    } else if (x < 0) {
        /* 0.000ddd */
        *p++ = '0';
        *p++ = '.';
        for (int i = -1; i > x; i--)
            *p++ = '0';
        memcpy(p, dig, (size_t)n);
        p += n;
    } else {
        /* ddd[.ddd], or ddd000 */
        int intdigits = x + 1;
        if (n <= intdigits) {
            memcpy(p, dig, (size_t)n);
            p += n;
            for (int i = n; i < intdigits; i++)
                *p++ = '0';
            if (om) {
                *p++ = '.';
                *p++ = '0';
            }
        } else {
            memcpy(p, dig, (size_t)intdigits);
            p += intdigits;
            *p++ = '.';
            memcpy(p, dig + intdigits, (size_t)(n - intdigits));
            p += n - intdigits;
        }
    }
    *p = '\0';
    return (size_t)(p - buf);
}
