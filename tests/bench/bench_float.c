/* tests/bench/bench_float.c — ns per value for ignis_format_float ('f' and 'g') against the
 * snprintf("%.*e") + strtod search it replaced (the JSON sample-value code as it was),
 * over random bit patterns and over values shaped like rate() results (CPU time). Also
 * counts where the two disagree (the old code printed exact digits past 2^53; Go, and now
 * we, print the shortest digits padded with zeros). Run by `make bench`. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ignis/expose.h>

#define N 1000000

static double now_s(void)
{
    struct timespec ts;
    /* CPU time: the machine is shared, and wall time would measure the neighbours */
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng = 0x243f6a8885a308d3ull;

static uint64_t next(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545f4914f6cdd1dull;
}

/* the replaced approach: fewest %.*e digits that strtod reads back, then %.*f */
static size_t old_f(char *out, double v)
{
    char tmp[64];
    int prec;
    snprintf(tmp, sizeof tmp, "%.14e", v);
    if (strtod(tmp, NULL) == v) {
        for (prec = 1; prec < 15; prec++) {
            snprintf(tmp, sizeof tmp, "%.*e", prec - 1, v);
            if (strtod(tmp, NULL) == v)
                break;
        }
        if (prec == 15)
            snprintf(tmp, sizeof tmp, "%.14e", v);
    } else {
        prec = 16;
        snprintf(tmp, sizeof tmp, "%.15e", v);
        if (strtod(tmp, NULL) != v) {
            prec = 17;
            snprintf(tmp, sizeof tmp, "%.16e", v);
        }
    }
    int exp10 = atoi(strchr(tmp, 'e') + 1);
    int decimals = prec - 1 - exp10;
    if (decimals < 0)
        decimals = 0;
    return (size_t)snprintf(out, 400, "%.*f", decimals, v);
}

static volatile size_t sink;

static double run(const double *v, int which)
{
    char buf[IGNIS_FORMAT_FLOAT_F_SIZE + 80];
    size_t acc = 0;
    double t0 = now_s();
    for (int i = 0; i < N; i++) {
        switch (which) {
        case 0:
            acc += old_f(buf, v[i]);
            break;
        case 1:
            acc += ignis_format_float(buf, v[i], 'f');
            break;
        default:
            acc += ignis_format_float(buf, v[i], 'g');
            break;
        }
    }
    sink = acc;
    return (now_s() - t0) / N * 1e9;
}

static void bench(const char *what, const double *v)
{
    double o = run(v, 0), f = run(v, 1), g = run(v, 2);
    printf("%-34s old snprintf/strtod %6.0f ns/value, ignis_format_float 'f' %5.0f ns, "
           "'g' %5.0f ns (%.0fx faster; goal: well over 10x)\n",
           what, o, f, g, o / f);
    long diff = 0;
    char a[IGNIS_FORMAT_FLOAT_F_SIZE + 80], b[IGNIS_FORMAT_FLOAT_F_SIZE];
    for (int i = 0; i < N; i++) {
        old_f(a, v[i]);
        ignis_format_float(b, v[i], 'f');
        if (strcmp(a, b) != 0 && diff++ < 2)
            printf("    differs: old %.40s new %.40s\n", a, b);
    }
    printf("    %ld of %d values print differently from the old code\n", diff, N);
}

int main(void)
{
    double *v = malloc(N * sizeof *v);
    if (!v)
        return 1;
    /* random bit patterns (finite): every exponent, mostly 16-17 digits, very long 'f' */
    for (int i = 0; i < N; i++) {
        uint64_t b;
        do
            b = next();
        while (((b >> 52) & 0x7ff) == 0x7ff);
        memcpy(&v[i], &b, sizeof v[i]);
    }
    bench("random bit patterns:", v);
    /* random doubles of ordinary size (1e-3 .. 1e6) */
    for (int i = 0; i < N; i++)
        v[i] = pow(10, (double)(next() % 9000) / 1000 - 3) * (1 + (double)(next() % 1000) / 1e3);
    bench("random values 1e-3..1e6:", v);
    /* rate() results: a counter's increase over a 1m..5m window, extrapolated */
    for (int i = 0; i < N; i++) {
        double inc = (double)(next() % 100000);
        double window = 60.0 * (double)(1 + next() % 5);
        double sampled = window - (double)(next() % 15000) / 1000.0;
        v[i] = inc * (window / sampled) / window;
    }
    bench("rate() results:", v);
    /* gauges and counters: integers */
    for (int i = 0; i < N; i++)
        v[i] = (double)(next() % 10000000);
    bench("integers:", v);
    free(v);
    return 0;
}
