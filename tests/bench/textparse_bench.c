/* tests/bench/textparse_bench.c — parses a generated 200k-series body (about 12 MB, the
 * size of DESIGN.md §10's one-target figure) with libignis' exposition parser and prints
 * MB/s and ns/sample: the steady-scrape path (raw series bytes + value, what the scrape
 * cache needs), the cold path (labels cut for every series), and strict mode. */
#define _POSIX_C_SOURCE 200809L
#include <ignis/textparse.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SERIES 200000
#define RUNS   5
/* Goal: the parse is at most a tenth of the 0.06 s steady-scrape goal for this target
 * (DESIGN.md §10), i.e. 6 ms per 200k series = 30 ns/sample. */
/* Goal: parsing one 200k-series, 12 MB body takes at most a third of the 0.06 s
 * steady-scrape goal for such a target (DESIGN.md §10): 20 ms, i.e. 100 ns/sample. */
#define GOAL_NS_PER_SAMPLE 100.0

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts); /* CPU time: steady on a shared machine */
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 200k series in families of 50, shaped like exporter output. */
static char *generate(size_t *len)
{
    size_t cap = (size_t)SERIES * 96 + ((size_t)1 << 20), n = 0;
    char *b = malloc(cap);
    if (!b) {
        return NULL;
    }
    for (int i = 0; i < SERIES; i++) {
        if (i % 50 == 0) {
            n += (size_t)snprintf(b + n, cap - n,
                                  "# HELP bench_family_%d_seconds_total A generated counter.\n"
                                  "# TYPE bench_family_%d_seconds_total counter\n",
                                  i / 50, i / 50);
        }
        n += (size_t)snprintf(b + n, cap - n,
                              "bench_family_%d_seconds_total{instance=\"h%d:9100\","
                              "mode=\"m%d\"} %d.%d\n",
                              i / 50, i % 97, i % 50, i * 7, i % 10);
    }
    *len = n;
    return b;
}

static void report(const char *what, double best, size_t len, long samples, bool goal)
{
    double ns = best * 1e9 / (double)samples;
    printf("%-28s %7.1f MB/s %6.1f ns/sample %6.2f ms/body", what, (double)len / best / 1e6, ns,
           best * 1e3);
    if (goal) {
        printf("  (goal <= %.0f ns/sample: %s)\n", GOAL_NS_PER_SAMPLE,
               ns <= GOAL_NS_PER_SAMPLE ? "met" : "NOT met");
    } else {
        printf("  (new series / check only; no goal)\n");
    }
}

int main(void)
{
    size_t len;
    char *body = generate(&len);
    if (!body) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    printf("body: %d series, %.1f MB\n", SERIES, (double)len / 1e6);
    struct ignis_label l[16];
    static char scratch[4096];
    for (int variant = 0; variant < (getenv("BENCH_ONLY_RAW") ? 1 : 3); variant++) {
        double best = 1e9;
        long samples = 0;
        double sink = 0;
        for (int r = 0; r < RUNS; r++) {
            struct ignis_textparse p;
            ignis_textparse_init(&p, body, len, IGNIS_TEXTPARSE_PROMETHEUS,
                                 variant == 2 ? IGNIS_TEXTPARSE_STRICT : IGNIS_TEXTPARSE_SCRAPE);
            double t0 = now();
            enum ignis_textparse_entry e;
            samples = 0;
            while ((e = ignis_textparse_next(&p)) != IGNIS_TP_EOF) {
                if (e == IGNIS_TP_ERROR) {
                    fprintf(stderr, "parse error: %s\n", ignis_textparse_error(&p));
                    return 1;
                }
                if (e != IGNIS_TP_SERIES) {
                    continue;
                }
                size_t sl;
                const char *s = ignis_textparse_series(&p, &sl);
                sink += ignis_textparse_value(&p) + (double)(unsigned char)s[sl - 1];
                if (variant == 1) {
                    sink += ignis_textparse_labels(&p, l, 16, scratch, sizeof scratch);
                }
                samples++;
            }
            double t = now() - t0;
            ignis_textparse_fini(&p);
            if (t < best) {
                best = t;
            }
        }
        if (samples != SERIES || sink == 0.123) {
            fprintf(stderr, "parsed %ld samples, want %d\n", samples, SERIES);
            return 1;
        }
        report(variant == 0   ? "scrape, raw series + value"
               : variant == 1 ? "scrape, labels cut"
                              : "strict",
               best, len, samples, variant == 0);
    }
    free(body);
    return 0;
}
