/* tests/unit/sdk/test_expose_golden.c — whole expositions compared with the files in
 * tests/unit/sdk/golden/: a registry of every metric type, UTF-8 names under each
 * escaping scheme, and the sink's special cases, in text 0.0.4 and OpenMetrics.
 * "_created" values (the wall clock) are replaced by <created> before comparing.
 * IGNIS_UPDATE_GOLDEN=1 rewrites the files instead (review the diff before committing). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/buffer.h>

#include <ignis/expose.h>
#include <ignis/metrics.h>

#ifndef GOLDEN_DIR
#error GOLDEN_DIR must be defined
#endif

static char *render(struct ignis_registry *r, enum ignis_expose_kind k, enum ignis_escaping e)
{
    struct evbuffer *b = evbuffer_new();
    struct ignis_expose_format f;
    ignis_expose_format_init(&f, k, e);
    struct ignis_sink *s = ignis_sink_writer_new(b, &f);
    assert_non_null(s);
    assert_int_equal(ignis_registry_write(r, s), 0);
    assert_int_equal(ignis_sink_writer_finish(s), 0);
    size_t n = evbuffer_get_length(b);
    char *raw = malloc(n + 1);
    evbuffer_remove(b, raw, n);
    raw[n] = '\0';
    evbuffer_free(b);
    /* mask _created values */
    char *out = malloc(2 * n + 64);
    size_t o = 0;
    for (char *line = raw; *line;) {
        char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line + 1) : strlen(line);
        char *sp = NULL;
        if (line[0] != '#') {
            char *c = strstr(line, "_created");
            if (c && c < line + len && (c[8] == ' ' || c[8] == '{' || c[8] == '"'))
                for (char *p = line + len - 1; p > line; p--)
                    if (*p == ' ') {
                        sp = p;
                        break;
                    }
        }
        if (sp) {
            size_t head = (size_t)(sp - line + 1);
            memcpy(out + o, line, head);
            o += head;
            memcpy(out + o, "<created>\n", 10);
            o += 10;
        } else {
            memcpy(out + o, line, len);
            o += len;
        }
        line += len;
    }
    out[o] = '\0';
    free(raw);
    return out;
}

static void check(const char *file, const char *got)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", GOLDEN_DIR, file);
    const char *upd = getenv("IGNIS_UPDATE_GOLDEN");
    if (upd && *upd == '1') {
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs(got, f);
        fclose(f);
        return;
    }
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("cannot open golden %s (IGNIS_UPDATE_GOLDEN=1 creates it)", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *want = malloc((size_t)n + 1);
    size_t rd = fread(want, 1, (size_t)n, f);
    want[rd] = '\0';
    fclose(f);
    if (strcmp(want, got) != 0) {
        size_t i = 0, line = 1;
        while (want[i] && want[i] == got[i]) {
            if (want[i] == '\n')
                line++;
            i++;
        }
        fail_msg("%s differs at line %zu:\n--- got:\n%s", file, line, got);
    }
    free(want);
}

static int64_t fixed_clock(void *arg)
{
    (void)arg;
    return 0;
}

#define OPTS(...) (&(struct ignis_metric_opts){__VA_ARGS__})

static void registry_golden(void **state)
{
    (void)state;
    struct ignis_registry *r = ignis_registry_new();
    struct ignis_counter *c =
        ignis_counter_new(r, OPTS(.name = "http_requests_total", .help = "The total number of "
                                  "HTTP requests."), NULL, 0);
    ignis_counter_add(c, 1027);
    struct ignis_counter_vec *cv = ignis_counter_vec_new(
        r, OPTS(.name = "app_errors_total", .help = "Errors by message; help with a backslash \\ "
                "and a\nnewline.", .label_names = (const char *[]){"path", "error"}, .nlabels = 2),
        NULL, 0);
    ignis_counter_inc(ignis_counter_vec_with(cv, "C:\\DIR\\FILE.TXT",
                                             "Cannot find file:\n\"FILE.TXT\""));
    ignis_counter_add(ignis_counter_vec_with(cv, "/tmp/ü", ""), 2.5);
    struct ignis_gauge_vec *gv = ignis_gauge_vec_new(
        r, OPTS(.name = "app_values", .help = "Special and ordinary floats.",
                .label_names = (const char *[]){"case"}, .nlabels = 1), NULL, 0);
    struct { const char *k; double v; } vals[] = {
        {"nan", NAN}, {"inf", INFINITY}, {"neginf", -INFINITY}, {"zero", 0}, {"negzero", -0.0},
        {"one", 1}, {"small", 1.5e-7}, {"big", 1.7560473e+07}, {"million", 1e6},
        {"third", 1.0 / 3}, {"max", 1.7976931348623157e308}, {"neg", -12.47},
    };
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++)
        ignis_gauge_set(ignis_gauge_vec_with(gv, vals[i].k), vals[i].v);
    struct ignis_label consts[] = {ignis_label_make("service", "api")};
    struct ignis_gauge *g = ignis_gauge_new(
        r, OPTS(.name = "app_queue_length", .help = "Items waiting.", .const_labels = consts,
                .nconst = 1), NULL, 0);
    ignis_gauge_set(g, 3);
    struct ignis_histogram *h = ignis_histogram_new(
        r, OPTS(.name = "http_request_duration_seconds", .help = "A histogram of the request "
                "duration.", .unit = "seconds"), NULL, 0);
    double obs[] = {0.003, 0.02, 0.02, 0.07, 0.3, 0.3, 0.8, 1.2, 4, 12.5};
    for (size_t i = 0; i < sizeof obs / sizeof obs[0]; i++)
        ignis_histogram_observe(h, obs[i]);
    double b[] = {0.05, 0.1, 0.2, 0.5, 1};
    struct ignis_histogram_vec *hv = ignis_histogram_vec_new(
        r, OPTS(.name = "app_payload_bytes", .help = "Payload sizes.", .unit = "bytes",
                .buckets = b, .nbuckets = 5, .label_names = (const char *[]){"method"},
                .nlabels = 1), NULL, 0);
    ignis_histogram_observe(ignis_histogram_vec_with(hv, "get"), 0.15);
    ignis_histogram_vec_with(hv, "post");
    static const struct ignis_quantile q[] = {{0.01, 0.001}, {0.5, 0.05}, {0.9, 0.01},
                                              {0.99, 0.001}};
    struct ignis_summary *s = ignis_summary_new(
        r, OPTS(.name = "rpc_duration_seconds", .help = "A summary of the RPC duration in "
                "seconds.", .quantiles = q, .nquantiles = 4, .clock_ms = fixed_clock), NULL, 0);
    for (int i = 1; i <= 1000; i++)
        ignis_summary_observe(s, i * 0.001);
    struct ignis_summary *s2 = ignis_summary_new(
        r, OPTS(.name = "app_batch_size", .help = "Batch sizes (no quantiles)."), NULL, 0);
    ignis_summary_observe(s2, 12);
    ignis_summary_observe(s2, 30);
    struct ignis_label info[] = {ignis_label_make("version", "1.2.3"),
                                 ignis_label_make("revision", "3f2a")};
    assert_int_equal(ignis_info_new(r, OPTS(.name = "app_build", .help = "Build information.",
                                            .const_labels = info, .nconst = 2), NULL, 0), 0);
    char *t = render(r, IGNIS_EXPOSE_TEXT_0_0_4, IGNIS_ESCAPE_UNDERSCORES);
    check("registry.text", t);
    free(t);
    t = render(r, IGNIS_EXPOSE_OPENMETRICS_1_0_0, IGNIS_ESCAPE_UNDERSCORES);
    check("registry.om", t);
    free(t);
    ignis_registry_free(r);
}

/* Families whose names are outside the legacy sets. */
static int collect_utf8(void *arg, struct ignis_sink *s)
{
    (void)arg;
    int rc = 0;
    rc |= ignis_sink_family(s, "my.dotted.metric", IGNIS_METRIC_GAUGE, "A dotted gauge.", "");
    struct ignis_label l1[] = {ignis_label_make("error.message", "Not Found"),
                               ignis_label_make("a-b", "x\"y"), ignis_label_make("ok", "1")};
    rc |= ignis_sink_sample(s, "", l1, 3, 1, IGNIS_NO_TIMESTAMP);
    rc |= ignis_sink_family(s, "http.server.requests", IGNIS_METRIC_COUNTER, "Requests.", "");
    struct ignis_label l2[] = {ignis_label_make("http.status", "200")};
    rc |= ignis_sink_sample(s, "_total", l2, 1, 7, IGNIS_NO_TIMESTAMP);
    rc |= ignis_sink_family(s, "legacy_reading", IGNIS_METRIC_GAUGE, "Legacy name, odd labels.",
                            "");
    struct ignis_label l3[] = {ignis_label_make("tschüß", "ja"), ignis_label_make("9lives", "x"),
                               ignis_label_make("with_under", "y")};
    rc |= ignis_sink_sample(s, "", l3, 3, 2, IGNIS_NO_TIMESTAMP);
    rc |= ignis_sink_family(s, "req.latency_seconds", IGNIS_METRIC_HISTOGRAM, "Latency.",
                            "seconds");
    struct ignis_label l4[] = {ignis_label_make("le", "0.5")};
    rc |= ignis_sink_sample(s, "_bucket", l4, 1, 1, IGNIS_NO_TIMESTAMP);
    l4[0] = ignis_label_make("le", "+Inf");
    rc |= ignis_sink_sample(s, "_bucket", l4, 1, 2, IGNIS_NO_TIMESTAMP);
    rc |= ignis_sink_sample(s, "_count", NULL, 0, 2, IGNIS_NO_TIMESTAMP);
    rc |= ignis_sink_sample(s, "_sum", NULL, 0, 1.25, IGNIS_NO_TIMESTAMP);
    rc |= ignis_sink_family(s, "quote\"back\\slash", IGNIS_METRIC_GAUGE, "Escapes in a name.",
                            "");
    rc |= ignis_sink_sample(s, "", NULL, 0, 3, IGNIS_NO_TIMESTAMP);
    return rc;
}

static void utf8_names_golden(void **state)
{
    (void)state;
    struct ignis_registry *r = ignis_registry_new();
    assert_int_equal(ignis_registry_add_collector(r, collect_utf8, NULL), 0);
    const struct { enum ignis_escaping e; const char *n; } schemes[] = {
        {IGNIS_ESCAPE_UNDERSCORES, "underscores"}, {IGNIS_ESCAPE_DOTS, "dots"},
        {IGNIS_ESCAPE_VALUES, "values"}, {IGNIS_ESCAPE_ALLOW_UTF8, "allow-utf-8"}};
    for (int i = 0; i < 4; i++) {
        char file[64];
        char *t = render(r, IGNIS_EXPOSE_TEXT_0_0_4, schemes[i].e);
        snprintf(file, sizeof file, "utf8-%s.text", schemes[i].n);
        check(file, t);
        free(t);
        t = render(r, IGNIS_EXPOSE_OPENMETRICS_1_0_0, schemes[i].e);
        snprintf(file, sizeof file, "utf8-%s.om", schemes[i].n);
        check(file, t);
        free(t);
    }
    ignis_registry_free(r);
}

/* What only collectors write: timestamps, statesets, gauge histograms, unknowns, units. */
static int collect_special(void *arg, struct ignis_sink *s)
{
    (void)arg;
    int rc = 0;
    rc |= ignis_sink_family(s, "something_weird", IGNIS_METRIC_GAUGE, "Before the epoch.", "");
    struct ignis_label l = ignis_label_make("problem", "division by zero");
    rc |= ignis_sink_sample(s, "", &l, 1, INFINITY, -3982045);
    rc |= ignis_sink_family(s, "msdos_file_access_time_seconds", IGNIS_METRIC_GAUGE,
                            "Access time.", "seconds");
    rc |= ignis_sink_sample(s, "", NULL, 0, 1.458255915e9, 1395066363000);
    rc |= ignis_sink_family(s, "door", IGNIS_METRIC_STATESET, "Door states.", "");
    const char *st[] = {"closed", "locked", "open"};
    for (int i = 0; i < 3; i++) {
        struct ignis_label ls[] = {ignis_label_make("building", "b1"),
                                   ignis_label_make("door", st[i])};
        rc |= ignis_sink_sample(s, "", ls, 2, i == 2, IGNIS_NO_TIMESTAMP);
    }
    rc |= ignis_sink_family(s, "queue_wait_seconds", IGNIS_METRIC_GAUGEHISTOGRAM,
                            "Waiting time of queued items.", "seconds");
    const char *le[] = {"0.01", "0.1", "1", "+Inf"};
    for (int i = 0; i < 4; i++) {
        struct ignis_label ls = ignis_label_make("le", le[i]);
        rc |= ignis_sink_sample(s, "_bucket", &ls, 1, 20 + 5 * i, IGNIS_NO_TIMESTAMP);
    }
    rc |= ignis_sink_sample(s, "_gcount", NULL, 0, 35, IGNIS_NO_TIMESTAMP);
    rc |= ignis_sink_sample(s, "_gsum", NULL, 0, 3289.3, IGNIS_NO_TIMESTAMP);
    rc |= ignis_sink_family(s, "legacy_untyped_thing", IGNIS_METRIC_UNKNOWN, "No type known.", "");
    rc |= ignis_sink_sample(s, "", NULL, 0, 42.23, 1520879607789);
    rc |= ignis_sink_family(s, "cpu_seconds_total", IGNIS_METRIC_COUNTER, "CPU time.", "seconds");
    rc |= ignis_sink_sample(s, "", NULL, 0, 4.20072246e+06, IGNIS_NO_TIMESTAMP);
    rc |= ignis_sink_sample(s, "_created", NULL, 0, 1605281325.5, IGNIS_NO_TIMESTAMP);
    return rc;
}

static void special_golden(void **state)
{
    (void)state;
    struct ignis_registry *r = ignis_registry_new();
    assert_int_equal(ignis_registry_add_collector(r, collect_special, NULL), 0);
    char *t = render(r, IGNIS_EXPOSE_TEXT_0_0_4, IGNIS_ESCAPE_UNDERSCORES);
    check("special.text", t);
    free(t);
    t = render(r, IGNIS_EXPOSE_OPENMETRICS_1_0_0, IGNIS_ESCAPE_UNDERSCORES);
    check("special.om", t);
    free(t);
    ignis_registry_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(registry_golden),
        cmocka_unit_test(utf8_names_golden),
        cmocka_unit_test(special_golden),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
