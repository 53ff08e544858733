/* tests/unit/sdk/test_metrics.c — the metric types, label vectors and their bound,
 * registries (errors, collectors, unregistering) and concurrent updates. */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <event2/buffer.h>

#include <ignis/expose.h>
#include <ignis/metrics.h>
#include <ignis/plugin.h>

/* Renders reg as text 0.0.4 (or OpenMetrics) into a NUL-terminated string (free it). */
static char *render(struct ignis_registry *reg, bool om, int *rc)
{
    struct evbuffer *b = evbuffer_new();
    struct ignis_expose_format fmt;
    ignis_expose_format_init(&fmt, om ? IGNIS_EXPOSE_OPENMETRICS_1_0_0 : IGNIS_EXPOSE_TEXT_0_0_4,
                             IGNIS_ESCAPE_UNDERSCORES);
    struct ignis_sink *s = ignis_sink_writer_new(b, &fmt);
    assert_non_null(s);
    int r1 = ignis_registry_write(reg, s);
    int r2 = ignis_sink_writer_finish(s);
    if (rc)
        *rc = r1 ? r1 : r2;
    size_t n = evbuffer_get_length(b);
    char *out = malloc(n + 1);
    evbuffer_remove(b, out, n);
    out[n] = '\0';
    evbuffer_free(b);
    return out;
}

static void counter_counts_and_ignores_decrements(void **state)
{
    (void)state;
    struct ignis_registry *r = ignis_registry_new();
    char err[256] = "";
    struct ignis_counter *c = ignis_counter_new(
        r, &(struct ignis_metric_opts){.name = "jobs_total", .help = "Jobs."}, err, sizeof err);
    assert_non_null(c);
    assert_true(ignis_counter_value(c) == 0);
    ignis_counter_inc(c);
    ignis_counter_add(c, 2);
    ignis_counter_add(c, 0.5);
    ignis_counter_add(c, -3);  /* ignored */
    ignis_counter_add(c, NAN); /* ignored */
    assert_true(ignis_counter_value(c) == 3.5);
    double now = (double)time(NULL);
    assert_true(fabs(ignis_counter_created(c) - now) < 5);
    int rc;
    char *txt = render(r, false, &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(txt, "# HELP jobs_total Jobs.\n# TYPE jobs_total counter\n"
                             "jobs_total 3.5\n");
    free(txt);
    ignis_registry_free(r);
}

static void counter_without_total_suffix_gets_it(void **state)
{
    (void)state;
    struct ignis_registry *r = ignis_registry_new();
    struct ignis_counter *c = ignis_counter_new(
        r, &(struct ignis_metric_opts){.name = "events", .help = "E."}, NULL, 0);
    assert_non_null(c);
    ignis_counter_inc(c);
    char *txt = render(r, true, NULL);
    assert_non_null(strstr(txt, "# TYPE events counter\n# HELP events E.\nevents_total 1.0\n"
                                "events_created "));
    assert_non_null(strstr(txt, "\n# EOF\n"));
    free(txt);
    /* and the name with _total is the same family */
    assert_null(ignis_counter_new(
        r, &(struct ignis_metric_opts){.name = "events_total", .help = "E."}, NULL, 0));
    ignis_registry_free(r);
}

static void gauge_moves_both_ways(void **state)
{
    (void)state;
    struct ignis_registry *r = ignis_registry_new();
    struct ignis_gauge *g =
        ignis_gauge_new(r, &(struct ignis_metric_opts){.name = "queue", .help = "Q."}, NULL, 0);
    assert_non_null(g);
    ignis_gauge_set(g, 10);
    ignis_gauge_inc(g);
    ignis_gauge_dec(g);
    ignis_gauge_dec(g);
    ignis_gauge_add(g, 2.25);
    ignis_gauge_sub(g, 0.25);
    assert_true(ignis_gauge_value(g) == 11);
    ignis_gauge_set(g, -4);
    assert_true(ignis_gauge_value(g) == -4);
    ignis_gauge_set_to_current_time(g);
    assert_true(fabs(ignis_gauge_value(g) - (double)time(NULL)) < 5);
    ignis_registry_free(r);
}

static void histogram_buckets_are_cumulative(void **state)
{
    (void)state;
    struct ignis_registry *r = ignis_registry_new();
    struct ignis_histogram *h = ignis_histogram_new(
        r, &(struct ignis_metric_opts){.name = "lat_seconds", .help = "L.", .unit = "seconds"},
        NULL, 0);
    assert_non_null(h);
    double obs[] = {0.001, 0.005, 0.0051, 0.3, 1, 7, 11, NAN};
    for (size_t i = 0; i < sizeof obs / sizeof obs[0]; i++)
        ignis_histogram_observe(h, obs[i]);
    /* default buckets .005 .01 .025 .05 .1 .25 .5 1 2.5 5 10 (+Inf at index 11) */
    assert_int_equal(ignis_histogram_bucket_count(h, 0), 2); /* 0.001, 0.005 (le is <=) */
    assert_int_equal(ignis_histogram_bucket_count(h, 1), 3);
    assert_int_equal(ignis_histogram_bucket_count(h, 5), 3);
    assert_int_equal(ignis_histogram_bucket_count(h, 6), 4);
    assert_int_equal(ignis_histogram_bucket_count(h, 7), 5);
    assert_int_equal(ignis_histogram_bucket_count(h, 10), 6);
    assert_int_equal(ignis_histogram_bucket_count(h, 11), 7);
    assert_int_equal(ignis_histogram_count(h), 7);
    assert_true(fabs(ignis_histogram_sum(h) - 19.3111) < 1e-9);
    char *txt = render(r, false, NULL);
    assert_non_null(strstr(txt, "lat_seconds_bucket{le=\"0.005\"} 2\n"));
    assert_non_null(strstr(txt, "lat_seconds_bucket{le=\"1\"} 5\n"));
    assert_non_null(strstr(txt, "lat_seconds_bucket{le=\"+Inf\"} 7\nlat_seconds_count 7\n"));
    free(txt);
    txt = render(r, true, NULL);
    assert_non_null(strstr(txt, "# TYPE lat_seconds histogram\n# UNIT lat_seconds seconds\n"));
    assert_non_null(strstr(txt, "lat_seconds_bucket{le=\"1.0\"} 5\n"));
    assert_non_null(strstr(txt, "lat_seconds_bucket{le=\"10.0\"} 6\n"));
    assert_non_null(strstr(txt, "lat_seconds_count 7\nlat_seconds_sum 19.3111\n"));
    free(txt);
    ignis_registry_free(r);
}

static void histogram_custom_buckets_and_errors(void **state)
{
    (void)state;
    struct ignis_registry *r = ignis_registry_new();
    char err[256] = "";
    double b[] = {-1, 0, 2.5, INFINITY};
    struct ignis_histogram_vec *v = ignis_histogram_vec_new(
        r, &(struct ignis_metric_opts){.name = "d", .help = "D.", .buckets = b, .nbuckets = 4,
                                       .label_names = (const char *[]){"k"}, .nlabels = 1},
        err, sizeof err);
    assert_non_null(v);
    struct ignis_histogram *h = ignis_histogram_vec_with(v, "x");
    ignis_histogram_observe(h, -5);
    ignis_histogram_observe(h, 0);
    ignis_histogram_observe(h, 3);
    assert_int_equal(ignis_histogram_bucket_count(h, 0), 1);
    assert_int_equal(ignis_histogram_bucket_count(h, 1), 2);
    assert_int_equal(ignis_histogram_bucket_count(h, 2), 2);
    assert_int_equal(ignis_histogram_bucket_count(h, 3), 3);
    char *txt = render(r, false, NULL);
    assert_non_null(strstr(txt, "d_bucket{k=\"x\",le=\"-1\"} 1\nd_bucket{k=\"x\",le=\"0\"} 2\n"
                                "d_bucket{k=\"x\",le=\"2.5\"} 2\nd_bucket{k=\"x\",le=\"+Inf\"} 3\n"
                                "d_count{k=\"x\"} 3\nd_sum{k=\"x\"} -2\n"));
    free(txt);
    double bad[] = {1, 1};
    assert_null(ignis_histogram_new(
        r, &(struct ignis_metric_opts){.name = "e", .help = "E.", .buckets = bad, .nbuckets = 2},
        err, sizeof err));
    assert_non_null(strstr(err, "increasing"));
    double nan[] = {NAN};
    assert_null(ignis_histogram_new(
        r, &(struct ignis_metric_opts){.name = "e", .help = "E.", .buckets = nan, .nbuckets = 1},
        err, sizeof err));
    assert_null(ignis_histogram_vec_new(
        r, &(struct ignis_metric_opts){.name = "e", .help = "E.",
                                       .label_names = (const char *[]){"le"}, .nlabels = 1},
        err, sizeof err));
    assert_non_null(strstr(err, "reserved"));
    ignis_registry_free(r);
}

static void vector_children_are_reused(void **state)
{
    (void)state;
    struct ignis_registry *r = ignis_registry_new();
    struct ignis_counter_vec *v = ignis_counter_vec_new(
        r, &(struct ignis_metric_opts){.name = "req_total", .help = "R.",
                                       .label_names = (const char *[]){"method", "code"},
                                       .nlabels = 2},
        NULL, 0);
    assert_non_null(v);
    assert_int_equal(ignis_vec_children(v), 0);
    struct ignis_counter *a = ignis_counter_vec_with(v, "GET", "200");
    struct ignis_counter *b = ignis_counter_vec_with(v, "GET", "500");
    struct ignis_counter *a2 = ignis_counter_vec_with(v, "GET", "200");
    const char *vals[] = {"GET", "200"};
    size_t lens[] = {3, 3};
    struct ignis_counter *a3 = ignis_counter_vec_withv(v, vals, lens);
    struct ignis_counter *a4 = ignis_counter_vec_withv(v, vals, NULL);
    assert_non_null(a);
    assert_ptr_not_equal(a, b);
    assert_ptr_equal(a, a2);
    assert_ptr_equal(a, a3);
    assert_ptr_equal(a, a4);
    /* ("ab","c") and ("a","bc") are different children */
    assert_ptr_not_equal(ignis_counter_vec_with(v, "ab", "c"), ignis_counter_vec_with(v, "a", "bc"));
    assert_int_equal(ignis_vec_children(v), 4);
    ignis_counter_inc(a);
    ignis_counter_inc(a2);
    ignis_counter_add(b, 5);
    char *txt = render(r, false, NULL);
    assert_non_null(strstr(txt, "req_total{method=\"GET\",code=\"200\"} 2\n"
                                "req_total{method=\"GET\",code=\"500\"} 5\n"));
    free(txt);
    /* many children: the lookup table grows */
    for (int i = 0; i < 3000; i++) {
        char s[16];
        snprintf(s, sizeof s, "%d", i);
        ignis_counter_inc(ignis_counter_vec_with(v, "X", s));
    }
    for (int i = 0; i < 3000; i += 7) {
        char s[16];
        snprintf(s, sizeof s, "%d", i);
        assert_true(ignis_counter_value(ignis_counter_vec_with(v, "X", s)) == 1);
    }
    assert_int_equal(ignis_vec_children(v), 3004);
    ignis_registry_free(r);
}

static void vector_bound_refuses_and_counts(void **state)
{
    (void)state;
    struct ignis_registry *r = ignis_registry_new();
    struct ignis_gauge_vec *v = ignis_gauge_vec_new(
        r, &(struct ignis_metric_opts){.name = "temp", .help = "T.",
                                       .label_names = (const char *[]){"room"}, .nlabels = 1,
                                       .max_children = 2},
        NULL, 0);
    assert_non_null(v);
    struct ignis_gauge *a = ignis_gauge_vec_with(v, "a");
    struct ignis_gauge *b = ignis_gauge_vec_with(v, "b");
    assert_non_null(a);
    assert_non_null(b);
    assert_null(ignis_gauge_vec_with(v, "c"));
    assert_null(ignis_gauge_vec_with(v, "d"));
    assert_ptr_equal(ignis_gauge_vec_with(v, "a"), a); /* existing ones still work */
    assert_int_equal(ignis_vec_refused(v), 2);
    assert_int_equal(ignis_vec_children(v), 2);
    /* invalid UTF-8 is refused and counted too */
    assert_null(ignis_gauge_vec_with(v, "\xff"));
    assert_int_equal(ignis_vec_refused(v), 3);
    /* updates on the refusal are harmless no-ops */
    ignis_gauge_set(ignis_gauge_vec_with(v, "e"), 1);
    ignis_counter_inc(NULL);
    ignis_histogram_observe(NULL, 1);
    ignis_summary_observe(NULL, 1);
    char *txt = render(r, false, NULL);
    assert_non_null(strstr(txt, "# TYPE ignis_metric_vec_refused_total counter\n"
                                "ignis_metric_vec_refused_total{metric=\"temp\"} 4\n"));
    free(txt);
    ignis_registry_free(r);
}

static void registration_errors(void **state)
{
    (void)state;
    struct ignis_registry *r = ignis_registry_new();
    char err[256];
#define OPTS(...) (&(struct ignis_metric_opts){__VA_ARGS__})
    assert_non_null(ignis_counter_new(r, OPTS(.name = "a_total", .help = "A."), err, sizeof err));
    /* duplicate */
    err[0] = '\0';
    assert_null(ignis_gauge_new(r, OPTS(.name = "a", .help = "A."), err, sizeof err));
    assert_non_null(strstr(err, "duplicate"));
    /* a sample name another family writes */
    assert_null(ignis_gauge_new(r, OPTS(.name = "a_created", .help = "A."), err, sizeof err));
    assert_null(ignis_gauge_new(r, OPTS(.name = "a_total", .help = "A."), err, sizeof err));
    assert_non_null(ignis_gauge_new(r, OPTS(.name = "h_count", .help = "H."), err, sizeof err));
    assert_null(ignis_histogram_new(r, OPTS(.name = "h", .help = "H."), err, sizeof err));
    assert_non_null(strstr(err, "h_count"));
    /* names */
    assert_null(ignis_gauge_new(r, OPTS(.name = "", .help = "x"), err, sizeof err));
    assert_null(ignis_gauge_new(r, OPTS(.name = "bad\xff", .help = "x"), err, sizeof err));
    assert_null(ignis_gauge_new(r, OPTS(.name = "nohelp"), err, sizeof err));
    assert_null(ignis_counter_new(r, OPTS(.name = "_total", .help = "x"), err, sizeof err));
    /* labels */
    assert_null(ignis_gauge_vec_new(r, OPTS(.name = "g1", .help = "x",
                                            .label_names = (const char *[]){"a", "a"},
                                            .nlabels = 2), err, sizeof err));
    assert_non_null(strstr(err, "duplicate label"));
    assert_null(ignis_gauge_vec_new(r, OPTS(.name = "g1", .help = "x",
                                            .label_names = (const char *[]){"__x"}, .nlabels = 1),
                                    err, sizeof err));
    assert_null(ignis_gauge_vec_new(r, OPTS(.name = "g1", .help = "x",
                                            .label_names = (const char *[]){""}, .nlabels = 1),
                                    err, sizeof err));
    assert_null(ignis_summary_vec_new(r, OPTS(.name = "s1", .help = "x",
                                              .label_names = (const char *[]){"quantile"},
                                              .nlabels = 1), err, sizeof err));
    struct ignis_label cl = ignis_label_make("k", "v");
    assert_null(ignis_gauge_vec_new(r, OPTS(.name = "g1", .help = "x", .const_labels = &cl,
                                            .nconst = 1, .label_names = (const char *[]){"k"},
                                            .nlabels = 1), err, sizeof err));
    /* label names on a plain metric */
    assert_null(ignis_gauge_new(r, OPTS(.name = "g2", .help = "x",
                                        .label_names = (const char *[]){"k"}, .nlabels = 1),
                                err, sizeof err));
    /* units */
    assert_null(ignis_gauge_new(r, OPTS(.name = "size", .help = "x", .unit = "bytes"), err,
                                sizeof err));
    assert_non_null(strstr(err, "unit"));
    assert_non_null(ignis_counter_new(r, OPTS(.name = "sent_bytes_total", .help = "x",
                                              .unit = "bytes"), err, sizeof err));
    /* summary objectives */
    struct ignis_quantile q[] = {{0.5, 0.05}, {0.5, 0.01}};
    assert_null(ignis_summary_new(r, OPTS(.name = "s2", .help = "x", .quantiles = q,
                                          .nquantiles = 2), err, sizeof err));
    struct ignis_quantile q2[] = {{1.5, 0.05}};
    assert_null(ignis_summary_new(r, OPTS(.name = "s2", .help = "x", .quantiles = q2,
                                          .nquantiles = 1), err, sizeof err));
    /* after all those errors, the good name is still free */
    assert_non_null(ignis_gauge_new(r, OPTS(.name = "g1", .help = "x"), err, sizeof err));
    assert_null(ignis_counter_new(NULL, OPTS(.name = "z", .help = "x"), err, sizeof err));
    ignis_registry_free(r);
}

static void unregister_frees_the_name(void **state)
{
    (void)state;
    struct ignis_registry *r = ignis_registry_new();
    assert_non_null(ignis_counter_new(r, OPTS(.name = "x_total", .help = "X."), NULL, 0));
    assert_int_equal(ignis_registry_unregister(r, "x_total"), 0);
    assert_int_equal(ignis_registry_unregister(r, "x_total"), IGNIS_E_NOTFOUND);
    struct ignis_gauge *g = ignis_gauge_new(r, OPTS(.name = "x_total", .help = "X."), NULL, 0);
    assert_non_null(g); /* now a gauge may take it */
    assert_int_equal(ignis_registry_unregister(r, "x_total"), 0);
    assert_int_equal(ignis_info_new(r, OPTS(.name = "build_info", .help = "B."), NULL, 0), 0);
    assert_int_equal(ignis_registry_unregister(r, "build_info"), 0);
    char *txt = render(r, false, NULL);
    assert_string_equal(txt, "");
    free(txt);
    ignis_registry_free(r);
}

static void info_exposes_its_labels(void **state)
{
    (void)state;
    struct ignis_registry *r = ignis_registry_new();
    struct ignis_label ls[] = {ignis_label_make("version", "1.2.3"),
                               ignis_label_make("revision", "abc")};
    assert_int_equal(ignis_info_new(r, OPTS(.name = "app", .help = "Build.", .const_labels = ls,
                                            .nconst = 2), NULL, 0), 0);
    char *txt = render(r, false, NULL);
    assert_string_equal(txt, "# HELP app_info Build.\n# TYPE app_info gauge\n"
                             "app_info{version=\"1.2.3\",revision=\"abc\"} 1\n");
    free(txt);
    txt = render(r, true, NULL);
    assert_string_equal(txt, "# TYPE app info\n# HELP app Build.\n"
                             "app_info{version=\"1.2.3\",revision=\"abc\"} 1\n# EOF\n");
    free(txt);
    ignis_registry_free(r);
}

static int calls;
static int collect_two(void *arg, struct ignis_sink *s)
{
    calls++;
    int rc = ignis_sink_family(s, (const char *)arg, IGNIS_METRIC_GAUGE, "From a collector.", "");
    struct ignis_label l = ignis_label_make("k", "v");
    rc |= ignis_sink_sample(s, "", &l, 1, 2, IGNIS_NO_TIMESTAMP);
    return rc;
}

static int collect_fail(void *arg, struct ignis_sink *s)
{
    (void)arg;
    (void)s;
    return -1;
}

static void collectors_run_after_families(void **state)
{
    (void)state;
    struct ignis_registry *r = ignis_registry_new();
    assert_non_null(ignis_gauge_new(r, OPTS(.name = "zz", .help = "Z."), NULL, 0));
    assert_int_equal(ignis_registry_add_collector(r, collect_two, "aa"), 0);
    calls = 0;
    int rc;
    char *txt = render(r, false, &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(calls, 1);
    assert_string_equal(txt, "# HELP zz Z.\n# TYPE zz gauge\nzz 0\n"
                             "# HELP aa From a collector.\n# TYPE aa gauge\naa{k=\"v\"} 2\n");
    free(txt);
    assert_int_equal(ignis_registry_add_collector(r, collect_fail, NULL), 0);
    txt = render(r, false, &rc);
    assert_int_equal(rc, -1);
    free(txt);
    assert_int_equal(ignis_registry_remove_collector(r, collect_fail, NULL), 0);
    assert_int_equal(ignis_registry_remove_collector(r, collect_fail, NULL), IGNIS_E_NOTFOUND);
    assert_int_equal(ignis_registry_remove_collector(r, collect_two, "aa"), 0);
    calls = 0;
    txt = render(r, false, &rc);
    assert_int_equal(calls, 0);
    assert_string_equal(txt, "# HELP zz Z.\n# TYPE zz gauge\nzz 0\n");
    free(txt);
    ignis_registry_free(r);
}

static void families_are_sorted_by_name(void **state)
{
    (void)state;
    struct ignis_registry *r = ignis_registry_new();
    const char *names[] = {"m", "c", "x", "a", "b"};
    for (int i = 0; i < 5; i++)
        assert_non_null(ignis_gauge_new(r, OPTS(.name = names[i], .help = "h"), NULL, 0));
    char *txt = render(r, false, NULL);
    const char *p = txt;
    const char *order[] = {"\na 0", "\nb 0", "\nc 0", "\nm 0", "\nx 0"};
    for (int i = 0; i < 5; i++) {
        const char *q = strstr(p, order[i]);
        assert_non_null(q);
        p = q + 1;
    }
    free(txt);
    ignis_registry_free(r);
}

static void default_registry_is_one(void **state)
{
    (void)state;
    struct ignis_registry *d = ignis_registry_default();
    assert_non_null(d);
    assert_ptr_equal(d, ignis_registry_default());
    ignis_registry_free(d); /* refused: it lives for the process */
    assert_non_null(ignis_gauge_new(d, OPTS(.name = "t_default", .help = "x"), NULL, 0));
    assert_int_equal(ignis_registry_unregister(d, "t_default"), 0);
}

static void process_collector_reports(void **state)
{
    (void)state;
    struct ignis_registry *r = ignis_registry_new();
    assert_int_equal(ignis_process_collector_register(r), 0);
    assert_int_equal(ignis_process_collector_register(r), -1);
    int rc;
    char *txt = render(r, false, &rc);
    assert_int_equal(rc, 0);
    const char *want[] = {
        "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n"
        "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total ",
        "# HELP process_max_fds Maximum number of open file descriptors.\n"
        "# TYPE process_max_fds gauge\nprocess_max_fds ",
        "# HELP process_open_fds Number of open file descriptors.\n"
        "# TYPE process_open_fds gauge\nprocess_open_fds ",
        "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
        "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes ",
        "# HELP process_start_time_seconds Start time of the process since unix epoch in "
        "seconds.\n# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds ",
        "# HELP process_virtual_memory_bytes Virtual memory size in bytes.\n"
        "# TYPE process_virtual_memory_bytes gauge\nprocess_virtual_memory_bytes ",
        "# HELP process_virtual_memory_max_bytes Maximum amount of virtual memory available in "
        "bytes.\n# TYPE process_virtual_memory_max_bytes gauge\n"
        "process_virtual_memory_max_bytes ",
    };
    const char *p = txt;
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const char *q = strstr(p, want[i]);
        if (!q)
            fail_msg("missing in order: %s\n--- got:\n%s", want[i], txt);
        p = q + strlen(want[i]);
        double v = strtod(p, NULL);
        assert_true(v >= 0);
        if (i == 2)
            assert_true(v >= 3); /* stdin, stdout, stderr at least */
        if (i == 3 || i == 5)
            assert_true(v > 1e5); /* some memory */
        if (i == 4)
            assert_true(fabs(v - (double)time(NULL)) < 3600 * 24);
    }
    free(txt);
    ignis_registry_free(r);
}

/* ---- concurrency: exact totals from several threads --------------------------- */

#define THREADS 4
#define ITER 100000

struct conc {
    struct ignis_counter *c;
    struct ignis_gauge *g;
    struct ignis_histogram *h;
    struct ignis_counter_vec *v;
    int id;
};

static void *hammer(void *arg)
{
    struct conc *k = arg;
    for (int i = 0; i < ITER; i++) {
        ignis_counter_inc(k->c);
        ignis_counter_add(k->c, 0.5);
        ignis_gauge_add(k->g, 1);
        ignis_histogram_observe(k->h, (i % 4) * 0.5);
        char s[8];
        snprintf(s, sizeof s, "%d", i % 50);
        ignis_counter_inc(ignis_counter_vec_with(k->v, s));
    }
    return NULL;
}

static void concurrent_updates_are_exact(void **state)
{
    (void)state;
    struct ignis_registry *r = ignis_registry_new();
    double b[] = {0.25, 0.75};
    struct conc k = {
        .c = ignis_counter_new(r, OPTS(.name = "c_total", .help = "x"), NULL, 0),
        .g = ignis_gauge_new(r, OPTS(.name = "g", .help = "x"), NULL, 0),
        .h = ignis_histogram_new(r, OPTS(.name = "h", .help = "x", .buckets = b, .nbuckets = 2),
                                 NULL, 0),
        .v = ignis_counter_vec_new(r, OPTS(.name = "v_total", .help = "x",
                                           .label_names = (const char *[]){"k"}, .nlabels = 1),
                                   NULL, 0),
    };
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, hammer, &k), 0);
    /* scrape while they run: must not crash or tear */
    for (int i = 0; i < 20; i++)
        free(render(r, true, NULL));
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    assert_true(ignis_counter_value(k.c) == THREADS * ITER * 1.5);
    assert_true(ignis_gauge_value(k.g) == THREADS * ITER);
    assert_int_equal(ignis_histogram_count(k.h), THREADS * ITER);
    assert_int_equal(ignis_histogram_bucket_count(k.h, 0), THREADS * ITER / 4);
    assert_int_equal(ignis_histogram_bucket_count(k.h, 1), THREADS * ITER / 2);
    assert_true(ignis_histogram_sum(k.h) == THREADS * (ITER / 4) * (0 + 0.5 + 1 + 1.5));
    assert_int_equal(ignis_vec_children(k.v), 50);
    for (int i = 0; i < 50; i++) {
        char s[8];
        snprintf(s, sizeof s, "%d", i);
        assert_true(ignis_counter_value(ignis_counter_vec_with(k.v, s)) == THREADS * ITER / 50);
    }
    ignis_registry_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(counter_counts_and_ignores_decrements),
        cmocka_unit_test(counter_without_total_suffix_gets_it),
        cmocka_unit_test(gauge_moves_both_ways),
        cmocka_unit_test(histogram_buckets_are_cumulative),
        cmocka_unit_test(histogram_custom_buckets_and_errors),
        cmocka_unit_test(vector_children_are_reused),
        cmocka_unit_test(vector_bound_refuses_and_counts),
        cmocka_unit_test(registration_errors),
        cmocka_unit_test(unregister_frees_the_name),
        cmocka_unit_test(info_exposes_its_labels),
        cmocka_unit_test(collectors_run_after_families),
        cmocka_unit_test(families_are_sorted_by_name),
        cmocka_unit_test(default_registry_is_one),
        cmocka_unit_test(process_collector_reports),
        cmocka_unit_test(concurrent_updates_are_exact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
