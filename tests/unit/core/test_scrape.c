/* tests/unit/core/test_scrape.c — the scrape manager's ingest path against the real
 * `mem` storage plugin (loaded through its ops table): samples and synthetic series,
 * staleness markers, failed and over-limit scrapes, honor_labels, honor_timestamps and
 * track_timestamps_staleness, metric relabeling, label limits, parse errors, a removed
 * target; and the schedule's timestamp alignment and offsets. */
#include <config.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/scrape_int.h"
#include "tests/unit/testhost.h"

#define STALE_BITS 0x7ff0000000000002ull

struct env {
    struct testhost *th;
    const struct ignis_plugin *mem;
    const struct ignis_storage_ops *st;
    void *inst;
    struct ig_scrape m;
    struct pool p;
    struct target t;
    struct ignis_label tl[2];
};

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof *e);
    char path[4096];
    snprintf(path, sizeof path, "%s/plugins/storage/mem/.libs/mem.so",
             getenv("top_builddir") ? getenv("top_builddir") : ".");
    void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!dl) {
        fprintf(stderr, "cannot load %s: %s\n", path, dlerror());
        return -1;
    }
    e->mem = dlsym(dl, "ignis_plugin");
    e->st = e->mem->ops;
    e->th = testhost_new("mem");
    struct ignis_config *cfg = ignis_config_new(e->mem->options, "test");
    char err[256];
    if (e->st->create(testhost_host(e->th), cfg, &e->inst, err, sizeof err) != 0) {
        fprintf(stderr, "create: %s\n", err);
        return -1;
    }
    ignis_config_free(cfg);
    e->m.st = e->st;
    e->m.st_inst = e->inst;
    e->p.mgr = &e->m;
    e->p.job = "job1";
    e->p.honor_timestamps = true;
    e->p.relabel = ig_relabel_new(NULL, 0, IG_RELABEL_NAMES_UTF8, err, sizeof err);
    e->p.metric_relabel = ig_relabel_new(NULL, 0, IG_RELABEL_NAMES_UTF8, err, sizeof err);
    e->tl[0] = ignis_label_make("instance", "host:9100");
    e->tl[1] = ignis_label_make("job", "job1");
    e->t.pool = &e->p;
    e->t.labels = e->tl;
    e->t.nlabels = 2;
    pthread_mutex_init(&e->t.meta_mu, NULL);
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    ig_scrape_cache_free(&e->t.cache);
    ig_scrape_meta_free(&e->t);
    ig_buf_free(&e->t.body);
    ig_relabel_free(e->p.relabel);
    ig_relabel_free(e->p.metric_relabel);
    e->st->destroy(e->inst);
    testhost_free(e->th);
    free(e);
    return 0;
}

/* Runs one ingest job for body at ts (status 200 unless told). */
static void scrape(struct env *e, const char *body, int64_t ts, int status)
{
    e->t.body.len = 0;
    ig_buf_reserve(&e->t.body, strlen(body) + 1);
    memcpy(e->t.body.data, body, strlen(body));
    e->t.body.len = strlen(body);
    snprintf(e->t.content_type, sizeof e->t.content_type, "text/plain; version=0.0.4");
    e->t.http_status = status;
    e->t.http_error[0] = '\0';
    e->t.http_seconds = 0.25;
    e->t.sched_ts = ts;
    e->t.final_stale = false;
    ig_scrape_ingest_work(&e->t);
}

/* The samples of the series whose labels, written as {a="b",...} with __name__ first
 * as NAME{...}, equal want. Returns the count and fills t/v. */
static size_t samples(struct env *e, const char *want, int64_t *ts, double *vs, size_t cap)
{
    struct ignis_querier *q = e->st->querier(e->inst, INT64_MIN / 2, INT64_MAX / 2);
    struct ignis_matcher m;
    char err[128];
    ignis_matcher_init(&m, IGNIS_MATCH_RE, "__name__", 8, ".+", 2, err, sizeof err);
    struct ignis_series_set *set;
    assert_int_equal(e->st->select(q, &m, 1, NULL, &set), 0);
    struct ignis_series s;
    size_t n = 0;
    while (e->st->set_next(set, &s) == 1) {
        char buf[1024];
        size_t k = 0;
        for (size_t i = 0; i < s.nlabels; i++) {
            if (i == 0) {
                k += (size_t)snprintf(buf + k, sizeof buf - k, "%.*s{", (int)s.labels[i].value_len,
                                      s.labels[i].value);
                continue;
            }
            k += (size_t)snprintf(buf + k, sizeof buf - k, "%s%.*s=\"%.*s\"", i > 1 ? "," : "",
                                  (int)s.labels[i].name_len, s.labels[i].name,
                                  (int)s.labels[i].value_len, s.labels[i].value);
        }
        snprintf(buf + k, sizeof buf - k, "}");
        if (strcmp(buf, want) != 0)
            continue;
        struct ignis_sample_batch b = {ts, vs, cap};
        long got = e->st->set_samples(set, INT64_MIN / 2, INT64_MAX / 2, &b);
        n = got > 0 ? (size_t)got : 0;
    }
    e->st->set_close(set);
    ignis_matcher_clear(&m);
    e->st->querier_close(q);
    return n;
}

static bool is_stale(double v)
{
    uint64_t b;
    memcpy(&b, &v, sizeof b);
    return b == STALE_BITS;
}

/* The last value of a series. */
static double last(struct env *e, const char *series)
{
    int64_t ts[64];
    double vs[64];
    size_t n = samples(e, series, ts, vs, 64);
    if (n == 0)
        fail_msg("no samples for %s", series);
    return vs[n - 1];
}

#define UP "up{instance=\"host:9100\",job=\"job1\"}"
#define SCRAPED "scrape_samples_scraped{instance=\"host:9100\",job=\"job1\"}"
#define POST "scrape_samples_post_metric_relabeling{instance=\"host:9100\",job=\"job1\"}"
#define ADDED "scrape_series_added{instance=\"host:9100\",job=\"job1\"}"
#define DURATION "scrape_duration_seconds{instance=\"host:9100\",job=\"job1\"}"

static void test_samples_and_synthetic_series(void **state)
{
    struct env *e = *state;
    scrape(e, "# TYPE a gauge\na 1\nb{x=\"y\"} 2\n", 1000, 200);
    assert_true(e->t.job_ok);
    int64_t ts[8];
    double vs[8];
    assert_int_equal(samples(e, "a{instance=\"host:9100\",job=\"job1\"}", ts, vs, 8), 1);
    assert_int_equal(ts[0], 1000);
    assert_true(vs[0] == 1.0);
    assert_true(last(e, "b{instance=\"host:9100\",job=\"job1\",x=\"y\"}") == 2.0);
    assert_true(last(e, UP) == 1.0);
    assert_true(last(e, SCRAPED) == 2.0);
    assert_true(last(e, POST) == 2.0);
    assert_true(last(e, ADDED) == 2.0);
    assert_true(last(e, DURATION) == 0.25); /* no start time known: the fetch's */
    /* Metadata is kept per family. */
    assert_int_equal(e->t.nmeta, 1);
    assert_string_equal(e->t.meta[0].family, "a");
    assert_int_equal(e->t.meta[0].type, IGNIS_METRIC_GAUGE);
    /* Steady state: the same series hit the cache; nothing new is added. */
    scrape(e, "# TYPE a gauge\na 3\nb{x=\"y\"} 4\n", 2000, 200);
    assert_true(last(e, ADDED) == 0.0);
    assert_int_equal(e->t.cache.n, 2);
    assert_true(last(e, "a{instance=\"host:9100\",job=\"job1\"}") == 3.0);
}

static void test_vanished_series_go_stale(void **state)
{
    struct env *e = *state;
    scrape(e, "a 1\nb 2\n", 1000, 200);
    scrape(e, "a 3\n", 2000, 200);
    int64_t ts[8];
    double vs[8];
    size_t n = samples(e, "b{instance=\"host:9100\",job=\"job1\"}", ts, vs, 8);
    assert_int_equal(n, 2);
    assert_int_equal(ts[1], 2000);
    assert_true(is_stale(vs[1]));
    assert_int_equal(e->t.cache.n, 1);
    /* It comes back as a new series. */
    scrape(e, "a 4\nb 5\n", 3000, 200);
    assert_true(last(e, ADDED) == 1.0);
    assert_true(last(e, "b{instance=\"host:9100\",job=\"job1\"}") == 5.0);
}

/* The cache predicts each line from the previous scrape's order; bodies whose order
 * changes, with series inserted and removed mid-body, past the index's first growth,
 * must still put every value on its own series. */
static void test_cache_order_changes(void **state)
{
    struct env *e = *state;
    enum { N = 700 };
    size_t cap = N * 40;
    char *body = malloc(cap);
    /* scrape k: series i (0..N-1) in order rotated by 37*k, skipping i % 5 == k % 5 for
     * k >= 1; value = k * 10000 + i */
    for (int k = 0; k < 4; k++) {
        size_t len = 0;
        for (int j = 0; j < N; j++) {
            int i = (j + 37 * k) % N;
            if (k >= 1 && i % 5 == k % 5)
                continue;
            len += (size_t)snprintf(body + len, cap - len, "m{i=\"%d\"} %d\n", i, k * 10000 + i);
        }
        scrape(e, body, 1000 * (k + 1), 200);
        assert_true(e->t.job_ok);
        assert_int_equal(e->t.cache.n, k >= 1 ? N - N / 5 : N);
        for (int i = 0; i < N; i += 7) {
            char name[64];
            snprintf(name, sizeof name, "m{i=\"%d\",instance=\"host:9100\",job=\"job1\"}", i);
            double v = last(e, name);
            if (k >= 1 && i % 5 == k % 5)
                assert_true(is_stale(v));
            else if (v != (double)(k * 10000 + i))
                fail_msg("scrape %d: series %d holds %g", k, i, v);
        }
    }
    free(body);
}

static void test_failed_scrape_marks_everything_stale(void **state)
{
    struct env *e = *state;
    scrape(e, "a 1\n", 1000, 200);
    scrape(e, "a 2\n", 2000, 500);
    assert_false(e->t.job_ok);
    assert_string_equal(e->t.job_error, "server returned HTTP status 500");
    assert_true(last(e, UP) == 0.0);
    assert_true(last(e, SCRAPED) == 0.0);
    int64_t ts[8];
    double vs[8];
    size_t n = samples(e, "a{instance=\"host:9100\",job=\"job1\"}", ts, vs, 8);
    assert_int_equal(n, 2);
    assert_true(is_stale(vs[1])); /* the failed scrape's value 2 was not appended */
    assert_int_equal(e->t.cache.n, 0);
}

static void test_sample_limit_fails_the_scrape(void **state)
{
    struct env *e = *state;
    e->p.sample_limit = 2;
    scrape(e, "a 1\nb 1\n", 1000, 200);
    assert_true(e->t.job_ok);
    scrape(e, "a 2\nb 2\nc 2\n", 2000, 200);
    assert_false(e->t.job_ok);
    assert_string_equal(e->t.job_error, "sample limit exceeded");
    assert_true(last(e, UP) == 0.0);
    int64_t ts[8];
    double vs[8];
    assert_int_equal(samples(e, "c{instance=\"host:9100\",job=\"job1\"}", ts, vs, 8), 0);
    assert_true(is_stale(last(e, "a{instance=\"host:9100\",job=\"job1\"}")));
}

static void test_honor_labels(void **state)
{
    struct env *e = *state;
    scrape(e, "m{job=\"other\",instance=\"x\"} 1\n", 1000, 200);
    assert_true(last(e, "m{exported_instance=\"x\",exported_job=\"other\",instance=\"host:9100\",job=\"job1\"}") == 1.0);
    e->p.honor_labels = true;
    ig_scrape_cache_free(&e->t.cache);
    scrape(e, "n{job=\"other\"} 1\n", 2000, 200);
    assert_true(last(e, "n{instance=\"host:9100\",job=\"other\"}") == 1.0);
}

static void test_exposed_timestamps(void **state)
{
    struct env *e = *state;
    scrape(e, "a 1 500\nb 1\n", 1000, 200);
    int64_t ts[8];
    double vs[8];
    assert_int_equal(samples(e, "a{instance=\"host:9100\",job=\"job1\"}", ts, vs, 8), 1);
    assert_int_equal(ts[0], 500);
    /* A series with its own timestamps gets no staleness marker by default... */
    scrape(e, "b 2\n", 2000, 200);
    assert_int_equal(samples(e, "a{instance=\"host:9100\",job=\"job1\"}", ts, vs, 8), 1);
    /* ...unless track_timestamps_staleness is on. */
    e->p.track_ts_staleness = true;
    scrape(e, "b 3\nc 1 1500\n", 3000, 200);
    scrape(e, "b 4\n", 4000, 200);
    assert_int_equal(samples(e, "c{instance=\"host:9100\",job=\"job1\"}", ts, vs, 8), 2);
    assert_true(is_stale(vs[1]));
    /* honor_timestamps off: the scrape's time. */
    e->p.honor_timestamps = false;
    scrape(e, "d 1 100\n", 5000, 200);
    assert_int_equal(samples(e, "d{instance=\"host:9100\",job=\"job1\"}", ts, vs, 8), 1);
    assert_int_equal(ts[0], 5000);
}

static void test_metric_relabeling_drops(void **state)
{
    struct env *e = *state;
    char err[256];
    const char *src[] = {"__name__"};
    struct ig_relabel_spec rule = {.action = IG_RELABEL_DROP, .source_labels = src,
                                   .nsource_labels = 1, .regex = "drop_.*"};
    ig_relabel_free(e->p.metric_relabel);
    e->p.metric_relabel = ig_relabel_new(&rule, 1, IG_RELABEL_NAMES_UTF8, err, sizeof err);
    assert_non_null(e->p.metric_relabel);
    scrape(e, "keep_me 1\ndrop_me 2\n", 1000, 200);
    assert_true(last(e, SCRAPED) == 2.0);
    assert_true(last(e, POST) == 1.0);
    int64_t ts[8];
    double vs[8];
    assert_int_equal(samples(e, "drop_me{instance=\"host:9100\",job=\"job1\"}", ts, vs, 8), 0);
    scrape(e, "keep_me 1\ndrop_me 2\n", 2000, 200);
    assert_true(last(e, POST) == 1.0);
    assert_int_equal(e->t.cache.n, 2); /* the dropped one is remembered as dropped */
}

static void test_label_limits(void **state)
{
    struct env *e = *state;
    e->p.label_limit = 3;
    scrape(e, "a{x=\"1\"} 1\n", 1000, 200); /* __name__, x, instance, job = 4 */
    assert_false(e->t.job_ok);
    assert_non_null(strstr(e->t.job_error, "label_limit exceeded (metric: a, number of labels: 4, limit: 3)"));
    e->p.label_limit = 0;
    e->p.label_value_len = 3;
    scrape(e, "a{x=\"long\"} 1\n", 2000, 200);
    assert_false(e->t.job_ok);
    assert_non_null(strstr(e->t.job_error, "label_value_length_limit exceeded"));
    e->p.label_value_len = 0;
    e->p.label_name_len = 3;
    scrape(e, "a{long=\"1\"} 1\n", 3000, 200);
    assert_false(e->t.job_ok);
    assert_non_null(strstr(e->t.job_error, "label_name_length_limit exceeded"));
}

static void test_parse_error_marks_down(void **state)
{
    struct env *e = *state;
    scrape(e, "a 1\nb{ 2\n", 1000, 200);
    assert_false(e->t.job_ok);
    assert_non_null(strstr(e->t.job_error, "line 2"));
    assert_true(last(e, UP) == 0.0);
    int64_t ts[8];
    double vs[8];
    assert_int_equal(samples(e, "a{instance=\"host:9100\",job=\"job1\"}", ts, vs, 8), 0);
}

static void test_removed_target_goes_stale(void **state)
{
    struct env *e = *state;
    scrape(e, "a 1\n", 1000, 200);
    e->t.final_stale = true;
    e->t.sched_ts = 1500;
    ig_scrape_ingest_work(&e->t);
    assert_true(is_stale(last(e, "a{instance=\"host:9100\",job=\"job1\"}")));
    assert_true(is_stale(last(e, UP)));
    assert_true(is_stale(last(e, SCRAPED)));
}

static void count_ex(void *arg, const struct ignis_label *ls, size_t n, const struct ignis_exemplar *e)
{
    (void)ls;
    (void)n;
    if (e->value == 0.5)
        ++*(int *)arg;
}

/* Exemplars are kept on every scrape, not only when a series is new. */
static void test_exemplars_every_scrape(void **state)
{
    struct env *e = *state;
    e->st->destroy(e->inst);
    struct ignis_config *cfg = ignis_config_new(e->mem->options, "test");
    char err[256];
    assert_int_equal(ignis_config_set(cfg, "max_exemplars", "10", "test", err, sizeof err), 0);
    assert_int_equal(e->st->create(testhost_host(e->th), cfg, &e->inst, err, sizeof err), 0);
    ignis_config_free(cfg);
    e->m.st_inst = e->inst;
    char body[256];
    for (int i = 1; i <= 2; i++) {
        snprintf(body, sizeof body,
                 "# TYPE c counter\nc_total 1 # {trace_id=\"t%d\"} 0.5 %d.0\n# EOF\n", i, i);
        e->t.body.len = 0;
        ig_buf_reserve(&e->t.body, strlen(body) + 1);
        memcpy(e->t.body.data, body, strlen(body));
        e->t.body.len = strlen(body);
        snprintf(e->t.content_type, sizeof e->t.content_type,
                 "application/openmetrics-text; version=1.0.0");
        e->t.http_status = 200;
        e->t.http_error[0] = '\0';
        e->t.sched_ts = 1000 * i + 5000;
        ig_scrape_ingest_work(&e->t);
        assert_true(e->t.job_ok);
    }
    struct ignis_matcher m;
    ignis_matcher_init(&m, IGNIS_MATCH_EQ, "__name__", 8, "c_total", 7, err, sizeof err);
    int n = 0;
    assert_int_equal(e->st->exemplars(e->inst, &m, 1, 0, 100000, count_ex, &n), 0);
    ignis_matcher_clear(&m);
    assert_int_equal(n, 2);
}

static void test_alignment_and_offsets(void **state)
{
    (void)state;
    /* Within 2 ms of the schedule: snapped to it; outside: the real time. */
    assert_int_equal(ig_scrape_align(11001, 10000, 1000, 2), 11000);
    assert_int_equal(ig_scrape_align(10999, 10000, 1000, 2), 11000);
    assert_int_equal(ig_scrape_align(11003, 10000, 1000, 2), 11003);
    assert_int_equal(ig_scrape_align(11001, 0, 1000, 2), 11001);
    assert_int_equal(ig_scrape_align(11001, 10000, 1000, 0), 11001);
    /* Offsets are stable, inside the interval, and spread targets. */
    int64_t seen[16] = {0};
    for (uint64_t h = 1; h <= 1000; h++) {
        int64_t o = ig_scrape_offset(h * 0x9e3779b97f4a7c15ull, 42, 15000);
        assert_true(o >= 0 && o < 15000);
        assert_int_equal(o, ig_scrape_offset(h * 0x9e3779b97f4a7c15ull, 42, 15000));
        seen[o * 16 / 15000]++;
    }
    for (int i = 0; i < 16; i++)
        assert_true(seen[i] > 20); /* roughly even over the interval */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_samples_and_synthetic_series, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vanished_series_go_stale, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cache_order_changes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_scrape_marks_everything_stale, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sample_limit_fails_the_scrape, setup, teardown),
        cmocka_unit_test_setup_teardown(test_honor_labels, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exposed_timestamps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metric_relabeling_drops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_label_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_error_marks_down, setup, teardown),
        cmocka_unit_test_setup_teardown(test_removed_target_goes_stale, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exemplars_every_scrape, setup, teardown),
        cmocka_unit_test(test_alignment_and_offsets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
