/* tests/bench/bench_metrics.c — libignis instrumentation costs: counter increments from
 * two threads (one shared counter, and one counter each), histogram observations, and
 * rendering 100k series as text 0.0.4 and OpenMetrics (MB/s). Run by `make bench`;
 * each line says what it measured and the goal beside it. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>

#include <ignis/expose.h>
#include <ignis/metrics.h>

#define INCS 20000000L

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct job {
    struct ignis_counter *c;
    struct ignis_histogram *h;
    long n;
};

static void *inc_loop(void *arg)
{
    struct job *j = arg;
    for (long i = 0; i < j->n; i++)
        ignis_counter_inc(j->c);
    return NULL;
}

static void *add_loop(void *arg)
{
    struct job *j = arg;
    for (long i = 0; i < j->n; i++)
        ignis_counter_add(j->c, 0.5);
    return NULL;
}

static void *observe_loop(void *arg)
{
    struct job *j = arg;
    for (long i = 0; i < j->n; i++)
        ignis_histogram_observe(j->h, (double)(i & 1023) * 0.001);
    return NULL;
}

/* ns per operation with two threads running fn on jobs a and b. */
static double two_threads(void *(*fn)(void *), struct job *a, struct job *b)
{
    pthread_t t1, t2;
    double t0 = now_s();
    pthread_create(&t1, NULL, fn, a);
    pthread_create(&t2, NULL, fn, b);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    double dt = now_s() - t0;
    return dt * 1e9 / (double)(a->n + b->n);
}

/* 100k series: 40k counter children, 40k gauge children, 1,819 histograms of 11
 * buckets (+Inf, _count, _sum: 15 series each, about 27k) — realistic values. */
static struct ignis_registry *big_registry(size_t *nseries)
{
    struct ignis_registry *r = ignis_registry_new();
    const char *cl[] = {"handler", "code", "instance"};
    struct ignis_counter_vec *cv = ignis_counter_vec_new(r, &(struct ignis_metric_opts){
        .name = "bench_http_requests_total", .help = "Requests by handler and code.",
        .label_names = cl, .nlabels = 3, .max_children = 100000}, NULL, 0);
    struct ignis_gauge_vec *gv = ignis_gauge_vec_new(r, &(struct ignis_metric_opts){
        .name = "bench_queue_fill_ratio", .help = "How full each queue is.",
        .label_names = cl, .nlabels = 3, .max_children = 100000}, NULL, 0);
    const char *hl[] = {"handler"};
    struct ignis_histogram_vec *hv = ignis_histogram_vec_new(r, &(struct ignis_metric_opts){
        .name = "bench_request_duration_seconds", .help = "Latency by handler.",
        .unit = "seconds", .label_names = hl, .nlabels = 1, .max_children = 100000}, NULL, 0);
    char h[32], c[8], in[32];
    size_t n = 0;
    for (int i = 0; i < 40000; i++) {
        snprintf(h, sizeof h, "/api/v1/endpoint%d", i / 20);
        snprintf(c, sizeof c, "%d", 200 + (i % 5) * 100);
        snprintf(in, sizeof in, "host-%d:9100", i % 20);
        ignis_counter_add(ignis_counter_vec_with(cv, h, c, in), (double)(i * 7919 % 100000));
        ignis_gauge_set(ignis_gauge_vec_with(gv, h, c, in), (double)(i % 1000) / 997.0);
        n += 2;
    }
    for (int i = 0; n < 100000; i++) {
        snprintf(h, sizeof h, "/api/v2/op%d", i);
        struct ignis_histogram *x = ignis_histogram_vec_with(hv, h);
        for (int k = 0; k < 50; k++)
            ignis_histogram_observe(x, (double)((i + k * 37) % 3000) / 1000.0);
        n += 14;
    }
    *nseries = n;
    return r;
}

static void render_bench(struct ignis_registry *r, size_t nseries, enum ignis_expose_kind kind,
                         const char *what)
{
    struct ignis_expose_format fmt;
    ignis_expose_format_init(&fmt, kind, IGNIS_ESCAPE_UNDERSCORES);
    double best = 1e9;
    size_t bytes = 0;
    for (int rep = 0; rep < 5; rep++) {
        struct evbuffer *b = evbuffer_new();
        double t0 = now_s();
        struct ignis_sink *s = ignis_sink_writer_new(b, &fmt);
        ignis_registry_write(r, s);
        ignis_sink_writer_finish(s);
        double dt = now_s() - t0;
        bytes = evbuffer_get_length(b);
        evbuffer_free(b);
        if (dt < best)
            best = dt;
    }
    printf("render %zu series as %-16s %7.1f MB/s  (%.1f ms, %.1f MB, %.0f ns/series; "
           "goal: well over 100 MB/s)\n",
           nseries, what, (double)bytes / best / 1e6, best * 1e3, (double)bytes / 1e6,
           best * 1e9 / (double)nseries);
}

int main(void)
{
    struct ignis_registry *r = ignis_registry_new();
    struct ignis_counter *shared = ignis_counter_new(
        r, &(struct ignis_metric_opts){.name = "shared_total", .help = "x"}, NULL, 0);
    struct ignis_counter *a = ignis_counter_new(
        r, &(struct ignis_metric_opts){.name = "a_total", .help = "x"}, NULL, 0);
    struct ignis_counter *b = ignis_counter_new(
        r, &(struct ignis_metric_opts){.name = "b_total", .help = "x"}, NULL, 0);
    struct ignis_histogram *h = ignis_histogram_new(
        r, &(struct ignis_metric_opts){.name = "h", .help = "x"}, NULL, 0);

    struct job j1 = {shared, h, INCS / 2}, j2 = {shared, h, INCS / 2};
    double ns = two_threads(inc_loop, &j1, &j2);
    printf("counter inc, 2 threads, one shared counter:  %6.1f ns/op (goal: tens of ns; "
           "total %.0f)\n", ns, ignis_counter_value(shared));
    struct job ja = {a, h, INCS / 2}, jb = {b, h, INCS / 2};
    ns = two_threads(inc_loop, &ja, &jb);
    printf("counter inc, 2 threads, a counter each:      %6.1f ns/op\n", ns);
    struct job k1 = {shared, h, INCS / 8}, k2 = {shared, h, INCS / 8};
    ns = two_threads(add_loop, &k1, &k2);
    printf("counter add(0.5), 2 threads, shared (CAS):   %6.1f ns/op\n", ns);
    ns = two_threads(observe_loop, &k1, &k2);
    printf("histogram observe, 2 threads, shared:        %6.1f ns/op\n", ns);
    ignis_registry_free(r);

    size_t n;
    r = big_registry(&n);
    render_bench(r, n, IGNIS_EXPOSE_TEXT_0_0_4, "text 0.0.4");
    render_bench(r, n, IGNIS_EXPOSE_OPENMETRICS_1_0_0, "OpenMetrics 1.0");
    ignis_registry_free(r);
    return 0;
}
