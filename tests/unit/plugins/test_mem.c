/* tests/unit/plugins/test_mem.c — the `mem` storage plugin, loaded as ignisd loads it
 * (dlopen of the built module, its `ignis_plugin` descriptor) and driven only through its
 * ops table: append/commit/rollback visibility, refs, every error kind, matchers, batches,
 * label queries, deletion, metadata, exemplars, limits, retention and concurrency. */
#define _GNU_SOURCE /* pthread_tryjoin_np */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <cmocka.h>
#include <ignis/plugin.h>
#include "../testhost.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const struct ignis_plugin *plug;
static const struct ignis_storage_ops *ops;

/* ---- fixtures ------------------------------------------------------------------------ */

struct fx {
    struct testhost *th;
    void *inst;
};

/* Creates an instance with the given option texts (NULL: default). */
static void fx_open(struct fx *f, const char *retention, const char *max_series,
                    const char *max_exemplars)
{
    char err[256] = "";
    f->th = testhost_new("mem-test");
    assert_non_null(f->th);
    struct ignis_config *cfg = ignis_config_new(plug->options, "test.conf");
    assert_non_null(cfg);
    if (retention)
        assert_int_equal(ignis_config_set(cfg, "retention_time", retention, "t:1", err, sizeof err),
                         0);
    if (max_series)
        assert_int_equal(ignis_config_set(cfg, "max_series", max_series, "t:2", err, sizeof err),
                         0);
    if (max_exemplars)
        assert_int_equal(
            ignis_config_set(cfg, "max_exemplars", max_exemplars, "t:3", err, sizeof err), 0);
    int rc = ops->create(testhost_host(f->th), cfg, &f->inst, err, sizeof err);
    if (rc != 0)
        fail_msg("create: %s", err);
    ignis_config_free(cfg);
}

static void fx_close(struct fx *f)
{
    ops->destroy(f->inst);
    assert_int_equal(testhost_ntimers(f->th), 0);
    testhost_free(f->th);
}

/* A label set from name, value, name, value, ..., NULL (given sorted). */
struct lset {
    struct ignis_label l[16];
    size_t n;
};

static struct lset LS(const char *name, ...) {
    struct lset s = {.n = 0};
    va_list ap;
    va_start(ap, name);
    for (const char *nm = name; nm; nm = va_arg(ap, const char *)) {
        const char *v = va_arg(ap, const char *);
        s.l[s.n++] = ignis_label_make(nm, v);
    }
    va_end(ap);
    return s;
}

/* Regexes compiled for matchers, freed after each test. */
static struct ignis_regex *regexes[64];
static size_t nregexes;

static struct ignis_matcher M(enum ignis_match_type t, const char *name, const char *value) {
    struct ignis_matcher m = {.type = t,
                              .name = name,
                              .name_len = strlen(name),
                              .value = value,
                              .value_len = strlen(value)};
    if (t == IGNIS_MATCH_RE || t == IGNIS_MATCH_NRE) {
        char err[128];
        struct ignis_regex *re = ignis_regex_compile(value, strlen(value), err, sizeof err);
        if (!re)
            fail_msg("regex %s: %s", value, err);
        assert_true(nregexes < COUNT(regexes));
        regexes[nregexes++] = re;
        m.re = re;
    }
    return m;
}

static int
free_regexes(void **state)
{
    (void)state;
    while (nregexes)
        ignis_regex_free(regexes[--nregexes]);
    return 0;
}

static uint64_t append1(struct fx *f, struct lset ls, int64_t t, double v)
{
    struct ignis_appender *a = ops->appender(f->inst);
    assert_non_null(a);
    uint64_t ref = 0;
    assert_int_equal(ops->append(a, ls.l, ls.n, t, v, &ref), 0);
    assert_int_equal(ops->commit(a), 0);
    assert_true(ref != 0);
    return ref;
}

/* The selected series as "name=value,name=value|..." in the order handed out. */
static void select_str(struct ignis_querier *q, const struct ignis_matcher *ms, size_t n,
                       const struct ignis_select_hints *hints, char *out, size_t outlen)
{
    struct ignis_series_set *set = NULL;
    assert_int_equal(ops->select(q, ms, n, hints, &set), 0);
    assert_non_null(set);
    size_t k = 0;
    out[0] = '\0';
    struct ignis_series s;
    int rc;
    while ((rc = ops->set_next(set, &s)) == 1) {
        if (out[0])
            k += (size_t)snprintf(out + k, outlen - k, "|");
        for (size_t i = 0; i < s.nlabels; i++)
            k += (size_t)snprintf(out + k, outlen - k, "%s%.*s=%.*s", i ? "," : "",
                                  (int)s.labels[i].name_len, s.labels[i].name,
                                  (int)s.labels[i].value_len, s.labels[i].value);
        assert_true(k < outlen);
    }
    assert_int_equal(rc, 0);
    ops->set_close(set);
}

static void expect_select(struct fx *f, const struct ignis_matcher *ms, size_t n, const char *want)
{
    char got[2048];
    struct ignis_querier *q = ops->querier(f->inst, INT64_MIN, INT64_MAX);
    assert_non_null(q);
    select_str(q, ms, n, NULL, got, sizeof got);
    ops->querier_close(q);
    if (strcmp(got, want) != 0)
        fail_msg("select: got \"%s\" want \"%s\"", got, want);
}

/* Reads every sample of the current series in batches of cap. */
static size_t read_all(struct ignis_series_set *set, int64_t mint, int64_t maxt, size_t cap,
                       int64_t *t, double *v, size_t max)
{
    size_t n = 0;
    int64_t bt[64];
    double bv[64];
    assert_true(cap <= 64);
    for (;;) {
        struct ignis_sample_batch b = {bt, bv, cap};
        long got = ops->set_samples(set, mint, maxt, &b);
        assert_true(got >= 0);
        assert_true((size_t)got <= cap);
        if (got == 0)
            break;
        for (long i = 0; i < got; i++) {
            assert_true(n < max);
            t[n] = bt[i];
            v[n] = bv[i];
            n++;
        }
    }
    return n;
}

/* Number of samples each series matching {__name__=name} has, for one querier. */
static size_t count_samples(struct fx *f, const char *name, int64_t mint, int64_t maxt)
{
    struct ignis_querier *q = ops->querier(f->inst, mint, maxt);
    struct ignis_matcher m = M(IGNIS_MATCH_EQ, "__name__", name);
    struct ignis_series_set *set;
    assert_int_equal(ops->select(q, &m, 1, NULL, &set), 0);
    size_t total = 0;
    struct ignis_series s;
    static int64_t t[4096];
    static double v[4096];
    while (ops->set_next(set, &s) == 1)
        total += read_all(set, INT64_MIN, INT64_MAX, 64, t, v, COUNT(t));
    ops->set_close(set);
    ops->querier_close(q);
    return total;
}

static uint64_t bits(double v)
{
    uint64_t b;
    memcpy(&b, &v, sizeof b);
    return b;
}

static double from_bits(uint64_t b)
{
    double v;
    memcpy(&v, &b, sizeof v);
    return v;
}

#define STALE_BITS 0x7ff0000000000002ull

/* ---- descriptor ---------------------------------------------------------------------- */

static void test_descriptor(void **state)
{
    (void)state;
    assert_int_equal(plug->abi.major, IGNIS_ABI_MAJOR);
    assert_int_equal(plug->abi.minor, IGNIS_ABI_MINOR);
    assert_int_equal(plug->kind, IGNIS_PLUGIN_STORAGE);
    assert_string_equal(plug->name, "mem");
    assert_int_equal(ops->size, sizeof *ops);
    const struct {
        const char *name;
        enum ignis_opt_type type;
        const char *def;
    } want[] = {{"retention_time", IGNIS_OPT_DURATION, "0s"},
                {"max_series", IGNIS_OPT_INT, "0"},
                {"max_exemplars", IGNIS_OPT_INT, "0"}};
    for (size_t i = 0; i < COUNT(want); i++) {
        const struct ignis_option *o = plug->options;
        while (o->name && strcmp(o->name, want[i].name) != 0)
            o++;
        assert_non_null(o->name);
        assert_int_equal(o->type, want[i].type);
        assert_string_equal(o->def, want[i].def);
    }
    /* Every entry of the table is filled. */
    assert_non_null(ops->reconfigure);
    assert_non_null(ops->exemplars);
    assert_non_null(ops->clean_tombstones);
}

static void test_bad_options(void **state)
{
    (void)state;
    char err[256] = "";
    struct testhost *th = testhost_new("bad");
    struct ignis_config *cfg = ignis_config_new(plug->options, "test.conf");
    assert_int_equal(ignis_config_set_int(cfg, "max_series", -1, "bad.conf:7"), 0);
    void *inst = NULL;
    assert_int_not_equal(ops->create(testhost_host(th), cfg, &inst, err, sizeof err), 0);
    assert_non_null(strstr(err, "max_series"));
    ignis_config_free(cfg);
    testhost_free(th);
}

/* ---- append, commit, rollback -------------------------------------------------------- */

static void test_commit_makes_visible(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f, NULL, NULL, NULL);
    struct lset ls = LS("__name__", "m", "job", "x", NULL);
    struct ignis_appender *a = ops->appender(f.inst);
    uint64_t ref = 0;
    assert_int_equal(ops->append(a, ls.l, ls.n, 1000, 1.0, &ref), 0);
    assert_true(ref != 0);
    struct ignis_querier *before = ops->querier(f.inst, INT64_MIN, INT64_MAX);
    assert_int_equal(count_samples(&f, "m", INT64_MIN, INT64_MAX), 0); /* not committed */
    assert_int_equal(ops->commit(a), 0);
    assert_int_equal(count_samples(&f, "m", INT64_MIN, INT64_MAX), 1);

    /* A querier made before the commit keeps its snapshot. */
    char got[256];
    struct ignis_matcher m = M(IGNIS_MATCH_EQ, "__name__", "m");
    select_str(before, &m, 1, NULL, got, sizeof got);
    assert_string_equal(got, "");
    ops->querier_close(before);

    /* So does one made between two commits to the same series. */
    struct ignis_querier *mid = ops->querier(f.inst, INT64_MIN, INT64_MAX);
    a = ops->appender(f.inst);
    struct ignis_ref_sample rs = {ref, 2000, 2.0};
    int err = 1;
    assert_int_equal(ops->append_refs(a, &rs, 1, &err), 1);
    assert_int_equal(err, 0);
    assert_int_equal(ops->commit(a), 0);
    struct ignis_series_set *set;
    assert_int_equal(ops->select(mid, &m, 1, NULL, &set), 0);
    struct ignis_series s;
    assert_int_equal(ops->set_next(set, &s), 1);
    assert_int_equal(s.ref, ref);
    int64_t t[8];
    double v[8];
    assert_int_equal(read_all(set, INT64_MIN, INT64_MAX, 8, t, v, 8), 1);
    assert_int_equal(t[0], 1000);
    assert_int_equal(ops->set_next(set, &s), 0);
    ops->set_close(set);
    ops->querier_close(mid);
    assert_int_equal(count_samples(&f, "m", INT64_MIN, INT64_MAX), 2);
    fx_close(&f);
}

static void test_rollback_discards(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f, NULL, NULL, NULL);
    struct lset ls = LS("__name__", "rb", NULL);
    struct ignis_appender *a = ops->appender(f.inst);
    uint64_t ref = 0;
    assert_int_equal(ops->append(a, ls.l, ls.n, 10, 1.0, &ref), 0);
    assert_int_equal(ops->append(a, ls.l, ls.n, 20, 2.0, NULL), 0);
    ops->rollback(a);
    assert_int_equal(count_samples(&f, "rb", INT64_MIN, INT64_MAX), 0);
    /* The series may stay (empty): its ref still takes samples, older ones included. */
    a = ops->appender(f.inst);
    struct ignis_ref_sample rs = {ref, 5, 0.5};
    assert_int_equal(ops->append_refs(a, &rs, 1, NULL), 1);
    assert_int_equal(ops->commit(a), 0);
    assert_int_equal(count_samples(&f, "rb", INT64_MIN, INT64_MAX), 1);
    fx_close(&f);
}

static void test_append_refs_errors(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f, NULL, NULL, NULL);
    uint64_t ref = append1(&f, LS("__name__", "r", NULL), 1000, 1.0);
    struct ignis_appender *a = ops->appender(f.inst);
    struct ignis_ref_sample rs[] = {
        {ref, 2000, 2.0},         /* ok */
        {ref + 12345, 2000, 1.0}, /* unknown ref */
        {ref, 1500, 1.0},         /* older than the pending 2000 */
        {ref, 2000, 2.0},         /* identical repeat: accepted */
        {ref, 2000, 3.0},         /* same timestamp, other value */
        {ref, 3000, 3.0},         /* ok */
    };
    int errs[COUNT(rs)];
    memset(errs, 0x55, sizeof errs);
    assert_int_equal(ops->append_refs(a, rs, COUNT(rs), errs), 3);
    int want[] = {0, IGNIS_E_REF_GONE, IGNIS_E_OUT_OF_ORDER, 0, IGNIS_E_DUP_TS, 0};
    for (size_t i = 0; i < COUNT(want); i++)
        assert_int_equal(errs[i], want[i]);
    assert_int_equal(ops->commit(a), 0);
    assert_int_equal(count_samples(&f, "r", INT64_MIN, INT64_MAX), 3);
    fx_close(&f);
}

static void test_invalid_label_sets(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f, NULL, NULL, NULL);
    struct lset bad[] = {
        LS("job", "x", NULL),                              /* no __name__ */
        LS("__name__", "", "job", "x", NULL),              /* empty __name__ */
        LS("job", "x", "__name__", "m", NULL),             /* not sorted */
        LS("__name__", "m", "job", "x", "job", "y", NULL), /* duplicate name */
        LS("__name__", "m", "", "x", NULL),                /* empty name */
        LS("__name__", "m", "job", "\xff\xfe", NULL),      /* bad UTF-8 value */
        LS("__name__", "m", "j\xc3", "x", NULL),           /* bad UTF-8 name */
        LS("__name__", "m\xe2\x82", NULL),                 /* truncated UTF-8 metric name */
    };
    struct ignis_appender *a = ops->appender(f.inst);
    for (size_t i = 0; i < COUNT(bad); i++) {
        uint64_t ref = 77;
        if (ops->append(a, bad[i].l, bad[i].n, 1, 1.0, &ref) != IGNIS_E_INVALID)
            fail_msg("label set %zu accepted", i);
    }
    struct lset ok = LS("__name__", "m", NULL);
    assert_int_equal(ops->append(a, ok.l, 0, 1, 1.0, NULL), IGNIS_E_INVALID);
    assert_int_equal(ops->append(a, ok.l, ok.n, IGNIS_NO_TIMESTAMP, 1.0, NULL), IGNIS_E_INVALID);
    /* UTF-8 names beyond the legacy character set are fine (Prometheus 3). */
    struct lset utf = LS("__name__", "my.metric", "k\xc3\xa9y", "v\xe2\x82\xac", NULL);
    assert_int_equal(ops->append(a, utf.l, utf.n, 1, 1.0, NULL), 0);
    /* A label with an empty value is kept as given, as Prometheus' TSDB keeps it (the
     * PromQL corpus expects __unit__="" back); it is another series than without it. */
    uint64_t r1 = 0, r2 = 0;
    struct lset with_empty = LS("__name__", "m", "a", "", "b", "1", NULL);
    struct lset without = LS("__name__", "m", "b", "1", NULL);
    assert_int_equal(ops->append(a, with_empty.l, with_empty.n, 5, 1.0, &r1), 0);
    assert_int_equal(ops->append(a, without.l, without.n, 6, 1.0, &r2), 0);
    assert_true(r1 != r2);
    assert_int_equal(ops->commit(a), 0);
    struct ignis_matcher m = M(IGNIS_MATCH_EQ, "__name__", "m");
    expect_select(&f, &m, 1, "__name__=m,a=,b=1|__name__=m,b=1");
    fx_close(&f);
}

static void test_order_and_duplicates(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f, NULL, NULL, NULL);
    struct lset ls = LS("__name__", "o", NULL);
    struct ignis_appender *a = ops->appender(f.inst);
    assert_int_equal(ops->append(a, ls.l, ls.n, 100, 1.0, NULL), 0);
    assert_int_equal(ops->append(a, ls.l, ls.n, 50, 1.0, NULL), IGNIS_E_OUT_OF_ORDER);
    assert_int_equal(ops->append(a, ls.l, ls.n, 100, 2.0, NULL), IGNIS_E_DUP_TS);
    assert_int_equal(ops->append(a, ls.l, ls.n, 100, 1.0, NULL), 0);
    double stale = from_bits(STALE_BITS);
    assert_int_equal(ops->append(a, ls.l, ls.n, 200, stale, NULL), 0);
    assert_int_equal(ops->append(a, ls.l, ls.n, 200, stale, NULL), 0);
    /* Another NaN is another value. */
    assert_int_equal(ops->append(a, ls.l, ls.n, 200, from_bits(0x7ff8000000000001ull), NULL),
                     IGNIS_E_DUP_TS);
    assert_int_equal(ops->commit(a), 0);

    /* Against committed samples, in a new appender. */
    a = ops->appender(f.inst);
    assert_int_equal(ops->append(a, ls.l, ls.n, 199, 1.0, NULL), IGNIS_E_OUT_OF_ORDER);
    assert_int_equal(ops->append(a, ls.l, ls.n, 200, stale, NULL), 0);
    assert_int_equal(ops->append(a, ls.l, ls.n, 200, 0.0, NULL), IGNIS_E_DUP_TS);
    assert_int_equal(ops->append(a, ls.l, ls.n, 300, -0.0, NULL), 0);
    assert_int_equal(ops->commit(a), 0);

    struct ignis_querier *q = ops->querier(f.inst, INT64_MIN, INT64_MAX);
    struct ignis_matcher m = M(IGNIS_MATCH_EQ, "__name__", "o");
    struct ignis_series_set *set;
    assert_int_equal(ops->select(q, &m, 1, NULL, &set), 0);
    struct ignis_series s;
    assert_int_equal(ops->set_next(set, &s), 1);
    int64_t t[8];
    double v[8];
    assert_int_equal(read_all(set, INT64_MIN, INT64_MAX, 8, t, v, 8), 3);
    assert_int_equal(t[0], 100);
    assert_true(v[0] == 1.0);
    assert_int_equal(t[1], 200);
    assert_int_equal(bits(v[1]), STALE_BITS); /* the marker comes back bit for bit */
    assert_int_equal(t[2], 300);
    assert_int_equal(bits(v[2]), bits(-0.0));
    ops->set_close(set);
    ops->querier_close(q);
    fx_close(&f);
}

static void test_commit_race_keeps_first(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f, NULL, NULL, NULL);
    struct lset ls = LS("__name__", "race", NULL);
    uint64_t ref = append1(&f, ls, 10, 0.0);
    struct ignis_appender *a1 = ops->appender(f.inst), *a2 = ops->appender(f.inst);
    assert_int_equal(ops->append(a1, ls.l, ls.n, 100, 1.0, NULL), 0);
    struct ignis_ref_sample rs[] = {{ref, 100, 2.0}, {ref, 90, 2.0}};
    int errs[2];
    assert_int_equal(ops->append_refs(a2, rs, 2, errs), 1); /* each checks its own view */
    assert_int_equal(errs[1], IGNIS_E_OUT_OF_ORDER);
    assert_int_equal(ops->commit(a1), 0);
    assert_int_equal(ops->commit(a2), 0); /* its sample at 100 lost the race: dropped */
    struct ignis_querier *q = ops->querier(f.inst, INT64_MIN, INT64_MAX);
    struct ignis_matcher m = M(IGNIS_MATCH_EQ, "__name__", "race");
    struct ignis_series_set *set;
    assert_int_equal(ops->select(q, &m, 1, NULL, &set), 0);
    struct ignis_series s;
    assert_int_equal(ops->set_next(set, &s), 1);
    int64_t t[8];
    double v[8];
    assert_int_equal(read_all(set, INT64_MIN, INT64_MAX, 8, t, v, 8), 2);
    assert_int_equal(t[1], 100);
    assert_true(v[1] == 1.0);
    ops->set_close(set);
    ops->querier_close(q);
    fx_close(&f);
}

/* ---- selection ----------------------------------------------------------------------- */

static void add_matcher_data(struct fx *f)
{
    struct lset sets[] = {
        LS("__name__", "up", "env", "prod", "instance", "a", "job", "api", NULL),
        LS("__name__", "up", "instance", "b", "job", "api", NULL),
        LS("__name__", "up", "env", "dev", "instance", "c", "job", "db", NULL),
        LS("__name__", "http_requests_total", "code", "200", "job", "api", NULL),
        LS("__name__", "http_requests_total", "code", "500", "job", "api", NULL),
        LS("__name__", "http_requests_total", "code", "404", "job", "web", NULL),
    };
    struct ignis_appender *a = ops->appender(f->inst);
    for (size_t i = 0; i < COUNT(sets); i++)
        assert_int_equal(ops->append(a, sets[i].l, sets[i].n, 1000, (double)i, NULL), 0);
    assert_int_equal(ops->commit(a), 0);
}

#define UP_A "__name__=up,env=prod,instance=a,job=api"
#define UP_B "__name__=up,instance=b,job=api"
#define UP_C "__name__=up,env=dev,instance=c,job=db"
#define H200 "__name__=http_requests_total,code=200,job=api"
#define H500 "__name__=http_requests_total,code=500,job=api"
#define H404 "__name__=http_requests_total,code=404,job=web"

static void test_matchers(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f, NULL, NULL, NULL);
    add_matcher_data(&f);
    const enum ignis_match_type EQ = IGNIS_MATCH_EQ, NE = IGNIS_MATCH_NE, RE = IGNIS_MATCH_RE,
                                NRE = IGNIS_MATCH_NRE;
    struct {
        struct ignis_matcher m[3];
        size_t n;
        const char *want;
    } cases[] = {
        {{M(EQ, "__name__", "up")}, 1, UP_C "|" UP_A "|" UP_B},
        /* = "" selects series without the label */
        {{M(EQ, "__name__", "up"), M(EQ, "env", "")}, 2, UP_B},
        {{M(EQ, "__name__", "up"), M(NE, "env", "")}, 2, UP_C "|" UP_A},
        /* != v keeps series without the label */
        {{M(EQ, "__name__", "up"), M(NE, "env", "prod")}, 2, UP_C "|" UP_B},
        /* literal alternation */
        {{M(EQ, "__name__", "up"), M(RE, "env", "prod|dev")}, 2, UP_C "|" UP_A},
        /* a regex matching "" also selects series without the label */
        {{M(EQ, "__name__", "up"), M(RE, "env", "prod|")}, 2, UP_A "|" UP_B},
        {{M(EQ, "__name__", "up"), M(RE, "env", ".*")}, 2, UP_C "|" UP_A "|" UP_B},
        {{M(EQ, "__name__", "up"), M(NRE, "env", "prod")}, 2, UP_C "|" UP_B},
        {{M(EQ, "__name__", "up"), M(NRE, "env", "prod|dev")}, 2, UP_B},
        {{M(EQ, "__name__", "up"), M(NRE, "env", ".+")}, 2, UP_B},
        {{M(EQ, "__name__", "up"), M(NRE, "env", "")}, 2, UP_C "|" UP_A},
        /* prefix regex, then a character class */
        {{M(RE, "__name__", "http_.*")}, 1, H200 "|" H404 "|" H500},
        {{M(RE, "__name__", "http_.*"), M(RE, "code", "[45]..")}, 2, H404 "|" H500},
        {{M(RE, "job", "api|web"), M(NE, "code", "200")}, 2, H404 "|" H500 "|" UP_A "|" UP_B},
        {{M(RE, "__name__", ".*_total|up"), M(EQ, "job", "db")}, 2, UP_C},
        {{M(RE, "__name__", "u.|x")}, 1, UP_C "|" UP_A "|" UP_B},
        {{M(RE, "instance", "(?i)A|B")}, 1, UP_A "|" UP_B},
        /* sorted by the whole label set */
        {{M(RE, "job", ".+")}, 1, H200 "|" H404 "|" H500 "|" UP_C "|" UP_A "|" UP_B},
        /* nothing has the label or the value */
        {{M(EQ, "job", "nope")}, 1, ""},
        {{M(EQ, "nolabel", "x")}, 1, ""},
        {{M(RE, "job", "nope|nada")}, 1, ""},
        {{M(EQ, "__name__", "up"), M(EQ, "nolabel", "")}, 2, UP_C "|" UP_A "|" UP_B},
        {{M(EQ, "__name__", "up"), M(NRE, "nolabel", "x")}, 2, UP_C "|" UP_A "|" UP_B},
        {{M(EQ, "__name__", "up"), M(EQ, "job", "api"), M(EQ, "env", "")}, 3, UP_B},
        /* no matchers: nothing, as Prometheus */
        {{{0}}, 0, ""},
    };
    for (size_t i = 0; i < COUNT(cases); i++) {
        char got[2048];
        struct ignis_querier *q = ops->querier(f.inst, INT64_MIN, INT64_MAX);
        select_str(q, cases[i].m, cases[i].n, NULL, got, sizeof got);
        ops->querier_close(q);
        if (strcmp(got, cases[i].want) != 0)
            fail_msg("case %zu: got \"%s\" want \"%s\"", i, got, cases[i].want);
    }
    /* Matchers as the selector parser (API, PromQL) produces them. */
    const struct {
        const char *sel, *want;
    } parsed[] = {
        {"up{env=~\"prod|\"}", UP_A "|" UP_B},
        {"{__name__=~\"http_.+\", code!~\"2..\"}", H404 "|" H500},
        {"{\"up\", job=\"db\"}", UP_C},
        {"up{instance!=\"b\", env!=\"dev\"}", UP_A},
    };
    for (size_t i = 0; i < COUNT(parsed); i++) {
        struct ignis_selector sel;
        char err[256];
        if (ignis_selector_parse(parsed[i].sel, strlen(parsed[i].sel), &sel, err, sizeof err))
            fail_msg("%s: %s", parsed[i].sel, err);
        expect_select(&f, sel.matchers, sel.n, parsed[i].want);
        ignis_selector_free(&sel);
    }

    /* hints.limit keeps the first series in order */
    struct ignis_select_hints h = {.limit = 2};
    char got[2048];
    struct ignis_matcher all = M(RE, "job", ".+");
    struct ignis_querier *q = ops->querier(f.inst, INT64_MIN, INT64_MAX);
    select_str(q, &all, 1, &h, got, sizeof got);
    ops->querier_close(q);
    assert_string_equal(got, H200 "|" H404);
    fx_close(&f);
}

static void test_many_series_sorted(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f, NULL, NULL, NULL);
    /* Refs are handed out in creation order; output must be in label order anyway. */
    struct ignis_appender *a = ops->appender(f.inst);
    const size_t N = 500;
    for (size_t i = 0; i < N; i++) {
        char id[16];
        snprintf(id, sizeof id, "%zu", (i * 7919) % N);
        struct lset ls = LS("__name__", "many", "id", id, NULL);
        assert_int_equal(ops->append(a, ls.l, ls.n, 1, 1.0, NULL), 0);
    }
    assert_int_equal(ops->commit(a), 0);
    struct ignis_querier *q = ops->querier(f.inst, INT64_MIN, INT64_MAX);
    struct ignis_matcher m = M(IGNIS_MATCH_RE, "id", "1.*|2.*|3.*|4.*|5.*|6.*|7.*|8.*|9.*|0");
    struct ignis_series_set *set;
    assert_int_equal(ops->select(q, &m, 1, NULL, &set), 0);
    struct ignis_series s;
    char prev[32] = "";
    size_t n = 0;
    while (ops->set_next(set, &s) == 1) {
        char cur[32];
        snprintf(cur, sizeof cur, "%.*s", (int)s.labels[1].value_len, s.labels[1].value);
        if (n)
            assert_true(strcmp(prev, cur) < 0);
        strcpy(prev, cur);
        n++;
    }
    assert_int_equal(n, N);
    ops->set_close(set);
    ops->querier_close(q);
    fx_close(&f);
}

/* ---- reading samples ----------------------------------------------------------------- */

static void test_sample_batches(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f, NULL, NULL, NULL);
    struct lset ls = LS("__name__", "b", NULL);
    struct lset other = LS("__name__", "b", "k", "early", NULL);
    uint64_t ref = 0;
    /* 1000 samples over ten commits, so chunks grow, seal and span commits. */
    for (int c = 0; c < 10; c++) {
        struct ignis_appender *a = ops->appender(f.inst);
        for (int i = c * 100; i < (c + 1) * 100; i++)
            assert_int_equal(ops->append(a, ls.l, ls.n, i * 10, i, &ref), 0);
        if (c == 0)
            assert_int_equal(ops->append(a, other.l, other.n, 5, 1.0, NULL), 0);
        assert_int_equal(ops->commit(a), 0);
    }
    static int64_t t[2000];
    static double v[2000];
    struct ignis_querier *q = ops->querier(f.inst, INT64_MIN, INT64_MAX);
    struct ignis_matcher m = M(IGNIS_MATCH_EQ, "__name__", "b");
    struct ignis_series_set *set;
    assert_int_equal(ops->select(q, &m, 1, NULL, &set), 0);
    struct ignis_series s;
    int64_t bt[4];
    double bv[4];
    struct ignis_sample_batch b = {bt, bv, 4};
    assert_int_equal(ops->set_samples(set, INT64_MIN, INT64_MAX, &b), 0); /* before next */
    assert_int_equal(ops->set_next(set, &s), 1);
    assert_int_equal(s.nlabels, 1);
    assert_int_equal(s.ref, ref);
    size_t n = read_all(set, INT64_MIN, INT64_MAX, 7, t, v, COUNT(t));
    assert_int_equal(n, 1000);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(t[i], (int64_t)i * 10);
        assert_true(v[i] == (double)i);
    }
    assert_int_equal(ops->set_next(set, &s), 1);
    assert_int_equal(s.nlabels, 2);
    assert_int_equal(read_all(set, INT64_MIN, INT64_MAX, 3, t, v, COUNT(t)), 1);
    assert_int_equal(ops->set_next(set, &s), 0);
    assert_int_equal(ops->set_next(set, &s), 0);
    ops->set_close(set);

    /* A time range inside, on sample boundaries and between them. */
    assert_int_equal(ops->select(q, &m, 1, NULL, &set), 0);
    assert_int_equal(ops->set_next(set, &s), 1);
    n = read_all(set, 2005, 3000, 64, t, v, COUNT(t));
    assert_int_equal(n, 100);
    assert_int_equal(t[0], 2010);
    assert_int_equal(t[n - 1], 3000);
    b.cap = 0;
    assert_true(ops->set_samples(set, INT64_MIN, INT64_MAX, &b) < 0);
    ops->set_close(set);
    ops->querier_close(q);

    /* The querier's range bounds both selection and samples. */
    q = ops->querier(f.inst, 100, 500);
    assert_int_equal(ops->select(q, &m, 1, NULL, &set), 0);
    assert_int_equal(ops->set_next(set, &s), 1);
    assert_int_equal(s.nlabels, 1); /* "early" (t=5) is outside: not selected */
    n = read_all(set, INT64_MIN, INT64_MAX, 64, t, v, COUNT(t));
    assert_int_equal(n, 41);
    assert_int_equal(t[0], 100);
    assert_int_equal(t[40], 500);
    assert_int_equal(ops->set_next(set, &s), 0);
    ops->set_close(set);
    ops->querier_close(q);
    fx_close(&f);
}

/* ---- label names and values ---------------------------------------------------------- */

struct strs {
    char buf[1024];
    size_t n;
};

static void collect(void *arg, const char *s, size_t len)
{
    struct strs *c = arg;
    size_t k = strlen(c->buf);
    snprintf(c->buf + k, sizeof c->buf - k, "%s%.*s", c->n ? "," : "", (int)len, s);
    c->n++;
}

static void test_label_names_values(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f, NULL, NULL, NULL);
    add_matcher_data(&f);
    struct ignis_querier *q = ops->querier(f.inst, INT64_MIN, INT64_MAX);
    struct strs c = {{0}, 0};
    assert_int_equal(ops->label_names(q, NULL, 0, 0, collect, &c), 0);
    assert_string_equal(c.buf, "__name__,code,env,instance,job");
    struct ignis_matcher up = M(IGNIS_MATCH_EQ, "__name__", "up");
    c = (struct strs){{0}, 0};
    assert_int_equal(ops->label_names(q, &up, 1, 0, collect, &c), 0);
    assert_string_equal(c.buf, "__name__,env,instance,job");
    c = (struct strs){{0}, 0};
    assert_int_equal(ops->label_names(q, NULL, 0, 2, collect, &c), 0);
    assert_string_equal(c.buf, "__name__,code");

    c = (struct strs){{0}, 0};
    assert_int_equal(ops->label_values(q, "job", 3, NULL, 0, 0, collect, &c), 0);
    assert_string_equal(c.buf, "api,db,web");
    c = (struct strs){{0}, 0};
    assert_int_equal(ops->label_values(q, "job", 3, &up, 1, 0, collect, &c), 0);
    assert_string_equal(c.buf, "api,db");
    c = (struct strs){{0}, 0};
    assert_int_equal(ops->label_values(q, "job", 3, NULL, 0, 1, collect, &c), 0);
    assert_string_equal(c.buf, "api");
    c = (struct strs){{0}, 0};
    struct ignis_matcher web = M(IGNIS_MATCH_EQ, "job", "web");
    assert_int_equal(ops->label_values(q, "code", 4, &web, 1, 0, collect, &c), 0);
    assert_string_equal(c.buf, "404");
    c = (struct strs){{0}, 0};
    assert_int_equal(ops->label_values(q, "env", 3, &web, 1, 0, collect, &c), 0);
    assert_string_equal(c.buf, "");
    assert_int_equal(ops->label_values(q, "nolabel", 7, NULL, 0, 0, collect, &c), 0);
    assert_int_equal(c.n, 0);
    ops->querier_close(q);

    /* Only series with samples in the querier's range count. */
    q = ops->querier(f.inst, 5000, 6000);
    c = (struct strs){{0}, 0};
    assert_int_equal(ops->label_names(q, NULL, 0, 0, collect, &c), 0);
    assert_int_equal(ops->label_values(q, "job", 3, NULL, 0, 0, collect, &c), 0);
    assert_int_equal(c.n, 0);
    ops->querier_close(q);
    append1(&f, LS("__name__", "late", "job", "zzz", NULL), 5500, 1);
    q = ops->querier(f.inst, 5000, 6000);
    c = (struct strs){{0}, 0};
    assert_int_equal(ops->label_values(q, "job", 3, NULL, 0, 0, collect, &c), 0);
    assert_string_equal(c.buf, "zzz");
    ops->querier_close(q);
    fx_close(&f);
}

/* ---- deletion ------------------------------------------------------------------------ */

static void test_delete_series(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f, NULL, NULL, NULL);
    struct lset la = LS("__name__", "del", "s", "a", NULL),
                lb = LS("__name__", "del", "s", "b", NULL);
    struct ignis_appender *a = ops->appender(f.inst);
    for (int i = 0; i < 100; i++) {
        assert_int_equal(ops->append(a, la.l, la.n, i, i, NULL), 0);
        assert_int_equal(ops->append(a, lb.l, lb.n, i, i, NULL), 0);
    }
    assert_int_equal(ops->commit(a), 0);
    struct ignis_matcher ma[] = {M(IGNIS_MATCH_EQ, "__name__", "del"), M(IGNIS_MATCH_EQ, "s", "a")};
    assert_int_equal(ops->delete_series(f.inst, ma, 2, 20, 29), 0);
    assert_int_equal(count_samples(&f, "del", INT64_MIN, INT64_MAX), 190);
    assert_int_equal(count_samples(&f, "del", 20, 29), 10); /* b only */

    /* A series set keeps what it selected even when it is deleted afterwards. */
    struct ignis_querier *q = ops->querier(f.inst, INT64_MIN, INT64_MAX);
    struct ignis_series_set *set;
    assert_int_equal(ops->select(q, ma, 2, NULL, &set), 0);
    assert_int_equal(ops->delete_series(f.inst, ma, 2, INT64_MIN, INT64_MAX), 0);
    struct ignis_series s;
    assert_int_equal(ops->set_next(set, &s), 1);
    int64_t t[128];
    double v[128];
    assert_int_equal(read_all(set, INT64_MIN, INT64_MAX, 16, t, v, 128), 90);
    assert_int_equal(t[19], 19);
    assert_int_equal(t[20], 30);
    ops->set_close(set);
    ops->querier_close(q);
    assert_int_equal(count_samples(&f, "del", INT64_MIN, INT64_MAX), 100);
    char got[256];
    q = ops->querier(f.inst, INT64_MIN, INT64_MAX);
    select_str(q, ma, 1, NULL, got, sizeof got);
    ops->querier_close(q);
    assert_string_equal(got, "__name__=del,s=b");

    /* The series itself stays: newer samples append, older ones are still out of order. */
    a = ops->appender(f.inst);
    assert_int_equal(ops->append(a, la.l, la.n, 50, 1, NULL), IGNIS_E_OUT_OF_ORDER);
    assert_int_equal(ops->append(a, la.l, la.n, 200, 1, NULL), 0);
    assert_int_equal(ops->commit(a), 0);
    assert_int_equal(count_samples(&f, "del", INT64_MIN, INT64_MAX), 101);
    assert_int_equal(ops->clean_tombstones(f.inst), 0);
    fx_close(&f);
}

/* ---- metadata, stats, unsupported ---------------------------------------------------- */

struct metas {
    char buf[1024];
};

static void collect_meta(void *arg, const char *metric, const struct ignis_metadata *m)
{
    struct metas *c = arg;
    size_t k = strlen(c->buf);
    snprintf(c->buf + k, sizeof c->buf - k, "%s:%s:%s:%s;", metric, ignis_metric_type_name(m->type),
             m->help, m->unit);
}

static void test_metadata(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f, NULL, NULL, NULL);
    uint64_t r1 = append1(&f, LS("__name__", "reqs_total", "a", "1", NULL), 1, 1);
    uint64_t r2 = append1(&f, LS("__name__", "reqs_total", "a", "2", NULL), 1, 1);
    uint64_t r3 = append1(&f, LS("__name__", "temp", NULL), 1, 1);
    struct ignis_appender *a = ops->appender(f.inst);
    struct ignis_metadata m1 = {IGNIS_METRIC_COUNTER, "Requests.", ""};
    struct ignis_metadata m3 = {IGNIS_METRIC_GAUGE, "Temperature.", "celsius"};
    assert_int_equal(ops->update_metadata(a, r1, &m1), 0);
    assert_int_equal(ops->update_metadata(a, r3, &m3), 0);
    assert_int_equal(ops->update_metadata(a, r3 + 100, &m3), IGNIS_E_REF_GONE);
    struct metas c = {{0}};
    assert_int_equal(ops->metadata(f.inst, NULL, 0, collect_meta, &c), 0);
    assert_string_equal(c.buf, ""); /* not committed yet */
    assert_int_equal(ops->commit(a), 0);
    assert_int_equal(ops->metadata(f.inst, NULL, 0, collect_meta, &c), 0);
    assert_string_equal(c.buf, "reqs_total:counter:Requests.:;temp:gauge:Temperature.:celsius;");
    c = (struct metas){{0}};
    assert_int_equal(ops->metadata(f.inst, "temp", 0, collect_meta, &c), 0);
    assert_string_equal(c.buf, "temp:gauge:Temperature.:celsius;");
    c = (struct metas){{0}};
    assert_int_equal(ops->metadata(f.inst, NULL, 1, collect_meta, &c), 0);
    assert_string_equal(c.buf, "reqs_total:counter:Requests.:;");
    c = (struct metas){{0}};
    assert_int_equal(ops->metadata(f.inst, "nope", 0, collect_meta, &c), 0);
    assert_string_equal(c.buf, "");

    /* Kept per metric name: another series of the name replaces it; rollback drops. */
    a = ops->appender(f.inst);
    struct ignis_metadata m2 = {IGNIS_METRIC_COUNTER, "All requests.", ""};
    assert_int_equal(ops->update_metadata(a, r2, &m2), 0);
    assert_int_equal(ops->commit(a), 0);
    a = ops->appender(f.inst);
    struct ignis_metadata bad = {IGNIS_METRIC_SUMMARY, "Wrong.", ""};
    assert_int_equal(ops->update_metadata(a, r2, &bad), 0);
    ops->rollback(a);
    c = (struct metas){{0}};
    assert_int_equal(ops->metadata(f.inst, "reqs_total", 0, collect_meta, &c), 0);
    assert_string_equal(c.buf, "reqs_total:counter:All requests.:;");
    fx_close(&f);
}

static void test_stats(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f, NULL, NULL, NULL);
    struct ignis_storage_stats st;
    assert_int_equal(ops->stats(f.inst, &st), 0);
    assert_int_equal(st.num_series, 0);
    assert_int_equal(st.num_samples, 0);
    assert_true(st.min_time == INT64_MAX && st.max_time == INT64_MIN);
    struct lset l1 = LS("__name__", "s1", NULL), l2 = LS("__name__", "s2", NULL);
    struct ignis_appender *a = ops->appender(f.inst);
    for (int i = 0; i < 300; i++)
        assert_int_equal(ops->append(a, l1.l, l1.n, 1000 + i, i, NULL), 0);
    assert_int_equal(ops->append(a, l2.l, l2.n, 500, 1, NULL), 0);
    assert_int_equal(ops->append(a, l2.l, l2.n, 2000, 1, NULL), 0);
    assert_int_equal(ops->commit(a), 0);
    assert_int_equal(ops->stats(f.inst, &st), 0);
    assert_int_equal(st.num_series, 2);
    assert_int_equal(st.num_samples, 302);
    assert_int_equal(st.min_time, 500);
    assert_int_equal(st.max_time, 2000);
    assert_true(st.num_chunks >= 3); /* 300 samples need more than one chunk */
    assert_int_equal(st.num_blocks, 0);
    assert_int_equal(st.bytes_on_disk, 0);
    fx_close(&f);
}

static void test_unsupported_entries(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f, NULL, NULL, NULL);
    struct lset ls = LS("__name__", "u", NULL);
    uint64_t ref = append1(&f, ls, 1, 1);
    struct ignis_appender *a = ops->appender(f.inst);
    struct ignis_histogram h = {.schema = 0, .count = 1, .sum = 1, .is_float = true};
    uint64_t out = 0;
    assert_int_equal(ops->append_histogram(a, ref, NULL, 0, 2, &h, &out), IGNIS_E_NOTSUP);
    assert_int_equal(ops->append_start_ts(a, ref, 2, 1), 0);
    assert_int_equal(ops->append_start_ts(a, ref + 99, 2, 1), IGNIS_E_REF_GONE);
    struct ignis_exemplar e = {NULL, 0, 1.0, 2};
    assert_int_equal(ops->append_exemplar(a, ref, &e), IGNIS_E_NOTSUP); /* max_exemplars 0 */
    ops->rollback(a);
    char name[64];
    assert_int_equal(ops->snapshot(f.inst, "/tmp", false, name, sizeof name), IGNIS_E_NOTSUP);
    struct ignis_querier *q = ops->querier(f.inst, INT64_MIN, INT64_MAX);
    struct ignis_matcher m = M(IGNIS_MATCH_EQ, "__name__", "u");
    struct ignis_series_set *set;
    assert_int_equal(ops->select(q, &m, 1, NULL, &set), 0);
    struct ignis_series s;
    assert_int_equal(ops->set_next(set, &s), 1);
    struct ignis_chunk c;
    assert_int_equal(ops->set_chunk(set, INT64_MIN, INT64_MAX, &c), IGNIS_E_NOTSUP);
    ops->set_close(set);
    ops->querier_close(q);
    fx_close(&f);
}

/* ---- exemplars ----------------------------------------------------------------------- */

static void collect_ex(void *arg, const struct ignis_label *ls, size_t nls,
                       const struct ignis_exemplar *e)
{
    struct metas *c = arg;
    size_t k = strlen(c->buf);
    k += (size_t)snprintf(c->buf + k, sizeof c->buf - k, "%.*s@%lld=%g", (int)ls[nls - 1].value_len,
                          ls[nls - 1].value, (long long)e->t, e->value);
    for (size_t i = 0; i < e->nlabels; i++)
        k += (size_t)snprintf(c->buf + k, sizeof c->buf - k, "/%.*s=%.*s",
                              (int)e->labels[i].name_len, e->labels[i].name,
                              (int)e->labels[i].value_len, e->labels[i].value);
    snprintf(c->buf + k, sizeof c->buf - k, ";");
}

static void test_exemplars(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f, NULL, NULL, "3");
    uint64_t ra = append1(&f, LS("__name__", "ex", "s", "a", NULL), 1, 1);
    uint64_t rb = append1(&f, LS("__name__", "ex", "s", "b", NULL), 1, 1);
    struct ignis_label tid = ignis_label_make("trace_id", "abc");
    struct ignis_appender *a = ops->appender(f.inst);
    struct ignis_exemplar e = {&tid, 1, 0.5, 100};
    assert_int_equal(ops->append_exemplar(a, rb, &e), 0);
    assert_int_equal(ops->append_exemplar(a, rb, &e), 0); /* same again: kept once */
    e.t = 90;
    assert_int_equal(ops->append_exemplar(a, rb, &e), IGNIS_E_OUT_OF_ORDER);
    e.t = 100;
    e.value = 0.7;
    assert_int_equal(ops->append_exemplar(a, rb, &e), IGNIS_E_OUT_OF_ORDER); /* same t */
    e.t = 110;
    assert_int_equal(ops->append_exemplar(a, ra, &e), 0);
    assert_int_equal(ops->append_exemplar(a, ra + rb + 100, &e), IGNIS_E_REF_GONE);
    e.t = IGNIS_NO_TIMESTAMP;
    assert_int_equal(ops->append_exemplar(a, ra, &e), IGNIS_E_INVALID);
    char longv[140];
    memset(longv, 'x', sizeof longv - 1);
    longv[sizeof longv - 1] = '\0';
    struct ignis_label big = ignis_label_make("id", longv); /* 141 characters > 128 */
    struct ignis_exemplar eb = {&big, 1, 1, 200};
    assert_int_equal(ops->append_exemplar(a, ra, &eb), IGNIS_E_INVALID);
    longv[126] = '\0'; /* "id" + 126 = 128: the limit itself is fine */
    big = ignis_label_make("id", longv);
    eb.t = 120;
    assert_int_equal(ops->append_exemplar(a, ra, &eb), 0);
    struct ignis_matcher m = M(IGNIS_MATCH_EQ, "__name__", "ex");
    struct metas c = {{0}};
    assert_int_equal(ops->exemplars(f.inst, &m, 1, INT64_MIN, INT64_MAX, collect_ex, &c), 0);
    assert_string_equal(c.buf, ""); /* pending */
    assert_int_equal(ops->commit(a), 0);

    assert_int_equal(ops->exemplars(f.inst, &m, 1, 0, 115, collect_ex, &c), 0);
    assert_string_equal(c.buf, "a@110=0.7/trace_id=abc;b@100=0.5/trace_id=abc;");

    /* The ring keeps the newest max_exemplars; rollback discards. */
    a = ops->appender(f.inst);
    e.t = 300;
    e.value = 3;
    assert_int_equal(ops->append_exemplar(a, rb, &e), 0);
    ops->rollback(a);
    a = ops->appender(f.inst);
    e.t = 400;
    e.value = 4;
    assert_int_equal(ops->append_exemplar(a, rb, &e), 0);
    assert_int_equal(ops->commit(a), 0);
    c = (struct metas){{0}};
    assert_int_equal(ops->exemplars(f.inst, &m, 1, INT64_MIN, INT64_MAX, collect_ex, &c), 0);
    assert_non_null(strstr(c.buf, "a@110=0.7/trace_id=abc;a@120=1/id=xx"));
    assert_non_null(strstr(c.buf, ";b@400=4/trace_id=abc;"));
    assert_null(strstr(c.buf, "b@100"));
    assert_null(strstr(c.buf, "@300"));
    struct ignis_matcher mb = M(IGNIS_MATCH_EQ, "s", "b");
    c = (struct metas){{0}};
    assert_int_equal(ops->exemplars(f.inst, &mb, 1, INT64_MIN, INT64_MAX, collect_ex, &c), 0);
    assert_string_equal(c.buf, "b@400=4/trace_id=abc;");

    /* Turning exemplar storage off by reload. */
    struct ignis_config *cfg = ignis_config_new(plug->options, "reload.conf");
    char err[128];
    assert_int_equal(ops->reconfigure(f.inst, cfg, err, sizeof err), 0);
    ignis_config_free(cfg);
    a = ops->appender(f.inst);
    assert_int_equal(ops->append_exemplar(a, rb, &e), IGNIS_E_NOTSUP);
    ops->rollback(a);
    c = (struct metas){{0}};
    assert_int_equal(ops->exemplars(f.inst, &m, 1, INT64_MIN, INT64_MAX, collect_ex, &c), 0);
    assert_string_equal(c.buf, "");
    fx_close(&f);
}

/* ---- limits and retention ------------------------------------------------------------ */

static void test_max_series(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f, NULL, "2", NULL);
    struct lset l1 = LS("__name__", "a", NULL), l2 = LS("__name__", "b", NULL),
                l3 = LS("__name__", "c", NULL);
    struct ignis_appender *a = ops->appender(f.inst);
    assert_int_equal(ops->append(a, l1.l, l1.n, 1, 1, NULL), 0);
    assert_int_equal(ops->append(a, l2.l, l2.n, 1, 1, NULL), 0);
    assert_int_equal(ops->append(a, l3.l, l3.n, 1, 1, NULL), IGNIS_E_LIMIT);
    assert_int_equal(ops->append(a, l1.l, l1.n, 2, 1, NULL), 0); /* existing ones still take */
    assert_int_equal(ops->commit(a), 0);
    struct ignis_storage_stats st;
    assert_int_equal(ops->stats(f.inst, &st), 0);
    assert_int_equal(st.num_series, 2);

    struct ignis_config *cfg = ignis_config_new(plug->options, "reload.conf");
    assert_int_equal(ignis_config_set_int(cfg, "max_series", 3, "reload.conf:1"), 0);
    char err[128];
    assert_int_equal(ops->reconfigure(f.inst, cfg, err, sizeof err), 0);
    ignis_config_free(cfg);
    a = ops->appender(f.inst);
    assert_int_equal(ops->append(a, l3.l, l3.n, 1, 1, NULL), 0);
    assert_int_equal(ops->commit(a), 0);
    fx_close(&f);
}

static void test_retention(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f, "1s", NULL, NULL);
    assert_int_equal(testhost_ntimers(f.th), 1);
    struct lset lold = LS("__name__", "old", NULL), lnew = LS("__name__", "new", NULL),
                lempty = LS("__name__", "pending", NULL);
    uint64_t rold = 0, rpend = 0;
    struct ignis_appender *a = ops->appender(f.inst);
    for (int i = 0; i <= 5; i++)
        assert_int_equal(ops->append(a, lold.l, lold.n, i * 100, i, &rold), 0);
    for (int i = 0; i <= 50; i++)
        assert_int_equal(ops->append(a, lnew.l, lnew.n, i * 100, i, NULL), 0);
    assert_int_equal(ops->commit(a), 0);

    /* A series set opened before retention runs keeps reading what it pinned. */
    struct ignis_querier *q = ops->querier(f.inst, INT64_MIN, INT64_MAX);
    struct ignis_matcher mo = M(IGNIS_MATCH_EQ, "__name__", "old");
    struct ignis_series_set *set;
    assert_int_equal(ops->select(q, &mo, 1, NULL, &set), 0);
    /* An appender holding a series that retention removes (it has no samples yet). */
    struct ignis_appender *late = ops->appender(f.inst);
    assert_int_equal(ops->append(late, lempty.l, lempty.n, 4900, 1, &rpend), 0);

    assert_int_equal(testhost_fire_timers(f.th), 1);
    /* max time 5000, retention 1s: samples before 4000 are gone. */
    assert_int_equal(count_samples(&f, "new", INT64_MIN, INT64_MAX), 11);
    assert_int_equal(count_samples(&f, "old", INT64_MIN, INT64_MAX), 0);
    struct ignis_storage_stats st;
    assert_int_equal(ops->stats(f.inst, &st), 0);
    assert_int_equal(st.num_series, 1);
    assert_int_equal(st.min_time, 4000);

    struct ignis_series s;
    assert_int_equal(ops->set_next(set, &s), 1);
    assert_int_equal(s.nlabels, 1);
    assert_int_equal(s.labels[0].value_len, 3);
    assert_memory_equal(s.labels[0].value, "old", 3);
    int64_t t[16];
    double v[16];
    assert_int_equal(read_all(set, INT64_MIN, INT64_MAX, 4, t, v, 16), 6);
    ops->set_close(set);
    ops->querier_close(q);

    /* The removed series' ref is gone; appending by labels makes a new series. */
    a = ops->appender(f.inst);
    struct ignis_ref_sample rs = {rold, 6000, 1};
    int err = 0;
    assert_int_equal(ops->append_refs(a, &rs, 1, &err), 0);
    assert_int_equal(err, IGNIS_E_REF_GONE);
    uint64_t rold2 = 0;
    /* Older than retention would keep: refused, and no series is made for it. */
    assert_int_equal(ops->append(a, lold.l, lold.n, 3999, 1, &rold2), IGNIS_E_OUT_OF_BOUNDS);
    assert_int_equal(rold2, 0);
    assert_int_equal(ops->append(a, lold.l, lold.n, 4500, 1, &rold2), 0);
    assert_true(rold2 != rold && rold2 != 0);
    assert_int_equal(ops->commit(a), 0);
    assert_int_equal(count_samples(&f, "old", INT64_MIN, INT64_MAX), 1);

    /* The appender whose series was removed still commits its sample. */
    assert_int_equal(ops->commit(late), 0);
    assert_int_equal(count_samples(&f, "pending", INT64_MIN, INT64_MAX), 1);
    assert_int_equal(ops->stats(f.inst, &st), 0);
    assert_int_equal(st.num_series, 3);

    /* Retention also runs from the loop's own timer. */
    append1(&f, lnew, 9000, 1);
    testhost_run(f.th, 800); /* the timer fires every 500 ms */
    assert_int_equal(count_samples(&f, "new", INT64_MIN, INT64_MAX), 1);
    assert_int_equal(count_samples(&f, "old", INT64_MIN, INT64_MAX), 0);
    assert_int_equal(count_samples(&f, "pending", INT64_MIN, INT64_MAX), 0);

    /* Turning retention off by reload stops the timer. */
    struct ignis_config *cfg = ignis_config_new(plug->options, "reload.conf");
    char e2[128];
    assert_int_equal(ops->reconfigure(f.inst, cfg, e2, sizeof e2), 0);
    ignis_config_free(cfg);
    assert_int_equal(testhost_ntimers(f.th), 0);
    fx_close(&f);
}

/* Retention removing thousands of series at once: whole ref segments go, survivors keep
 * their refs, refs keep growing after. */
static void test_retention_bulk_removal(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f, "1s", NULL, NULL);
    enum { OLD = 3000, KEEP = 100, MORE = 2000 };
    static uint64_t old_refs[OLD], keep_refs[KEEP];
    struct ignis_appender *a = ops->appender(f.inst);
    for (int i = 0; i < OLD + KEEP; i++) {
        char id[16];
        snprintf(id, sizeof id, "%d", i);
        struct lset ls = LS("__name__", i < OLD ? "bulk" : "keep", "id", id, NULL);
        uint64_t *ref = i < OLD ? &old_refs[i] : &keep_refs[i - OLD];
        assert_int_equal(ops->append(a, ls.l, ls.n, i < OLD ? 0 : 10000, 1, ref), 0);
    }
    assert_int_equal(ops->commit(a), 0);
    testhost_fire_timers(f.th);
    struct ignis_storage_stats st;
    assert_int_equal(ops->stats(f.inst, &st), 0);
    assert_int_equal(st.num_series, KEEP);
    assert_int_equal(count_samples(&f, "bulk", INT64_MIN, INT64_MAX), 0);

    a = ops->appender(f.inst);
    static struct ignis_ref_sample rs[KEEP];
    static int errs[KEEP];
    for (int i = 0; i < KEEP; i++)
        rs[i] = (struct ignis_ref_sample){keep_refs[i], 10001, 2};
    assert_int_equal(ops->append_refs(a, rs, KEEP, errs), KEEP);
    struct ignis_ref_sample gone[] = {{old_refs[0], 10001, 1}, {old_refs[OLD - 1], 10001, 1}};
    assert_int_equal(ops->append_refs(a, gone, 2, errs), 0);
    assert_int_equal(errs[0], IGNIS_E_REF_GONE);
    assert_int_equal(errs[1], IGNIS_E_REF_GONE);
    uint64_t last = 0;
    for (int i = 0; i < MORE; i++) {
        char id[16];
        snprintf(id, sizeof id, "%d", i);
        struct lset ls = LS("__name__", "more", "id", id, NULL);
        uint64_t ref;
        assert_int_equal(ops->append(a, ls.l, ls.n, 10001, 1, &ref), 0);
        assert_true(ref > last && ref > keep_refs[KEEP - 1]); /* never reused */
        last = ref;
    }
    assert_int_equal(ops->commit(a), 0);
    assert_int_equal(ops->stats(f.inst, &st), 0);
    assert_int_equal(st.num_series, KEEP + MORE);
    assert_int_equal(count_samples(&f, "keep", INT64_MIN, INT64_MAX), 2 * KEEP);
    assert_int_equal(count_samples(&f, "more", INT64_MIN, INT64_MAX), MORE);
    struct ignis_querier *q = ops->querier(f.inst, INT64_MIN, INT64_MAX);
    struct strs c = {{0}, 0};
    assert_int_equal(ops->label_values(q, "__name__", 8, NULL, 0, 0, collect, &c), 0);
    assert_string_equal(c.buf, "keep,more");
    ops->querier_close(q);
    fx_close(&f);
}

/* ---- concurrency --------------------------------------------------------------------- */

#define CC_SERIES  20
#define CC_COMMITS 150

struct cc {
    struct fx *f;
    int id;
    atomic_int *running;
    int failures;
    long checks;
};

static void *appender_thread(void *arg)
{
    struct cc *c = arg;
    char job[8];
    snprintf(job, sizeof job, "t%d", c->id);
    uint64_t refs[CC_SERIES];
    for (int k = 0; k < CC_COMMITS; k++) {
        struct ignis_appender *a = ops->appender(c->f->inst);
        if (k == 0) {
            for (int i = 0; i < CC_SERIES; i++) {
                char id[8];
                snprintf(id, sizeof id, "%02d", i);
                struct lset ls = LS("__name__", "cc", "id", id, "job", job, NULL);
                if (ops->append(a, ls.l, ls.n, 0, 0, &refs[i]) != 0)
                    c->failures++;
            }
        } else {
            struct ignis_ref_sample rs[CC_SERIES];
            for (int i = 0; i < CC_SERIES; i++)
                rs[i] = (struct ignis_ref_sample){refs[i], k, k};
            if (ops->append_refs(a, rs, CC_SERIES, NULL) != CC_SERIES)
                c->failures++;
        }
        if (ops->commit(a) != 0)
            c->failures++;
    }
    return NULL;
}

/* Each commit adds one sample to every series of a job, so any snapshot shows the same
 * number of samples, 0, 1, ... n-1, in each of them. */
static void *querier_thread(void *arg)
{
    struct cc *c = arg;
    int64_t t[CC_COMMITS + 1];
    double v[CC_COMMITS + 1];
    do { /* at least one pass, even when the appenders are done first */
        for (int j = 0; j < 2; j++) {
            char job[8];
            snprintf(job, sizeof job, "t%d", j);
            struct ignis_matcher m = {IGNIS_MATCH_EQ, "job", 3, job, 2, NULL};
            struct ignis_querier *q = ops->querier(c->f->inst, INT64_MIN, INT64_MAX);
            struct ignis_series_set *set;
            if (ops->select(q, &m, 1, NULL, &set) != 0) {
                c->failures++;
                ops->querier_close(q);
                continue;
            }
            struct ignis_series s;
            long want = -1;
            size_t nseries = 0;
            while (ops->set_next(set, &s) == 1) {
                size_t n = read_all(set, INT64_MIN, INT64_MAX, 16, t, v, CC_COMMITS + 1);
                if (want < 0)
                    want = (long)n;
                if ((long)n != want)
                    c->failures++;
                for (size_t i = 0; i < n; i++)
                    if (t[i] != (int64_t)i || v[i] != (double)i)
                        c->failures++;
                nseries++;
            }
            if (nseries != 0 && nseries != CC_SERIES)
                c->failures++;
            ops->set_close(set);
            ops->querier_close(q);
            c->checks++;
        }
    } while (atomic_load(c->running));
    return NULL;
}

static void test_concurrent_appenders_and_querier(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f, NULL, NULL, NULL);
    atomic_int running = 1;
    struct cc ca[2] = {{&f, 0, &running, 0, 0}, {&f, 1, &running, 0, 0}};
    struct cc cq = {&f, 9, &running, 0, 0};
    pthread_t ta[2], tq;
    assert_int_equal(pthread_create(&tq, NULL, querier_thread, &cq), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&ta[i], NULL, appender_thread, &ca[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(ta[i], NULL);
    atomic_store(&running, 0);
    pthread_join(tq, NULL);
    assert_int_equal(ca[0].failures, 0);
    assert_int_equal(ca[1].failures, 0);
    assert_int_equal(cq.failures, 0);
    assert_true(cq.checks > 0);
    assert_int_equal(count_samples(&f, "cc", INT64_MIN, INT64_MAX), 2 * CC_SERIES * CC_COMMITS);
    struct ignis_storage_stats st;
    assert_int_equal(ops->stats(f.inst, &st), 0);
    assert_int_equal(st.num_series, 2 * CC_SERIES);
    assert_int_equal(st.num_samples, 2 * CC_SERIES * CC_COMMITS);
    assert_int_equal(st.max_time, CC_COMMITS - 1);
    fx_close(&f);
}

/* Series churn while retention removes them: appenders on two threads (by ref, falling
 * back to labels on REF_GONE), a querier checking every series it reads, and the loop
 * thread running retention, all at once. Afterwards only what retention keeps is left. */
#define CH_COMMITS 300
#define CH_SERIES  8

static void *churn_appender(void *arg)
{
    struct cc *c = arg;
    char job[8];
    snprintf(job, sizeof job, "t%d", c->id);
    uint64_t refs[CH_SERIES] = {0};
    for (int k = 0; k < CH_COMMITS; k++) {
        struct ignis_appender *a = ops->appender(c->f->inst);
        char gen[8];
        snprintf(gen, sizeof gen, "%d", k / 50); /* new series every 50 commits */
        for (int i = 0; i < CH_SERIES; i++) {
            int64_t t = (int64_t)k * 10;
            int rc = IGNIS_E_REF_GONE;
            if (refs[i] && k % 50) {
                struct ignis_ref_sample rs = {refs[i], t, k};
                ops->append_refs(a, &rs, 1, &rc);
            }
            if (rc == IGNIS_E_REF_GONE) {
                char id[8];
                snprintf(id, sizeof id, "%d", i);
                struct lset ls = LS("__name__", "churn", "gen", gen, "id", id, "job", job, NULL);
                refs[i] = 0; /* stays 0 when refused: never reuse an older generation */
                rc = ops->append(a, ls.l, ls.n, t, k, &refs[i]);
            }
            /* The other thread may be ahead: its newest sample bounds what is kept. */
            if (rc != 0 && rc != IGNIS_E_OUT_OF_BOUNDS)
                c->failures++;
        }
        if (k % 7 == 3)
            ops->rollback(a);
        else if (ops->commit(a) != 0)
            c->failures++;
    }
    return NULL;
}

static void *churn_querier(void *arg)
{
    struct cc *c = arg;
    int64_t t[CH_COMMITS + 1];
    double v[CH_COMMITS + 1];
    do {
        struct ignis_querier *q = ops->querier(c->f->inst, INT64_MIN, INT64_MAX);
        struct ignis_matcher m = {IGNIS_MATCH_EQ, "__name__", 8, "churn", 5, NULL};
        struct ignis_series_set *set;
        if (ops->select(q, &m, 1, NULL, &set) != 0) {
            c->failures++;
            ops->querier_close(q);
            continue;
        }
        struct ignis_series s;
        while (ops->set_next(set, &s) == 1) {
            if (s.nlabels != 4)
                c->failures++;
            size_t n = read_all(set, INT64_MIN, INT64_MAX, 16, t, v, CH_COMMITS + 1);
            if (n == 0)
                c->failures++; /* selected series have samples */
            for (size_t i = 0; i < n; i++)
                if ((i && t[i] <= t[i - 1]) || v[i] != (double)(t[i] / 10))
                    c->failures++;
        }
        ops->set_close(set);
        struct strs names = {{0}, 0};
        if (ops->label_values(q, "gen", 3, NULL, 0, 0, collect, &names) != 0)
            c->failures++;
        ops->querier_close(q);
        c->checks++;
    } while (atomic_load(c->running));
    return NULL;
}

static void test_retention_under_load(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f, "200ms", NULL, NULL);
    atomic_int running = 1;
    struct cc ca[2] = {{&f, 0, &running, 0, 0}, {&f, 1, &running, 0, 0}};
    struct cc cq = {&f, 9, &running, 0, 0};
    pthread_t ta[2], tq;
    assert_int_equal(pthread_create(&tq, NULL, churn_querier, &cq), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&ta[i], NULL, churn_appender, &ca[i]), 0);
    long runs = 0;
    for (int done = 0; done < 2;) { /* the loop thread: retention, as the host timer would */
        testhost_fire_timers(f.th);
        runs++;
        done = 0;
        for (int i = 0; i < 2; i++)
            done += pthread_tryjoin_np(ta[i], NULL) == 0 ? 1 : 0;
        if (done == 1) { /* one finished: wait for the other, keep collecting */
            for (int i = 0; i < 2; i++)
                pthread_join(ta[i], NULL);
            done = 2;
        }
    }
    atomic_store(&running, 0);
    pthread_join(tq, NULL);
    assert_int_equal(ca[0].failures, 0);
    assert_int_equal(ca[1].failures, 0);
    assert_int_equal(cq.failures, 0);
    assert_true(runs > 0 && cq.checks > 0);

    testhost_fire_timers(f.th);
    /* Newest sample 2990: samples from 2790 on stay, in the last generation only. */
    struct ignis_storage_stats st;
    assert_int_equal(ops->stats(f.inst, &st), 0);
    assert_true(st.min_time >= 2790);
    assert_int_equal(st.max_time, (CH_COMMITS - 1) * 10);
    assert_true(st.num_series <= 2 * CH_SERIES);
    struct ignis_querier *q = ops->querier(f.inst, INT64_MIN, INT64_MAX);
    struct strs c = {{0}, 0};
    assert_int_equal(ops->label_values(q, "gen", 3, NULL, 0, 0, collect, &c), 0);
    assert_string_equal(c.buf, "5");
    ops->querier_close(q);
    fx_close(&f);
}

/* ---- main ---------------------------------------------------------------------------- */

static void *handle;

static int load_plugin(void **state)
{
    (void)state;
    const char *top = getenv("top_builddir");
    char path[4096];
    snprintf(path, sizeof path, "%s/plugins/storage/mem/.libs/mem.so", top ? top : ".");
    handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        fprintf(stderr, "dlopen %s: %s\n", path, dlerror());
        return -1;
    }
    plug = dlsym(handle, IGNIS_PLUGIN_SYMBOL);
    if (!plug || plug->kind != IGNIS_PLUGIN_STORAGE || !plug->ops)
        return -1;
    ops = plug->ops;
    return 0;
}

static int unload_plugin(void **state)
{
    (void)state;
    if (handle)
        dlclose(handle);
    return 0;
}

#define T(fn) cmocka_unit_test_teardown(fn, free_regexes)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_descriptor),
        T(test_bad_options),
        T(test_commit_makes_visible),
        T(test_rollback_discards),
        T(test_append_refs_errors),
        T(test_invalid_label_sets),
        T(test_order_and_duplicates),
        T(test_commit_race_keeps_first),
        T(test_matchers),
        T(test_many_series_sorted),
        T(test_sample_batches),
        T(test_label_names_values),
        T(test_delete_series),
        T(test_metadata),
        T(test_stats),
        T(test_unsupported_entries),
        T(test_exemplars),
        T(test_max_series),
        T(test_retention),
        T(test_retention_bulk_removal),
        T(test_concurrent_appenders_and_querier),
        T(test_retention_under_load),
    };
    return cmocka_run_group_tests(tests, load_plugin, unload_plugin);
}
