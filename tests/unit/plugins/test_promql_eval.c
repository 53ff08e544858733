/* tests/unit/plugins/test_promql_eval.c — the PromQL evaluator and the plugin's ops table
 * (plugins/query/promql/eval.c, func.c, engine.c, plugin.c) over a small in-test storage
 * that implements the storage ops a query uses: lookback and staleness, rate
 * extrapolation, aggregation order, vector matching and its errors, subquery alignment,
 * delayed __name__ removal, limits, cancellation, big range functions on two threads and
 * the ops' result shapes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ignis/plugin.h>
#include "engine.h"
#include "testhost.h"

/* ---- a tiny storage ------------------------------------------------------------------ */

#define MAXS 16
#define MAXP 64

struct tseries {
    struct ignis_label ls[4];
    size_t nls;
    int64_t t[MAXP];
    double v[MAXP];
    size_t n;
};

struct tstore {
    struct tseries s[MAXS];
    size_t n;
    int selects;
};

struct ignis_querier {
    struct tstore *st;
};

struct ignis_series_set {
    struct tstore *st;
    size_t idx[MAXS];
    size_t n, cur, pos;
    bool started;
};

static struct ignis_querier *t_querier(void *inst, int64_t mint, int64_t maxt)
{
    (void)mint;
    (void)maxt;
    struct ignis_querier *q = calloc(1, sizeof *q);
    q->st = inst;
    return q;
}

static void t_querier_close(struct ignis_querier *q)
{
    free(q);
}

static int t_select(struct ignis_querier *q, const struct ignis_matcher *ms, size_t n,
                    const struct ignis_select_hints *h, struct ignis_series_set **out)
{
    (void)h;
    struct ignis_series_set *set = calloc(1, sizeof *set);
    set->st = q->st;
    __atomic_fetch_add(&q->st->selects, 1, __ATOMIC_RELAXED);
    struct ignis_selector sel = {.matchers = (struct ignis_matcher *)ms, .n = n};
    for (size_t i = 0; i < q->st->n; i++)
        if (ignis_selector_matches(&sel, q->st->s[i].ls, q->st->s[i].nls))
            set->idx[set->n++] = i;
    *out = set;
    return 0;
}

static int t_set_next(struct ignis_series_set *set, struct ignis_series *s)
{
    if (set->started)
        set->cur++;
    set->started = true;
    set->pos = 0;
    if (set->cur >= set->n)
        return 0;
    struct tseries *ts = &set->st->s[set->idx[set->cur]];
    s->labels = ts->ls;
    s->nlabels = ts->nls;
    s->ref = set->idx[set->cur] + 1;
    return 1;
}

/* hands out at most 3 samples per call, to exercise batching */
static long t_set_samples(struct ignis_series_set *set, int64_t mint, int64_t maxt,
                          struct ignis_sample_batch *b)
{
    struct tseries *ts = &set->st->s[set->idx[set->cur]];
    size_t k = 0;
    size_t cap = b->cap < 3 ? b->cap : 3;
    while (set->pos < ts->n && k < cap) {
        size_t p = set->pos++;
        if (ts->t[p] < mint || ts->t[p] > maxt)
            continue;
        b->t[k] = ts->t[p];
        b->v[k] = ts->v[p];
        k++;
    }
    return (long)k;
}

static void t_set_close(struct ignis_series_set *set)
{
    free(set);
}

static const struct ignis_storage_ops tops = {
    .size = sizeof tops,
    .querier = t_querier,
    .select = t_select,
    .set_next = t_set_next,
    .set_samples = t_set_samples,
    .set_close = t_set_close,
    .querier_close = t_querier_close,
};

static double stale_nan(void)
{
    uint64_t b = PQ_STALE_BITS;
    double v;
    memcpy(&v, &b, sizeof v);
    return v;
}

/* add("name", "k", "v", NULL) with samples every `step` ms from 0: values in vals. */
static void add(struct tstore *st, const char *name, const char *k, const char *v, int64_t step,
                const double *vals, size_t n)
{
    struct tseries *s = &st->s[st->n++];
    s->ls[s->nls++] = ignis_label_make("__name__", name);
    if (k)
        s->ls[s->nls++] = ignis_label_make(k, v);
    ignis_labels_sort(s->ls, s->nls);
    for (size_t i = 0; i < n; i++) {
        if (isnan(vals[i]) && !pq_is_stale(vals[i]))
            continue; /* NaN (not stale) marks "no sample" here */
        s->t[s->n] = (int64_t)i * step;
        s->v[s->n] = vals[i];
        s->n++;
    }
}

static const struct pq_features all = {true, true, true, true, true, true};
static const struct pq_engine_opts opts = {
    .lookback_ms = 300000, .max_samples = 100000, .timeout_ms = 10000, .subquery_step_ms = 60000};

static struct tstore store;

static int setup(void **state)
{
    (void)state;
    memset(&store, 0, sizeof store);
    return 0;
}

/* Runs q; returns the result (caller frees with pq_res_free). */
static void run(const char *q, int64_t start, int64_t end, int64_t step,
                const struct pq_engine_opts *o, struct pq_res *res)
{
    char err[256];
    struct pq_expr *e = pq_parse(q, strlen(q), &all, err, sizeof err);
    if (!e)
        fail_msg("parse %s: %s", q, err);
    struct pq_exec_in in = {.expr = e,
                            .start = start,
                            .end = end,
                            .step = step,
                            .range = step > 0,
                            .ops = &tops,
                            .storage = &store};
    assert_int_equal(pq_exec(o ? o : &opts, &in, res), 0);
    pq_expr_free(e);
}

/* The value of the single series whose label k has value v (k NULL: the only series). */
static double value_of(const struct pq_res *r, const char *k, const char *v)
{
    for (size_t i = 0; i < r->nseries; i++) {
        const struct ignis_label *l =
            k ? ignis_labels_get(r->series[i].ls, r->series[i].nls, k, strlen(k)) : NULL;
        if (!k || (l && l->value_len == strlen(v) && memcmp(l->value, v, l->value_len) == 0)) {
            assert_int_equal(r->series[i].n, 1);
            return r->series[i].v[0];
        }
    }
    fail_msg("no series %s=%s", k ? k : "", v ? v : "");
    return NAN;
}

#define M 60000

static void test_lookback_and_staleness(void **state)
{
    (void)state;
    const double v[] = {1, 2, stale_nan(), 4};
    add(&store, "m", NULL, NULL, 10000, v, 4);
    struct pq_res r;
    run("m", 15000, 15000, 0, NULL, &r);
    assert_int_equal(r.type, IGNIS_VALUE_VECTOR);
    assert_true(value_of(&r, NULL, NULL) == 2);
    pq_res_free(&r);
    run("m", 25000, 25000, 0, NULL, &r); /* the newest sample is a stale marker */
    assert_int_equal(r.nseries, 0);
    pq_res_free(&r);
    run("m", 30000 + 299999, 30000 + 299999, 0, NULL, &r);
    assert_true(value_of(&r, NULL, NULL) == 4);
    pq_res_free(&r);
    run("m", 30000 + 300000, 30000 + 300000, 0, NULL, &r); /* lookback is left-open */
    assert_int_equal(r.nseries, 0);
    pq_res_free(&r);
}

static void test_rate_extrapolation(void **state)
{
    (void)state;
    /* a counter of 0, 10, 20, ... every 10s; one reset to 0 at 40s (then +10 again) */
    const double v[] = {0, 10, 20, 30, 0, 10, 20};
    add(&store, "c_total", NULL, NULL, 10000, v, 7);
    struct pq_res r;
    /* window (0, 60]: 10 ... 20 with the reset adding back 30: 40 over the 50s sampled;
     * the first sample is 10s (under 1.1 gaps) from the window's start, so the result is
     * extrapolated over all 60s: 40 * 60 / 50 */
    run("increase(c_total[1m])", 60000, 60000, 0, NULL, &r);
    assert_true(fabs(value_of(&r, NULL, NULL) - 48.0) < 1e-9);
    pq_res_free(&r);
    run("rate(c_total[1m])", 60000, 60000, 0, NULL, &r);
    assert_true(fabs(value_of(&r, NULL, NULL) - 0.8) < 1e-9);
    pq_res_free(&r);
    run("resets(c_total[1m])", 60000, 60000, 0, NULL, &r);
    assert_true(value_of(&r, NULL, NULL) == 1);
    pq_res_free(&r);
    run("delta(c_total[25s])", 20000, 20000, 0, NULL, &r); /* 10->20 over 10s, x 25/... */
    assert_int_equal(r.nseries, 1);
    pq_res_free(&r);
}

static void test_aggregation_and_topk_order(void **state)
{
    (void)state;
    const double a[] = {1}, b[] = {5}, c[] = {3};
    add(&store, "x", "i", "a", 10000, a, 1);
    add(&store, "x", "i", "b", 10000, b, 1);
    add(&store, "x", "i", "c", 10000, c, 1);
    struct pq_res r;
    run("sum(x)", 0, 0, 0, NULL, &r);
    assert_true(value_of(&r, NULL, NULL) == 9);
    assert_int_equal(r.series[0].nls, 0); /* sum drops every label */
    pq_res_free(&r);
    run("topk(2, x)", 0, 0, 0, NULL, &r);
    assert_int_equal(r.nseries, 2);
    assert_true(r.series[0].v[0] == 5 && r.series[1].v[0] == 3);
    pq_res_free(&r);
    run("bottomk(1, x)", 0, 0, 0, NULL, &r);
    assert_true(value_of(&r, "i", "a") == 1);
    pq_res_free(&r);
    run("quantile(0.5, x)", 0, 0, 0, NULL, &r);
    assert_true(value_of(&r, NULL, NULL) == 3);
    pq_res_free(&r);
    run("count_values(\"v\", x)", 0, 0, 0, NULL, &r);
    assert_int_equal(r.nseries, 3);
    assert_true(value_of(&r, "v", "5") == 1);
    pq_res_free(&r);
    run("sort_desc(x)", 0, 0, 0, NULL, &r);
    assert_true(r.series[0].v[0] == 5 && r.series[2].v[0] == 1);
    pq_res_free(&r);
}

static void test_vector_matching(void **state)
{
    (void)state;
    const double one[] = {2}, ten[] = {10}, twenty[] = {20};
    add(&store, "req", "job", "a", 10000, ten, 1);
    add(&store, "req", "job", "b", 10000, twenty, 1);
    add(&store, "lim", "job", "a", 10000, one, 1);
    struct pq_res r;
    run("req / on(job) lim", 0, 0, 0, NULL, &r);
    assert_int_equal(r.nseries, 1);
    assert_true(value_of(&r, "job", "a") == 5);
    assert_null(ignis_labels_get(r.series[0].ls, r.series[0].nls, "__name__", 8));
    pq_res_free(&r);
    run("req > 15", 0, 0, 0, NULL, &r); /* filters, keeps the name */
    assert_int_equal(r.nseries, 1);
    assert_non_null(ignis_labels_get(r.series[0].ls, r.series[0].nls, "__name__", 8));
    pq_res_free(&r);
    run("req > bool 15", 0, 0, 0, NULL, &r);
    assert_int_equal(r.nseries, 2);
    pq_res_free(&r);
    run("req or lim", 0, 0, 0, NULL, &r); /* lim{job=a} matches req{job=a}: dropped */
    assert_int_equal(r.nseries, 2);
    pq_res_free(&r);
    run("req + fill(0) lim", 0, 0, 0, NULL, &r);
    assert_true(value_of(&r, "job", "b") == 20);
    pq_res_free(&r);
    /* two series on the "one" side with the same signature: an execution error */
    run("lim * on() group_left req", 0, 0, 0, NULL, &r);
    assert_int_equal(r.err, IGNIS_QERR_EXECUTION);
    assert_non_null(strstr(r.errmsg, "many-to-many matching not allowed"));
    pq_res_free(&r);
}

static void test_range_query_and_name_merge(void **state)
{
    (void)state;
    const double a[] = {1, NAN, NAN}, b[] = {3, 4, NAN};
    add(&store, "metric_a", NULL, NULL, 10 * M, a, 3);
    add(&store, "metric_b", NULL, NULL, 10 * M, b, 3);
    struct pq_res r;
    /* both lose their names: one series {} with points where either side had one */
    run("-metric_a or -metric_b", 0, 20 * M, 10 * M, NULL, &r);
    assert_int_equal(r.type, IGNIS_VALUE_MATRIX);
    assert_int_equal(r.nseries, 1);
    assert_int_equal(r.series[0].nls, 0);
    assert_int_equal(r.series[0].n, 2);
    assert_true(r.series[0].v[0] == -1 && r.series[0].v[1] == -4);
    assert_int_equal(r.series[0].t[1], 10 * M);
    pq_res_free(&r);
    /* both at once at the same step: the same label set twice is an error */
    run("-metric_a or on(nothing) -metric_b", 0, 0, 0, NULL, &r);
    assert_int_equal(r.nseries, 1);
    pq_res_free(&r);
    run("label_replace(-metric_a, \"x\", \"1\", \"\", \"\") + ignoring(x) -metric_b", 0, 0, 0, NULL,
        &r);
    assert_int_equal(r.err, IGNIS_QERR_NONE);
    pq_res_free(&r);
    run("scalar(metric_b)", 0, 20 * M, 10 * M, NULL, &r);
    assert_int_equal(r.type, IGNIS_VALUE_MATRIX);
    assert_int_equal(r.series[0].n, 3);
    assert_true(isnan(r.series[0].v[2])); /* no sample in the lookback: NaN */
    pq_res_free(&r);
    run("metric_b[20m]", 0, 20 * M, 10 * M, NULL, &r);
    assert_int_equal(r.err, IGNIS_QERR_BAD_DATA);
    assert_string_equal(r.errmsg, "invalid expression type \"range vector\" for range query, "
                                  "must be Scalar or instant Vector");
    pq_res_free(&r);
}

static void test_subquery_alignment(void **state)
{
    (void)state;
    double v[40];
    for (int i = 0; i < 40; i++)
        v[i] = i;
    add(&store, "s", NULL, NULL, 10000, v, 40);
    struct pq_res r;
    /* at 310s with offset 3s: window (277, 307] aligned to 10s steps: 280, 290, 300 */
    run("sum_over_time(s[30s:10s] offset 3s)", 310000, 310000, 0, NULL, &r);
    assert_true(value_of(&r, NULL, NULL) == 28 + 29 + 30);
    pq_res_free(&r);
    run("count_over_time(s[1m:])", 300000, 300000, 0, NULL, &r); /* default step 1m */
    assert_true(value_of(&r, NULL, NULL) == 1);
    pq_res_free(&r);
}

static void test_limits_and_cancel(void **state)
{
    (void)state;
    double v[60];
    for (int i = 0; i < 60; i++)
        v[i] = i;
    add(&store, "big", NULL, NULL, 1000, v, 60);
    struct pq_engine_opts small = opts;
    small.max_samples = 10;
    struct pq_res r;
    run("sum_over_time(big[1m])", 59000, 59000, 0, &small, &r);
    assert_int_equal(r.err, IGNIS_QERR_EXECUTION);
    assert_non_null(strstr(r.errmsg, "too many samples"));
    pq_res_free(&r);
    char err[128];
    struct pq_expr *e = pq_parse("big", 3, &all, err, sizeof err);
    volatile int cancel = 1;
    struct pq_exec_in in = {
        .expr = e, .start = 0, .end = 0, .ops = &tops, .storage = &store, .cancel = &cancel};
    assert_int_equal(pq_exec(&opts, &in, &r), 0);
    assert_int_equal(r.err, IGNIS_QERR_CANCELED);
    pq_res_free(&r);
    pq_expr_free(e);
}

static void test_errors_and_annotations(void **state)
{
    (void)state;
    const double v[] = {1, 2};
    add(&store, "dup", "l", "a", 10000, v, 2);
    add(&store, "dup", "l", "b", 10000, v, 2);
    add(&store, "gauge", NULL, NULL, 10000, v, 2);
    struct pq_res r;
    run("label_replace(dup, \"l\", \"x\", \"\", \"\")", 10000, 10000, 0, NULL, &r);
    assert_int_equal(r.err, IGNIS_QERR_EXECUTION);
    assert_string_equal(r.errmsg, "vector cannot contain metrics with the same labelset");
    pq_res_free(&r);
    run("rate(gauge[1m])", 10000, 10000, 0, NULL, &r);
    assert_int_equal(r.ninfos, 1);
    assert_string_equal(r.infos[0], "PromQL info: metric might not be a counter, name does not "
                                    "end in _total/_sum/_count/_bucket: \"gauge\" (1:6)");
    pq_res_free(&r);
    run("quantile(2, gauge)", 10000, 10000, 0, NULL, &r);
    assert_int_equal(r.nwarnings, 1);
    assert_string_equal(r.warnings[0], "PromQL warning: quantile value should be between 0 and "
                                       "1, got 2 (1:10)");
    pq_res_free(&r);
    run("topk(NaN, gauge)", 10000, 10000, 0, NULL, &r);
    assert_string_equal(r.errmsg, "Parameter value is NaN");
    pq_res_free(&r);
    run("\"str\"", 10000, 10000, 0, NULL, &r);
    assert_int_equal(r.type, IGNIS_VALUE_STRING);
    assert_string_equal(r.str, "str");
    pq_res_free(&r);
    run("1 + 2 * 3", 10000, 10000, 0, NULL, &r);
    assert_int_equal(r.type, IGNIS_VALUE_SCALAR);
    assert_true(r.scalar == 7);
    assert_int_equal(r.t, 10000);
    pq_res_free(&r);
    assert_int_equal(store.selects, 4); /* no storage work for queries without selectors */
}

/* ---- big range functions on two threads --------------------------------------------------- */

static void assert_same_result(const char *q, const struct pq_res *a, const struct pq_res *b)
{
    if (a->err != b->err || a->nseries != b->nseries)
        fail_msg("%s: err %d/%d, %zu/%zu series", q, a->err, b->err, a->nseries, b->nseries);
    if (a->errmsg || b->errmsg)
        assert_string_equal(a->errmsg ? a->errmsg : "", b->errmsg ? b->errmsg : "");
    assert_int_equal(a->type, b->type);
    for (size_t i = 0; i < a->nseries; i++) {
        const struct pq_series *x = &a->series[i], *y = &b->series[i];
        if (ignis_labels_cmp(x->ls, x->nls, y->ls, y->nls) != 0 || x->n != y->n)
            fail_msg("%s: series %zu differs", q, i);
        assert_memory_equal(x->t, y->t, x->n * sizeof *x->t);
        assert_memory_equal(x->v, y->v, x->n * sizeof *x->v);
    }
    assert_int_equal(a->nwarnings, b->nwarnings);
    for (size_t i = 0; i < a->nwarnings; i++)
        assert_string_equal(a->warnings[i], b->warnings[i]);
    assert_int_equal(a->ninfos, b->ninfos);
    for (size_t i = 0; i < a->ninfos; i++)
        assert_string_equal(a->infos[i], b->infos[i]);
    assert_int_equal(a->total_samples, b->total_samples);
    assert_int_equal(a->peak_samples, b->peak_samples);
}

/* A range function over enough steps and series runs on two threads (two selects): the
 * answer, its annotations, sample counts and the max_samples limit are those of one. */
static void test_two_threads(void **state)
{
    (void)state;
    /* in label order, as storages give series */
    for (int i = 0; i < MAXS; i++) {
        double v[MAXP];
        for (int j = 0; j < MAXP; j++)
            v[j] = (i % 3 == 0 && j == 30) ? 1 : (j + 0.3) * pow(10, i % 9) * (1.1 + i / 7.0);
        if (i == 5)
            v[20] = NAN; /* a gap */
        static char jobs[MAXS][8]; /* the labels point at them */
        snprintf(jobs[i], sizeof jobs[i], "j%02d", i);
        add(&store, i < 10 ? "req_total" : "temp", "job", jobs[i], 60000, v, MAXP);
    }
    static const char *const qs[] = {
        "rate(req_total[5m])",
        "sum by (job) (rate({__name__=~\".+\"}[5m]))",
        "rate({__name__=~\".+\"}[5m])",
        /* the order of the series counts */
        "stddev(rate({__name__=~\".+\"}[5m]))",
        "bottomk(3, last_over_time({__name__=~\".+\"}[2m]) * 0)",
        "increase({__name__=~\".+\"}[5m] @ 600)",
        "last_over_time({__name__=~\".+\"}[2m])",
        "changes({__name__=~\".+\"}[10m] offset 1m)",
        "max_over_time(({__name__=~\".+\"}[3m]))",
        "count_over_time({__name__=~\".+\"}[1m])",
    };
    struct pq_engine_opts one = opts, two = opts;
    one.one_thread = true;
    one.max_samples = two.max_samples = 1000000;
    /* 4000 steps: the second thread starts after the 9th series (j08), the first to fall
     * in its shard by label hash */
    int64_t end = 3999 * 1000;
    for (size_t i = 0; i < sizeof qs / sizeof *qs; i++) {
        struct pq_res a, b;
        int sel = store.selects;
        run(qs[i], 0, end, 1000, &one, &a);
        assert_int_equal(store.selects, sel + 1);
        if (a.err != IGNIS_QERR_NONE || a.nseries == 0)
            fail_msg("%s: %s, %zu series", qs[i], a.errmsg ? a.errmsg : "", a.nseries);
        run(qs[i], 0, end, 1000, &two, &b);
        if (store.selects != sel + 3)
            fail_msg("%s: not on two threads", qs[i]);
        assert_same_result(qs[i], &a, &b);
        if (i == 1)
            assert_int_equal(b.ninfos, 1); /* temp is not a counter */
        /* the limit: exactly the peak passes, one less fails, on both paths */
        struct pq_engine_opts lim1 = one, lim2 = two;
        lim1.max_samples = lim2.max_samples = a.peak_samples;
        struct pq_res c, d;
        run(qs[i], 0, end, 1000, &lim1, &c);
        run(qs[i], 0, end, 1000, &lim2, &d);
        assert_int_equal(c.err, IGNIS_QERR_NONE);
        assert_same_result(qs[i], &c, &d);
        pq_res_free(&c);
        pq_res_free(&d);
        lim1.max_samples = lim2.max_samples = a.peak_samples - 1;
        run(qs[i], 0, end, 1000, &lim1, &c);
        run(qs[i], 0, end, 1000, &lim2, &d);
        assert_int_equal(c.err, IGNIS_QERR_EXECUTION);
        assert_int_equal(d.err, IGNIS_QERR_EXECUTION);
        assert_string_equal(c.errmsg, d.errmsg);
        pq_res_free(&c);
        pq_res_free(&d);
        pq_res_free(&a);
        pq_res_free(&b);
    }
    /* few steps: one thread, one select */
    struct pq_res r;
    int sel = store.selects;
    run("rate(req_total[5m])", 0, 600000, 60000, &two, &r);
    assert_int_equal(store.selects, sel + 1);
    assert_int_equal(r.err, IGNIS_QERR_NONE);
    pq_res_free(&r);
    /* a canceled query stops on both threads */
    char err[128];
    const char *q = "rate(req_total[5m])";
    struct pq_expr *e = pq_parse(q, strlen(q), &all, err, sizeof err);
    volatile int cancel = 1;
    struct pq_exec_in in = {.expr = e, .start = 0, .end = end, .step = 1000, .range = true,
                            .ops = &tops, .storage = &store, .cancel = &cancel};
    assert_int_equal(pq_exec(&two, &in, &r), 0);
    assert_int_equal(r.err, IGNIS_QERR_CANCELED);
    pq_res_free(&r);
    pq_expr_free(e);
}

/* ---- the plugin's ops table ------------------------------------------------------------- */

extern const struct ignis_plugin ignis_plugin;

static void test_plugin_ops(void **state)
{
    (void)state;
    const double v[] = {1, 2, 3};
    add(&store, "up", "job", "a", 10000, v, 3);
    add(&store, "up", "job", "b", 10000, v, 3);
    assert_int_equal(ignis_plugin.kind, IGNIS_PLUGIN_QUERY);
    assert_string_equal(ignis_plugin.name, "promql");
    const struct ignis_query_ops *ops = ignis_plugin.ops;
    assert_true(IGNIS_HAS(ops, format));
    struct ignis_config *cfg = ignis_config_new(ignis_plugin.options, "test");
    char err[256];
    assert_int_equal(ignis_config_set(cfg, "lookback_delta", "1m", "test", err, sizeof err), 0);
    void *inst = NULL;
    assert_int_equal(ops->create(NULL, cfg, &inst, err, sizeof err), 0);

    /* parse errors: bad_data with Prometheus' message */
    struct ignis_query *q = NULL;
    assert_int_equal(ops->parse(inst, "sum(", &q, err, sizeof err), IGNIS_QERR_BAD_DATA);
    assert_string_equal(err, "1:5: parse error: unclosed left parenthesis");
    assert_int_equal(ops->parse(inst, "sort_by_label(up, \"job\")", NULL, err, sizeof err),
                     IGNIS_QERR_BAD_DATA); /* experimental functions are off by default */

    struct ignis_query_params p = {.size = sizeof p,
                                   .expr = "up",
                                   .start = 20000,
                                   .end = 20000,
                                   .storage_ops = &tops,
                                   .storage = &store,
                                   .limit = 1};
    assert_int_equal(ops->exec(inst, &p, &q), 0);
    const struct ignis_query_result *res = ops->result(q);
    assert_int_equal(res->error, IGNIS_QERR_NONE);
    assert_int_equal(res->type, IGNIS_VALUE_VECTOR);
    assert_int_equal(res->nseries, 1); /* limit */
    assert_int_equal(res->series[0].npoints, 1);
    assert_true(res->series[0].v[0] == 3);
    ops->query_free(q);

    /* the configured lookback (1m) applies: nothing at 2m past the last sample */
    p.start = p.end = 20000 + 2 * M;
    p.limit = 0;
    assert_int_equal(ops->exec(inst, &p, &q), 0);
    assert_int_equal(ops->result(q)->nseries, 0);
    ops->query_free(q);

    p.expr = "up[";
    assert_int_equal(ops->exec(inst, &p, &q), 0);
    assert_int_equal(ops->result(q)->error, IGNIS_QERR_BAD_DATA);
    ops->query_free(q);

    char *f = ops->format(inst, "sum(rate(up{job=\"a\"}[5m]))by(job)", err, sizeof err);
    assert_string_equal(f, "sum by (job) (rate(up{job=\"a\"}[5m]))");
    free(f);
    assert_null(ops->format(inst, "sum(", err, sizeof err));

    /* reconfigure turns the experimental functions on */
    assert_int_equal(
        ignis_config_set(cfg, "experimental_functions", "true", "test", err, sizeof err), 0);
    assert_int_equal(ops->reconfigure(inst, cfg, err, sizeof err), 0);
    assert_int_equal(ops->parse(inst, "sort_by_label(up, \"job\")", NULL, err, sizeof err), 0);
    ops->destroy(inst);
    ignis_config_free(cfg);
}

/* A sink that remembers the value of one sample family. */
struct grab {
    const char *family;
    bool in;
    double value;
    bool seen;
};

static int grab_family(void *impl, const char *name, enum ignis_metric_type type, const char *help,
                       const char *unit)
{
    (void)type;
    (void)help;
    (void)unit;
    struct grab *g = impl;
    g->in = strcmp(name, g->family) == 0;
    return 0;
}

static int grab_sample(void *impl, const char *suffix, const struct ignis_label *ls, size_t n,
                       double value, int64_t ts_ms)
{
    (void)suffix;
    (void)ls;
    (void)n;
    (void)ts_ms;
    struct grab *g = impl;
    if (g->in && (!suffix || !*suffix || strcmp(suffix, "_total") == 0)) {
        g->value = value;
        g->seen = true;
    }
    return 0;
}

static double registry_value(const char *family)
{
    static const struct ignis_sink_ops sops = {sizeof sops, grab_family, grab_sample};
    struct grab g = {.family = family};
    struct ignis_sink *sink = ignis_sink_new(&sops, &g);
    ignis_registry_write(ignis_registry_default(), sink);
    ignis_sink_free(sink);
    return g.seen ? g.value : -1;
}

static void test_self_metrics(void **state)
{
    (void)state;
    const double v[] = {1, 2, 3};
    add(&store, "up", NULL, NULL, 10000, v, 3);
    struct testhost *th = testhost_new("promql");
    const struct ignis_query_ops *ops = ignis_plugin.ops;
    struct ignis_config *cfg = ignis_config_new(ignis_plugin.options, "test");
    char err[256];
    void *a = NULL, *b = NULL;
    assert_int_equal(ops->create(testhost_host(th), cfg, &a, err, sizeof err), 0);
    assert_int_equal(ops->create(testhost_host(th), cfg, &b, err, sizeof err), 0);
    assert_true(registry_value("prometheus_engine_query_samples") == 0);
    assert_true(registry_value("prometheus_engine_queries") == 0);
    struct ignis_query_params p = {.size = sizeof p,
                                   .expr = "up",
                                   .start = 20000,
                                   .end = 20000,
                                   .storage_ops = &tops,
                                   .storage = &store};
    struct ignis_query *q = NULL;
    assert_int_equal(ops->exec(b, &p, &q), 0);
    ops->query_free(q);
    assert_true(registry_value("prometheus_engine_query_samples") == 3);
    /* the families stay while an instance lives, and go with the last one */
    ops->destroy(a);
    assert_true(registry_value("prometheus_engine_query_samples") == 3);
    ops->destroy(b);
    assert_true(registry_value("prometheus_engine_query_samples") == -1);
    ignis_config_free(cfg);
    testhost_free(th);
}

/* Queries share nothing: several threads running them at once get the answers one
 * thread gets. */
struct worker {
    void *inst;
    int bad;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    const struct ignis_query_ops *ops = ignis_plugin.ops;
    static const char *const qs[] = {"sort_by_label_desc(x, \"i\")", "sort_by_label(x, \"i\")",
                                     "topk(2, x)", "sum(rate(x[1m]))"};
    for (int round = 0; round < 200; round++) {
        const char *q = qs[round % 4];
        struct ignis_query_params p = {.size = sizeof p,
                                       .expr = q,
                                       .start = 30000,
                                       .end = 30000,
                                       .storage_ops = &tops,
                                       .storage = &store};
        struct ignis_query *qq = NULL;
        if (ops->exec(w->inst, &p, &qq) != 0) {
            w->bad++;
            continue;
        }
        const struct ignis_query_result *r = ops->result(qq);
        if (r->error != IGNIS_QERR_NONE)
            w->bad++;
        else if (round % 4 == 0 && (r->nseries != 3 || r->series[0].v[0] != 3))
            w->bad++; /* i="c" first */
        else if (round % 4 == 1 && (r->nseries != 3 || r->series[0].v[0] != 1))
            w->bad++; /* i="a" first */
        else if (round % 4 == 2 && (r->nseries != 2 || r->series[0].v[0] != 5))
            w->bad++;
        ops->query_free(qq);
    }
    return NULL;
}

static void test_concurrent_queries(void **state)
{
    (void)state;
    const double a[] = {1, 1, 1, 1}, b[] = {5, 5, 5, 5}, c[] = {3, 3, 3, 3};
    add(&store, "x", "i", "a", 10000, a, 4);
    add(&store, "x", "i", "b", 10000, b, 4);
    add(&store, "x", "i", "c", 10000, c, 4);
    const struct ignis_query_ops *ops = ignis_plugin.ops;
    struct ignis_config *cfg = ignis_config_new(ignis_plugin.options, "test");
    char err[256];
    assert_int_equal(
        ignis_config_set(cfg, "experimental_functions", "true", "test", err, sizeof err), 0);
    void *inst = NULL;
    assert_int_equal(ops->create(NULL, cfg, &inst, err, sizeof err), 0);
    pthread_t th[4];
    struct worker w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker){.inst = inst};
        assert_int_equal(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].bad, 0);
    }
    ops->destroy(inst);
    ignis_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_lookback_and_staleness, setup),
        cmocka_unit_test_setup(test_rate_extrapolation, setup),
        cmocka_unit_test_setup(test_aggregation_and_topk_order, setup),
        cmocka_unit_test_setup(test_vector_matching, setup),
        cmocka_unit_test_setup(test_range_query_and_name_merge, setup),
        cmocka_unit_test_setup(test_subquery_alignment, setup),
        cmocka_unit_test_setup(test_limits_and_cancel, setup),
        cmocka_unit_test_setup(test_errors_and_annotations, setup),
        cmocka_unit_test_setup(test_two_threads, setup),
        cmocka_unit_test_setup(test_plugin_ops, setup),
        cmocka_unit_test_setup(test_self_metrics, setup),
        cmocka_unit_test_setup(test_concurrent_queries, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
